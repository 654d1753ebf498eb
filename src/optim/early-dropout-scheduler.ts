import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';

/** Which of the paper's schedules to follow. */
export type DropoutMode = 'early' | 'late' | 'standard';
/** How early dropout falls from p to 0 before the cutoff. */
export type DropoutDecay = 'constant' | 'linear' | 'cosine';

/** Options of {@link EarlyDropoutScheduler}. */
export interface EarlyDropoutOptions {
  /** The dropout rate at its strongest, in [0, 1) (the article uses 0.1). */
  p: number;
  /** Total training steps (>= 1). */
  totalSteps: number;
  /** 'early' (p, then 0 after the cutoff), 'late' (0, then p) or 'standard' (always p). Default 'early'. */
  mode?: DropoutMode;
  /** The cutoff as a fraction of totalSteps (default 0.2, the article's 20%). */
  cutoff?: number;
  /** The cutoff as an absolute step; give this or `cutoff`, not both. */
  cutoffStep?: number;
  /** Shape of early dropout's fall to 0 at the cutoff (default 'linear', as in the article). */
  decay?: DropoutDecay;
  /**
   * Whether the fall includes its end point, as numpy's `linspace`: `true`
   * (default) reaches 0 at step c − 1, `np.linspace(p, 0, c)` as the
   * article's official code (`drop_scheduler`); `false` reaches 0 at step c,
   * `np.linspace(p, 0, c, endpoint=False)`, i.e. p · (1 − t/c).
   */
  endpoint?: boolean;
}

/**
 * Dropout rate per step from "Dropout Reduces Underfitting" (Liu et al. 2023,
 * https://arxiv.org/abs/2303.01500): early dropout uses dropout only in the
 * first part of training, falling to 0 at the cutoff, which counters
 * underfitting; late dropout switches it on after the cutoff, which counters
 * overfitting. The article's recipe is p = 0.1 falling linearly to 0 at 20%
 * of training; by default the fall is `np.linspace(p, 0, c)` as in the
 * official code (0 at step c − 1; `endpoint: false` gives p · (1 − t/c)). The trainer feeds `rate(step)` to every Dropout as a runtime
 * input, so no graph is rebuilt.
 *
 * @example
 * ```ts
 * import { EarlyDropoutScheduler } from 'llm-tricks';
 *
 * const drop = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 1000 });
 * drop.rate(0);   // 0.1
 * drop.rate(199); // 0 (np.linspace(0.1, 0, 200), as the official code)
 * drop.rate(200); // 0
 * ```
 */
export class EarlyDropoutScheduler {
  readonly p: number;
  readonly totalSteps: number;
  readonly mode: DropoutMode;
  readonly decay: DropoutDecay;
  readonly endpoint: boolean;
  /** The absolute step at which early dropout reaches 0 and late dropout starts. */
  readonly cutoffStep: number;

  constructor(options: EarlyDropoutOptions) {
    const site = 'EarlyDropoutScheduler';
    if (typeof options !== 'object' || options === null) fail(site, `options expected { p, totalSteps, ... }, got ${show(options)}`);
    checkOptions(site, options, optionKeys<EarlyDropoutOptions>({ p: true, totalSteps: true, mode: true, cutoff: true, cutoffStep: true, decay: true, endpoint: true }));
    const { p, totalSteps, mode = 'early', decay = 'linear', cutoff, cutoffStep, endpoint = true } = options;
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) fail(site, `p expected a number in [0, 1), got ${show(p)}`);
    if (!Number.isInteger(totalSteps) || totalSteps < 1) fail(site, `totalSteps expected an integer >= 1, got ${show(totalSteps)}`);
    if (!['early', 'late', 'standard'].includes(mode)) fail(site, `mode expected 'early', 'late' or 'standard', got ${show(mode)}`);
    if (!['constant', 'linear', 'cosine'].includes(decay)) fail(site, `decay expected 'constant', 'linear' or 'cosine', got ${show(decay)}`);
    if (typeof endpoint !== 'boolean') fail(site, `endpoint expected true or false, got ${show(endpoint)}`);
    if (cutoff !== undefined && cutoffStep !== undefined) fail(site, `cutoff expected alone, got both cutoff (${cutoff}) and cutoffStep (${cutoffStep})`);
    if (cutoff !== undefined && !(typeof cutoff === 'number' && cutoff >= 0 && cutoff <= 1)) fail(site, `cutoff expected a fraction in [0, 1], got ${show(cutoff)}`);
    if (cutoffStep !== undefined && !(Number.isInteger(cutoffStep) && cutoffStep >= 0)) fail(site, `cutoffStep expected a non-negative integer, got ${show(cutoffStep)}`);
    this.p = p;
    this.totalSteps = totalSteps;
    this.mode = mode;
    this.decay = decay;
    this.endpoint = endpoint;
    if (cutoffStep !== undefined && cutoffStep > totalSteps) fail(site, `cutoffStep expected at most totalSteps (${totalSteps}), got ${cutoffStep}`);
    this.cutoffStep = cutoffStep ?? Math.round((cutoff ?? 0.2) * totalSteps);
  }

  /**
   * The first step from which the rate stays 0 (early dropout: the cutoff,
   * or one step before it when a linear or cosine fall includes its end
   * point; p = 0: step 0), or Infinity when it never does ('late', 'standard').
   */
  get zeroFrom(): number {
    if (this.p === 0) return 0;
    if (this.mode !== 'early') return Infinity;
    const c = this.cutoffStep;
    return this.endpoint && this.decay !== 'constant' && c > 1 ? c - 1 : c;
  }

  /** The dropout rate at the 0-based `step`. */
  rate(step: number): number {
    if (!Number.isInteger(step) || step < 0) fail('EarlyDropoutScheduler.rate', `step expected a non-negative integer, got ${show(step)}`);
    const before = step < this.cutoffStep;
    switch (this.mode) {
      case 'standard': return this.p;
      case 'late': return before ? 0 : this.p;
      case 'early': {
        if (!before) return 0;
        // linspace(p, 0, c) reaches 0 at step c - 1; with one step it is just [p].
        const span = this.endpoint ? this.cutoffStep - 1 : this.cutoffStep;
        const x = span === 0 ? 0 : step / span;
        if (this.decay === 'constant') return this.p;
        return this.decay === 'linear' ? this.p * (1 - x) : this.p * 0.5 * (1 + Math.cos(Math.PI * x));
      }
    }
  }
}
