import { apply, expectTensor, recordCall } from './apply.js';
import { fail } from '../core/errors.js';
import { describe } from '../core/dtype.js';
import { formatShape } from '../core/shape.js';
import type { Tensor } from './tensor.js';
import { currentTrace } from './trace-state.js';
import { expectGraph, type Graph, type Node } from '../ir/graph.js';
import type { Composite } from './composite.js';
import type { Primitive, PrimitiveAttrs } from '../ir/primitives.js';

/** One step of a replayed graph, as autodiff sees it. */
export type TapeEntry =
  | { readonly kind: 'primitive'; readonly op: Primitive; readonly attrs: PrimitiveAttrs[Primitive]; readonly inputs: readonly Tensor[]; readonly output: Tensor }
  | { readonly kind: 'custom'; readonly composite: Composite; readonly inputs: readonly Tensor[]; readonly output: Tensor };

/**
 * Runs `graph` on `inputs` through the Tensor ops: eagerly, or recorded into
 * the active trace (inlining a graph into another). When `tape` is given, each
 * primitive applied is appended to it, and composites are inlined unless they
 * carry a custom VJP, so autodiff sees exactly the ops it must differentiate.
 */
export function callGraph(graph: Graph, inputs: readonly Tensor[], tape?: TapeEntry[]): Tensor[] {
  const site = 'callGraph';
  expectGraph(site, graph);
  if (!Array.isArray(inputs)) fail(site, `inputs expected an array of Tensors, got ${describe(inputs)}`);
  if (inputs.length !== graph.inputs.length) fail(site, `expected ${graph.inputs.length} inputs, got ${inputs.length}`);
  const env = new Map<Node, Tensor>();
  graph.inputs.forEach((n, i) => {
    const t = expectTensor(site, `inputs[${i}]`, inputs[i]);
    const fits = t.rank === n.shape.length && n.shape.every((d, k) => typeof d !== 'number' || typeof t.shape[k] !== 'number' || d === t.shape[k]);
    if (t.dtype !== n.dtype || !fits) {
      fail(site, `input '${n.name}' expected ${n.dtype}${formatShape(n.shape)}, got ${t.dtype}${formatShape(t.shape)}`);
    }
    env.set(n, t);
  });
  for (const node of graph.nodes) {
    if (node.kind === 'input') continue;
    const args = node.inputs.map((x) => env.get(x)!);
    let out: Tensor;
    if (node.kind === 'primitive') {
      out = apply(node.op, args, node.attrs, node.op);
      tape?.push({ kind: 'primitive', op: node.op, attrs: node.attrs, inputs: args, output: out });
    } else if (tape && !node.composite.vjp) {
      out = callGraph(node.body, args, tape)[0];
    } else {
      // Every call node the library records holds a composite over Tensors (trace/composite.ts makes them).
      const def = node.composite as Composite;
      const state = currentTrace();
      out = state && args.some((t) => t.isTraced) ? recordCall(state, def, node.body, args) : def.forward(...args);
      tape?.push({ kind: 'custom', composite: def, inputs: args, output: out });
    }
    env.set(node, out);
  }
  return graph.outputs.map((o) => env.get(o)!);
}
