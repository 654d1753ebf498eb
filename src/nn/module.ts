import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { describe, type FloatDType } from '../core/dtype.js';
import { formatShape, shapesEqual } from '../core/shape.js';
import { Tensor } from '../trace/tensor.js';

/** A trainable tensor owned by a module. Its value is replaced by training or loading, never mutated. */
export class Parameter {
  value: Tensor;

  constructor(value: Tensor) {
    if (!(value instanceof Tensor) || value.isTraced) fail('Parameter', `value expected an eager Tensor, got ${describe(value)}`);
    this.value = value;
  }
}

/** Options every module accepts. */
export interface ModuleOptions {
  /** Seed of the deterministic initialisation (default 0). */
  seed?: number;
  /** Parameter dtype (default float32). */
  dtype?: 'float32' | 'float64';
}

/**
 * Runtime inputs of a forward pass that may change every step without
 * rebuilding a graph: the dropout rate and the random stream it draws from.
 */
export interface ForwardContext {
  /** Dropout rate: a float scalar (tensor or number). Absent, 0 or eval mode: no dropout. */
  dropout?: Tensor | number;
  /** int32 scalar seed of the dropout masks. */
  seed?: Tensor;
  /** int32 scalar step; a new step draws new masks. */
  step?: Tensor;
}

/**
 * Base of every layer: named parameters and sub-modules, Hugging Face-style
 * dotted names (`model.layers.0.self_attn.q_proj.weight`), train/eval mode,
 * and load/save of a name → tensor map.
 */
export abstract class Module {
  /** True in training mode (dropout active); see {@link Module.eval}. */
  training = true;
  private readonly ownParameters = new Map<string, Parameter>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter under a local name. */
  protected parameter(name: string, value: Tensor): Parameter {
    const p = new Parameter(value);
    this.ownParameters.set(name, p);
    return p;
  }

  /** Registers a sub-module under a local name (a dotted segment of parameter names). */
  protected module<M extends Module>(name: string, child: M): M {
    this.children.set(name, child);
    return child;
  }

  /** Every parameter with its full dotted name, in registration order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const dot = prefix ? `${prefix}.` : '';
    return [
      ...[...this.ownParameters].map(([n, p]): [string, Parameter] => [`${dot}${n}`, p]),
      ...[...this.children].flatMap(([n, m]) => m.namedParameters(`${dot}${n}`)),
    ];
  }

  /** Every parameter, in the order of {@link Module.namedParameters}. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** The number of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.value.size, 0);
  }

  /** Sets training mode (dropout on) here and in every sub-module. */
  train(on = true): this {
    this.training = on;
    for (const m of this.children.values()) m.train(on);
    return this;
  }

  /** Sets evaluation mode (dropout off). */
  eval(): this {
    return this.train(false);
  }

  /** The parameters as a name → tensor map (tensors are immutable, so no copy is needed). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters().map(([n, p]) => [n, p.value]));
  }

  /**
   * Loads parameters by name. Every name, shape and dtype is checked before
   * any parameter changes; with `strict` (default) missing and unexpected
   * names are errors too.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, options: { strict?: boolean } = {}): void {
    const site = `${this.constructor.name}.loadStateDict`;
    if (typeof state !== 'object' || state === null) fail(site, `state expected a Map or record of name -> Tensor, got ${describe(state)}`);
    const entries = state instanceof Map ? new Map(state) : new Map(Object.entries(state));
    const own = new Map(this.namedParameters());
    const strict = options?.strict ?? true;
    if (strict) {
      const missing = [...own.keys()].filter((n) => !entries.has(n));
      if (missing.length) fail(site, `state expected every parameter, got none for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
      const unexpected = [...entries.keys()].filter((n) => !own.has(n));
      if (unexpected.length) fail(site, `state expected only this model's parameters, got unexpected ${unexpected.slice(0, 5).join(', ')}`);
    }
    for (const [name, t] of entries) {
      const p = own.get(name);
      if (!p) continue;
      if (!(t instanceof Tensor) || t.isTraced) fail(site, `'${name}' expected an eager Tensor, got ${describe(t)}`);
      if (t.dtype !== p.value.dtype || !shapesEqual(t.shape, p.value.shape)) {
        fail(site, `'${name}' expected ${p.value.dtype}${formatShape(p.value.shape)}, got ${t.dtype}${formatShape(t.shape)}`);
      }
    }
    for (const [name, t] of entries) {
      const p = own.get(name);
      if (p) p.value = t;
    }
  }

  /**
   * Runs `fn` with the parameters temporarily replaced by `values` (in
   * {@link Module.parameters} order): how a traced training step makes the
   * parameters graph inputs.
   */
  withParameters<T>(values: readonly Tensor[], fn: () => T): T {
    if (typeof fn !== 'function') fail(`${this.constructor.name}.withParameters`, `fn expected a function, got ${describe(fn)}`);
    const params = this.parameters();
    if (!Array.isArray(values) || values.length !== params.length) {
      fail(`${this.constructor.name}.withParameters`, `values expected ${params.length} tensors, got ${show(Array.isArray(values) ? values.length : values)}`);
    }
    const saved = params.map((p) => p.value);
    params.forEach((p, i) => { p.value = values[i]; });
    try {
      return fn();
    } finally {
      params.forEach((p, i) => { p.value = saved[i]; });
    }
  }
}

/** The option names every module takes. */
export const MODULE_KEYS: readonly string[] = optionKeys<ModuleOptions>({ seed: true, dtype: true });

/** Checks a module's options (only the names in `keys`, default the common two) and resolves the common ones. */
export function moduleOptions(site: string, options: ModuleOptions | undefined, keys: readonly string[] = MODULE_KEYS): { seed: number; dtype: FloatDType } {
  checkOptions(site, options, keys);
  const seed = options?.seed ?? 0;
  if (!Number.isInteger(seed)) fail(site, `seed expected an integer, got ${show(seed)}`);
  const dtype = options?.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') fail(site, `dtype expected 'float32' or 'float64', got ${show(dtype)}`);
  return { seed, dtype };
}

/** Checks a size option: a positive integer. */
export function positiveInt(site: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) fail(site, `${name} expected a positive integer, got ${show(v)}`);
  return v as number;
}
