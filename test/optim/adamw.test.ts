/**
 * AdamW (src/optim/adamw.ts), the baseline Lion is compared against.
 *
 * Proves:
 * - over random gradient sequences and options, Float64Array params and both
 *   moments equal, exactly, PyTorch's AdamW rule transcribed in float64
 *   (p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 *   step_size = lr / (1 - b1^t); denom = sqrt(v) / sqrt(1 - b2^t) + eps;
 *   p -= step_size m / denom), with lrScale groups (lr * lrScale);
 * - Float32Array params and moments equal, exactly, the same rule with every
 *   operation rounded to float32 in that order (sqrt(v) rounded before the
 *   division by sqrt(1 - b2^t), as PyTorch's float32 AdamW and the graph form
 *   do), the step's constants computed in float64 and rounded once;
 * - float32 `step` and `graphUpdate` traced and run on referenceBackend agree
 *   over 12 steps with state fed back, within |Δp| <= 2e-4 Σ lr + 4 ulp(max(|p|, 1)):
 *   the graph computes the bias corrections in float32 (1 - fround(0.999)^t
 *   is 1.3e-5 off relative at t = 1) where the standalone form uses float64,
 *   so each step's update may differ by ~1e-5 relative; moments within 1e-6 + 4 ulp;
 * - state holds two buffers per parameter (exp_avg, exp_avg_sq) of the param's type;
 * - a weightDecay 0 group is not decayed while others are; lrScale scales the step;
 * - resume: N steps == k steps, state(), new AdamW().loadState, N-k steps
 *   (bit-identical; the step count t is restored so bias corrections match);
 * - bad options/steps/loadState raise LlmTricksError naming AdamW, with
 *   "expected" and "got", and leave params and state() untouched.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADAMW_DEFAULTS, AdamW, referenceBackend, tensor, trace, type AdamWConfig, type Floats } from '../../src/index.js';
import { same, vec, expectLlmError } from '../helpers/optim.js';

interface Ref { lr: number; wd: number; b1: number; b2: number; eps: number }

/** torch.optim.AdamW's single-tensor update in float64, in place; t is 1-based. */
function adamwReference(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, t: number, o: Ref): void {
  const stepSize = o.lr / (1 - o.b1 ** t);
  const bc2Sqrt = Math.sqrt(1 - o.b2 ** t);
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - o.lr * o.wd;
    m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
    v[i] = o.b2 * v[i] + (1 - o.b2) * (g[i] * g[i]);
    const denom = Math.sqrt(v[i]) / bc2Sqrt + o.eps;
    p[i] -= stepSize * (m[i] / denom);
  }
}

const problem = fc.tuple(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 3 }), fc.integer({ min: 1, max: 8 }))
  .chain(([sizes, steps]) => fc.record({
    init: fc.tuple(...sizes.map(vec)),
    grads: fc.array(fc.tuple(...sizes.map(vec)), { minLength: steps, maxLength: steps }),
  }));
const hyper = fc.record({
  lr: fc.double({ min: 0, max: 0.1, noNaN: true }),
  wd: fc.double({ min: 0, max: 1, noNaN: true }),
  b1: fc.double({ min: 0, max: 0.999, noNaN: true }),
  b2: fc.double({ min: 0, max: 0.9999, noNaN: true }),
  eps: fc.double({ min: 1e-10, max: 1e-3, noNaN: true }),
});


