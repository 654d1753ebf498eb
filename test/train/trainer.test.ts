/**
 * The Trainer (src/train): one compiled step graph per run.
 *
 * Proves:
 * - the step graph's gradients on ort-node cpu equal the reference
 *   backend's VJP of the same loss (BLOCK tolerance), with dropout on;
 * - N steps on ort-node cpu (resident, pooled outputs) match N steps on the
 *   reference backend, for Lion and AdamW with clipping, dropout and a
 *   schedule: within float32 tolerance, and the losses step by step;
 * - gradient accumulation over K micro-batches equals one batch K times as
 *   large (no dropout), on both backends;
 * - dropout through the trainer: the same seed gives the same run, another
 *   seed another; rate 0 equals a model without dropout layers;
 * - resume is bit-identical: N steps straight == k steps, checkpoint file,
 *   a fresh Trainer loads it, N-k steps (ort-node cpu and reference);
 * - a NaN in the batch stops `fit` with an error naming the step; the
 *   parameters are unchanged and the last checkpoint on disk still loads
 *   and holds the state before the bad step;
 * - bad options and batches raise LlmTricksError naming the Trainer;
 * - with the default loss, ids and targets outside the vocabulary (the
 *   ignore index -100 aside) are refused before a compiled step or evaluate
 *   runs, on the reference backend and ort-node cpu, changing nothing;
 * - an lr beyond float32 is refused, and a step whose new parameters are
 *   not finite (read from the step's own finiteness output) throws and
 *   keeps the state before it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AdamW, DecoderLM, Lion, Linear, LlmTricksError, Module, Trainer, TokenBatches, ByteTokenizer, crossEntropy, fit, linearWarmupDecay,
  mean, mul, nextTokenLoss, referenceBackend, tensor, type Tensor,
} from '../../src/index.js';
import { loadCheckpoint, ortNode, saveCheckpoint } from '../../src/node.js';
import { BLOCK, expectAllClose } from '../helpers/backends.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-trainer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cpu = { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } } as const;
const text = 'It is the duty of the President to give the Congress information of the State of the Union. '.repeat(20);
const data = new TokenBatches(new ByteTokenizer().encode(text), { batchSize: 2, length: 12, seed: 4 });

function tinyModel(dropout = true): DecoderLM {
  return new DecoderLM({ vocab: 256, dim: 16, layers: 2, heads: 4, kvHeads: 2, seed: 7, dropout });
}

async function params(t: Trainer): Promise<Tensor[]> {
  return [...(await t.snapshot()).params.values()];
}

function bits(ts: readonly Tensor[]): number[] {
  return ts.flatMap((t) => [...new Uint32Array((t.data() as Float32Array).slice().buffer)]);
}

describe('Trainer', () => {
  it('computes on ort-node cpu the gradients the reference backend computes', async () => {
    const model = tinyModel();
    const trainer = await Trainer.create({ model, optimizer: new Lion(), batchSize: 2, sequenceLength: 12, ...cpu });
    const g = trainer.stepGraph.backward;
    const feeds = [...model.parameters().map((p) => p.value), ...data.batch(0), tensor(0.2), tensor(5, { dtype: 'int32' }), tensor(1, { dtype: 'int32' }), tensor(1)];
    const [want, got] = await Promise.all([referenceBackend.compile(g), ortNode.compile(g, cpu.compile)]).then(([r, o]) => Promise.all([r.run(feeds), o.run(feeds)]));
    expect(want.length).toBe(1 + model.parameters().length);
    expect(want.slice(1).some((x) => Math.max(...Array.from(x.data() as Float32Array, Math.abs)) > 1e-3)).toBe(true);
    expectAllClose(got, want, BLOCK, 'backward graph', 'ort-node cpu');
  });

  it.each([
    ['Lion', () => new Lion({ lr: 3e-3, weightDecay: 0.1 })],
    ['AdamW', () => new AdamW({ lr: 3e-3, weightDecay: 0.1 })],
  ])('takes the same %s steps on ort-node cpu as on the reference backend', async (_n, opt) => {
    const options = { batchSize: 2, sequenceLength: 12, dropout: 0.1, maxGradNorm: 0.5, schedule: linearWarmupDecay({ peakLr: 3e-3, warmupSteps: 2, totalSteps: 6 }) };
    const ref = await Trainer.create({ model: tinyModel(), optimizer: opt(), ...options });
    const ort = await Trainer.create({ model: tinyModel(), optimizer: opt(), ...options, ...cpu });
    for (let k = 0; k < 6; k++) {
      const [a, b] = [await ref.step(data.batch(k)), await ort.step(data.batch(k))];
      expect(b.loss).toBeCloseTo(a.loss, 4);
      expect(b.gradNorm).toBeCloseTo(a.gradNorm, 4);
      expect([b.lr, b.dropout, b.step]).toEqual([a.lr, a.dropout, k + 1]);
    }
    expectAllClose(await params(ort), await params(ref), { atol: 1e-4, rtol: 1e-3 }, 'parameters after 6 steps', 'ort-node cpu');
  });

  it.each([['reference', {}], ['ort-node cpu', cpu]] as const)('accumulates K micro-batches to the gradient of one K times larger batch (%s)', async (_n, where) => {
    const big = new TokenBatches(new ByteTokenizer().encode(text), { batchSize: 4, length: 12, seed: 4 });
    const one = await Trainer.create({ model: tinyModel(false), optimizer: new AdamW({ lr: 1e-3 }), batchSize: 4, sequenceLength: 12, ...where });
    const acc = await Trainer.create({ model: tinyModel(false), optimizer: new AdamW({ lr: 1e-3 }), batchSize: 2, sequenceLength: 12, accumulate: 2, ...where });
    for (let k = 0; k < 3; k++) {
      const [ids, targets] = big.batch(k);
      const split = (t: Tensor): Tensor => tensor(t.data() as Int32Array, { shape: [2, 2, 12], dtype: 'int32' });
      const a = await one.step([ids, targets]);
      const b = await acc.step([split(ids), split(targets)]);
      expect(b.loss).toBeCloseTo(a.loss, 5);
      expect(b.gradNorm).toBeCloseTo(a.gradNorm, 5);
    }
    expectAllClose(await params(acc), await params(one), { atol: 1e-5, rtol: 1e-4 }, 'parameters', 'accumulated');
  });

  it('draws dropout masks from the seed: same seed same run, another seed another, rate 0 as no dropout', async () => {
    const run = async (seed: number, dropout: number, layers = true): Promise<number[]> => {
      const t = await Trainer.create({ model: tinyModel(layers), optimizer: new Lion({ lr: 1e-3 }), batchSize: 2, sequenceLength: 12, dropout, seed, ...cpu });
      const losses = [];
      for (let k = 0; k < 3; k++) losses.push((await t.step(data.batch(k))).loss);
      return [...losses, ...bits(await params(t)).slice(0, 64)];
    };
    const a = await run(1, 0.3);
    expect(await run(1, 0.3)).toEqual(a);
    expect(await run(2, 0.3)).not.toEqual(a);
    expect(await run(1, 0)).toEqual(await run(1, 0, false));
  });

  it.each([['reference', {}], ['ort-node cpu', cpu]] as const)('resumes bit-identically from a checkpoint file (%s)', async (name, where) => {
    const make = (): Promise<Trainer> => Trainer.create({
      model: tinyModel(), optimizer: new AdamW({ lr: 2e-3 }), batchSize: 2, sequenceLength: 12, dropout: 0.1, seed: 9, ...where,
      schedule: linearWarmupDecay({ peakLr: 2e-3, warmupSteps: 2, totalSteps: 5 }),
    });
    const straight = await make();
    await fit(straight, { steps: 5, batch: (k) => data.batch(k) });
    const first = await make();
    const file = join(dir, `resume-${name.replace(' ', '-')}.safetensors`);
    await fit(first, { steps: 2, batch: (k) => data.batch(k), checkpoint: (t) => saveCheckpoint(file, t, { note: 'test' }) });
    const resumed = await make();
    const ckpt = loadCheckpoint(file);
    expect([ckpt.step, ckpt.seed, ckpt.optimizer, ckpt.config]).toEqual([2, 9, 'AdamW', { note: 'test' }]);
    await resumed.load(ckpt);
    await fit(resumed, { steps: 5, batch: (k) => data.batch(k) });
    expect(resumed.stepCount).toBe(5);
    expect(bits(await params(resumed))).toEqual(bits(await params(straight)));
    const slots = async (t: Trainer): Promise<Tensor[]> => [...(await t.snapshot()).slots.values()];
    expect(bits(await slots(resumed))).toEqual(bits(await slots(straight)));
  });

  it('stops at a non-finite loss naming the step, keeps the state, and the last checkpoint still loads', async () => {
    // A regression model whose input can carry a NaN.
    class Reg extends Module {
      readonly lin = this.module('lin', new Linear(3, 1, { seed: 1 }));
      forward(x: Tensor): Tensor { return this.lin.forward(x); }
    }
    const loss = (m: Reg, [x, y]: readonly Tensor[]): Tensor => mean(mul(m.forward(x), y));
    const trainer = await Trainer.create({
      model: new Reg(), optimizer: new Lion({ lr: 0.01 }), loss, inputs: [{ shape: [4, 3] }, { shape: [4, 1] }], ...cpu,
    });
    const good = [tensor(Array.from({ length: 12 }, (_, i) => i / 12), { shape: [4, 3] }), tensor([[1], [2], [3], [4]])];
    const bad = [tensor(Array.from({ length: 12 }, (_, i) => (i === 5 ? NaN : i / 12)), { shape: [4, 3] }), good[1]];
    const file = join(dir, 'nan.safetensors');
    const err = await fit(trainer, {
      steps: 6, batch: (k) => (k === 3 ? bad : good), checkpoint: (t) => saveCheckpoint(file, t), checkpointEvery: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTricksError);
    expect((err as Error).message).toMatch(/^Trainer\.step: expected a finite loss.*got loss NaN.*at step 4/);
    expect(trainer.stepCount).toBe(3);
    const onDisk = loadCheckpoint(file);
    expect(onDisk.step).toBe(3);
    expect(bits([...onDisk.params.values()])).toEqual(bits(await params(trainer)));
    expect((await trainer.step(good)).step).toBe(4); // the trainer is still usable
    expect(readFileSync(file).length).toBeGreaterThan(0);
  });

  it('rejects bad options and batches with errors that name the Trainer', async () => {
    const base = { model: tinyModel(), optimizer: new Lion(), batchSize: 2, sequenceLength: 12 };
    await expect(Trainer.create({ ...base, batchSize: 0 })).rejects.toThrow(/^Trainer: batchSize and sequenceLength expected positive integers.*got 0/);
    await expect(Trainer.create({ ...base, maxGradNorm: -1 })).rejects.toThrow(/^Trainer: maxGradNorm expected a finite number > 0 or null, got -1/);
    await expect(Trainer.create({ ...base, optimizer: {} as never })).rejects.toThrow(/^Trainer: optimizer expected Lion, AdamW or a GraphOptimizer \(name, slots, lr, graphUpdate\)/);
    await expect(Trainer.create({ ...base, accumulate: 1.5 })).rejects.toThrow(/accumulate expected a positive integer up to 256, got 1.5/);
    const t = await Trainer.create(base);
    await expect(t.step([data.batch(0)[0]])).rejects.toThrow(/^Trainer\.step: batch expected 2 tensors \(ids, targets\)/);
    await expect(t.step([tensor([[1, 2]], { dtype: 'int32' }), data.batch(0)[1]])).rejects.toThrow(/^Trainer\.step: batch\[0\] expected int32\[2, 12\], got int32\[1, 2\]/);
    const bad = await Trainer.create({ ...base, schedule: () => NaN });
    await expect(bad.step(data.batch(0))).rejects.toThrow(/^Trainer\.step: schedule expected a finite lr >= 0 at step 0, got NaN/);
    const other = await Trainer.create({ ...base, optimizer: new AdamW() });
    await expect(other.load({ step: 0, seed: 0, optimizer: 'Lion', params: new Map(), slots: new Map() })).rejects.toThrow(/^Trainer\.load: state expected optimizer AdamW, got "Lion"/);
    expect(t.stepCount).toBe(0);
  });

  it('checks ids and targets against the vocabulary before a compiled step or evaluate runs, on every backend', async () => {
    const [ids, targets] = data.batch(0);
    const withValue = (t: Tensor, at: number, v: number): Tensor => {
      const d = t.data() as Int32Array;
      d[at] = v;
      return tensor(d, { shape: t.shape as number[], dtype: 'int32' });
    };
    for (const on of [{}, cpu]) {
      const t = await Trainer.create({ model: tinyModel(), optimizer: new Lion(), batchSize: 2, sequenceLength: 12, ...on });
      const before = await params(t);
      for (const [batch, message] of [
        [[withValue(ids, 5, 256), targets], /^Trainer\.step: batch\[0\] \(ids\) expected in \[0, 255\], got 256/],
        [[withValue(ids, 0, -2), targets], /got -2/],
        [[ids, withValue(targets, 3, 99999)], /^Trainer\.step: batch\[1\] \(targets\) expected in \[0, 255\] or the ignore index \(-100\), got 99999/],
        [[ids, withValue(targets, 3, -1)], /got -1/],
        // Every target ignored: the mean over none is NaN, so the batch is refused before it runs.
        [[ids, tensor(new Int32Array(targets.size).fill(-100), { shape: targets.shape as number[], dtype: 'int32' })],
          /^Trainer\.step: batch\[1\] \(targets\) expected at least one target that is not the ignore index \(-100\), got all -100/],
      ] as const) {
        await expect(t.step(batch as unknown as Tensor[])).rejects.toThrow(message);
        await expect(t.evaluate(batch as unknown as Tensor[])).rejects.toThrow(/^Trainer\.evaluate: batch\[[01]\]/);
      }
      expect(t.stepCount).toBe(0);
      expect(bits(await params(t))).toEqual(bits(before));
      // The ignore index stays allowed, as crossEntropy documents.
      expect(Number.isFinite((await t.step([ids, withValue(targets, 3, -100)])).loss)).toBe(true);
      await t.dispose();
    }
  });

  it('refuses an lr float32 cannot hold, and a step whose new state is not finite, before either reaches the parameters', async () => {
    const [ids, targets] = data.batch(0);
    for (const on of [{}, cpu]) {
      const huge = await Trainer.create({ model: tinyModel(), optimizer: new Lion(), batchSize: 2, sequenceLength: 12, schedule: () => 1e39, ...on });
      await expect(huge.step([ids, targets])).rejects.toThrow(/^Trainer\.step: schedule expected an lr a float32 holds \(at most 3\.4028e\+38\) at step 0, got 1e\+39/);
      // A third-party optimizer whose update overflows: the loss and gradients are finite, the new parameters are not.
      const exploding = { name: 'Exploding', slots: [], lr: 1, graphUpdate: (params: readonly Tensor[]) => ({ params: params.map((p) => mul(mul(p, 1e30), 1e30)), slots: params.map(() => []) }) };
      const t = await Trainer.create({ model: tinyModel(), optimizer: exploding, batchSize: 2, sequenceLength: 12, ...on });
      const before = bits(await params(t));
      await expect(t.step([ids, targets])).rejects.toThrow(/^Trainer\.step: expected finite parameters and optimizer state after step 1, got non-finite values \(learning rate 1\); training stopped, and the parameters and optimizer state are still those after step 0/);
      expect(t.stepCount).toBe(0);
      expect(bits(await params(t))).toEqual(before);
      await Promise.all([huge.dispose(), t.dispose()]);
    }
  });

  it('nextTokenLoss gives the Trainer label smoothing and a sum reduction, computed as crossEntropy computes them', async () => {
    const [ids, targets] = data.batch(0);
    for (const on of [{}, cpu]) {
      const model = tinyModel(false);
      const smooth = await Trainer.create({ model, optimizer: new Lion(), batchSize: 2, sequenceLength: 12, loss: nextTokenLoss({ labelSmoothing: 0.1, reduction: 'sum' }), ...on });
      const want = crossEntropy(model.eval().forward(ids).logits, targets, { labelSmoothing: 0.1, reduction: 'sum' }).item();
      expect(want).not.toBeCloseTo(crossEntropy(model.forward(ids).logits, targets, { reduction: 'sum' }).item(), 3);
      expect((await smooth.step([ids, targets])).loss).toBeCloseTo(want, 3);
      // Still a token loss: its ids and targets are checked.
      await expect(smooth.step([ids, tensor(new Int32Array(targets.size).fill(300), { shape: targets.shape as number[], dtype: 'int32' })])).rejects.toThrow(/got 300/);
      await smooth.dispose();
    }
    // Under 'sum' a micro-batch with every target ignored is a loss of 0, not NaN: it runs.
    const summed = await Trainer.create({ model: tinyModel(false), optimizer: new Lion(), batchSize: 2, sequenceLength: 12, loss: nextTokenLoss({ reduction: 'sum' }) });
    expect((await summed.step([ids, tensor(new Int32Array(targets.size).fill(-100), { shape: targets.shape as number[], dtype: 'int32' })])).loss).toBe(0);
    expect(() => nextTokenLoss({ reduction: 'none' } as never)).toThrow(/^nextTokenLoss: reduction expected 'mean' or 'sum'/);
    expect(() => nextTokenLoss({ labelSmoothing: 2 })).toThrow(/^nextTokenLoss: labelSmoothing expected a number in \[0, 1\], got 2/);
  });

  it('evaluates a batch without dropout or an update, and copies parameters into the model', async () => {
    const model = tinyModel();
    const t = await Trainer.create({ model, optimizer: new Lion({ lr: 1e-3 }), batchSize: 2, sequenceLength: 12, dropout: 0.5, ...cpu });
    const before = await t.evaluate(data.batch(0));
    const [ids, targets] = data.batch(0);
    expect(before).toBeCloseTo(crossEntropy(model.eval().forward(ids).logits, targets).item(), 5);
    model.train();
    expect(await t.evaluate(data.batch(0))).toBe(before);
    await t.step(data.batch(0));
    const w = (await t.snapshot()).params.get('lm_head.weight')!;
    expect(bits([model.stateDict().get('lm_head.weight')!])).not.toEqual(bits([w]));
    await t.syncModel();
    expect(bits([model.stateDict().get('lm_head.weight')!])).toEqual(bits([w]));
  });
});
