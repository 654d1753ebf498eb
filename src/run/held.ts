/** State held between steps: plain tensors, or device tensors where the backend keeps outputs resident. */
import type { DeviceTensor, Executable } from '../backends/backend.js';
import { Tensor } from '../trace/tensor.js';

/** A state tensor between steps. */
export type Held = Tensor | DeviceTensor;

/** Runs with state kept on the device where the backend can (runResident), else through plain tensors. */
export function runHeld(exe: Executable, feeds: readonly Held[]): Promise<readonly Held[]> {
  return exe.runResident ? exe.runResident(feeds) : Promise.all(feeds.map(readHeld)).then((plain) => exe.run(plain));
}

export function readHeld(t: Tensor | DeviceTensor): Promise<Tensor> {
  return t instanceof Tensor ? Promise.resolve(t) : t.read();
}

export function disposeHeld(t: Tensor | DeviceTensor): void {
  if (!(t instanceof Tensor)) t.dispose();
}
