import type { DType, FloatDType, TypedArray } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';

/**
 * The closed list of IR primitives. Everything else in llm-tricks (softmax,
 * RMSNorm, attention, optimizers) is a composite of these. Each primitive has
 * exactly one entry in every per-primitive table: shape inference
 * (`ir/infer`), VJP rule (`autodiff/rules`), reference kernel
 * (`ir/kernels`) and ONNX lowering (`backends/onnx/lower`); their types
 * make a missing entry a compile error.
 *
 * Adding a primitive needs a measured reason: each one costs a rule, a kernel
 * and a lowering on every backend.
 */
export const PRIMITIVES = [
  // elementwise, unary
  'neg', 'exp', 'log', 'sin', 'cos', 'sqrt', 'reciprocal', 'tanh', 'abs', 'sign',
  // elementwise, binary with broadcasting
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  // elementwise, comparisons (bool out) and selection
  'less', 'equal', 'where',
  // elementwise, type and gradient flow
  'cast', 'stopGradient',
  // reductions
  'reduceSum', 'reduceMax', 'argMax',
  // linear algebra
  'matmul',
  // movement
  'reshape', 'transpose', 'expand', 'slice', 'pad', 'concat',
  // indexing
  'gather', 'scatterAdd',
  // creation
  'constant', 'iota',
  // random
  'randomUniform',
] as const;

/** Name of one primitive. */
export type Primitive = (typeof PRIMITIVES)[number];

/** Attributes of primitives that have none. */
export type NoAttrs = Record<string, never>;
type Unary = 'neg' | 'exp' | 'log' | 'sin' | 'cos' | 'sqrt' | 'reciprocal' | 'tanh' | 'abs' | 'sign';
type Binary = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'less' | 'equal';

/** Attributes of each primitive (static data carried by the node, not tensors). */
export type PrimitiveAttrs = { [P in Unary | Binary | 'where' | 'stopGradient' | 'matmul']: NoAttrs } & {
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
   * (int32 scalars). `salt` separates the random ops of one graph.
   */
  randomUniform: { shape: Shape; dtype: FloatDType; salt: number };
};

/** The families; each keeps the same file basename in every folder. */
export type Family = 'elementwise' | 'reduce' | 'linalg' | 'movement' | 'indexing' | 'creation' | 'random';

/** Which family (and so which file) each primitive lives in. */
export const FAMILY: Readonly<Record<Primitive, Family>> = {
  neg: 'elementwise', exp: 'elementwise', log: 'elementwise', sin: 'elementwise', cos: 'elementwise',
  sqrt: 'elementwise', reciprocal: 'elementwise', tanh: 'elementwise', abs: 'elementwise', sign: 'elementwise',
  add: 'elementwise', sub: 'elementwise', mul: 'elementwise', div: 'elementwise', pow: 'elementwise',
  maximum: 'elementwise', minimum: 'elementwise', less: 'elementwise', equal: 'elementwise', where: 'elementwise',
  cast: 'elementwise', stopGradient: 'elementwise',
  reduceSum: 'reduce', reduceMax: 'reduce', argMax: 'reduce',
  matmul: 'linalg',
  reshape: 'movement', transpose: 'movement', expand: 'movement', slice: 'movement', pad: 'movement', concat: 'movement',
  gather: 'indexing', scatterAdd: 'indexing',
  constant: 'creation', iota: 'creation',
  randomUniform: 'random',
};
