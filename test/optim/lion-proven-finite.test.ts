/**
 * Lion's proof that a step is finite (src/optim/lion.ts, lionProvenFinite),
 * which lets the Trainer's update on the host skip the finiteness check that
 * reads every parameter, gradient and momentum before the update.
 *
 * Proves:
 * - the float32 SIMD update reports the largest |p| and |m| it wrote (in
 *   the vectors and in the tail run in JavaScript, in place and streamed,
 *   NaN when one is NaN), against a scan of the arrays;
 * - lionProvenFinite's bounds, at each edge;
 * - the proof holds where it is tightest: parameters at ±FLT_MAX, momentum
 *   just below 2^126, gradients of ±2^64, lr just below 2^100 and decay -1
 *   give only finite values, step after step (so a proof it makes is never
 *   wrong there); and property-based, stepIfFinite with a gradient bound
 *   agrees with step() on copies, scanned, over several steps;
 * - with the bound, a step after a recorded one runs only the update kernel
 *   (no check); without it, or for a step whose bounds fail, the check runs;
 * - what a step proves from can't go stale: loadState forgets what earlier
 *   updates wrote (an infinite momentum loaded after proven steps is caught,
 *   standalone and in a Trainer after load, which then refuses the step and
 *   changes nothing), so does an update by the JavaScript loop, and group
 *   options changed after construction (lr < 0, decay > 1) fail the proof;
 * - the Trainer's host update proves steps only where its backend computes
 *   IEEE float32 on the CPU (the bound on |g| needs float32 overflow).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ByteTokenizer, DecoderLM, Lion, referenceBackend, Tensor, TokenBatches, Trainer, type Backend } from '../../src/index.js';
import { ortNode } from '../../src/node.js';
import { lionProvenFinite } from '../../src/optim/lion.js';
import { HostUpdate } from '../../src/train/host-update.js';
import { allocateResident, kernelCalls, lionSimd, useSimdKernels } from '../../src/optim/kernels/simd.js';

afterEach(() => useSimdKernels(true));

const F32_MAX = 3.4028234663852886e38;
const f = Math.fround;
const maxAbs = (x: Float32Array | Float64Array): number => Array.from(x).reduce((a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : Math.max(a, Math.abs(v))), 0);
const bits = (x: Float32Array | Float64Array): number[] => Array.from(new Uint32Array(x.slice().buffer));
const constants = { b1: f(0.9), c1: f(0.1), b2: f(0.99), c2: f(0.01), lr: f(1e-3), decay: 1 };
/** Lion's float32 step in JavaScript, for the tails the kernel leaves (src/optim/lion.ts rounds the same way). */
const loop = (p: Float32Array | Float64Array, g: Float32Array | Float64Array, m: Float32Array | Float64Array): void => {
  const { b1, c1, b2, c2, lr, decay } = constants;
  for (let i = 0; i < p.length; i++) {
    const c = f(f(b1 * m[i]) + f(c1 * g[i]));
    p[i] = f(f(p[i] * decay) - lr * Math.sign(c));
    m[i] = f(f(b2 * m[i]) + f(c2 * g[i]));
  }
};

describe('Lion: the maxima of its update', () => {
  for (const placement of ['resident', 'ordinary'] as const) {
    it(`reports the largest |p| and |m| it wrote, tails included (${placement} arrays)`, () => {
      for (const [n, spikeAt] of [[4099, 4098], [4099, 17], [70_001, 65_536]]) {
        // Resident: all three in the kernels' memory, updated in place; ordinary: streamed through it in chunks.
        const [p, g, m] = (placement === 'resident' ? allocateResident([n, n, n], false)! : [0, 1, 2].map(() => new Float32Array(n))) as Float32Array[];
        const before = { ...kernelCalls };
        for (let i = 0; i < n; i++) [p[i], g[i], m[i]] = [Math.sin(i), Math.cos(i), Math.sin(3 * i) / 4];
        p[spikeAt] = -7e30;
        m[spikeAt] = 5e20;
        const out = lionSimd(p, g, m, constants, loop);
        expect(out).toEqual({ p: maxAbs(p), m: maxAbs(m) });
        expect(out).toEqual({ p: f(7e30), m: f(f(f(0.99) * f(5e20)) + f(f(0.01) * g[spikeAt])) });
        expect(placement === 'resident' ? kernelCalls.inPlace - before.inPlace : kernelCalls.streamed - before.streamed).toBeGreaterThan(0);
      }
    });
  }

  it('reports NaN when it writes a NaN, in the vectors or the tail', () => {
    for (const at of [5, 4098]) {
      const [p, g, m] = [0, 1, 2].map(() => new Float32Array(4099).fill(0.5));
      m[at] = Infinity;
      g[at] = -Infinity; // c = b1·Inf + c1·(-Inf) is NaN; m' = Inf - Inf is NaN
      const out = lionSimd(p, g, m, constants, loop);
      expect(out).toEqual({ p: expect.any(Number), m: NaN });
    }
  });
});

