import { expectTensor, recordCall } from './apply.js';
import { fail, show } from '../core/errors.js';
import type { Tensor } from './tensor.js';
import { currentTrace } from './trace-state.js';
import type { Composite as IrComposite, CustomVjp as IrCustomVjp, FusedKernel } from '../ir/graph.js';

/** A hand-written backward over Tensors: the IR's CustomVjp (in ir/graph.ts) at the Tensor class. */
export type CustomVjp = IrCustomVjp<Tensor>;
/** A composite over Tensors: the IR's Composite (in ir/graph.ts) at the Tensor class. */
export type Composite = IrComposite<Tensor>;
import { trace } from './trace.js';

/**
 * Defines a composite op: a function of primitives that shows up in traced
 * graphs as one named call node, so a backend may lower it to a fused kernel
 * and autodiff may use a hand-written `vjp` instead of differentiating the
 * body. Eagerly it just runs `forward`.
 */
export function composite(name: string, forward: (...inputs: Tensor[]) => Tensor, vjp?: CustomVjp): (...inputs: Tensor[]) => Tensor {
  if (typeof name !== 'string' || name.length === 0) fail('composite', `name expected a non-empty string, got ${show(name)}`);
  if (typeof forward !== 'function') fail('composite', `forward expected a function, got ${typeof forward}`);
  return callable(vjp ? { name, forward, vjp } : { name, forward });
}

/** A library composite whose body a backend may replace with the fused `kernel` (not exported from the package). */
export function fusedComposite(kernel: FusedKernel, forward: (...inputs: Tensor[]) => Tensor, vjp: CustomVjp): (...inputs: Tensor[]) => Tensor {
  return callable({ name: kernel, forward, vjp, kernel });
}

function callable(def: Composite): (...inputs: Tensor[]) => Tensor {
  const { name, forward } = def;
  return (...inputs: Tensor[]): Tensor => {
    inputs.forEach((t, i) => expectTensor(name, `input ${i}`, t));
    const state = currentTrace();
    if (!state || !inputs.some((t) => t.isTraced)) return forward(...inputs);
    const body = trace(forward, inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, name: `${name}.input${i}` })));
    if (body.outputs.length !== 1) fail(name, `forward expected to return one Tensor, got ${body.outputs.length}`);
    return recordCall(state, def, body, inputs);
  };
}
