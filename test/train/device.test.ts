/**
 * State kept on the device between runs (Executable.runResident) and the
 * Trainer on WebGPU.
 *
 * Proves:
 * - ort-node cpu: resident outputs come back as DeviceTensors; fed back,
 *   they give the same values as plain runs; `read()` returns a copy that
 *   later runs do not change; disposed buffers are reused (the run after
 *   next writes into the array a disposed output held) and a disposed
 *   DeviceTensor is rejected as a feed; an output given an `into` array is
 *   written there by ONNX Runtime, run after run, and arrays of the wrong
 *   dtype or size, or for a resident output, are refused before the run;
 *   where a backend has no runResident (the reference backend), runHeld
 *   copies such outputs into their arrays;
 * - ort-node webgpu (software Vulkan, strictDevice): resident outputs stay
 *   GPU buffers, chain through runs and read back right, without calling
 *   getData() (which aborts Node); a plain run() of such an executable reads
 *   them back too; an output given an `into` array is copied there;
 * - a tiny DecoderLM's training steps on ort-node webgpu (strictDevice, so
 *   every op of the step graph runs on the GPU) match ort-node cpu: losses
 *   and parameters within the WebGPU tolerance.
 *
 * Locally a missing WebGPU device skips its cases with the reason; in CI it fails.
 */
import { describe, expect, it } from 'vitest';
import { add, DecoderLM, Lion, LlmTricksError, mul, referenceBackend, tensor, Tensor, TokenBatches, ByteTokenizer, trace, Trainer, type DeviceTensor } from '../../src/index.js';
import { runHeld } from '../../src/run/held.js';
import { ortNode, type OrtNodeCompileOptions } from '../../src/node.js';
import { IN_CI, webgpuUnavailable, expectAllClose } from '../helpers/backends.js';

const graph = trace((x, y) => [add(x, y), mul(x, 2)], [{ shape: [2, 3] }, { shape: [2, 3] }]);
const ones = tensor([[1, 1, 1], [1, 1, 1]]);

describe('runResident on ort-node cpu', () => {
  it('chains resident outputs through reused arrays, with reads that are copies', async () => {
    const exe = await ortNode.compile(graph, { device: 'cpu', residentOutputs: [0] });
    let x: Tensor | DeviceTensor = tensor([[0, 1, 2], [3, 4, 5]]);
    const reads: Tensor[] = [];
    const arrays: unknown[] = [];
    for (let k = 0; k < 4; k++) {
      const [sum, doubled] = await exe.runResident!([x, ones]);
      expect(sum).not.toBeInstanceOf(Tensor);
      expect(doubled).toBeInstanceOf(Tensor);
      const dev = sum as DeviceTensor & { tensor: { data: unknown } };
      arrays.push(dev.tensor.data);
      reads.push(await dev.read());
      if (!(x instanceof Tensor)) x.dispose();
      x = dev;
    }
    expect(reads.map((r) => r.toArray())).toEqual([1, 2, 3, 4].map((k) => [[k, 1 + k, 2 + k], [3 + k, 4 + k, 5 + k]]));
    expect(arrays[2]).toBe(arrays[0]); // two buffers ping-pong
    expect(arrays[3]).toBe(arrays[1]);
    expect(arrays[1]).not.toBe(arrays[0]);
    (x as DeviceTensor).dispose();
    await expect(exe.runResident!([x, ones])).rejects.toThrow(/^ort-node\.runResident: input 'input0' expected a live DeviceTensor, got one already disposed/);
  });

  it('writes an output given an `into` array there, run after run, and refuses arrays that cannot hold it', async () => {
    const exe = await ortNode.compile(graph, { device: 'cpu', residentOutputs: [0] });
    const into = new Float32Array(6);
    for (const k of [0, 10]) {
      const [sum, doubled] = await exe.runResident!([tensor([[0, 1, 2], [3, 4, 5]].map((r) => r.map((v) => v + k))), ones], [undefined, into]);
      expect(sum).not.toBeInstanceOf(Tensor);
      expect((doubled as Tensor)._data).toBe(into);
      expect([...into]).toEqual([0, 2, 4, 6, 8, 10].map((v) => v + 2 * k));
    }
    const before = [...into];
    const wrong: [unknown[], RegExp][] = [
      [[new Float32Array(6)], /into\[0\] expected nothing \(the output is resident\), got Float32Array/],
      [[undefined, new Float32Array(5)], /into\[1\] expected a Float32Array of 6 elements, got Float32Array of length 5/],
      [[undefined, new Float64Array(6)], /into\[1\] expected a Float32Array of 6 elements, got Float64Array/],
      [[undefined, into, into], /into expected an array of at most 2 output arrays/],
    ];
    for (const [given, message] of wrong) {
      const run = exe.runResident!([ones, ones], given as Float32Array[]);
      await expect(run).rejects.toThrow(LlmTricksError);
      await expect(run).rejects.toThrow(message);
    }
    expect([...into]).toEqual(before);
    await exe.dispose();
  });

  it('runHeld copies into the given arrays where the backend has no runResident (the reference backend)', async () => {
    const exe = await referenceBackend.compile(graph);
    const into = new Float32Array(6);
    const [sum, doubled] = await runHeld(exe, [tensor([[0, 1, 2], [3, 4, 5]]), ones], [undefined, into]);
    expect((doubled as Tensor)._data).toBe(into);
    expect([(sum as Tensor).toArray(), [...into]]).toEqual([[[1, 2, 3], [4, 5, 6]], [0, 2, 4, 6, 8, 10]]);
    await expect(runHeld(exe, [ones, ones], [new Float64Array(6)])).rejects.toThrow(/^runHeld: into\[0\] expected a Float32Array of 6 elements, got Float64Array/);
  });
});

