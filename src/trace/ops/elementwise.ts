import { apply, expectTensor } from '../apply.js';
import type { DType } from '../../core/dtype.js';
import type { Tensor } from '../tensor.js';
import { operands, type TensorLike } from './args.js';

/** -x */
export function neg(x: Tensor): Tensor { return apply('neg', [x], {}); }
/** e^x */
export function exp(x: Tensor): Tensor { return apply('exp', [x], {}); }
/** Natural logarithm. */
export function log(x: Tensor): Tensor { return apply('log', [x], {}); }
/** Sine (radians). */
export function sin(x: Tensor): Tensor { return apply('sin', [x], {}); }
/** Cosine (radians). */
export function cos(x: Tensor): Tensor { return apply('cos', [x], {}); }
/** Square root. */
export function sqrt(x: Tensor): Tensor { return apply('sqrt', [x], {}); }
/** 1 / x */
export function reciprocal(x: Tensor): Tensor { return apply('reciprocal', [x], {}); }
/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor { return apply('tanh', [x], {}); }
/** |x| */
export function abs(x: Tensor): Tensor { return apply('abs', [x], {}); }
/** -1, 0 or 1 by the sign of x; its gradient is zero. */
export function sign(x: Tensor): Tensor { return apply('sign', [x], {}); }

/** a + b, broadcasting. */
export function add(a: TensorLike, b: TensorLike): Tensor { return apply('add', operands('add', a, b), {}); }
/** a - b, broadcasting. */
export function sub(a: TensorLike, b: TensorLike): Tensor { return apply('sub', operands('sub', a, b), {}); }
/** a * b, broadcasting. */
export function mul(a: TensorLike, b: TensorLike): Tensor { return apply('mul', operands('mul', a, b), {}); }
/** a / b, broadcasting (integer division truncates toward zero). */
export function div(a: TensorLike, b: TensorLike): Tensor { return apply('div', operands('div', a, b), {}); }
/** a ** b, broadcasting (floats only). */
export function pow(a: TensorLike, b: TensorLike): Tensor { return apply('pow', operands('pow', a, b), {}); }
/** Elementwise max, broadcasting; a tie sends half the gradient to each side. */
export function maximum(a: TensorLike, b: TensorLike): Tensor { return apply('maximum', operands('maximum', a, b), {}); }
/** Elementwise min, broadcasting; a tie sends half the gradient to each side. */
export function minimum(a: TensorLike, b: TensorLike): Tensor { return apply('minimum', operands('minimum', a, b), {}); }
/** a < b as bool, broadcasting. */
export function less(a: TensorLike, b: TensorLike): Tensor { return apply('less', operands('less', a, b), {}); }
/** a > b as bool, broadcasting. */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = operands('greater', a, b);
  return apply('less', [y, x], {}, 'greater');
}
/** a == b as bool, broadcasting. */
export function equal(a: TensorLike, b: TensorLike): Tensor { return apply('equal', operands('equal', a, b), {}); }

/** Picks `a` where `condition` (bool) is true, else `b`; all three broadcast. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return apply('where', [expectTensor('where', 'condition', condition), ...operands('where', a, b)], {});
}

/**
 * Converts to `dtype` (float to int truncates toward zero; non-zero to bool
 * is true). A float that is NaN, infinite or outside the integer type's
 * range has no defined integer: backends differ (ONNX Runtime's CPU and
 * WebAssembly builds give different extremes), so clamp or mask before
 * casting where such values can arrive.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  return expectTensor('cast', 'x', x).dtype === dtype ? x : apply('cast', [x], { dtype });
}

/** x, with no gradient flowing back through it. */
export function stopGradient(x: Tensor): Tensor { return apply('stopGradient', [x], {}); }

/** x * x */
export function square(x: Tensor): Tensor { return apply('mul', [x, x], {}, 'square'); }
