import { lionFiniteSimd, lionSimd, type LionConstants, type LionMaxima } from './kernels/simd.js';
import { fail } from '../core/errors.js';
import { add, div, greater, maximum, mul, sign, sub, where } from '../trace/ops/elementwise.js';
import { sum } from '../trace/ops/reduce.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { checkBetas, checkNumber, Optimizer, scaledLr, type Floats, type GraphStepInputs, type GraphUpdate, type OptimizerState, type ParamGroup, checkGraphUpdate } from './optimizer.js';

/** Options of {@link Lion}. Defaults are the paper's (Chen et al. 2023, Table 12). */
export interface LionOptions {
  /** Learning rate (default 1e-4). */
  lr: number;
  /** `[beta1, beta2]`: interpolation for the update, decay of the momentum (default [0.9, 0.99]). */
  betas: readonly [number, number];
  /** Decoupled weight decay: p <- p * (1 - lr * weightDecay) (default 0). */
  weightDecay: number;
  /**
   * Cautious update (Liang et al. 2024, "Cautious Optimizers"): coordinates
   * whose update disagrees in sign with the gradient are scaled by
   * `cautiousFactor`, then the tensor's scales are renormalised to mean 1.
   * Default false.
   */
  cautious: boolean;
  /** The scale of disagreeing coordinates when `cautious` (default 0, i.e. masked). */
  cautiousFactor: number;
}

/** Constructor options: any subset of {@link LionOptions}, plus parameter groups. */
export type LionConfig = Partial<LionOptions> & { groups?: readonly ParamGroup<LionOptions>[] };

/** The paper's defaults. */
export const LION_DEFAULTS: Readonly<LionOptions> = Object.freeze({ lr: 1e-4, betas: Object.freeze([0.9, 0.99] as const), weightDecay: 0, cautious: false, cautiousFactor: 0 });

/** The article's recipe for LLM pre-training: lr 5e-5, betas [0.95, 0.98], weight decay 0.8. */
export const LION_ARTICLE_PRESET: Readonly<Partial<LionOptions>> = Object.freeze({ lr: 5e-5, betas: Object.freeze([0.95, 0.98] as const), weightDecay: 0.8 });

// The smallest mean scale the cautious renormalisation divides by (as lion-pytorch).
const CAUTIOUS_MIN_MEAN = 1e-5;

/**
 * Lion, EvoLved Sign Momentum (Chen et al. 2023, https://arxiv.org/abs/2302.06675).
 * Per step, with gradient g and momentum m:
 *
 *   c = beta1 m + (1 - beta1) g
 *   p <- p (1 - lr wd) - lr sign(c)
 *   m <- beta2 m + (1 - beta2) g
 *
 * One state buffer per parameter (AdamW keeps two). Works on plain
 * Float32Array / Float64Array parameters in any project; float32 arithmetic
 * is rounded after every operation in the same order as {@link Lion.graphUpdate},
 * so the standalone and graph forms give the same bits.
 *
 * @example
 * ```ts
 * import { Lion } from 'llm-tricks';
 *
 * const weights = new Float32Array([0.5, -0.5]);
 * const bias = new Float32Array([0.1]);
 * const opt = new Lion({ lr: 1e-3, weightDecay: 0.1, groups: [{ params: [1], weightDecay: 0 }] });
 * opt.step([weights, bias], [new Float32Array([1, -1]), new Float32Array([2])]);
 * Array.from(bias); // [0.099]
 * ```
 */
export class Lion extends Optimizer<LionOptions> {
  readonly name: string = 'Lion';
  readonly slots: readonly string[] = ['exp_avg'];
  /** Per parameter array, the largest |p| and |m| its last float32 SIMD update wrote, and that m. */
  private written = new WeakMap<Floats, LionMaxima & { readonly state: Floats }>();

  constructor(options: LionConfig = {}) {
    super(LION_DEFAULTS, options, 'Lion');
  }

  protected check(o: LionOptions, site: string): void {
    checkNumber(site, 'lr', o.lr, 0);
    checkBetas(site, o.betas);
    checkNumber(site, 'weightDecay', o.weightDecay, 0);
    if (typeof o.cautious !== 'boolean') fail(site, `cautious expected a boolean, got ${typeof o.cautious}`);
    checkNumber(site, 'cautiousFactor', o.cautiousFactor, 0, 1, true);
  }

