/**
 * Any LanguageModel (src/nn/language-model.ts), not only DecoderLM, trains,
 * generates and exports: the decoding step is traced once from the model's
 * forward (src/run/decode-step.ts) for both TextGenerator and exportOnnx.
 *
 * Proves, for a model composed from Embedding, TransformerBlocks (grouped-
 * query attention with rope), RmsNorm and Linear:
 * - the Trainer's default next-token loss trains it (the loss falls);
 * - TextGenerator's greedy tokens equal recomputing the whole sequence
 *   without a cache, on the reference backend and on ort-node cpu; the
 *   model ignores lastLogitsOnly, so its compiled step gives (B, T, V)
 *   logits, whose last row the generator reads;
 * - the file exportOnnx writes, run by plain onnxruntime-node with the KV
 *   cache, gives the eager logits and the same greedy tokens as TextGenerator;
 * - what is not a LanguageModel is refused with an LlmTricksError naming the
 *   missing member, and a forward that returns the wrong number of caches,
 *   or logits with neither T rows nor one, too;
 * - Generator is the deprecated alias of TextGenerator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  argMax, concat, Embedding, Generator, Linear, Lion, Module, MultiQueryAttention, referenceBackend, RmsNorm, RotaryEmbedding, tensor, TextGenerator, Trainer,
  TransformerBlock, type Backend, type CacheSlot, type KvCache, type LanguageModel, type LanguageModelCall, type Tensor,
} from '../../src/index.js';
import { exportOnnx, ortNode } from '../../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'custom-lm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two blocks of grouped-query attention (4 heads, 2 kv heads) with rope; its own parameter names. */
class ComposedLM extends Module implements LanguageModel {
  readonly vocab = 24;
  readonly maxPositions = 32;
  readonly cacheLayout: readonly CacheSlot[] = [0, 1].map(() => ({ kvHeads: 2, headDim: 4, dtype: 'float32' as const }));
  private readonly embed = this.module('tokens', new Embedding(24, 16, { seed: 1 }));
  private readonly rope = new RotaryEmbedding(4, { maxPositions: 32 });
  private readonly blocks = [0, 1].map((i) => this.module(`block_${i}`, new TransformerBlock(16, new MultiQueryAttention(16, 4, { kvHeads: 2, position: this.rope, seed: 10 + i }), { seed: 20 + i })));
  private readonly norm = this.module('final_norm', new RmsNorm(16));
  private readonly head = this.module('head', new Linear(16, 24, { seed: 2 }));

  constructor(private readonly caches = 2) {
    super();
  }

  forward(ids: Tensor, call: LanguageModelCall = {}): { logits: Tensor; cache: KvCache[] } {
    let h = this.embed.forward(ids);
    const cache = this.blocks.map((block, i) => {
      const out = block.forward(h, { positions: call.positions, cache: call.cache?.[i], ctx: call.ctx });
      h = out.output;
      return out.cache;
    });
    return { logits: this.head.forward(this.norm.forward(h)), cache: cache.slice(0, this.caches) };
  }
}

function greedyWithoutCache(m: LanguageModel, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const choice = argMax(m.eval().forward(tensor([seq], { dtype: 'int32' })).logits, -1).data();
    seq.push(Number(choice[choice.length - 1]));
  }
  return seq.slice(prompt.length);
}

const int64 = (rows: number[][]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);

