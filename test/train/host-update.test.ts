/**
 * The Trainer's optimizer update on the host (`update: 'host'`, src/train/host-update.ts).
 *
 * Proves:
 * - the default site: the host for Lion on ort-node cpu, the graph for
 *   AdamW, cautious Lion, and on the reference backend;
 * - Lion on the host gives the bits of Lion in the graph, step by step
 *   (losses, gradient norms) and in the final parameters, state and
 *   evaluate: with clipping at work, dropout, a schedule, gradient
 *   accumulation and parameter groups (lrScale, weight decay), on arrays
 *   large enough for the SIMD kernels and for the finiteness check's
 *   parts; and for a float64 model, with an lr and an lrScale float32
 *   cannot hold (the graph's lr is float32);
 * - the update reads the gradients where the step graph wrote them, in the
 *   optimizer's WebAssembly memory: its kernels copy nothing through;
 *   without the kernels the gradients stay in the graph's own outputs, and
 *   the steps keep their bits;
 * - dispose lets go of the parameters and state (the WebAssembly memory);
 * - AdamW and cautious Lion (whose update is not elementwise) on the host
 *   stay within float32 rounding of the update in the graph (their bias
 *   corrections and mean are float64 on the host);
 * - checkpoints cross between the sites: k steps at one, a snapshot loaded
 *   by a Trainer at the other, the rest there, give the bits of the whole
 *   run at one site;
 * - an update whose new values are not all finite throws naming the step,
 *   and leaves parameters, optimizer state and step count as they were,
 *   where the only overflow is in the last part the check reads;
 * - `update` is checked: an unknown site or null, and the host for an optimizer it
 *   cannot run, are LlmTricksErrors naming the Trainer.
 */
import { describe, expect, it } from 'vitest';
import {
  AdamW, DecoderLM, Lion, LlmTricksError, Tensor, Trainer, TokenBatches, ByteTokenizer, linearWarmupDecay, referenceBackend,
} from '../../src/index.js';
import { ortNode } from '../../src/node.js';
import type { TrainerOptions } from '../../src/train/trainer.js';
import { kernelCalls, useSimdKernels } from '../../src/optim/kernels/simd.js';

const cpu = { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } } as const;
const text = 'It is the duty of the President to give the Congress information of the State of the Union. '.repeat(20);
const data = new TokenBatches(new ByteTokenizer().encode(text), { batchSize: 2, length: 12, seed: 4 });
const pairs = (k: number): Tensor[] => {
  // Two micro-batches, for accumulate 2.
  const [a, b] = [data.batch(2 * k), data.batch(2 * k + 1)];
  return [0, 1].map((i) => stack(a[i], b[i]));
};

function stack(a: Tensor, b: Tensor): Tensor {
  const out = new Int32Array(a.size * 2);
  out.set(a.data() as Int32Array);
  out.set(b.data() as Int32Array, a.size);
  return new Tensor([2, ...a.shape], 'int32', out);
}

/** A decoder whose embedding (256 × 160) is larger than one part of the finiteness check (32768 elements). */
function model(): DecoderLM {
  return new DecoderLM({ vocab: 256, dim: 160, layers: 1, heads: 4, kvHeads: 2, seed: 3, dropout: true });
}

function bits(ts: Iterable<Tensor>): number[] {
  return [...ts].flatMap((t) => [...new Uint32Array((t.data() as Float32Array).slice().buffer)]);
}

type Options = Partial<TrainerOptions<DecoderLM>>;
const make = (optimizer: Lion | AdamW, update: 'graph' | 'host', more: Options = {}): Promise<Trainer<DecoderLM>> => Trainer.create({
  model: model(), optimizer, batchSize: 2, sequenceLength: 12, dropout: 0.1, seed: 5, accumulate: 2, maxGradNorm: 0.5, ...cpu, update,
  schedule: linearWarmupDecay({ peakLr: 3e-3, warmupSteps: 2, totalSteps: 6 }), ...more,
});

/** Steps [from, to) and returns each step's loss and gradient norm. */
async function steps(t: Trainer, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for (let k = from; k < to; k++) {
    const info = await t.step(pairs(k));
    out.push(info.loss, info.gradNorm);
  }
  return out;
}

