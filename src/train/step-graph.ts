/**
 * The training step as one graph: forward, loss, backward (our autodiff),
 * global-norm clipping and the optimizer update, over K micro-batches.
 * Parameters and optimizer state are inputs and outputs; the learning rate,
 * dropout rate, RNG seed and step number are scalar inputs, so nothing is
 * rebuilt as they change.
 */
import { checkOptions, optionKeys } from '../core/options.js';
import { vjp } from '../autodiff/vjp.js';
import { callGraph } from '../trace/replay.js';
import { trace, type InputSpec } from '../trace/trace.js';
import type { Graph } from '../ir/graph.js';
import type { Module, ForwardContext } from '../nn/module.js';
import { clipGradNormGraph } from '../optim/clip-grad.js';
import type { GraphOptimizer } from '../optim/optimizer.js';
import { fail, show } from '../core/errors.js';
import { describe, type DType } from '../core/dtype.js';
import { add, cast, div, mul, sqrt } from '../trace/ops/elementwise.js';
import { reshape, sliceAxis } from '../trace/ops/movement.js';
import { formatShape, type Shape } from '../core/shape.js';
import { Tensor, tensor } from '../trace/tensor.js';
import { sum } from '../trace/ops/reduce.js';

/** A loss: a float scalar from the model, one micro-batch's tensors and the forward context. */
export type LossFn<M extends Module = Module> = (model: M, batch: readonly Tensor[], ctx: ForwardContext) => Tensor;

export type { GraphOptimizer } from '../optim/optimizer.js';

/** What {@link buildStepGraph} needs. */
export interface StepGraphOptions<M extends Module> {
  readonly model: M;
  readonly loss: LossFn<M>;
  readonly optimizer: GraphOptimizer;
  /** One micro-batch's inputs (e.g. ids and targets, int32 [B, T]). */
  readonly batch: readonly InputSpec[];
  /** Micro-batches per step; the gradient is their mean (default 1). */
  readonly accumulate?: number;
  /** Clip the global gradient norm to this (default: no clipping). */
  readonly maxGradNorm?: number;
  /**
   * Trace the model with dropout (default true). False traces it without
   * (no random numbers): the same results as rate 0, for the steps where
   * the rate stays 0. The `dropout` and `seed` inputs stay, unused.
   */
  readonly dropout?: boolean;
  /**
   * Append the optimizer's update (default true). False ends the graph at
   * the clipped gradients, for an update run elsewhere: the optimizer's
   * state is then neither an input nor an output, and the outputs after
   * the loss, gradient norm and `finite` are the gradients.
   */
  readonly update?: boolean;
}

/** The most micro-batches one step accumulates (each is a copy of the backward pass in the graph). */
const MAX_ACCUMULATE = 256;

/** The scalars one step reads, as numbers; {@link StepLayout.feed} makes the graph's scalar inputs of them. */
export interface StepScalars {
  /** The learning rate of this step. */
  readonly lr: number;
  /** The 1-based number of the step being taken. */
  readonly step: number;
  /** The dropout rate of this step, in [0, 1). */
  readonly dropout: number;
  /** The seed of the dropout masks (an int32). */
  readonly seed: number;
}

/** One tensor of the training state: a parameter or an optimizer slot. */
export interface StateSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * Where everything is among the step graph's inputs and outputs, by name:
 * callers feed and read through it, and never count positions.
 */
