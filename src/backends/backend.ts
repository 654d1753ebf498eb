import type { Graph } from '../ir/graph.js';
import type { Tensor } from '../tensor/tensor.js';

/** Feeds of a compiled graph: tensors in input order, or by input name. */
export type Feeds = readonly Tensor[] | Readonly<Record<string, Tensor>>;

/** A graph compiled for one backend and device. */
export interface Executable {
  readonly graph: Graph;
  /** Runs the graph; outputs come back as eager tensors, in output order. */
  run(feeds: Feeds): Promise<Tensor[]>;
}

/** Options every backend understands; backends add their own. */
export interface CompileOptions {
  /** Device name; each backend lists the ones it has. */
  readonly device?: string;
}

/**
 * What a backend provides: a name and a compiler from IR graphs. Third
 * parties add a backend by lowering the primitives; nothing above
 * `src/backends/` imports one.
 */
export interface Backend {
  readonly name: string;
  compile(graph: Graph, options?: CompileOptions): Promise<Executable>;
}
