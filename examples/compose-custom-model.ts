/**
 * Composes a small decoder from the blocks instead of using DecoderLM:
 *
 *   Embedding -> block 0 (grouped-query attention + ALiBi)
 *             -> block 1 (multi-query attention + RoPE)
 *             -> RmsNorm -> logits through the tied embedding (Embedding.attend)
 *
 * It runs the model eagerly and as a traced graph with a symbolic sequence
 * length, takes the gradient of a byte-level cross-entropy with `vjp`, trains
 * a few steps with the standalone Lion optimizer, and generates greedily with
 * a KV cache: by hand, then through TextGenerator, which takes the model
 * because it is a LanguageModel (the same interface lets exportOnnx write it).
 *
 * Run: npm run build && npx tsx examples/compose-custom-model.ts
 */
import {
  AlibiBias, Embedding, Lion, Module, MultiQueryAttention, RmsNorm, RotaryEmbedding, TextGenerator, TransformerBlock,
  abs, argMax, crossEntropy, max, referenceBackend, sliceAxis, sub, tensor, trace, vjp,
  type CacheSlot, type KvCache, type LanguageModel, type LanguageModelCall, type Tensor,
} from 'llm-tricks';

// B batch, T tokens, C width, V vocabulary (256 byte values).
const V = 256;
const C = 32;
const HEADS = 4;
const HEAD_DIM = C / HEADS;

class TinyDecoder extends Module implements LanguageModel {
  // What TextGenerator and exportOnnx need to know beyond forward: the vocabulary,
  // the longest sequence (the rotary table's length) and each block's cache.
  readonly vocab = V;
  readonly maxPositions = 64;
  readonly cacheLayout: readonly CacheSlot[] = [
    { kvHeads: 2, headDim: HEAD_DIM, dtype: 'float32' },
    { kvHeads: 1, headDim: HEAD_DIM, dtype: 'float32' },
  ];
  readonly embed: Embedding;
  readonly blocks: readonly TransformerBlock[];
  readonly norm: RmsNorm;

  constructor(seed: number) {
    super();
    // Registered names become the parameter names: embed.weight, blocks_0.self_attn.q_proj.weight, ...
    // The table is also the output head (tied), so it starts wider than the default std 0.02.
    this.embed = this.module('embed', new Embedding(V, C, { seed, initStd: 0.1 }));
    // Block 0: 4 query heads share 2 kv heads (GQA); ALiBi biases the scores.
    const gqa = new MultiQueryAttention(C, HEADS, { kvHeads: 2, position: new AlibiBias(HEADS), seed: seed + 1 });
    // Block 1: all 4 query heads share 1 kv head (MQA); RoPE rotates q and k.
    const mqa = new MultiQueryAttention(C, HEADS, { kvHeads: 1, position: new RotaryEmbedding(HEAD_DIM, { maxPositions: 64 }), seed: seed + 2 });
    this.blocks = [
      this.module('blocks_0', new TransformerBlock(C, gqa, { seed: seed + 3 })),
      this.module('blocks_1', new TransformerBlock(C, mqa, { seed: seed + 4 })),
    ];
    this.norm = this.module('norm', new RmsNorm(C));
  }

  /** ids (B, T) int32 -> logits (B, T, V), plus one KV cache per block. */
  forward(ids: Tensor, call: LanguageModelCall = {}): { logits: Tensor; cache: KvCache[] } {
    let h = this.embed.forward(ids); // (B, T, C)
    const caches = this.blocks.map((block, i) => {
      const out = block.forward(h, { positions: call.positions, cache: call.cache?.[i], ctx: call.ctx });
      h = out.output;
      return out.cache;
    });
    return { logits: this.embed.attend(this.norm.forward(h)), cache: caches };
  }
}

/** Next-byte loss: the logits at each position predict the following byte. */
function loss(model: TinyDecoder, inputs: Tensor, targets: Tensor): Tensor {
  return crossEntropy(model.forward(inputs).logits, targets);
}

const model = new TinyDecoder(7);
const names = model.namedParameters().map(([n]) => n);
console.log(`${names.length} parameter tensors, ${model.parameterCount()} scalars; first: ${names.slice(0, 3).join(', ')}`);

