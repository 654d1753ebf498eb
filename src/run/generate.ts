/**
 * Text generation with the KV cache: one compiled graph takes T new tokens
 * after a cache of P (both symbolic), returns the next-token logits and the
 * extended cache; the prompt runs once, then one token per run.
 */
import { checkOptions, optionKeys } from '../core/options.js';
import type { Backend, CompileOptions, Executable } from '../backends/backend.js';
import { referenceBackend } from './reference-backend.js';
import { fail, LlmTricksError, show } from '../core/errors.js';
import { allocate, DTYPE_INFO } from '../core/dtype.js';
import { randomKey, squares32 } from '../core/random-bits.js';
import { Tensor, tensor } from '../trace/tensor.js';
import type { LanguageModel } from '../nn/language-model.js';
import { isTextTokenizer, type TextTokenizer } from '../core/tokenizer.js';
import { decodeStep } from './decode-step.js';
import { disposeHeld, runHeld, type Held } from './held.js';

/** Options of {@link TextGenerator.generate}. */
export interface GenerateOptions {
  /** Tokens to generate. */
  readonly maxNewTokens: number;
  /** 0 (default) picks the most likely token; above 0 samples from softmax(logits / temperature). */
  readonly temperature?: number;
  /** Sample among the k most likely tokens only (default: all). */
  readonly topK?: number;
  /** Seed of the sampling (default 0). */
  readonly seed?: number;
  /** Stop after generating this token (e.g. a newline byte). */
  readonly stopToken?: number;
}

/** What {@link TextGenerator.generate} returns. */
export interface Generation {
  /** The generated token ids (the prompt excluded). */
  readonly tokens: number[];
  /** Their text, when the TextGenerator has a tokenizer. */
  readonly text?: string;
  /** Bytes of the final KV cache (all layers, keys and values). */
  readonly cacheBytes: number;
}

/**
 * Generates from any {@link LanguageModel} (a `DecoderLM`, or a model
 * composed from the blocks) on any backend. Compile once, then call
 * `generate` for as many prompts as needed; the model's current parameters
 * are baked in at creation. The compiled graph is the decoding step that
 * `exportOnnx` writes, with int32 ids, the parameters as constants, and
 * only the last token's logits (`lastLogitsOnly`: a prompt's T × V logits
 * are never computed; a model that ignores the option still works).
 *
 * @example
 * ```ts
 * import { DecoderLM, TextGenerator } from 'llm-tricks';
 *
 * const model = new DecoderLM({ vocab: 256, dim: 16, layers: 1, heads: 2 });
 * const gen = await TextGenerator.create(model);
 * const { tokens } = await gen.generate([72, 105], { maxNewTokens: 20 });
 * Number(tokens.length); // 20
 * ```
 */
export class TextGenerator {
  private readonly running = new Set<Promise<Generation>>();
  private released: Promise<void> | undefined;
  private constructor(readonly model: LanguageModel, private readonly step: Executable, readonly tokenizer: TextTokenizer | null) {}

  /**
   * Compiles the decoding graph for `backend` (default: the reference
   * backend). With a `tokenizer` (any object with encode and decode, e.g.
   * `ByteTokenizer` or a `PretrainedTokenizer`), prompts may be text and
   * each generation comes with its text.
   */
  static async create<O extends CompileOptions = CompileOptions>(model: LanguageModel, options: { backend?: Backend<O>; compile?: NoInfer<O>; tokenizer?: TextTokenizer } = {}): Promise<TextGenerator> {
    checkOptions('TextGenerator', options, ['backend', 'compile', 'tokenizer']);
    options ??= {};
    if (options.tokenizer !== undefined && !isTextTokenizer(options.tokenizer)) fail('TextGenerator', `tokenizer expected an object with encode(text) and decode(ids), got ${show(options.tokenizer)}`);
    const { graph } = decodeStep('TextGenerator', model, { ids: 'int32', parameters: 'constants', lastLogitsOnly: true });
    // The KV cache (every output after the logits) stays on the device between tokens where the backend can keep
    // it there: on WebGPU each run otherwise read the whole cache back and uploaded it again.
    const cache = graph.outputs.slice(1).map((_, i) => i + 1);
    // Without a backend the options go to the reference backend, which checks them at run time.
    return new TextGenerator(model, await (options.backend ?? (referenceBackend as Backend<CompileOptions>)).compile(graph, withResidentCache(options.compile, cache) as O), options.tokenizer ?? null);
  }

  /** Continues `prompt` (token ids, or text when the TextGenerator has a tokenizer) by up to `maxNewTokens` tokens. */
  generate(prompt: ArrayLike<number> | string, options: GenerateOptions): Promise<Generation> {
    if (this.released) return Promise.reject(new LlmTricksError('TextGenerator.generate', 'expected a live TextGenerator, got one already disposed (dispose() was called)'));
    const run = this.generateNow(prompt, options);
    this.running.add(run);
    const done = (): void => { this.running.delete(run); };
    run.then(done, done);
    return run;
  }

