/**
 * A transpose that moves only axes of size 1 leaves every element where it
 * was: the ONNX lowering emits a Reshape (no copy) instead of a Transpose.
 * Proves, on onnxruntime-node's CPU against the reference backend (exactly):
 * - such transposes, float32 and bool, lower to a Reshape to a constant
 *   shape, or with symbolic dims (whose Reshape would compute its shape on
 *   the CPU) to a Squeeze and an Unsqueeze of constant axes;
 * - a transpose that reorders longer axes (or a symbolic one past another)
 *   stays a Transpose;
 * - bool is reshaped on every device; with symbolic dims on a device
 *   without bool movement (PORTABLE_CAPS) it keeps its float32 round trip;
 * - a reshape to the input's own shape (static or symbolic), and a static
 *   transpose that moves nothing, lower to no node at all (the graph's
 *   output then copies its input, as any output that is an input does).
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { fromBinary } from '@bufbuild/protobuf';
import { add, less, referenceBackend, reshape, tensor, trace, transpose, type Tensor } from '../../../src/index.js';
import { FULL_CAPS, lowerGraph, PORTABLE_CAPS, type LoweringCaps } from '../../../src/node.js';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';
import type { Shape } from '../../../src/core/shape.js';

/** The ops of `perm` over x lowered with `caps` (traced at `shape`), and its values on ORT's CPU and the reference backend. */
async function lowered(x: Tensor, perm: number[], shape: Shape, caps: LoweringCaps = FULL_CAPS): Promise<{ ops: string[]; got: unknown[]; want: unknown[] }> {
  const graph = trace((a) => transpose(a, perm), [{ shape, dtype: x.dtype }]);
  const { bytes, inputNames, outputNames } = lowerGraph(graph, { caps });
  const session = await ort.InferenceSession.create(bytes);
  const data = x.dtype === 'bool' ? Uint8Array.from(x.data() as ArrayLike<number>, Number) : x.data();
  const out = await session.run({ [inputNames[0]]: new ort.Tensor(x.dtype, data as Float32Array, x.shape as number[]) });
  await session.release();
  const [want] = await (await referenceBackend.compile(graph)).run([x]);
  expect(out[outputNames[0]].dims).toEqual(want.shape);
  const asNumbers = (v: ArrayLike<unknown>): unknown[] => Array.from(v as ArrayLike<number>, (e) => (typeof e === 'boolean' ? Number(e) : e));
  return { ops: fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType), got: asNumbers(out[outputNames[0]].data as ArrayLike<unknown>), want: asNumbers(want.data()) };
}

const iota = (shape: number[]): Tensor => tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i - 3.5), { shape });

describe('transposes of size-1 axes lower to a Reshape', () => {
  const CASES: [number[], number[], Shape][] = [
    [[2, 1, 3], [1, 0, 2], [2, 1, 3]],
    [[1, 4, 1, 3], [2, 1, 3, 0], [1, 4, 1, 3]],
    [[2, 3, 1, 1, 5], [0, 2, 1, 3, 4], [2, 3, 1, 1, 5]], // the attention's (B, T, 1, G, D) → (B, 1, T, G, D)
    [[0, 1, 3], [1, 0, 2], [0, 1, 3]], // no elements: the 0 stays a 0 (allowzero)
  ];
  for (const [size, perm, shape] of CASES) {
    it(`[${shape.join(', ')}] by [${perm.join(', ')}]: a Reshape, the reference's values`, async () => {
      const { ops, got, want } = await lowered(iota(size), perm, shape);
      expect(ops).toEqual(['Reshape']);
      expect(got).toEqual(want);
    });
  }

  // With symbolic dims a Reshape's shape is computed at run time (on the CPU, even for a WebGPU session).
  const SYMBOLIC: [number[], number[], Shape, string[]][] = [
    [[2, 1, 3], [1, 0, 2], ['B', 1, 3], ['Squeeze', 'Unsqueeze']],
    [[2, 3, 1, 1, 5], [0, 2, 1, 3, 4], ['B', 'T', 1, 1, 5], ['Squeeze', 'Unsqueeze']],
    [[3, 1], [1, 0], ['T', 1], ['Squeeze', 'Unsqueeze']],
    [[3], [0], ['T'], ['Identity']],
  ];
  for (const [size, perm, shape, want] of SYMBOLIC) {
    it(`[${shape.join(', ')}] by [${perm.join(', ')}]: ${want.join(' and ')}, no shape computed, the reference's values`, async () => {
      const { ops, got, want: values } = await lowered(iota(size), perm, shape);
      expect(ops).toEqual(want);
      expect(got).toEqual(values);
    });
  }

  it('bool: a Reshape on every device; with symbolic dims the float32 round trip where the device does not move bool', async () => {
    const bools = less(iota([3, 1, 2]), 0);
    for (const caps of [FULL_CAPS, PORTABLE_CAPS]) {
      const fixed = await lowered(bools, [1, 0, 2], [3, 1, 2], caps);
      expect(fixed.ops).toEqual(['Reshape']);
      expect(fixed.got).toEqual(fixed.want);
    }
    const full = await lowered(bools, [1, 0, 2], ['T', 1, 2]);
    expect(full.ops).toEqual(['Squeeze', 'Unsqueeze']);
    expect(full.got).toEqual(full.want);
    const portable = await lowered(bools, [1, 0, 2], ['T', 1, 2], PORTABLE_CAPS);
    expect(portable.ops).toEqual(expect.arrayContaining(['Cast', 'Transpose', 'Greater']));
    expect(portable.got).toEqual(portable.want);
  });
});