describe('lionProvenFinite', () => {
  const last = { p: F32_MAX, m: f(2 ** 126 - 2 ** 102) };
  it('holds inside its bounds and fails at each edge', () => {
    expect(lionProvenFinite(last, 2 ** 64, { ...constants, lr: f(2 ** 100 - 2 ** 76), decay: -1 })).toBe(true);
    expect(lionProvenFinite({ ...last, p: Infinity }, 2 ** 64, constants)).toBe(false);
    expect(lionProvenFinite({ ...last, p: NaN }, 2 ** 64, constants)).toBe(false);
    expect(lionProvenFinite({ ...last, m: 2 ** 126 }, 2 ** 64, constants)).toBe(false);
    expect(lionProvenFinite({ ...last, m: NaN }, 2 ** 64, constants)).toBe(false);
    expect(lionProvenFinite(last, 2 ** 64 * (1 + 2 ** -23), constants)).toBe(false);
    expect(lionProvenFinite(last, 2 ** 64, { ...constants, lr: 2 ** 100 })).toBe(false);
    expect(lionProvenFinite(last, 2 ** 64, { ...constants, decay: f(-1 - 2 ** -23) })).toBe(false);
  });
});

describe('Lion.stepIfFinite with a gradient bound', () => {
  it('writes only finite values where the proof is tightest, step after step', () => {
    const n = 4099;
    // decay = 1 - lr·wd = -1: lr just below 2^100, wd = 2 / lr.
    const lr = f(2 ** 100 - 2 ** 76);
    // beta2 = 1 - 2^-20: the momentum stays just below 2^126, so every step after the first is proven, not checked.
    const opt = new Lion({ lr, weightDecay: 2 / lr, betas: [0.5, 1 - 2 ** -20] });
    const { params, grads } = opt.allocate([n]);
    const [p, g] = [params[0], grads[0]];
    const m = opt.state().buffers[0][0];
    for (let i = 0; i < n; i++) [p[i], g[i], m[i]] = [i % 2 ? F32_MAX : -F32_MAX, i % 3 ? 2 ** 64 : -(2 ** 64), f(2 ** 126 - 2 ** 102) * (i % 5 ? 1 : -1)];
    opt.loadState({ name: 'Lion', step: 0, buffers: [[m]] });
    const calls: number[] = [];
    for (let step = 1; step <= 6; step++) {
      const before = kernelCalls.inPlace;
      expect(opt.stepIfFinite(params, grads, lr, step, 2 ** 64)).toBe(true);
      calls.push(kernelCalls.inPlace - before);
      expect(maxAbs(opt.state().buffers[0][0])).toBeGreaterThan(2 ** 125.99);
      expect(params[0].every(Number.isFinite)).toBe(true);
      expect(opt.state().buffers[0][0].every(Number.isFinite)).toBe(true);
      g.forEach((_, i) => { g[i] = -g[i]; });
    }
    expect(calls).toEqual([2, 1, 1, 1, 1, 1]);
  });

  it('agrees with step() on copies over several steps (property-based)', () => {
    const value = fc.oneof(fc.double({ min: -2, max: 2, noNaN: true }), fc.constantFrom(F32_MAX, -F32_MAX, 1e38, 2 ** 125, -(2 ** 126), 2 ** 64, -(2 ** 64)));
    fc.assert(fc.property(
      fc.integer({ min: 2048, max: 2060 }), fc.constantFrom(1e-3, 0.5, 1e29, 2 ** 99, 2.1e31), fc.constantFrom(0, 0.1, 3, 2 ** -98), fc.array(value, { minLength: 9, maxLength: 9 }), fc.boolean(),
      (n, lr, weightDecay, v, allocated) => {
        const opt = new Lion({ lr, weightDecay });
        const arrays = allocated ? opt.allocate([n]) : { params: [new Float32Array(n)], grads: [new Float32Array(n)] };
        const [p, g] = [arrays.params[0], arrays.grads[0]];
        const m0 = new Float32Array(n);
        for (let i = 0; i < n; i++) [p[i], m0[i]] = [v[i % 3] * (1 + i / n), v[3 + (i % 3)] / (1 + i / n)];
        opt.loadState({ name: 'Lion', step: 0, buffers: [[m0]] });
        const twin = new Lion({ lr, weightDecay });
        twin.loadState(opt.state());
        const tp = p.slice();
        for (let step = 1; step <= 3; step++) {
          // Gradients within the bound: |g| <= 2^64.
          for (let i = 0; i < n; i++) g[i] = f(Math.max(-(2 ** 64), Math.min(2 ** 64, v[6 + ((i + step) % 3)] * (step % 2 ? 1 : -1))));
          const [mBefore, pBefore] = [twin.state().buffers[0][0], tp.slice()];
          twin.step([tp], [g.slice()], { lr });
          const finite = tp.every(Number.isFinite) && twin.state().buffers[0][0].every(Number.isFinite);
          expect(opt.stepIfFinite([p], [g], lr, step, 2 ** 64)).toBe(finite);
          if (!finite) {
            expect([bits(p), bits(opt.state().buffers[0][0])]).toEqual([bits(pBefore), bits(mBefore)]);
            return;
          }
          expect([bits(p), bits(opt.state().buffers[0][0])]).toEqual([bits(tp), bits(twin.state().buffers[0][0])]);
        }
      }), { numRuns: 150, seed: 23 });
  });

  it('skips the check after a step it recorded, and only with the bound', () => {
    const opt = new Lion({ lr: 1e-3, weightDecay: 0.1 });
    const { params, grads } = opt.allocate([5000, 3000, 7]);
    params.forEach((p) => p.fill(0.25));
    grads.forEach((g) => g.fill(-0.5));
    const calls = (run: () => void): number => {
      const before = kernelCalls.inPlace;
      run();
      return kernelCalls.inPlace - before;
    };
    // The first step has nothing recorded: check and update, each one kernel call per array.
    expect(calls(() => expect(opt.stepIfFinite(params, grads, 1e-3, 1, 2 ** 64)).toBe(true))).toBe(6);
    expect(calls(() => expect(opt.stepIfFinite(params, grads, 1e-3, 2, 2 ** 64)).toBe(true))).toBe(3);
    expect(calls(() => expect(opt.stepIfFinite(params, grads, 1e-3, 3)).toBe(true))).toBe(6);
    // An lr of 2^100 is outside the proof: checked (and finite).
    expect(calls(() => expect(opt.stepIfFinite(params, grads, 2 ** 100, 4, 2 ** 64)).toBe(true))).toBe(6);
  });

  it('checks a step whose group options changed after construction (lr < 0 or decay > 1)', () => {
    const group = { params: [0], lrScale: 1, weightDecay: 1 };
    const opt = new Lion({ lr: 1e-3, groups: [group] });
    const { params, grads } = opt.allocate([4099]);
    params[0].fill(2e38);
    grads[0].fill(0.5);
    for (let step = 1; step <= 2; step++) expect(opt.stepIfFinite(params, grads, 1e-3, step, 2 ** 64)).toBe(true);
    // lr · lrScale = -1: decay 1 - (-1)·1 = 2, and 2·p overflows; the check must run and refuse.
    group.lrScale = -1000;
    const p0 = params[0].slice();
    expect(opt.stepIfFinite(params, grads, 1e-3, 3, 2 ** 64)).toBe(false);
    expect(bits(params[0])).toEqual(bits(p0));
    // A negative weight decay, with lr > 0: decay 1 + 2 = 3.
    Object.assign(group, { lrScale: 1, weightDecay: -2000 });
    expect(opt.stepIfFinite(params, grads, 1e-3, 3, 2 ** 64)).toBe(false);
    expect(bits(params[0])).toEqual(bits(p0));
  });

  it('forgets what it wrote once another path updates the arrays (the JavaScript loop, without the kernels)', () => {
    const opt = new Lion({ lr: 1e-3 });
    const { params, grads } = opt.allocate([4099]);
    params[0].fill(-3e38);
    grads[0].fill(0.5); // c > 0: p moves down by lr
    expect(opt.stepIfFinite(params, grads, 1e-3, 1, 2 ** 64)).toBe(true);
    // The loop writes p = -3e38 - 1e38: -Infinity (step() refuses non-finite gradients, not results).
    useSimdKernels(false);
    opt.step(params, grads, { lr: 1e38 });
    useSimdKernels(true);
    expect(params[0][0]).toBe(-Infinity);
    expect(opt.stepIfFinite(params, grads, 1e-3, 3, 2 ** 64)).toBe(false);
  });

  it('forgets what it wrote on loadState: an infinite momentum loaded after proven steps is caught', () => {
    const opt = new Lion({ lr: 1e-3 });
    const { params, grads } = opt.allocate([4099]);
    params[0].fill(0.25);
    grads[0].fill(0.5);
    for (let step = 1; step <= 3; step++) expect(opt.stepIfFinite(params, grads, 1e-3, step, 2 ** 64)).toBe(true);
    const m = opt.state().buffers[0][0];
    m[100] = Infinity;
    opt.loadState({ name: 'Lion', step: 3, buffers: [[m]] });
    const p0 = params[0].slice();
    expect(opt.stepIfFinite(params, grads, 1e-3, 4, 2 ** 64)).toBe(false);
    expect([bits(params[0]), opt.stepCount]).toEqual([bits(p0), 3]);
  });
});