describe('Trainer update on the host', () => {
  it('runs on the host by default for Lion on ort-node cpu, in the graph elsewhere', async () => {
    const site = async (optimizer: Lion | AdamW, on: object): Promise<boolean> => {
      const t = await Trainer.create({ model: model(), optimizer, batchSize: 2, sequenceLength: 12, ...on });
      await t.dispose();
      return t.stepGraph.update;
    };
    expect(await site(new Lion(), cpu)).toBe(false);
    expect(await site(new AdamW(), cpu)).toBe(true);
    expect(await site(new Lion({ groups: [{ params: [1], cautious: true }] }), cpu)).toBe(true);
    expect(await site(new Lion(), {})).toBe(true);
    expect(await site(new Lion(), { backend: referenceBackend })).toBe(true);
  });

  it('gives Lion the bits of Lion in the graph', async () => {
    const optimizer = (): Lion => new Lion({ lr: 3e-3, weightDecay: 0.1, groups: [{ params: [0, 2], lrScale: 0.5, weightDecay: 0 }] });
    const [graph, host] = [await make(optimizer(), 'graph'), await make(optimizer(), 'host')];
    expect([graph.stepGraph.update, host.stepGraph.update]).toEqual([true, false]);
    const clipped = await steps(graph, 0, 5);
    expect(await steps(host, 0, 5)).toEqual(clipped);
    // Clipping was at work: some gradient norms above 0.5.
    expect(clipped.filter((_, i) => i % 2 === 1).some((n) => n > 0.5)).toBe(true);
    const [a, b] = [await graph.snapshot(), await host.snapshot()];
    expect([...b.params.keys(), ...b.slots.keys()]).toEqual([...a.params.keys(), ...a.slots.keys()]);
    expect(bits(b.params.values())).toEqual(bits(a.params.values()));
    expect(bits(b.slots.values())).toEqual(bits(a.slots.values()));
    expect(await host.evaluate(data.batch(40))).toBe(await graph.evaluate(data.batch(40)));
    await Promise.all([graph.dispose(), host.dispose()]);
  });

  it('reads the gradients where the step graph wrote them: every kernel call in place, none streamed through copies', async () => {
    const t = await make(new Lion({ lr: 3e-3 }), 'host', { accumulate: undefined });
    const before = { ...kernelCalls };
    for (let k = 0; k < 2; k++) await t.step(data.batch(k));
    expect(kernelCalls.streamed - before.streamed).toBe(0);
    expect(kernelCalls.inPlace - before.inPlace).toBeGreaterThan(0);
    await t.dispose();
  });

  it('without the SIMD kernels (so no WebAssembly memory to share), keeps the gradients in the graph\'s outputs, with the same bits', async () => {
    useSimdKernels(false);
    try {
      const t = await make(new Lion({ lr: 3e-3 }), 'host', { accumulate: undefined });
      expect((t as unknown as { host: { grads: unknown[] } }).host.grads).toEqual([]);
      const g = await make(new Lion({ lr: 3e-3 }), 'graph', { accumulate: undefined });
      for (let k = 0; k < 2; k++) expect((await t.step(data.batch(k))).loss).toBe((await g.step(data.batch(k))).loss);
      expect(bits((await t.snapshot()).params.values())).toEqual(bits((await g.snapshot()).params.values()));
      await Promise.all([t.dispose(), g.dispose()]);
    } finally {
      useSimdKernels(true);
    }
  });

  it('gives a float64 model the bits of the graph too (the graph takes lr as float32, the host then does)', async () => {
    const f64 = (): DecoderLM => new DecoderLM({ vocab: 256, dim: 160, layers: 1, heads: 4, kvHeads: 2, seed: 3, dropout: true, dtype: 'float64' });
    // 3e-3 and lrScale 0.3 are not float32 numbers: the graph rounds lr to float32 before scaling in float64.
    const lion = (): Lion => new Lion({ lr: 3e-3, weightDecay: 0.1, groups: [{ params: [1], lrScale: 0.3 }] });
    const [graph, host] = await Promise.all(['graph', 'host'].map((update) => make(lion(), update as 'graph', { model: f64(), schedule: undefined })));
    expect(await steps(host, 0, 3)).toEqual(await steps(graph, 0, 3));
    const [a, b] = [await graph.snapshot(), await host.snapshot()];
    const bits64 = (ts: Iterable<Tensor>): number[] => [...ts].flatMap((t) => [...new Uint32Array((t.data() as Float64Array).slice().buffer)]);
    expect(bits64(b.params.values())).toEqual(bits64(a.params.values()));
    expect(bits64(b.slots.values())).toEqual(bits64(a.slots.values()));
    await Promise.all([graph.dispose(), host.dispose()]);
  });

  it.each([
    ['AdamW', () => new AdamW({ lr: 3e-3 })],
    ['cautious Lion', () => new Lion({ lr: 3e-3, cautious: true, cautiousFactor: 0.2 })],
  ])('%s on the host stays within float32 rounding of the update in the graph', async (_name, optimizer) => {
    const [graph, host] = [await make(optimizer(), 'graph'), await make(optimizer(), 'host')];
    const [a, b] = [await steps(graph, 0, 1), await steps(host, 0, 1)];
    // After one step from the same state, the parameters differ by the rounding of the update alone.
    const values = async (t: Trainer): Promise<number[]> => [...(await t.snapshot()).params.values()].flatMap((p) => [...(p.data() as Float32Array)]);
    const [pa, pb] = [await values(graph), await values(host)];
    expect(pb.reduce((worst, x, i) => Math.max(worst, Math.abs(x - pa[i])), 0)).toBeLessThan(1e-6);
    // Later steps start from those slightly different states; the losses stay close.
    a.push(...(await steps(graph, 1, 4)));
    b.push(...(await steps(host, 1, 4)));
    b.forEach((x, i) => expect(Math.abs(x - a[i])).toBeLessThan(1e-4 * Math.abs(a[i])));
    await Promise.all([graph.dispose(), host.dispose()]);
  });

  it.each([['graph', 'host'], ['host', 'graph']] as const)('resumes at the %s a run checkpointed at the %s, bit for bit', async (second, first) => {
    const lion = (): Lion => new Lion({ lr: 3e-3, weightDecay: 0.1 });
    const straight = await make(lion(), first);
    const expected = await steps(straight, 0, 5);
    const before = await make(lion(), first);
    const head = await steps(before, 0, 2);
    const resumed = await make(lion(), second);
    await resumed.load(await before.snapshot());
    expect([...head, ...(await steps(resumed, 2, 5))]).toEqual(expected);
    const [a, b] = [await straight.snapshot(), await resumed.snapshot()];
    expect(b.step).toBe(5);
    expect(bits(b.params.values())).toEqual(bits(a.params.values()));
    expect(bits(b.slots.values())).toEqual(bits(a.slots.values()));
    await Promise.all([straight.dispose(), before.dispose(), resumed.dispose()]);
  });

  it('refuses an update whose new values are not all finite, changing nothing', async () => {
    // Step 2's lr times the weight decay overflows: the decay factor is -Infinity, every new parameter not finite.
    const t = await make(new Lion({ lr: 1e-3, weightDecay: 10 }), 'host', { schedule: (s) => (s === 1 ? 1e38 : 1e-3) });
    await steps(t, 0, 1);
    const before = await t.snapshot();
    await expect(t.step(pairs(1))).rejects.toThrow(/^Trainer\.step: expected finite parameters and optimizer state after step 2, got non-finite values \(learning rate 1e\+38\); training stopped, and the parameters and optimizer state are still those after step 1$/);
    const after = await t.snapshot();
    expect(t.stepCount).toBe(1);
    expect(bits(after.params.values())).toEqual(bits(before.params.values()));
    expect(bits(after.slots.values())).toEqual(bits(before.slots.values()));
    await t.dispose();
  });

  it('lets go of the parameters and optimizer state on dispose', async () => {
    const t = await make(new Lion(), 'host');
    await steps(t, 0, 1);
    await t.dispose();
    // The Trainer no longer references the WebAssembly memory that held them (a kept Trainer kept it all).
    expect((t as unknown as { host: unknown; state: unknown[] }).host).toBeUndefined();
    expect((t as unknown as { state: unknown[] }).state).toEqual([]);
  });

  it('refuses an update that overflows only in the last part the check reads', () => {
    const n = 3 * 32768 + 5;
    const opt = new Lion({ lr: 1e38 });
    const { params } = opt.allocate([n]);
    params[0].fill(0.5);
    params[0][n - 1] = -3e38; // minus lr · sign(c) = 1e38: -4e38 overflows
    const g = new Float32Array(n).fill(1);
    const [p0, m0] = [params[0].slice(), opt.state().buffers[0][0].slice()];
    expect(opt.stepIfFinite(params, [g], 1e38, 1)).toBe(false);
    expect(params[0]).toEqual(p0);
    expect(opt.state().buffers[0][0]).toEqual(m0);
    expect(opt.stepCount).toBe(0);
    params[0][n - 1] = 0.5;
    expect(opt.stepIfFinite(params, [g], 1e38, 1)).toBe(true);
    expect([params[0][0], params[0][n - 1], opt.stepCount]).toEqual([0.5 - 1e38, 0.5 - 1e38, 1].map(Math.fround));
  });

  it('checks the update option', async () => {
    const exploding = { name: 'Exploding', slots: [], lr: 1, graphUpdate: (params: readonly Tensor[]) => ({ params: [...params], slots: params.map(() => []) }) };
    const base = { model: model(), batchSize: 2, sequenceLength: 12, ...cpu };
    await expect(Trainer.create({ ...base, optimizer: new Lion(), update: 'device' as 'host' })).rejects.toThrow(new LlmTricksError('Trainer', `update expected 'graph' or 'host', got "device"`));
    await expect(Trainer.create({ ...base, optimizer: new Lion(), update: null as unknown as 'host' })).rejects.toThrow(new LlmTricksError('Trainer', `update expected 'graph' or 'host', got null`));
    await expect(Trainer.create({ ...base, optimizer: exploding, update: 'host' })).rejects.toThrow(/^Trainer: update 'host' expected Lion or AdamW over float32 or float64 parameters, got the optimizer is Exploding, not Lion or AdamW$/);
  });
});
