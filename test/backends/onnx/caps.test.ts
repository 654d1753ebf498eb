/**
 * The ONNX lowering's device capabilities (src/backends/onnx/lower/types.ts):
 * each workaround is guarded by the kernel it works around, so CPU and
 * WebAssembly (FULL_CAPS) get the direct op and WebGPU, CUDA and exported
 * files (PORTABLE_CAPS) the workaround.
 *
 * Proves, for each capability: with it the lowering emits the direct op,
 * without it the workaround (and not the op); both lowerings, run on
 * onnxruntime-node's CPU, give the reference backend's values exactly; and
 * each device table names the caps it uses (CPU and wasm every kernel,
 * the CPU also splitK, WebGPU and CUDA none). splitK, a faster form rather
 * than a workaround, is proven in split-k.test.ts.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  abs, concat, equal, less, neg, pad, randomUniform, referenceBackend, sign, slice, tensor, trace, transpose, type Tensor,
} from '../../../src/index.js';
import { FULL_CAPS, lowerGraph, PORTABLE_CAPS, type LoweringCaps } from '../../../src/node.js';
import { NODE_DEVICES } from '../../../src/backends/ort-node/index.js';
import { WEB_DEVICES } from '../../../src/backends/ort-web/index.js';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from '../../../src/backends/onnx/generated/onnx_pb.js';

const onnxOps = (bytes: Uint8Array): string[] => fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType);

const int32 = (v: number[][]): Tensor => tensor(v, { dtype: 'int32' });
const x = tensor([[-2.5, 0, 3], [NaN, 7, -0]]);
const ints = int32([[-3, 0, 5], [2 ** 31 - 1, -(2 ** 31), 4]]);
const bools = less(x, 1);

/**
 * Per capability: a graph that needs it, its inputs, an op only the direct
 * lowering emits and one only the workaround emits (null where the other
 * lowering has the op too).
 */
const CASES: readonly [keyof LoweringCaps, (...a: Tensor[]) => Tensor, Tensor[], string | null, string | null][] = [
  ['int32NegAbs', (a) => abs(neg(a)), [ints], 'Neg', 'Where'],
  ['sign', (a) => sign(a), [x], 'Sign', 'Greater'],
  ['boolEqual', (a, b) => equal(a, b), [bools, less(x, 0)], null, 'Cast'],
  ['boolMovement', (a) => concat([transpose(a), pad(transpose(a), [1, 0], [4, 2])], 0), [bools], null, 'Greater'],
  ['intSlice', (a) => slice(a, [0, 1], [2, 2]), [ints], 'Slice', 'Gather'],
  ['bitShift', (s, t) => randomUniform(s, t, [4, 8]), [tensor(3, { dtype: 'int32' }), tensor(1, { dtype: 'int32' })], 'BitShift', null],
];

// ±0 compare equal (ONNX Sign gives +0 for −0, the reference kernel −0).
const values = (data: ArrayLike<number | boolean>): number[] => Array.from(data, (v) => Number(v) + 0);

async function runOnCpu(bytes: Uint8Array, inputNames: readonly string[], inputs: Tensor[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds = Object.fromEntries(inputNames.map((n, i) => [n, new ort.Tensor(inputs[i].dtype, inputs[i].data() as never, inputs[i].shape as number[])]));
  const out = Object.values(await session.run(feeds))[0];
  await session.release();
  return values(out.data as ArrayLike<number | boolean>);
}

describe('lowering capabilities', () => {
  it.each(CASES)('%s: the direct op with it, the workaround without, the reference values both ways', async (cap, fn, inputs, direct, workaround) => {
    const graph = trace(fn, inputs.map((t) => ({ shape: t.shape, dtype: t.dtype })));
    const [want] = await (await referenceBackend.compile(graph)).run(inputs);
    const expected = values(want.data() as ArrayLike<number | boolean>);
    const only = { ...PORTABLE_CAPS, [cap]: true };
    for (const [caps, has, lacks] of [[only, direct, workaround], [PORTABLE_CAPS, workaround, direct]] as const) {
      const lowered = lowerGraph(graph, { caps });
      const ops = onnxOps(lowered.bytes);
      if (has) expect(ops, `${cap} ${caps === only ? 'on' : 'off'}`).toContain(has);
      if (lacks) expect(ops, `${cap} ${caps === only ? 'on' : 'off'}`).not.toContain(lacks);
      expect(await runOnCpu(lowered.bytes, lowered.inputNames, inputs)).toEqual(expected);
    }
  });

  it('CPU and WebAssembly use every kernel (the CPU also splitK); WebGPU and CUDA every workaround', () => {
    expect(NODE_DEVICES.devices.cpu.lowering).toEqual({ ...FULL_CAPS, splitK: true });
    expect(WEB_DEVICES.devices.wasm.lowering).toEqual(FULL_CAPS);
    for (const info of [NODE_DEVICES.devices.webgpu, NODE_DEVICES.devices.cuda, WEB_DEVICES.devices.webgpu]) expect(info.lowering).toEqual(PORTABLE_CAPS);
    expect(Object.values(FULL_CAPS).every((v) => v)).toBe(true);
    expect(Object.values(PORTABLE_CAPS).every((v) => !v)).toBe(true);
  });
});
