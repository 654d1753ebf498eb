import { runGraph } from '../ir/evaluate.js';
import { trace } from '../trace/trace.js';
import { fail } from '../core/errors.js';
import { describe, isFloat } from '../core/dtype.js';
import { formatShape } from '../core/shape.js';
import { Tensor, tensor, zeros } from '../trace/tensor.js';
import { vjp } from './vjp.js';

/** The value of a scalar function and its gradient with respect to each argument. */
export interface ValueAndGrad {
  readonly value: Tensor;
  readonly grads: Tensor[];
}

/**
 * Gradient of a scalar-valued function of tensors, evaluated eagerly on the
 * reference backend: traces `f` at the arguments' shapes, differentiates the
 * graph and runs it.
 *
 * @example
 * ```ts
 * import { mul, sum, tensor, valueAndGrad } from 'llm-tricks';
 *
 * const { value, grads } = valueAndGrad((x) => sum(mul(x, x)))(tensor([1, 2, 3]));
 * value.item(); // 14
 * grads[0].toArray(); // [2, 4, 6]
 * ```
 */
export function valueAndGrad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => ValueAndGrad {
  const site = 'valueAndGrad';
  if (typeof f !== 'function') fail(site, `f expected a function, got ${describe(f)}`);
  return (...args) => {
    args.forEach((a, i) => {
      if (!(a instanceof Tensor) || a.isTraced) fail(site, `argument ${i} expected an eager Tensor, got ${describe(a)}`);
    });
    const graph = trace(f, args.map((a) => ({ shape: a.shape, dtype: a.dtype })));
    const out = graph.outputs[0];
    if (graph.outputs.length !== 1 || out.shape.length !== 0 || (out.dtype !== 'float32' && out.dtype !== 'float64')) {
      fail(site, `f expected to return a float scalar, got ${out.dtype}${formatShape(out.shape)}`);
    }
    // Integer arguments (token ids, targets) take no gradient: theirs is a zero tensor.
    const wrt = args.flatMap((a, i) => (isFloat(a.dtype) ? [i] : []));
    const g = vjp(graph, { wrt });
    const feeds = [...args, tensor(1, { dtype: out.dtype })].map((t) => ({ data: t._data!, shape: t.shape as readonly number[], dtype: t.dtype }));
    const [value, ...floatGrads] = runGraph(site, g, feeds).map((b) => new Tensor(b.shape, b.dtype, b.data));
    const grads = args.map((a, i) => (isFloat(a.dtype) ? floatGrads[wrt.indexOf(i)] : zeros(a.shape as number[], a.dtype)));
    return { value, grads };
  };
}

/**
 * Gradient of a scalar function with respect to each argument:
 * `grad(f)(x, y) -> [df/dx, df/dy]`. Integer arguments get zeros.
 */
export function grad(f: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...args) => vg(...args).grads;
}
