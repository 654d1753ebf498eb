import { fail, show } from '../core/errors.js';

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

function constant(where: string, lr: number): Schedule {
  checkNonNegative(where, 'lr', lr);
  return (step) => {
    checkStep(where, step);
    return lr;
  };
}

/** The same lr at every step. */
export function constantSchedule(lr: number): Schedule {
  return constant('constantSchedule', lr);
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

const linearShape = (x: number): number => 1 - x;
const cosineShape = (x: number): number => 0.5 * (1 + Math.cos(Math.PI * x));

/** Straight line from `from` to `to` over `steps`. */
export function linearDecay(options: DecayOptions): Schedule {
  return decay('linearDecay', options, linearShape);
}

/** Half a cosine from `from` to `to` over `steps` (Loshchilov & Hutter, SGDR). */
export function cosineDecay(options: DecayOptions): Schedule {
  return decay('cosineDecay', options, cosineShape);
}

function warmup(where: string, warmupSteps: number, inner: Schedule, peak: number): Schedule {
  checkNonNegative(where, 'warmupSteps', warmupSteps, true);
  return (step) => {
    checkStep(where, step);
    return step < warmupSteps ? (peak * step) / warmupSteps : inner(step - warmupSteps);
  };
}

/**
 * Prepends a linear warmup: the lr rises from 0 at step 0 toward `inner(0)`,
 * reached at step `warmupSteps`, after which `inner` runs on the remaining
 * steps (`inner(step - warmupSteps)`), so the schedule is continuous at the seam.
 */
export function withWarmup(warmupSteps: number, inner: Schedule): Schedule {
  if (typeof inner !== 'function') fail('withWarmup', `inner expected a schedule function, got ${show(inner)}`);
  checkNonNegative('withWarmup', 'warmupSteps', warmupSteps, true);
  return warmup('withWarmup', warmupSteps, inner, inner(0));
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

function warmupThen(where: string, o: WarmupScheduleOptions, shape: (progress: number) => number): Schedule {
  if (typeof o !== 'object' || o === null) fail(where, `options expected { peakLr, warmupSteps?, totalSteps, finalLr? }, got ${show(o)}`);
  const w = checkNonNegative(where, 'warmupSteps', o.warmupSteps ?? 0, true);
  const total = checkNonNegative(where, 'totalSteps', o.totalSteps, true);
  if (total < 1 || w > total) fail(where, `totalSteps expected an integer >= max(1, warmupSteps = ${w}), got ${show(o.totalSteps)}`);
  const peak = checkNonNegative(where, 'peakLr', o.peakLr);
  const final = checkNonNegative(where, 'finalLr', o.finalLr ?? 0);
  // The warmup ramps to peakLr itself, so a schedule that is all warmup still reaches it.
  return warmup(where, w, decay(where, { from: peak, to: final, steps: total - w }, shape), peak);
}

/**
 * The article's schedule: linear warmup to `peakLr`, then linear decay to
 * `finalLr` (default 0) at `totalSteps`.
 *
 * @example
 * ```ts
 * import { linearWarmupDecay } from 'llm-tricks';
 *
 * const lr = linearWarmupDecay({ peakLr: 5e-5, warmupSteps: 100, totalSteps: 1000 });
 * lr(50);   // 2.5e-5
 * lr(1000); // 0
 * ```
 */
export function linearWarmupDecay(options: WarmupScheduleOptions): Schedule {
  return warmupThen('linearWarmupDecay', options, linearShape);
}

/** Linear warmup to `peakLr`, then cosine decay to `finalLr` (default 0) at `totalSteps`. */
export function cosineWithWarmup(options: WarmupScheduleOptions): Schedule {
  return warmupThen('cosineWithWarmup', options, cosineShape);
}

/** Linear warmup to `peakLr`, then constant. */
export function constantWithWarmup(options: Omit<WarmupScheduleOptions, 'totalSteps' | 'finalLr'>): Schedule {
  const where = 'constantWithWarmup';
  if (typeof options !== 'object' || options === null) fail(where, `options expected { peakLr, warmupSteps? }, got ${show(options)}`);
  const peak = checkNonNegative(where, 'peakLr', options.peakLr);
  return warmup(where, checkNonNegative(where, 'warmupSteps', options.warmupSteps ?? 0, true), constant(where, peak), peak);
}
