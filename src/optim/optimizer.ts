import { allFiniteSimd, allocateResident } from './kernels/simd.js';
import { checkOptions } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { describe, type DType } from '../core/dtype.js';
import { cast, mul } from '../trace/ops/elementwise.js';
import { Tensor, tensor } from '../trace/tensor.js';
import type { GraphOptimizer, GraphStepInputs, GraphUpdate } from './graph-optimizer.js';

/** Parameters and gradients of the standalone optimizers: float32 or float64 arrays. */
export type Floats = Float32Array | Float64Array;

/** Options that may differ per parameter group; `lrScale` multiplies the step's learning rate. */
export interface GroupOptions {
  /** Multiplies the learning rate for this group (default 1). */
  lrScale?: number;
  /** Decoupled weight decay for this group. */
  weightDecay?: number;
}

/** A group of parameters (indices into the arrays passed to `step`) with its own options. */
export type ParamGroup<O> = Partial<O> & GroupOptions & { readonly params: readonly number[] };

/** Options of one `step` call. */
export interface StepOptions {
  /** The learning rate of this step, e.g. from a schedule (default: the constructor's `lr`). */
  lr?: number;
}

/** Everything needed to resume an optimizer bit-identically. */
export interface OptimizerState {
  /** Which optimizer wrote it ('Lion', 'AdamW'). */
  readonly name: string;
  /** Steps taken so far. */
  readonly step: number;
  /** Per parameter, one buffer per state slot (copies). */
  readonly buffers: readonly (readonly Floats[])[];
}

export type { GraphOptimizer, GraphStepInputs, GraphUpdate };

/**
 * Fails unless the array `a` has no empty slots: a sparse array such as
 * `[x, , y]` has a length that counts its holes, but `forEach` and `every`
 * skip them, so unchecked it would pass validation with a parameter missing.
 */
export function checkDense(site: string, name: string, a: readonly unknown[]): void {
  for (let i = 0; i < a.length; i++) if (!(i in a)) fail(site, `${name}[${i}] expected a value, got an empty slot (a sparse array)`);
}

/** Checks [beta1, beta2]: two numbers in [0, 1). */
export function checkBetas(site: string, betas: unknown): void {
  if (!Array.isArray(betas) || betas.length !== 2) fail(site, `betas expected [beta1, beta2], got ${show(betas)}`);
  checkNumber(site, 'betas[0]', betas[0], 0, 1);
  checkNumber(site, 'betas[1]', betas[1], 0, 1);
}

