import { fail, show } from '../../core/errors.js';
import { describe } from '../../core/dtype.js';
import type { CallNode, Graph, Node, PrimitiveNode } from '../../ir/graph.js';
import type { Primitive } from '../../ir/primitives.js';
import { isStatic, sizeOf } from '../../core/shape.js';
import { evaluatePrimitive, type Buffer } from '../../ir/evaluate.js';
import { randomKey } from '../../core/random-bits.js';
import { fillDropoutMask, fillUniform } from '../../core/random-fill.js';
import type { OnnxBuilder } from './builder.js';

// Lowering with randomInputs: which scalars the host can compute before a run, and the random numbers (a
// randomUniform node's, or a Dropout layer's finished mask) that become inputs the caller fills.

/**
 * An input of a model lowered with {@link LowerOptions.randomInputs}: a
 * randomUniform node's numbers, or a Dropout layer's mask, which the caller
 * computes before each run.
 */
export interface RandomInput {
  readonly name: string;
  /**
   * 'uniform': a randomUniform node's numbers in [0, 1); 'dropoutMask': a
   * float32 Dropout layer's finished mask, 0 where dropped and 1/(1 − q)
   * elsewhere, drawn from 16-bit numbers.
   */
  readonly kind: 'uniform' | 'dropoutMask';
  readonly shape: readonly number[];
  readonly dtype: 'float32';
  readonly bits: 16 | 24;
  /**
   * Fills `out` (as many elements as the shape has; allocated with
   * `allocateUniform`, the fast way, or any Float32Array) with the node's
   * values (its numbers, or its mask) in the run whose inputs `read` gives:
   * `read(i)` is the value of input i, by its index in `inputNames` (only
   * scalars are read). A mask's rate outside [0, 1] is an error.
   */
  fill(out: Float32Array, read: (input: number) => Buffer): void;
}

/** One run's host evaluation of scalars: the graph's fed inputs, and each scalar's value once computed. */
interface HostRun {
  read(input: number): Buffer;
  readonly memo: Map<HostScalar, Buffer>;
}

/** A scalar value of the graph that the host can compute before a run from its scalar inputs. */
export type HostScalar = (run: HostRun) => Buffer;

/** What lowering with randomInputs threads through the nodes: each input's host evaluator (or undefined), and the hoists. */
export interface HostRandom {
  readonly hosts: readonly (HostScalar | undefined)[];
  /** Makes a randomUniform node an input, given its seed and step if host-computable; its name, or undefined. */
  uniform(node: PrimitiveNode<'randomUniform'>, seed: HostScalar | undefined, step: HostScalar | undefined): string | undefined;
  /** Makes a 'dropoutMask' call an input, given its seed, step and rate if host-computable; its name, or undefined. */
  mask(node: CallNode, inputs: readonly (HostScalar | undefined)[]): string | undefined;
}

/** The primitives lowering with randomInputs evaluates on the host, on int32 scalars. */
const HOST_OPS: ReadonlySet<Primitive> = new Set(['constant', 'add', 'sub', 'mul']);

/**
 * The host evaluator of a node's value, from its inputs' (`from`), or
 * undefined. int32 scalar arithmetic on host-computable scalars and
 * constants (the step's on its step number) wraps modulo 2^32 alike in the
 * reference kernels and in ONNX Runtime; float32 scalar constants are read
 * as they are. Nothing else is host-computable (a float seed cast to int32
 * would saturate in ONNX Runtime where the reference kernel wraps).
 */
export function hostScalar(node: PrimitiveNode, from: readonly (HostScalar | undefined)[]): HostScalar | undefined {
  if (node.shape.length !== 0 || !HOST_OPS.has(node.op) || !from.every((f) => f)) return undefined;
  if (node.dtype !== 'int32' && !(node.dtype === 'float32' && node.op === 'constant')) return undefined;
  const value: HostScalar = (run) => {
    let v = run.memo.get(value);
    if (!v) run.memo.set(value, v = evaluatePrimitive(node.op, `lowerGraph: host scalar ${node.op}`, from.map((f) => f!(run)), node.attrs));
    return v;
  };
  return value;
}

