import { describe, type DType } from '../core/dtype.js';
import { fail } from '../core/errors.js';
import { formatShape, type Shape } from '../core/shape.js';
import type { Primitive, PrimitiveAttrs } from './primitives.js';

interface NodeBase {
  /** Unique within the graph that made it; also a topological order. */
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** A graph input (a placeholder fed at run time). */
export interface InputNode extends NodeBase {
  readonly kind: 'input';
  readonly name: string;
}

/** One application of a primitive. */
export interface PrimitiveNode<P extends Primitive = Primitive> extends NodeBase {
  readonly kind: 'primitive';
  readonly op: P;
  readonly inputs: readonly Node[];
  readonly attrs: PrimitiveAttrs[P];
}

/** A composite op: a named sub-graph, optionally with its own VJP. */
export interface CallNode extends NodeBase {
  readonly kind: 'call';
  readonly composite: Composite;
  /** The composite traced at this call's input shapes: inputs in order, one output. */
  readonly body: Graph;
  readonly inputs: readonly Node[];
}

/** A value in a graph; every node has exactly one output. */
export type Node = InputNode | PrimitiveNode | CallNode;

/**
 * A hand-written backward for a composite: given the output cotangent, the
 * inputs and the output (saved so rules can reuse it), the input cotangents.
 * Written with Tensor ops, so it traces into primitives like everything else.
 * `T` is the value type (the Tensor class, which the IR does not import:
 * the trace layer uses `CustomVjp<Tensor>`).
 */
export type CustomVjp<T = unknown> = (cotangent: T, inputs: readonly T[], output: T) => readonly (T | null)[];

/**
 * A composite's definition, shared by all its call nodes. `T` is the value
 * type its functions take (Tensor, for every composite the library makes);
 * the IR itself only reads `name` and `kernel`.
 */
export interface Composite<T = unknown> {
  readonly name: string;
  /** The body written with Tensor ops; traced once per call. */
  forward(...inputs: T[]): T;
  /** A hand-written backward (a {@link CustomVjp}); without one, autodiff differentiates the body. */
  vjp?(cotangent: T, inputs: readonly T[], output: T): readonly (T | null)[];
  /**
   * The fused kernel the body computes, which a backend may run instead of
   * inlining the body: 'sigmoid', 'softmax' over the last axis, or
   * 'dropoutMask' (a Dropout layer's mask from seed, step and rate, which a
   * backend drawing random numbers on the host may feed whole). Only the
   * library's own composites carry one; the body stays the reference.
   */
  readonly kernel?: FusedKernel;
}

/** Fused kernels a backend may substitute for a composite's body. */
export type FusedKernel = 'sigmoid' | 'softmax' | 'dropoutMask';

/** A traced function: inputs, outputs and every node in topological order. */
export class Graph {
  readonly inputs: readonly InputNode[];
  readonly outputs: readonly Node[];
  /** Every node reachable from the outputs, inputs included, in topological order. */
  readonly nodes: readonly Node[];

  constructor(inputs: readonly InputNode[], outputs: readonly Node[]) {
    if (!Array.isArray(inputs) || !Array.isArray(outputs)) fail('Graph', `inputs and outputs expected arrays of nodes (graphs come from trace), got ${describe(inputs)} and ${describe(outputs)}`);
    this.inputs = inputs;
    this.outputs = outputs;
    this.nodes = toposort(inputs, outputs);
  }

  /** A readable listing, one node per line: `%3 = mul(%1, %2) : float32[B, 4]`. */
  toString(): string {
    const lines = this.nodes.map((n) => {
      const type = `${n.dtype}${formatShape(n.shape)}`;
      if (n.kind === 'input') return `%${n.id} = input '${n.name}' : ${type}`;
      const args = n.inputs.map((i) => `%${i.id}`).join(', ');
      const head = n.kind === 'call' ? `call ${n.composite.name}` : n.op;
      const attrs = n.kind === 'primitive' ? formatAttrs(n.attrs) : '';
      return `%${n.id} = ${head}(${args})${attrs} : ${type}`;
    });
    lines.push(`return ${this.outputs.map((o) => `%${o.id}`).join(', ')}`);
    return lines.join('\n');
  }
}

function formatAttrs(attrs: object): string {
  const entries = Object.entries(attrs).map(([k, v]) =>
    `${k}=${ArrayBuffer.isView(v) ? `<${(v as unknown as ArrayLike<unknown>).length} values>` : JSON.stringify(v)}`);
  return entries.length ? ` {${entries.join(', ')}}` : '';
}

function toposort(inputs: readonly InputNode[], outputs: readonly Node[]): Node[] {
  const seen = new Set<Node>(inputs);
  const order: Node[] = [...inputs];
  // Iterative DFS: graphs of deep models overflow a recursive one.
  const stack: [Node, number][] = outputs.map((o) => [o, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (seen.has(node)) { stack.pop(); continue; }
    const deps = node.kind === 'input' ? [] : node.inputs;
    if (next < deps.length) {
      top[1]++;
      if (!seen.has(deps[next])) stack.push([deps[next], 0]);
    } else {
      stack.pop();
      seen.add(node);
      order.push(node);
    }
  }
  return order;
}

/**
 * Checks that `value` is a Graph of this copy of the library. A Graph from
 * another copy (the ESM and the CommonJS build both loaded, say) gets its
 * own message: `instanceof` cannot see it, and "expected a Graph, got Graph"
 * would say nothing.
 */
export function expectGraph(site: string, value: unknown, from = 'trace or vjp'): Graph {
  if (value instanceof Graph) return value;
  if ((value as { constructor?: { name?: string } } | null)?.constructor?.name === 'Graph') {
    fail(site, `graph expected a Graph of this copy of llm-tricks, got one made by another copy: two copies of the package are loaded (e.g. 'llm-tricks' imported as ESM and 'llm-tricks/node' required as CommonJS); load every entry the same way`);
  }
  return fail(site, `graph expected a Graph (from ${from}), got ${describe(value)}`);
}
