import { cast, cos, div, equal, less, log, mul, neg, pow, sign, sin, sub, where } from '../../trace/ops/elementwise.js';
import { isFloat } from '../../core/dtype.js';
import type { FamilyMembers, NoAttrs } from '../../ir/primitives.js';
import { tensor, type Tensor } from '../../trace/tensor.js';
import { ifNeeded, noGradient, usesInput, usesOutput, type VjpFn, type VjpTable } from '../rule-helpers.js';

/** d max(a, b): 1 where a wins, 1/2 on ties, as PyTorch and JAX split them. */
function chooser(wins: (a: Tensor, b: Tensor) => Tensor): VjpFn<NoAttrs> {
  return (ct, [a, b], _out, _attrs, needs) => {
    const share = where(wins(a, b), 1, where(equal(a, b), tensor(0.5, { dtype: a.dtype }), 0));
    return [ifNeeded(needs, 0, () => mul(ct, share)), ifNeeded(needs, 1, () => mul(ct, sub(1, share)))];
  };
}

/** VJP rules of the elementwise primitives. */
export const elementwise: VjpTable<FamilyMembers<'elementwise'>> = {
  neg: (ct) => [neg(ct)],
  exp: usesOutput((y, ct) => mul(ct, y)),
  log: usesInput((x, ct) => div(ct, x)),
  sin: usesInput((x, ct) => mul(ct, cos(x))),
  cos: usesInput((x, ct) => neg(mul(ct, sin(x)))),
  sqrt: usesOutput((y, ct) => div(mul(ct, 0.5), y)),
  reciprocal: usesOutput((y, ct) => neg(mul(ct, mul(y, y)))),
  tanh: usesOutput((y, ct) => mul(ct, sub(1, mul(y, y)))),
  abs: usesInput((x, ct) => mul(ct, sign(x))),
  sign: noGradient,
  add: (ct, _i, _o, _a, needs) => [ifNeeded(needs, 0, () => ct), ifNeeded(needs, 1, () => ct)],
  sub: (ct, _i, _o, _a, needs) => [ifNeeded(needs, 0, () => ct), ifNeeded(needs, 1, () => neg(ct))],
  mul: (ct, [a, b], _o, _a, needs) => [ifNeeded(needs, 0, () => mul(ct, b)), ifNeeded(needs, 1, () => mul(ct, a))],
  // d(a/b)/db = -a/b² = -out/b
  div: (ct, [, b], out, _a, needs) => [ifNeeded(needs, 0, () => div(ct, b)), ifNeeded(needs, 1, () => neg(div(mul(ct, out), b)))],
  // d a^b/da = b a^(b-1); d a^b/db = a^b ln a: NaN for a < 0 (as in PyTorch), 0 at a = 0 (the limit for b > 0)
  pow: (ct, [a, b], out, _a, needs) => [
    // b a^(b-1) is 0 · 0^-1 = NaN at a = b = 0; the derivative there is 0 (as PyTorch). Only that point is
    // replaced: at b = 0 with a ≠ 0 the formula is already 0, and selecting a constant there would cut its
    // derivative in b (a Hessian of a^b would lose its mixed term a^(b-1)(1 + b ln a) at b = 0).
    ifNeeded(needs, 0, () => {
      const d = mul(ct, mul(b, pow(a, sub(b, 1))));
      return where(equal(b, 0), where(equal(a, 0), 0, d), d);
    }),
    ifNeeded(needs, 1, () => where(equal(a, 0), 0, mul(ct, mul(out, log(a))))),
  ],
  maximum: chooser((a, b) => less(b, a)),
  minimum: chooser((a, b) => less(a, b)),
  less: noGradient,
  equal: noGradient,
  where: (ct, [c], _o, _a, needs) => [null, ifNeeded(needs, 1, () => where(c, ct, 0)), ifNeeded(needs, 2, () => where(c, 0, ct))],
  cast: (ct, [x]) => [isFloat(x.dtype) ? cast(ct, x.dtype) : null],
  stopGradient: noGradient,
};