const missing = webgpuUnavailable();
const gpuIt = missing && !IN_CI ? it.skip : it;

describe(`ort-node webgpu${missing && !IN_CI ? ` (skipped: ${missing})` : ''}`, () => {
  gpuIt('keeps resident outputs in GPU buffers and reads them back', async () => {
    if (missing) throw new Error(`the WebGPU device is needed in CI: ${missing}`);
    const options: OrtNodeCompileOptions = { device: 'webgpu', strictDevice: true, residentOutputs: [0] };
    const exe = await ortNode.compile(graph, options);
    let x: Tensor | DeviceTensor = tensor([[0, 1, 2], [3, 4, 5]]);
    for (let k = 0; k < 3; k++) {
      const [sum] = await exe.runResident!([x, ones]);
      expect((sum as DeviceTensor & { tensor: { location: string } }).tensor.location).toBe('gpu-buffer');
      if (!(x instanceof Tensor)) x.dispose();
      x = sum;
    }
    expect((await (x as DeviceTensor).read()).toArray()).toEqual([[3, 4, 5], [6, 7, 8]]);
    (x as DeviceTensor).dispose();
  });

  gpuIt('copies an output given an `into` array there (the binding writes into no given array here)', async () => {
    if (missing) throw new Error(`the WebGPU device is needed in CI: ${missing}`);
    const exe = await ortNode.compile(graph, { device: 'webgpu', strictDevice: true, residentOutputs: [0] });
    const into = new Float32Array(6);
    const [sum, doubled] = await exe.runResident!([tensor([[0, 1, 2], [3, 4, 5]]), ones], [undefined, into]);
    expect((doubled as Tensor)._data).toBe(into);
    expect([...into]).toEqual([0, 2, 4, 6, 8, 10]);
    (sum as DeviceTensor).dispose();
    await exe.dispose();
  });

  gpuIt('a plain run of an executable with resident outputs reads them back (they were GPU buffers it could not read)', async () => {
    if (missing) throw new Error(`the WebGPU device is needed in CI: ${missing}`);
    const exe = await ortNode.compile(graph, { device: 'webgpu', strictDevice: true, residentOutputs: [0] });
    for (let k = 0; k < 2; k++) {
      const [sum, doubled] = await exe.run([tensor([[0, 1, 2], [3, 4, 5]]), ones]);
      expect([sum.toArray(), doubled.toArray()]).toEqual([[[1, 2, 3], [4, 5, 6]], [[0, 2, 4], [6, 8, 10]]]);
    }
    await exe.dispose();
  });

  gpuIt('takes the training steps ort-node cpu takes, every op on the GPU', async () => {
    if (missing) throw new Error(`the WebGPU device is needed in CI: ${missing}`);
    const data = new TokenBatches(new ByteTokenizer().encode('four score and seven years ago '.repeat(8)), { batchSize: 2, length: 8, seed: 1 });
    const make = (compile: OrtNodeCompileOptions): Promise<Trainer> => Trainer.create({
      model: new DecoderLM({ vocab: 256, dim: 16, layers: 1, heads: 2, kvHeads: 1, seed: 3, dropout: true }),
      optimizer: new Lion({ lr: 1e-3 }), batchSize: 2, sequenceLength: 8, dropout: 0.1, backend: ortNode, compile,
    });
    const [cpu, gpu] = await Promise.all([make({ device: 'cpu', intraOpNumThreads: 1 }), make({ device: 'webgpu', strictDevice: true })]);
    for (let k = 0; k < 3; k++) {
      const [a, b] = [await cpu.step(data.batch(k)), await gpu.step(data.batch(k))];
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-3);
    }
    const params = async (t: Trainer): Promise<Tensor[]> => [...(await t.snapshot()).params.values()];
    expectAllClose(await params(gpu), await params(cpu), { atol: 6e-4, rtol: 1e-3 }, 'parameters after 3 steps', 'ort-node webgpu');
  });
});
