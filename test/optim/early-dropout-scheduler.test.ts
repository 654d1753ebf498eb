/**
 * EarlyDropoutScheduler (src/optim/early-dropout-scheduler.ts), after
 * "Dropout Reduces Underfitting" (Liu et al. 2023).
 *
 * Proves, with fast-check over p in [0, 1), totalSteps in [1, 2000] and the
 * cutoff given as a fraction or as an absolute step:
 * - 'early' is monotone non-increasing for every decay shape, starts at p
 *   (when the cutoff is > 0), is exactly 0 at and after the cutoff, and is
 *   exactly p before it with decay 'constant';
 * - 'late' is 0 before the cutoff and p from it on; 'standard' is p everywhere;
 * - a fraction and an absolute step that coincide (cutoffStep = round(f * total))
 *   give the same schedule, step for step;
 * - the article's recipe (p 0.1, linear, 20%) gives 0.1 at step 0, 0.05 at
 *   10%, 0 at 20%; the defaults are that recipe;
 * - bad options and steps raise LlmTricksError naming the class (or
 *   EarlyDropoutScheduler.rate) with "expected" and "got".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EarlyDropoutScheduler, LlmTricksError, type DropoutDecay, type EarlyDropoutOptions } from '../../src/index.js';
import { errorOf } from '../helpers/optim.js';

const decays: DropoutDecay[] = ['constant', 'linear', 'cosine'];
const setup = fc.integer({ min: 1, max: 2000 }).chain((total) => fc.record({
  p: fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 0.999, noNaN: true })), // subnormal p would lose bits in p * 0.5 * 2
  totalSteps: fc.constant(total),
  cutoff: fc.oneof(
    fc.double({ min: 0, max: 1, noNaN: true }).map((cutoff) => ({ cutoff })),
    fc.integer({ min: 0, max: total }).map((cutoffStep) => ({ cutoffStep })),
  ),
  decay: fc.constantFrom(...decays),
}));
const steps = (s: EarlyDropoutScheduler): number[] => Array.from({ length: s.totalSteps + 4 }, (_, i) => s.rate(i));


describe('EarlyDropoutScheduler', () => {
  it("'early' falls monotonically from p to exactly 0 at the cutoff, for every decay shape", () => {
    fc.assert(fc.property(setup, ({ p, totalSteps, cutoff, decay }) => {
      const s = new EarlyDropoutScheduler({ p, totalSteps, decay, ...cutoff });
      const rates = steps(s);
      const c = s.cutoffStep;
      expect(c).toBe('cutoffStep' in cutoff ? cutoff.cutoffStep : Math.round(cutoff.cutoff * totalSteps));
      expect(rates.findIndex((r, i) => i > 0 && !(r <= rates[i - 1])), 'a rise').toBe(-1);
      expect(rates.slice(c).every((r) => r === 0)).toBe(true);
      expect(s.rate(c + 1000)).toBe(0);
      if (c > 0) expect(rates[0]).toBe(p);
      expect(rates.every((r) => r >= 0 && r <= p)).toBe(true);
      if (decay === 'constant') expect(rates.slice(0, c).every((r) => r === p)).toBe(true);
    }), { numRuns: 200 });
  });

  it("'late' is 0 then p; 'standard' is p everywhere", () => {
    fc.assert(fc.property(setup, ({ p, totalSteps, cutoff, decay }) => {
      const late = new EarlyDropoutScheduler({ p, totalSteps, decay, mode: 'late', ...cutoff });
      const c = late.cutoffStep;
      expect(steps(late)).toEqual(steps(late).map((_, i) => (i < c ? 0 : p)));
      const standard = new EarlyDropoutScheduler({ p, totalSteps, decay, mode: 'standard', ...cutoff });
      expect(steps(standard).every((r) => r === p)).toBe(true);
    }), { numRuns: 100 });
  });

  it('a cutoff fraction and the absolute step it lands on give the same schedule', () => {
    fc.assert(fc.property(setup, fc.constantFrom('early', 'late', 'standard' as const), ({ p, totalSteps, decay }, mode) => {
      const k = Math.floor(totalSteps / 3);
      const byFraction = new EarlyDropoutScheduler({ p, totalSteps, decay, mode, cutoff: k / totalSteps });
      const byStep = new EarlyDropoutScheduler({ p, totalSteps, decay, mode, cutoffStep: k });
      expect(byFraction.cutoffStep).toBe(k);
      expect(steps(byFraction)).toEqual(steps(byStep));
    }), { numRuns: 100 });
  });

  it("follows the article's recipe: p 0.1 falling linearly to 0 at 20% (the defaults)", () => {
    const s = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 1000, mode: 'early', decay: 'linear', cutoff: 0.2 });
    expect([s.rate(0), s.rate(199), s.rate(200), s.rate(999)]).toEqual([0.1, 0, 0, 0]);
    expect(s.rate(100)).toBeCloseTo(0.1 * (1 - 100 / 199), 15);
    const defaults = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 1000 });
    expect([defaults.mode, defaults.decay, defaults.cutoffStep]).toEqual(['early', 'linear', 200]);
    expect(steps(defaults)).toEqual(steps(s));
  });

  it('the linear fall is the official np.linspace(p, 0, c); endpoint: false is p · (1 − t/c)', () => {
    // np.linspace(0.1, 0, 5) and np.linspace(0.1, 0, 5, endpoint=False), written out.
    const official = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 25 });
    const want = [0.1, 0.075, 0.05, 0.025, 0, 0, 0];
    Array.from({ length: 7 }, (_, t) => official.rate(t)).forEach((r, t) => expect(r).toBeCloseTo(want[t], 16));
    expect(official.rate(4)).toBe(0);
    expect(official.zeroFrom).toBe(4);
    const continuous = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 25, endpoint: false });
    const wantC = [0.1, 0.08, 0.06, 0.04, 0.02, 0, 0];
    Array.from({ length: 7 }, (_, t) => continuous.rate(t)).forEach((r, t) => expect(r).toBeCloseTo(wantC[t], 16));
    expect(continuous.zeroFrom).toBe(5);
    // np.linspace(p, 0, 1) is [p]: a one-step fall holds p for that step.
    expect(new EarlyDropoutScheduler({ p: 0.1, totalSteps: 10, cutoffStep: 1 }).rate(0)).toBe(0.1);
    // The cosine fall ends at the same step as the linear one.
    const cos = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 25, decay: 'cosine' });
    expect([cos.rate(2), cos.rate(4), cos.zeroFrom]).toEqual([0.05, 0, 4]);
  });

  it('zeroFrom is the first step of an all-zero tail, for every mode, decay and end point', () => {
    fc.assert(fc.property(setup, fc.constantFrom('early', 'late', 'standard' as const), fc.boolean(), ({ p, totalSteps, cutoff, decay }, mode, endpoint) => {
      const s = new EarlyDropoutScheduler({ p, totalSteps, decay, mode, endpoint, ...cutoff });
      const rates = steps(s);
      const firstOfTail = rates.reduce((last, r, i) => (r !== 0 ? i : last), -1) + 1;
      if (Number.isFinite(s.zeroFrom)) expect(rates.slice(s.zeroFrom).every((r) => r === 0)).toBe(true);
      else expect(rates.at(-1)).not.toBe(0);
      if (mode === 'early' || p === 0) expect(s.zeroFrom).toBe(firstOfTail);
    }), { numRuns: 200 });
  });

  it("shapes the fall: cosine is half a cosine, 'constant' holds p", () => {
    const cos = new EarlyDropoutScheduler({ p: 0.2, totalSteps: 100, cutoffStep: 40, decay: 'cosine', endpoint: false });
    expect(cos.rate(10)).toBeCloseTo(0.2 * 0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(cos.rate(20)).toBeCloseTo(0.1, 15);
    const constant = new EarlyDropoutScheduler({ p: 0.2, totalSteps: 100, cutoffStep: 40, decay: 'constant' });
    expect([constant.rate(0), constant.rate(39), constant.rate(40)]).toEqual([0.2, 0.2, 0]);
    expect(new EarlyDropoutScheduler({ p: 0.3, totalSteps: 10, cutoff: 0 }).rate(0)).toBe(0);
    expect(new EarlyDropoutScheduler({ p: 0.3, totalSteps: 10, cutoff: 1, mode: 'late' }).rate(9)).toBe(0);
  });

  it.each<[string, unknown]>([
    ['no options', undefined], ['p 1', { p: 1, totalSteps: 10 }], ['p -0.1', { p: -0.1, totalSteps: 10 }], ['p NaN', { p: NaN, totalSteps: 10 }],
    ['p as a string', { p: '0.1', totalSteps: 10 }], ['totalSteps 0', { p: 0.1, totalSteps: 0 }], ['totalSteps 10.5', { p: 0.1, totalSteps: 10.5 }],
    ['mode "sometimes"', { p: 0.1, totalSteps: 10, mode: 'sometimes' }], ['decay "exp"', { p: 0.1, totalSteps: 10, decay: 'exp' }],
    ['cutoff 1.2', { p: 0.1, totalSteps: 10, cutoff: 1.2 }], ['cutoff NaN', { p: 0.1, totalSteps: 10, cutoff: NaN }],
    ['cutoffStep -1', { p: 0.1, totalSteps: 10, cutoffStep: -1 }], ['cutoffStep 2.5', { p: 0.1, totalSteps: 10, cutoffStep: 2.5 }],
    ['endpoint "yes"', { p: 0.1, totalSteps: 10, endpoint: 'yes' }], ['both cutoff and cutoffStep', { p: 0.1, totalSteps: 10, cutoff: 0.2, cutoffStep: 2 }],
  ])('rejects %s', (_label, options) => {
    expect(errorOf(() => new EarlyDropoutScheduler(options as EarlyDropoutOptions)).where).toBe('EarlyDropoutScheduler');
  });

  it.each([-1, 0.5, NaN, Infinity])('rate rejects step %s', (step) => {
    const s = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 10 });
    expect(errorOf(() => s.rate(step)).where).toBe('EarlyDropoutScheduler.rate');
  });

  it('a cutoffStep past totalSteps is an error (early dropout would never end)', () => {
    expect(() => new EarlyDropoutScheduler({ p: 0.1, totalSteps: 100, cutoffStep: 101 })).toThrow(LlmTricksError);
  });
});
