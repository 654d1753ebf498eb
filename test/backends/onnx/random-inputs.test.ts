/**
 * Random numbers drawn on the host (LowerOptions.randomInputs, with which
 * the ort-node CPU and ort-web wasm devices lower) are the numbers the
 * graph would draw, bit for bit.
 *
 * Proves:
 * - the SIMD kernel and the JavaScript fill give squares16 / squares32 for
 *   every length (whole vectors and the tail), for keys below and above
 *   2^31, and the kernel really runs on arrays from allocateUniform;
 * - lowerGraph hoists exactly the float32 randomUniform nodes of static
 *   shape whose seed and step are int32 scalar inputs or int32 arithmetic
 *   on them (through composite calls too), and leaves the others in the
 *   graph (a seed through float arithmetic among them); run on
 *   onnxruntime-node with the inputs filled, the model gives the bits of
 *   the in-graph lowering and of the reference backend, over seeds and
 *   steps;
 * - the executables of ortNode's cpu and ortWeb's wasm hoist them, and
 *   run, runResident, runs in flight together (each on arrays of its own)
 *   and runs one after another give the reference bits; a training step
 *   compiled for the CPU gives the same state, to the bit, as the step
 *   lowered without hoisting;
 * - the executable's pool of arrays takes back the set of a fill that
 *   failed, and dispose's clear drops the free sets;
 * - a non-boolean randomInputs, a fill of the wrong array or of junk
 *   scalars, and lengths that are not element counts (2^30 among them)
 *   are LlmTricksErrors. */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  add, buildStepGraph, cast, ByteTokenizer, composite, DecoderLM, languageModelLoss, Lion, mul, randomUniform, referenceBackend, sum, tensor, TokenBatches, trace, zeros,
  type Tensor,
} from '../../../src/index.js';
import { allocateUniform, FULL_CAPS, lowerGraph, ortNode } from '../../../src/node.js';
import { ortWeb } from '../../../src/web.js';
import { fillUniform, uniformKernelCalls } from '../../../src/core/random-fill.js';
import { randomKey, squares16, squares32 } from '../../../src/core/random-bits.js';
import { RandomFeeds } from '../../../src/backends/ort/random-feeds.js';
import type { RandomInput } from '../../../src/backends/onnx/lower.js';
import type { Tensor as OrtTensor } from 'onnxruntime-common';

const int32 = { shape: [], dtype: 'int32' } as const;
const bitsOf = (x: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(x).buffer));

describe('fillUniform', () => {
  it.each([16, 24] as const)('%i bits: squares16 / squares32 over SIMD and in JavaScript, at every length', (bits) => {
    for (const key of [randomKey(0, 1, 0), randomKey(7, 123456, 5), 0xfffffffd, 1]) {
      // The kernels do two vectors per iteration, then one: 15 and 1005 leave work for both kernels' single-vector loop, 1001 for the 16-bit one's.
      for (const n of [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 1001, 1005]) {
        const want = Float32Array.from({ length: n }, (_, i) => (bits === 16 ? squares16(key, i) / 65536 : squares32(key, i) / 2 ** 24));
        const [simd] = allocateUniform([n]);
        const calls = uniformKernelCalls.simd;
        fillUniform(simd, key, bits);
        expect(uniformKernelCalls.simd).toBe(calls + 1);
        const plain = new Float32Array(n);
        fillUniform(plain, key, bits);
        expect(uniformKernelCalls.simd).toBe(calls + 1);
        expect(bitsOf(simd)).toEqual(bitsOf(want));
        expect(bitsOf(plain)).toEqual(bitsOf(want));
      }
    }
  });

  // 2^30 elements: the kernel's byte count (32 bits) wrapped to 0 and left the array unfilled.
  it('allocateUniform refuses lengths that are not element counts, naming the one', () => {
    // eslint-disable-next-line no-sparse-arrays
    for (const [lengths, message] of [['4', /^allocateUniform: lengths expected an array of element counts, got/], [[3, -1], /^allocateUniform: lengths\[1\] expected an integer from 0 to 2\^30 − 1, got -1/], [[2.5], /lengths\[0\] expected an integer/], [[1, , 2], /lengths\[1\] expected an integer from 0 to 2\^30 − 1, got undefined/], [[2 ** 30], /lengths\[0\] expected an integer from 0 to 2\^30 − 1, got 1073741824/]] as const) {
      expect(() => allocateUniform(lengths as never)).toThrow(message);
    }
  });

  it('fills arrays of one allocation independently, each from its own start', () => {
    const [a, b, c] = allocateUniform([5, 13, 64]);
    fillUniform(b, 99, 16);
    fillUniform(a, 98, 24);
    fillUniform(c, 97, 16);
    expect(Array.from(a)).toEqual(Array.from({ length: 5 }, (_, i) => squares32(98, i) / 2 ** 24));
    expect(Array.from(b)).toEqual(Array.from({ length: 13 }, (_, i) => squares16(99, i) / 65536));
    expect(Array.from(c)).toEqual(Array.from({ length: 64 }, (_, i) => squares16(97, i) / 65536));
  });
});

