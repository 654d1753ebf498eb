import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { add, cast, cos, less, maximum, mul, pow, reciprocal, sin, sub, where } from '../trace/ops/elementwise.js';
import { max } from '../trace/ops/reduce.js';
import { gather } from '../trace/ops/indexing.js';
import { concat, reshape, sliceAxis, unsqueeze } from '../trace/ops/movement.js';
import { matmul } from '../trace/ops/linalg.js';
import { iota } from '../trace/ops/creation.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { mayEqual } from '../core/shape.js';
import { Module, positiveInt } from './module.js';
import { expectTensor } from '../trace/apply.js';

// B batch, H heads, T time, D head dim, R rotary dim (<= D), F = R / 2 frequencies.

/**
 * Context-extension methods, as Hugging Face names them (`rope_type`):
 * - linear: position interpolation (Chen et al. 2023), positions / factor;
 * - ntk: NTK-aware base scaling, base · factor^(R/(R-2));
 * - dynamic: NTK scaling recomputed for the current length past `originalMaxPositions`;
 * - yarn: YaRN (Peng et al. 2023), per-frequency blend of interpolation and extrapolation plus an attention scale;
 * - llama3: LLaMA 3.1's wavelength-banded scaling.
 */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'ntk'; factor: number }
  /** Frequencies follow the length used, max position + 1, computed in the graph from the positions (as transformers' `dynamic`). */
  | { type: 'dynamic'; factor: number; originalMaxPositions: number }
  | { type: 'yarn'; factor: number; originalMaxPositions: number; betaFast?: number; betaSlow?: number; attentionFactor?: number }
  | { type: 'llama3'; factor: number; originalMaxPositions: number; lowFreqFactor?: number; highFreqFactor?: number };

/** Options of {@link RotaryEmbedding}. */
export interface RotaryOptions {
  /** Frequency base θ (default 10000, as RoFormer and LLaMA 1/2). */
  base?: number;
  /** Dimensions rotated, from the front of the head (default: all of headDim; fewer is "partial rotary", as GPT-NeoX). */
  rotaryDim?: number;
  /** 'half' pairs i with i + R/2 (GPT-NeoX, Hugging Face LLaMA); 'interleaved' pairs 2i with 2i+1 (RoFormer, Meta's LLaMA). Default 'half'. */
  layout?: 'half' | 'interleaved';
  /** Positions the cos/sin tables cover (default 2048); positions past it are an error. */
  maxPositions?: number;
  /** A context-extension method (default none). */
  scaling?: RopeScaling;
}

/** Inverse frequencies and the cos/sin multiplier for a scaling method, at a given table length. */
function frequencies(R: number, base: number, scaling: RopeScaling | undefined, length: number): { inv: Float64Array; scale: number } {
  const pow = (b: number): Float64Array => Float64Array.from({ length: R / 2 }, (_, i) => 1 / b ** ((2 * i) / R));
  if (!scaling) return { inv: pow(base), scale: 1 };
  const { factor } = scaling;
  switch (scaling.type) {
    case 'linear': return { inv: pow(base).map((f) => f / factor), scale: 1 };
    case 'ntk': return { inv: pow(base * factor ** (R / (R - 2))), scale: 1 };
    case 'dynamic': {
      const orig = scaling.originalMaxPositions;
      const len = Math.max(length, orig);
      return { inv: pow(base * ((factor * len) / orig - (factor - 1)) ** (R / (R - 2))), scale: 1 };
    }
    case 'yarn': {
      const orig = scaling.originalMaxPositions;
      const dimFor = (rotations: number): number => (R * Math.log(orig / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
      const low = Math.max(Math.floor(dimFor(scaling.betaFast ?? 32)), 0);
      let high = Math.min(Math.ceil(dimFor(scaling.betaSlow ?? 1)), R - 1);
      if (high === low) high += 0.001;
      const inv = pow(base).map((f, i) => {
        const extrapolate = 1 - Math.min(1, Math.max(0, (i - low) / (high - low)));
        return (f / factor) * (1 - extrapolate) + f * extrapolate;
      });
      return { inv, scale: scaling.attentionFactor ?? 0.1 * Math.log(factor) + 1 };
    }
    case 'llama3': {
      const orig = scaling.originalMaxPositions;
      const lowF = scaling.lowFreqFactor ?? 1;
      const highF = scaling.highFreqFactor ?? 4;
      const inv = pow(base).map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < orig / highF) return f;
        if (wavelen > orig / lowF) return f / factor;
        const smooth = (orig / wavelen - lowF) / (highF - lowF);
        return (1 - smooth) * (f / factor) + smooth * f;
      });
      return { inv, scale: 1 };
    }
  }
}

