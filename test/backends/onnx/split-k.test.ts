/**
 * The splitK lowering (src/backends/onnx/lower/linalg.ts), which
 * onnxruntime-node's CPU device uses: a matrix product whose K is a
 * multiple of 1024 and whose M and N are at least 256 runs as products of
 * 512-wide slices of K added in order.
 * - On ONNX Runtime's CPU, after its own optimizations (each MatMul and Add
 *   fused into a Gemm accumulating into the sum so far), the split product
 *   has the bits of the single MatMul, and both are the sums written out
 *   here in float64, within float32 rounding; a weight's gradient traced
 *   through vjp (K = the tokens) splits too.
 * - A user's journey at a size where it applies (1024 tokens a step, width
 *   256): a Trainer on ort-node cpu, whose step graph splits, takes the
 *   steps the same backend takes with the split off, bit for bit (losses,
 *   parameters, optimizer state), resumes from a checkpoint file to the bit,
 *   and its model generates the same tokens.
 * - Products outside the rule (K not a multiple of 1024, M or N below 256,
 *   a batched, symbolic or float64 product) and lowerings without the cap
 *   keep one MatMul.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, DecoderLM, Lion, matmul, TextGenerator, TokenBatches, trace, Trainer, vjp, type Backend, type Shape, type Tensor } from '../../../src/index.js';
import { FULL_CAPS, loadCheckpoint, lowerGraph, ortNode, saveCheckpoint, type OrtNodeCompileOptions } from '../../../src/node.js';
import { NODE_DEVICES } from '../../../src/backends/ort-node/index.js';
import { ortBackend } from '../../../src/backends/ort/session.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

const CPU_CAPS = NODE_DEVICES.devices.cpu.lowering;
const opsOf = (bytes: Uint8Array): string[] => fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);
const product = (xs: Shape, ys: Shape, dtype: 'float32' | 'float64' = 'float32') => trace(matmul, [{ shape: xs, dtype }, { shape: ys, dtype }]);
/** How many elements of two float32 arrays differ in their bits (a count, so a failure prints one number). */
const differing = (a: Float32Array, b: Float32Array): number => { const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)]; return x.filter((v, i) => v !== y[i]).length + Math.abs(a.length - b.length); };
const values = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.fround(f(i)));

