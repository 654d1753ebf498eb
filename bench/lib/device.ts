/** The llm-tricks backend a `--device` runs the training and decoding parts on. */
import type { Backend } from 'llm-tricks';
import { ortNode } from 'llm-tricks/node';
import { ortWeb } from 'llm-tricks/web';

export interface DeviceBackend {
  /** For row names, e.g. 'ort-node cpu'. */
  readonly label: string;
  readonly backend: Backend;
  readonly device: string;
}

/** cpu: onnxruntime-node's CPU; wasm: onnxruntime-web's WebAssembly; webgpu: onnxruntime-node's WebGPU. */
export function deviceBackend(device: string): DeviceBackend {
  if (device === 'wasm') return { label: 'ort-web wasm', backend: ortWeb, device };
  if (device === 'webgpu') return { label: 'ort-node webgpu', backend: ortNode, device };
  return { label: 'ort-node cpu', backend: ortNode, device: 'cpu' };
}
