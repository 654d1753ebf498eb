/**
 * The one dtype table (DTYPE_INFO) against the sources it stands for: the
 * ONNX codes against the enum generated from onnx.proto, the safetensors
 * codes against the format's names, the byte sizes against the typed
 * arrays, and the ORT names against onnxruntime-node's Tensor.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { TensorProto_DataType as OnnxType } from '../../src/backends/onnx/generated/onnx_pb.js';
import { allocate, DTYPE_INFO, DTYPES } from '../../src/core/dtype.js';

describe('DTYPE_INFO', () => {
  it('gives ONNX the codes of onnx.proto and safetensors its codes', () => {
    expect(DTYPES.map((d) => DTYPE_INFO[d].onnx)).toEqual([OnnxType.FLOAT, OnnxType.DOUBLE, OnnxType.INT32, OnnxType.INT64, OnnxType.BOOL]);
    expect(DTYPES.map((d) => DTYPE_INFO[d].safetensors)).toEqual(['F32', 'F64', 'I32', 'I64', 'BOOL']);
  });

  it('stores each dtype in its array at its byte size, which ONNX Runtime takes under its name', () => {
    for (const d of DTYPES) {
      const a = allocate(d, 3);
      expect(a).toBeInstanceOf(DTYPE_INFO[d].array);
      expect(a.BYTES_PER_ELEMENT).toBe(DTYPE_INFO[d].bytes);
      expect(new ort.Tensor(DTYPE_INFO[d].ort, a as never, [3]).type).toBe(d);
    }
  });
});