/** Checks a number option: finite, at least `min`, below `max` (or at most, when `maxInclusive`). */
export function checkNumber(site: string, name: string, v: unknown, min: number, max: number = Infinity, maxInclusive: boolean = false): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && (maxInclusive ? v <= max : v < max);
  if (!ok) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}${maxInclusive ? ']' : ')'}`;
    fail(site, `${name} expected a finite number ${range}, got ${show(v)}`);
  }
  return v as number;
}

/** The graph's lr input in the parameter's dtype, times the group's scale (skipped when 1, so rounding matches the standalone form). */
export function scaledLr(lr: Tensor, dtype: DType, lrScale: number): Tensor {
  const base = cast(lr, dtype);
  return lrScale === 1 ? base : mul(base, tensor(lrScale, { dtype }));
}

/** Whether two arrays share any byte of memory. */
function overlaps(a: Floats, b: Floats): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Index of the first NaN or ±Infinity, or -1. */
function firstNonFinite(g: Floats): number {
  for (let i = 0; i < g.length; i++) {
    // x - x is 0 for finite x and NaN for NaN and ±Infinity.
    if (g[i] - g[i] !== 0) return i;
  }
  return -1;
}

/** Elements per part of {@link Optimizer.stepIfFinite}'s check: four arrays of them (AdamW's) stay in a core's cache. */
const DRY_RUN_CHUNK = 1 << 15;

/** A frozen copy whose array options (betas) are copied and frozen too, so callers can't change them later. */
function frozenCopy<O extends object>(o: O): Readonly<O> {
  const out = { ...o } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (Array.isArray(v)) out[k] = Object.freeze([...v]);
  return Object.freeze(out) as Readonly<O>;
}

/**
 * Shared machinery of the standalone optimizers: parameter groups,
 * validation before anything changes, lazily allocated state buffers, and
 * state save/load. Subclasses implement `update` for one parameter.
 */
export abstract class Optimizer<O extends { lr: number }> implements GraphOptimizer {
  /** Name stored in saved state. */
  abstract readonly name: string;
  /** Names of the per-parameter state buffers, e.g. `['exp_avg']`. */
  abstract readonly slots: readonly string[];

  /** The update as graph ops, bit-identical to `step` in float32 (see {@link GraphOptimizer}). */
  abstract graphUpdate(params: readonly Tensor[], grads: readonly Tensor[], slots: readonly (readonly Tensor[])[], inputs: GraphStepInputs): GraphUpdate;

  /** The constructor's learning rate (`defaults.lr`). */
  get lr(): number {
    return this.defaults.lr;
  }
  /** The options every parameter uses unless its group overrides them. */
  readonly defaults: Readonly<O>;
  /** The parameter groups, by index into the arrays given to `step`. */
  readonly groups: readonly ParamGroup<O>[];
  private buffers: Floats[][] | undefined;
  /** Whether `buffers` were allocated by allocate(), with the parameters. */
  private allocated = false;
  private steps = 0;
  /** Scratch arrays of {@link stepIfFinite}'s check, one per array an update reads. */
  private dryRun: Floats[] | null = null;

  /** Merges `options` over `template` (unknown names are errors) and checks the result and the groups. */
  protected constructor(template: Readonly<O>, options: Partial<O> & { groups?: readonly ParamGroup<O>[] } | undefined, site: string) {
    const o: Partial<O> & { groups?: readonly ParamGroup<O>[] } = options ?? {};
    if (typeof o !== 'object') fail(site, `options expected an object, got ${show(o)}`);
    checkOptions(site, o, [...Object.keys(template), 'groups']);
    const defaults = { ...template } as O;
    for (const key of Object.keys(template) as (keyof O)[]) {
      if (o[key] !== undefined) defaults[key] = o[key] as O[keyof O];
    }
    const groups = o.groups;
    this.defaults = frozenCopy(defaults);
    this.check(defaults, site);
    if (groups !== undefined && !Array.isArray(groups)) fail(site, `groups expected an array, got ${describe(groups)}`);
    const seen = new Set<number>();
    (groups ?? []).forEach((g, k) => {
      if (typeof g !== 'object' || g === null || !Array.isArray(g.params)) fail(site, `groups[${k}].params expected an array of parameter indices, got ${describe(g?.params)}`);
      g.params.forEach((i: number) => {
        if (!Number.isInteger(i) || i < 0) fail(site, `groups[${k}].params expected non-negative integers, got ${show(i)}`);
        if (seen.has(i)) fail(site, `groups expected each parameter in at most one group, got parameter ${i} twice`);
        seen.add(i);
      });
      checkOptions(site, g, [...Object.keys(defaults), 'params', 'lrScale'], `groups[${k}]`);
      this.check(this.resolve(g), site);
      if (g.lrScale !== undefined) checkNumber(site, `groups[${k}].lrScale`, g.lrScale, 0);
    });
    this.groups = groups ?? [];
  }

  /** Validates a full set of options; throws naming `where`. */
  protected abstract check(options: O, site: string): void;

  /**
   * Whether `update` with these options computes each coordinate from that
   * coordinate alone, so that a part of the arrays can be updated apart
   * (false unless a subclass says so).
   */
  protected elementwise(_options: O): boolean {
    return false;
  }

  /**
   * Whether `update` would leave only finite values in `p` and `buffers`,
   * found without changing them (by a kernel computing the new values
   * without storing them, or proven, see stepIfFinite's `gradBound`);
   * undefined to let `stepIfFinite` try the update on copies (the default).
   * @internal
   */
  protected finiteAfterStep(_p: Floats, _g: Floats, _buffers: Floats[], _options: O & { lrScale: number }, _lr: number, _step: number, _gradBound?: number): boolean | undefined {
    return undefined;
  }

  /**
   * Updates one parameter in place from its gradient and state buffers.
   * `lr` is the step's learning rate before the group's `options.lrScale`.
   */
  protected abstract update(p: Floats, g: Floats, buffers: Floats[], options: O & { lrScale: number }, lr: number, step: number): void;

  /** The number of steps taken. */
  get stepCount(): number {
    return this.steps;
  }

  /** The options of parameter `i`: the defaults overridden by its group. */
  optionsFor(i: number): O & { lrScale: number } {
    const group = this.groups.find((g) => g.params.includes(i));
    return { ...this.resolve(group ?? {}), lrScale: group?.lrScale ?? 1 };
  }

  private resolve(group: Partial<O>): O {
    const out = { ...this.defaults } as O;
    for (const key of Object.keys(this.defaults) as (keyof O)[]) {
      if (group[key] !== undefined) out[key] = group[key] as O[keyof O];
    }
    return out;
  }

  /**
   * Updates `params` in place from `grads`. Everything is checked first
   * (counts, sizes, finite gradients, lr), so a rejected step changes
   * neither the parameters nor the state.
   */
  step(params: readonly Floats[], grads: readonly Floats[], options?: StepOptions): void {
    const site = `${this.name}.step`;
    checkOptions(site, options, ['lr']);
    const lr = checkNumber(site, 'lr', options?.lr ?? this.defaults.lr, 0);
    this.checkArrays(site, params, grads);
    grads.forEach((g, i) => {
      // The SIMD check answers only whether all are finite; the loop finds which one is not.
      const bad = allFiniteSimd(g) === true ? -1 : firstNonFinite(g);
      if (bad >= 0) fail(site, `grads[${i}] expected finite values, got ${g[bad]} at index ${bad}`);
    });
    this.buffers ??= stateBuffers(params, this.slots.length);
    this.updateAll(params, grads, lr, this.steps + 1);
  }

  /** Updates every parameter in place as step number `step`, and counts it. */
  private updateAll(params: readonly Floats[], grads: readonly Floats[], lr: number, step: number): void {
    params.forEach((p, i) => {
      // A gradient that shares memory with its parameter (the same array, or overlapping views) is read as it was
      // before the step: copied first, so the in-place update cannot change it midway, on any path.
      const g = overlaps(p, grads[i]) ? grads[i].slice() : grads[i];
      this.update(p, g, this.buffers![i], this.optionsFor(i), lr, step);
    });
    this.steps = step;
  }

  /** Checks a step's arrays: one gradient per parameter, of its type and length, and the state's shapes. */
  private checkArrays(site: string, params: readonly Floats[], grads: readonly Floats[]): void {
    if (!Array.isArray(params) || !Array.isArray(grads)) fail(site, `params and grads expected arrays, got ${describe(params)} and ${describe(grads)}`);
    checkDense(site, 'params', params);
    checkDense(site, 'grads', grads);
    if (params.length !== grads.length) fail(site, `grads expected one per parameter (${params.length}), got ${grads.length}`);
    if (this.buffers && this.buffers.length !== params.length) fail(site, `params expected ${this.buffers.length} arrays as in the optimizer's state, got ${params.length}`);
    const top = Math.max(-1, ...this.groups.flatMap((g) => g.params));
    if (top >= params.length) fail(site, `groups expected parameter indices below ${params.length}, got ${top}`);
    params.forEach((p, i) => {
      const g = grads[i];
      if (!(p instanceof Float32Array || p instanceof Float64Array)) fail(site, `params[${i}] expected a Float32Array or Float64Array, got ${describe(p)}`);
      if (!g || g.constructor !== p.constructor || g.length !== p.length) fail(site, `grads[${i}] expected a ${p.constructor.name} of length ${p.length}, got ${describe(g)}`);
      const b = this.buffers?.[i];
      if (this.buffers && (!b || b[0].length !== p.length || b[0].constructor !== p.constructor)) {
        fail(site, `params[${i}] expected a ${b?.[0].constructor.name} of length ${b?.[0].length} as in the optimizer's state, got ${describe(p)}`);
      }
    });
  }

  /**
   * The Trainer's update on the CPU (not for general use): steps `params`
   * from `grads` as step number `step` (1-based) with learning rate `lr`,
   * only when every new parameter and state value is finite (so also not
   * from a non-finite gradient); otherwise nothing changes and it returns
   * false. The update is computed twice: first to check the new values,
   * writing nothing of them (Lion's SIMD check reads the arrays where they
   * are; otherwise the update runs part by part on scratch copies), then in
   * place. With `gradBound` (|g| at most it, and `params` changed by this
   * optimizer only) Lion may prove the new values finite without the check.
   * @internal
   */
  stepIfFinite(params: readonly Floats[], grads: readonly Floats[], lr: number, step: number, gradBound?: number): boolean {
    const site = `${this.name}.stepIfFinite`;
    checkNumber(site, 'lr', lr, 0);
    if (!Number.isSafeInteger(step) || step < 1) fail(site, `step expected a positive integer, got ${show(step)}`);
    this.checkArrays(site, params, grads);
    this.buffers ??= stateBuffers(params, this.slots.length);
    const buffers = this.buffers;
    if (!params.every((p, i) => this.finiteAfter(p, grads[i], buffers[i], this.optionsFor(i), lr, step, gradBound))) return false;
    this.updateAll(params, grads, lr, step);
    return true;
  }

  /** Whether one parameter's update gives finite values, computed on copies. */
  private finiteAfter(p: Floats, g: Floats, buffers: Floats[], o: O & { lrScale: number }, lr: number, step: number, gradBound?: number): boolean {
    const checked = this.finiteAfterStep(p, g, buffers, o, lr, step, gradBound);
    if (checked !== undefined) return checked;
    const arrays = [p, g, ...buffers];
    // An elementwise update runs part by part through arrays reused between steps; any other on whole copies.
    const chunked = this.elementwise(o);
    const per = chunked ? DRY_RUN_CHUNK : Math.max(1, p.length);
    let scratch = this.dryRun;
    if (chunked && (scratch?.length !== arrays.length || scratch[0].constructor !== p.constructor)) {
      const like = p.constructor as new (n: number) => Floats;
      scratch = this.dryRun = allocateResident(arrays.map(() => per), p instanceof Float64Array) ?? arrays.map(() => new like(per));
    }
    for (let start = 0; start < p.length; start += per) {
      const end = Math.min(p.length, start + per);
      const [sp, sg, ...sb] = arrays.map((a, k) => {
        if (!chunked) return a.slice(start, end);
        const s = scratch![k].subarray(0, end - start);
        s.set(a.subarray(start, end));
        return s;
      });
      this.update(sp, sg, sb, o, lr, step);
      if (![sp, ...sb].every((x) => allFiniteSimd(x) ?? firstNonFinite(x) < 0)) return false;
    }
    return true;
  }

  /**
   * Parameters and gradients of `lengths` elements, and this optimizer's
   * state for them, allocated together where the WebAssembly SIMD kernels
   * run, in a memory of their own: `step(params, grads)` then updates them
   * where they are, without the copies in and out of WebAssembly memory that
   * ordinary parameter and gradient arrays need (more than half of Lion's
   * step time; the state of an optimizer stepping ordinary arrays lives in
   * WebAssembly memory anyway, from its first step). Elsewhere they are
   * ordinary arrays. Fill `params` (e.g. `params[0].set(weights)`) and each
   * step's `grads` in place, and pass these arrays to every step (others
   * work, but are copied through as ordinary arrays are). Call it once,
   * before the first step; the arrays are zeros, and stay valid as long as
   * they are referenced. One WebAssembly memory holds at most 4 GiB: larger
   * sets get ordinary arrays. With `withGrads` false no gradient arrays are
   * allocated (`grads` is empty), for gradients that arrive in arrays of
   * their own.
   */
  allocate(lengths: readonly number[], dtype: 'float32' | 'float64' = 'float32', withGrads = true): { params: Floats[]; grads: Floats[] } {
    const site = `${this.name}.allocate`;
    if (this.buffers) fail(site, 'expected an optimizer without state (before its first step and any loadState), got one with state');
    if (Array.isArray(lengths)) checkDense(site, 'lengths', lengths);
    if (!Array.isArray(lengths) || lengths.length === 0 || !lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) fail(site, `lengths expected a non-empty array of non-negative integers, got ${describe(lengths)}`);
    if (dtype !== 'float32' && dtype !== 'float64') fail(site, `dtype expected 'float32' or 'float64', got ${show(dtype)}`);
    if (typeof withGrads !== 'boolean') fail(site, `withGrads expected true or false, got ${show(withGrads)}`);
    const lead = withGrads ? 2 : 1;
    const per = lead + this.slots.length;
    const sizes = lengths.flatMap((n) => Array<number>(per).fill(n));
    let arrays = allocateResident(sizes, dtype === 'float64');
    try {
      arrays ??= sizes.map((n) => (dtype === 'float64' ? new Float64Array(n) : new Float32Array(n)));
    } catch (e) {
      fail(site, `lengths expected arrays that fit in memory, got ${describe(lengths)} (${e instanceof Error ? e.message : String(e)})`);
    }
    const at = (i: number): Floats[] => arrays.slice(i * per, (i + 1) * per);
    this.buffers = lengths.map((_, i) => at(i).slice(lead));
    this.allocated = true;
    return { params: lengths.map((_, i) => at(i)[0]), grads: withGrads ? lengths.map((_, i) => at(i)[1]) : [] };
  }

  /** A copy of the state: the step count and every buffer. */
  state(): OptimizerState {
    return { name: this.name, step: this.steps, buffers: (this.buffers ?? []).map((b) => b.map((x) => x.slice())) };
  }

  /** Restores a state from `state()`; it is checked whole before anything changes. */
  loadState(state: OptimizerState): void {
    const site = `${this.name}.loadState`;
    if (typeof state !== 'object' || state === null) fail(site, `state expected an object from state(), got ${describe(state)}`);
    if (state.name !== this.name) fail(site, `state expected one saved by ${this.name}, got ${show(state.name)}`);
    if (!Number.isInteger(state.step) || state.step < 0) fail(site, `step expected a non-negative integer, got ${show(state.step)}`);
    if (!Array.isArray(state.buffers)) fail(site, `buffers expected an array, got ${describe(state.buffers)}`);
    checkDense(site, 'buffers', state.buffers);
    state.buffers.forEach((b, i) => {
      if (Array.isArray(b)) checkDense(site, `buffers[${i}]`, b);
      const ok = Array.isArray(b) && b.length === this.slots.length
        && b.every((x: unknown) => (x instanceof Float32Array || x instanceof Float64Array) && x.length === b[0].length && x.constructor === b[0].constructor);
      if (!ok) fail(site, `buffers[${i}] expected ${this.slots.length} equal-length float arrays (${this.slots.join(', ')}), got ${describe(b)}`);
    });
    this.steps = state.step;
    const copies: Floats[][] = state.buffers.map((b) => b.map((x: Floats) => x.slice()));
    const own = this.buffers;
    const same = own?.length === copies.length && copies.every((b, i) => b.every((x: Floats, j: number) => x.constructor === own[i][j].constructor && x.length === own[i][j].length));
    if (this.allocated && own && (same || copies.length === 0)) {
      // State allocated with the parameters stays where it is: written in place (an empty state zeroes it).
      own.forEach((b, i) => b.forEach((x, j) => (copies.length ? x.set(copies[i][j]) : x.fill(0))));
    } else {
      this.buffers = copies.length ? stateBuffers(copies.map((b) => b[0]), this.slots.length) : undefined;
      this.buffers?.forEach((b, i) => b.forEach((x, j) => x.set(copies[i][j])));
      this.allocated = false;
    }
  }
}

