import { defineCustomVjp } from '../autodiff/custom-vjp.js';
import { add, div, exp, mul, neg, reciprocal, sub } from '../tensor/ops/elementwise.js';
import { tensor, type Tensor } from '../tensor/tensor.js';

/** 1 / (1 + e^-x) */
export function sigmoid(x: Tensor): Tensor {
  return reciprocal(add(exp(neg(x)), tensor(1, { dtype: x.dtype })));
}

/** SiLU (swish): x · sigmoid(x) (Elfwing et al. 2017; Ramachandran et al. 2017). */
export function silu(x: Tensor): Tensor {
  return div(x, add(exp(neg(x)), tensor(1, { dtype: x.dtype })));
}

/**
 * The SwiGLU gate, silu(gate) ⊙ up (Shazeer 2020, "GLU Variants Improve
 * Transformer"). Its backward keeps only `gate` and `up` and recomputes the
 * sigmoid, instead of the generic graph's sigmoid, silu and exp tensors:
 *
 *   d up   = g ⊙ silu(gate)
 *   d gate = g ⊙ up ⊙ σ(gate) ⊙ (1 + gate ⊙ (1 − σ(gate)))
 */
export const swiglu: (gate: Tensor, up: Tensor) => Tensor = defineCustomVjp(
  'swiglu',
  (gate, up) => mul(silu(gate), up),
  (g, [gate, up]) => {
    const s = sigmoid(gate);
    const one = tensor(1, { dtype: gate.dtype });
    const dGate = mul(mul(mul(g, up), s), add(one, mul(gate, sub(one, s))));
    return [dGate, mul(g, mul(gate, s))];
  },
);
