/**
 * The random generator's two lowerings (portable Div by 2^k, and BitShift
 * where the target has it) give the reference kernel's bits, run directly on
 * onnxruntime-node's CPU: whichever one a backend picks, masks agree.
 */
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { randomUniform, referenceBackend, tensor, trace } from '../../../src/index.js';
import { lowerGraph, PORTABLE_CAPS } from '../../../src/node.js';

// 24 bits, 16 bits (two numbers per word) of an odd size (the last word's bottom half is cut), and both of a
// shape with a 0 (a literal 0 in ONNX's Reshape means "copy" unless allowzero says otherwise).
const graph = trace((seed, step) => [
  randomUniform(seed, step, [3, 1000], { salt: 5 }), randomUniform(seed, step, [3, 333], { salt: 5, bits: 16 }),
  randomUniform(seed, step, [2, 0, 3]), randomUniform(seed, step, [2, 0, 3], { bits: 16 }),
], [{ shape: [], dtype: 'int32' }, { shape: [], dtype: 'int32' }]);

it.each([false, true])('bitShift %s: the bits of the reference kernel, over seeds and steps', async (bitShift) => {
  const { bytes, inputNames, outputNames } = lowerGraph(graph, { caps: { ...PORTABLE_CAPS, bitShift } });
  const ops = new TextDecoder('latin1').decode(bytes);
  expect(ops.includes('BitShift')).toBe(bitShift);
  const session = await ort.InferenceSession.create(bytes);
  const reference = await referenceBackend.compile(graph);
  for (const [seed, step] of [[0, 1], [1, 1], [7, 123456], [-5, 2 ** 31 - 1]]) {
    const out = await session.run({ [inputNames[0]]: new ort.Tensor('int32', Int32Array.of(seed), []), [inputNames[1]]: new ort.Tensor('int32', Int32Array.of(step), []) });
    const want = await reference.run([tensor(seed, { dtype: 'int32' }), tensor(step, { dtype: 'int32' })]);
    want.forEach((w, i) => {
      expect(out[outputNames[i]].dims).toEqual(w.shape);
      expect(Array.from(out[outputNames[i]].data as Float32Array)).toEqual(Array.from(w.data() as Float32Array));
    });
  }
});
