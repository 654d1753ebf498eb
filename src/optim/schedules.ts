import { fail, show } from '../tensor/errors.js';

/** A learning-rate schedule: a pure function from the 0-based step to the lr for that step. */
export type Schedule = (step: number) => number;

function checkStep(where: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) fail(where, `step expected a non-negative integer, got ${show(step)}`);
}

function checkNonNegative(where: string, name: string, v: unknown, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    fail(where, `${name} expected a ${integer ? 'non-negative integer' : 'finite number >= 0'}, got ${show(v)}`);
  }
  return v;
}

/** The same lr at every step. */
export function constantSchedule(lr: number): Schedule {
  checkNonNegative('constantSchedule', 'lr', lr);
  return (step) => {
    checkStep('constantSchedule', step);
    return lr;
  };
}

/** Options of the decays: from `from` at step 0 to `to` at step `steps`, then `to`. */
export interface DecayOptions {
  from: number;
  /** Default 0. */
  to?: number;
  steps: number;
}

function decay(where: string, o: DecayOptions, shape: (progress: number) => number): Schedule {
  if (typeof o !== 'object' || o === null) fail(where, `options expected { from, to?, steps }, got ${show(o)}`);
  const from = checkNonNegative(where, 'from', o.from);
  const to = checkNonNegative(where, 'to', o.to ?? 0);
  const steps = checkNonNegative(where, 'steps', o.steps, true);
  return (step) => {
    checkStep(where, step);
    if (step >= steps) return to;
    return to + (from - to) * shape(step / steps);
  };
}

/** Straight line from `from` to `to` over `steps`. */
export function linearDecay(options: DecayOptions): Schedule {
  return decay('linearDecay', options, (x) => 1 - x);
}

/** Half a cosine from `from` to `to` over `steps` (Loshchilov & Hutter, SGDR). */
export function cosineDecay(options: DecayOptions): Schedule {
  return decay('cosineDecay', options, (x) => 0.5 * (1 + Math.cos(Math.PI * x)));
}

/**
 * Prepends a linear warmup: the lr rises from 0 at step 0 to `inner(0)` at
 * step `warmupSteps`, after which `inner` runs on the remaining steps
 * (`inner(step - warmupSteps)`), so the schedule is continuous at the seam.
 */
export function withWarmup(warmupSteps: number, inner: Schedule): Schedule {
  const where = 'withWarmup';
  checkNonNegative(where, 'warmupSteps', warmupSteps, true);
  if (typeof inner !== 'function') fail(where, `inner expected a schedule function, got ${show(inner)}`);
  const peak = inner(0);
  return (step) => {
    checkStep(where, step);
    return step < warmupSteps ? (peak * step) / warmupSteps : inner(step - warmupSteps);
  };
}

/** Options of the ready-made warmup schedules. */
export interface WarmupScheduleOptions {
  /** The lr at the end of warmup. */
  peakLr: number;
  /** Steps of linear warmup from 0 (default 0). */
  warmupSteps?: number;
  /** Total training steps; the lr reaches `finalLr` here. */
  totalSteps: number;
  /** Default 0. */
  finalLr?: number;
}

function warmupThen(where: string, o: WarmupScheduleOptions, make: (d: DecayOptions) => Schedule): Schedule {
  if (typeof o !== 'object' || o === null) fail(where, `options expected { peakLr, warmupSteps?, totalSteps, finalLr? }, got ${show(o)}`);
  const warmup = checkNonNegative(where, 'warmupSteps', o.warmupSteps ?? 0, true);
  const total = checkNonNegative(where, 'totalSteps', o.totalSteps, true);
  if (total < 1 || warmup > total) fail(where, `totalSteps expected an integer >= max(1, warmupSteps = ${warmup}), got ${show(o.totalSteps)}`);
  checkNonNegative(where, 'peakLr', o.peakLr);
  return withWarmup(warmup, make({ from: o.peakLr, to: o.finalLr ?? 0, steps: total - warmup }));
}

/**
 * The article's schedule: linear warmup to `peakLr`, then linear decay to
 * `finalLr` (default 0) at `totalSteps`.
 *
 * @example
 * ```ts
 * const lr = linearWarmupDecay({ peakLr: 5e-5, warmupSteps: 100, totalSteps: 1000 });
 * lr(50);   // 2.5e-5
 * lr(1000); // 0
 * ```
 */
export function linearWarmupDecay(options: WarmupScheduleOptions): Schedule {
  return warmupThen('linearWarmupDecay', options, linearDecay);
}

/** Linear warmup to `peakLr`, then cosine decay to `finalLr` (default 0) at `totalSteps`. */
export function cosineWithWarmup(options: WarmupScheduleOptions): Schedule {
  return warmupThen('cosineWithWarmup', options, cosineDecay);
}

/** Linear warmup to `peakLr`, then constant. */
export function constantWithWarmup(options: Omit<WarmupScheduleOptions, 'totalSteps' | 'finalLr'>): Schedule {
  const where = 'constantWithWarmup';
  if (typeof options !== 'object' || options === null) fail(where, `options expected { peakLr, warmupSteps? }, got ${show(options)}`);
  return withWarmup(checkNonNegative(where, 'warmupSteps', options.warmupSteps ?? 0, true), constantSchedule(options.peakLr));
}
