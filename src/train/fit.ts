/** A training loop over {@link Trainer.step}: batches by step, evaluation, checkpoints and reporting. */
import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import type { Tensor } from '../trace/tensor.js';
import type { Module } from '../nn/module.js';
import type { StepInfo, Trainer } from './trainer.js';

/** A step's report with the held-out loss when it was measured. */
export interface FitStep extends StepInfo {
  /** Mean loss over the held-out batches, on steps where it was evaluated. */
  readonly heldOutLoss?: number;
}

/** Options of {@link fit}. */
export interface FitOptions<M extends Module> {
  /** Train until the trainer has taken this many steps (a resumed trainer continues from its step). */
  readonly steps: number;
  /** The batch of the 0-based step k, e.g. `(k) => batches.batch(k)`: a pure function of k makes resuming exact. */
  readonly batch: (k: number) => readonly Tensor[];
  /** Batches for the held-out loss. */
  readonly heldOut?: readonly (readonly Tensor[])[];
  /** Evaluate the held-out loss every this many steps, and after the last (default: only after the last). */
  readonly evaluateEvery?: number;
  /** Called every `checkpointEvery` steps and after the last, e.g. `(t) => saveCheckpoint(path, t)`. Not called after a failed step. */
  readonly checkpoint?: (trainer: Trainer<M>) => void | Promise<void>;
  readonly checkpointEvery?: number;
  /** Called after every step, e.g. with `progressReporter()` from `llm-tricks/node`. */
  readonly onStep?: (info: FitStep, trainer: Trainer<M>) => void | Promise<void>;
}

/**
 * Runs `trainer` to `steps` steps. A diverging step throws (see
 * {@link Trainer.step}) before any later checkpoint is written, so the last
 * one on disk is the last good state. Returns every step's report.
 */
const FIT_KEYS = optionKeys<FitOptions<Module>>({ steps: true, batch: true, heldOut: true, evaluateEvery: true, checkpoint: true, checkpointEvery: true, onStep: true });

export async function fit<M extends Module>(trainer: Trainer<M>, options: FitOptions<M>): Promise<FitStep[]> {
  const site = 'fit';
  if (typeof (trainer as { step?: unknown } | null)?.step !== 'function') fail(site, `trainer expected a Trainer, got ${show(trainer)}`);
  checkOptions('fit', options, FIT_KEYS);
  const { steps, batch, heldOut = [], evaluateEvery, checkpoint, checkpointEvery, onStep } = options ?? ({} as FitOptions<M>);
  if (!Number.isInteger(steps) || steps < 0) fail(site, `steps expected a non-negative integer, got ${show(steps)}`);
  if (typeof batch !== 'function') fail(site, `batch expected a function from step to batch tensors, got ${show(batch)}`);
  for (const [name, v] of [['evaluateEvery', evaluateEvery], ['checkpointEvery', checkpointEvery]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) fail(site, `${name} expected a positive integer, got ${show(v)}`);
  }
  const history: FitStep[] = [];
  while (trainer.stepCount < steps) {
    const info = await trainer.step(batch(trainer.stepCount));
    const last = info.step === steps;
    let report: FitStep = info;
    if (heldOut.length && (last || (evaluateEvery && info.step % evaluateEvery === 0))) {
      let total = 0;
      for (const b of heldOut) total += await trainer.evaluate(b);
      report = { ...info, heldOutLoss: total / heldOut.length };
    }
    history.push(report);
    await onStep?.(report, trainer);
    if (checkpoint && (last || (checkpointEvery && info.step % checkpointEvery === 0))) await checkpoint(trainer);
  }
  return history;
}
