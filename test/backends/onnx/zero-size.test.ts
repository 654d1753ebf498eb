/**
 * Zero-size dimensions (a literal 0, or a symbolic dim that is 0 at run
 * time) give on ONNX Runtime (ort-node cpu, ort-web wasm) what they give on
 * the reference backend: the same shapes, the same values, or the same
 * refusal.
 *
 * Each case failed before its fix, with an ONNX Runtime error or a silently
 * wrong result:
 * - Reshape read a symbolic dim that was 0 at run time as "copy the input's
 *   dim" (allowzero was set for literal 0s only): unsqueeze, squeeze, a
 *   reshape that moves dims, randomUniform, AlibiBias and a DecoderLM
 *   decoding step with no new tokens; and the reference backend refused a
 *   reshape with a -1 there (it resolved the -1 again from the sizes);
 * - ONNX Runtime's MatMul with an inner dim of 0 left all but the first
 *   batch uninitialised, and would not broadcast a's batch of 1 against b's
 *   0 (still so where the 0 is a symbolic dim's, at run time: an error);
 * - argMax over an empty axis gave the int32 extremes (different on the CPU
 *   and in WebAssembly), and the reference gave 0s; max of int32 over an
 *   empty axis gave 0 on the reference backend and int32's least value on
 *   ONNX Runtime.
 */
import { describe, expect, it } from 'vitest';
import {
  AlibiBias, argMax, DecoderLM, LlmTricksError, matmul, max, randomUniform, referenceBackend, reshape, squeeze, swapAxes, tensor, trace, unsqueeze,
  type Executable, type InputSpec, type Tensor,
} from '../../../src/index.js';
import { ortNode } from '../../../src/node.js';
import { ortWeb } from '../../../src/web.js';

type Case = [name: string, fn: (...xs: Tensor[]) => Tensor, specs: InputSpec[], feeds: Tensor[]];

const empty = (shape: number[]): Tensor => tensor([], { shape });
const ints = (values: number[], shape: number[]): Tensor => tensor(values, { shape, dtype: 'int32' });
const floats = (shape: number[]): Tensor => tensor(Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => (i % 7) - 3), { shape });

const backends: [string, (graph: ReturnType<typeof trace>) => Promise<Executable>][] = [
  ['ort-node cpu', (graph) => ortNode.compile(graph, { device: 'cpu' })],
  ['ort-web wasm', (graph) => ortWeb.compile(graph, { device: 'wasm' })],
];

/** The reference backend's outputs, and each ONNX Runtime backend's: shapes and values equal. */
async function expectReference([, fn, specs, feeds]: Case): Promise<void> {
  const graph = trace(fn, specs);
  const want = await (await referenceBackend.compile(graph)).run(feeds);
  for (const [label, compile] of backends) {
    const exe = await compile(graph);
    try {
      const got = await exe.run(feeds);
      got.forEach((g, i) => {
        expect(g.shape, `${label}, output ${i}: shape`).toEqual(want[i].shape);
        expect(Array.from(g.data() as Float32Array), `${label}, output ${i}: values`).toEqual(Array.from(want[i].data() as Float32Array));
      });
    } finally {
      await exe.dispose();
    }
  }
}

