/**
 * `optimizer.allocate(lengths)`: parameters, gradients and state in a
 * WebAssembly memory of their own, updated in place (no copies):
 * - steps on them, each after clipGradNorm, give the bits (and norms) of the same optimizer on ordinary arrays
 *   (which the SIMD tests tie to the JavaScript loops), Lion and AdamW,
 *   float32 and float64, sizes below and above the SIMD threshold and with
 *   vector tails, over several steps, with groups; and without SIMD (the
 *   arrays are then ordinary ones);
 * - the steps run the kernels on them in place (counted), where ordinary
 *   arrays are streamed through in chunks; the arrays share one memory and
 *   stay valid (not detached) after other optimizers allocate and step;
 * - state() and loadState() round-trip through them, loadState writing in
 *   place (every slot), and a resumed optimizer continues bit for bit; an
 *   empty state zeroes the allocated state in place; a state of another
 *   layout replaces it (ordinary arrays from then on);
 * - gradients from elsewhere still work (copied through, as ordinary ones),
 *   also with no gradient arrays allocated (withGrads false);
 * - bad calls are refused, naming the place, and change nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdamW, clipGradNorm, LlmTricksError, Lion, type Floats } from '../../src/index.js';
import { kernelCalls, useSimdKernels } from '../../src/optim/kernels/simd.js';

afterEach(() => useSimdKernels(true));

const SIZES = [5, 2048, 4099, 40_003];

function fill(a: Floats, seed: number): Floats {
  let x = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = (x / 2 ** 32 - 0.5) * 2 ** ((x % 9) - 4);
  }
  return a;
}

/** The optimizer's own state buffers (state() returns copies). */
const stateOf = (o: Lion | AdamW): Floats[][] => (o as unknown as { buffers: Floats[][] }).buffers;

const bits = (a: Floats): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4));

type Make = () => Lion | AdamW;
/** [name, with a group over parameters 1 or 2 (for the four sizes), without groups]. */
const OPTIMIZERS: [string, Make, Make][] = [
  ['Lion', () => new Lion({ lr: 3e-3, weightDecay: 0.1, groups: [{ params: [1], lrScale: 0.5 }] }), () => new Lion({ lr: 3e-3, weightDecay: 0.1 })],
  ['AdamW', () => new AdamW({ lr: 3e-3, weightDecay: 0.1, groups: [{ params: [2], lrScale: 2 }] }), () => new AdamW({ lr: 3e-3 })],
];