export interface StepLayout {
  /** Parameter names, in state order. */
  readonly paramNames: readonly string[];
  /** Optimizer state names `optimizer.<param>.<slot>`, parameter-major, after the parameters in state order. */
  readonly slotNames: readonly string[];
  /** The state (parameters then optimizer slots): name, shape and dtype of each, in state order. */
  readonly state: readonly StateSpec[];
  /** The batch inputs of one run (with the micro-batch axis when accumulating). */
  readonly batch: readonly InputSpec[];
  /** The output indices of the new state, for `residentOutputs`. */
  readonly stateOutputs: readonly number[];
  /** The output indices of the clipped gradients, in parameter order (a graph without the update; else none). */
  readonly gradOutputs: readonly number[];
  /** A run's inputs in graph order: the state (tensors or device tensors), the batch, and the scalars made into tensors. */
  feed<S>(parts: { readonly state: readonly S[]; readonly batch: readonly Tensor[]; readonly scalars: StepScalars }): (S | Tensor)[];
  /**
   * A run's outputs by meaning: the mean loss, the gradient norm before
   * clipping, `finite` (a float32 scalar: 0 when every new parameter and
   * slot is finite, NaN otherwise; without the update, when the gradient
   * norm is), the new state in state order, and, from a graph without the
   * update, the clipped gradients instead (else `grads` is empty).
   */
  read<T>(outputs: readonly T[]): { readonly loss: T; readonly gradNorm: T; readonly finite: T; readonly state: T[]; readonly grads: T[] };
}

/** The step graph and its layout. */
export interface StepGraph {
  readonly graph: Graph;
  /**
   * One micro-batch's loss and gradients, inlined K times into `graph`:
   * inputs are the parameters, the micro-batch, `dropout`, `seed`,
   * `mask_step` and the loss cotangent; outputs the loss and one gradient per parameter.
   */
  readonly backward: Graph;
  /** Where everything is among the graph's inputs and outputs. */
  readonly layout: StepLayout;
  /** Parameter names, in state order (the same as `layout.paramNames`). */
  readonly paramNames: readonly string[];
  /** Optimizer state names (the same as `layout.slotNames`). */
  readonly slotNames: readonly string[];
  readonly accumulate: number;
  /** Whether the model was traced with dropout (see {@link StepGraphOptions.dropout}). */
  readonly dropout: boolean;
  /** Whether the graph ends with the optimizer's update (see {@link StepGraphOptions.update}). */
  readonly update: boolean;
}

/** The outputs before the state: loss, gradient norm, finite. */
const OUTPUTS_BEFORE_STATE = 3;

/** The graph's scalar inputs, in order, with their dtypes. */
const SCALARS = [['lr', 'float32'], ['step', 'int32'], ['dropout', 'float32'], ['seed', 'int32']] as const;

function stepLayout(paramNames: readonly string[], slotNames: readonly string[], state: StepLayout['state'], batch: readonly InputSpec[], update: boolean): StepLayout {
  const site = 'StepLayout';
  const after = (_: unknown, i: number): number => i + OUTPUTS_BEFORE_STATE;
  return {
    paramNames,
    slotNames,
    state,
    batch,
    stateOutputs: update ? state.map(after) : [],
    gradOutputs: update ? [] : paramNames.map(after),
    feed<S>({ state: values, batch: data, scalars }: { readonly state: readonly S[]; readonly batch: readonly Tensor[]; readonly scalars: StepScalars }): (S | Tensor)[] {
      if (!Array.isArray(values) || values.length !== state.length) fail(`${site}.feed`, `state expected ${state.length} tensors (parameters then optimizer slots), got ${describe(values)}`);
      if (!Array.isArray(data) || data.length !== batch.length) fail(`${site}.feed`, `batch expected ${batch.length} tensors, got ${describe(data)}`);
      const made = SCALARS.map(([name, dtype]) => {
        const v = scalars?.[name];
        if (typeof v !== 'number' || !Number.isFinite(v) || (dtype === 'int32' && !Number.isInteger(v))) fail(`${site}.feed`, `scalars.${name} expected a finite ${dtype === 'int32' ? 'integer' : 'number'}, got ${show(v)}`);
        return tensor(v, { dtype });
      });
      return [...values, ...data, ...made];
    },
    read<T>(outputs: readonly T[]): { readonly loss: T; readonly gradNorm: T; readonly finite: T; readonly state: T[]; readonly grads: T[] } {
      const n = (update ? state.length : paramNames.length) + OUTPUTS_BEFORE_STATE;
      if (!Array.isArray(outputs) || outputs.length !== n) fail(`${site}.read`, `outputs expected ${n} (loss, gradient norm, finite, ${update ? 'state' : 'gradients'}), got ${describe(outputs)}`);
      const rest = outputs.slice(OUTPUTS_BEFORE_STATE);
      return { loss: outputs[0], gradNorm: outputs[1], finite: outputs[2], state: update ? rest : [], grads: update ? [] : rest };
    },
  };
}