describe('reshapes with a symbolic dim that is 0 at run time', () => {
  const alibi = new AlibiBias(2);
  const lm = new DecoderLM({ vocab: 11, dim: 8, layers: 1, heads: 4, kvHeads: 2, position: 'rope', maxPositions: 16, seed: 5 });
  const cases: Case[] = [
    ['unsqueeze of [B, T], T = 0', (x) => unsqueeze(x, 1), [{ shape: ['B', 'T'] }], [empty([2, 0])]],
    ['a reshape of [B, C] to [C, B], B = 0', (x) => reshape(x, [x.shape[1], x.shape[0]]), [{ shape: ['B', 'C'] }], [empty([0, 3])]],
    ['a reshape of [B, 6] to [B, 2, -1], B = 0 (the reference backend left the -1 undetermined)', (x) => reshape(x, [x.shape[0], 2, -1]), [{ shape: ['B', 6] }],
      [empty([0, 6])]],
    ['squeeze of [B, 1, T], B = T = 0 (it kept a 1)', (x) => squeeze(x, 1), [{ shape: ['B', 1, 'T'] }], [empty([0, 1, 0])]],
    ['randomUniform of [3, B], B = 0', (x, s, t) => randomUniform(s, t, [3, x.shape[0]]), [{ shape: ['B'] }, { shape: [], dtype: 'int32' }, { shape: [], dtype: 'int32' }],
      [empty([0]), ints([1], []), ints([2], [])]],
    ['AlibiBias over T = 0 query positions', (p, k) => alibi.forward(p, k.shape[0]), [{ shape: ['T'], dtype: 'int32' }, { shape: ['S'] }], [ints([], [0]), floats([3])]],
    ['a DecoderLM decoding step with no cache and no new tokens', (ids, pos, k, v) => lm.forward(ids, { positions: pos, cache: [{ key: k, value: v }] }).logits,
      [{ shape: ['B', 'T'], dtype: 'int32' }, { shape: ['T'], dtype: 'int32' }, { shape: ['B', 2, 'P', 2] }, { shape: ['B', 2, 'P', 2] }],
      [ints([], [1, 0]), ints([], [0]), empty([1, 2, 0, 2]), empty([1, 2, 0, 2])]],
  ];
  for (const c of cases) it(c[0], () => expectReference(c));
});

describe('matmul with a 0-size dim', () => {
  const cases: Case[] = [
    ["a's batch of 1 against b's of 0", (a, b) => matmul(a, b), [{ shape: [2, 4] }, { shape: [0, 4, 2] }], [floats([2, 4]), empty([0, 4, 2])]],
    ['an inner dim of 0, a broadcast over 3 batches', (a, b) => matmul(a, b), [{ shape: [1, 2, 0] }, { shape: [3, 0, 2] }], [empty([1, 2, 0]), empty([3, 0, 2])]],
    ['an inner dim of 0, a 2-d (zeros in every batch)', (a, b) => matmul(a, b), [{ shape: [2, 0] }, { shape: [3, 0, 2] }], [empty([2, 0]), empty([3, 0, 2])]],
    ['an inner dim of 0 behind a transpose (fused by ONNX Runtime)', (a, b) => matmul(a, swapAxes(b, -1, -2)), [{ shape: [3, 4, 0] }, { shape: [3, 4, 0] }],
      [empty([3, 4, 0]), empty([3, 4, 0])]],
  ];
  for (const c of cases) it(c[0], () => expectReference(c));
});

describe('reductions over an empty axis', () => {
  it('max of int32 is its least value, as for int64 and on ONNX Runtime', async () => {
    const c: Case = ['max', (x) => max(x, 1), [{ shape: [3, 0], dtype: 'int32' }], [ints([], [3, 0])]];
    await expectReference(c);
    expect(Array.from((await (await referenceBackend.compile(trace(c[1], c[2]))).run(c[3]))[0].data() as Int32Array)).toEqual([-(2 ** 31), -(2 ** 31), -(2 ** 31)]);
  });

  it('argMax has no index to give: an LlmTricksError when traced, and a refusal at run time on every backend', async () => {
    expect(() => trace((x) => argMax(x, 1), [{ shape: [3, 0] }])).toThrow(new LlmTricksError('argMax', 'x expected a non-empty axis 1, got shape [3, 0]'));
    const graph = trace((x) => argMax(x, 1), [{ shape: [3, 'B'] }]);
    await expect((await referenceBackend.compile(graph)).run([empty([3, 0])])).rejects.toThrow('argMax: x expected a non-empty axis 1, got shape [3, 0]');
    for (const [label, compile] of backends) {
      const exe = await compile(graph);
      try {
        await expect(exe.run([empty([3, 0])]), label).rejects.toThrow();
      } finally {
        await exe.dispose();
      }
    }
  });
});