/**
 * `slots` zeroed state buffers for each array of `like` (its type and
 * length): in a WebAssembly memory of their own where the SIMD kernels run
 * on some of them and every array has one type, so that a step streams
 * only the parameters and gradients through WebAssembly memory and updates
 * the state where it is; ordinary arrays elsewhere.
 */
function stateBuffers(like: readonly Floats[], slots: number): Floats[][] {
  // Where only small arrays are stepped, the JavaScript loops run (simd.ts): no WebAssembly is compiled for them.
  const kernels = like.some((p) => p.length >= 2048) && like.every((p) => p.constructor === like[0].constructor);
  const resident = kernels ? allocateResident(like.flatMap((p) => Array<number>(slots).fill(p.length)), like[0] instanceof Float64Array) : null;
  return like.map((p, i) => Array.from({ length: slots }, (_, j) => resident?.[i * slots + j] ?? new (p.constructor as new (n: number) => Floats)(p.length)));
}

/** Checks graphUpdate's arguments: one gradient and one list of `slots` tensors per parameter, and the step inputs. */
export function checkGraphUpdate(site: string, slotCount: number, params: unknown, grads: unknown, slots: unknown, inputs: unknown): void {
  const tensors = (v: unknown): boolean => Array.isArray(v) && v.every((t) => t instanceof Tensor);
  if (!tensors(params)) fail(site, `params expected an array of Tensors, got ${describe(params)}`);
  const n = (params as unknown[]).length;
  if (!tensors(grads) || (grads as unknown[]).length !== n) fail(site, `grads expected ${n} Tensors (one per parameter), got ${describe(grads)}`);
  if (!Array.isArray(slots) || slots.length !== n || !slots.every((s) => tensors(s) && (s as unknown[]).length === slotCount)) fail(site, `slots expected ${n} lists of ${slotCount} Tensors, got ${describe(slots)}`);
  const { lr, step } = (inputs ?? {}) as { lr?: unknown; step?: unknown };
  if (!(lr instanceof Tensor) || !(step instanceof Tensor)) fail(site, `inputs expected { lr, step } scalar Tensors, got ${describe(inputs)}`);
}