/**
 * Builds the training step graph. Inputs: parameters, optimizer state,
 * the batch (each input with a leading micro-batch axis of size K when
 * `accumulate` is K > 1), then `lr` (float32), `step` (int32, 1-based),
 * `dropout` (float32) and `seed` (int32). Outputs: the mean loss, the
 * gradient norm before clipping, a finiteness flag of the new state (0 or
 * NaN), the new parameters and the new optimizer state (with `update`
 * false: no optimizer state in or out, and the clipped gradients instead
 * of the new state; `lr` and `step` stay, unused).
 * Micro-batch k draws its dropout masks at mask step (step - 1) * K + k, so
 * every micro-batch of every step gets its own.
 */
export function buildStepGraph<M extends Module>(options: StepGraphOptions<M>): StepGraph {
  const site = 'buildStepGraph';
  if (typeof options !== 'object' || options === null) fail(site, `options expected { model, loss, optimizer, batch }, got ${describe(options)}`);
  checkOptions(site, options, optionKeys<StepGraphOptions<Module>>({ model: true, loss: true, optimizer: true, batch: true, accumulate: true, maxGradNorm: true, dropout: true, update: true }));
  const { model, loss, optimizer, batch } = options;
  if (typeof model?.namedParameters !== 'function') fail(site, `model expected a Module, got ${describe(model)}`);
  if (typeof loss !== 'function') fail(site, `loss expected a function (model, batch, ctx) => scalar, got ${describe(loss)}`);
  if (typeof optimizer?.graphUpdate !== 'function' || !Array.isArray(optimizer.slots)) fail(site, `optimizer expected Lion or AdamW (with graphUpdate), got ${describe(optimizer)}`);
  if (!Array.isArray(batch)) fail(site, `batch expected an array of input specs, got ${describe(batch)}`);
  const K = options.accumulate ?? 1;
  const withUpdate = options.update ?? true;
  if (typeof withUpdate !== 'boolean') fail(site, `update expected true or false, got ${show(withUpdate)}`);
  // Each micro-batch is a copy of the backward pass in the graph: K bounds the graph's size.
  if (!Number.isInteger(K) || K < 1 || K > MAX_ACCUMULATE) fail(site, `accumulate expected a positive integer up to ${MAX_ACCUMULATE}, got ${String(K)}`);
  const named = model.namedParameters();
  if (named.length === 0) fail(site, 'model expected at least one parameter, got none');
  const paramSpecs: InputSpec[] = named.map(([name, p]) => ({ name, shape: p.value.shape, dtype: p.value.dtype }));
  const scalarSpecs: InputSpec[] = [
    { name: 'dropout', shape: [], dtype: 'float32' },
    { name: 'seed', shape: [], dtype: 'int32' },
    { name: 'mask_step', shape: [], dtype: 'int32' },
  ];
  // One micro-batch: loss and gradients with respect to the parameters.
  const forward = trace((...args: Tensor[]) => {
    const params = args.slice(0, named.length);
    const micro = args.slice(named.length, named.length + batch.length);
    const [dropout, seed, step] = args.slice(named.length + batch.length);
    const value = model.withParameters(params, () => loss(model, micro, options.dropout === false ? {} : { dropout, seed, step }));
    if (!(value instanceof Tensor) || value.rank !== 0 || (value.dtype !== 'float32' && value.dtype !== 'float64')) {
      fail(site, `loss expected to return a float scalar Tensor, got ${value instanceof Tensor ? `${value.dtype}${formatShape(value.shape)}` : describe(value)}`);
    }
    return value;
  }, [...paramSpecs, ...batch.map((b, i) => ({ ...b, name: b.name ?? `batch${i}` })), ...scalarSpecs]);
  const backward = vjp(forward, { wrt: named.map((_, i) => i) });
  const lossDtype = forward.outputs[0].dtype;

  // Without the update, the optimizer's state stays out of the graph (its names still name it in checkpoints).
  const slotNames = named.flatMap(([name]) => optimizer.slots.map((s) => `optimizer.${name}.${s}`));
  const slotSpecs: InputSpec[] = withUpdate ? named.flatMap(([name, p]) => optimizer.slots.map((s) => ({ name: `optimizer.${name}.${s}`, shape: p.value.shape, dtype: p.value.dtype }))) : [];
  const batchSpecs: InputSpec[] = batch.map((b, i) => ({ ...b, name: b.name ?? `batch${i}`, shape: K > 1 ? [K, ...b.shape] : b.shape }));
  const stepSpecs: InputSpec[] = SCALARS.map(([name, dtype]) => ({ name, shape: [], dtype }));
  const S = withUpdate ? optimizer.slots.length : 0;
  const graph = trace((...args: Tensor[]) => {
    const n = named.length;
    const params = args.slice(0, n);
    const slots = params.map((_, i) => args.slice(n + i * S, n + (i + 1) * S));
    const data = args.slice(n + n * S, n + n * S + batch.length);
    const [lr, step, dropout, seed] = args.slice(n + n * S + batch.length);
    let total: Tensor | undefined;
    let grads: Tensor[] = [];
    for (let k = 0; k < K; k++) {
      const micro = K > 1 ? data.map((x, i) => reshape(sliceAxis(x, 0, k, k + 1), batch[i].shape as Shape)) : data;
      const maskStep = add(mul(add(step, tensor(-1, { dtype: 'int32' })), tensor(K, { dtype: 'int32' })), tensor(k, { dtype: 'int32' }));
      const [value, ...g] = callGraph(backward, [...params, ...micro, dropout, seed, maskStep, tensor(1, { dtype: lossDtype })]);
      total = total ? add(total, value) : value;
      grads = k === 0 ? g : grads.map((a, i) => add(a, g[i]));
    }
    if (K > 1) {
      total = div(total!, tensor(K, { dtype: lossDtype }));
      grads = grads.map((g) => div(g, tensor(K, { dtype: g.dtype })));
    }
    let norm: Tensor;
    if (options.maxGradNorm !== undefined) {
      ({ grads, norm } = clipGradNormGraph(grads, options.maxGradNorm));
    } else {
      norm = sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
    }
    // norm · 0 is 0 for a finite norm and NaN otherwise.
    if (!withUpdate) return [total!, norm, cast(mul(norm, 0), 'float32'), ...grads];
    const update = optimizer.graphUpdate(params, grads, slots, { lr, step });
    const next = [...update.params, ...update.slots.flat()];
    // x · 0 is 0 for every finite x and NaN for ±Inf and NaN: one pass over the new state, in the same run.
    const finite = next.map((t) => cast(sum(mul(t, 0)), 'float32')).reduce((a, b) => add(a, b));
    return [total!, norm, finite, ...next];
  }, [...paramSpecs, ...slotSpecs, ...batchSpecs, ...stepSpecs]);
  const paramNames = named.map(([n]) => n);
  const state = [...paramSpecs, ...slotSpecs].map((x) => ({ name: x.name!, shape: x.shape as readonly number[], dtype: x.dtype ?? 'float32' }));
  return { graph, backward, layout: stepLayout(paramNames, slotNames, state, batchSpecs, withUpdate), paramNames, slotNames, accumulate: K, dropout: options.dropout !== false, update: withUpdate };
}
