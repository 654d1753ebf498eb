/** The Trainer's default loss, and the checks its batches and rates get before a step runs. */
import { describe } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { crossEntropy, IGNORE_INDEX } from '../functional/cross-entropy.js';
import { checkOptions, optionKeys } from '../core/options.js';
import type { ForwardContext, Module } from '../nn/module.js';
import { Tensor } from '../trace/tensor.js';
import type { LossFn } from './step-graph.js';
import { formatShape, shapesEqual } from '../core/shape.js';
import type { InputSpec } from '../trace/trace.js';
import { EarlyDropoutScheduler } from '../optim/early-dropout-scheduler.js';
import type { Schedule } from '../optim/schedules.js';

/** Options of {@link nextTokenLoss}: crossEntropy's, with a scalar reduction. */
export interface NextTokenLossOptions {
  /** ε in [0, 1] (default 0), as crossEntropy's and PyTorch's `label_smoothing`. */
  labelSmoothing?: number;
  /** 'mean' (default) over the targets that are not -100, or 'sum'. */
  reduction?: 'mean' | 'sum';
}

// The losses whose batches are [ids, targets] with targets in [0, vocab) or -100 (the Trainer checks those
// tokens), and their reduction: a mean over no targets is NaN, a sum is 0.
const tokenLosses = new WeakMap<LossFn<Module>, 'mean' | 'sum'>();

/** The reduction of {@link languageModelLoss} or a loss made by {@link nextTokenLoss}; undefined for any other loss. */
export function nextTokenReduction(loss: unknown): 'mean' | 'sum' | undefined {
  return typeof loss === 'function' ? tokenLosses.get(loss as LossFn<Module>) : undefined;
}

/**
 * Next-token cross-entropy of a language model on a batch `[ids, targets]`,
 * with crossEntropy's label smoothing and reduction; targets of -100 count
 * for nothing. Typed for any Module: it checks at run time that the model
 * has a forward, so it is the default loss without a cast.
 *
 * @example
 * ```ts
 * import { nextTokenLoss } from 'llm-tricks';
 *
 * const loss = nextTokenLoss({ labelSmoothing: 0.1 }); // Trainer.create({ model, optimizer, batch, loss })
 * typeof loss; // 'function'
 * ```
 */
export function nextTokenLoss(options: NextTokenLossOptions = {}): LossFn<Module> {
  const site = 'nextTokenLoss';
  checkOptions(site, options, optionKeys<NextTokenLossOptions>({ labelSmoothing: true, reduction: true }));
  const { labelSmoothing = 0, reduction = 'mean' } = options ?? {};
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) fail(site, `labelSmoothing expected a number in [0, 1], got ${show(labelSmoothing)}`);
  if (reduction !== 'mean' && reduction !== 'sum') fail(site, `reduction expected 'mean' or 'sum' (a Trainer loss is a scalar), got ${show(reduction)}`);
  const loss: LossFn<Module> = (model, batch, ctx) => {
    const where = 'languageModelLoss';
    if (!isLanguageModel(model)) fail(where, `model expected a language model such as DecoderLM, got ${describe(model)}`);
    if (!Array.isArray(batch) || batch.length !== 2) fail(where, `batch expected [ids, targets], got ${describe(batch)}`);
    const out = model.forward(batch[0], { ctx });
    if (!(out?.logits instanceof Tensor)) fail(where, `model expected forward(ids) to return { logits } (give the Trainer a loss for other models), got ${describe(out)}`);
    const vocab = (model as { vocab?: unknown }).vocab;
    // The batch's targets are checked against vocab: logits of another width would let a wrong target through.
    if (typeof vocab === 'number' && out.logits.shape.at(-1) !== vocab) fail(where, `model expected logits of width vocab (${vocab}), got shape [${out.logits.shape.join(', ')}]`);
    return crossEntropy(out.logits, batch[1], { labelSmoothing, reduction });
  };
  tokenLosses.set(loss, reduction);
  return loss;
}