describe('AdamW: PyTorch semantics', () => {
  it('has PyTorch defaults', () => {
    expect(ADAMW_DEFAULTS).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
  });

  it('matches the float64 transcription of torch.optim.AdamW over random gradient sequences, with an lrScale group', () => {
    fc.assert(fc.property(problem, hyper, fc.double({ min: 0, max: 3, noNaN: true }), ({ init, grads }, h, scale) => {
      const opt = new AdamW({ lr: h.lr, weightDecay: h.wd, betas: [h.b1, h.b2], eps: h.eps, groups: [{ params: [1], lrScale: scale }] });
      const params = init.map((p) => p.slice());
      const ref = init.map((p) => p.slice());
      const [ms, vs] = [init.map((p) => new Float64Array(p.length)), init.map((p) => new Float64Array(p.length))];
      grads.forEach((g, s) => {
        opt.step(params, g);
        ref.forEach((p, i) => adamwReference(p, g[i], ms[i], vs[i], s + 1, { ...h, lr: i === 1 ? h.lr * scale : h.lr }));
      });
      ref.forEach((p, i) => expect(same(params[i], p), `param ${i}`).toBe(true));
      opt.state().buffers.forEach(([m, v], i) => expect(same(m, ms[i]) && same(v, vs[i]), `moments ${i}`).toBe(true));
    }), { numRuns: 150 });
  });

  const f = Math.fround;
  /**
   * The rule in float32, every operation rounded; constants computed in float64, rounded once. With `once`,
   * sqrt(v) / sqrt(1 - b2^t) is rounded once instead (the rule before this version), to show the tests tell them apart.
   */
  function adamwReference32(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, t: number, o: Ref, once = false): void {
    const [b1, b2, c1, c2, eps] = [f(o.b1), f(o.b2), f(1 - o.b1), f(1 - o.b2), f(o.eps)];
    const [decay, stepSize, bc2Sqrt] = [f(1 - o.lr * o.wd), f(o.lr / (1 - o.b1 ** t)), f(Math.sqrt(1 - o.b2 ** t))];
    for (let i = 0; i < p.length; i++) {
      m[i] = f(f(b1 * m[i]) + f(c1 * g[i]));
      v[i] = f(f(b2 * v[i]) + f(c2 * f(g[i] * g[i])));
      const denom = f(f((once ? Math.sqrt(v[i]) : f(Math.sqrt(v[i]))) / bc2Sqrt) + eps);
      p[i] = f(f(p[i] * decay) - f(stepSize * f(m[i] / denom)));
    }
  }

  it('in float32, has the bits of that rule with every operation rounded, on the loop and the SIMD kernel (PyTorch defaults)', () => {
    // 2047 elements run the loop, 4099 the kernel (from 2048 on); values over normal magnitudes, five steps.
    const sizes = [2047, 4099];
    let x = 7;
    const values = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return (x / 2 ** 32 - 0.5) * scale * 2 ** ((x % 11) - 5);
    });
    const h = { lr: 1e-3, wd: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8 };
    const opt = new AdamW();
    const params = sizes.map((n) => values(n, 1));
    const [ref, once] = [params.map((p) => p.slice()), params.map((p) => p.slice())];
    const state = (): Float32Array[][] => sizes.map((n) => [new Float32Array(n), new Float32Array(n)]);
    const [refState, onceState] = [state(), state()];
    for (let t = 1; t <= 5; t++) {
      const grads = sizes.map((n) => values(n, 0.1));
      opt.step(params, grads);
      ref.forEach((p, i) => adamwReference32(p, grads[i], refState[i][0], refState[i][1], t, h));
      once.forEach((p, i) => adamwReference32(p, grads[i], onceState[i][0], onceState[i][1], t, h, true));
    }
    ref.forEach((p, i) => expect(same(params[i], p), `param ${i}`).toBe(true));
    // The two roundings differ on these values, in both arrays: the comparison above can tell them apart.
    once.forEach((p, i) => expect(same(p, ref[i]), `param ${i}, rounded once`).toBe(false));
  });

  it('in float32, rounds after every operation of that rule, sqrt(v) before its division', () => {
    // Sizes below and above the SIMD kernels' threshold (2048), with a vector tail.
    const sizes = [7, 4099];
    const arrays = fc.tuple(...sizes.map((n) => fc.float32Array({ minLength: n, maxLength: n, min: -4, max: 4, noNaN: true })));
    fc.assert(fc.property(arrays, fc.array(arrays, { minLength: 1, maxLength: 4 }), hyper, ({ 0: a, 1: b }, grads, h) => {
      const opt = new AdamW({ lr: h.lr, weightDecay: h.wd, betas: [h.b1, h.b2], eps: h.eps });
      const params = [a.slice(), b.slice()];
      const ref = [a.slice(), b.slice()];
      const [ms, vs] = [sizes.map((n) => new Float32Array(n)), sizes.map((n) => new Float32Array(n))];
      grads.forEach((g, s) => {
        opt.step(params, [...g]);
        ref.forEach((p, i) => adamwReference32(p, g[i], ms[i], vs[i], s + 1, h));
      });
      ref.forEach((p, i) => expect(same(params[i], p), `param ${i}`).toBe(true));
      opt.state().buffers.forEach(([m, v], i) => expect(same(m, ms[i]) && same(v, vs[i]), `moments ${i}`).toBe(true));
    }), { numRuns: 60 });
  });

  it('holds two buffers per parameter, of the parameter type', () => {
    const opt = new AdamW();
    opt.step([new Float64Array(4), new Float64Array(2)], [new Float64Array(4).fill(1), new Float64Array(2).fill(1)]);
    const { buffers } = opt.state();
    expect(buffers.map((b) => b.length)).toEqual([2, 2]);
    expect(buffers.flat().every((b) => b instanceof Float64Array)).toBe(true);
    expect(buffers.flat().reduce((a, b) => a + b.byteLength, 0)).toBe(2 * 6 * 8);
  });

  it('a weightDecay 0 group is not decayed while others are; lrScale scales the step', () => {
    const opt = new AdamW({ lr: 0.1, weightDecay: 0.5, groups: [{ params: [1], weightDecay: 0 }, { params: [2], lrScale: 0.5 }] });
    const params = [Float64Array.from([2, -2]), Float64Array.from([2, -2]), Float64Array.from([2, -2])];
    const zero = new Float64Array(2);
    opt.step(params, [zero, zero, Float64Array.from([3, -3])]);
    expect(Array.from(params[0])).toEqual([2 * 0.95, -2 * 0.95]);
    expect(Array.from(params[1])).toEqual([2, -2]);
    // The lrScale 0.5 group steps like the reference at lr 0.05; at step 1, step_size m / denom ≈ ±lr.
    const ref = Float64Array.from([2, -2]);
    adamwReference(ref, Float64Array.from([3, -3]), new Float64Array(2), new Float64Array(2), 1, { lr: 0.05, wd: 0.5, b1: 0.9, b2: 0.999, eps: 1e-8 });
    expect(Array.from(params[2])).toEqual(Array.from(ref));
    expect(params[2][0]).toBeCloseTo(2 * (1 - 0.025) - 0.05, 6);
  });
});

