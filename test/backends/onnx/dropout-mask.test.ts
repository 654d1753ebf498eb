/**
 * Dropout masks drawn on the host whole (LowerOptions.randomInputs): where
 * a Dropout layer's seed, step and rate are host-computable scalars, its
 * mask becomes one graph input, filled with the finished mask, so the graph
 * has no comparison, cast or scaling of it left.
 *
 * Proves:
 * - fillDropoutMask gives scale where the uniform number is at least the
 *   rate and +0 elsewhere, over SIMD and in JavaScript, at every length
 *   (whole vectors and the tail), the edges 0 and 65535 drops among them;
 * - lowerGraph feeds the masks of rates that are float32 scalar inputs or
 *   constants, and only those: a rate through float arithmetic, a float64
 *   layer and a symbolic shape keep their masks in the graph (the uniform
 *   numbers of the first still hoisted); a model of fed masks only has no
 *   Less, Greater, Cast or Div node;
 * - a training step's graph (with micro-batches too) has every mask fed,
 *   and a constant rate leaves no unread initializer behind;
 * - run on onnxruntime-node with the masks filled, and through ortNode's
 *   cpu and ortWeb's wasm executables (which draw the masks on the host),
 *   the outputs are the reference backend's bits and the in-graph
 *   lowering's, over rates (0, 1/2^17, 0.1, 0.25, 0.5, 0.9999, one equal
 *   to an element's uniform number, which is kept, the one float32 rate
 *   whose p · 2^16 + 1/2 rounds, and a double that is 1 in float32), seeds
 *   and steps;
 * - a fed rate outside [0, 1] is an LlmTricksError naming the input and
 *   the rate, before anything runs.
 */
import * as ort from 'onnxruntime-node';
import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { buildStepGraph, DecoderLM, Dropout, languageModelLoss, Lion, LlmTricksError, mul, referenceBackend, reshape, tensor, trace, type Tensor } from '../../../src/index.js';
import { allocateUniform, FULL_CAPS, lowerGraph, ortNode } from '../../../src/node.js';
import { ortWeb } from '../../../src/web.js';
import { fillDropoutMask, uniformKernelCalls } from '../../../src/core/random-fill.js';
import { randomKey, squares16 } from '../../../src/core/random-bits.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

const bitsOf = (x: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(x).buffer));
/** float32 values by their bits (so +0 and -0 differ); float64 ones as they are. */
const exact = (x: Float32Array | Float64Array): number[] => (x instanceof Float64Array ? Array.from(x) : bitsOf(x));
const scalar = (dtype: 'int32' | 'float32') => ({ shape: [], dtype }) as const;

describe('fillDropoutMask', () => {
  it('gives scale where the 16 bits are at least drops and +0 elsewhere, over SIMD and in JavaScript, at every length', () => {
    const scale = Math.fround(1 / 0.75);
    for (const key of [randomKey(0, 1, 0), randomKey(7, 123456, 5), randomKey(-1 >>> 0, 2 ** 31 - 1, 9)]) {
      // A quarter dropped, none, all but the 16 bits 65535, and exactly the bits of number j (kept: at least, not
      // above), for j a top and a bottom half of a word in each of the kernel's two vectors of eight numbers and in
      // its loop of one (numbers 992 to 999 of 1005).
      const edges = [0, 1, 8, 9, 994, 995];
      for (const drops of [2 ** 14, 0, 65535, ...edges.map((j) => squares16(key, j))]) {
        for (const n of [0, 1, 3, 4, 5, 6, 8, 9, 15, 16, 17, 1001, 1005]) {
          // Written out from the generator: number i is squares16(key, i) / 2^16, kept where it is at least drops / 2^16.
          const want = Float32Array.from({ length: n }, (_, i) => (squares16(key, i) / 65536 >= drops / 65536 ? scale : 0));
          const [simd] = allocateUniform([n]);
          const calls = uniformKernelCalls.simd;
          fillDropoutMask(simd, key, drops, scale);
          expect(uniformKernelCalls.simd).toBe(calls + 1);
          const plain = new Float32Array(n);
          fillDropoutMask(plain, key, drops, scale);
          expect(bitsOf(simd), `key ${key}, drops ${drops}, n ${n}`).toEqual(bitsOf(want));
          expect(bitsOf(plain)).toEqual(bitsOf(want));
          if (n >= 1000 && drops === 2 ** 14) expect(want.filter((v) => v === 0).length / n).toBeCloseTo(0.25, 1);
          for (const j of edges) if (n > j && drops === squares16(key, j)) expect(simd[j]).toBe(scale);
        }
      }
    }
  });
});

