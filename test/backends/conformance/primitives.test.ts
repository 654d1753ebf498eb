/**
 * Every IR primitive, lowered to ONNX and run on each backend under test,
 * agrees with the reference backend. One table row (one or more cases) per
 * primitive, and the table must name every primitive.
 *
 * Each case is a fast-check property over a small traced graph: float32
 * with NumPy broadcasting and a symbolic batch dim 'B' fed at two sizes
 * (so dims are read at run time, not baked in), plus the integer and bool
 * dtypes each op takes (int32/int64 arithmetic, truncating division,
 * wrapping products, equal on bool, casts between all five dtypes, gather
 * and scatterAdd with negative and repeated indices on several axes, argMax
 * ties, iota of a symbolic length, concat's derived 'P+T' dim feeding a
 * reshape and an iota, and randomUniform bit for bit over seeds, steps and
 * salts). Data movement, integer and random results must be exact; float
 * arithmetic is compared within the tolerances of test/helpers/backends.ts.
 *
 * WebGPU runs each case once (the software device compiles a shader per
 * op). With strictDevice it refuses what ONNX Runtime 1.30's WebGPU
 * provider has no kernel for (int64 and float64 tensors, so also gather/
 * scatter index arithmetic in int64, ArgMax's int64 output, and Range) and
 * the shape arithmetic that the provider places on the CPU on purpose;
 * those cases are listed as skipped with the reason.
 */
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import {
  abs, add, argMax, cast, concat, cos, div, equal, exp, expand, gather, iota, less, log, matmul, max, maximum, minimum, mul,
  neg, pad, pow, PRIMITIVES, randomUniform, reciprocal, reshape, scatterAdd, sign, sin, slice, sqrt, stopGradient, sub, sum,
  tanh, tensor, trace, transpose, where, type DType, type Graph, type Primitive, type Shape, type Tensor, type TraceOutput,
} from '../../../src/index.js';
import {
  describePerBackend, EXACT, expectConforms, FLOAT64, lenient, PRIMITIVE, reportToleranceUse, WEBGPU_PRIMITIVE,
  type BackendUnderTest, type Tolerance,
} from '../../helpers/backends.js';
import { rng } from '../../helpers/check-vjp.js';

// Property runs per case on cpu and wasm (a third of them on WebGPU). CONFORMANCE_RUNS=100 makes a soak run.
const RUNS = Number(process.env.CONFORMANCE_RUNS ?? 5);

/** Values for `n` elements from a seeded generator, given the bound symbolic dims. */
type Values = (n: number, r: () => number, dims: Readonly<Record<string, number>>) => (number | boolean)[];

const gen = (f: (r: () => number) => number | boolean): Values => (n, r) => Array.from({ length: n }, () => f(r));
const V = {
  any: gen((r) => 4 * r() - 2),
  positive: gen((r) => 0.5 + 1.5 * r()),
  awayFromZero: gen((r) => (r() < 0.5 ? -1 : 1) * (0.1 + 1.9 * r())),
  /** Multiples of 0.5 in [-2, 2]: zeros and ties. */
  grid: gen((r) => Math.round(8 * r() - 4) / 2),
  /** Fractions and negatives for casts: truncation toward zero, 0 to false. */
  castable: gen((r) => [0, 0.5, -0.5, 1.75, -1.75, 2, -3, 9.25][Math.floor(8 * r())]),
  int: (lo: number, hi: number): Values => gen((r) => lo + Math.floor((hi - lo + 1) * r())),
  nonzeroInt: gen((r) => (r() < 0.5 ? -1 : 1) * (1 + Math.floor(9 * r()))),
  bool: gen((r) => r() < 0.5),
  /** Indices into an axis of the size of `dim` (a number or a bound name), negative ones included. */
  index: (dim: number | string): Values => (n, r, dims) => {
    const d = typeof dim === 'number' ? dim : dims[dim];
    return Array.from({ length: n }, () => -d + Math.floor(2 * d * r()));
  },
};

/** One graph input: its declared (maybe symbolic) shape, dtype and value generator. */
interface In {
  readonly shape: Shape;
  readonly dtype?: DType;
  readonly values?: Values;
}

/** One generated instance: inputs, the traced function, and the symbol bindings of each feed set. */
interface Built {
  readonly inputs: readonly In[];
  readonly fn: (...xs: Tensor[]) => TraceOutput;
  readonly sizes: readonly Readonly<Record<string, number>>[];
  readonly seed: number;
}

interface Case {
  readonly name: string;
  readonly arb: fc.Arbitrary<Built>;
  /** Exact comparison (data movement, integers, comparisons, random bits). */
  readonly exact?: boolean;
  /** Float64 arithmetic (compared within FLOAT64). */
  readonly float64?: boolean;
  /** Why this case cannot run on WebGPU with strictDevice, when it cannot. */
  readonly webgpu?: string;
  /** Why WebGPU runs this case with its symbolic dims made static (the first feed set's sizes), when it does. */
  readonly webgpuStatic?: string;
}

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });
/** Two sizes of the batch dim 'B', 1 included (broadcasting against 1 is where lowerings slip). */
const batch = fc.constantFrom([{ B: 1 }, { B: 3 }], [{ B: 3 }, { B: 2 }], [{ B: 2 }, { B: 1 }]);
const small = (o: { minRank?: number; maxRank?: number; maxDim?: number } = {}): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: o.maxDim ?? 3 }), { minLength: o.minRank ?? 0, maxLength: o.maxRank ?? 3 });
/** `to` with some dims set to 1 (same rank). */
const onesIn = (to: readonly number[]): fc.Arbitrary<number[]> =>
  fc.array(fc.boolean(), { minLength: to.length, maxLength: to.length }).map((m) => to.map((d, i) => (m[i] ? 1 : d)));
