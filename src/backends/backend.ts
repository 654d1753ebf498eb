import type { Graph, InputNode } from '../ir/graph.js';
import { isEager, Tensor, type EagerTensor } from '../trace/tensor.js';
import { describe, DTYPE_INFO, type DType, type TypedArray } from '../core/dtype.js';
import { fail } from '../core/errors.js';

/** Feeds of a compiled graph: tensors in input order, or by input name. */
export type Feeds = readonly Tensor[] | Readonly<Record<string, Tensor>>;

/**
 * A value a backend keeps where it computed it (a GPU buffer, a reused
 * output array) between runs, so feeding it back costs no copy. Valid until
 * `dispose()`; read it with `read()`.
 */
export interface DeviceTensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** A copy as an eager Tensor. */
  read(): Promise<Tensor>;
  /** Frees the buffer (for reuse by a later run). Idempotent. */
  dispose(): void;
  readonly disposed: boolean;
}

/** A graph compiled for one backend and device. */
export interface Executable {
  readonly graph: Graph;
  /** Runs the graph; outputs come back as eager tensors, in output order. */
  run(feeds: Feeds): Promise<Tensor[]>;
  /**
   * Runs with any input given as a {@link DeviceTensor} from an earlier run,
   * and returns the outputs named in {@link CompileOptions.residentOutputs}
   * as DeviceTensors (the rest as Tensors). Feeds are not disposed. Backends
   * without a device of their own leave this out; callers fall back to `run`.
   * `into[i]`, where given, receives output i (not a resident one): written
   * there by the runtime where it writes into given arrays, else copied;
   * the Tensor returned for it views that array. The arrays must not share
   * memory with the feeds or each other (the runtime may write one while it
   * reads another), and a run that fails may leave them partly written.
   */
  runResident?(feeds: readonly (Tensor | DeviceTensor)[], into?: OutputArrays): Promise<(Tensor | DeviceTensor)[]>;
  /**
   * Releases what the executable holds (for ONNX Runtime: its sessions, and
   * the buffers of the DeviceTensors it returned that are still live) after
   * the runs in flight finish. Idempotent; a run after it, or a read of a
   * DeviceTensor it returned, is an LlmTricksError.
   */
  dispose(): Promise<void>;
  /** True once {@link dispose} has been called. */
  readonly disposed: boolean;
}

/** Options every backend understands; backends add their own. */
export interface CompileOptions {
  /** Device name; each backend lists the ones it has. */
  readonly device?: string;
  /** Output indices that `runResident` keeps on the device (e.g. a training step's parameters). */
  readonly residentOutputs?: readonly number[];
}

/**
 * What a backend provides: a name and a compiler from IR graphs, typed by
 * its compile options `O` (e.g. `ortNode`'s devices and thread counts).
 * Third parties add a backend by lowering the primitives; nothing above
 * `src/backends/` imports one.
 */
export interface Backend<O extends CompileOptions = CompileOptions> {
  readonly name: string;
  compile(graph: Graph, options?: O): Promise<Executable>;
  /**
   * Whether graphs compiled with `options` run on the CPU of this process,
   * reading inputs and writing outputs in its memory without transfers (so
   * work after a run is as well done on the host). Absent: no.
   */
  runsOnHost?(options?: O): boolean;
}

/** Orders feeds by the graph's inputs, checking each one's dtype and shape. */
export function orderFeeds(site: string, graph: Graph, feeds: Feeds): EagerTensor[] {
  if (!Array.isArray(feeds)) {
    if (typeof feeds !== 'object' || feeds === null) fail(site, `feeds expected an array of Tensors or a record by input name, got ${describe(feeds)}`);
    const names = graph.inputs.map((n) => n.name);
    const unknown = Object.keys(feeds).find((k) => !names.includes(k));
    if (unknown !== undefined) fail(site, `feed names expected among ${names.join(', ')}, got '${unknown}'`);
  }
  const list = Array.isArray(feeds)
    ? feeds as readonly Tensor[]
    : graph.inputs.map((n) => {
      const t = (feeds as Record<string, Tensor>)[n.name];
      if (t === undefined) fail(site, `feed '${n.name}' expected, got none (feeds: ${Object.keys(feeds).join(', ') || 'none'})`);
      return t;
    });
  if (list.length !== graph.inputs.length) fail(site, `expected ${graph.inputs.length} feeds, got ${list.length}`);
  return list.map((t, i) => checkFeed(site, graph.inputs[i], t));
}

/**
 * Arrays that outputs are written into, by output index (undefined: the
 * backend's own): each of the output's dtype, with as many elements as its
 * static shape (e.g. a training step's gradients, written where the
 * optimizer reads them).
 */
export type OutputArrays = readonly (TypedArray | undefined)[];

/** Checks `into` against the graph's outputs (none of them resident); returns it as a full-length list, or undefined. */
export function checkInto(site: string, graph: Graph, into: OutputArrays | undefined, resident: ReadonlySet<number> = new Set()): OutputArrays | undefined {
  if (into === undefined) return undefined;
  if (!Array.isArray(into) || into.length > graph.outputs.length) fail(site, `into expected an array of at most ${graph.outputs.length} output arrays, got ${describe(into)}`);
  return graph.outputs.map(({ shape, dtype }, i) => {
    const a: unknown = into[i];
    if (a === undefined) return undefined;
    const size = shape.every((d) => typeof d === 'number') ? shape.reduce<number>((p, d) => p * (d as number), 1) : undefined;
    if (resident.has(i) || size === undefined || !(a instanceof DTYPE_INFO[dtype].array) || (a as TypedArray).length !== size) {
      fail(site, `into[${i}] expected ${resident.has(i) ? 'nothing (the output is resident)' : size === undefined ? 'nothing (the output\'s shape is symbolic)' : `a ${DTYPE_INFO[dtype].array.name} of ${size} elements`}, got ${describe(a)}`);
    }
    return a as TypedArray;
  });
}

/** An output written into its `into` array: a Tensor over `a`, after copying `from` (the runtime's own output) into it where given. */
export function intoTensor(a: TypedArray, shape: readonly number[], dtype: DType, from?: unknown): Tensor {
  if (from !== undefined) (a as Float32Array).set(from as Float32Array);
  return new Tensor(shape, dtype, a);
}

/** Checks that `t` is an eager Tensor of the input's dtype. */
export function checkFeed(site: string, input: InputNode, t: unknown): EagerTensor {
  if (!(t instanceof Tensor) || !isEager(t)) fail(site, `feed '${input.name}' expected an eager Tensor, got ${describe(t)}`);
  if (t.dtype !== input.dtype) fail(site, `feed '${input.name}' expected dtype ${input.dtype}, got ${t.dtype}`);
  return t;
}