describe('Trainer with the update on the host', () => {
  it('proves steps only where the gradients come from IEEE float32 arithmetic (the CPU), else checks each', () => {
    const calls = (ieee: boolean): number[] => {
      const specs = [{ name: 'w', shape: [64, 80], dtype: 'float32' as const }, { name: 'b', shape: [80], dtype: 'float32' as const }];
      const host = new HostUpdate(new Lion({ lr: 1e-3 }), specs, ['optimizer.w.exp_avg', 'optimizer.b.exp_avg'], specs.map((x) => new Tensor(x.shape, 'float32', new Float32Array(x.shape.reduce((a, d) => a * d)).fill(0.1))), ieee);
      const grads = specs.map((x) => new Tensor(x.shape, 'float32', new Float32Array(x.shape.reduce((a, d) => a * d)).fill(0.5)));
      return [1, 2, 3].map((step) => {
        const before = kernelCalls.inPlace + kernelCalls.streamed;
        expect(host.apply(grads, 1e-3, step)).toBe(true);
        return kernelCalls.inPlace + kernelCalls.streamed - before;
      });
    };
    expect(calls(true)).toEqual([4, 2, 2]);
    expect(calls(false)).toEqual([4, 4, 4]);
  });

  it('passes the bound from ort-node cpu and the reference backend, not from a backend that does not run on the host', async () => {
    const boundOf = async (backend: Backend | undefined): Promise<unknown> => {
      const t = await Trainer.create({ model: new DecoderLM({ vocab: 256, dim: 16, layers: 1, heads: 2, seed: 2 }), optimizer: new Lion(), batchSize: 1, sequenceLength: 4, update: 'host', ...(backend ? { backend } : {}) });
      try {
        return (t as unknown as { host: { gradBound: unknown } }).host.gradBound;
      } finally {
        await t.dispose();
      }
    };
    // A backend that says nothing of where it runs (here ort-node's compile behind another name).
    const elsewhere: Backend = { name: 'elsewhere', compile: (graph, options) => ortNode.compile(graph, options as Parameters<typeof ortNode.compile>[1]) };
    expect([await boundOf(ortNode), await boundOf(referenceBackend), await boundOf(undefined), await boundOf(elsewhere)]).toEqual([2 ** 64, 2 ** 64, 2 ** 64, undefined]);
  });

  it('refuses a step after loading a state with an infinite momentum, changing nothing', async () => {
    const data = new TokenBatches(new ByteTokenizer().encode('The state of the Union is strong. '.repeat(20)), { batchSize: 2, length: 12, seed: 1 });
    const t = await Trainer.create({
      model: new DecoderLM({ vocab: 256, dim: 32, layers: 1, heads: 2, seed: 2 }), optimizer: new Lion({ lr: 1e-3 }), batchSize: 2, sequenceLength: 12,
      backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 }, update: 'host',
    });
    try {
      for (let k = 0; k < 3; k++) await t.step(data.batch(k));
      const state = await t.snapshot();
      const [name, slot] = [...state.slots][0];
      const bad = (slot.data() as Float32Array).slice();
      bad[3] = Infinity;
      await t.load({ ...state, slots: new Map([...state.slots, [name, new Tensor(slot.shape, 'float32', bad)]]) });
      const before = await t.snapshot();
      await expect(t.step(data.batch(3))).rejects.toThrow(/^Trainer\.step: expected finite parameters and optimizer state after step 4/);
      const after = await t.snapshot();
      expect(t.stepCount).toBe(3);
      for (const [k, v] of before.params) expect(bits(after.params.get(k)!.data() as Float32Array)).toEqual(bits(v.data() as Float32Array));
    } finally {
      await t.dispose();
    }
  });
});
