import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';

/** A learning-rate schedule: a pure function from the 0-based step to the lr for that step. */
export type Schedule = (step: number) => number;

function checkStep(site: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) fail(site, `step expected a non-negative integer, got ${show(step)}`);
}

function checkNonNegative(site: string, name: string, v: unknown, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    fail(site, `${name} expected a ${integer ? 'non-negative integer' : 'finite number >= 0'}, got ${show(v)}`);
  }
  return v;
}

function constant(site: string, lr: number): Schedule {
  checkNonNegative(site, 'lr', lr);
  return (step) => {
    checkStep(site, step);
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

function decay(site: string, o: DecayOptions, shape: (progress: number) => number): Schedule {
  if (typeof o !== 'object' || o === null) fail(site, `options expected { from, to?, steps }, got ${show(o)}`);
  checkOptions(site, o, optionKeys<DecayOptions>({ from: true, to: true, steps: true }));
  const from = checkNonNegative(site, 'from', o.from);
  const to = checkNonNegative(site, 'to', o.to ?? 0);
  const steps = checkNonNegative(site, 'steps', o.steps, true);
  const [lo, hi] = from < to ? [from, to] : [to, from];
  return (step) => {
    checkStep(site, step);
    if (step >= steps) return to;
    // Within [lo, hi], as the exact value is: rounding put step 0 one ulp above `from` for some values.
    return Math.min(hi, Math.max(lo, to + (from - to) * shape(step / steps)));
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

function warmup(site: string, warmupSteps: number, inner: Schedule, peak: number): Schedule {
  checkNonNegative(site, 'warmupSteps', warmupSteps, true);
  return (step) => {
    checkStep(site, step);
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

function warmupThen(site: string, o: WarmupScheduleOptions, shape: (progress: number) => number): Schedule {
  if (typeof o !== 'object' || o === null) fail(site, `options expected { peakLr, warmupSteps?, totalSteps, finalLr? }, got ${show(o)}`);
  checkOptions(site, o, optionKeys<WarmupScheduleOptions>({ peakLr: true, warmupSteps: true, totalSteps: true, finalLr: true }));
  const w = checkNonNegative(site, 'warmupSteps', o.warmupSteps ?? 0, true);
  const total = checkNonNegative(site, 'totalSteps', o.totalSteps, true);
  if (total < 1 || w > total) fail(site, `totalSteps expected an integer >= max(1, warmupSteps = ${w}), got ${show(o.totalSteps)}`);
  const peak = checkNonNegative(site, 'peakLr', o.peakLr);
  const final = checkNonNegative(site, 'finalLr', o.finalLr ?? 0);
  // The warmup ramps to peakLr itself, so a schedule that is all warmup still reaches it.
  return warmup(site, w, decay(site, { from: peak, to: final, steps: total - w }, shape), peak);
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
  const site = 'constantWithWarmup';
  if (typeof options !== 'object' || options === null) fail(site, `options expected { peakLr, warmupSteps? }, got ${show(options)}`);
  const peak = checkNonNegative(site, 'peakLr', options.peakLr);
  return warmup(site, checkNonNegative(site, 'warmupSteps', options.warmupSteps ?? 0, true), constant(site, peak), peak);
}
