/**
 * Device selection errors are LlmTricksErrors that name the compile call,
 * the device, and what to do, without ONNX Runtime's native stack:
 * - ort-node 'cuda' where CUDA is missing (where it is present, the
 *   session must instead run and match the reference backend);
 * - an unknown device name, listing the valid ones (ort-node and ort-web);
 * - ort-web 'cpu' (its CPU device is 'wasm'), and ort-web 'webgpu' in Node
 *   (no navigator.gpu).
 * And strictDevice is enforced: on WebGPU a graph with int64 arithmetic
 * (no WebGPU kernel) is refused rather than run on the CPU, and runs when
 * fallback is allowed.
 */
import { describe, expect, it } from 'vitest';
import { add, LlmTricksError, referenceBackend, tensor, trace, type Backend } from '../../../src/index.js';
import { ortNode, type OrtCompileOptions } from '../../../src/node.js';
import { ortWeb } from '../../../src/web.js';
import { BACKENDS, EXACT, expectAllClose, IN_CI } from '../../helpers/backends.js';

const graph = trace((x) => add(x, 1), [{ shape: ['B', 2] }]);
const x = tensor([[1, 2], [3, 4]]);

/** The error `compile` rejects with (failing the test if it resolves). */
async function compileError(backend: Backend, options: OrtCompileOptions): Promise<LlmTricksError> {
  const e: unknown = await backend.compile(graph, options).then(() => null, (err: unknown) => err);
  expect(e, `${backend.name}.compile(${JSON.stringify(options)}) expected to reject`).toBeInstanceOf(LlmTricksError);
  return e as LlmTricksError;
}

/** A message for a person: one line, no native source paths or JS stack frames. */
function expectNoNativeStack(message: string): void {
  expect(message).not.toMatch(/\n/);
  expect(message).not.toMatch(/\bat \S+ \(|onnxruntime_src|\.cc:\d+/);
}

describe('device errors', () => {
  it("ort-node 'cuda' without CUDA rejects naming ort-node.compile, 'cuda' and what to do", async () => {
    const outcome = await ortNode.compile(graph, { device: 'cuda' }).then((exe) => ({ exe }), (error: unknown) => ({ error }));
    if ('exe' in outcome) {
      // A machine with CUDA: the session must work instead.
      expectAllClose(await outcome.exe.run([x]), await (await referenceBackend.compile(graph)).run([x]), EXACT, 'ort-node cuda');
      return;
    }
    const e = outcome.error as LlmTricksError;
    expect(e).toBeInstanceOf(LlmTricksError);
    expect(e.where).toBe('ort-node.compile');
    expect(e.message).toMatch(/^ort-node\.compile: device 'cuda' /);
    expect(e.message).toMatch(/CUDA/); // what is missing
    expect(e.message).toMatch(/libonnxruntime_providers_cuda|install/i); // how to get it
    expect(e.message).toMatch(/use device 'cpu'/i); // the alternative
    expectNoNativeStack(e.message);
  });

  it('an unknown ort-node device lists the valid ones', async () => {
    for (const device of ['tpu', 'CPU', 'wasm']) {
      const e = await compileError(ortNode, { device });
      expect(e.where).toBe('ort-node.compile');
      expect(e.message).toBe(`ort-node.compile: device expected one of 'cpu', 'cuda', 'webgpu', got "${device}"`);
    }
  });

  it("ort-web with device 'cpu' (or any unknown name) lists 'wasm' and 'webgpu'", async () => {
    for (const device of ['cpu', 'cuda', 'gpu']) {
      const e = await compileError(ortWeb, { device });
      expect(e.where).toBe('ort-web.compile');
      expect(e.message).toBe(`ort-web.compile: device expected one of 'wasm', 'webgpu', got "${device}"`);
    }
  });

  it("ort-web 'webgpu' in Node (no navigator.gpu) rejects naming ort-web.compile and 'webgpu'", async () => {
    const e = await compileError(ortWeb, { device: 'webgpu' });
    expect(e.where).toBe('ort-web.compile');
    expect(e.message).toMatch(/^ort-web\.compile: device 'webgpu' expected a WebGPU adapter \(navigator\.gpu\)/);
    expect(e.message).toContain("in Node use ortNode from llm-tricks/node for WebGPU, and device 'wasm' elsewhere");
    expectNoNativeStack(e.message);
  });

  it('a non-Graph is refused before any session is made', async () => {
    await expect(ortNode.compile({} as never)).rejects.toThrow(/^ort-node\.compile: graph expected a Graph/);
  });
});

const webgpu = BACKENDS.find((b) => b.webgpu);

describe('strictDevice on WebGPU', () => {
  const int64 = trace((a) => add(a, 2 ** 40), [{ shape: [2], dtype: 'int64' }]);
  const feed = [tensor([1, -2], { dtype: 'int64' })];
  // Without the software Vulkan device this is skipped locally; in CI it runs, and fails if the device is missing.
  (webgpu || IN_CI ? it : it.skip)('refuses a graph WebGPU cannot run whole (int64 Add), and runs it with CPU fallback allowed', async () => {
    if (!webgpu) throw new Error('ort-node webgpu: this test needs the software Vulkan device in CI (VK_ICD_FILENAMES)');
    const e: unknown = await ortNode.compile(int64, { device: 'webgpu', strictDevice: true }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(LlmTricksError);
    expect((e as LlmTricksError).where).toBe('ort-node.compile');
    expect((e as LlmTricksError).message).toMatch(/^ort-node\.compile: device 'webgpu' .*strictDevice.*fallback to CPU EP has been explicitly disabled/);
    const lenient = await ortNode.compile(int64, { device: 'webgpu' });
    expectAllClose(await lenient.run(feed), await (await referenceBackend.compile(int64)).run(feed), EXACT, 'webgpu with fallback');
  });
});