// Hoisted: on the inputs, on int32 arithmetic of them (also inside a composite), 16 and 24 bits, odd sizes and a 0.
// Not hoisted: a seed from a tensor's sum, float64, a symbolic shape, and a seed through float arithmetic (cast to
// int32 out of range, ONNX Runtime's Cast saturates where the reference kernel wraps: the host would not give the
// graph's bits).
const inner = composite('stepped', (seed: Tensor, step: Tensor) => randomUniform(seed, add(step, 3), [4, 5], { salt: 9, bits: 16 }));
const graph = trace((seed, step, x, y) => [
  randomUniform(seed, step, [3, 333], { salt: 5, bits: 16 }),
  randomUniform(seed, add(mul(step, 2), 1), [7, 9], { salt: 5 }),
  inner(seed, step),
  randomUniform(seed, step, [2, 0, 3], { bits: 16 }),
  randomUniform(add(seed, sum(x)), step, [10], { bits: 16 }),
  randomUniform(seed, step, [11], { dtype: 'float64', bits: 16 }),
  mul(randomUniform(seed, step, ['n'], { salt: 2 }), y),
  randomUniform(cast(mul(cast(seed, 'float32'), 1e9), 'int32'), step, [6], { bits: 16 }),
], [int32, int32, { shape: [2], dtype: 'int32' }, { shape: ['n'] }]);
const feeds = (seed: number, step: number): Tensor[] => [tensor(seed, { dtype: 'int32' }), tensor(step, { dtype: 'int32' }), tensor([1, 2], { dtype: 'int32' }), tensor([1, 1, 1, 1, 1, 1])];
const SEEDS_AND_STEPS = [[0, 1], [1, 1], [7, 123456], [-5, 2 ** 31 - 1]] as const;

