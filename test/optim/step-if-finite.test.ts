/**
 * Optimizer.stepIfFinite (the Trainer's update on the CPU): it steps only
 * when every new parameter and state value is finite, and otherwise changes
 * nothing. Lion answers with a SIMD kernel that computes the new values
 * without storing them (lion32check / lion64check in optim.wat); the oracle
 * here is the ordinary step() on copies, scanned for non-finite values in
 * JavaScript. Property-based over two parameters (the second in a group with
 * its own lrScale and weight decay), lengths that leave vector tails and span
 * several 128 KB chunks, values near the largest finite one, learning rates
 * large enough that subtracting lr·sign(c) alone overflows, non-finite
 * gradients, float32 and float64, parameters from allocate() (read in place)
 * or ordinary ones (streamed), gradients from allocate() or ordinary ones,
 * with the kernels on (where the check must be the kernel's: spied) and off.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Lion } from '../../src/index.js';
import { useSimdKernels } from '../../src/optim/kernels/simd.js';

afterEach(() => {
  useSimdKernels(true);
  vi.restoreAllMocks();
});

type Floats = Float32Array | Float64Array;
const bits = (x: Floats): string[] => Array.from(x instanceof Float32Array ? new Uint32Array(x.buffer, x.byteOffset, x.length) : new BigUint64Array(x.buffer, x.byteOffset, x.length), String);
const allFinite = (x: Floats): boolean => x.every(Number.isFinite);

const F32_MAX = 3.4028234663852886e38;

const caseOf = fc.record({
  n: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2040, max: 2060 }), fc.integer({ min: 32760, max: 32780 }), fc.constant(70_001)),
  wide: fc.boolean(),
  params: fc.constantFrom('allocated', 'ordinary'),
  grads: fc.constantFrom('allocated', 'ordinary'),
  // 2.1e31 (float32) and 2.1e292 (float64), above half the spacing of floats at the largest finite value: there
  // p·decay − lr·sign(c) overflows from lr alone.
  lr: fc.constantFrom(1e-3, 0.5, 1e30, 2.1e31, 2.1e292),
  weightDecay: fc.constantFrom(0, 0.1, 3),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  spikes: fc.array(fc.record({
    param: fc.constantFrom(0, 1),
    // Anywhere, or the last element (in the tail the vectors leave, where the length is not a multiple of their lanes).
    at: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.constant(1 - 1e-12)),
    into: fc.constantFrom('p', 'g', 'm'),
    // The largest finite float32 and float64 (stored in float32, the latter is Infinity), large ones, non-finite ones.
    value: fc.constantFrom(F32_MAX, -F32_MAX, Number.MAX_VALUE, -Number.MAX_VALUE, 3e38, 1e30, Infinity, -Infinity, NaN),
  }), { maxLength: 3 }),
});

describe('Optimizer.stepIfFinite', () => {
  // Where lr·sign(c) alone decides: the largest finite value, moved outwards by an lr above half the spacing of
  // floats there, overflows; by a smaller lr it stays finite. At an element in the vectors, not the tail.
  for (const [wide, max, over, under] of [[false, F32_MAX, 2.1e31, 1e30], [true, Number.MAX_VALUE, 2.1e292, 1e291]] as const) {
    for (const placement of ['allocated', 'ordinary'] as const) {
      it(`refuses a step whose lr alone overflows a parameter (${wide ? 'float64' : 'float32'}, ${placement} arrays)`, () => {
        const n = 4099;
        const opt = new Lion({ lr: 1 });
        const p = placement === 'allocated' ? opt.allocate([n], wide ? 'float64' : 'float32').params[0] : (wide ? new Float64Array(n) : new Float32Array(n));
        p.fill(0.5);
        p[1234] = max;
        // c = b1·m + c1·g < 0 at every element: p − lr·sign(c) = p + lr.
        const g = (wide ? new Float64Array(n) : new Float32Array(n)).fill(-1);
        const before = p.slice();
        expect(opt.stepIfFinite([p], [g], over, 1)).toBe(false);
        expect([bits(p), opt.stepCount]).toEqual([bits(before), 0]);
        expect(bits(opt.state().buffers[0][0])).toEqual(Array<string>(n).fill('0'));
        expect(opt.stepIfFinite([p], [g], under, 1)).toBe(true);
        expect([p[1234], p[0], opt.stepCount]).toEqual([max, wide ? 0.5 + under : Math.fround(0.5 + Math.fround(under)), 1]);
      });
    }
  }

  for (const simd of [true, false]) {
    it(`steps exactly when step() would give only finite values, else changes nothing (Lion, kernels ${simd ? 'on' : 'off'})`, () => {
      useSimdKernels(simd);
      const check = vi.spyOn(Lion.prototype as unknown as { finiteAfterStep: () => boolean | undefined }, 'finiteAfterStep');
      fc.assert(fc.property(caseOf, ({ n, wide, params: paramsAt, grads: gradsAt, lr, weightDecay, seed, spikes }) => {
        const lengths = [n, (n >> 1) + 1];
        const like = (k: number): Floats => (wide ? new Float64Array(k) : new Float32Array(k));
        let s = seed;
        const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
        const p0 = lengths.map(like), g0 = lengths.map(like), m0 = lengths.map(like);
        lengths.forEach((k, j) => { for (let i = 0; i < k; i++) [p0[j][i], g0[j][i], m0[j][i]] = [rand(), rand(), rand() * 0.1]; });
        for (const { param, at, into, value } of spikes) ({ p: p0, g: g0, m: m0 })[into][param][Math.floor(at * lengths[param])] = value;
        const options = { lr, weightDecay, groups: [{ params: [1], lrScale: 0.5, weightDecay: 0.2 }] };
        const state = { name: 'Lion', step: 3, buffers: m0.map((m) => [m.slice()]) };
        // The oracle: step() on copies (it refuses a non-finite gradient), its results scanned in JavaScript.
        const twin = new Lion(options);
        twin.loadState(state);
        const p1 = p0.map((p) => p.slice());
        const gradsFinite = g0.every(allFinite);
        if (gradsFinite) twin.step(p1, g0.map((g) => g.slice()), { lr });
        const m1 = twin.state().buffers.map(([m]) => m);
        const expected = gradsFinite && p1.every(allFinite) && m1.every(allFinite);

        const opt = new Lion(options);
        const allocated = paramsAt === 'allocated' || gradsAt === 'allocated' ? opt.allocate(lengths, wide ? 'float64' : 'float32') : undefined;
        const params = paramsAt === 'allocated' ? allocated!.params : lengths.map(like);
        const grads = gradsAt === 'allocated' ? allocated!.grads : lengths.map(like);
        params.forEach((p, j) => p.set(p0[j]));
        grads.forEach((g, j) => g.set(g0[j]));
        opt.loadState(state);
        check.mockClear();
        expect(opt.stepIfFinite(params, grads, lr, 4)).toBe(expected);
        // With the kernels on, wherever they run (allocated arrays, or from 2048 elements on), the kernel answered.
        const kernel = simd && (allocated !== undefined || n >= 2048);
        if (kernel) expect(typeof check.mock.results[0]?.value).toBe('boolean');
        if (!simd) expect(check.mock.results.every((r) => r.value === undefined)).toBe(true);
        expect(opt.stepCount).toBe(expected ? 4 : 3);
        params.forEach((p, j) => expect(bits(p)).toEqual(bits(expected ? p1[j] : p0[j])));
        opt.state().buffers.forEach(([m], j) => expect(bits(m)).toEqual(bits(expected ? m1[j] : m0[j])));
      }), { numRuns: 100, seed: 17 });
    });
  }
});
