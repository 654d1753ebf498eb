/**
 * Every IR primitive's VJP rule, one table row each.
 *
 * Differentiable primitives: the vjp graph agrees with central finite
 * differences (test/helpers/check-vjp.ts) over generated shapes, broadcasts,
 * axes, indices and values inside the op's smooth domain. Non-differentiable
 * ones (comparisons, argMax, sign, stopGradient, creation, random, cast to
 * int): the gradient flowing back through them is exactly zero, and their
 * rule returns no cotangent at all. The table must name every primitive.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abs, add, argMax, cast, concat, cos, div, equal, exp, expand, gather, iota, less, log, matmul, max, maximum, minimum, mul,
  neg, pad, pow, PRIMITIVES, randomUniform, reciprocal, reshape, scatterAdd, sign, sin, slice, sqrt, stopGradient, sub, sum,
  tanh, tensor, trace, transpose, vjp, where, type Primitive, type PrimitiveAttrs, type Tensor,
} from '../../src/index.js';
import { VJP_RULES } from '../../src/autodiff/rules/index.js';
import type { VjpFn } from '../../src/autodiff/rule-helpers.js';
import { apply } from '../../src/trace/apply.js';
import {
  anyFloatTensor, axes, boolTensor, broadcastableTo, broadcastShapes, floatTensor, indices, permutation, seed, shape, sizeOf,
  values, type Domain,
} from '../helpers/arbitraries.js';
import { assertVjp, run, vjpGrads } from '../helpers/check-vjp.js';

// 40 runs per primitive keeps the file around a second; GRAD_RUNS=2000 makes a soak run.
const RUNS = Number(process.env.GRAD_RUNS ?? 40);
type Fn = (...xs: Tensor[]) => Tensor;
interface Case { kind: 'matches finite differences' | 'passes back exactly zero'; run: () => void }

const list = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number>, Number);
/** Exact equality of shape and values (no tolerance; -0 and 0 are equal). */
function expectExact(actual: Tensor, expected: Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(list(actual).map((v) => v + 0)).toEqual(list(expected).map((v) => v + 0));
}
const zerosLike = (x: Tensor): Tensor => tensor(new Array<number>(x.size).fill(0), { shape: x.shape as number[], dtype: x.dtype });

/** The rule of `op` itself returns null for every input. */
function expectNoRuleOutput<P extends Primitive>(op: P, inputs: Tensor[], attrs: PrimitiveAttrs[P]): void {
  const out = apply(op, inputs, attrs);
  const rule = VJP_RULES[op] as VjpFn<PrimitiveAttrs[P]>;
  expect(rule(out, inputs, out, attrs, inputs.map(() => true))).toEqual(inputs.map(() => null));
}

const smooth = <T>(arb: fc.Arbitrary<T>, body: (v: T, seed: number) => void): Case => ({
  kind: 'matches finite differences',
  run: () => fc.assert(fc.property(arb, seed, body), { numRuns: RUNS }),
});
const zero = <T>(arb: fc.Arbitrary<T>, body: (v: T) => void): Case => ({
  kind: 'passes back exactly zero',
  run: () => fc.assert(fc.property(arb, body), { numRuns: RUNS }),
});

const unary = (op: Fn, domain: Domain): Case => smooth(anyFloatTensor(domain), (x, s) => { assertVjp(op, [x], { seed: s }); });
const binary = (op: Fn, da: Domain, db: Domain): Case => smooth(
  broadcastShapes(2).chain(({ shapes: [sa, sb] }) => fc.tuple(floatTensor(sa, da), floatTensor(sb, db))),
  (ab, s) => { assertVjp(op, ab, { seed: s }); },
);
/** A shape of rank >= 1 and one of its axes. */
const shapeAndAxis = (maxRank = 4): fc.Arbitrary<{ dims: number[]; axis: number }> =>
  shape({ minRank: 1, maxRank }).chain((dims) => fc.integer({ min: 0, max: dims.length - 1 }).map((axis) => ({ dims, axis })));

/** Comparison `cmp(a, b)` used as a float mask on `a`: b's gradient only flows through `cmp`. */
const comparison = (cmp: Fn): Fn => (a, b) => mul(a, cast(cmp(a, b), 'float64'));

