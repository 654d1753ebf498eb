import { expectTensor, nodeIn } from './apply.js';
import { fail } from '../core/errors.js';
import { describe, isDType, type DType } from '../core/dtype.js';
import { checkShape, type Shape } from '../core/shape.js';
import { Tensor } from './tensor.js';
import { TraceState, withTrace } from './trace-state.js';
import { Graph, type InputNode, type Node } from '../ir/graph.js';

/** Declares one input of a traced function. Dims may be names (`['batch', 'T', 64]`). */
export interface InputSpec {
  readonly shape: Shape;
  readonly dtype?: DType;
  /** Defaults to `input{i}`. */
  readonly name?: string;
}

/** What a traced function may return. */
export type TraceOutput = Tensor | readonly Tensor[];

/**
 * Records `fn` as a graph of primitives. `fn` is called once with symbolic
 * tensors shaped by `inputs`; eager tensors it closes over become constants.
 *
 * @example
 * ```ts
 * import { matmul, trace } from 'llm-tricks';
 *
 * const g = trace((x, w) => matmul(x, w), [{ shape: ['batch', 4] }, { shape: [4, 2] }]);
 * g.toString(); // %0 = input 'input0' : float32[batch, 4] ...
 * ```
 */
export function trace(fn: (...inputs: Tensor[]) => TraceOutput, inputs: readonly InputSpec[]): Graph {
  const site = 'trace';
  if (typeof fn !== 'function') fail(site, `fn expected a function, got ${describe(fn)}`);
  if (!Array.isArray(inputs)) fail(site, `inputs expected an array of { shape, dtype?, name? }, got ${describe(inputs)}`);
  const state = new TraceState();
  const names = new Set<string>();
  const nodes: InputNode[] = inputs.map((spec, i) => {
    const name = spec?.name ?? `input${i}`;
    const dtype = spec?.dtype ?? 'float32';
    checkShape(site, `inputs[${i}].shape`, spec?.shape);
    if (!isDType(dtype)) fail(site, `inputs[${i}].dtype expected float32, float64, int32, int64 or bool, got ${describe(dtype)}`);
    if (names.has(name)) fail(site, `input names expected unique, got '${name}' twice`);
    names.add(name);
    return { kind: 'input', id: state.id(), name, shape: spec.shape, dtype };
  });
  const args = nodes.map((n) => new Tensor(n.shape, n.dtype, undefined, n, state));
  const result = withTrace(state, () => fn(...args));
  const list = result instanceof Tensor ? [result] : result;
  if (!Array.isArray(list) || list.length === 0) fail(site, `fn expected to return a Tensor or a non-empty array of Tensors, got ${describe(result)}`);
  const outputs: Node[] = list.map((t, i) => nodeIn(site, state, expectTensor(site, `output ${i}`, t)));
  return new Graph(nodes, outputs);
}