// Each scaling type's option names (a YaRN beta_fast, say, must not pass unnoticed).
const SCALING_KEYS: Readonly<Record<RopeScaling['type'], readonly string[]>> = {
  linear: ['type', 'factor'],
  ntk: ['type', 'factor'],
  dynamic: ['type', 'factor', 'originalMaxPositions'],
  yarn: ['type', 'factor', 'originalMaxPositions', 'betaFast', 'betaSlow', 'attentionFactor'],
  llama3: ['type', 'factor', 'originalMaxPositions', 'lowFreqFactor', 'highFreqFactor'],
};

const ROTARY_KEYS = optionKeys<RotaryOptions>({ base: true, rotaryDim: true, layout: true, maxPositions: true, scaling: true });

function checkScaling(site: string, s: RopeScaling | undefined): void {
  if (s === undefined) return;
  if (typeof s !== 'object' || s === null || !Object.hasOwn(SCALING_KEYS, s.type)) {
    fail(site, `scaling.type expected 'linear', 'ntk', 'dynamic', 'yarn' or 'llama3', got ${show((s as { type?: unknown })?.type)}`);
  }
  checkOptions(site, s, SCALING_KEYS[s.type], 'scaling');
  if (typeof s.factor !== 'number' || !(s.factor >= 1)) fail(site, `scaling.factor expected a number >= 1, got ${show(s.factor)}`);
  if (s.type === 'dynamic' || s.type === 'yarn' || s.type === 'llama3') positiveInt(site, 'scaling.originalMaxPositions', s.originalMaxPositions);
  // The optional numbers of yarn and llama3: absent, or finite and > 0 (a string or a negative beta gave NaN logits).
  const optional = s.type === 'yarn' ? (['betaFast', 'betaSlow', 'attentionFactor'] as const) : s.type === 'llama3' ? (['lowFreqFactor', 'highFreqFactor'] as const) : [];
  for (const key of optional) {
    const v = (s as Record<string, unknown>)[key];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) fail(site, `scaling.${key} expected a finite number > 0, got ${show(v)}`);
  }
  if (s.type === 'llama3' && (s.lowFreqFactor ?? 1) >= (s.highFreqFactor ?? 4)) fail(site, `scaling.lowFreqFactor expected below highFreqFactor (${s.highFreqFactor ?? 4}), got ${s.lowFreqFactor ?? 1}`);
}

/**
 * Rotary position embedding (RoPE; Su et al. 2021,
 * https://arxiv.org/abs/2104.09864): rotates each pair of query/key
 * dimensions by an angle proportional to the position, so q(m)·k(n)
 * depends only on m − n. The cos/sin tables are computed once per table
 * length and gathered by position, so cached decoding at an offset reads the
 * same rows as a full pass. Shapes: x (..., T, D), positions (T) int32.
 */
export class RotaryEmbedding extends Module {
  readonly headDim: number;
  readonly rotaryDim: number;
  readonly base: number;
  readonly layout: 'half' | 'interleaved';
  readonly maxPositions: number;
  readonly scaling: RopeScaling | undefined;
  private readonly tables = new Map<string, { cos: Tensor; sin: Tensor }>();

  constructor(headDim: number, options: RotaryOptions = {}) {
    super();
    const site = 'RotaryEmbedding';
    checkOptions(site, options, ROTARY_KEYS);
    this.headDim = positiveInt(site, 'headDim', headDim);
    this.rotaryDim = positiveInt(site, 'rotaryDim', options?.rotaryDim ?? headDim);
    if (this.rotaryDim % 2 !== 0 || this.rotaryDim > headDim) fail(site, `rotaryDim expected an even number <= headDim (${headDim}), got ${this.rotaryDim}`);
    this.base = options?.base ?? 10000;
    if (typeof this.base !== 'number' || !(this.base > 1) || !Number.isFinite(this.base)) fail(site, `base expected a finite number > 1, got ${show(this.base)}`);
    this.layout = options?.layout ?? 'half';
    if (this.layout !== 'half' && this.layout !== 'interleaved') fail(site, `layout expected 'half' or 'interleaved', got ${show(this.layout)}`);
    this.maxPositions = positiveInt(site, 'maxPositions', options?.maxPositions ?? 2048);
    checkScaling(site, options?.scaling);
    this.scaling = options?.scaling;
  }