const CASES: Record<Primitive, Case> = {
  neg: unary(neg, 'any'),
  exp: unary(exp, 'any'),
  log: unary(log, 'positive'),
  sin: unary(sin, 'any'),
  cos: unary(cos, 'any'),
  sqrt: unary(sqrt, 'positive'),
  reciprocal: unary(reciprocal, 'awayFromZero'),
  tanh: unary(tanh, 'any'),
  abs: unary(abs, 'awayFromZero'),
  // x·sign(x) = |x|: the sign factor passes nothing back, so d/dx = sign(x) exactly.
  sign: zero(anyFloatTensor('awayFromZero'), (x) => {
    expectExact(vjpGrads((v) => mul(v, sign(v)), [x])[0], sign(x));
    expectExact(vjpGrads((v) => sign(v), [x])[0], zerosLike(x));
    expectNoRuleOutput('sign', [x], {});
  }),
  add: binary(add, 'any', 'any'),
  sub: binary(sub, 'any', 'any'),
  mul: binary(mul, 'any', 'any'),
  div: binary(div, 'any', 'awayFromZero'),
  pow: binary(pow, 'positive', 'any'),
  // Values on interleaved grids never tie, so no finite-difference step crosses the kink.
  maximum: binary(maximum, 'oddGrid', 'evenGrid'),
  minimum: binary(minimum, 'evenGrid', 'oddGrid'),
  less: zero(
    broadcastShapes(2).chain(({ shapes: [sa, sb] }) => fc.tuple(floatTensor(sa, 'oddGrid'), floatTensor(sb, 'evenGrid'))),
    ([a, b]) => {
      const { grads } = assertVjp(comparison(less), [a, b]);
      expectExact(grads[1], zerosLike(b));
      expectNoRuleOutput('less', [a, b], {});
    },
  ),
  equal: zero(
    shape().chain((s) => fc.tuple(floatTensor(s), values(sizeOf(s), 'any'), fc.array(fc.boolean(), { minLength: sizeOf(s), maxLength: sizeOf(s) }))),
    ([a, other, same]) => {
      const b = tensor(list(a).map((v, i) => (same[i] ? v : other[i])), { shape: a.shape as number[], dtype: 'float64' });
      const [ga, gb] = vjpGrads(comparison(equal), [a, b]);
      expectExact(ga, cast(equal(a, b), 'float64'));
      expectExact(gb, zerosLike(b));
      expectNoRuleOutput('equal', [a, b], {});
    },
  ),
  where: smooth(
    broadcastShapes(3).chain(({ shapes: [sc, sa, sb] }) => fc.tuple(boolTensor(sc), floatTensor(sa), floatTensor(sb))),
    (inputs, s) => { assertVjp(where, inputs, { seed: s }); },
  ),
  // float64 <-> float32: the vjp casts the cotangent back exactly; the
  // finite-difference check runs through float32 rounding (~1.2e-7 for
  // |x| < 2), so it uses h = 0.1 (cast is linear: no truncation error) and
  // a 1e-3 absolute tolerance. A cast to int passes nothing back.
  cast: smooth(
    shape().chain((s) => fc.tuple(floatTensor(s), floatTensor(s, 'any'), floatTensor(s, 'any', 'float32'))),
    ([x, c64, x32], s) => {
      expectExact(vjpGrads((v) => cast(v, 'float32'), [x], cast(c64, 'float32'))[0], cast(cast(c64, 'float32'), 'float64'));
      expectExact(vjpGrads((v) => cast(v, 'float64'), [x32], c64)[0], cast(c64, 'float32'));
      assertVjp((v) => cast(v, 'float32'), [x], { seed: s, h: 0.1, atol: 1e-3, rtol: 1e-4 });
      assertVjp((v) => cast(v, 'float64'), [x32], { seed: s, h: 0.1, atol: 1e-3, rtol: 1e-4 });
      for (const dtype of ['int32', 'int64', 'bool'] as const) {
        // x·float(int(x)): only the left factor carries a gradient.
        expectExact(vjpGrads((v) => mul(v, cast(cast(v, dtype), 'float64')), [x])[0], cast(cast(x, dtype), 'float64'));
      }
    },
  ),
  // d/dx [x · stopGradient(x)] = x, not 2x.
  stopGradient: zero(anyFloatTensor(), (x) => {
    expectExact(vjpGrads((v) => mul(v, stopGradient(v)), [x])[0], x);
    expectNoRuleOutput('stopGradient', [x], {});
  }),
  reduceSum: smooth(
    anyFloatTensor().chain((x) => fc.tuple(fc.constant(x), axes(x.rank), fc.boolean())),
    ([x, ax, keepDims], s) => { assertVjp((v) => sum(v, ax, { keepDims }), [x], { seed: s }); },
  ),
  reduceMax: smooth(
    anyFloatTensor('distinct').chain((x) => fc.tuple(fc.constant(x), axes(x.rank), fc.boolean())),
    ([x, ax, keepDims], s) => { assertVjp((v) => max(v, ax, { keepDims }), [x], { seed: s }); },
  ),
  // x · float(argMax(x)): the index factor passes nothing back.
  argMax: zero(
    shapeAndAxis().chain(({ dims, axis }) => fc.tuple(floatTensor(dims, 'distinct'), fc.constant(axis))),
    ([x, axis]) => {
      const f: Fn = (v) => mul(v, cast(argMax(v, axis, { keepDims: true }), 'float64'));
      assertVjp(f, [x]);
      expectExact(vjpGrads(f, [x])[0], expand(cast(argMax(x, axis, { keepDims: true }), 'float64'), x.shape));
      expectNoRuleOutput('argMax', [x], { axis, keepDims: false });
    },
  ),
  matmul: smooth(
    fc.tuple(shape({ maxRank: 2, maxDim: 3 }), shape({ minRank: 3, maxRank: 3 }))
      .chain(([batch, [m, k, n]]) => fc.tuple(broadcastableTo(batch), broadcastableTo(batch))
        .chain(([ba, bb]) => fc.tuple(floatTensor([...ba, m, k]), floatTensor([...bb, k, n])))),
    (ab, s) => { assertVjp(matmul, ab, { seed: s }); },
  ),
  // The target shape: the dims permuted, with 1s inserted and maybe one -1.
  reshape: smooth(
    anyFloatTensor().chain((x) => fc.tuple(fc.constant(x), permutation(x.rank), fc.array(fc.integer({ min: 0, max: x.rank }), { maxLength: 2 }), fc.boolean())),
    ([x, perm, ones, hole], s) => {
      const to: number[] = perm.map((p) => x.shape[p] as number);
      ones.forEach((at) => to.splice(at, 0, 1));
      if (hole && to.length) to[0] = -1;
      assertVjp((v) => reshape(v, to), [x], { seed: s });
    },
  ),
  transpose: smooth(
    anyFloatTensor().chain((x) => fc.tuple(fc.constant(x), permutation(x.rank))),
    ([x, perm], s) => { assertVjp((v) => transpose(v, perm), [x], { seed: s }); },
  ),
  expand: smooth(
    shape().chain((to) => fc.tuple(fc.constant(to), broadcastableTo(to).chain((s) => floatTensor(s)))),
    ([to, x], s) => { assertVjp((v) => expand(v, to), [x], { seed: s }); },
  ),
  slice: smooth(
    shape().chain((dims) => fc.tuple(
      floatTensor(dims),
      fc.tuple(...dims.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((st) => fc.tuple(fc.constant(st), fc.integer({ min: 1, max: d - st }))))),
    )),
    ([x, block], s) => { assertVjp((v) => slice(v, block.map((b) => b[0]), block.map((b) => b[1])), [x], { seed: s }); },
  ),
  pad: smooth(
    shape().chain((dims) => fc.tuple(floatTensor(dims), fc.tuple(...dims.map(() => fc.tuple(fc.nat(2), fc.nat(2)))))),
    ([x, edges], s) => {
      const to = edges.map(([b, a], i) => b + (x.shape[i] as number) + a);
      assertVjp((v) => pad(v, edges.map((e) => e[0]), to), [x], { seed: s });
    },
  ),
  concat: smooth(
    shapeAndAxis().chain(({ dims, axis }) => fc.tuple(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
        .chain((sizes) => fc.tuple(...sizes.map((n) => floatTensor(dims.map((d, i) => (i === axis ? n : d)))))),
      fc.constantFrom(axis, axis - dims.length),
    )),
    ([xs, axis], s) => { assertVjp((...vs) => concat(vs, axis), xs, { seed: s }); },
  ),
  // Indices as a graph input (int32 or int64), repeated and negative ones included.
  gather: smooth(
    shapeAndAxis(3).chain(({ dims, axis }) => fc.tuple(
      floatTensor(dims), shape({ maxRank: 2 }).chain((is) => indices(is, dims[axis], 'int32')), fc.constant(axis), fc.boolean(),
    )),
    ([x, idx, axis, wide], s) => {
      const ix = wide ? cast(idx, 'int64') : idx;
      assertVjp((v, i) => gather(v, i, axis), [x, ix], { seed: s });
    },
  ),
  scatterAdd: smooth(
    shapeAndAxis(3).chain(({ dims, axis }) => shape({ maxRank: 2 }).chain((is) => fc.tuple(
      floatTensor(dims), indices(is, dims[axis]), floatTensor([...dims.slice(0, axis), ...is, ...dims.slice(axis + 1)]), fc.constant(axis),
    ))),
    ([base, idx, updates, axis], s) => { assertVjp((b, i, u) => scatterAdd(b, i, u, axis), [base, idx, updates], { seed: s }); },
  ),
  // A closed-over eager tensor becomes a constant node: x·c has gradient c.
  constant: zero(
    shape().chain((s) => fc.tuple(floatTensor(s), floatTensor(s))),
    ([x, c]) => {
      const f: Fn = (v) => mul(v, c);
      expect(trace(f, [{ shape: x.shape, dtype: 'float64' }]).nodes.some((n) => n.kind === 'primitive' && n.op === 'constant')).toBe(true);
      expectExact(vjpGrads(f, [x])[0], c);
      expectNoRuleOutput('constant', [], { value: c.data(), shape: c.shape as number[] });
    },
  ),
  // iota of a symbolic length is recorded as a node (a static one is folded to a constant).
  iota: zero(
    fc.integer({ min: 1, max: 6 }).chain((n) => floatTensor([n])),
    (x) => {
      const graph = trace((v) => mul(v, iota('N', 'float64')), [{ shape: ['N'], dtype: 'float64' }]);
      expect(graph.nodes.some((n) => n.kind === 'primitive' && n.op === 'iota')).toBe(true);
      const [, g] = run(vjp(graph), [x, tensor(new Array<number>(x.size).fill(1), { dtype: 'float64' })]);
      expectExact(g, iota(x.size, 'float64'));
      expectNoRuleOutput('iota', [], { length: 3, dtype: 'float64' });
    },
  ),
  // Seed and step are int32 graph inputs; the random numbers scale x, nothing flows into them.
  randomUniform: zero(
    fc.tuple(anyFloatTensor(), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })),
    ([x, sd, st]) => {
      const [seedT, stepT] = [tensor(sd, { dtype: 'int32' }), tensor(st, { dtype: 'int32' })];
      const f: Fn = (v, a, b) => mul(v, randomUniform(a, b, v.shape, { dtype: 'float64' }));
      expect(assertVjp(f, [x, seedT, stepT]).grads).toHaveLength(1);
      expectExact(vjpGrads(f, [x, seedT, stepT])[0], randomUniform(seedT, stepT, x.shape, { dtype: 'float64' }));
      expectNoRuleOutput('randomUniform', [seedT, stepT], { shape: [2], dtype: 'float64', salt: 0, bits: 24 });
    },
  ),
};

describe('VJP rule of every primitive', () => {
  it('the table covers exactly the PRIMITIVES list', () => {
    expect(Object.keys(CASES).sort()).toEqual([...PRIMITIVES].sort());
  });

  it.each(PRIMITIVES.map((op) => [op, CASES[op].kind] as const))('%s: %s', (op) => {
    CASES[op].run();
  });
});