describe('transposes that reorder longer axes stay Transposes', () => {
  const CASES: [number[], number[], Shape][] = [
    [[2, 3], [1, 0], [2, 3]],
    [[2, 1, 3], [2, 1, 0], [2, 1, 3]],
    [[2, 3, 1, 4], [0, 2, 3, 1], [2, 3, 1, 4]],
    [[2, 3, 1], [1, 0, 2], ['B', 'T', 1]], // symbolic dims may be longer than 1
  ];
  for (const [size, perm, shape] of CASES) {
    it(`[${shape.join(', ')}] by [${perm.join(', ')}]`, async () => {
      const { ops, got, want } = await lowered(iota(size), perm, shape);
      expect(ops).toContain('Transpose');
      expect(got).toEqual(want);
    });
  }
});

describe('reshapes and transposes that change nothing lower to no node', () => {
  const run = async (graph: ReturnType<typeof trace>, x: Tensor): Promise<string[]> => {
    const { bytes, inputNames, outputNames } = lowerGraph(graph, { caps: FULL_CAPS });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ [inputNames[0]]: new ort.Tensor('float32', x.data() as Float32Array, x.shape as number[]) });
    await session.release();
    const [want] = await (await referenceBackend.compile(graph)).run([x]);
    expect(out[outputNames[0]].dims).toEqual(want.shape);
    expect(Array.from(out[outputNames[0]].data as Float32Array)).toEqual(Array.from(want.data() as Float32Array));
    return fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);
  };

  it('a reshape to its own shape, static or symbolic, inside a graph and as its output', async () => {
    for (const shape of [[2, 3], ['B', 3]] as Shape[]) {
      expect(await run(trace((a) => add(reshape(a, shape), 1), [{ shape }]), iota([2, 3]))).toEqual(['Add']);
      expect(await run(trace((a) => reshape(a, shape), [{ shape }]), iota([2, 3]))).toEqual(['Identity']);
    }
    // A reshape that does change the shape stays.
    expect(await run(trace((a) => add(reshape(a, [3, 2]), 1), [{ shape: [2, 3] }]), iota([2, 3]))).toEqual(['Reshape', 'Add']);
  });

  it('a static transpose that moves nothing (the identity, or only axes of size 1 back to their places)', async () => {
    expect(await run(trace((a) => add(transpose(a, [0, 1, 2]), 1), [{ shape: [2, 1, 3] }]), iota([2, 1, 3]))).toEqual(['Add']);
    expect(await run(trace((a) => add(transpose(a, [0, 2, 1, 3]), 1), [{ shape: [2, 1, 1, 3] }]), iota([2, 1, 1, 3]))).toEqual(['Add']);
  });
});
