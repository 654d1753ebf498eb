import { VERSION } from '../../core/version.js';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { DTYPE_INFO, DTYPES, type DType, type TypedArray } from '../../core/dtype.js';
import {
  AttributeProto_AttributeType as AttrType, ModelProtoSchema, TensorProto_DataType as OnnxType,
  type AttributeProtoSchema, type NodeProtoSchema, type TensorProtoSchema, type ValueInfoProtoSchema,
} from './generated/onnx_pb.js';
import type { Dim } from '../../core/shape.js';

// Opset 21 is the newest at which every op this lowering emits has a WebGPU
// kernel in ONNX Runtime 1.30 (Sin and Cos lose theirs at 22, Pad at 24,
// Transpose at 25), and it has ReduceMax with axes as an input (18+) and
// ScatterElements with reduction 'add' (16+). IR version 10 is opset 21's.
export const OPSET = 21;
const IR_VERSION = 10n;

/** ONNX element type of each dtype. */
export const ONNX_TYPE: Readonly<Record<DType, OnnxType>> = Object.fromEntries(DTYPES.map((d) => [d, DTYPE_INFO[d].onnx as OnnxType])) as Record<DType, OnnxType>;

/** One attribute value, tagged by its ONNX type. */
export type Attr = { i: number } | { ints: readonly number[] } | { f: number } | { s: string };

type NodeInit = MessageInitShape<typeof NodeProtoSchema>;
type TensorInit = MessageInitShape<typeof TensorProtoSchema>;
type ValueInfoInit = MessageInitShape<typeof ValueInfoProtoSchema>;
type AttrInit = MessageInitShape<typeof AttributeProtoSchema>;

function attribute(name: string, a: Attr): AttrInit {
  if ('i' in a) return { name, type: AttrType.INT, i: BigInt(a.i) };
  if ('ints' in a) return { name, type: AttrType.INTS, ints: a.ints.map(BigInt) };
  if ('f' in a) return { name, type: AttrType.FLOAT, f: a.f };
  return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.s) };
}

/** Little-endian bytes of a typed array (raw_data); bool is one byte per element already. */
function rawBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

/** A graph input or output with its element type and (possibly symbolic) shape. */
export function valueInfo(name: string, dtype: DType, shape: readonly Dim[]): ValueInfoInit {
  const dim = shape.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } }));
  return { name, type: { value: { case: 'tensorType', value: { elemType: ONNX_TYPE[dtype], shape: { dim } } } } };
}

/**
 * Collects nodes and initializers with fresh, readable names, then encodes
 * them as ModelProto bytes through the generated protobuf code.
 */
export class OnnxBuilder {
  readonly nodes: NodeInit[] = [];
  readonly initializers: TensorInit[] = [];
  private counter = 0;
  private readonly int64Cache = new Map<string, string>();
  /** The initializers made here without a name given (not a model's weights), by name: {@link unit} may reshape copies of them. */
  private readonly constants = new Map<string, TensorInit>();

  /** A name no other value has. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Appends a node and returns its output names (one unless `outputs` says how many). */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ opType: op, input: [...inputs], output: names, name: this.fresh(`n_${op}`), attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return names;
  }

  /** A single-output node. */
  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.node(op, inputs, attrs)[0];
  }

  /** An initializer holding `data` of `dims`. */
  tensor(data: TypedArray, dims: readonly number[], dtype: DType, name?: string): string {
    const init: TensorInit = { name: name ?? this.fresh('const'), dims: dims.map(BigInt), dataType: ONNX_TYPE[dtype], rawData: rawBytes(data) };
    if (name === undefined) this.constants.set(init.name!, init);
    this.initializers.push(init);
    return init.name!;
  }

  /** A 1-D int64 initializer (shared between uses of the same values). */
  int64s(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.int64Cache.get(key);
    if (!name) {
      name = this.tensor(BigInt64Array.from(values, BigInt), [values.length], 'int64', this.fresh('ints'));
      this.int64Cache.set(key, name);
    }
    return name;
  }

  /** A scalar initializer of `dtype`: rank 0, or `rank` dims of 1. */
  scalar(value: number, dtype: DType, rank = 0): string {
    const data: TypedArray = dtype === 'float32' ? Float32Array.of(value) : dtype === 'float64' ? Float64Array.of(value)
      : dtype === 'int32' ? Int32Array.of(value) : dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : Uint8Array.of(value ? 1 : 0);
    return this.tensor(data, Array<number>(rank).fill(1), dtype);
  }

  /**
   * `x` (one element) as a tensor of `rank` dims of 1: a copy of it so
   * shaped where `x` is a constant made here, else a Reshape (a computed
   * value, or a named initializer such as a model's weight, which keeps
   * its name in the file), or `x` itself where `reshape` is false.
   */
  unit(x: string, rank: number, reshape = true): string {
    const ones = Array<number>(rank).fill(1);
    const init = this.constants.get(x);
    if (!init) return reshape ? this.op('Reshape', [x, this.int64s(ones)]) : x;
    const copy: TensorInit = { ...init, name: this.fresh('const'), dims: ones.map(BigInt) };
    this.constants.set(copy.name!, copy);
    this.initializers.push(copy);
    return copy.name!;
  }

  /** A uint32 scalar initializer (the random generator's arithmetic). */
  uint32(value: number): string {
    const name = this.fresh('u32');
    this.initializers.push({ name, dims: [], dataType: OnnxType.UINT32, rawData: rawBytes(Uint32Array.of(value >>> 0)) });
    return name;
  }

  /** The encoded model. */
  encode(inputs: readonly ValueInfoInit[], outputs: readonly ValueInfoInit[], name: string): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: IR_VERSION,
      producerName: 'llm-tricks',
      producerVersion: VERSION,
      opsetImport: [{ domain: '', version: BigInt(OPSET) }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: [...inputs], output: [...outputs] },
    });
    return toBinary(ModelProtoSchema, model);
  }
}
