/**
 * The reference backend defines what every primitive means: plain loops over
 * typed arrays in float32 and float64, written to be obviously right rather
 * than fast (matmul excepted: it is tiled, since it is the fallback for users
 * without ONNX Runtime). Every other backend is tested against it.
 */
import { infer } from './infer/index.js';
import type { Primitive, PrimitiveAttrs } from './primitives.js';
import { bindShape, isStatic, resolveShape, type Bindings, type Shape } from '../core/shape.js';
import type { Graph, Node } from './graph.js';
import { KERNELS } from './kernels/index.js';
import type { Buffer } from './kernels/types.js';

export type { Buffer } from './kernels/types.js';

/** Checks and computes one primitive on concrete buffers. */
export function evaluatePrimitive<P extends Primitive>(op: P, site: string, inputs: readonly Buffer[], attrs: PrimitiveAttrs[P]): Buffer {
  const meta = infer(op, site, inputs, attrs);
  // Concrete inputs and resolved attributes always give a static shape.
  const shape = meta.shape as readonly number[];
  const kernel = KERNELS[op] as (i: readonly Buffer[], a: PrimitiveAttrs[P], o: { shape: readonly number[]; dtype: Buffer['dtype'] }) => Buffer['data'];
  return { data: kernel(inputs, attrs, { shape, dtype: meta.dtype }), shape, dtype: meta.dtype };
}

/**
 * Substitutes bound sizes for the symbolic dims in a node's attributes.
 * Dimension lists and `iota.length` are the only attributes that hold names.
 */
export function resolveAttrs<P extends Primitive>(site: string, attrs: PrimitiveAttrs[P], bindings: Bindings): PrimitiveAttrs[P] {
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attrs)) {
    if (Array.isArray(value) && !isStatic(value as Shape)) {
      out[key] = resolveShape(site, value as Shape, bindings);
      changed = true;
    } else if (key === 'length' && typeof value === 'string') {
      out[key] = resolveShape(site, [value], bindings)[0];
      changed = true;
    } else {
      out[key] = value;
    }
  }
  return changed ? (out as PrimitiveAttrs[P]) : attrs;
}

/**
 * Evaluates a graph on concrete buffers: binds the symbolic dims from the
 * inputs, then runs each node in order, dropping values after their last use.
 */
export function runGraph(site: string, graph: Graph, feeds: readonly Buffer[]): Buffer[] {
  const bindings = new Map<string, number>();
  graph.inputs.forEach((input, i) => bindShape(`${site}: feed '${input.name}'`, input.shape, feeds[i].shape, bindings));
  const lastUse = new Map<Node, number>();
  graph.nodes.forEach((n, i) => { if (n.kind !== 'input') n.inputs.forEach((x) => lastUse.set(x, i)); });
  graph.outputs.forEach((o) => lastUse.set(o, Infinity));
  const values = new Map<Node, Buffer>();
  graph.inputs.forEach((n, i) => values.set(n, feeds[i]));
  graph.nodes.forEach((node, i) => {
    if (node.kind !== 'input') {
      const args = node.inputs.map((x) => values.get(x)!);
      values.set(node, node.kind === 'call'
        ? runGraph(node.composite.name, node.body, args)[0]
        : evaluatePrimitive(node.op, node.op, args, resolveAttrs(node.op, node.attrs, bindings as Bindings)));
      node.inputs.forEach((x) => { if (lastUse.get(x) === i) values.delete(x); });
    }
  });
  return graph.outputs.map((o) => values.get(o)!);
}