/** The hoists of one lowering: `fed` are the graph's fed inputs, `random` collects the inputs made. */
export function hostRandom(graph: Graph, fed: readonly Node[], b: OnnxBuilder, random: RandomInput[]): HostRandom {
  const hosts = graph.inputs.map((n): HostScalar | undefined => {
    const i = fed.indexOf(n);
    if (i < 0 || n.shape.length !== 0 || (n.dtype !== 'int32' && n.dtype !== 'float32')) return undefined;
    const array = n.dtype === 'int32' ? Int32Array : Float32Array;
    return (r) => {
      const v = r.read(i);
      if (typeof v !== 'object' || v === null || v.dtype !== n.dtype || !Array.isArray(v.shape) || v.shape.length !== 0 || !(v.data instanceof array) || v.data.length !== 1) {
        fail('RandomInput.fill', `read(${i}) expected input '${n.name}' as ${n.dtype === 'int32' ? 'an' : 'a'} ${n.dtype} scalar { data: ${array.name}(1), shape: [], dtype: '${n.dtype}' }, got ${describe(v)}`);
      }
      return v;
    };
  });
  /** A new random input of `shape` whose fill, after checking its arguments, runs `draw`. */
  const input = (kind: RandomInput['kind'], shape: readonly number[], bits: 16 | 24, draw: (out: Float32Array, run: HostRun, at: string) => void): string => {
    const name = b.fresh('random');
    const size = sizeOf(shape);
    random.push({
      name, kind, shape: Object.freeze([...shape]), dtype: 'float32', bits,
      fill(out, read) {
        const at = `RandomInput '${name}'.fill`;
        if (!(out instanceof Float32Array) || out.length !== size) fail(at, `out expected a Float32Array of ${size} elements, got ${describe(out)}`);
        if (typeof read !== 'function') fail(at, `read expected a function (input index) => value, got ${describe(read)}`);
        draw(out, { read, memo: new Map() }, at);
      },
    });
    return name;
  };
  const key = (run: HostRun, seed: HostScalar, step: HostScalar, salt: number): number => randomKey(Number(seed(run).data[0]) >>> 0, Number(step(run).data[0]) >>> 0, salt);
  return {
    hosts,
    uniform(node, seed, step) {
      if (!seed || !step || node.dtype !== 'float32' || !isStatic(node.shape)) return undefined;
      const { salt, bits } = node.attrs;
      return input('uniform', node.shape as readonly number[], bits, (out, run) => fillUniform(out, key(run, seed, step, salt), bits));
    },
    mask(node, [seed, step, rate]) {
      const draws = node.body.nodes.filter((n): n is PrimitiveNode<'randomUniform'> => n.kind === 'primitive' && n.op === 'randomUniform');
      if (!seed || !step || !rate || node.dtype !== 'float32' || !isStatic(node.shape) || draws.length !== 1 || draws[0].attrs.bits !== 16) return undefined;
      const { salt } = draws[0].attrs;
      return input('dropoutMask', node.shape as readonly number[], 16, (out, run, at) => {
        // The body's float32 arithmetic: p · 2^16 is exact, + 1/2 is rounded to float32 (at p = 2^-17 − 2^-41 it
        // rounds up to 1), q = drops / 2^16 is exact, and 1/(1 − q) rounded once to float32 is the float32
        // quotient. The body keeps u > q − 2^-17, u a multiple of 2^-16: u · 2^16 ≥ drops. A rate of 1 (a double
        // just below 1 becomes 1 in float32) is clamped as the body clamps it.
        const p = Number(rate(run).data[0]);
        if (!(p >= 0 && p <= 1)) fail(at, `the dropout rate expected a number in [0, 1), got ${show(p)}`);
        const drops = Math.min(Math.trunc(Math.fround(p * 2 ** 16 + 0.5)), 2 ** 16 - 1);
        fillDropoutMask(out, key(run, seed, step, salt), drops, Math.fround(1 / (1 - drops * 2 ** -16)));
      });
    },
  };
}