// Fed: a rate input at two shapes (one of odd size, for the kernel's tail), a constant rate. In the graph: a rate
// through float arithmetic, a float64 layer, a symbolic shape.
const layer = (seed: number): Dropout => new Dropout({ seed });
const [a, b, c, d, e, f] = [1, 2, 3, 4, 5, 6].map(layer);
const graph = trace((seed, step, rate, x, x64, y) => {
  const ctx = { seed, step, dropout: rate };
  return [
    a.forward(x, ctx),
    b.forward(reshape(mul(x, 2), [5, 3, 2]), ctx),
    c.forward(x, { seed, step, dropout: 0.3 }),
    d.forward(x, { ...ctx, dropout: mul(rate, 0.5) }),
    e.forward(x64, ctx),
    f.forward(y, ctx),
  ];
}, [scalar('int32'), scalar('int32'), scalar('float32'), { shape: [6, 5] }, { shape: [4], dtype: 'float64' }, { shape: ['n'] }]);
const feeds = (seed: number, step: number, rate: number): Tensor[] => [
  tensor(seed, { dtype: 'int32' }), tensor(step, { dtype: 'int32' }), tensor(rate),
  reshape(tensor(Array.from({ length: 30 }, (_, i) => i - 7.5)), [6, 5]), tensor([1, -2, 3, 0.5], { dtype: 'float64' }), tensor([1, 2, 3, 4, 5, 6, 7]),
];
// EDGE is the uniform number of layer a's first element at seed 9, step 4: kept (u ≥ q), where u > q would drop it.
// TIE is the one float32 rate whose p · 2^16 + 1/2 rounds (up, to 1) in float32: 2^-17 − 2^-41. 0.99999999 becomes
// 1 in float32, which the graph clamps to q = 1 − 2^-16.
const EDGE = squares16(randomKey(9, 4, a.salt), 0) / 65536;
const TIE = new Float32Array(new Uint32Array([0x36ffffff]).buffer)[0];
const RUNS: readonly (readonly [number, number, number])[] = [
  [0, 1, 0], [1, 1, 2 ** -17], [7, 123456, 0.1], [-5, 2 ** 31 - 1, 0.25], [3, 2, 0.5], [11, 5, 0.9999], [9, 4, EDGE],
  [2, 3, TIE], [4, 4, 0.99999999],
];