/** A shape broadcasting to `to`: a suffix with some dims set to 1. */
const broadcastableTo = (to: readonly number[]): fc.Arbitrary<number[]> =>
  fc.tuple(fc.integer({ min: 0, max: to.length }), onesIn(to)).map(([drop, s]) => s.slice(drop));
const permutation = (n: number): fc.Arbitrary<number[]> => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });
const NO_INT64 = 'no int64 kernels on WebGPU';
const NO_FLOAT64 = 'no float64 on WebGPU';
const SHAPE_MATH = 'ONNX Runtime places run-time shape arithmetic on the CPU';

/**
 * `count` input shapes broadcasting together, one of them led by the
 * symbolic 'B' (the others lead with 1 or drop that axis), in a random order.
 */
function withBatch(count: number): fc.Arbitrary<Shape[]> {
  return small().chain((out) => fc.tuple(
    onesIn(out), fc.array(fc.tuple(broadcastableTo(out), fc.boolean()), { minLength: count - 1, maxLength: count - 1 }), fc.nat(count - 1),
  ).map(([first, rest, at]) => {
    const shapes: Shape[] = rest.map(([s, one]) => (one && s.length === out.length ? [1, ...s] : s));
    shapes.splice(at, 0, ['B', ...first]);
    return shapes;
  }));
}

const unary = (f: (x: Tensor) => Tensor, values: Values, dtype: DType = 'float32', webgpu?: string): Case => ({
  name: `${dtype} [B, ...]`,
  exact: dtype !== 'float32' && dtype !== 'float64',
  float64: dtype === 'float64',
  webgpu: dtype === 'float64' ? NO_FLOAT64 : webgpu,
  arb: fc.tuple(small(), batch, seedArb).map(([s, sizes, seed]) => ({ inputs: [{ shape: ['B', ...s], dtype, values }], fn: f, sizes, seed })),
});

const binary = (f: (a: Tensor, b: Tensor) => Tensor, va: Values, vb: Values, dtype: DType = 'float32', extra: Partial<Case> = {}): Case => ({
  name: `${dtype}, broadcasting with [B, ...]`,
  exact: dtype !== 'float32' && dtype !== 'float64',
  float64: dtype === 'float64',
  webgpu: dtype === 'float64' ? NO_FLOAT64 : undefined,
  arb: fc.tuple(withBatch(2), batch, seedArb).map(([[sa, sb], sizes, seed]) => ({
    inputs: [{ shape: sa, dtype, values: va }, { shape: sb, dtype, values: vb }], fn: f, sizes, seed,
  })),
  ...extra,
});

const INT32 = V.int(-(2 ** 31), 2 ** 31 - 1);
/**
 * int32 and int64 rows of an integer binary op: small values, full-range
 * int32 values (sums and products wrap modulo 2^32), and int64 values
 * offset by 2^40 so 64-bit arithmetic shows.
 */
const intBinary = (f: (a: Tensor, b: Tensor) => Tensor, o: { small?: Values; wideA?: Values; wideB?: Values; offsetBoth?: boolean } = {}): Case[] => {
  const { small: vs = V.int(-9, 9), wideA = INT32, wideB = INT32, offsetBoth = true } = o;
  const big = 2 ** 40;
  return [
    binary(f, V.int(-9, 9), vs, 'int32'),
    { ...binary(f, wideA, wideB, 'int32'), name: 'int32, full-range values (wrapping)' },
    binary((a, b) => f(add(a, big), offsetBoth ? add(b, big) : b), V.int(-9, 9), vs, 'int64', { webgpu: NO_INT64 }),
  ];
};

const reduction = (f: typeof sum, dtype: DType, values: Values, webgpu?: string): Case => ({
  name: `${dtype} [B, ...] over random axes, keepDims or not`,
  exact: dtype !== 'float32' && dtype !== 'float64',
  float64: dtype === 'float64',
  webgpu: dtype === 'float64' ? NO_FLOAT64 : webgpu,
  arb: fc.tuple(small({ minRank: 0, maxRank: 2 }), batch, seedArb).chain(([s, sizes, seed]) => fc.tuple(
    fc.subarray([...Array(s.length + 1).keys()]), fc.array(fc.boolean(), { minLength: s.length + 1, maxLength: s.length + 1 }), fc.boolean(),
  ).map(([axes, negative, keepDims]) => ({
    inputs: [{ shape: ['B', ...s], dtype, values }],
    fn: (x: Tensor) => f(x, axes.map((a) => (negative[a] ? a - s.length - 1 : a)), { keepDims }),
    sizes, seed,
  }))),
});