describe('AdamW: graph form', () => {
  const configs: [string, AdamWConfig][] = [
    ['defaults', {}],
    ['weight decay, betas, lrScale group', { weightDecay: 0.1, betas: [0.8, 0.95], groups: [{ params: [1], lrScale: 0.3, weightDecay: 0 }] }],
    ['large eps', { eps: 1e-3 }],
  ];
  it.each(configs)('float32 step and graphUpdate on referenceBackend agree within the stated tolerance (%s)', async (_name, config) => {
    const sizes = [9, 4];
    const opt = new AdamW(config);
    const spec = sizes.map((n) => ({ shape: [n] }));
    const graph = trace((lr, step, ...rest) => {
      const [p, g, m, v] = [0, 2, 4, 6].map((k) => rest.slice(k, k + 2));
      const u = opt.graphUpdate(p, g, [[m[0], v[0]], [m[1], v[1]]], { lr, step });
      return [...u.params, ...u.slots.map((s) => s[0]), ...u.slots.map((s) => s[1])];
    }, [{ shape: [] }, { shape: [], dtype: 'int32' }, ...spec, ...spec, ...spec, ...spec]);
    const exe = await referenceBackend.compile(graph);
    const vecs = fc.tuple(...sizes.map((n) => fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a))));
    const close = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol + 4 * 2 ** -23 * Math.max(Math.abs(b), 1);
    await fc.assert(fc.asyncProperty(vecs, fc.array(vecs, { minLength: 12, maxLength: 12 }), fc.double({ min: 1e-4, max: 0.1, noNaN: true }), async (init, grads, lr0) => {
      const standalone = new AdamW(config);
      const params = init.map((p) => p.slice());
      let state: Floats[] = [...init.map((p) => p.slice()), ...sizes.map((n) => new Float32Array(n)), ...sizes.map((n) => new Float32Array(n))];
      let lrSum = 0;
      for (const [s, g] of grads.entries()) {
        const lr = Math.fround(lr0 * (1 + s / 12));
        lrSum += lr;
        standalone.step(params, g, { lr });
        const out = await exe.run([tensor(lr), tensor(s + 1, { dtype: 'int32' }), ...state.slice(0, 2).map((x) => tensor(x)), ...g.map((x) => tensor(x)), ...state.slice(2).map((x) => tensor(x))]);
        state = out.map((o) => o.data() as Float32Array);
        params.forEach((p, i) => p.forEach((x, j) => expect(close(state[i][j], x, 2e-4 * lrSum), `param ${i}[${j}] after step ${s + 1}`).toBe(true)));
        standalone.state().buffers.forEach(([m, v], i) => m.forEach((x, j) => {
          expect(close(state[2 + i][j], x, 1e-6)).toBe(true);
          expect(close(state[4 + i][j], v[j], 1e-6)).toBe(true);
        }));
      }
    }), { numRuns: 6 });
  });
});