describe('lowerGraph with randomInputs', () => {
  it('hoists the host-computable float32 nodes of static shape and gives the reference bits', async () => {
    const model = lowerGraph(graph, { caps: FULL_CAPS, randomInputs: true });
    const hoisted = (m: typeof model): string[] => m.randomInputs.map((r) => `${r.shape.join('x')}/${r.bits}`).sort();
    expect(hoisted(model)).toEqual(['2x0x3/16', '3x333/16', '4x5/16', '7x9/24']);
    const plain = lowerGraph(graph, { caps: FULL_CAPS });
    expect(plain.randomInputs).toEqual([]);
    const [session, inGraph] = await Promise.all([ort.InferenceSession.create(model.bytes), ort.InferenceSession.create(plain.bytes)]);
    expect(session.inputNames).toEqual([...model.inputNames, ...model.randomInputs.map((r) => r.name)]);
    const reference = await referenceBackend.compile(graph);
    for (const [seed, step] of SEEDS_AND_STEPS) {
      const inputs = feeds(seed, step);
      const ortFeeds: Record<string, ort.Tensor> = Object.fromEntries(inputs.map((t, i) => [model.inputNames[i], new ort.Tensor(t.dtype as 'int32', t.data() as never, t.shape as number[])]));
      for (const r of model.randomInputs) {
        const out = new Float32Array(r.shape.reduce((a, d) => a * d, 1));
        r.fill(out, (i) => ({ data: inputs[i].data(), shape: inputs[i].shape as number[], dtype: inputs[i].dtype }));
        ortFeeds[r.name] = new ort.Tensor('float32', out, r.shape as number[]);
      }
      const [got, alsoGot, want] = await Promise.all([session.run(ortFeeds), inGraph.run(Object.fromEntries(Object.entries(ortFeeds).filter(([k]) => plain.inputNames.includes(k)))), reference.run(inputs)]);
      want.forEach((w, i) => {
        expect(got[model.outputNames[i]].dims).toEqual(w.shape);
        expect(Array.from(got[model.outputNames[i]].data as Float32Array)).toEqual(Array.from(alsoGot[plain.outputNames[i]].data as Float32Array));
        // The last seed is cast from seed · 1e9: beyond 2^31 the reference kernel wraps it, ONNX Runtime's Cast does not.
        if (i < want.length - 1 || Math.abs(seed * 1e9) < 2 ** 31) expect(Array.from(got[model.outputNames[i]].data as Float32Array)).toEqual(Array.from(w.data() as Float32Array));
      });
    }
  });

  it('rejects a randomInputs that is not a boolean, and fills of the wrong array', () => {
    expect(() => lowerGraph(graph, { randomInputs: 'yes' as never })).toThrow(/^lowerGraph: randomInputs expected true or false, got "yes"/);
    const [r] = lowerGraph(graph, { randomInputs: true }).randomInputs;
    const read = (): never => { throw new Error('not read'); };
    expect(() => r.fill(new Float32Array(3), read)).toThrow(new RegExp(`^RandomInput '${r.name}'\\.fill: out expected a Float32Array of ${r.shape.reduce((a, d) => a * d, 1)} elements, got Float32Array of length 3$`));
    expect(() => r.fill(new Float64Array(r.shape.reduce((a, d) => a * d, 1)) as never, read)).toThrow(/out expected a Float32Array/);
    expect(() => r.fill(new Float32Array(r.shape.reduce((a, d) => a * d, 1)), 'x' as never)).toThrow(/read expected a function/);
    const full = new Float32Array(r.shape.reduce((a, d) => a * d, 1));
    const int32At = (v: number) => ({ data: Int32Array.of(v), shape: [], dtype: 'int32' as const });
    for (const junk of [undefined, { data: Int32Array.of(1, 2), shape: [2], dtype: 'int32' }, { data: Float32Array.of(1.5), shape: [], dtype: 'float32' }, { data: new Int32Array(0), shape: [], dtype: 'int32' }]) {
      expect(() => r.fill(full, (i) => (i === 0 ? junk as never : int32At(1)))).toThrow(/^RandomInput\.fill: read\(0\) expected input 'input0' as an int32 scalar/);
    }
    r.fill(full, int32At);
  });
});

describe.each([
  ['ortNode cpu', () => ortNode.compile(graph, { device: 'cpu' })],
  ['ortWeb wasm', () => ortWeb.compile(graph, { device: 'wasm' })],
])('%s draws the random numbers on the host', (_name, compile) => {
  it('run, runResident and runs in flight together give the reference bits', async () => {
    const exe = await compile();
    const reference = await referenceBackend.compile(graph);
    const calls = uniformKernelCalls.simd;
    const runs = await Promise.all(SEEDS_AND_STEPS.flatMap(([seed, step]) => [exe.run(feeds(seed, step)), exe.runResident!(feeds(seed, step)) as Promise<Tensor[]>]));
    expect(uniformKernelCalls.simd).toBe(calls + 4 * 2 * SEEDS_AND_STEPS.length);
    for (const [k, [seed, step]] of SEEDS_AND_STEPS.entries()) {
      const want = await reference.run(feeds(seed, step));
      for (const got of [runs[2 * k], runs[2 * k + 1]]) {
        want.forEach((w, i) => { if (i < want.length - 1 || Math.abs(seed * 1e9) < 2 ** 31) expect(Array.from(got[i].data() as Float32Array)).toEqual(Array.from(w.data() as Float32Array)); });
      }
    }
    // One after another, on the arrays the runs above gave back.
    for (const [seed, step] of [...SEEDS_AND_STEPS].reverse()) {
      const [got, want] = [await exe.run(feeds(seed, step)), await reference.run(feeds(seed, step))];
      want.forEach((w, i) => { if (i < want.length - 1 || Math.abs(seed * 1e9) < 2 ** 31) expect(Array.from(got[i].data() as Float32Array)).toEqual(Array.from(w.data() as Float32Array)); });
    }
    await exe.dispose();
  });

});

