import { checkOptions } from '../core/options.js';
import { callGraph, type TapeEntry } from '../trace/replay.js';
import { expectGraph, Graph, type Node } from '../ir/graph.js';
import { trace, type InputSpec } from '../trace/trace.js';
import type { Primitive, PrimitiveAttrs } from '../ir/primitives.js';
import { fail, show } from '../core/errors.js';
import { describe, isFloat } from '../core/dtype.js';
import { add } from '../trace/ops/elementwise.js';
import { expand, reshape } from '../trace/ops/movement.js';
import { sum } from '../trace/ops/reduce.js';
import { formatShape, shapesEqual, type Shape } from '../core/shape.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { VJP_RULES } from './rules/index.js';
import type { VjpFn } from './rule-helpers.js';

/** Options of {@link vjp}. */
export interface VjpOptions {
  /** Inputs to differentiate with respect to, by index or name (default: every float input). */
  readonly wrt?: readonly (number | string)[];
}

/**
 * Sums a cotangent back to the shape of the operand it belongs to, undoing
 * broadcasting: leading axes the operand lacks, and axes where it has size 1.
 */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
  return reshape(axes.length ? sum(g, axes) : g, shape);
}

/** True when `from` broadcasts to exactly `to` (the shape a rule may return for an operand). */
function broadcastsTo(from: Shape, to: Shape): boolean {
  const lead = to.length - from.length;
  return lead >= 0 && from.every((d, i) => d === 1 || d === to[lead + i] || (typeof d === 'string') !== (typeof to[lead + i] === 'string'));
}

/**
 * Reverse-mode differentiation as a graph transform. The result takes the
 * original inputs plus one cotangent per float output (named
 * `cotangent{i}`, i the output's index), and returns the original outputs
 * followed by the vector-Jacobian product for each `wrt` input. It is built
 * from the same primitives, so it compiles on any backend and can itself be
 * differentiated.
 */
export function vjp(graph: Graph, options: VjpOptions = {}): Graph {
  return buildVjp(graph, options).graph;
}

/** What the backward pass of `vjp(graph)` keeps from the forward pass. */
export interface SavedForBackward {
  /** Forward values (inputs included, constants excluded) that backward ops read. */
  readonly nodes: readonly Node[];
  /** Their total element count (symbolic dimensions count as 1). */
  readonly elements: number;
}

/**
 * The forward values the gradient graph reads back: what a training step
 * must keep in memory between its forward and backward passes. Composites
 * with a custom VJP keep only what their rule uses.
 */
export function savedForBackward(graph: Graph, options: VjpOptions = {}): SavedForBackward {
  const { graph: g, forward } = buildVjp(graph, options);
  const saved = new Set<Node>();
  for (const n of g.nodes) {
    if (n.kind === 'input' || forward.has(n)) continue;
    for (const x of n.inputs) {
      if (forward.has(x) && !(x.kind === 'primitive' && x.op === 'constant')) saved.add(x);
    }
  }
  const nodes = [...saved];
  const elements = nodes.reduce((s, n) => s + n.shape.reduce<number>((p, d) => p * (typeof d === 'number' ? d : 1), 1), 0);
  return { nodes, elements };
}

function buildVjp(graph: Graph, options: VjpOptions): { graph: Graph; forward: Set<Node> } {
  const site = 'vjp';
  expectGraph(site, graph, 'trace');
  checkOptions(site, options, ['wrt']);
  options ??= {};
  if (options.wrt !== undefined && !Array.isArray(options.wrt)) fail(site, `wrt expected an array of input indices or names, got ${describe(options.wrt)}`);
  const wrt = (options.wrt ?? graph.inputs.flatMap((n, i) => (isFloat(n.dtype) ? [i] : []))).map((w) => {
    const i = typeof w === 'number' ? w : graph.inputs.findIndex((n) => n.name === w);
    const input = graph.inputs[i];
    if (!input) fail(site, `wrt expected input indices or names of ${graph.inputs.map((n) => n.name).join(', ')}, got ${show(w)}`);
    if (!isFloat(input.dtype)) fail(site, `wrt expected float inputs, got '${input.name}' of dtype ${input.dtype}`);
    return i;
  });
  const floatOutputs = graph.outputs.flatMap((o, i) => (isFloat(o.dtype) ? [i] : []));
  const specs: InputSpec[] = [
    ...graph.inputs.map((n) => ({ shape: n.shape, dtype: n.dtype, name: n.name })),
    ...floatOutputs.map((i) => ({ shape: graph.outputs[i].shape, dtype: graph.outputs[i].dtype, name: `cotangent${i}` })),
  ];
  const forward = new Set<Node>();
  const result = trace((...args) => {
    const primals = args.slice(0, graph.inputs.length);
    const tape: TapeEntry[] = [];
    const outputs = callGraph(graph, primals, tape);
    for (const t of [...primals, ...tape.map((e) => e.output)]) if (t._node) forward.add(t._node);
    const cts = new Map<Tensor, Tensor>();
    const accumulate = (x: Tensor, g: Tensor): void => {
      const prev = cts.get(x);
      cts.set(x, prev ? add(prev, g) : g);
    };
    floatOutputs.forEach((i, k) => accumulate(outputs[i], args[graph.inputs.length + k]));
    backward(tape, new Set(wrt.map((i) => primals[i])), cts, accumulate);
    const grads = wrt.map((i) => {
      const x = primals[i];
      return cts.get(x) ?? expand(tensor(0, { dtype: x.dtype }), x.shape);
    });
    return [...outputs, ...grads];
  }, specs);
  return { graph: result, forward };
}

/**
 * The reverse sweep over a tape: marks which values depend on the `sources`,
 * then walks the tape backwards calling each rule only where a cotangent
 * arrived and some input needs one.
 */
function backward(tape: readonly TapeEntry[], sources: Set<Tensor>, cts: Map<Tensor, Tensor>, accumulate: (x: Tensor, g: Tensor) => void): void {
  const active = new Set(sources);
  for (const e of tape) {
    if (isFloat(e.output.dtype) && e.inputs.some((x) => active.has(x))) active.add(e.output);
  }
  for (let k = tape.length - 1; k >= 0; k--) {
    const e = tape[k];
    const ct = cts.get(e.output);
    if (!ct || !active.has(e.output)) continue;
    const needs = e.inputs.map((x) => active.has(x));
    const grads = e.kind === 'custom'
      ? e.composite.vjp!(ct, e.inputs, e.output)
      : (VJP_RULES[e.op] as VjpFn<PrimitiveAttrs[Primitive]>)(ct, e.inputs, e.output, e.attrs, needs);
    const name = e.kind === 'custom' ? e.composite.name : e.op;
    if (grads.length !== e.inputs.length) fail(name, `VJP rule expected ${e.inputs.length} cotangents, got ${grads.length}`);
    grads.forEach((g, i) => {
      const x = e.inputs[i];
      if (!g || !needs[i]) return;
      if (g.dtype !== x.dtype || !broadcastsTo(x.shape, g.shape)) {
        fail(name, `VJP rule expected a cotangent of ${x.dtype}${formatShape(x.shape)} (or a broadcast of it) for input ${i}, got ${g.dtype}${formatShape(g.shape)}`);
      }
      accumulate(x, unbroadcast(g, x.shape));
    });
  }
}