async function run(bytes: Uint8Array, inputNames: readonly string[], feeds: [Float32Array, number[]][], output = 0): Promise<Float32Array> {
  // Two threads, as CI has: with many more, MLAS's blocks along K can outgrow a slice (see lower/linalg.ts).
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 2 });
  try {
    const out = await session.run(Object.fromEntries(feeds.map(([data, dims], i) => [inputNames[i], new ort.Tensor(data, dims)])));
    return out[session.outputNames[output]].data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('splitK on onnxruntime-node\'s CPU', () => {
  it.each([[256, 1024, 300], [300, 2048, 256]])('(%i × %i) · (%i): the single MatMul\'s bits, and the sums written out', async (m, k, n) => {
    const graph = product([m, k], [k, n]);
    const split = lowerGraph(graph, { caps: CPU_CAPS });
    const single = lowerGraph(graph, { caps: FULL_CAPS });
    expect(opsOf(split.bytes).filter((op) => op === 'MatMul')).toHaveLength(k / 512);
    expect(opsOf(split.bytes).filter((op) => op === 'Add')).toHaveLength(k / 512 - 1);
    expect(opsOf(single.bytes)).toEqual(['MatMul']);
    const a = values(m * k, (i) => Math.sin(i) * 3);
    const b = values(k * n, (i) => Math.cos(i * 0.7));
    const feeds: [Float32Array, number[]][] = [[a, [m, k]], [b, [k, n]]];
    const [got, want] = [await run(split.bytes, split.inputNames, feeds), await run(single.bytes, single.inputNames, feeds)];
    expect(differing(got, want)).toBe(0);
    for (let i = 0; i < m; i += 37) {
      for (let j = 0; j < n; j += 29) {
        let sum = 0;
        for (let r = 0; r < k; r++) sum += a[i * k + r] * b[r * n + j];
        expect(Math.abs(got[i * n + j] - sum)).toBeLessThan(1e-5 * k);
      }
    }
  });

  it('splits a weight\'s gradient over 1024 tokens (the Trainer\'s dW = xᵀ dy), with the bits of the single product', async () => {
    const graph = vjp(product([4, 256, 256], [256, 384]));
    const split = lowerGraph(graph, { caps: CPU_CAPS });
    const single = lowerGraph(graph, { caps: FULL_CAPS });
    expect(opsOf(split.bytes).filter((op) => op === 'MatMul').length).toBe(opsOf(single.bytes).filter((op) => op === 'MatMul').length + 1);
    const feeds: [Float32Array, number[]][] = [
      [values(4 * 256 * 256, (i) => Math.sin(i)), [4, 256, 256]], [values(256 * 384, (i) => Math.cos(i)), [256, 384]], [values(4 * 256 * 384, (i) => ((i * 7) % 11) - 5), [4, 256, 384]],
    ];
    const [got, want] = [await run(split.bytes, split.inputNames, feeds, 2), await run(single.bytes, single.inputNames, feeds, 2)];
    expect(got.length).toBe(256 * 384);
    expect(differing(got, want)).toBe(0);
  });

  it.each([
    ['K not a multiple of 1024', [256, 1000], [1000, 256]],
    ['K 512', [256, 512], [512, 256]],
    ['M below 256', [128, 1024], [1024, 344]],
    ['N below 256', [344, 1024], [1024, 128]],
    ['a batched product', [2, 256, 1024], [2, 1024, 256]],
    ['a symbolic M', ['rows', 1024], [1024, 256]],
    ['float64 (a 512-wide slice has the 4 KB stride again)', [256, 1024], [1024, 256], 'float64'],
  ] as [string, Shape, Shape, ('float32' | 'float64')?][])('keeps one MatMul for %s', (_, xs, ys, dtype) => {
    expect(opsOf(lowerGraph(product(xs, ys, dtype), { caps: CPU_CAPS }).bytes).filter((op) => op === 'MatMul' || op === 'Slice' || op === 'Add')).toEqual(['MatMul']);
  });
});

/** ort-node with the split off on the CPU: the products whole, as before splitK. */
const whole: Backend<OrtNodeCompileOptions> = ortBackend('ort-node', { name: 'onnxruntime-node', install: 'npm install onnxruntime-node', load: () => import('onnxruntime-node') }, {
  ...NODE_DEVICES, devices: { ...NODE_DEVICES.devices, cpu: { ...NODE_DEVICES.devices.cpu, lowering: FULL_CAPS } },
});

describe('a training journey where splitK applies (4 × 256 tokens, width 256)', () => {
  const text = 'Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(60);
  const data = new TokenBatches(new ByteTokenizer().encode(text), { batchSize: 4, length: 256, seed: 3 });
  const make = (backend: Backend<OrtNodeCompileOptions>): Promise<Trainer<DecoderLM>> => Trainer.create({
    model: new DecoderLM({ vocab: 256, dim: 256, layers: 1, heads: 4, kvHeads: 1, dropout: true, maxPositions: 256, seed: 2 }),
    optimizer: new Lion({ lr: 1e-3, weightDecay: 0.1 }), dropout: 0.1, maxGradNorm: 1, batchSize: 4, sequenceLength: 256, seed: 4,
    backend, compile: { device: 'cpu', intraOpNumThreads: 2 },
  });
  const bitsOf = async (t: Trainer): Promise<Uint32Array[]> => {
    const s = await t.snapshot();
    return [...s.params.values(), ...s.slots.values()].map((x: Tensor) => new Uint32Array((x.data() as Float32Array).slice().buffer));
  };
  const differingArrays = (a: Uint32Array[], b: Uint32Array[]): number => a.filter((x, i) => x.length !== b[i].length || x.some((v, j) => v !== b[i][j])).length + Math.abs(a.length - b.length);

  it('steps, resumes from a checkpoint file and generates as with the products whole, to the bit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'split-k-'));
    try {
      const run = async (backend: Backend<OrtNodeCompileOptions>): Promise<{ losses: number[]; bits: Uint32Array[]; tokens: number[]; resumed: number[]; resumedBits: Uint32Array[]; graph: Trainer['stepGraph']['graph'] }> => {
        await using first = await make(backend);
        const losses: number[] = [];
        for (let s = 0; s < 4; s++) {
          losses.push((await first.step(data.batch(s))).loss);
          if (s === 1) await saveCheckpoint(join(dir, 'at-2.ckpt'), first);
        }
        await using second = await make(backend);
        await second.load(loadCheckpoint(join(dir, 'at-2.ckpt')));
        const resumed = [(await second.step(data.batch(2))).loss, (await second.step(data.batch(3))).loss];
        await using gen = await TextGenerator.create(await first.syncModel(), { backend, compile: { device: 'cpu' } });
        const { tokens } = await gen.generate([70, 111, 117, 114], { maxNewTokens: 8 });
        return { losses, bits: await bitsOf(first), tokens, resumed, resumedBits: await bitsOf(second), graph: first.stepGraph.graph };
      };
      const split = await run(ortNode);
      // The step graph splits here (more MatMuls lowered for the CPU than whole), so the comparison means something.
      const matmuls = (caps: typeof FULL_CAPS): number => opsOf(lowerGraph(split.graph, { caps }).bytes).filter((op) => op === 'MatMul').length;
      expect(matmuls(CPU_CAPS)).toBeGreaterThan(matmuls(FULL_CAPS));
      const wholeRun = await run(whole);
      expect(split.losses).toEqual(wholeRun.losses);
      expect(split.losses[3]).toBeLessThan(split.losses[0]);
      expect(differingArrays(split.bits, wholeRun.bits)).toBe(0);
      expect(split.resumed).toEqual(split.losses.slice(2));
      expect(differingArrays(split.resumedBits, split.bits)).toBe(0);
      expect(split.tokens).toEqual(wholeRun.tokens);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