describe('lowerGraph with randomInputs: Dropout masks', () => {
  const model = lowerGraph(graph, { caps: FULL_CAPS, randomInputs: true });

  it('feeds the masks of input and constant rates whole, and leaves no comparison, cast or scaling of them', () => {
    // Three masks (6x5, 5x3x2, 6x5 at 0.3) and the uniform numbers of the mask whose rate is computed (6x5).
    expect(model.randomInputs.map((r) => r.shape.join('x')).sort()).toEqual(['5x3x2', '6x5', '6x5', '6x5']);
    const ops = (bytes: Uint8Array): string[] => fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);
    // The three in-graph masks: one Less each (greater lowers to Less) — the fed three have none.
    expect(ops(model.bytes).filter((op) => op === 'Less' || op === 'Greater')).toHaveLength(3);
    const fedOnly = lowerGraph(trace((seed, step, rate, x) => [a.forward(x, { seed, step, dropout: rate }), c.forward(x, { seed, step, dropout: 0.3 })],
      [scalar('int32'), scalar('int32'), scalar('float32'), { shape: [6, 5] }]), { caps: FULL_CAPS, randomInputs: true });
    expect(fedOnly.randomInputs.map((r) => r.kind)).toEqual(['dropoutMask', 'dropoutMask']);
    expect(ops(fedOnly.bytes).filter((op) => ['Less', 'Greater', 'Cast', 'Div'].includes(op))).toEqual([]);
    // The constant rate 0.3 is read by nothing in the graph: no initializer is left for ONNX Runtime to remove.
    const proto = fromBinary(ModelProtoSchema, fedOnly.bytes).graph!;
    const read = new Set(proto.node.flatMap((n) => n.input));
    expect(proto.initializer.map((t) => t.name).filter((name) => !read.has(name))).toEqual([]);
  });

  it("feeds every mask of a training step's graph, micro-batches too", () => {
    const lm = new DecoderLM({ vocab: 32, dim: 16, layers: 2, heads: 2, kvHeads: 1, dropout: true, maxPositions: 8, seed: 1 });
    const spec = { shape: [2, 8], dtype: 'int32' } as const;
    for (const accumulate of [1, 2]) {
      const { graph: step } = buildStepGraph({ model: lm, loss: languageModelLoss, optimizer: new Lion(), batch: [spec, spec], accumulate });
      const lowered = lowerGraph(step, { caps: FULL_CAPS, randomInputs: true });
      // Per micro-batch: the embeddings' dropout, and per layer the attention's and both residual branches'.
      expect(lowered.randomInputs.map((r) => r.kind)).toEqual(Array(7 * accumulate).fill('dropoutMask'));
    }
  });

  it('gives the reference bits and the in-graph lowering\'s, over rates, seeds and steps', async () => {
    const plain = lowerGraph(graph, { caps: FULL_CAPS });
    const [session, inGraph] = await Promise.all([ort.InferenceSession.create(model.bytes), ort.InferenceSession.create(plain.bytes)]);
    const reference = await referenceBackend.compile(graph);
    for (const [seed, step, rate] of RUNS) {
      const inputs = feeds(seed, step, rate);
      const toOrt = (t: Tensor): ort.Tensor => new ort.Tensor(t.dtype as 'float32', t.data() as never, t.shape as number[]);
      const ortFeeds: Record<string, ort.Tensor> = Object.fromEntries(inputs.map((t, i) => [model.inputNames[i], toOrt(t)]));
      for (const r of model.randomInputs) {
        const out = new Float32Array(r.shape.reduce((x, y) => x * y, 1));
        r.fill(out, (i) => ({ data: inputs[i].data(), shape: inputs[i].shape as number[], dtype: inputs[i].dtype }));
        ortFeeds[r.name] = new ort.Tensor('float32', out, r.shape as number[]);
      }
      const [got, alsoGot, want] = await Promise.all([session.run(ortFeeds), inGraph.run(Object.fromEntries(inputs.map((t, i) => [plain.inputNames[i], toOrt(t)]))), reference.run(inputs)]);
      want.forEach((w, i) => {
        expect(exact(got[model.outputNames[i]].data as Float32Array), `output ${i} at rate ${rate}`).toEqual(exact(w.data() as Float32Array));
        expect(exact(alsoGot[plain.outputNames[i]].data as Float32Array)).toEqual(exact(w.data() as Float32Array));
      });
      // x holds no zero of its own: the zeros are the drops, none at rate 0.
      const dropped = (got[model.outputNames[0]].data as Float32Array).filter((v) => v === 0).length;
      if (rate === 0) expect(dropped).toBe(0);
      // At TIE, q is 2^-16, not 0: the kept elements are scaled (by 1/(1 − 2^-16)), not copied.
      if (rate === TIE) expect((got[model.outputNames[0]].data as Float32Array)[0]).toBe(Math.fround(-7.5 * Math.fround(1 / (1 - 2 ** -16))));
      if (rate >= 0.5) expect(dropped).toBeGreaterThan(0);
      if (rate === EDGE) expect((got[model.outputNames[0]].data as Float32Array)[0]).not.toBe(0);
    }
  });

  it('refuses a fed rate outside [0, 1) before anything runs, naming the input', async () => {
    const fill = model.randomInputs.find((r) => r.shape.join('x') === '5x3x2')!;
    const out = new Float32Array(30);
    for (const rate of [1.5, -0.25, Number.NaN, 2]) {
      const inputs = feeds(1, 1, rate);
      const read = (i: number) => ({ data: inputs[i].data(), shape: inputs[i].shape as number[], dtype: inputs[i].dtype });
      expect(() => fill.fill(out, read)).toThrow(LlmTricksError);
      expect(() => fill.fill(out, read)).toThrow(new RegExp(`^RandomInput '${fill.name}'\\.fill: the dropout rate expected a number in \\[0, 1\\), got ${String(rate).replace('.', '\\.')}$`));
    }
    expect(() => fill.fill(out, (i) => (i === 2 ? { data: Int32Array.of(0), shape: [], dtype: 'int32' } : { data: Int32Array.of(1), shape: [], dtype: 'int32' })))
      .toThrow(/^RandomInput\.fill: read\(2\) expected input 'input2' as a float32 scalar/);
    for (const compile of [() => ortNode.compile(graph, { device: 'cpu' }), () => ortWeb.compile(graph, { device: 'wasm' })]) {
      const exe = await compile();
      await expect(exe.run(feeds(1, 1, 1.5))).rejects.toThrow(/the dropout rate expected a number in \[0, 1\), got 1\.5/);
      await exe.dispose();
    }
  });
});

describe.each([
  ['ortNode cpu', () => ortNode.compile(graph, { device: 'cpu' })],
  ['ortWeb wasm', () => ortWeb.compile(graph, { device: 'wasm' })],
])('%s feeds the Dropout masks', (_name, compile) => {
  it('run and runResident draw the three masks on the host and give the reference bits', async () => {
    const exe = await compile();
    const reference = await referenceBackend.compile(graph);
    for (const [seed, step, rate] of RUNS) {
      const masks = uniformKernelCalls.masks;
      await exe.run(feeds(seed, step, rate));
      expect(uniformKernelCalls.masks - masks).toBe(3);
      const want = await reference.run(feeds(seed, step, rate));
      for (const got of [await exe.run(feeds(seed, step, rate)), await exe.runResident!(feeds(seed, step, rate)) as Tensor[]]) {
        want.forEach((w, i) => expect(exact(got[i].data() as Float32Array), `output ${i} at rate ${rate}`).toEqual(exact(w.data() as Float32Array)));
      }
    }
    await exe.dispose();
  });
});
