import { checkOptions, optionKeys } from '../../core/options.js';
import { fail } from '../../core/errors.js';
import { describe } from '../../core/dtype.js';
import { expectGraph, type FusedKernel, type Graph, type Node, type PrimitiveNode } from '../../ir/graph.js';
import type { Primitive } from '../../ir/primitives.js';
import { evaluateDim, isStatic, type Dim, type Shape } from '../../core/shape.js';
import type { Tensor } from '../../trace/tensor.js';
import { hostRandom, hostScalar, type HostRandom, type HostScalar, type RandomInput } from './host-random.js';
import { OnnxBuilder, valueInfo } from './builder.js';
import { creation } from './lower/creation.js';
import { elementwise } from './lower/elementwise.js';
import { indexing } from './lower/indexing.js';
import { linalg } from './lower/linalg.js';
import { movement } from './lower/movement.js';
import { random } from './lower/random.js';
import { reduce } from './lower/reduce.js';
import { PORTABLE_CAPS, type LowerContext, type LoweringCaps, type Lowering, type LoweringTable } from './lower/types.js';

/** Every primitive's ONNX lowering; a missing one is a type error. */
export const LOWERINGS: LoweringTable<Primitive> = {
  ...elementwise, ...reduce, ...linalg, ...movement, ...indexing, ...creation, ...random,
};

/** Options of {@link lowerGraph}. */
export interface LowerOptions {
  /** The graph's name in the model. */
  readonly name?: string;
  /** Output names (default `output{i}`). */
  readonly outputNames?: readonly string[];
  /** Values for some inputs, by name: they become initializers instead of inputs. */
  readonly initializers?: ReadonlyMap<string, Tensor>;
  /**
   * The target device's kernels (a device table's `lowering`). Default
   * {@link PORTABLE_CAPS}: every workaround, so the model runs on any
   * ONNX Runtime device.
   */
  readonly caps?: LoweringCaps;
  /**
   * Leave the random numbers to the caller (default false): each float32
   * randomUniform node of static shape whose seed and step are int32
   * scalar inputs, or sums, differences and products of them and constants,
   * becomes an input, listed in {@link LoweredModel.randomInputs}, which the
   * caller fills before each run with the numbers the node would draw. A
   * Dropout layer's float32 mask whose rate is also a scalar input or a
   * constant (as in a training step) becomes one input, filled with the
   * finished mask, so the graph neither compares nor scales. Worth it where
   * the host draws them faster than the graph does (on onnxruntime-node's
   * CPU, about 2 ms for a training step's masks that took the graph some
   * 5 ms); the model then no longer runs on its own.
   */
  readonly randomInputs?: boolean;
}

export type { RandomInput } from './host-random.js';

/** An IR graph as ONNX: the model bytes and the names of its inputs and outputs. */
export interface LoweredModel {
  readonly bytes: Uint8Array;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The random inputs, after those of `inputNames` (none unless {@link LowerOptions.randomInputs}). */
  readonly randomInputs: readonly RandomInput[];
}

/**
 * Lowers a graph to an ONNX model (opset 21). Graph inputs keep their names
 * and symbolic dimensions (as dim_param); outputs are `output{i}`, or the
 * names given. Composite calls are inlined, except the library's fused ones
 * (sigmoid, softmax), which become one ONNX op each, and Dropout masks, which
 * lowering with randomInputs feeds whole. Sizes that depend on symbolic
 * dimensions are read from the inputs that bind them with Shape.
 */
