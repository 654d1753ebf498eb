import type { CallNode, Composite, Node, PrimitiveNode } from '../ir/graph.js';
import { infer } from '../ir/infer/index.js';
import type { Primitive, PrimitiveAttrs } from '../ir/primitives.js';
import { evaluatePrimitive } from '../ir/evaluate.js';
import { fail, show } from '../core/errors.js';
import { describe } from '../core/dtype.js';
import { isStatic, type Shape } from '../core/shape.js';
import { isEager, Tensor } from './tensor.js';
import { currentTrace, type TraceState } from './trace-state.js';

/** Checks that an argument is a Tensor, naming the op and argument otherwise. */
export function expectTensor(site: string, arg: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) fail(site, `${arg} expected a Tensor, got ${describe(value)}`);
  return value;
}

/** True when a dimension list or iota length in `attrs` names a symbolic dim. */
function hasSymbols(attrs: object): boolean {
  return Object.entries(attrs).some(([k, v]) =>
    (Array.isArray(v) && !isStatic(v as Shape)) || (k === 'length' && typeof v === 'string'));
}

/** The node standing for `t` in `state`: its own node, or a constant lifted from eager data. */
export function nodeIn(site: string, state: TraceState, t: Tensor): Node {
  if (t._node) {
    if (t._trace !== state) {
      fail(site, 'a traced tensor expected from the current trace, got one from another trace (a composite body may use only its own inputs)');
    }
    return t._node;
  }
  let node = state.lifted.get(t);
  if (!node) {
    // Not traced (no node), so eager: a tensor is one or the other.
    if (!isEager(t)) fail(site, `expected an eager or a traced tensor, got ${describe(t)}`);
    const data = t._data;
    const constant: PrimitiveNode<'constant'> = {
      kind: 'primitive', op: 'constant', id: state.id(), inputs: [], shape: t.shape, dtype: t.dtype,
      attrs: { value: data, shape: t.shape as readonly number[] },
    };
    node = constant;
    state.lifted.set(t, node);
  }
  return node;
}

/**
 * Applies a primitive: checks it, then records a node when tracing (and some
 * input is traced or a dim is symbolic) or computes it eagerly on the
 * reference kernels otherwise. `where` is the public op name for errors.
 */
export function apply<P extends Primitive>(op: P, inputs: readonly Tensor[], attrs: PrimitiveAttrs[P], site: string = op): Tensor {
  inputs.forEach((t, i) => expectTensor(site, `input ${i}`, t));
  const state = currentTrace();
  if (state && (inputs.some((t) => t.isTraced) || hasSymbols(attrs))) {
    const meta = infer(op, site, inputs, attrs);
    // Inputs first: lifting a constant takes an id, and ids must stay topological.
    const nodes = inputs.map((t) => nodeIn(site, state, t));
    const node: PrimitiveNode<P> = { kind: 'primitive', op, id: state.id(), inputs: nodes, attrs, shape: meta.shape, dtype: meta.dtype };
    return new Tensor(meta.shape, meta.dtype, undefined, node, state);
  }
  if (hasSymbols(attrs)) {
    fail(site, `symbolic dimensions expected only inside trace(), got ${show(attrs)} outside one`);
  }
  const out = evaluatePrimitive(op, site, inputs.map((t) => {
    if (!t._data) fail(site, 'a traced tensor was used after its trace ended');
    return { data: t._data, shape: t.shape as readonly number[], dtype: t.dtype };
  }), attrs);
  return new Tensor(out.shape, out.dtype, out.data);
}

/** Records a call of a composite whose body was traced at these inputs. */
export function recordCall(state: TraceState, composite: Composite, body: CallNode['body'], inputs: readonly Tensor[]): Tensor {
  const out = body.outputs[0];
  const nodes = inputs.map((t) => nodeIn(composite.name, state, t));
  const node: CallNode = { kind: 'call', composite, body, id: state.id(), inputs: nodes, shape: out.shape, dtype: out.dtype };
  return new Tensor(out.shape, out.dtype, undefined, node, state);
}