  private async generateNow(prompt: ArrayLike<number> | string, options: GenerateOptions): Promise<Generation> {
    const site = 'TextGenerator.generate';
    const { vocab, maxPositions, cacheLayout } = this.model;
    if (typeof prompt === 'string' && !this.tokenizer) fail(site, `prompt expected token ids (this TextGenerator has no tokenizer: give TextGenerator.create one for text), got a string`);
    const ids = Array.from(typeof prompt === 'string' ? this.tokenizer!.encode(prompt, { addSpecialTokens: true }) : prompt ?? [], Number);
    if (ids.length === 0 || ids.some((t) => !Number.isInteger(t) || t < 0 || t >= vocab)) fail(site, `prompt expected a non-empty list of token ids in [0, ${vocab - 1}], got ${show(prompt)}`);
    if (options === undefined || options === null) fail(site, `options expected { maxNewTokens, ... }, got ${show(options)}`);
    checkOptions(site, options, optionKeys<GenerateOptions>({ maxNewTokens: true, temperature: true, topK: true, seed: true, stopToken: true }));
    const { maxNewTokens, temperature = 0, topK = vocab, seed = 0, stopToken } = options;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) fail(site, `maxNewTokens expected a non-negative integer, got ${show(maxNewTokens)}`);
    if (ids.length + maxNewTokens > maxPositions) fail(site, `prompt and new tokens expected at most maxPositions (${maxPositions}), got ${ids.length} + ${maxNewTokens}`);
    if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) fail(site, `temperature expected a finite number >= 0, got ${show(temperature)}`);
    if (!Number.isInteger(topK) || topK < 1) fail(site, `topK expected a positive integer, got ${show(topK)}`);
    if (!Number.isSafeInteger(seed)) fail(site, `seed expected an integer, got ${show(seed)}`);
    if (stopToken !== undefined && (!Number.isInteger(stopToken) || stopToken < 0 || stopToken >= vocab)) fail(site, `stopToken expected a token id in [0, ${vocab - 1}], got ${show(stopToken)}`);
    let cache: Held[] = cacheLayout.flatMap(({ kvHeads, headDim, dtype }) => [0, 1].map(() => new Tensor([1, kvHeads, 0, headDim], dtype, allocate(dtype, 0))));
    let input = ids;
    let position = 0;
    const tokens: number[] = [];
    const key = randomKey(seed >>> 0, 0, 0x6e6);
    try {
      for (let t = 0; t < maxNewTokens; t++) {
        const positions = tensor([input.map((_, i) => position + i)], { dtype: 'int32' });
        const [logits, ...present] = await runHeld(this.step, [tensor([input], { dtype: 'int32' }), positions, ...cache]);
        position += input.length;
        // The cache just fed is spent: a device buffer goes back to the backend now, not when the collector finds it.
        cache.forEach(disposeHeld);
        cache = present;
        if (!(logits instanceof Tensor)) {
          disposeHeld(logits);
          fail(site, 'expected the logits as a Tensor from the backend, got a DeviceTensor (the backend kept an output resident that was not asked for)');
        }
        // The logits of the last input position pick the next token: the only row where the model honours
        // lastLogitsOnly, else the last of T. Read in place: data() would copy them all.
        const last = (logits._data as Float32Array | Float64Array).subarray(((logits.shape[1] as number) - 1) * vocab);
        const next = pick(last, temperature, topK, squares32(key, t) / 2 ** 24);
        tokens.push(next);
        if (next === stopToken) break;
        input = [next];
      }
      const cacheBytes = cache.reduce((n, c) => n + (c instanceof Tensor ? c.size : c.shape.reduce((a, d) => a * d, 1)) * DTYPE_INFO[c.dtype].bytes, 0);
      return this.tokenizer ? { tokens, text: this.tokenizer.decode(tokens), cacheBytes } : { tokens, cacheBytes };
    } finally {
      cache.forEach(disposeHeld);
    }
  }

  /** True once {@link dispose} has been called. */
  get disposed(): boolean {
    return this.released !== undefined;
  }

  /** Releases the compiled decoding session after the `generate` calls in flight finish. Idempotent; `generate` after it is an LlmTricksError. */
  dispose(): Promise<void> {
    this.released ??= Promise.allSettled([...this.running]).then(() => this.step.dispose());
    return this.released;
  }

  /** `await using gen = await TextGenerator.create(...)` disposes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/**
 * A copy of the compile options with `residentOutputs` set to the cache's
 * outputs. Options that are not an object go to the backend as given, for it
 * to refuse; an object's enumerable options, inherited ones too, are copied.
 */
function withResidentCache(compile: unknown, cache: readonly number[]): unknown {
  if (compile === undefined || compile === null) return { residentOutputs: cache };
  if (typeof compile !== 'object' || Array.isArray(compile)) return compile;
  const given = (compile as CompileOptions).residentOutputs;
  if (given !== undefined) fail('TextGenerator', `compile options expected no residentOutputs (the TextGenerator keeps its KV cache resident itself), got ${show(given)}`);
  const copy: Record<string, unknown> = {};
  for (const key in compile) copy[key] = (compile as Record<string, unknown>)[key];
  copy.residentOutputs = cache;
  return copy;
}

/** The greedy choice, or a sample from the tempered top-k softmax using the uniform `u` in [0, 1). */
function pick(logits: Float32Array | Float64Array, temperature: number, topK: number, u: number): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (temperature === 0) return best;
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  const weights = order.map((i) => Math.exp((logits[i] - logits[best]) / temperature));
  let r = u * weights.reduce((a, b) => a + b, 0);
  for (let j = 0; j < order.length; j++) {
    r -= weights[j];
    if (r < 0) return order[j];
  }
  return order[order.length - 1];
}

/** @deprecated The old name of {@link TextGenerator}, which does not shadow the built-in `Generator` type. */
export const Generator: typeof TextGenerator = TextGenerator;
/** @deprecated The old name of {@link TextGenerator}. */
export type Generator = TextGenerator;
