import { defineCustomVjp } from '../autodiff/custom-vjp.js';
import { add, cast, mul, sqrt, reciprocal, sub, div } from '../trace/ops/elementwise.js';
import { mean, sum } from '../trace/ops/reduce.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { expectTensor } from '../trace/apply.js';
import { fail, show } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';

// C: the normalised (last) axis; x is (..., C), the gain w is (C).

function rstd(x: Tensor, eps: number): Tensor {
  return reciprocal(sqrt(add(mean(mul(x, x), -1, { keepDims: true }), tensor(eps, { dtype: x.dtype })))); // (..., 1)
}

const rmsNormCore = (eps: number): ((x: Tensor, w: Tensor) => Tensor) => defineCustomVjp(
  'rmsNorm',
  (x, w) => mul(mul(x, rstd(x, eps)), w),
  // With r = 1/rms(x) and n = x r: dx = r (g w - n mean(g w n)), dw = Σ g n.
  // Only x and w are kept; r is recomputed (one (..., 1) tensor).
  (g, [x, w]) => {
    const r = rstd(x, eps);
    const n = mul(x, r);
    const gw = mul(g, w);
    const dx = mul(r, sub(gw, mul(n, mean(mul(gw, n), -1, { keepDims: true }))));
    const batchAxes = [...Array(x.rank - 1).keys()];
    const dw = batchAxes.length ? sum(mul(g, n), batchAxes) : mul(g, n);
    return [dx, dw];
  },
);

function checkNorm(site: string, x: Tensor, weight: Tensor, eps: number): void {
  expectTensor(site, 'x', x);
  expectTensor(site, 'weight', weight);
  if (!isFloat(x.dtype)) fail(site, `x expected a float tensor, got ${x.dtype}`);
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail(site, `eps expected a finite number > 0, got ${show(eps)}`);
}

const cores = new Map<number, (x: Tensor, w: Tensor) => Tensor>();

/**
 * RMSNorm (Zhang & Sennrich 2019, https://arxiv.org/abs/1910.07467):
 * y = x / sqrt(mean(x²) + eps) ⊙ w over the last axis, in the input's
 * dtype (float32 or float64; the gain is cast to it). The backward keeps
 * only x and w.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  checkNorm('rmsNorm', x, weight, eps);
  let core = cores.get(eps);
  if (!core) {
    core = rmsNormCore(eps);
    cores.set(eps, core);
  }
  return core(x, cast(weight, x.dtype));
}

/** Plain LayerNorm over the last axis (Ba et al. 2016), the baseline RMSNorm drops the mean from. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  checkNorm('layerNorm', x, weight, eps);
  if (bias !== null) expectTensor('layerNorm', 'bias', bias);
  const mu = mean(x, -1, { keepDims: true });
  const centred = sub(x, mu);
  const variance = mean(mul(centred, centred), -1, { keepDims: true });
  const y = mul(div(centred, sqrt(add(variance, tensor(eps, { dtype: x.dtype })))), cast(weight, x.dtype));
  return bias ? add(y, cast(bias, x.dtype)) : y;
}
