/**
 * The device tables of the ONNX Runtime bindings state what each runtime
 * does; these tests measure it, so a runtime upgrade that changes a fact
 * fails here rather than in a training run.
 *
 * Proves, for each CPU-output device (ort-node cpu, ort-web wasm in Node):
 * its table says 'cpu-pool' exactly when `session.run(feeds, fetches)`
 * writes into a preallocated output tensor. onnxruntime-web 1.30's wasm
 * returns the given tensor unwritten: a Trainer that pooled its state there
 * trained on zeros after its first step (every later loss ln 256).
 * Also: ortWeb trains on wasm, each of 4 steps' losses equal to ort-node
 * cpu's within 1e-5 and different from each other.
 */
import * as ortNodeModule from 'onnxruntime-node';
import * as ortWebModule from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { add, ByteTokenizer, DecoderLM, Lion, tensor, TokenBatches, trace, Trainer } from '../../src/index.js';
import { lowerGraph, ortNode } from '../../src/node.js';
import { ortWeb } from '../../src/web.js';
import { NODE_DEVICES } from '../../src/backends/ort-node/index.js';
import { WEB_DEVICES } from '../../src/backends/ort-web/index.js';
import type { OrtCompileOptions, OrtModule } from '../../src/backends/ort/session.js';
import type { Backend } from '../../src/index.js';

ortWebModule.env.wasm.numThreads = 1;

/** Whether `session.run` writes a result into a preallocated CPU output on `device`. */
async function writesPreallocated(ort: OrtModule, device: string): Promise<boolean> {
  const { bytes, inputNames, outputNames } = lowerGraph(trace((x) => add(x, x), [{ shape: [4] }]));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [device] });
  const out = new ort.Tensor('float32', new Float32Array(4), [4]);
  await session.run({ [inputNames[0]]: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]) }, { [outputNames[0]]: out });
  await session.release();
  return Array.from(out.data as Float32Array).join() === '2,4,6,8';
}

describe('device tables match the runtimes', () => {
  it.each([
    ['ort-node cpu', ortNodeModule as unknown as OrtModule, 'cpu', NODE_DEVICES.devices.cpu.resident],
    ['ort-web wasm', ortWebModule as unknown as OrtModule, 'wasm', WEB_DEVICES.devices.wasm.resident],
  ])('%s pools resident outputs exactly when the runtime writes into preallocated outputs', async (_, ort, device, resident) => {
    expect(resident === 'cpu-pool').toBe(await writesPreallocated(ort, device));
  });

  it('the webgpu devices keep resident outputs on the GPU; no other device claims to', () => {
    expect(NODE_DEVICES.devices.webgpu.resident).toBe('gpu-buffer');
    expect(WEB_DEVICES.devices.webgpu.resident).toBe('gpu-buffer');
    expect(Object.entries({ ...NODE_DEVICES.devices, ...WEB_DEVICES.devices }).filter(([, d]) => d.resident === 'gpu-buffer').map(([n]) => n)).toEqual(['webgpu']);
  });
});

describe('ortWeb trains on wasm', () => {
  it('takes the steps ort-node cpu takes: every loss equal within 1e-5, and falling', async () => {
    const data = new TokenBatches(new ByteTokenizer().encode('four score and seven years ago '.repeat(8)), { batchSize: 2, length: 8, seed: 1 });
    const losses = async <O extends OrtCompileOptions>(backend: Backend<O>, device: O['device']): Promise<number[]> => {
      const trainer = await Trainer.create({
        model: new DecoderLM({ vocab: 256, dim: 16, layers: 1, heads: 2, kvHeads: 1, seed: 3 }),
        optimizer: new Lion({ lr: 1e-2 }), batchSize: 2, sequenceLength: 8, backend, compile: { device } as O,
      });
      const out: number[] = [];
      for (let k = 0; k < 4; k++) out.push((await trainer.step(data.batch(k))).loss);
      return out;
    };
    const [cpu, wasm] = [await losses(ortNode, 'cpu'), await losses(ortWeb, 'wasm')];
    wasm.forEach((l, k) => expect(Math.abs(l - cpu[k]), `step ${k + 1}: wasm ${l}, cpu ${cpu[k]}`).toBeLessThan(1e-5));
    expect(wasm[3]).toBeLessThan(wasm[0] - 0.2);
  });
});

describe('session options', () => {
  it('spinning: false runs the same graph to the same bits (a session that takes turns with others)', async () => {
    const graph = trace((a, b) => add(a, b), [{ shape: [3] }, { shape: [3] }]);
    const inputs = [tensor([1, 2, 3]), tensor([0.5, 0.25, -1])];
    const [spinning, quiet] = await Promise.all([ortNode.compile(graph, { device: 'cpu' }), ortNode.compile(graph, { device: 'cpu', spinning: false })]);
    const [[a], [b]] = await Promise.all([spinning.run(inputs), quiet.run(inputs)]);
    expect(Array.from(b.data() as Float32Array)).toEqual(Array.from(a.data() as Float32Array));
    await Promise.all([spinning.dispose(), quiet.dispose()]);
  });

  it.each<[string, object, RegExp]>([
    ['spinning "no"', { spinning: 'no' }, /^ort-node\.compile: spinning expected true or false, got "no"/],
    ['strictDevice 1', { strictDevice: 1 }, /^ort-node\.compile: strictDevice expected true or false, got 1/],
    ['intraOpNumThreads 0', { intraOpNumThreads: 0 }, /^ort-node\.compile: intraOpNumThreads expected a positive integer, got 0/],
    ['graphOptimizationLevel "max"', { graphOptimizationLevel: 'max' }, /^ort-node\.compile: graphOptimizationLevel expected one of 'disabled', 'basic', 'extended', 'all', got "max"/],
  ])('rejects %s by name, before ONNX Runtime sees it', async (_label, options, message) => {
    const graph = trace((a, b) => add(a, b), [{ shape: [3] }, { shape: [3] }]);
    await expect(ortNode.compile(graph, { device: 'cpu', ...options } as never)).rejects.toThrow(message);
  });
});