describe('a LanguageModel composed from the blocks', () => {
  it('trains with the default loss', async () => {
    const model = new ComposedLM();
    const trainer = await Trainer.create({ model, optimizer: new Lion({ lr: 3e-3 }), batchSize: 2, sequenceLength: 6 });
    const ids = tensor([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]], { dtype: 'int32' });
    const targets = tensor([[2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13]], { dtype: 'int32' });
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) losses.push((await trainer.step([ids, targets])).loss);
    expect(losses[14]).toBeLessThan(losses[0] - 0.5);
    await trainer.dispose();
  });

  it('generates the tokens that recomputing without a cache picks, on the reference backend and ort-node cpu', async () => {
    const model = new ComposedLM();
    const want = greedyWithoutCache(model, [3, 1, 4], 8);
    for (const gen of [await TextGenerator.create(model), await TextGenerator.create(model, { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } })]) {
      const out = await gen.generate([3, 1, 4], { maxNewTokens: 8 });
      expect(out.tokens).toEqual(want);
      expect(out.cacheBytes).toBe(2 * 2 * 2 * (3 + 8 - 1) * 4 * 4);
      await gen.dispose();
    }
  });

  it('ignores lastLogitsOnly here: the TextGenerator compiles (B, T, V) logits and reads their last row', async () => {
    const shapes: unknown[] = [];
    const spy: Backend = { name: 'spy', compile: (graph, options) => { shapes.push(graph.outputs[0].shape); return referenceBackend.compile(graph, options as never); } };
    const model = new ComposedLM();
    const gen = await TextGenerator.create(model, { backend: spy });
    expect(shapes).toEqual([['batch', 'sequence', 24]]);
    expect((await gen.generate([3, 1, 4], { maxNewTokens: 4 })).tokens).toEqual(greedyWithoutCache(model, [3, 1, 4], 4));
  });

  it('exports a file plain onnxruntime-node runs: eager logits, and the TextGenerator\'s greedy tokens', async () => {
    const model = new ComposedLM().eval();
    const path = join(dir, 'composed.onnx');
    exportOnnx(model, path);
    const session = await ort.InferenceSession.create(path);
    let feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < 2; i++) for (const k of ['key', 'value']) feeds[`past_key_values.${i}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 4]);
    const prompt = [3, 1, 4];
    const first = await session.run({ input_ids: int64([prompt]), position_ids: int64([[0, 1, 2]]), ...feeds });
    const eager = model.forward(tensor([prompt], { dtype: 'int32' })).logits.data() as Float32Array;
    expect(Math.max(...Array.from(eager, (v, i) => Math.abs(v - (first.logits.data as Float32Array)[i])))).toBeLessThanOrEqual(1e-5);
    const tokens: number[] = [];
    let out = first;
    let position = prompt.length;
    for (let t = 0; t < 8; t++) {
      const logits = (out.logits.data as Float32Array).subarray(out.logits.data.length - 24);
      const next = logits.indexOf(Math.max(...logits));
      tokens.push(next);
      feeds = {};
      for (let i = 0; i < 2; i++) for (const k of ['key', 'value']) feeds[`past_key_values.${i}.${k}`] = out[`present.${i}.${k}`];
      out = await session.run({ input_ids: int64([[next]]), position_ids: int64([[position++]]), ...feeds });
    }
    const gen = await TextGenerator.create(model);
    expect(tokens).toEqual((await gen.generate(prompt, { maxNewTokens: 8 })).tokens);
  });

  it('refuses what is not a LanguageModel, naming the member', async () => {
    const noLayout = Object.assign(new ComposedLM(), { cacheLayout: undefined });
    await expect(TextGenerator.create(noLayout as never)).rejects.toThrow(/^TextGenerator: model expected a LanguageModel .*; its cacheLayout is undefined/);
    const badVocab = Object.assign(new ComposedLM(), { vocab: 0 });
    expect(() => exportOnnx(badVocab as never, join(dir, 'bad.onnx'))).toThrow(/^exportOnnx: model expected a LanguageModel .*; its vocab is 0/);
    await expect(TextGenerator.create(new ComposedLM(1))).rejects.toThrow(/^TextGenerator: model\.forward expected to return one cache per cacheLayout entry \(2\), got/);
    await expect(TextGenerator.create({ forward: () => 1 } as never)).rejects.toThrow(/^TextGenerator: model expected a LanguageModel/);
  });

  it('keeps Generator as the deprecated alias of TextGenerator', () => {
    expect(Generator).toBe(TextGenerator);
  });
});

describe('a LanguageModel whose members disagree with its forward', () => {
  class Wrong extends ComposedLM {
    constructor(private readonly flaw: 'vocab' | 'layout' | 'ignores-cache' | 'rows') {
      super();
      if (flaw === 'vocab') Object.defineProperty(this, 'vocab', { value: 40 });
      if (flaw === 'layout') Object.defineProperty(this, 'cacheLayout', { value: [0, 1].map(() => ({ kvHeads: 1, headDim: 4, dtype: 'float32' })) });
    }
    override forward(ids: Tensor, call: LanguageModelCall = {}): { logits: Tensor; cache: KvCache[] } {
      const out = super.forward(ids, this.flaw === 'ignores-cache' ? { ...call, cache: undefined } : call);
      // Logits of 2T rows: neither one per new token nor the last one alone.
      return this.flaw === 'rows' ? { ...out, logits: concat([out.logits, out.logits], 1) } : out;
    }
  }

  it('is refused with the member named, by TextGenerator, the export and the default loss', async () => {
    await expect(TextGenerator.create(new Wrong('vocab'))).rejects.toThrow(/^TextGenerator: model\.forward expected logits \(B, T or 1, vocab = 40\)/);
    await expect(TextGenerator.create(new Wrong('rows'))).rejects.toThrow(/^TextGenerator: model\.forward expected logits \(B, T or 1, vocab = 24\), got .* of shape \[batch, /);
    expect(() => exportOnnx(new Wrong('rows'), join(dir, 'rows.onnx'))).toThrow(/^exportOnnx: model\.forward expected logits \(B, T, vocab = 24\)/);
    await expect(TextGenerator.create(new Wrong('layout'))).rejects.toThrow(/^TextGenerator: model\.forward failed on caches shaped as its cacheLayout says/);
    await expect(TextGenerator.create(new Wrong('ignores-cache'))).rejects.toThrow(/^TextGenerator: model\.forward expected cache 0 key \(B, 2, past \+ new, 4\) float32 as cacheLayout\[0\] says/);
    expect(() => exportOnnx(new Wrong('vocab'), join(dir, 'wrong.onnx'))).toThrow(/^exportOnnx: model\.forward expected logits/);
    await expect(Trainer.create({ model: new Wrong('vocab'), optimizer: new Lion(), batchSize: 1, sequenceLength: 4 })).rejects.toThrow(/^languageModelLoss: model expected logits of width vocab \(40\), got shape \[1, 4, 24\]/);
  });
});