const CAST_TARGETS: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'bool'];
/** Casts of one source dtype to all five, as one multi-output graph. */
const castFrom = (dtype: DType, values: Values): Case => ({
  name: `${dtype} to every dtype`,
  exact: true,
  webgpu: NO_FLOAT64,
  arb: fc.tuple(small({ maxRank: 2 }), batch, seedArb).map(([s, sizes, seed]) => ({
    inputs: [{ shape: ['B', ...s], dtype, values }], fn: (x: Tensor) => CAST_TARGETS.map((t) => cast(x, t)), sizes, seed,
  })),
});

/** A scatterAdd along `axis` of a rank-`rank` base, indices of rank 0-2 (repeated, negative), int32 or int64. */
const scatterCase = (axis: number, rank: number, dtype: DType, indexType: 'int32' | 'int64'): Case => ({
  name: `${dtype} base of rank ${rank}, axis ${axis}, ${indexType} indices of rank 0-2 (repeated, negative)`,
  exact: dtype !== 'float32',
  // float32 with int32 indices and static shapes lowers to int32 ScatterElements, which WebGPU runs whole.
  webgpu: dtype === 'float32' && indexType === 'int32' ? undefined : NO_INT64,
  arb: fc.tuple(small({ minRank: rank, maxRank: rank }), small({ minRank: 0, maxRank: 2, maxDim: 4 }), seedArb).map(([dims, is, seed]) => ({
    inputs: [
      { shape: dims, dtype, values: dtype === 'float32' ? V.any : V.int(-9, 9) },
      { shape: is, dtype: indexType, values: V.index(dims[axis]) },
      { shape: [...dims.slice(0, axis), ...is, ...dims.slice(axis + 1)], dtype, values: dtype === 'float32' ? V.any : V.int(-9, 9) },
    ],
    fn: (b: Tensor, i: Tensor, u: Tensor) => scatterAdd(b, i, u, axis),
    sizes: [{}],
    seed,
  })),
});

const MOVE_DTYPES: readonly DType[] = ['float64', 'int32', 'int64', 'bool'];
/** Every movement op (and gather) on a tensor of `dtype`, as one multi-output graph. */
const movementOf = (dtype: DType): Case => ({
  name: `${dtype} through every movement op and gather`,
  exact: true,
  webgpu: {
    int64: NO_INT64, float64: NO_FLOAT64,
  }[dtype as string],
  arb: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 3 }), seedArb).map(([m, n, seed]) => ({
    inputs: [{ shape: [m, n], dtype, values: dtype === 'bool' ? V.bool : dtype.startsWith('float') ? V.any : V.int(-9, 9) }, { shape: [3], dtype: 'int32', values: V.index(n) }],
    fn: (x: Tensor, i: Tensor) => [
      transpose(x, [1, 0]), reshape(x, [n, 1, m]), expand(reshape(x, [1, m, n]), [2, m, n]), slice(x, [0, 1], [m, n - 1]),
      pad(x, [1, 0], [m + 2, n + 1]), concat([x, x], 1), gather(x, i, 1),
    ],
    sizes: [{}],
    seed,
  })),
});

