import type { Backend, CompileOptions, Executable, Feeds } from '../backend.js';
import { Graph, type InputNode, type Node } from '../../ir/graph.js';
import { fail, show } from '../../tensor/errors.js';
import { describe } from '../../tensor/dtype.js';
import { bindShape, type Bindings } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { evaluatePrimitive, resolveAttrs, type Buffer } from './evaluate.js';

/** Orders feeds by the graph's inputs, checking each one's dtype and shape. */
export function orderFeeds(where: string, graph: Graph, feeds: Feeds): Tensor[] {
  if (!Array.isArray(feeds)) {
    if (typeof feeds !== 'object' || feeds === null) fail(where, `feeds expected an array of Tensors or a record by input name, got ${describe(feeds)}`);
    const names = graph.inputs.map((n) => n.name);
    const unknown = Object.keys(feeds).find((k) => !names.includes(k));
    if (unknown !== undefined) fail(where, `feed names expected among ${names.join(', ')}, got '${unknown}'`);
  }
  const list = Array.isArray(feeds)
    ? feeds as readonly Tensor[]
    : graph.inputs.map((n) => {
      const t = (feeds as Record<string, Tensor>)[n.name];
      if (t === undefined) fail(where, `feed '${n.name}' expected, got none (feeds: ${Object.keys(feeds).join(', ') || 'none'})`);
      return t;
    });
  if (list.length !== graph.inputs.length) fail(where, `expected ${graph.inputs.length} feeds, got ${list.length}`);
  list.forEach((t, i) => checkFeed(where, graph.inputs[i], t));
  return [...list];
}

/** Checks that `t` is an eager Tensor of the input's dtype. */
export function checkFeed(where: string, input: InputNode, t: unknown): Tensor {
  if (!(t instanceof Tensor) || t._data === undefined) fail(where, `feed '${input.name}' expected an eager Tensor, got ${describe(t)}`);
  if (t.dtype !== input.dtype) fail(where, `feed '${input.name}' expected dtype ${input.dtype}, got ${t.dtype}`);
  return t;
}

/**
 * Evaluates a graph on concrete buffers: binds the symbolic dims from the
 * inputs, then runs each node in order, dropping values after their last use.
 */
export function runGraph(where: string, graph: Graph, feeds: readonly Buffer[]): Buffer[] {
  const bindings = new Map<string, number>();
  graph.inputs.forEach((input, i) => bindShape(`${where}: feed '${input.name}'`, input.shape, feeds[i].shape, bindings));
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

/** Compiles a graph for the reference interpreter; runs synchronously underneath. */
export function compileReference(graph: Graph): Executable & { runSync(feeds: Feeds): Tensor[] } {
  if (!(graph instanceof Graph)) fail('reference.compile', `graph expected a Graph (from trace or vjp), got ${describe(graph)}`);
  const where = 'reference.run';
  let disposed = false;
  const runSync = (feeds: Feeds): Tensor[] => {
    if (disposed) fail(where, 'expected a live executable, got one already disposed');
    const tensors = orderFeeds(where, graph, feeds);
    const buffers = tensors.map((t) => ({ data: t._data!, shape: t.shape as readonly number[], dtype: t.dtype }));
    return runGraph(where, graph, buffers).map((b) => new Tensor(b.shape, b.dtype, b.data));
  };
  return {
    graph,
    runSync,
    run: async (feeds) => runSync(feeds),
    get disposed() {
      return disposed;
    },
    dispose: async () => { disposed = true; },
  };
}

/** Compile options of {@link referenceBackend}: its one device. */
export interface ReferenceCompileOptions extends CompileOptions {
  readonly device?: 'cpu';
}

/** The reference backend: pure TypeScript, float32 and float64, any JS runtime. */
export const referenceBackend: Backend<ReferenceCompileOptions> = {
  name: 'reference',
  compile: async (graph, options) => {
    if (options?.device !== undefined && options.device !== 'cpu') {
      fail('reference.compile', `device expected 'cpu', got ${show(options.device)}`);
    }
    return compileReference(graph);
  },
};
