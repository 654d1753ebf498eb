/**
 * Browser entry of the conformance page (bundled by test/browser/chromium.test.ts):
 * runs every case of ./cases.ts on the reference backend, and on ortWeb with
 * device 'wasm' (symbolic dims) and 'webgpu' (symbolic and static dims;
 * strictDevice first, recording a refusal, then a plain compile), and
 * publishes a JSON report as `globalThis.__results`.
 *
 * onnxruntime-web is imported here only to configure it: bundled together
 * with src/backends/ort-web, this import is the same module instance ortWeb
 * uses, so `env` set here is the env its sessions read.
 */
import * as ort from 'onnxruntime-web';
import { Lion, referenceBackend, type Tensor } from '../../../src/index.js';
import { ortWeb } from '../../../src/web.js';
import { OPTIM_WASM_BASE64 } from '../../../src/optim/kernels/optim-wasm.js';
import { allocateUniform, fillUniform, uniformKernelCalls } from '../../../src/core/random-fill.js';
import { ATOL, buildCases, optimizerBits, RTOL, runCase, type RunReport } from './cases.js';

/** What the page publishes. */
export interface PageResults {
  readonly userAgent: string;
  readonly hasGpu: boolean;
  readonly adapter: string | null;
  readonly atol: number;
  readonly rtol: number;
  readonly reports: readonly RunReport[];
  readonly totalMs: number;
  /** The standalone optimizers' bits in this browser (WebAssembly SIMD where it has it): see optimizerBits. */
  readonly optimizers?: ReturnType<typeof optimizerBits>;
  /** Whether allocate() put a parameter and its gradient in one (WebAssembly) memory here. */
  readonly allocatedTogether?: boolean;
  /** Whether this browser validates WebAssembly SIMD. */
  readonly wasmSimd?: boolean;
  /** The random generator's SIMD fill here (16 and 24 bits, 1001 numbers each) as uint32 bits, and whether the kernel ran. */
  readonly uniform?: { readonly bits16: number[]; readonly bits24: number[]; readonly simd: boolean };
  readonly error?: string;
}

interface BrowserGlobals {
  __results?: PageResults;
  location: { origin: string };
  navigator: {
    userAgent: string;
    gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> };
  };
}
const g = globalThis as unknown as BrowserGlobals;

async function adapterName(): Promise<string | null> {
  const adapter = await g.navigator.gpu?.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unknown';
}

async function main(): Promise<PageResults> {
  const start = performance.now();
  // The test server serves node_modules/onnxruntime-web/dist/ at /ort/.
  ort.env.wasm.wasmPaths = `${g.location.origin}/ort/`;
  // No cross-origin isolation here, so no SharedArrayBuffer: one thread, said outright.
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const hasGpu = g.navigator.gpu !== undefined;
  const adapter = hasGpu ? await adapterName() : null;
  const reports: RunReport[] = [];
  // Symbolic dims on both devices; static dims on webgpu too, where ONNX Runtime needs no shape computations on the CPU.
  for (const dims of ['symbolic', 'static'] as const) {
    for (const c of buildCases(dims)) {
      const exe = await referenceBackend.compile(c.graph);
      const reference: Tensor[][] = [];
      for (const feeds of c.feeds) reference.push(await exe.run(feeds));
      if (dims === 'symbolic') reports.push(await runCase(c, ortWeb, 'wasm', false, reference));
      reports.push(await runCase(c, ortWeb, 'webgpu', true, reference));
    }
  }
  // The library's own kernels module validates only where the runtime has WebAssembly SIMD.
  const kernels = Uint8Array.from(atob(OPTIM_WASM_BASE64), (c) => c.charCodeAt(0));
  const wasmSimd = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(kernels);
  const { params, grads } = new Lion().allocate([8]);
  const allocatedTogether = params[0].buffer === grads[0].buffer;
  const [u16, u24] = allocateUniform([1001, 1001]);
  const calls = uniformKernelCalls.simd;
  fillUniform(u16, 0x9e3779b9, 16);
  fillUniform(u24, 0x9e3779b9, 24);
  const uniform = { bits16: Array.from(new Uint32Array(u16.slice().buffer)), bits24: Array.from(new Uint32Array(u24.slice().buffer)), simd: uniformKernelCalls.simd === calls + 2 };
  return { userAgent: g.navigator.userAgent, hasGpu, adapter, atol: ATOL, rtol: RTOL, reports, totalMs: performance.now() - start, optimizers: optimizerBits(), wasmSimd, allocatedTogether, uniform };
}

main().then(
  (results) => { g.__results = results; },
  (e: unknown) => {
    g.__results = {
      userAgent: g.navigator.userAgent, hasGpu: false, adapter: null, atol: ATOL, rtol: RTOL, reports: [], totalMs: 0,
      error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e),
    };
  },
);
