import { checkOptions, optionKeys } from '../core/options.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { LanguageModel } from '../nn/language-model.js';
import type { Tensor } from '../trace/tensor.js';
import { decodeStep } from './decode-step.js';
import { fail, show } from '../core/errors.js';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, type StringStringEntryProto, type TensorProto } from '../backends/onnx/generated/onnx_pb.js';
import { lowerGraph } from '../backends/onnx/lower.js';

// B batch, T new tokens, P cached tokens, K kv heads, D head dim, V vocabulary.

/** Options of {@link exportLanguageModel}. */
export interface ExportOptions {
  /**
   * Weights of at least this many bytes go to a separate data file (ONNX
   * external data) when a `dataFile` name is given; protobuf cannot hold
   * more than 2 GiB in one message. Default 1 MiB.
   */
  readonly externalThreshold?: number;
  /**
   * File name (relative to the model) for external weights, or a function
   * naming it from the data's bytes; none keeps every weight inside.
   */
  readonly dataFile?: string | ((data: Uint8Array) => string);
}

/** The option names of {@link exportLanguageModel}. */
export const EXPORT_KEYS: readonly string[] = optionKeys<ExportOptions>({ externalThreshold: true, dataFile: true });

/** An exported model: the ONNX bytes and, when weights went outside, the data file's bytes. */
export interface ExportedModel {
  readonly model: Uint8Array;
  readonly data: Uint8Array | null;
}

/**
 * A language model (a `DecoderLM`, or any {@link LanguageModel}) as a
 * standalone ONNX model for any ONNX Runtime host: the decoding step the
 * TextGenerator runs, with the input and output names of the common convention:
 *
 *   inputs   input_ids (B, T) int64, position_ids (B, T) int64 (P..P+T-1, the same for every row),
 *            past_key_values.{i}.key / .value (B, K, P, D) in the model's dtype (P may be 0)
 *   outputs  logits (B, T, V), present.{i}.key / .value (B, K, P+T, D)
 *
 * Batch, sequence and past lengths are symbolic ('batch', 'sequence',
 * 'past_sequence'). Weights are initializers named as in the model
 * (`model.layers.0.self_attn.q_proj.weight`).
 */
export function exportLanguageModel(model: LanguageModel, options: ExportOptions = {}): ExportedModel {
  return exportAt('exportLanguageModel', model, options, EXPORT_KEYS);
}

/** What the Hugging Face layout adds to an export. */
export interface ExportExtras {
  /** The attention_mask input and per-row position_ids (transformers.js's decoder inputs). */
  readonly attentionMask?: boolean;
  /** metadata_props of the model (e.g. its config). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** {@link exportLanguageModel}, its errors naming `site` and its options checked against `keys`. */
export function exportAt(site: string, model: LanguageModel, options: ExportOptions | undefined, keys: readonly string[], extras: ExportExtras = {}): ExportedModel {
  checkOptions(site, options, keys);
  const { dataFile, externalThreshold = 2 ** 20 } = options ?? {};
  if (typeof externalThreshold !== 'number' || !(externalThreshold >= 0)) fail(site, `externalThreshold expected a number of bytes >= 0, got ${show(externalThreshold)}`);
  if (dataFile !== undefined && typeof dataFile !== 'string' && typeof dataFile !== 'function') fail(site, `dataFile expected a file name, got ${show(dataFile)}`);
  const step = decodeStep(site, model, { ids: 'int64', parameters: 'inputs', attentionMask: extras.attentionMask });
  const weights = new Map<string, Tensor>(step.parameters.map(([name, p]) => [name, p.value]));
  let bytes = lowerGraph(step.graph, { name: 'decoder_lm', outputNames: [...step.outputNames], initializers: weights }).bytes;
  if (extras.metadata) {
    const proto = fromBinary(ModelProtoSchema, bytes);
    proto.metadataProps = Object.entries(extras.metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
    bytes = toBinary(ModelProtoSchema, proto);
  }
  return dataFile ? externalise(bytes, dataFile, externalThreshold, new Set(weights.keys())) : { model: bytes, data: null };
}

/** @deprecated The old name of {@link exportLanguageModel}, which takes any LanguageModel. */
export const exportDecoderLM: typeof exportLanguageModel = exportLanguageModel;

/**
 * Moves weights of at least `threshold` bytes into one data file, as ONNX
 * external data. Only the model's weights move: the lowering's own
 * constants (axes, shapes) must stay inside, where ONNX Runtime reads them
 * while it loads the model.
 */
function externalise(bytes: Uint8Array, dataFile: string | ((data: Uint8Array) => string), threshold: number, weights: ReadonlySet<string>): ExportedModel {
  const model = fromBinary(ModelProtoSchema, bytes);
  const moved: [TensorProto, number][] = [];
  let offset = 0;
  for (const t of model.graph!.initializer) {
    if (!weights.has(t.name) || t.rawData.length < threshold) continue;
    offset += (64 - (offset % 64)) % 64; // aligned, so hosts can map the file
    moved.push([t, offset]);
    offset += t.rawData.length;
  }
  const data = new Uint8Array(offset);
  for (const [t, at] of moved) data.set(t.rawData, at);
  const location = typeof dataFile === 'function' ? dataFile(data) : dataFile;
  const entry = (key: string, value: string): StringStringEntryProto => create(StringStringEntryProtoSchema, { key, value });
  for (const [t, at] of moved) {
    t.externalData = [entry('location', location), entry('offset', String(at)), entry('length', String(t.rawData.length))];
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
  }
  return { model: toBinary(ModelProtoSchema, model), data };
}
