/**
 * Optimizer.stepIfFinite (the Trainer's update on the CPU): it steps only
 * when every new parameter and state value is finite, and otherwise changes
 * nothing. Lion answers with a SIMD kernel that computes the new values
 * without storing them (lion32check / lion64check in optim.wat); the oracle
 * here is the ordinary step() on copies, scanned for non-finite values in
 * JavaScript. Property-based over lengths that leave vector tails and span
 * several 128 KB chunks, values that overflow in the parameter (p·decay −
 * lr·sign(c)) or the momentum (b2·m + c2·g), non-finite gradients, float32
 * and float64, arrays from allocate() (read in place) and ordinary ones
 * (streamed), with the kernels on and off.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Lion } from '../../src/index.js';
import { useSimdKernels } from '../../src/optim/kernels/simd.js';

afterEach(() => useSimdKernels(true));

type Floats = Float32Array | Float64Array;
const bits = (x: Floats): number[] => Array.from(x instanceof Float32Array ? new Uint32Array(x.buffer, x.byteOffset, x.length) : new BigUint64Array(x.buffer, x.byteOffset, x.length), Number);
const allFinite = (x: Floats): boolean => x.every(Number.isFinite);

/** A step's inputs: parameters, gradients and momentum of length n, with `spikes` placed at random indices. */
const caseOf = fc.record({
  n: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2040, max: 2060 }), fc.integer({ min: 32760, max: 32780 }), fc.constant(70_001)),
  wide: fc.boolean(),
  resident: fc.boolean(),
  lr: fc.constantFrom(1e-3, 0.5, 1e30),
  weightDecay: fc.constantFrom(0, 0.1, 3),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  spikes: fc.array(fc.record({
    // Anywhere, or the last element (in the tail the vectors leave, where the length is not a multiple of their lanes).
    at: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.constant(1 - 1e-12)),
    into: fc.constantFrom('p', 'g', 'm'),
    value: fc.constantFrom(3e38, -3e38, 1.7e308, -1.7e308, Infinity, -Infinity, NaN, 1e30),
  }), { maxLength: 3 }),
});

describe('Optimizer.stepIfFinite', () => {
  for (const simd of [true, false]) {
    it(`steps exactly when step() would give only finite values, else changes nothing (Lion, kernels ${simd ? 'on' : 'off'})`, () => {
      useSimdKernels(simd);
      fc.assert(fc.property(caseOf, ({ n, wide, resident, lr, weightDecay, seed, spikes }) => {
        const like = (): Floats => (wide ? new Float64Array(n) : new Float32Array(n));
        let s = seed;
        const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
        const [p0, g, m0] = [like(), like(), like()];
        for (let i = 0; i < n; i++) [p0[i], g[i], m0[i]] = [rand(), rand(), rand() * 0.1];
        for (const { at, into, value } of spikes) ({ p: p0, g, m: m0 })[into][Math.floor(at * n)] = value;
        const options = { lr, weightDecay };
        // The oracle: step() on copies (it refuses a non-finite gradient), its results scanned in JavaScript.
        const twin = new Lion(options);
        twin.loadState({ name: 'Lion', step: 3, buffers: [[m0.slice()]] });
        const p1 = p0.slice();
        if (allFinite(g)) twin.step([p1], [g.slice()], { lr });
        const m1 = twin.state().buffers[0][0];
        const expected = allFinite(g) && allFinite(p1) && allFinite(m1);

        const opt = new Lion(options);
        const p = resident ? opt.allocate([n], wide ? 'float64' : 'float32', false).params[0] : like();
        p.set(p0);
        opt.loadState({ name: 'Lion', step: 3, buffers: [[m0.slice()]] });
        expect(opt.stepIfFinite([p], [g], lr, 4)).toBe(expected);
        expect(opt.stepCount).toBe(expected ? 4 : 3);
        expect(bits(p)).toEqual(bits(expected ? p1 : p0));
        expect(bits(opt.state().buffers[0][0])).toEqual(bits(expected ? m1 : m0));
      }), { numRuns: 120, seed: 17 });
    });
  }
});