  /**
   * The cos and sin tables, (length, R/2), in `dtype`; computed once per
   * length and dtype. For dynamic NTK, the table of a length L is that of
   * a sequence of L positions (forward computes it in the graph instead).
   */
  table(length: number, dtype: 'float32' | 'float64' = 'float32'): { cos: Tensor; sin: Tensor } {
    return this.tableOf(length, dtype, this.scaling);
  }

  private tableOf(length: number, dtype: 'float32' | 'float64', scaling: RopeScaling | undefined): { cos: Tensor; sin: Tensor } {
    const key = `${length}:${dtype}:${scaling === this.scaling ? 'scaled' : 'plain'}`;
    let t = this.tables.get(key);
    if (!t) {
      const F = this.rotaryDim / 2;
      const { inv, scale } = frequencies(this.rotaryDim, this.base, scaling, length);
      const cos = new Float64Array(length * F);
      const sin = new Float64Array(length * F);
      for (let p = 0; p < length; p++) {
        for (let i = 0; i < F; i++) {
          cos[p * F + i] = Math.cos(p * inv[i]) * scale;
          sin[p * F + i] = Math.sin(p * inv[i]) * scale;
        }
      }
      t = {
        cos: tensor(cos, { shape: [length, F], dtype }),
        sin: tensor(sin, { shape: [length, F], dtype }),
      };
      this.tables.set(key, t);
    }
    return t;
  }

  /** Eager positions are range-checked here, since gather would wrap negative ones. */
  private checkPositions(positions: Tensor): void {
    if (positions.isTraced) return;
    const bad = Array.from(positions.data(), Number).find((p) => p < 0 || p >= this.maxPositions);
    if (bad !== undefined) fail('RotaryEmbedding', `positions expected in [0, ${this.maxPositions - 1}] (maxPositions), got ${bad}`);
  }

  /**
   * cos and sin (..., F) at `pos` (T) or (B, T). Dynamic NTK's frequencies depend on the
   * length used, L = max position + 1, a value of the positions: they are
   * computed from it as ops, so an eager call, a compiled graph and an
   * exported model (positions as inputs) agree, as transformers computes
   * them (in the model's float type). Up to originalMaxPositions the
   * frequencies are the unscaled table's rows.
   */
  private angles(pos: Tensor, dtype: 'float32' | 'float64'): { cos: Tensor; sin: Tensor } {
    const dynamic = this.scaling?.type === 'dynamic';
    const table = this.tableOf(this.maxPositions, dtype, dynamic ? undefined : this.scaling);
    const rows = { cos: gather(table.cos, pos, 0), sin: gather(table.sin, pos, 0) };
    if (this.scaling?.type !== 'dynamic') return rows;
    const { factor, originalMaxPositions: orig } = this.scaling;
    const R = this.rotaryDim;
    const p = cast(pos, dtype); // (T) or (B, T)
    const length = add(max(p), 1); // over every row, as transformers' torch.max(position_ids) + 1
    // base' = base · (factor · L / orig − (factor − 1))^(R / (R − 2)), inv_i = 1 / base'^(2i / R).
    const grown = sub(mul(maximum(length, orig), factor / orig), factor - 1);
    const base = mul(pow(grown, R / (R - 2)), this.base);
    const exponents = tensor(Float64Array.from({ length: R / 2 }, (_, i) => (2 * i) / R), { dtype });
    const angle = mul(reshape(p, [...pos.shape, 1]), reciprocal(pow(base, exponents))); // (..., F)
    const within = less(length, orig + 0.5);
    return { cos: where(within, rows.cos, cos(angle)), sin: where(within, rows.sin, sin(angle)) };
  }

