/** State held between steps: plain tensors, or device tensors where the backend keeps outputs resident. */
import { checkInto, intoTensor, type DeviceTensor, type Executable, type OutputArrays } from '../backends/backend.js';
import { Tensor } from '../trace/tensor.js';

/** A state tensor between steps. */
export type Held = Tensor | DeviceTensor;

/**
 * Runs with state kept on the device where the backend can (runResident),
 * else through plain tensors; outputs given `into` arrays end up in them.
 */
export async function runHeld(exe: Executable, feeds: readonly Held[], into?: OutputArrays): Promise<readonly Held[]> {
  if (exe.runResident) return exe.runResident(feeds, into);
  const arrays = checkInto('runHeld', exe.graph, into);
  const out = await exe.run(await Promise.all(feeds.map(readHeld)));
  return out.map((t, i) => (arrays?.[i] ? intoTensor(arrays[i], t.shape as readonly number[], t.dtype, t._data) : t));
}

export function readHeld(t: Tensor | DeviceTensor): Promise<Tensor> {
  return t instanceof Tensor ? Promise.resolve(t) : t.read();
}

export function disposeHeld(t: Tensor | DeviceTensor): void {
  if (!(t instanceof Tensor)) t.dispose();
}
