import { fail, show } from '../tensor/errors.js';
import { add, cast, div, mul, pow, sqrt, sub } from '../tensor/ops/elementwise.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { checkKeys, checkNumber, Optimizer, scaledLr, type Floats, type GraphStepInputs, type GraphUpdate, type ParamGroup } from './optimizer.js';

/** Options of {@link AdamW}. Defaults are PyTorch's `torch.optim.AdamW`. */
export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** [beta1, beta2]: decay of the first and second moments (default [0.9, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** Decoupled weight decay: p <- p * (1 - lr * weightDecay) (default 0.01). */
  weightDecay: number;
}

/** Constructor options: any subset of {@link AdamWOptions}, plus parameter groups. */
export type AdamWConfig = Partial<AdamWOptions> & { groups?: readonly ParamGroup<AdamWOptions>[] };

/** PyTorch's defaults. */
export const ADAMW_DEFAULTS: Readonly<AdamWOptions> = Object.freeze({ lr: 1e-3, betas: Object.freeze([0.9, 0.999] as const), eps: 1e-8, weightDecay: 0.01 });

/**
 * AdamW (Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101) with
 * PyTorch's semantics, the baseline Lion is compared against. At step t:
 *
 *   p <- p (1 - lr wd)
 *   m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g²
 *   p <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Two state buffers per parameter (`exp_avg`, `exp_avg_sq`).
 */
export class AdamW extends Optimizer<AdamWOptions> {
  readonly name: string = 'AdamW';
  readonly slots: readonly string[] = ['exp_avg', 'exp_avg_sq'];

  constructor(options: AdamWConfig = {}) {
    const o = options ?? {};
    if (typeof o !== 'object') fail('AdamW', `options expected an object, got ${show(o)}`);
    checkKeys('AdamW', 'options', o, [...Object.keys(ADAMW_DEFAULTS), 'groups']);
    const defaults = { ...ADAMW_DEFAULTS };
    for (const key of Object.keys(ADAMW_DEFAULTS) as (keyof AdamWOptions)[]) {
      if (o[key] !== undefined) (defaults as Record<string, unknown>)[key] = o[key];
    }
    super(defaults, o.groups, 'AdamW');
  }

  protected check(o: AdamWOptions, where: string): void {
    checkNumber(where, 'lr', o.lr, 0);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) fail(where, `betas expected [beta1, beta2], got ${show(o.betas)}`);
    checkNumber(where, 'betas[0]', o.betas[0], 0, 1);
    checkNumber(where, 'betas[1]', o.betas[1], 0, 1);
    checkNumber(where, 'eps', o.eps, 0);
    checkNumber(where, 'weightDecay', o.weightDecay, 0);
  }

  // Computed in double and rounded once when stored (the graph form rounds
  // after every op, so the two agree to float32 precision, not bit for bit).
  protected update(p: Floats, g: Floats, [m, v]: Floats[], o: AdamWOptions & { lrScale: number }, lr: number, t: number): void {
    const [b1, b2] = o.betas;
    const rate = lr * o.lrScale;
    const decay = 1 - rate * o.weightDecay;
    const stepSize = rate / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const eps = o.eps;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = b1 * m[i] + (1 - b1) * gi;
      const vi = b2 * v[i] + (1 - b2) * (gi * gi);
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
    }
  }

  /**
   * The same update with Tensor ops, for a traced training step. `slots[i]`
   * holds parameter i's [exp_avg, exp_avg_sq]; lr and step are graph inputs,
   * and the bias corrections are computed in the graph from the step.
   */
  graphUpdate(params: readonly Tensor[], grads: readonly Tensor[], slots: readonly (readonly Tensor[])[], inputs: GraphStepInputs): GraphUpdate {
    if (params.length !== grads.length || params.length !== slots.length) {
      fail('AdamW.graphUpdate', `grads and slots expected one per parameter (${params.length}), got ${grads.length} and ${slots.length}`);
    }
    const out: GraphUpdate = { params: [], slots: [] };
    params.forEach((p, i) => {
      const o = this.optionsFor(i);
      const k = (x: number): Tensor => tensor(x, { dtype: p.dtype });
      const [b1, b2] = o.betas;
      const g = grads[i];
      const [m0, v0] = slots[i];
      const t = cast(inputs.step, p.dtype);
      const lr = scaledLr(inputs.lr, p.dtype, o.lrScale);
      const m = add(mul(k(b1), m0), mul(k(1 - b1), g));
      const v = add(mul(k(b2), v0), mul(k(1 - b2), mul(g, g)));
      const stepSize = div(lr, sub(k(1), pow(k(b1), t)));
      const bc2Sqrt = sqrt(sub(k(1), pow(k(b2), t)));
      const denom = add(div(sqrt(v), bc2Sqrt), k(o.eps));
      const decayed = mul(p, sub(k(1), mul(lr, k(o.weightDecay))));
      out.params.push(sub(decayed, mul(stepSize, div(m, denom))));
      out.slots.push([m, v]);
    });
    return out;
  }
}
