/**
 * The onnxruntime-node binding: devices 'cpu', 'cuda' and 'webgpu'.
 */
import { optionKeys } from '../../core/options.js';
import type { Backend } from '../backend.js';
import { FULL_CAPS, PORTABLE_CAPS } from '../onnx/lower/types.js';
import { messageOf, ortBackend, type DeviceTable, type OrtCompileOptions } from '../ort/session.js';

/** Compile options of {@link ortNode}: its devices, and the CUDA device number. */
export interface OrtNodeCompileOptions extends OrtCompileOptions {
  /** Default 'cpu'. */
  readonly device?: 'cpu' | 'cuda' | 'webgpu';
  /** Which CUDA device, for device 'cuda' (default 0). */
  readonly deviceId?: number;
}

/** The devices of onnxruntime-node and what each does (checked against the runtime in test/backends/ort-devices.test.ts). */
export const NODE_DEVICES: DeviceTable<OrtNodeCompileOptions> = {
  devices: {
    cpu: { resident: 'cpu-pool', lowering: { ...FULL_CAPS, splitK: true }, accelerator: false, hostRandom: true },
    // The Node binding has no GPU output location for CUDA: every output comes back to the CPU.
    // Its kernels are not measured here (no CUDA build runs in this project's CI): every workaround, to be safe.
    cuda: { resident: 'copied', lowering: PORTABLE_CAPS, accelerator: true, hostRandom: false },
    webgpu: { resident: 'gpu-buffer', lowering: PORTABLE_CAPS, accelerator: true, hostRandom: false },
  },
  defaultDevice: 'cpu',
  options: optionKeys<OrtNodeCompileOptions>({ device: true, deviceId: true, intraOpNumThreads: true, graphOptimizationLevel: true, strictDevice: true, spinning: true, residentOutputs: true }),
  providers(device, options) {
    if (device === 'cuda') return [{ name: 'cuda', deviceId: options.deviceId ?? 0 }];
    return [device];
  },
  explain(device, error) {
    const cause = messageOf(error);
    if (device === 'cuda') {
      return `device 'cuda' expected ONNX Runtime's CUDA execution provider, got an error creating the session (${cause}). `
        + 'onnxruntime-node loads it from libonnxruntime_providers_cuda.so beside its binding, which its install script downloads (not when '
        + 'ONNXRUNTIME_NODE_INSTALL=skip), and which needs the CUDA and cuDNN libraries it was built against on the library path. '
        + 'Use device \'cpu\' where there is no NVIDIA GPU.';
    }
    if (/fallback to CPU EP has been explicitly disabled/i.test(cause)) {
      return `device '${device}' expected a kernel on the device for every op (strictDevice), got ops ONNX Runtime would run on the CPU (${cause}). `
        + 'Shape computations of symbolic dimensions and some int64 ops always run on the CPU; compile without strictDevice to allow that.';
    }
    if (device === 'webgpu') {
      return `device 'webgpu' expected a WebGPU adapter, got an error creating the session (${cause}). `
        + 'On a machine without a GPU, a software Vulkan device works: install Chromium and libvulkan1 and set '
        + 'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.';
    }
    return `device '${device}' could not create a session: ${cause}`;
  },
};

/** ONNX Runtime for Node: `await ortNode.compile(graph, { device: 'cpu' | 'cuda' | 'webgpu' })`. */
export const ortNode: Backend<OrtNodeCompileOptions> = ortBackend('ort-node', {
  name: 'onnxruntime-node',
  // Its install script downloads CUDA binaries; where that host is out of reach, skip them.
  install: 'npm install onnxruntime-node (ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node where its CUDA download cannot be reached)',
  load: () => import('onnxruntime-node'),
}, NODE_DEVICES);
