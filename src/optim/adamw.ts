import { adamwSimd } from './kernels/simd.js';
import { add, cast, div, mul, pow, sqrt, sub } from '../trace/ops/elementwise.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { checkBetas, checkNumber, Optimizer, scaledLr, type Floats, type GraphStepInputs, type GraphUpdate, type ParamGroup, checkGraphUpdate } from './optimizer.js';

/** Options of {@link AdamW}. Defaults are PyTorch's `torch.optim.AdamW`. */
export interface AdamWOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** `[beta1, beta2]`: decay of the first and second moments (default [0.9, 0.999]). */
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
    super(ADAMW_DEFAULTS, options, 'AdamW');
  }

  protected check(o: AdamWOptions, site: string): void {
    checkNumber(site, 'lr', o.lr, 0);
    checkBetas(site, o.betas);
    checkNumber(site, 'eps', o.eps, 0);
    checkNumber(site, 'weightDecay', o.weightDecay, 0);
  }

  // float32 rounds after every operation in the graph form's order (as
  // PyTorch's float32 AdamW does: sqrt(v) rounds before the division), so
  // the two forms differ only in the bias corrections (double here, float32
  // in the graph); float64 is PyTorch's rule exactly.
  protected override elementwise(): boolean {
    return true;
  }

  protected update(p: Floats, g: Floats, [m, v]: Floats[], o: AdamWOptions & { lrScale: number }, lr: number, t: number): void {
    const [b1, b2] = o.betas;
    const rate = lr * o.lrScale;
    const k: AdamConstants = {
      b1, b2, c1: 1 - b1, c2: 1 - b2, eps: o.eps,
      decay: 1 - rate * o.weightDecay,
      stepSize: rate / (1 - b1 ** t),
      bc2Sqrt: Math.sqrt(1 - b2 ** t),
    };
    const loop = (p: Floats, g: Floats, m: Floats, v: Floats): void => {
      if (p instanceof Float32Array) adamStep32(p, g as Float32Array, m as Float32Array, v as Float32Array, k);
      else adamStep64(p, g as Float64Array, m as Float64Array, v as Float64Array, k);
    };
    // WebAssembly SIMD on large arrays (the same bits: float32 constants round as adamStep32 rounds them), else the loop.
    const r = p instanceof Float32Array ? f : (x: number): number => x;
    const rounded = { b1: r(k.b1), c1: r(k.c1), b2: r(k.b2), c2: r(k.c2), eps: r(k.eps), decay: r(k.decay), stepSize: r(k.stepSize), bc2Sqrt: r(k.bc2Sqrt) };
    if (!adamwSimd(p, g, m, v, rounded, loop)) loop(p, g, m, v);
  }

  /**
   * The same update with Tensor ops, for a traced training step. `slots[i]`
   * holds parameter i's [exp_avg, exp_avg_sq]; lr and step are graph inputs,
   * and the bias corrections are computed in the graph from the step.
   */
  graphUpdate(params: readonly Tensor[], grads: readonly Tensor[], slots: readonly (readonly Tensor[])[], inputs: GraphStepInputs): GraphUpdate {
    checkGraphUpdate('AdamW.graphUpdate', this.slots.length, params, grads, slots, inputs);
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

interface AdamConstants {
  b1: number; b2: number; c1: number; c2: number; eps: number; decay: number; stepSize: number; bc2Sqrt: number;
}

const f = Math.fround;

/** The float32 AdamW step; Math.fround is called directly (through a variable V8 optimises it far worse). */
function adamStep32(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, k: AdamConstants): void {
  const [b1, b2, c1, c2, eps] = [f(k.b1), f(k.b2), f(k.c1), f(k.c2), f(k.eps)];
  const [decay, stepSize, bc2Sqrt] = [f(k.decay), f(k.stepSize), f(k.bc2Sqrt)];
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = f(f(b1 * m[i]) + f(c1 * gi));
    const vi = f(f(b2 * v[i]) + f(c2 * f(gi * gi)));
    m[i] = mi;
    v[i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps);
    p[i] = f(p[i] * decay) - f(stepSize * f(mi / denom));
  }
}

/** The float64 AdamW step, in PyTorch's order. */
function adamStep64(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, k: AdamConstants): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = k.b1 * m[i] + k.c1 * gi;
    const vi = k.b2 * v[i] + k.c2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * k.decay - k.stepSize * (mi / (Math.sqrt(vi) / k.bc2Sqrt + k.eps));
  }
}
