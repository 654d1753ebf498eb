/**
 * The onnxruntime-web binding: devices 'wasm' (browsers and Node) and
 * 'webgpu' (browsers with navigator.gpu).
 */
import { optionKeys } from '../../core/options.js';
import type { Backend } from '../backend.js';
import { FULL_CAPS, PORTABLE_CAPS } from '../onnx/lower/types.js';
import { messageOf, ortBackend, type DeviceTable, type OrtCompileOptions } from '../ort/session.js';

/** Compile options of {@link ortWeb}: its devices. */
export interface OrtWebCompileOptions extends OrtCompileOptions {
  /** Default 'wasm'. */
  readonly device?: 'wasm' | 'webgpu';
}

/** The devices of onnxruntime-web and what each does (checked against the runtime in test/backends/ort-devices.test.ts). */
export const WEB_DEVICES: DeviceTable<OrtWebCompileOptions> = {
  devices: {
    // onnxruntime-web's wasm returns preallocated outputs unwritten (still zeros): its outputs are never pooled.
    wasm: { resident: 'copied', lowering: FULL_CAPS, accelerator: false, hostRandom: true },
    webgpu: { resident: 'gpu-buffer', lowering: PORTABLE_CAPS, accelerator: true, hostRandom: false },
  },
  defaultDevice: 'wasm',
  options: optionKeys<OrtWebCompileOptions>({ device: true, intraOpNumThreads: true, graphOptimizationLevel: true, strictDevice: true, spinning: true, residentOutputs: true }),
  providers: (device) => [device],
  explain(device, error) {
    const cause = messageOf(error);
    if (device === 'webgpu' && /adapter|navigator\.gpu|webgpu is not supported|backend not found/i.test(cause)) {
      return `device 'webgpu' expected a WebGPU adapter (navigator.gpu), got an error creating the session (${cause}). `
        + "WebGPU needs a browser that exposes it (Chromium: --enable-unsafe-webgpu where it is not on by default); in Node use "
        + "ortNode from llm-tricks/node for WebGPU, and device 'wasm' elsewhere.";
    }
    if (/fallback to CPU EP has been explicitly disabled/i.test(cause)) {
      return `device '${device}' expected a kernel on the device for every op (strictDevice), got ops ONNX Runtime would run on the CPU (${cause}). `
        + 'Shape computations of symbolic dimensions and some int64 ops always run on the CPU; compile without strictDevice to allow that.';
    }
    return `device '${device}' could not create a session: ${cause}`;
  },
};

/** ONNX Runtime Web: `await ortWeb.compile(graph, { device: 'wasm' | 'webgpu' })`. */
export const ortWeb: Backend<OrtWebCompileOptions> = ortBackend('ort-web', {
  name: 'onnxruntime-web', install: 'npm install onnxruntime-web', load: () => import('onnxruntime-web'),
}, WEB_DEVICES);
