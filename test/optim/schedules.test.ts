/**
 * Learning-rate schedules (src/optim/schedules.ts).
 *
 * Proves, with fast-check over totalSteps in [1, 400] and warmupSteps in
 * [0, totalSteps], for linearWarmupDecay and cosineWithWarmup:
 * - lr(0) is 0 when there is a warmup, and peakLr when there is none;
 * - monotone non-decreasing during warmup, non-increasing after it;
 * - continuity at the seam: lr(warmup) is the inner schedule's start (peakLr)
 *   and the warmup approaches it (lr(warmup) - lr(warmup - 1) = peakLr / warmup);
 * - exactly 0 at totalSteps and after (finalLr 0), exactly finalLr when given;
 *   every value lies in [finalLr, peakLr];
 * - withWarmup shifts any inner schedule; linearDecay/cosineDecay go from
 *   `from` to `to` (midpoint (from+to)/2 for both); constantWithWarmup holds peakLr;
 * - the documented example values (peakLr 5e-5, warmup 100, total 1000);
 * - bad options (negative, NaN, non-integer, warmup > total, not an object)
 *   and bad steps (negative, fractional, NaN) raise LlmTricksError naming the
 *   function with "expected" and "got".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  constantSchedule, constantWithWarmup, cosineDecay, cosineWithWarmup, linearDecay, linearWarmupDecay, LlmTricksError, withWarmup, type Schedule,
} from '../../src/index.js';
import { errorOf } from '../helpers/optim.js';


const makers = { linearWarmupDecay, cosineWithWarmup };
const setup = fc.integer({ min: 1, max: 400 }).chain((total) => fc.record({
  total: fc.constant(total),
  warmup: fc.integer({ min: 0, max: total }),
  peak: fc.double({ min: 1e-8, max: 1, noNaN: true }),
}));
const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

describe.each(Object.entries(makers))('%s', (name, make) => {
  it('rises monotonically during warmup, falls monotonically after, is continuous at the seam and 0 at totalSteps', () => {
    fc.assert(fc.property(setup, ({ total, warmup, peak }) => {
      const lr = make({ peakLr: peak, warmupSteps: warmup, totalSteps: total });
      const values = range(0, total + 5).map(lr);
      // The seam (step = warmup) belongs to the rise unless it is also the end of training.
      expect(range(1, Math.min(warmup, total - 1)).find((s) => !(values[s] >= values[s - 1])), 'a fall during warmup').toBeUndefined();
      expect(range(warmup + 1, total + 5).find((s) => !(values[s] <= values[s - 1])), 'a rise after warmup').toBeUndefined();
      expect(values.slice(total)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(values.every((v) => v >= 0 && v <= peak)).toBe(true);
      if (warmup > 0) expect(values[0]).toBe(0);
      if (warmup < total) {
        expect(values[warmup]).toBe(peak);
        if (warmup > 0) expect(Math.abs(values[warmup] - values[warmup - 1] - peak / warmup)).toBeLessThanOrEqual(1e-15 * peak);
        else expect(values[0]).toBe(peak);
      }
    }), { numRuns: 200 });
  });

  it('stays within [finalLr, peakLr] where rounding once put it one ulp above peakLr', () => {
    const peak = 1.1343482077648853e-7;
    const lr = make({ peakLr: peak, totalSteps: 333, finalLr: peak * 0.07832554526899048 });
    expect(lr(0)).toBe(peak);
  });

  it('ends exactly at finalLr and stays within [finalLr, peakLr] after warmup', () => {
    fc.assert(fc.property(setup, fc.double({ min: 0, max: 1, noNaN: true }), ({ total, warmup, peak }, frac) => {
      const finalLr = peak * frac;
      const lr = make({ peakLr: peak, warmupSteps: warmup, totalSteps: total, finalLr });
      expect(lr(total)).toBe(finalLr);
      expect(lr(total + 3)).toBe(finalLr);
      expect(range(warmup, total).every((s) => lr(s) >= finalLr && lr(s) <= peak)).toBe(true);
    }), { numRuns: 100 });
  });

  it.each<[string, object]>([
    ['null', null as never], ['peakLr -1', { peakLr: -1, totalSteps: 10 }], ['peakLr NaN', { peakLr: NaN, totalSteps: 10 }],
    ['warmupSteps -1', { peakLr: 1, warmupSteps: -1, totalSteps: 10 }], ['warmupSteps 1.5', { peakLr: 1, warmupSteps: 1.5, totalSteps: 10 }],
    ['warmupSteps NaN', { peakLr: 1, warmupSteps: NaN, totalSteps: 10 }], ['totalSteps 0', { peakLr: 1, totalSteps: 0 }],
    ['totalSteps 2.5', { peakLr: 1, totalSteps: 2.5 }], ['totalSteps Infinity', { peakLr: 1, totalSteps: Infinity }],
    ['warmup > total', { peakLr: 1, warmupSteps: 11, totalSteps: 10 }], ['no totalSteps', { peakLr: 1 }],
  ])('rejects %s naming the function', (_label, options) => {
    expect(errorOf(() => make(options as never)).where).toBe(name);
  });

  it.each([-1, 1.5, NaN])('rejects step %s', (step) => {
    const lr = make({ peakLr: 1, totalSteps: 10 });
    expect(() => lr(step)).toThrow(LlmTricksError);
  });
});

describe('schedule building blocks', () => {
  it('withWarmup ramps linearly to inner(0), then runs inner shifted by the warmup', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (warmup, a) => {
      const inner: Schedule = (s) => a / (1 + s);
      const lr = withWarmup(warmup, inner);
      expect(range(0, warmup - 1).map(lr)).toEqual(range(0, warmup - 1).map((s) => (a * s) / warmup));
      expect(range(warmup, warmup + 20).map(lr)).toEqual(range(0, 20).map(inner));
    }), { numRuns: 100 });
  });

  it('linearDecay and cosineDecay go from `from` to `to` and stay there', () => {
    for (const decay of [linearDecay, cosineDecay]) {
      const lr = decay({ from: 3, to: 1, steps: 10 });
      expect([lr(0), lr(5), lr(10), lr(11), lr(1000)]).toEqual([3, 2, 1, 1, 1]);
      expect(decay({ from: 2, steps: 4 })(4)).toBe(0);
    }
    expect(cosineDecay({ from: 1, steps: 4 })(1)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(linearDecay({ from: 1, steps: 4 })(1)).toBe(0.75);
  });

  it('constantSchedule and constantWithWarmup hold their lr', () => {
    expect([0, 7, 1e6].map(constantSchedule(0.3))).toEqual([0.3, 0.3, 0.3]);
    expect([0, 2, 4, 5, 1e6].map(constantWithWarmup({ peakLr: 0.4, warmupSteps: 4 }))).toEqual([0, 0.2, 0.4, 0.4, 0.4]);
    expect(constantWithWarmup({ peakLr: 0.4 })(0)).toBe(0.4);
  });

  it('gives the documented values', () => {
    const lr = linearWarmupDecay({ peakLr: 5e-5, warmupSteps: 100, totalSteps: 1000 });
    expect(lr(0)).toBe(0);
    expect(lr(50)).toBe(2.5e-5);
    expect(lr(100)).toBe(5e-5);
    expect(lr(550)).toBeCloseTo(2.5e-5, 18);
    expect(lr(1000)).toBe(0);
  });

  it.each<[string, () => unknown]>([
    ['linearDecay', () => linearDecay({ from: -1, steps: 10 })], ['linearDecay', () => linearDecay({ from: 1, steps: 1.5 })],
    ['linearDecay', () => linearDecay(null as never)], ['cosineDecay', () => cosineDecay({ from: 1, to: NaN, steps: 10 })],
    ['cosineDecay', () => cosineDecay({ from: 1, steps: 10 })(-1)], ['constantSchedule', () => constantSchedule(NaN)],
    ['constantSchedule', () => constantSchedule(1)(0.5)], ['withWarmup', () => withWarmup(-1, constantSchedule(1))],
    ['withWarmup', () => withWarmup(2, 'x' as never)], ['constantWithWarmup', () => constantWithWarmup({ peakLr: 1, warmupSteps: 0.5 })],
    ['constantWithWarmup', () => constantWithWarmup(undefined as never)],
  ])('%s rejects bad input naming itself', (where, fn) => {
    expect(errorOf(fn).where).toBe(where);
  });

  it('errors raised inside a ready-made schedule name the function called', () => {
    expect(errorOf(() => linearWarmupDecay({ peakLr: 1, totalSteps: 10 })(1.5)).where).toBe('linearWarmupDecay'); // names 'withWarmup'
    expect(errorOf(() => cosineWithWarmup({ peakLr: 1, totalSteps: 10, finalLr: -1 })).where).toBe('cosineWithWarmup'); // 'cosineDecay: to ...'
    expect(errorOf(() => constantWithWarmup({ peakLr: -1 })).where).toBe('constantWithWarmup'); // 'constantSchedule: lr ...'
  });

  it('warmupSteps === totalSteps ramps to peakLr and ends at finalLr', () => {
    const lr = linearWarmupDecay({ peakLr: 1, warmupSteps: 4, totalSteps: 4 });
    expect(lr(2)).toBe(0.5);
    expect(lr(4)).toBe(0);
  });
});