/** The Trainer's default loss: {@link nextTokenLoss} with its defaults (the mean cross-entropy, no smoothing). */
export const languageModelLoss: LossFn<Module> = nextTokenLoss();

// The default loss needs only forward(ids, { ctx }) → { logits }; the types ask for a whole LanguageModel.
function isLanguageModel(model: Module): model is Module & { forward(ids: Tensor, call: { ctx?: ForwardContext }): { logits: Tensor } } {
  return typeof (model as { forward?: unknown } | undefined)?.forward === 'function';
}

export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Ids in [0, vocab), targets in [0, vocab) or crossEntropy's ignore index
 * (-100), and in each of the K micro-batches at least one target kept (the
 * mean over none is NaN): the next-token loss's batch.
 */
export function checkTokens(site: string, batch: readonly Tensor[], vocab: number, K = 1, reduction: 'mean' | 'sum' = 'mean'): void {
  const firstBad = (t: Tensor, ok: (v: number) => boolean): number | undefined => {
    const data = t._data as Int32Array | BigInt64Array;
    for (let i = 0; i < data.length; i++) if (!ok(Number(data[i]))) return Number(data[i]);
    return undefined;
  };
  const id = firstBad(batch[0], (v) => v >= 0 && v < vocab);
  if (id !== undefined) fail(site, `batch[0] (ids) expected in [0, ${vocab - 1}], got ${id}`);
  const target = firstBad(batch[1], (v) => (v >= 0 && v < vocab) || v === IGNORE_INDEX);
  if (target !== undefined) fail(site, `batch[1] (targets) expected in [0, ${vocab - 1}] or the ignore index (${IGNORE_INDEX}), got ${target}`);
  if (reduction === 'sum') return;
  const targets = batch[1]._data as Int32Array | BigInt64Array;
  const per = targets.length / K;
  for (let k = 0; k < K; k++) {
    if (targets.subarray(k * per, (k + 1) * per).every((v) => Number(v) === IGNORE_INDEX)) {
      fail(site, `batch[1] (targets) expected at least one target that is not the ignore index (${IGNORE_INDEX})${K > 1 ? ` in micro-batch ${k}` : ''}, got all ${IGNORE_INDEX} (the mean over no targets is NaN)`);
    }
  }
}

/**
 * Whether the dropout rate is 0 at the 0-based step `s` and every step
 * after: a rate of 0, or an EarlyDropoutScheduler past its fall (early
 * dropout from its `zeroFrom` step, or p = 0). A plain schedule function may rise
 * again, so it never counts.
 */
export function staysZero(dropout: number | Schedule | EarlyDropoutScheduler, s: number): boolean {
  if (typeof dropout === 'number') return dropout === 0;
  if (dropout instanceof EarlyDropoutScheduler) return s >= dropout.zeroFrom;
  return false;
}

/** Checks a batch against the micro-batch inputs (with a leading axis of K when K > 1), and its tokens against `vocab` when given. */
export function checkBatch(site: string, batch: readonly Tensor[], specs: readonly InputSpec[], K: number, vocab: number | undefined, reduction?: 'mean' | 'sum'): void {
  if (!Array.isArray(batch) || batch.length !== specs.length) fail(site, `batch expected ${specs.length} tensors (${specs.map((s, i) => s.name ?? `batch${i}`).join(', ')}), got ${describe(batch)}`);
  batch.forEach((t, i) => {
    const spec = specs[i];
    const shape = K > 1 ? [K, ...spec.shape] : spec.shape;
    const dtype = spec.dtype ?? 'float32';
    if (!(t instanceof Tensor) || t.isTraced || t.dtype !== dtype || !shapesEqual(t.shape, shape)) {
      fail(site, `batch[${i}] expected ${dtype}${formatShape(shape)}, got ${t instanceof Tensor ? `${t.dtype}${formatShape(t.shape)}` : describe(t)}`);
    }
  });
  // A compiled graph does not check values: an id past the table reads another row (or fails in the
  // runtime), a target past the vocabulary gives a finite, wrong loss. The eager path's rules, here.
  if (vocab !== undefined) checkTokens(site, batch, vocab, K, reduction);
}