  /**
   * Rotates x (..., T, D) at `positions` (T) int32, default 0..T-1, or at
   * per-row positions (B, T) when x is (B, ..., T, D) (left-padded batches,
   * as transformers' position_ids). Dims past rotaryDim pass through unchanged.
   */
  forward(x: Tensor, positions?: Tensor): Tensor {
    expectTensor('RotaryEmbedding', 'x', x);
    if (positions !== undefined) expectTensor('RotaryEmbedding', 'positions', positions);
    const site = 'RotaryEmbedding';
    const D = x.shape[x.rank - 1];
    if (x.rank < 2 || D !== this.headDim) fail(site, `input expected shape [..., T, ${this.headDim}], got [${x.shape.join(', ')}]`);
    const T = x.shape[x.rank - 2];
    const pos = positions ?? iota(T, 'int32');
    const perRow = pos.rank === 2 && x.rank >= 3;
    if ((pos.rank !== 1 && !perRow) || (pos.dtype !== 'int32' && pos.dtype !== 'int64') || !mayEqual(pos.shape[pos.rank - 1], T) || (perRow && !mayEqual(pos.shape[0], x.shape[0]))) {
      fail(site, `positions expected an int32 tensor of shape [${T}]${x.rank >= 3 ? ` or [${x.shape[0]}, ${T}]` : ''}, got ${pos.dtype}[${pos.shape.join(', ')}]`);
    }
    const dtype = x.dtype === 'float64' ? 'float64' : 'float32';
    this.checkPositions(pos);
    let { cos, sin } = this.angles(pos, dtype); // (T, F) or (B, T, F)
    if (perRow && x.rank > 3) {
      // (B, T, F) against x (B, ..., T, D): ones between the batch and the time axes.
      const shape = [x.shape[0], ...Array<number>(x.rank - 3).fill(1), T, this.rotaryDim / 2];
      [cos, sin] = [reshape(cos, shape), reshape(sin, shape)];
    }
    const R = this.rotaryDim;
    const F = R / 2;
    const rot = R === this.headDim ? x : sliceAxis(x, -1, 0, R);
    const rotated = rotate(rot, cos, sin, F, this.layout, dtype);
    return R === this.headDim ? rotated : concat([rotated, sliceAxis(x, -1, R, this.headDim)], -1);
  }
}

// Each rotated pair (a, b) -> (a cos − b sin, b cos + a sin), as x C + (x P) S: C and S hold each pair's cos
// and sin at both of its places, and P is the constant signed permutation taking x to its partners (−b, a).
// A product with P is exact (one ±1 per column, the rest exact zeros; not under TF32, which ONNX Runtime's CUDA
// provider uses by default), so the result is the pairwise formula's for finite inputs, up to the sign of a
// zero; a NaN or an infinity reaches the whole rotated vector (0 · ∞). The backward is a product with Pᵀ: no
// slices of the head dimension, whose gradients (zero-padding) and concatenations cost more on ONNX Runtime's
// CPU than the small product.
function rotate(x: Tensor, cos: Tensor, sin: Tensor, F: number, layout: 'half' | 'interleaved', dtype: 'float32' | 'float64'): Tensor {
  const both = (t: Tensor): Tensor => (layout === 'half' ? concat([t, t], -1) : reshape(concat([unsqueeze(t, -1), unsqueeze(t, -1)], -1), [...t.shape.slice(0, -1), 2 * F]));
  return add(mul(x, both(cos)), mul(matmul(x, partners(2 * F, layout, dtype)), both(sin)));
}

const partnerCache = new Map<string, Tensor>();

/** The (R, R) signed permutation P: (x P)[j] is −x[partner] at a pair's first place, +x[partner] at its second. */
function partners(R: number, layout: 'half' | 'interleaved', dtype: 'float32' | 'float64'): Tensor {
  const key = `${R} ${layout} ${dtype}`;
  let p = partnerCache.get(key);
  if (!p) {
    const F = R / 2;
    const data = new Float64Array(R * R);
    for (let i = 0; i < F; i++) {
      // The pair's two places: (i, i + F) in the half layout, (2i, 2i + 1) interleaved.
      const [first, second] = layout === 'half' ? [i, i + F] : [2 * i, 2 * i + 1];
      data[second * R + first] = -1; // output first = −x[second]
      data[first * R + second] = 1; // output second = x[first]
    }
    p = tensor(dtype === 'float32' ? Float32Array.from(data) : data, { shape: [R, R], dtype });
    partnerCache.set(key, p);
  }
  return p;
}

/** A helper for tests and users: the angle table's inverse frequencies for the given settings. */
export function ropeFrequencies(rotaryDim: number, base: number, scaling?: RopeScaling, length = 0): Float64Array {
  const site = 'ropeFrequencies';
  if (positiveInt(site, 'rotaryDim', rotaryDim) % 2 !== 0) fail(site, `rotaryDim expected an even number, got ${rotaryDim}`);
  if (typeof base !== 'number' || !(base > 1) || !Number.isFinite(base)) fail(site, `base expected a finite number > 1, got ${show(base)}`);
  checkScaling(site, scaling);
  if (!Number.isInteger(length) || length < 0) fail(site, `length expected a non-negative integer, got ${show(length)}`);
  return frequencies(rotaryDim, base, scaling, length).inv;
}

