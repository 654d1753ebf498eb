/**
 * The Trainer's optimizer update on the CPU, after a step graph that ends
 * at the clipped gradients: Lion or AdamW over WebAssembly SIMD, on
 * parameters and state kept in the optimizer's WebAssembly memory, which
 * the graph reads as its inputs without a copy. The same bits as the update
 * inside the graph (the standalone and graph forms agree bit for bit). ONNX
 * Runtime runs the graph form as a dozen separate passes over the
 * parameters (about 140 ms of a 22M-parameter step); the kernels make two,
 * a check that reads the arrays without writing and the update, or only the
 * update where Lion proves the step finite from what the last one wrote.
 */
import { fail } from '../core/errors.js';
import type { DType, TypedArray } from '../core/dtype.js';
import { AdamW } from '../optim/adamw.js';
import { Lion } from '../optim/lion.js';
import type { Floats, GraphOptimizer, Optimizer } from '../optim/optimizer.js';
import { Tensor } from '../trace/tensor.js';
import type { StateSpec } from './step-graph.js';

/** Where a Trainer runs the optimizer's update: inside the step graph, or after it on the CPU. */
export type UpdateSite = 'graph' | 'host';

/** Why `optimizer` and `params` cannot be updated on the host, or undefined when they can. */
function hostUpdateRefusal(optimizer: GraphOptimizer, params: readonly { readonly dtype: DType }[]): string | undefined {
  if (optimizer.constructor !== Lion && optimizer.constructor !== AdamW) return `the optimizer is ${optimizer.name}, not Lion or AdamW`;
  const dtype = params[0].dtype;
  if ((dtype !== 'float32' && dtype !== 'float64') || params.some((p) => p.dtype !== dtype)) return 'the parameters are not all float32 or all float64';
  return undefined;
}

/** Fails unless `optimizer` and `params` can be updated on the host. */
export function checkHostUpdate(optimizer: GraphOptimizer, params: readonly { readonly dtype: DType }[]): void {
  const refusal = params.length ? hostUpdateRefusal(optimizer, params) : 'a model without parameters';
  if (refusal) fail('Trainer', `update 'host' expected Lion or AdamW over float32 or float64 parameters, got ${refusal}`);
}

/**
 * Where a Trainer updates by default: on the host where the backend runs on
 * the CPU and the result has the same bits as in the graph: Lion, unless
 * cautious (its mean over a tensor is summed in float64 on the host, by
 * ONNX Runtime's ReduceSum in the graph); not AdamW (its bias corrections
 * are float64 on the host and float32 in the graph).
 */
export function defaultUpdateSite(optimizer: GraphOptimizer, params: readonly { readonly dtype: DType }[], runsOnHost: boolean): UpdateSite {
  if (!runsOnHost || optimizer.constructor !== Lion || hostUpdateRefusal(optimizer, params)) return 'graph';
  const lion = optimizer as Lion;
  return lion.defaults.cautious || lion.groups.some((g) => g.cautious) ? 'graph' : 'host';
}

/** The parameters and optimizer state of a Trainer whose update runs on the host. */
export class HostUpdate {
  /** The parameters as tensors over the optimizer's arrays: fed to the step graph as they are, updated in place. */
  readonly params: Tensor[];
  /** Name, shape and dtype of each optimizer state tensor, parameter-major. */
  readonly slotSpecs: StateSpec[];
  /**
   * Where the step graph's gradients go (runHeld's `into`): in the
   * optimizer's WebAssembly memory, so the update reads them where they are
   * instead of copying them through twice (the check and the update), and
   * no gradient array is allocated per step. Empty where they would not
   * fit in that memory with the parameters and state.
   */
  readonly grads: Floats[];
  private readonly optimizer: Optimizer<{ lr: number }>;
  private readonly arrays: Floats[];
  /** A bound on every |g| the step graph hands over, where one is known (see apply). */
  private readonly gradBound: number | undefined;

  /**
   * Copies `params` (the model's, in state order) into a copy of
   * `optimizer`, which {@link checkHostUpdate} passed; `slotNames` name its
   * state as the step graph's layout does, parameter-major. `ieee`: the
   * step graph's float32 products overflow to Infinity (see apply).
   */
  constructor(optimizer: GraphOptimizer, specs: readonly StateSpec[], slotNames: readonly string[], params: readonly Tensor[], ieee = false) {
    // A copy of the user's optimizer, with its options and groups: the Trainer owns its state.
    const Kind = optimizer.constructor as new (options: object) => Optimizer<{ lr: number }>;
    const given = optimizer as Optimizer<{ lr: number }>;
    const copy = (): Optimizer<{ lr: number }> => new Kind({ ...given.defaults, groups: given.groups });
    const sizes = specs.map((s) => s.shape.reduce((a, d) => a * d, 1));
    const dtype = specs[0].dtype as 'float32' | 'float64';
    this.gradBound = ieee && dtype === 'float32' ? 2 ** 64 : undefined;
    // The step graph writes the gradients into `grads`, beside the parameters and state: the kernels read them in place.
    this.optimizer = copy();
    ({ params: this.arrays, grads: this.grads } = this.optimizer.allocate(sizes, dtype));
    if (this.arrays[0].buffer !== this.grads[0].buffer) {
      // They did not fit one WebAssembly memory together (at most 4 GiB), or the kernels do not run: then the
      // parameters and state alone, in that memory where they fit, and the gradients in the graph's own outputs.
      this.optimizer = copy();
      this.arrays = this.optimizer.allocate(sizes, dtype, false).params;
      this.grads = [];
    }
    this.arrays.forEach((a, i) => a.set(params[i]._data as Floats));
    this.params = specs.map((s, i) => new Tensor(s.shape, s.dtype, this.arrays[i]));
    const per = this.optimizer.slots.length;
    this.slotSpecs = slotNames.map((name, k) => ({ ...specs[Math.floor(k / per)], name }));
  }

  /**
   * Steps the parameters from the step graph's clipped gradients as step
   * number `step`, only when every new value is finite; false, with nothing
   * changed, otherwise. The Trainer checked that the graph's norm of the
   * gradients is finite: in IEEE float32 that bounds every |g| by 2^64 (a
   * larger one squares to Infinity, and so does the sum; clipping only
   * shrinks them), so Lion can prove most steps finite without its check.
   */
  apply(grads: readonly Tensor[], lr: number, step: number): boolean {
    return this.optimizer.stepIfFinite(this.arrays, grads.map((g) => g._data as Floats), lr, step, this.gradBound);
  }

  /** Copies of the parameters, then of the optimizer state in {@link slotSpecs} order. */
  read(): { params: Tensor[]; slots: Tensor[] } {
    const { buffers } = this.optimizer.state();
    const params = this.params.map((p) => new Tensor(p.shape, p.dtype, (p._data as TypedArray).slice()));
    return { params, slots: buffers.flat().map((b, i) => new Tensor(this.slotSpecs[i].shape, this.slotSpecs[i].dtype, b)) };
  }

  /** Writes checked values in: the parameters, the state in {@link slotSpecs} order, and the steps taken. */
  write(params: readonly Tensor[], slots: readonly Tensor[], steps: number): void {
    params.forEach((p, i) => this.arrays[i].set(p._data as Floats));
    const per = this.optimizer.slots.length;
    const buffers = this.arrays.map((_, i) => slots.slice(i * per, (i + 1) * per).map((t) => t._data as Floats));
    this.optimizer.loadState({ name: this.optimizer.name, step: steps, buffers });
  }
}