describe('AdamW: resume and bad input', () => {
  it('resumes bit-identically: N steps == k steps, state(), a new AdamW loadState, N - k steps', () => {
    const config: AdamWConfig = { lr: 0.05, weightDecay: 0.1, groups: [{ params: [0], lrScale: 0.5 }] };
    fc.assert(fc.property(problem.filter(({ grads }) => grads.length >= 2), fc.nat(), ({ init, grads }, kSeed) => {
      const k = kSeed % (grads.length + 1);
      const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
      const [straight, resumed] = [init.map(f32), init.map(f32)];
      const one = new AdamW(config);
      grads.forEach((g) => one.step(straight, g.map(f32)));
      const first = new AdamW(config);
      grads.slice(0, k).forEach((g) => first.step(resumed, g.map(f32)));
      const second = new AdamW(config);
      second.loadState(first.state());
      expect(second.stepCount).toBe(k);
      grads.slice(k).forEach((g) => second.step(resumed, g.map(f32)));
      straight.forEach((p, i) => expect(same(p, resumed[i])).toBe(true));
      expect(second.state()).toEqual(one.state());
    }), { numRuns: 60 });
  });

  it.each([
    [{ lr: -1e-3 }], [{ lr: NaN }], [{ betas: [0.9, 1] }], [{ betas: [-0.1, 0.9] }], [{ betas: 0.9 }], [{ eps: -1 }], [{ eps: NaN }],
    [{ weightDecay: Infinity }], [{ groups: [{ params: [0], betas: [0.9, 2] }] }], [{ groups: [{ params: ['a'] }] }], [{ groups: [{}] }],
  ])('the constructor rejects %j', (options) => {
    expectLlmError(() => new AdamW(options as never), 'AdamW');
  });

  const f = (n: number, v = 0.5): Float32Array => new Float32Array(n).fill(v);
  it.each<[string, (p: Float32Array[]) => [unknown, unknown, unknown?]]>([
    ['more grads than params', (p) => [p, [f(3), f(2), f(1)]]],
    ['a grad of the wrong length', (p) => [p, [f(3), f(1)]]],
    ['an Int32Array grad', (p) => [p, [f(3), new Int32Array(2)]]],
    ['Infinity in the last grad', (p) => [p, [f(3), Float32Array.from([1, Infinity])]]],
    ['lr Infinity', (p) => [p, [f(3), f(2)], { lr: Infinity }]],
    ['params of another length than the state', () => [[f(2), f(2)], [f(2), f(2)]]],
  ])('step rejects %s and leaves params and state untouched', (_name, make) => {
    const opt = new AdamW({ lr: 0.1 });
    const params = [f(3, 1), f(2, -1)];
    opt.step(params, [f(3), f(2)]);
    const [before, state] = [params.map((p) => p.slice()), opt.state()];
    const [p, g, o] = make(params);
    expectLlmError(() => opt.step(p as Float32Array[], g as Float32Array[], o as never), 'AdamW.step');
    expect(params).toEqual(before);
    expect(opt.state()).toEqual(state);
  });

  it.each([
    ['a Lion state', { name: 'Lion', step: 1, buffers: [[f(3)]] }], ['one slot per parameter', { name: 'AdamW', step: 1, buffers: [[f(3)]] }],
    ['slots of different lengths', { name: 'AdamW', step: 1, buffers: [[f(3), f(2)]] }],
    ['slots of different types', { name: 'AdamW', step: 1, buffers: [[f(3), new Float64Array(3)]] }],
    ['a NaN step', { name: 'AdamW', step: NaN, buffers: [] }], ['no buffers', { name: 'AdamW', step: 1 }],
  ])('loadState rejects %s and keeps the state', (_name, bad) => {
    const opt = new AdamW();
    opt.step([f(3)], [f(3)]);
    const state = opt.state();
    expectLlmError(() => opt.loadState(bad as never), 'AdamW.loadState');
    expect(opt.state()).toEqual(state);
  });
});