  /**
   * Without cautious: proven from what the last update wrote where
   * `gradBound` allows (see `lionProvenFinite`), else the SIMD check,
   * which reads the arrays in place (undefined where it does not run).
   */
  protected override finiteAfterStep(p: Floats, g: Floats, [m]: Floats[], o: LionOptions & { lrScale: number }, lr: number, _step: number, gradBound?: number): boolean | undefined {
    if (o.cautious) return undefined;
    const c = lionConstants(p, o, lr);
    const last = this.written.get(p);
    if (gradBound !== undefined && last?.state === m && lionProvenFinite(last, gradBound, c)) return true;
    return lionFiniteSimd(p, g, m, c, lionLoop(c));
  }

  /** Restores a state as {@link Optimizer.loadState} does; what earlier updates wrote is forgotten. */
  override loadState(state: OptimizerState): void {
    super.loadState(state);
    this.written = new WeakMap();
  }

  /** Each coordinate on its own, except the cautious update's renormalisation over the whole tensor. */
  protected override elementwise(o: LionOptions): boolean {
    return !o.cautious;
  }

  protected update(p: Floats, g: Floats, [m]: Floats[], o: LionOptions & { lrScale: number }, lr: number): void {
    const c = lionConstants(p, o, lr);
    this.written.delete(p);
    if (!o.cautious) {
      const loop = lionLoop(c);
      // WebAssembly SIMD on large arrays (the same bits), else the loop.
      const simd = lionSimd(p, g, m, c, loop);
      if (!simd) loop(p, g, m);
      else if (simd !== true) this.written.set(p, { ...simd, state: m });
      return;
    }
    // Cautious: the renormalisation needs every coordinate's sign first.
    const r = roundingOf(p);
    const { b1, c1, b2, c2, lr: lrr, decay } = c;
    const n = p.length;
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) u[i] = Math.sign(r(r(b1 * m[i]) + r(c1 * g[i])));
    cautiousScale(u, g, r(o.cautiousFactor), r);
    for (let i = 0; i < n; i++) {
      p[i] = r(r(p[i] * decay) - r(lrr * u[i]));
      m[i] = r(r(b2 * m[i]) + r(c2 * g[i]));
    }
  }

  /**
   * The same update written with Tensor ops, to append to a traced training
   * step. `slots[i]` holds parameter i's momentum; lr and step are graph inputs.
   */
  graphUpdate(params: readonly Tensor[], grads: readonly Tensor[], slots: readonly (readonly Tensor[])[], inputs: GraphStepInputs): GraphUpdate {
    checkGraphUpdate('Lion.graphUpdate', this.slots.length, params, grads, slots, inputs);
    const out: GraphUpdate = { params: [], slots: [] };
    params.forEach((p, i) => {
      const o = this.optionsFor(i);
      const k = (v: number): Tensor => tensor(v, { dtype: p.dtype });
      const g = grads[i];
      const [m] = slots[i];
      const lr = scaledLr(inputs.lr, p.dtype, o.lrScale);
      const decay = sub(k(1), mul(lr, k(o.weightDecay)));
      let u = sign(add(mul(k(o.betas[0]), m), mul(k(1 - o.betas[0]), g)));
      if (o.cautious) {
        const scale = where(greater(mul(u, g), 0), k(1), k(o.cautiousFactor));
        const meanScale = div(sum(scale), k(Math.max(1, p.size)));
        u = mul(u, div(scale, maximum(meanScale, k(CAUTIOUS_MIN_MEAN))));
      }
      out.params.push(sub(mul(p, decay), mul(lr, u)));
      out.slots.push([add(mul(k(o.betas[1]), m), mul(k(1 - o.betas[1]), g))]);
    });
    return out;
  }
}

const f = Math.fround;

/**
 * sign(c) as 1, 0 or -1, without branches: gradient signs are random, and a
 * mispredicted branch per coordinate more than doubled the step time
 * (measured against Math.sign and a ternary on random gradients).
 */
function signOf(c: number): number {
  return +(c > 0) - +(c < 0);
}

// One fused pass per dtype: a coordinate's update needs only its own m and g.
// Math.fround is called directly: V8 optimises a call through a variable
// holding it into code ten times slower than the direct call.