const text = 'abcabcabcabcabcabc';
const ids = tensor([[...Buffer.from(text)]], { dtype: 'int32' }); // (1, T)

// 1. Eager forward, and the same model traced once with a symbolic length T.
const eager = model.forward(ids).logits;
const graph = trace((x) => model.forward(x).logits, [{ name: 'ids', shape: [1, 'T'], dtype: 'int32' }]);
const compiled = await referenceBackend.compile(graph);
const [fromGraph] = await compiled.run({ ids });
console.log(`logits ${JSON.stringify(eager.shape)}; eager vs compiled max |diff| = ${max(abs(sub(eager, fromGraph))).item().toExponential(1)}`);
const [short] = await compiled.run({ ids: tensor([[104, 105]], { dtype: 'int32' }) });
console.log(`the same graph at T = 2 gives logits ${JSON.stringify(short.shape)}`);

// 2. A training step as a graph: loss and gradients w.r.t. every parameter,
// traced once with the parameters as inputs (Module.withParameters) and T symbolic.
const params = model.parameters();
const stepGraph = vjp(trace(
  (inputs, targets, ...values) => model.withParameters(values, () => loss(model, inputs, targets)),
  [
    { name: 'inputs', shape: [1, 'T'], dtype: 'int32' },
    { name: 'targets', shape: [1, 'T'], dtype: 'int32' },
    ...params.map((p, i) => ({ name: `p${i}`, shape: p.value.shape })),
  ],
)); // wrt defaults to every float input: the parameters
const trainStep = await referenceBackend.compile(stepGraph);
const T = ids.shape[1] as number;
const inputs = sliceAxis(ids, 1, 0, T - 1);
const targets = sliceAxis(ids, 1, 1, T);

// 3. Lion (standalone form) on plain Float32Arrays, written back into the parameters.
const lion = new Lion({ lr: 3e-3, betas: [0.95, 0.98], weightDecay: 0 });
const arrays = params.map((p) => p.value.data() as Float32Array);
for (let step = 0; step < 20; step++) {
  const [value, ...grads] = await trainStep.run([inputs, targets, ...params.map((p) => p.value), tensor(1)]);
  if (step % 4 === 0) console.log(`step ${step}: loss ${value.item().toFixed(4)}`);
  lion.step(arrays, grads.map((g) => g.data() as Float32Array));
  params.forEach((p, i) => { p.value = tensor(arrays[i], { shape: p.value.shape as number[] }); });
}
const [final] = await trainStep.run([inputs, targets, ...params.map((p) => p.value), tensor(1)]);
console.log(`after 20 steps: loss ${final.item().toFixed(4)}`);

// 4. Greedy generation with a KV cache: the prompt once, then one token per step.
model.eval();
const prompt = tensor([[...Buffer.from('abca')]], { dtype: 'int32' });
let { logits, cache } = model.forward(prompt);
const out: number[] = [];
for (let i = 0; i < 6; i++) {
  const last = sliceAxis(logits, 1, -1, logits.shape[1] as number); // (1, 1, V)
  const next = argMax(last, -1).item();
  out.push(next);
  ({ logits, cache } = model.forward(tensor([[next]], { dtype: 'int32' }), { cache }));
}
console.log(`greedy after 'abca': ${JSON.stringify(Buffer.from(out).toString('latin1'))}; cache of block 1 (MQA): key ${JSON.stringify(cache[1].key.shape)}`);

// The cached steps compute what a full pass over the whole sequence computes.
const whole = model.forward(tensor([[...Buffer.from('abca'), ...out]], { dtype: 'int32' })).logits;
const lastFull = sliceAxis(whole, 1, -1, whole.shape[1] as number);
console.log(`cached vs full last-step logits: max |diff| = ${max(abs(sub(sliceAxis(logits, 1, -1, 1), lastFull))).item().toExponential(1)}`);

// 5. The same through TextGenerator: it traces one decoding step from forward and compiles it.
const generator = await TextGenerator.create(model);
const generated = await generator.generate([...Buffer.from('abca')], { maxNewTokens: 6 });
console.log(`TextGenerator after 'abca': ${JSON.stringify(Buffer.from(generated.tokens).toString('latin1'))} (${generated.tokens.every((t, i) => t === out[i]) ? 'the same tokens' : 'different tokens'})`);
await generator.dispose();
