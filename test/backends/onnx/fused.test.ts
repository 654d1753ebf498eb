/**
 * The library's sigmoid and softmax composites lower to one ONNX op each
 * (Sigmoid, Softmax) and agree with the reference kernels' bodies on
 * onnxruntime-node's CPU, extreme inputs and masked rows included; a user's
 * composite that happens to share a name is still lowered from its body.
 */
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { composite, mul, referenceBackend, sigmoid, softmax, tensor, trace, type Tensor } from '../../../src/index.js';
import { lowerGraph } from '../../../src/node.js';

async function both(fn: (x: Tensor) => Tensor, x: Tensor): Promise<{ ops: string; got: number[]; want: number[] }> {
  const graph = trace(fn, [{ shape: x.shape as number[] }]);
  const { bytes, inputNames, outputNames } = lowerGraph(graph);
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [inputNames[0]]: new ort.Tensor('float32', x.data() as Float32Array, x.shape as number[]) });
  const [want] = await (await referenceBackend.compile(graph)).run([x]);
  return { ops: new TextDecoder('latin1').decode(bytes), got: Array.from(out[outputNames[0]].data as Float32Array), want: Array.from(want.data() as Float32Array) };
}

const close = (got: number[], want: number[], tol: number): void => {
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]))));
};

it('sigmoid lowers to Sigmoid and matches the reference from -1e4 to 1e4', async () => {
  const values = [-1e4, -100, -30, -5, -1, -1e-3, 0, 1e-3, 1, 5, 30, 100, 1e4, ...Array.from({ length: 200 }, (_, i) => (i - 100) / 7)];
  const { ops, got, want } = await both(sigmoid, tensor(values));
  expect(ops).toContain('Sigmoid');
  expect(ops).not.toContain('Reciprocal');
  close(got, want, 1e-6);
});

it('softmax lowers to Softmax and matches the reference, with large logits and masked entries', async () => {
  const rows = [[1, 2, 3, 4], [1000, 999, -1000, 0], [-1e30, -1e30, 0, 1], [0, 0, 0, 0], [88, 89, 90, -1e30], [-3, -1e30, -1e30, -1e30]];
  const { ops, got, want } = await both((x) => softmax(x, -1), tensor(rows));
  expect(ops).toContain('Softmax');
  expect(ops).not.toContain('ReduceMax');
  close(got, want, 1e-6);
  // A row sums to 1 and a masked entry gets exactly 0.
  expect(got[8]).toBe(0);
  expect(got.slice(20, 24)).toEqual([1, 0, 0, 0]);
});

it('a user composite named softmax is lowered from its body, not replaced', async () => {
  const mine = composite('softmax', (x) => mul(x, 2));
  const { ops, got } = await both(mine, tensor([1, 2, 3]));
  expect(ops).not.toContain('Softmax');
  expect(got).toEqual([2, 4, 6]);
});
