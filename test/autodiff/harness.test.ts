/**
 * The finite-difference checker (test/helpers/check-vjp.ts) is only worth
 * something if it rejects wrong gradients. These tests feed it deliberately
 * wrong backward rules: custom-VJP composites with a wrong backward, and
 * built-in rules swapped out of VJP_RULES for the duration of a test. Each
 * wrong rule must make the check fail (with a readable message), and the
 * right rule must make it pass, on the same inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, cos, defineCustomVjp, exp, expand, max, mul, reshape, sin, sum, tensor, type Tensor } from '../../src/index.js';
import { VJP_RULES } from '../../src/autodiff/rules/index.js';
import { anyFloatTensor, seed } from '../helpers/arbitraries.js';
import { assertVjp, checkVjp } from '../helpers/check-vjp.js';

const x = tensor([[-1.5, -0.25, 0.3], [0.9, 1.2, 2]], { dtype: 'float64' });
const y = tensor([0.5, -1, 1.5], { dtype: 'float64' });

/** Runs `body` with `VJP_RULES[op]` replaced, restoring the real rule even when `body` throws. */
function withRule<K extends keyof typeof VJP_RULES>(op: K, rule: (typeof VJP_RULES)[K], body: () => void): void {
  const original = VJP_RULES[op];
  VJP_RULES[op] = rule;
  try {
    body();
  } finally {
    VJP_RULES[op] = original;
  }
}

describe('the VJP checker catches wrong custom VJPs', () => {
  const goodExp = defineCustomVjp('goodExp', (v) => exp(v), (ct, _inputs, out) => [mul(ct, out)]);
  const doubledExp = defineCustomVjp('doubledExp', (v) => exp(v), (ct, _inputs, out) => [mul(mul(ct, 2), out)]);
  const slightlyOffExp = defineCustomVjp('slightlyOffExp', (v) => exp(v), (ct, _inputs, out) => [mul(mul(ct, 1.001), out)]);
  const halfAdd = defineCustomVjp('halfAdd', (a, b) => add(a, b), (ct) => [ct, null]); // forgets b

  it('passes the right backward of exp', () => {
    const result = checkVjp(goodExp, [x]);
    expect(result.ok).toBe(true);
    expect(result.error).toBeLessThanOrEqual(result.tolerance);
    expect(() => assertVjp(goodExp, [x])).not.toThrow();
  });

  it('fails exp with cotangent·2·y, with a readable message', () => {
    const result = checkVjp(doubledExp, [x]);
    expect(result.ok).toBe(false);
    expect(result.vjp / result.fd).toBeCloseTo(2, 6);
    expect(() => assertVjp(doubledExp, [x])).toThrow(/VJP check failed for inputs float64\[2, 3\].*finite differences = .*by vjp = .*> tolerance/s);
  });

  it('fails a backward off by only 0.1%', () => {
    expect(checkVjp(slightlyOffExp, [x]).ok).toBe(false);
  });

  it('fails a backward that drops one input’s gradient', () => {
    expect(checkVjp(halfAdd, [x, y]).ok).toBe(false);
    expect(checkVjp((a, b) => add(a, b), [x, y]).ok).toBe(true);
  });

  it('makes a fast-check property fail when the rule is wrong', () => {
    const property = (f: (v: Tensor) => Tensor) => fc.property(anyFloatTensor(), seed, (v, s) => { assertVjp(f, [v], { seed: s }); });
    let failure: unknown;
    try {
      fc.assert(property(doubledExp), { numRuns: 20 });
    } catch (e) {
      failure = e;
    }
    expect(String(failure)).toMatch(/Property failed/);
    expect(String((failure as Error).cause)).toMatch(/VJP check failed/);
    expect(() => fc.assert(property(goodExp), { numRuns: 20 })).not.toThrow();
  });
});

describe('the VJP checker catches a wrong built-in rule', () => {
  it('sin: ct·sin(x) instead of ct·cos(x) fails; the restored rule passes', () => {
    withRule('sin', (ct, [v]) => [mul(ct, sin(v))], () => {
      expect(checkVjp(sin, [x]).ok).toBe(false);
      expect(() => assertVjp((v) => sum(sin(v)), [x])).toThrow(/VJP check failed/);
    });
    expect(VJP_RULES.sin).toBeTypeOf('function');
    expect(checkVjp(sin, [x]).ok).toBe(true);
    expect(checkVjp((v) => sum(sin(v)), [x]).ok).toBe(true);
  });

  it('cos: a sign error fails', () => {
    withRule('cos', (ct, [v]) => [mul(ct, sin(v))], () => {
      expect(checkVjp(cos, [x]).ok).toBe(false);
    });
    expect(checkVjp(cos, [x]).ok).toBe(true);
  });

  it('reduceMax: sending the cotangent to every element fails', () => {
    const everywhere: typeof VJP_RULES.reduceMax = (ct, [v], _out, { axes, keepDims }) =>
      [expand(keepDims ? ct : reshape(ct, v.shape.map((d, i) => (axes.includes(i) ? 1 : d))), v.shape)];
    withRule('reduceMax', everywhere, () => {
      expect(checkVjp((v) => max(v, 1), [x]).ok).toBe(false);
      expect(checkVjp((v) => max(v, 1, { keepDims: true }), [x]).ok).toBe(false);
    });
    expect(checkVjp((v) => max(v, 1, { keepDims: true }), [x]).ok).toBe(true);
  });

  it('restores the rule even when the check throws', () => {
    const original = VJP_RULES.sin;
    expect(() => withRule('sin', () => { throw new Error('boom'); }, () => { checkVjp(sin, [x]); })).toThrow('boom');
    expect(VJP_RULES.sin).toBe(original);
  });
});