describe.each(OPTIMIZERS)('%s.allocate', (_name, grouped, make) => {
  it.each([['float32'], ['float64']] as const)('%s: steps give the bits of ordinary arrays, with and without SIMD', (dtype) => {
    for (const simd of [true, false]) {
      useSimdKernels(simd);
      const ctor = dtype === 'float64' ? Float64Array : Float32Array;
      const plain = grouped();
      const plainParams = SIZES.map((n, i) => fill(new ctor(n), i + 1));
      const resident = grouped();
      const { params, grads } = resident.allocate(SIZES, dtype);
      params.forEach((p, i) => p.set(plainParams[i]));
      expect(params.every((p, i) => p instanceof ctor && p.length === SIZES[i])).toBe(true);
      for (let t = 0; t < 4; t++) {
        const g = SIZES.map((n, i) => fill(new ctor(n), 100 * t + i));
        grads.forEach((x, i) => x.set(g[i]));
        // Clipped first, as a training loop would: in place on the allocated gradients, streamed on the others.
        expect(clipGradNorm(grads, 1)).toBe(clipGradNorm(g, 1));
        plain.step(plainParams, g);
        resident.step(params, grads);
      }
      params.forEach((p, i) => expect(bits(p), `simd ${simd}, param ${i}`).toEqual(bits(plainParams[i])));
      resident.state().buffers.flat().forEach((b, i) => expect(bits(b), `simd ${simd}, buffer ${i}`).toEqual(bits(plain.state().buffers.flat()[i])));
    }
  });

  it('steps run the kernels in place, not streamed; the arrays share one memory and stay valid after other optimizers allocate', () => {
    const a = make();
    const { params, grads } = a.allocate([10_000]);
    expect(grads[0].buffer).toBe(params[0].buffer);
    stateOf(a)[0].forEach((b) => expect(b.buffer).toBe(params[0].buffer));
    const before = { ...kernelCalls };
    a.step(params, grads);
    // The gradients' finiteness check and the update: both in place, nothing streamed.
    expect([kernelCalls.inPlace - before.inPlace, kernelCalls.streamed - before.streamed]).toEqual([2, 0]);
    make().step([new Float32Array(10_000)], [new Float32Array(10_000)]);
    expect(kernelCalls.inPlace - before.inPlace).toBe(2);
    expect(kernelCalls.streamed - before.streamed).toBeGreaterThan(0);
    params[0].fill(0.5);
    for (let k = 0; k < 3; k++) {
      const other = make();
      const o = other.allocate([100_000, 3]);
      o.grads[0].fill(1);
      other.step(o.params, o.grads);
    }
    expect(params[0].length).toBe(10_000);
    grads[0].fill(1);
    a.step(params, grads);
    expect(params[0][9_999]).not.toBe(0.5);
    expect(params[0].every((v) => v === params[0][0])).toBe(true);
  });

  it('state() and loadState() round-trip; loadState writes in place and a resumed run continues bit for bit', () => {
    const run = grouped();
    const { params, grads } = run.allocate(SIZES);
    params.forEach((p, i) => fill(p, i));
    for (let t = 0; t < 2; t++) {
      grads.forEach((g, i) => fill(g, 10 * t + i));
      run.step(params, grads);
    }
    const saved = run.state();
    const savedParams = params.map((p) => p.slice());
    const resumed = grouped();
    const r = resumed.allocate(SIZES);
    r.params.forEach((p, i) => p.set(savedParams[i]));
    resumed.loadState(saved);
    // Written in place: the state stays in the memory it was allocated in, with the parameters.
    expect(resumed.state().step).toBe(2);
    stateOf(resumed).forEach((b, i) => b.forEach((x) => expect(x.buffer).toBe(r.params[i].buffer)));
    for (let t = 2; t < 4; t++) {
      grads.forEach((g, i) => fill(g, 10 * t + i));
      r.grads.forEach((g, i) => g.set(grads[i]));
      run.step(params, grads);
      resumed.step(r.params, r.grads);
    }
    r.params.forEach((p, i) => expect(bits(p)).toEqual(bits(params[i])));
  });

  it('an empty state zeroes the allocated state in place; a state of another layout replaces it', () => {
    const opt = make();
    const { params, grads } = opt.allocate([3000, 0]);
    grads[0].fill(0.25);
    opt.step(params, grads);
    expect(stateOf(opt)[0][0].some((v) => v !== 0)).toBe(true);
    opt.loadState(make().state());
    expect(opt.state().step).toBe(0);
    stateOf(opt)[0].forEach((x) => expect([x.buffer === params[0].buffer, x.every((v) => v === 0)]).toEqual([true, true]));
    // Steps after the reset equal a fresh optimizer's.
    const fresh = make();
    const p = params.map((x) => x.slice());
    opt.step(params, grads);
    fresh.step(p, grads.map((g) => g.slice()));
    expect(bits(params[0])).toEqual(bits(p[0]));
    const other = make();
    other.step([new Float32Array(7)], [new Float32Array(7).fill(1)]);
    opt.loadState(other.state());
    expect(stateOf(opt)[0][0].buffer).not.toBe(params[0].buffer);
    expect(() => opt.step(params, grads)).toThrow(/params expected 1 arrays as in the optimizer's state, got 2/);
  });

  it('gradients from elsewhere work too (as ordinary arrays)', () => {
    const a = make();
    const b = make();
    const { params, grads } = a.allocate([5000]);
    const own = fill(new Float32Array(5000), 3);
    params[0].set(own);
    const g = fill(new Float32Array(5000), 4);
    grads[0].set(g);
    a.step(params, grads);
    const c = make();
    const q = c.allocate([5000]).params;
    q[0].set(own);
    c.step(q, [g]);
    b.step([own], [g]);
    expect(bits(params[0])).toEqual(bits(own));
    expect(bits(q[0])).toEqual(bits(own));
    // Without gradient arrays (withGrads false): the parameters and state only, the same steps.
    const d = make();
    const alone = d.allocate([5000], 'float32', false);
    expect(alone.grads).toEqual([]);
    alone.params[0].set(fill(new Float32Array(5000), 3));
    d.step(alone.params, [g]);
    expect(bits(alone.params[0])).toEqual(bits(own));
  });

  it('refuses bad calls, naming the place, and changes nothing', () => {
    const opt = make();
    const site = opt.name;
    expect(() => opt.allocate([])).toThrow(new RegExp(`^${site}.allocate: lengths expected a non-empty array of non-negative integers, got`));
    expect(() => opt.allocate([3, -1])).toThrow(LlmTricksError);
    expect(() => opt.allocate([2.5])).toThrow(LlmTricksError);
    expect(() => opt.allocate([3], 'int32' as never)).toThrow(new RegExp(`^${site}.allocate: dtype expected 'float32' or 'float64', got "int32"`));
    expect(() => opt.allocate([3], 'float32', 'no' as never)).toThrow(new RegExp(`^${site}.allocate: withGrads expected true or false, got "no"`));
    expect(() => opt.allocate([2 ** 53 - 1])).toThrow(new RegExp(`^${site}.allocate: lengths expected arrays that fit in memory, got`));
    expect(opt.state().buffers).toEqual([]);
    opt.step([new Float32Array(3)], [new Float32Array(3)]);
    expect(() => opt.allocate([3])).toThrow(new RegExp(`^${site}.allocate: expected an optimizer without state`));
    const fresh = make();
    const { params, grads } = fresh.allocate([4, 4]);
    expect(() => fresh.step([params[0]], [grads[0]])).toThrow(/params expected 2 arrays as in the optimizer's state, got 1/);
  });
});
