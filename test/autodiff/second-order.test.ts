/**
 * Grad of grad: the vjp graph is built from the same primitives, so it can
 * be differentiated again. For each op f, h(x, v) = Σ_i ⟨(Jᵀc)_i, v_i⟩
 * inlines f's first vjp graph with callGraph (c a fixed seeded cotangent);
 * the vjp of h (a Hessian-vector product in x, the first gradient in v) must
 * agree with central finite differences of the first gradient. Closed forms
 * pin the values: d²/dx² Σx³ = 6x and d³/dx³ Σx³ = 6, also through a
 * custom-VJP composite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, callGraph, defineCustomVjp, div, exp, grad, matmul, max, mul, pow, sin, sum, tanh, tensor, vjp, type Graph, type Tensor,
} from '../../src/index.js';
import { broadcastShapes, floatTensor, seed, shape, sizeOf, values, type Domain } from '../helpers/arbitraries.js';
import { assertVjp, rng, traceAt } from '../helpers/check-vjp.js';

const RUNS = 25;
type Fn = (...xs: Tensor[]) => Tensor;

/** A fixed cotangent for `graph`'s output: random but seeded, so h stays a plain function of (x, v). */
function cotangentFor(graph: Graph, s: number): Tensor {
  const out = graph.outputs[0];
  const dims = out.shape as number[];
  const random = rng(s);
  return tensor(Array.from({ length: sizeOf(dims) }, () => 2 * random() - 1), { shape: dims, dtype: out.dtype });
}

/** h(x_1..x_n, v_1..v_n) = Σ_i ⟨(Jᵀc)_i, v_i⟩, with Jᵀc from f's vjp graph inlined by callGraph. */
function contractedGradient(f: Fn, inputs: readonly Tensor[], s: number): Fn {
  const graph = traceAt(f, inputs);
  const first = vjp(graph);
  const c = cotangentFor(graph, s);
  return (...args) => {
    const n = inputs.length;
    const grads = callGraph(first, [...args.slice(0, n), c]).slice(1);
    return grads.map((g, i) => sum(mul(g, args[n + i]))).reduce((a, b) => add(a, b));
  };
}

/** Checks the second-order vjp of f at `inputs` (v drawn alongside x). */
function checkSecondOrder(f: Fn, inputs: readonly Tensor[], vs: readonly Tensor[], s: number): void {
  assertVjp(contractedGradient(f, inputs, s), [...inputs, ...vs], { seed: s + 1 });
}

/** Inputs of the given shapes and domains, plus one direction v per input. */
const withDirections = (shapes: number[][], domains: Domain[]): fc.Arbitrary<[Tensor[], Tensor[]]> =>
  fc.tuple(fc.tuple(...shapes.map((sh, i) => floatTensor(sh, domains[i]))), fc.tuple(...shapes.map((sh) => floatTensor(sh))));

const unary = (domain: Domain): fc.Arbitrary<[Tensor[], Tensor[]]> => shape({ maxRank: 3 }).chain((s) => withDirections([s], [domain]));
const binary = (da: Domain, db: Domain): fc.Arbitrary<[Tensor[], Tensor[]]> =>
  broadcastShapes(2, { maxRank: 3 }).chain(({ shapes }) => withDirections(shapes, [da, db]));

const CASES: [string, Fn, fc.Arbitrary<[Tensor[], Tensor[]]>][] = [
  ['exp', exp, unary('any')],
  ['sin', sin, unary('any')],
  ['tanh', tanh, unary('any')],
  ['mul', mul, binary('any', 'any')],
  ['div', div, binary('any', 'awayFromZero')],
  ['pow', pow, binary('positive', 'any')],
  ['matmul', matmul, fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }))
    .chain(([m, k, n, b]) => withDirections([[b, m, k], [k, n]], ['any', 'any']))],
  // x·max(x): the max selects one element, whose weight then depends on x again.
  ['reduceMax', (x) => mul(x, max(x, -1, { keepDims: true })), shape({ minRank: 1, maxRank: 3 }).chain((s) => withDirections([s], ['distinct']))],
  ['a composite: sum(tanh(x·y)²)/x', (x, y) => div(sum(mul(tanh(mul(x, y)), tanh(mul(x, y)))), x), binary('awayFromZero', 'any')],
];

describe('second-order gradients (vjp of a vjp graph)', () => {
  it.each(CASES)('%s: Hessian-vector product matches finite differences of the first gradient', (_name, f, arb) => {
    fc.assert(fc.property(arb, seed, ([xs, vs], s) => { checkSecondOrder(f, xs, vs, s); }), { numRuns: RUNS });
  });

  // The generators reach exponent 0 only by shrinking; pin it: at b = 0 the mixed term ∂²(a^b)/∂a∂b = a^(b-1)(1 + b ln a)
  // must survive the first gradient's guard for a = b = 0.
  it('pow at exponent exactly 0: the Hessian-vector product keeps the mixed term', () => {
    const a = tensor([0.5, 1, 2, 3.5], { dtype: 'float64' });
    const b = tensor([0, 0, 0, 0], { dtype: 'float64' });
    const v = (k: number): Tensor => tensor([0.3, -0.7, 0.9, -0.2].map((x) => x * k), { dtype: 'float64' });
    checkSecondOrder(pow, [a, b], [v(1), v(-1)], 3);
  });

  it('d²/dx² Σx³ = 6x and d³/dx³ Σx³ = 6 (closed form)', () => {
    fc.assert(fc.property(shape({ minRank: 1, maxRank: 3 }).chain((s) => floatTensor(s)), (x) => {
      const cube: Fn = (v) => sum(mul(v, mul(v, v)));
      const first = vjp(traceAt(cube, [x])); // (x, ct) -> [Σx³, 3x²]
      const one = tensor(1, { dtype: 'float64' });
      const firstSum: Fn = (v) => sum(callGraph(first, [v, one])[1]); // Σ 3x²
      const [second] = grad(firstSum)(x);
      const xs = Array.from(x.data() as Float64Array);
      expect(second.shape).toEqual(x.shape);
      Array.from(second.data() as Float64Array).forEach((g, i) => expect(g).toBeCloseTo(6 * xs[i], 12));

      const secondGraph = vjp(traceAt(firstSum, [x]));
      const secondSum: Fn = (v) => sum(callGraph(secondGraph, [v, one])[1]); // Σ 6x
      const [third] = grad(secondSum)(x);
      expect(third.shape).toEqual(x.shape);
      Array.from(third.data() as Float64Array).forEach((g) => expect(g).toBeCloseTo(6, 12));
    }), { numRuns: RUNS });
  });

  it('a custom VJP composite is differentiated twice through its hand-written backward', () => {
    const expish = defineCustomVjp('expish', (x) => exp(x), (ct, _inputs, y) => [mul(ct, y)]);
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }).chain((n) => values(n)), (vals) => {
      const x = tensor(vals, { dtype: 'float64' });
      const first = vjp(traceAt((v) => sum(expish(v)), [x]));
      const one = tensor(1, { dtype: 'float64' });
      const [second] = grad((v) => sum(callGraph(first, [v, one])[1]))(x);
      Array.from(second.data() as Float64Array).forEach((g, i) => expect(g).toBeCloseTo(Math.exp(vals[i]), 12));
    }), { numRuns: RUNS });
  });
});
