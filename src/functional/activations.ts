import { defineCustomVjp } from '../autodiff/custom-vjp.js';
import { fusedComposite } from '../trace/composite.js';
import { abs, add, div, exp, less, mul, neg, reciprocal, sub, where } from '../trace/ops/elementwise.js';
import { expectTensor } from '../trace/apply.js';
import { tensor, type Tensor } from '../trace/tensor.js';

const sigmoidCore: (x: Tensor) => Tensor = fusedComposite(
  'sigmoid',
  (x) => {
    // e = exp(-|x|) never overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below.
    const e = exp(neg(abs(x)));
    const denom = add(e, tensor(1, { dtype: x.dtype }));
    return where(less(x, 0), div(e, denom), reciprocal(denom));
  },
  // σ' = σ (1 − σ): only the output is kept, and the gradient is finite for any x.
  (g, _inputs, y) => [mul(g, mul(y, sub(tensor(1, { dtype: y.dtype }), y)))],
);

/** 1 / (1 + e^-x), computed without overflow for any x; its backward keeps only the output. */
export function sigmoid(x: Tensor): Tensor {
  return sigmoidCore(expectTensor('sigmoid', 'x', x));
}

/** SiLU (swish): x · sigmoid(x) (Elfwing et al. 2017; Ramachandran et al. 2017). */
export function silu(x: Tensor): Tensor {
  return mul(expectTensor('silu', 'x', x), sigmoidCore(x));
}

/**
 * The SwiGLU gate, silu(gate) ⊙ up (Shazeer 2020, "GLU Variants Improve
 * Transformer"). Its backward keeps only `gate` and `up` and recomputes the
 * sigmoid and silu (the same expressions as the forward's, which a backend
 * that merges common subexpressions, as ONNX Runtime does, computes once),
 * instead of the generic graph's sigmoid, silu and exp tensors:
 *
 *   d up   = g ⊙ silu(gate)
 *   d gate = g ⊙ up ⊙ σ(gate) ⊙ (1 + gate ⊙ (1 − σ(gate)))
 *          = g ⊙ up ⊙ (σ(gate) + silu(gate) ⊙ (1 − σ(gate)))
 *
 * the second form one elementwise pass shorter.
 */
export const swiglu: (gate: Tensor, up: Tensor) => Tensor = defineCustomVjp(
  'swiglu',
  (gate, up) => mul(silu(gate), up),
  (g, [gate, up]) => {
    const s = sigmoid(gate);
    const act = mul(gate, s);
    const one = tensor(1, { dtype: gate.dtype });
    const dGate = mul(mul(g, up), add(s, mul(act, sub(one, s))));
    return [dGate, mul(g, act)];
  },
);