export function lowerGraph(graph: Graph, options: LowerOptions = {}): LoweredModel {
  expectGraph('lowerGraph', graph);
  checkOptions('lowerGraph', options, optionKeys<LowerOptions>({ name: true, outputNames: true, initializers: true, caps: true, randomInputs: true }));
  options ??= {};
  const b = new OnnxBuilder();
  // Generated names must not repeat an input's (an input named 'output0' or 'add_0' made the model invalid).
  const taken = new Set(graph.inputs.map((n) => n.name));
  const given = options.outputNames;
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== graph.outputs.length || given.some((n) => typeof n !== 'string' || n === '')) {
      fail('lowerGraph', `outputNames expected ${graph.outputs.length} non-empty strings (one per output), got ${describe(given)}`);
    }
    const clash = given.find((n, i) => taken.has(n) || given.indexOf(n) !== i);
    if (clash !== undefined) fail('lowerGraph', `outputNames expected names unlike each other and the inputs', got '${clash}' twice or as an input's`);
    // Generated names avoid them too.
    for (const n of given) taken.add(n);
  }
  const fresh = b.fresh.bind(b);
  b.fresh = (prefix) => { let name = fresh(prefix); while (taken.has(name)) name = fresh(prefix); return name; };
  // Inputs given a value become initializers under their own names (weights of an exported model).
  const fixed = options.initializers ?? new Map<string, Tensor>();
  for (const [name, t] of fixed) b.tensor(t._data!, t.shape as readonly number[], t.dtype, name);
  const fed = graph.inputs.filter((n) => !fixed.has(n.name));
  const sources = new Map<string, { input: string; axis: number }>();
  graph.inputs.forEach((n) => n.shape.forEach((d, axis) => {
    if (typeof d === 'string' && !sources.has(d)) sources.set(d, { input: n.name, axis });
  }));
  const dims = new Map<Dim, string>();
  const ctx: LowerContext = {
    b,
    caps: options.caps ?? PORTABLE_CAPS,
    dim(d) {
      let name = dims.get(d);
      if (name) return name;
      if (typeof d === 'number') name = b.int64s([d]);
      else {
        name = evaluateDim('lowerGraph', d, {
          // A name an input binds is read from that input once (sums reuse it).
          bound: (n) => {
            const source = sources.get(n);
            if (!source) return undefined;
            let read = dims.get(n);
            if (!read) dims.set(n, read = b.op('Shape', [source.input], { start: { i: source.axis }, end: { i: source.axis + 1 } }));
            return read;
          },
          constant: (n) => b.int64s([n]),
          add: (x, y) => b.op('Add', [x, y]),
        });
      }
      dims.set(d, name);
      return name;
    },
    shape(s: Shape) {
      if (isStatic(s)) return b.int64s(s);
      return b.op('Concat', s.map((d) => ctx.dim(d)), { axis: { i: 0 } });
    },
  };
  const random: RandomInput[] = [];
  if (options.randomInputs !== undefined && typeof options.randomInputs !== 'boolean') fail('lowerGraph', `randomInputs expected true or false, got ${describe(options.randomInputs)}`);
  const host = options.randomInputs ? hostRandom(graph, fed, b, random) : undefined;
  const outputs = lowerNodes(ctx, graph, graph.inputs.map((n) => n.name), host, host?.hosts);
  const outputNames = options.outputNames ?? graph.outputs.map((_, i) => (taken.has(`output${i}`) ? b.fresh(`output${i}`) : `output${i}`));
  // Each output takes its own name: the node computing it is renamed, so nothing is copied; a value that is an
  // input, an initializer or already another output is copied by an Identity. (ONNX Runtime drops an output's
  // Identity itself only when nothing else reads the value; otherwise, as for a decoding step's KV cache, it copied
  // the value every run.)
  const producers = new Set(b.nodes.flatMap((n) => n.output ?? []));
  const renamed = new Map<string, string>();
  outputs.forEach((name, i) => {
    if (producers.has(name) && !renamed.has(name)) renamed.set(name, outputNames[i]);
    else b.nodes.push({ opType: 'Identity', input: [name], output: [outputNames[i]], name: b.fresh('n_output') });
  });
  for (const n of b.nodes) {
    n.input = n.input?.map((x) => renamed.get(x) ?? x);
    n.output = n.output?.map((x) => renamed.get(x) ?? x);
  }
  // A constant nothing reads (a Dropout mask's rate, once the host fills the mask) is left out, where ONNX Runtime
  // would warn that it removes it. Given initializers (an exported model's weights) stay.
  const read = new Set(b.nodes.flatMap((n) => n.input ?? []));
  for (let i = b.initializers.length - 1; i >= 0; i--) {
    const name = b.initializers[i].name!;
    if (!read.has(name) && !fixed.has(name)) b.initializers.splice(i, 1);
  }
  const bytes = b.encode(
    [...fed.map((n) => valueInfo(n.name, n.dtype, n.shape)), ...random.map((r) => valueInfo(r.name, r.dtype, r.shape))],
    graph.outputs.map((o, i) => valueInfo(outputNames[i], o.dtype, o.shape)),
    options.name ?? 'llm_tricks',
  );
  return { bytes, inputNames: fed.map((n) => n.name), outputNames, randomInputs: random };
}

/**
 * The library composites that map to one ONNX op with a kernel on every
 * execution provider used here (CPU, WebAssembly, WebGPU, CUDA), instead of
 * their bodies' five to eight elementwise and reduction nodes.
 */
const FUSED: Readonly<Record<Exclude<FusedKernel, 'dropoutMask'>, (ctx: LowerContext, args: readonly string[]) => string>> = {
  sigmoid: (ctx, [x]) => ctx.b.op('Sigmoid', [x]),
  softmax: (ctx, [x]) => ctx.b.op('Softmax', [x], { axis: { i: -1 } }),
};

/**
 * Emits a graph's nodes given the ONNX names of its inputs; returns its
 * outputs' names. With `random` (lowering with randomInputs), it also
 * follows which scalars the host can compute (`hosts`: each input's
 * evaluator, or undefined), so that `random` may make a randomUniform node
 * or a Dropout mask an input.
 */
function lowerNodes(ctx: LowerContext, graph: Graph, inputNames: readonly string[], random?: HostRandom, hosts: readonly (HostScalar | undefined)[] = []): string[] {
  const names = new Map<Node, string>();
  const host = new Map<Node, HostScalar>();
  graph.inputs.forEach((n, i) => {
    names.set(n, inputNames[i]);
    const h = hosts[i];
    if (h) host.set(n, h);
  });
  for (const node of graph.nodes) {
    if (node.kind === 'input') continue;
    const args = node.inputs.map((x) => names.get(x)!);
    if (node.kind === 'call') {
      const kernel = node.composite.kernel;
      const from = node.inputs.map((x) => host.get(x));
      const fed = kernel === 'dropoutMask' && random?.mask(node, from);
      const fused = kernel && kernel !== 'dropoutMask' ? FUSED[kernel] : undefined;
      names.set(node, fed || (fused ? fused(ctx, args) : lowerNodes(ctx, node.body, args, random, from)[0]));
      continue;
    }
    const input = node.op === 'randomUniform' && random?.uniform(node as PrimitiveNode<'randomUniform'>, host.get(node.inputs[0]), host.get(node.inputs[1]));
    names.set(node, input || (LOWERINGS[node.op] as Lowering<Primitive>)(ctx, node as never, args));
    const value = random && hostScalar(node, node.inputs.map((x) => host.get(x)));
    if (value) host.set(node, value);
  }
  return graph.outputs.map((o) => names.get(o)!);
}
