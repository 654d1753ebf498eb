/**
 * The reference backend: the IR's spec kernels (ir/evaluate.ts) behind the
 * Backend interface, in pure TypeScript, on any JS runtime. The Trainer and
 * the Generator use it when given no backend.
 */
import { checkOptions, optionKeys } from '../core/options.js';
import { orderFeeds, type Backend, type CompileOptions, type Executable, type Feeds } from '../backends/backend.js';
import { expectGraph, type Graph } from '../ir/graph.js';
import { runGraph } from '../ir/evaluate.js';
import { fail, show } from '../core/errors.js';
import { Tensor } from '../trace/tensor.js';

/** Compiles a graph for the reference interpreter; runs synchronously underneath. */
export function compileReference(graph: Graph): Executable & { runSync(feeds: Feeds): Tensor[] } {
  expectGraph('reference.compile', graph);
  const site = 'reference.run';
  let disposed = false;
  const runSync = (feeds: Feeds): Tensor[] => {
    if (disposed) fail(site, 'expected a live executable, got one already disposed');
    const tensors = orderFeeds(site, graph, feeds);
    const buffers = tensors.map((t) => ({ data: t._data, shape: t.shape as readonly number[], dtype: t.dtype }));
    return runGraph(site, graph, buffers).map((b) => new Tensor(b.shape, b.dtype, b.data));
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
    checkOptions('reference.compile', options, optionKeys<ReferenceCompileOptions>({ device: true, residentOutputs: true }));
    if (options?.device !== undefined && options.device !== 'cpu') {
      fail('reference.compile', `device expected 'cpu', got ${show(options.device)}`);
    }
    return compileReference(graph);
  },
};
