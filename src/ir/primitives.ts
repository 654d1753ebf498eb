import type { DType, FloatDType, TypedArray } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';

/** The families; each keeps the same file basename in every folder. */
export type Family = 'elementwise' | 'reduce' | 'linalg' | 'movement' | 'indexing' | 'creation' | 'random';

/**
 * The closed list of IR primitives, each with its family (and so the file it
 * lives in under ir/infer, ir/kernels, autodiff/rules and
 * backends/onnx/lower). Everything else in llm-tricks (softmax, RMSNorm,
 * attention, optimizers) is a composite of these. Each primitive has exactly
 * one entry in every per-primitive table: shape inference, VJP rule,
 * reference kernel and ONNX lowering; each family's tables are typed by
 * `FamilyMembers`, so a new primitive is a compile error in exactly its
 * family's four tables.
 *
 * Adding a primitive needs a measured reason: each one costs a rule, a kernel
 * and a lowering on every backend.
 */
export const FAMILY = {
  // elementwise, unary
  neg: 'elementwise', exp: 'elementwise', log: 'elementwise', sin: 'elementwise', cos: 'elementwise',
  sqrt: 'elementwise', reciprocal: 'elementwise', tanh: 'elementwise', abs: 'elementwise', sign: 'elementwise',
  // elementwise, binary with broadcasting
  add: 'elementwise', sub: 'elementwise', mul: 'elementwise', div: 'elementwise', pow: 'elementwise',
  maximum: 'elementwise', minimum: 'elementwise',
  // elementwise, comparisons (bool out) and selection
  less: 'elementwise', equal: 'elementwise', where: 'elementwise',
  // elementwise, type and gradient flow
  cast: 'elementwise', stopGradient: 'elementwise',
  reduceSum: 'reduce', reduceMax: 'reduce', argMax: 'reduce',
  matmul: 'linalg',
  reshape: 'movement', transpose: 'movement', expand: 'movement', slice: 'movement', pad: 'movement', concat: 'movement',
  gather: 'indexing', scatterAdd: 'indexing',
  constant: 'creation', iota: 'creation',
  randomUniform: 'random',
} as const;
// Every entry names a family (a typo is an error here).
FAMILY satisfies Readonly<Record<string, Family>>;

/** Name of one primitive. */
export type Primitive = keyof typeof FAMILY;

/** The primitives of one family, e.g. `FamilyMembers<'movement'>`. */
export type FamilyMembers<F extends Family> = { [P in Primitive]: (typeof FAMILY)[P] extends F ? P : never }[Primitive];

/** Every primitive, in the order of {@link FAMILY}. */
export const PRIMITIVES: readonly Primitive[] = Object.freeze(Object.keys(FAMILY) as Primitive[]);

/** Attributes of primitives that have none. */
export type NoAttrs = Record<string, never>;
/** The primitives that carry attributes, and theirs (static data carried by the node, not tensors). */
interface DeclaredAttrs {
  /** Target element type. */
  cast: { dtype: DType };
  /** Sum over `axes` (sorted, unique, non-negative); keeps them as size 1 when `keepDims`. */
  reduceSum: { axes: readonly number[]; keepDims: boolean };
  /** Max over `axes`; tied maxima share the gradient equally. */
  reduceMax: { axes: readonly number[]; keepDims: boolean };
  /** Index (int32) of the first maximum along `axis`. */
  argMax: { axis: number; keepDims: boolean };
  /** Same elements, new shape; same element count. */
  reshape: { shape: Shape };
  /** Output axis i is input axis perm[i]. */
  transpose: { perm: readonly number[] };
  /** NumPy broadcast to `shape` (rank may grow on the left). */
  expand: { shape: Shape };
  /** The block starting at `starts` of size `sizes` (unit step). */
  slice: { starts: readonly number[]; sizes: Shape };
  /** Zero-pads to `shape`, the input placed at offset `before` (the transpose of slice). */
  pad: { before: readonly number[]; shape: Shape };
  /** Joins the inputs along `axis`. */
  concat: { axis: number };
  /** ONNX Gather: out = x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
  gather: { axis: number };
  /** base + the transpose of gather(·, indices, axis) applied to updates. */
  scatterAdd: { axis: number };
  /** A literal tensor: row-major `value` of static `shape`. */
  constant: { value: TypedArray; shape: readonly number[] };
  /** [0, 1, ..., length - 1]. */
  iota: { length: Shape[number]; dtype: DType };
  /**
   * Counter-based uniform [0, 1) numbers: a pure function of (seed, step, salt,
   * element index) so masks reproduce on every backend. Inputs: seed, step
   * (int32 scalars). `salt` separates the random ops of one graph. `bits`:
   * 24 (one generator word per number) or 16 (two numbers per word).
   */
  randomUniform: { shape: Shape; dtype: FloatDType; salt: number; bits: 16 | 24 };
}

/** Attributes of each primitive: those declared above, none for the rest. */
export type PrimitiveAttrs = { [P in Primitive]: P extends keyof DeclaredAttrs ? DeclaredAttrs[P] : NoAttrs };