const CASES: Record<Primitive, readonly Case[]> = {
  neg: [unary(neg, V.any), unary(neg, V.any, 'float64'), unary(neg, V.int(-9, 9), 'int32'), unary(neg, V.int(-9, 9), 'int64', NO_INT64)],
  exp: [unary(exp, V.any), unary(exp, V.any, 'float64')],
  log: [unary(log, V.positive), unary(log, V.positive, 'float64')],
  sin: [unary(sin, V.any), unary(sin, V.any, 'float64')],
  cos: [unary(cos, V.any), unary(cos, V.any, 'float64')],
  sqrt: [unary(sqrt, V.positive), unary(sqrt, V.positive, 'float64')],
  reciprocal: [unary(reciprocal, V.awayFromZero), unary(reciprocal, V.awayFromZero, 'float64')],
  tanh: [unary(tanh, V.any), unary(tanh, V.any, 'float64')],
  abs: [unary(abs, V.any), unary(abs, V.any, 'float64'), unary(abs, V.int(-9, 9), 'int32'), unary(abs, V.int(-9, 9), 'int64', NO_INT64)],
  sign: [
    { ...unary(sign, V.grid), exact: true },
    { ...unary(sign, V.grid, 'float64'), exact: true },
    unary(sign, V.int(-2, 2), 'int32'),
    unary(sign, V.int(-2, 2), 'int64', NO_INT64),
  ],
  add: [binary(add, V.any, V.any), binary(add, V.any, V.any, 'float64'), ...intBinary(add)],
  sub: [binary(sub, V.any, V.any), binary(sub, V.any, V.any, 'float64'), ...intBinary(sub)],
  mul: [binary(mul, V.any, V.any), binary(mul, V.any, V.any, 'float64'), ...intBinary(mul, { offsetBoth: false })],
  // Integer division truncates toward zero (negative operands included); -2^31 / -1 would trap, so it is left out.
  div: [binary(div, V.any, V.awayFromZero), binary(div, V.any, V.awayFromZero, 'float64'), ...intBinary(div, { small: V.nonzeroInt, wideA: V.int(1 - 2 ** 31, 2 ** 31 - 1), wideB: V.nonzeroInt, offsetBoth: false })],
  pow: [
    binary(pow, V.positive, V.any),
    binary(pow, V.positive, V.any, 'float64'),
    { ...binary(pow, V.awayFromZero, V.int(-3, 3)), name: 'float32, negative bases with integer exponents' },
  ],
  maximum: [binary(maximum, V.grid, V.grid, 'float32', { exact: true }), binary(maximum, V.any, V.any, 'float64', { exact: true }), ...intBinary(maximum)],
  minimum: [binary(minimum, V.grid, V.grid, 'float32', { exact: true }), binary(minimum, V.any, V.any, 'float64', { exact: true }), ...intBinary(minimum)],
  less: [{ ...binary(less, V.grid, V.grid), exact: true }, binary(less, V.grid, V.grid, 'float64', { exact: true }), ...intBinary(less)],
  equal: [
    { ...binary(equal, V.grid, V.grid), exact: true },
    binary(equal, V.grid, V.grid, 'float64', { exact: true }),
    ...intBinary(equal, { small: V.int(-2, 2), wideA: V.int(-2, 2), wideB: V.int(-2, 2) }),
    binary(equal, V.bool, V.bool, 'bool', { exact: true }),
  ],
  where: [
    {
      name: 'bool condition, float32 and int32 branches, all broadcasting with [B, ...]',
      arb: fc.tuple(withBatch(3), batch, seedArb).map(([[sc, sx, sy], sizes, seed]) => ({
        inputs: [{ shape: sc, dtype: 'bool', values: V.bool }, { shape: sx, values: V.any }, { shape: sy, values: V.any }],
        fn: (c: Tensor, x: Tensor, y: Tensor) => [where(c, x, y), where(c, cast(x, 'int32'), cast(y, 'int32'))],
        sizes, seed,
      })),
      exact: true,
    },
    {
      name: 'bool and int64 branches',
      webgpu: NO_INT64,
      exact: true,
      arb: fc.tuple(withBatch(3), batch, seedArb).map(([[sc, sx, sy], sizes, seed]) => ({
        inputs: [{ shape: sc, dtype: 'bool', values: V.bool }, { shape: sx, dtype: 'int64', values: V.int(-9, 9) }, { shape: sy, dtype: 'bool', values: V.bool }],
        fn: (c: Tensor, x: Tensor, y: Tensor) => [where(c, x, cast(y, 'int64')), where(c, cast(x, 'bool'), y)],
        sizes, seed,
      })),
    },
  ],
  cast: [
    castFrom('float32', V.castable), castFrom('float64', V.castable), castFrom('int32', V.int(-9, 9)),
    castFrom('int64', V.int(-(2 ** 33), 2 ** 33)), castFrom('bool', V.bool),
    {
      name: 'float32, int32 and bool among themselves',
      exact: true,
      arb: fc.tuple(small({ maxRank: 2 }), batch, seedArb).map(([s, sizes, seed]) => ({
        inputs: [{ shape: ['B', ...s], values: V.castable }, { shape: ['B', ...s], dtype: 'int32', values: V.int(-9, 9) }, { shape: ['B', ...s], dtype: 'bool', values: V.bool }],
        fn: (f: Tensor, i: Tensor, b: Tensor) => [cast(f, 'int32'), cast(f, 'bool'), cast(i, 'float32'), cast(i, 'bool'), cast(b, 'float32'), cast(b, 'int32')],
        sizes, seed,
      })),
    },
  ],
  stopGradient: [{ ...unary(stopGradient, V.any), exact: true }],
  reduceSum: [reduction(sum, 'float32', V.any), reduction(sum, 'float64', V.any), reduction(sum, 'int32', V.int(-9, 9)), reduction(sum, 'int64', V.int(-(2 ** 40), 2 ** 40), NO_INT64)],
  reduceMax: [{ ...reduction(max, 'float32', V.grid), exact: true }, { ...reduction(max, 'float64', V.any), exact: true }, reduction(max, 'int32', V.int(-9, 9)), reduction(max, 'int64', V.int(-9, 9), NO_INT64)],
  // Ties (grid values) must pick the first maximum.
  argMax: [...(['float32', 'float64', 'int32', 'int64'] as const).map((dtype): Case => ({
    name: `${dtype} [B, ...] with ties, any axis, keepDims or not`,
    exact: true,
    // float32 over a static axis lowers to ops WebGPU has; elsewhere ONNX ArgMax (int64 out) needs the CPU.
    ...(dtype === 'float32' ? { webgpuStatic: 'over a symbolic axis argMax lowers to ONNX ArgMax, whose int64 output WebGPU cannot cast' } : { webgpu: 'ArgMax gives int64 and WebGPU has no int64 Cast' }),
    arb: fc.tuple(small({ maxRank: 2 }), batch, seedArb).chain(([s, sizes, seed]) => fc.tuple(fc.integer({ min: -s.length - 1, max: s.length }), fc.boolean())
      .map(([axis, keepDims]) => ({
        inputs: [{ shape: ['B', ...s], dtype, values: dtype.startsWith('float') ? V.grid : V.int(-2, 2) }],
        fn: (x: Tensor) => argMax(x, axis, { keepDims }),
        sizes, seed,
      }))),
  })), {
    // The first NaN wins, ahead of +Infinity; rows of -Infinity pick index 0.
    name: 'float32 with NaN and ±Infinity over a static axis',
    exact: true,
    arb: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: -2, max: 1 }), fc.boolean(), seedArb).map(([m, n, axis, keepDims, seed]) => ({
      inputs: [{ shape: [m, n], values: gen((r) => [NaN, Infinity, -Infinity, -Infinity, 0, 1, -1][Math.floor(7 * r())]) }],
      fn: (x: Tensor) => argMax(x, axis, { keepDims }),
      sizes: [{}], seed,
    })),
  }],
  matmul: (['float32', 'float64'] as const).map((dtype): Case => ({
    name: `${dtype} with broadcast batch dims, [B, ...] leading one operand`,
    float64: dtype === 'float64',
    webgpu: dtype === 'float64' ? NO_FLOAT64 : undefined,
    arb: fc.tuple(small({ maxRank: 1 }), small({ minRank: 3, maxRank: 3, maxDim: 4 }), fc.boolean(), batch, seedArb)
      .chain(([bt, [m, k, n], left, sizes, seed]) => onesIn(bt).map((other) => {
        const a: Shape = left ? ['B', ...bt, m, k] : [...other, m, k];
        const b: Shape = left ? [...other, k, n] : ['B', ...bt, k, n];
        return { inputs: [{ shape: a, dtype, values: V.any }, { shape: b, dtype, values: V.any }], fn: matmul, sizes, seed };
      })),
  })),
  reshape: [
    {
      name: "float32 [B, ...] to [B, permuted dims and 1s], [B, product] and [B, -1]",
      exact: true,
      webgpuStatic: SHAPE_MATH,
      arb: fc.tuple(small({ minRank: 1, maxRank: 3 }), batch, seedArb).chain(([s, sizes, seed]) => fc.tuple(permutation(s.length), fc.nat(2)).map(([perm, ones]) => ({
        inputs: [{ shape: ['B', ...s], values: V.any }],
        fn: (x: Tensor) => [
          reshape(x, [x.shape[0], ...perm.map((p) => s[p]), ...Array<number>(ones).fill(1)]),
          reshape(x, [x.shape[0], s.reduce((p, d) => p * d, 1)]),
          reshape(x, [x.shape[0], -1]),
        ],
        sizes, seed,
      }))),
    },
    {
      name: 'a zero-size tensor (allowzero)',
      exact: true,
      webgpu: 'zero-size tensors',
      arb: fc.tuple(fc.integer({ min: 1, max: 3 }), seedArb).map(([n, seed]) => ({
        inputs: [{ shape: [n, 0] }], fn: (x: Tensor) => reshape(x, [0, n, 1]), sizes: [{}], seed,
      })),
    },
  ],
  transpose: [...MOVE_DTYPES.map(movementOf), {
    name: 'float32 [B, ...], any permutation',
    exact: true,
    arb: fc.tuple(small(), batch, seedArb).chain(([s, sizes, seed]) => permutation(s.length + 1).map((perm) => ({
      inputs: [{ shape: ['B', ...s], values: V.any }], fn: (x: Tensor) => transpose(x, perm), sizes, seed,
    }))),
  }],
  expand: [{
    // ONNX Runtime's optimizer took an Expand of a 1 to a literal 0 for a no-op when it sat between two ops.
    name: 'a computed [1, n] to [0, n] (zero-size), between two ops',
    exact: true,
    webgpu: 'zero-size tensors',
    arb: fc.tuple(fc.integer({ min: 1, max: 3 }), seedArb).map(([n, seed]) => ({
      inputs: [{ shape: [1, n], values: V.any }], fn: (x: Tensor) => mul(expand(mul(x, 2), [0, n]), 2), sizes: [{}], seed,
    })),
  }, {
    name: 'float32 to [B, ...] (B read from another input)',
    exact: true,
    webgpuStatic: SHAPE_MATH,
    arb: fc.tuple(small(), batch, seedArb).chain(([to, sizes, seed]) => fc.tuple(broadcastableTo(to), fc.boolean()).map(([s, one]) => ({
      inputs: [{ shape: one ? [1, ...s] : s, values: V.any }, { shape: ['B', ...to], values: V.any }],
      fn: (x: Tensor, y: Tensor) => expand(x, y.shape),
      sizes, seed,
    }))),
  }],
  slice: [{
    name: 'float32 [B, ...]: all of B, a block of the rest',
    exact: true,
    webgpuStatic: SHAPE_MATH,
    arb: fc.tuple(small({ minRank: 1 }), batch, seedArb).chain(([s, sizes, seed]) => fc.tuple(
      ...s.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((st) => fc.tuple(fc.constant(st), fc.integer({ min: 1, max: d - st })))),
    ).map((block) => ({
      inputs: [{ shape: ['B', ...s], values: V.any }],
      fn: (x: Tensor) => slice(x, [0, ...block.map((b) => b[0])], [x.shape[0], ...block.map((b) => b[1])]),
      sizes, seed,
    }))),
  }],
  pad: [
    {
      name: 'float32, static',
      exact: true,
      arb: fc.tuple(small({ minRank: 1 }), seedArb).chain(([s, seed]) => fc.tuple(...s.map(() => fc.tuple(fc.nat(2), fc.nat(2)))).map((edges) => ({
        inputs: [{ shape: s, values: V.any }],
        fn: (x: Tensor) => pad(x, edges.map((e) => e[0]), edges.map(([b, a], i) => b + s[i] + a)),
        sizes: [{}], seed,
      }))),
    },
    {
      name: "float32 [B, ...]: B kept, and B padded to 'B+3'",
      exact: true,
      webgpu: SHAPE_MATH,
      arb: fc.tuple(small(), batch, seedArb).chain(([s, sizes, seed]) => fc.tuple(...s.map(() => fc.tuple(fc.nat(2), fc.nat(2)))).map((edges) => ({
        inputs: [{ shape: ['B', ...s], values: V.any }],
        fn: (x: Tensor) => [
          pad(x, [0, ...edges.map((e) => e[0])], ['B', ...edges.map(([b, a], i) => b + s[i] + a)]),
          pad(x, [1, ...s.map(() => 0)], ['B+3', ...s]),
        ],
        sizes, seed,
      }))),
    },
  ],
  concat: [
    {
      name: 'float32 along any axis, [B, ...] off the axis',
      exact: true,
      arb: fc.tuple(small({ minRank: 1 }), batch, seedArb).chain(([s, sizes, seed]) => fc.tuple(
        fc.integer({ min: 1, max: s.length }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      ).map(([axis, widths]) => ({
        inputs: widths.map((w) => ({ shape: ['B', ...s.map((d, i) => (i + 1 === axis ? w : d))], values: V.any })),
        fn: (...xs: Tensor[]) => concat(xs, axis),
        sizes, seed,
      }))),
    },
    {
      name: "symbolic lengths: [P, 2] + [T, 2] gives 'P+T' (and 'P+T+P', 'P+T+1', 'T+T'), feeding a reshape and an iota",
      exact: true,
      webgpu: SHAPE_MATH,
      arb: fc.tuple(fc.constantFrom([{ P: 1, T: 2 }, { P: 3, T: 1 }], [{ P: 2, T: 2 }, { P: 4, T: 3 }]), seedArb).map(([sizes, seed]) => ({
        inputs: [{ shape: ['P', 2], values: V.any }, { shape: ['T', 2], values: V.any }],
        fn: (a: Tensor, b: Tensor) => {
          const c = concat([a, b], 0);
          const S = c.shape[0];
          const more = concat([c, tensor([[7, 8]])], 0); // 'P+T+1'
          const twice = concat([b, b], 0); // 'T+T'
          return [
            c, mul(reshape(c, [S, 2, 1]), reshape(iota(S, 'float32'), [S, 1, 1])), add(iota(S, 'int32'), 1), concat([c, a], 0),
            reshape(more, [more.shape[0], 1, 2]), iota(more.shape[0], 'int32'), reshape(twice, [2, twice.shape[0]]),
          ];
        },
        sizes, seed,
      })),
    },
  ],
  gather: [
    ...(['int32', 'int64'] as const).map((it): Case => ({
      name: `float32 [B, ...] on a static axis, ${it} indices of rank 0-2 (negative, repeated)`,
      exact: true,
      webgpu: it === 'int64' ? NO_INT64 : undefined,
      arb: fc.tuple(small({ minRank: 1 }), small({ maxRank: 2, maxDim: 4 }), batch, seedArb).chain(([s, is, sizes, seed]) => fc.integer({ min: 1, max: s.length }).map((axis) => ({
        inputs: [{ shape: ['B', ...s], values: V.any }, { shape: is, dtype: it, values: V.index(s[axis - 1]) }],
        fn: (x: Tensor, i: Tensor) => gather(x, i, axis),
        sizes, seed,
      }))),
    })),
    {
      name: "float32 [B, ...] on the symbolic axis B (negative indices wrap at run time)",
      exact: true,
      webgpuStatic: SHAPE_MATH,
      arb: fc.tuple(small({ maxRank: 2 }), small({ maxRank: 2, maxDim: 4 }), batch, seedArb).map(([s, is, sizes, seed]) => ({
        inputs: [{ shape: ['B', ...s], values: V.any }, { shape: is, dtype: 'int32', values: V.index('B') }],
        fn: (x: Tensor, i: Tensor) => gather(x, i, 0),
        sizes, seed,
      })),
    },
    {
      name: "int32 and bool tables on axis 0, indices of symbolic length 'N'",
      exact: true,
      arb: fc.tuple(small({ minRank: 1, maxRank: 2 }), fc.constantFrom([{ N: 1 }, { N: 4 }], [{ N: 3 }, { N: 2 }]), seedArb).map(([s, sizes, seed]) => ({
        inputs: [{ shape: s, dtype: 'int32', values: V.int(-9, 9) }, { shape: s, dtype: 'bool', values: V.bool }, { shape: ['N'], dtype: 'int32', values: V.index(s[0]) }],
        fn: (x: Tensor, y: Tensor, i: Tensor) => [gather(x, i, 0), gather(y, i, 0)],
        sizes, seed,
      })),
    },
  ],
  scatterAdd: [
    scatterCase(0, 2, 'float32', 'int32'), scatterCase(1, 2, 'float32', 'int32'), scatterCase(1, 3, 'float32', 'int64'),
    scatterCase(2, 3, 'float32', 'int32'), scatterCase(0, 1, 'int32', 'int64'), scatterCase(1, 2, 'int64', 'int32'),
    {
      name: "float32 on a symbolic axis 'V' (negative indices wrap at run time) and beside [B, ...]",
      webgpu: NO_INT64,
      arb: fc.tuple(fc.constantFrom([{ V: 2, B: 1 }, { V: 4, B: 3 }], [{ V: 3, B: 2 }, { V: 2, B: 2 }]), seedArb).map(([sizes, seed]) => ({
        inputs: [
          { shape: ['V', 2], values: V.any }, { shape: [5], dtype: 'int32', values: V.index(2) }, { shape: [5, 2], values: V.any },
          { shape: ['B', 3], values: V.any }, { shape: [4], dtype: 'int32', values: V.index(3) }, { shape: ['B', 4], values: V.any },
        ],
        fn: (b: Tensor, i: Tensor, u: Tensor, c: Tensor, j: Tensor, w: Tensor) => [scatterAdd(b, i, u, 0), scatterAdd(c, j, w, 1)],
        sizes, seed,
      })),
    },
  ],
  constant: [{
    name: 'closed-over eager tensors of every dtype',
    exact: true,
    webgpu: `${NO_INT64}, ${NO_FLOAT64}`,
    arb: fc.tuple(small({ maxRank: 2 }), batch, seedArb).map(([s, sizes, seed]) => {
      const r = rng(seed + 1);
      const n = s.reduce((p, d) => p * d, 1);
      const c = (dtype: DType, v: Values): Tensor => tensor(v(n, r, {}) as never, { shape: s, dtype });
      const [f32, f64, i32, i64, b] = [c('float32', V.any), c('float64', V.any), c('int32', V.int(-9, 9)), c('int64', V.int(-(2 ** 40), 2 ** 40)), c('bool', V.bool)];
      return {
        inputs: [{ shape: ['B', ...s], values: V.any }, { shape: ['B', ...s], dtype: 'int32', values: V.int(-9, 9) }],
        fn: (x: Tensor, i: Tensor) => [add(x, f32), add(i, i32), where(b, x, f32), f64, i64, b, add(cast(i, 'int64'), i64)],
        sizes, seed,
      };
    }),
  }, {
    name: 'float32, int32 and bool constants',
    exact: true,
    arb: fc.tuple(small({ maxRank: 2 }), batch, seedArb).map(([s, sizes, seed]) => {
      const r = rng(seed + 1);
      const n = s.reduce((p, d) => p * d, 1);
      const [f32, i32, b] = [tensor(V.any(n, r, {}) as number[], { shape: s }), tensor(V.int(-9, 9)(n, r, {}) as number[], { shape: s, dtype: 'int32' }), tensor(V.bool(n, r, {}) as boolean[], { shape: s, dtype: 'bool' })];
      return {
        inputs: [{ shape: ['B', ...s], values: V.any }, { shape: ['B', ...s], dtype: 'int32', values: V.int(-9, 9) }],
        fn: (x: Tensor, i: Tensor) => [add(x, f32), add(i, i32), where(b, x, f32), b],
        sizes, seed,
      };
    }),
  }],
  iota: [{
    name: "symbolic length 'N' (0 included) in float32, float64, int32 and int64",
    exact: true,
    webgpu: 'Range runs on the CPU (int64 Range, shape arithmetic)',
    arb: fc.tuple(fc.constantFrom([{ N: 1 }, { N: 5 }], [{ N: 3 }, { N: 0 }]), seedArb).map(([sizes, seed]) => ({
      inputs: [{ shape: ['N'], values: V.grid }],
      fn: (x: Tensor) => [mul(x, iota('N', 'float32')), iota('N', 'float64'), iota('N', 'int32'), iota('N', 'int64')],
      sizes, seed,
    })),
  }],
  randomUniform: [
    {
      name: 'float32 of a static shape (24 and 16 bits), bit for bit over seeds, steps and salts',
      exact: true,
      arb: fc.tuple(small({ maxRank: 3, maxDim: 4 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), seedArb).map(([s, salt, seed]) => ({
        inputs: [{ shape: [], dtype: 'int32', values: V.int(-(2 ** 31), 2 ** 31 - 1) }, { shape: [], dtype: 'int32', values: V.int(0, 10 ** 6) }],
        fn: (sd: Tensor, st: Tensor) => [randomUniform(sd, st, s, { salt }), randomUniform(sd, st, s, { salt: 0 }), randomUniform(sd, st, s, { salt, bits: 16 })],
        sizes: [{}, {}, {}],
        seed,
      })),
    },
    {
      name: "float32 [B, 3] and float64 of a symbolic shape",
      exact: true,
      webgpu: `${SHAPE_MATH}, ${NO_FLOAT64}`,
      arb: fc.tuple(batch, fc.integer({ min: 0, max: 2 ** 32 - 1 }), seedArb).map(([sizes, salt, seed]) => ({
        inputs: [{ shape: [], dtype: 'int32', values: V.int(-(2 ** 31), 2 ** 31 - 1) }, { shape: [], dtype: 'int32', values: V.int(0, 100) }, { shape: ['B', 3], values: V.any }],
        fn: (sd: Tensor, st: Tensor, x: Tensor) => [randomUniform(sd, st, x.shape, { salt }), randomUniform(sd, st, ['B', 2], { dtype: 'float64', salt: 7 })],
        sizes, seed,
      })),
    },
    {
      name: "16 bits (two numbers per word): float32 [B, 3] and float64 of a symbolic shape",
      exact: true,
      webgpu: `${SHAPE_MATH}, ${NO_FLOAT64}`,
      arb: fc.tuple(batch, fc.integer({ min: 0, max: 2 ** 32 - 1 }), seedArb).map(([sizes, salt, seed]) => ({
        inputs: [{ shape: [], dtype: 'int32', values: V.int(-(2 ** 31), 2 ** 31 - 1) }, { shape: [], dtype: 'int32', values: V.int(0, 100) }, { shape: ['B', 3], values: V.any }],
        fn: (sd: Tensor, st: Tensor, x: Tensor) => [randomUniform(sd, st, x.shape, { salt, bits: 16 }), randomUniform(sd, st, ['B', 3], { dtype: 'float64', salt: 7, bits: 16 })],
        sizes, seed,
      })),
    },
  ],
};

/** Every primitive op in a graph, composite bodies included. */
function opsOf(graph: Graph, into = new Set<string>()): Set<string> {
  for (const n of graph.nodes) {
    if (n.kind === 'primitive') into.add(n.op);
    else if (n.kind === 'call') opsOf(n.body, into);
  }
  return into;
}

/** The bound size of a dim (a number, a name, or a sum such as 'B+3'). */
const size = (d: string | number, dims: Readonly<Record<string, number>>): number =>
  (typeof d === 'number' ? d : d.split('+').reduce((t, s) => t + (/^\d+$/.test(s) ? Number(s) : dims[s]), 0));

/** Feed tensors for each binding of the symbolic dims. */
function feedsOf(built: Built): Tensor[][] {
  return built.sizes.map((dims, k) => {
    const r = rng(built.seed + 7919 * k);
    return built.inputs.map(({ shape, dtype = 'float32', values = dtype === 'bool' ? V.bool : dtype.startsWith('float') ? V.any : V.int(-9, 9) }) => {
      const s = shape.map((d) => size(d, dims));
      return tensor(values(s.reduce((p, d) => p * d, 1), r, dims) as never, { shape: s, dtype });
    });
  });
}

/** The case with its symbolic dims fixed to the first feed set's sizes. */
function specialize(built: Built): Built {
  const dims = built.sizes[0];
  return { ...built, inputs: built.inputs.map((x) => ({ ...x, shape: x.shape.map((d) => size(d, dims)) })), sizes: [dims] };
}

function toleranceOf(b: BackendUnderTest, c: Case): Tolerance {
  if (c.exact) return EXACT;
  if (c.float64) return FLOAT64;
  return b.webgpu ? WEBGPU_PRIMITIVE : PRIMITIVE;
}

afterAll(reportToleranceUse);

it('the conformance table covers exactly the PRIMITIVES list', () => {
  expect(Object.keys(CASES).sort()).toEqual([...PRIMITIVES].sort());
  for (const op of PRIMITIVES) expect(CASES[op].length, op).toBeGreaterThan(0);
});

describePerBackend('every primitive matches the reference backend', (b) => {
  it('inputs named like the values the lowering generates (output0, add_0, ints_2, const_5) keep apart from them', async () => {
    const graph = trace((x, y, z, w) => [mul(reshape(add(x, y), [2, 1]), z), add(x, w), x], ['output0', 'add_0', 'ints_2', 'const_5'].map((name) => ({ shape: [2], name })));
    await expectConforms(b, graph, [[tensor([1, 2]), tensor([3, 4]), tensor([5, 6]), tensor([7, 8])]], EXACT, 'names');
  });

  for (const op of PRIMITIVES) {
    for (const c of CASES[op]) {
      const skip = b.webgpu && c.webgpu !== undefined;
      const fixed = b.webgpu && c.webgpuStatic !== undefined;
      const note = skip ? ` (not on WebGPU: ${c.webgpu})` : fixed ? ` (static dims on WebGPU: ${c.webgpuStatic})` : '';
      // Cases WebGPU cannot run whole (the reason is in the name) still run there, with CPU fallback for what it lacks.
      const run = skip ? lenient(b) : b;
      it(`${op}: ${c.name}${skip ? ` (on WebGPU with CPU fallback: ${c.webgpu})` : note}`, async () => {
        let seen = 0;
        await fc.assert(fc.asyncProperty(c.arb.map((x) => (fixed ? specialize(x) : x)), async (built) => {
          const graph = trace(built.fn, built.inputs.map((x, i) => ({ shape: x.shape, dtype: x.dtype ?? 'float32', name: `x${i}` })));
          if (opsOf(graph).has(op)) seen++;
          await expectConforms(run, graph, feedsOf(built), toleranceOf(b, c), `${op} (${c.name})`);
        }), { numRuns: b.webgpu ? Math.ceil(RUNS / 3) : RUNS });
        expect(seen, `no generated graph used ${op}`).toBeGreaterThan(0);
      });
    }
  }
});