/**
 * The float32 Lion step, rounding after every operation as the graph form
 * does. Some roundings are implicit: the store into a Float32Array rounds
 * the last operation (a double sum of two float32 values rounds to the same
 * float32 as float32 arithmetic would), rounding never changes a sign, and
 * lr · sign(c) is exact.
 */
function lionStep32(p: Float32Array, g: Float32Array, m: Float32Array, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const c = f(b1 * m[i]) + f(c1 * gi);
    p[i] = f(p[i] * decay) - lr * signOf(c);
    m[i] = f(b2 * m[i]) + f(c2 * gi);
  }
}

/** The float64 Lion step. */
function lionStep64(p: Float64Array, g: Float64Array, m: Float64Array, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    p[i] = p[i] * decay - lr * signOf(b1 * m[i] + c1 * gi);
    m[i] = b2 * m[i] + c2 * gi;
  }
}

/** Scales u in place: 1 where u and g agree in sign, `factor` elsewhere, renormalised to mean 1. */
function cautiousScale(u: Float64Array, g: Floats, factor: number, r: (x: number) => number): void {
  const n = u.length;
  const scale = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    scale[i] = r(u[i] * g[i]) > 0 ? 1 : factor;
    total += scale[i];
  }
  const mean = Math.max(r(r(total) / Math.max(1, n)), r(CAUTIOUS_MIN_MEAN));
  for (let i = 0; i < n; i++) u[i] = r(u[i] * r(scale[i] / mean));
}

/** Rounding as `p`'s stores round: float32 arithmetic then matches the graph form bit for bit. */
function roundingOf(p: Floats): (x: number) => number {
  return p instanceof Float32Array ? Math.fround : (x: number) => x;
}

/** Lion's step constants, rounded to `p`'s element type. */
function lionConstants(p: Floats, o: LionOptions & { lrScale: number }, lr: number): LionConstants {
  const r = roundingOf(p);
  const lrr = o.lrScale === 1 ? r(lr) : r(r(lr) * r(o.lrScale));
  return { b1: r(o.betas[0]), c1: r(1 - o.betas[0]), b2: r(o.betas[1]), c2: r(1 - o.betas[1]), lr: lrr, decay: r(1 - r(lrr * r(o.weightDecay))) };
}

/**
 * Whether a float32 Lion step with constants `c` surely writes only finite
 * values, given that the last step wrote `last` (the largest |p| and |m|,
 * still in the arrays) and that every |g| is at most `gradBound`:
 * true when p is finite, |m| < 2^126, |g| <= 2^64, 0 <= lr < 2^100 and
 * -1 <= decay <= 1.
 * Then, with 0 <= b1, c1, b2, c2 <= 1 (betas in [0, 1)): b1·m and c1·g round to
 * at most |m| and |g|, so c is finite and sign(c) is -1, 0 or 1; |p·decay|
 * rounds to at most |p| <= FLT_MAX, and subtracting lr < 2^100 rounds to a
 * finite value (FLT_MAX + 2^103, half its ulp, is the first sum that rounds
 * to Infinity); |m'| <= |m| + |g| < 2^127. A float32 norm that is finite
 * bounds every |g| by 2^64 (a larger one squares to Infinity).
 */
export function lionProvenFinite(last: LionMaxima, gradBound: number, c: LionConstants): boolean {
  // The options were checked when given, but a group's object can change after: every premise is checked here.
  const unit = [c.b1, c.c1, c.b2, c.c2].every((x) => x >= 0 && x <= 1);
  return unit && last.p <= FLOAT32_MAX && last.m < 2 ** 126 && gradBound <= 2 ** 64 && c.lr >= 0 && c.lr < 2 ** 100 && c.decay >= -1 && c.decay <= 1;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Lion's loop over arrays of one type with constants `c` (not cautious). */
function lionLoop(c: LionConstants): (p: Floats, g: Floats, m: Floats) => void {
  return (p, g, m) => {
    if (p instanceof Float32Array) lionStep32(p, g as Float32Array, m as Float32Array, c.b1, c.c1, c.b2, c.c2, c.lr, c.decay);
    else lionStep64(p, g as Float64Array, m as Float64Array, c.b1, c.c1, c.b2, c.c2, c.lr, c.decay);
  };
}