describe("RandomFeeds, an executable's pool of random arrays", () => {
  // One input whose fill fails on demand, and records the array it was given.
  let failing = false;
  const given: Float32Array[] = [];
  const input: RandomInput = {
    name: 'u', kind: 'uniform', shape: [8], dtype: 'float32', bits: 24,
    fill(out) {
      given.push(out);
      if (failing) throw new Error('fill failed');
      out.fill(0.5);
    },
  };
  const tensorOf = (data: Float32Array, dims: readonly number[]): OrtTensor => ({ data, dims }) as unknown as OrtTensor;
  const read = (): never => { throw new Error('no scalars to read'); };

  it('takes back the set of a failed fill: the next draw fills the same arrays', () => {
    const feeds = new RandomFeeds(tensorOf, [input]);
    failing = true;
    expect(() => feeds.draw({}, read)).toThrow('fill failed');
    failing = false;
    const out: Record<string, OrtTensor> = {};
    const set = feeds.draw(out, read);
    expect(set[0]).toBe(given[given.length - 2]);
    expect(Array.from(set[0])).toEqual(Array(8).fill(0.5));
    expect(out.u.data).toBe(set[0]);
  });

  it('clear drops the free sets: a draw after it fills new arrays', () => {
    const feeds = new RandomFeeds(tensorOf, [input]);
    const first = feeds.draw({}, read);
    feeds.give(first);
    expect(feeds.draw({}, read)[0]).toBe(first[0]);
    feeds.give(first);
    feeds.clear();
    expect(feeds.draw({}, read)[0]).not.toBe(first[0]);
  });
});

describe('a training step on ortNode cpu', () => {
  it('with dropout gives the state of the step lowered without hoisting, to the bit', async () => {
    const model = new DecoderLM({ vocab: 64, dim: 32, layers: 2, heads: 4, kvHeads: 2, dropout: true, maxPositions: 16, seed: 3 });
    const spec = { shape: [4, 16], dtype: 'int32' } as const;
    const { graph: step, layout } = buildStepGraph({ model, loss: languageModelLoss, optimizer: new Lion({ lr: 1e-2 }), batch: [spec, spec], maxGradNorm: 1, accumulate: 2 });
    const tokens = new ByteTokenizer().encode('It was the best of times, it was the worst of times. '.repeat(20)).map((t) => t % 64);
    const batches = new TokenBatches(tokens, { batchSize: 4, length: 16, seed: 1 });
    const [b0, b1] = [batches.batch(0), batches.batch(1)];
    const batch = b0.map((t, i) => tensor([t.toArray(), b1[i].toArray()] as number[][][], { dtype: 'int32' }));
    const params = new Map(model.namedParameters().map(([name, p]) => [name, p.value]));
    const state = layout.state.map((x) => params.get(x.name) ?? zeros(x.shape));
    const inputs = layout.feed({ state, batch, scalars: { lr: 1e-2, step: 3, dropout: 0.25, seed: 11 } });
    const exe = await ortNode.compile(step, { device: 'cpu' });
    const calls = uniformKernelCalls.simd;
    const got = await exe.run(inputs);
    expect(uniformKernelCalls.simd).toBeGreaterThan(calls);
    const plain = lowerGraph(step, { caps: FULL_CAPS });
    const session = await ort.InferenceSession.create(plain.bytes);
    const out = await session.run(Object.fromEntries(inputs.map((t, i) => [plain.inputNames[i], new ort.Tensor(t.dtype as 'float32', t.data() as never, t.shape as number[])])));
    plain.outputNames.forEach((n, i) => expect(bitsOf(got[i].data() as Float32Array)).toEqual(bitsOf(out[n].data as Float32Array)));
    await exe.dispose();
  });
});
