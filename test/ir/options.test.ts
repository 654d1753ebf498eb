/**
 * Unknown option names are errors everywhere (src/core/options.ts): a user
 * porting from PyTorch or transformers who writes `theta`, `epsilon` or
 * `beta_fast` gets an LlmTricksError naming the option (and the name it
 * likely meant), never silently the default.
 *
 * Proves, for every public constructor and function that takes options:
 * an unknown key throws `<site>: options expected only …, got unknown '<key>'`
 * and the hint where one applies; the known keys still work; undefined and
 * null still mean the defaults.
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../src/index.js';
import { exportLanguageModel, exportOnnx, lowerGraph, ortNode, progressReporter } from '../../src/node.js';
import { ortWeb } from '../../src/web.js';

const bad = (v: unknown) => v as never;
const lm = (): L.DecoderLM => new L.DecoderLM({ vocab: 8, dim: 4, layers: 1, heads: 2, maxPositions: 8 });
const g = L.trace((x) => L.add(x, 1), [{ shape: [2] }]);

type Row = [label: string, call: () => unknown, message: RegExp];

const ROWS: Row[] = [
  ['RotaryEmbedding theta', () => new L.RotaryEmbedding(8, bad({ theta: 5e5 })), /^RotaryEmbedding: options expected only base, rotaryDim, layout, maxPositions, scaling, got unknown 'theta' \(did you mean 'base'\?\)/],
  ['YaRN beta_fast', () => new L.RotaryEmbedding(8, { scaling: bad({ type: 'yarn', factor: 2, originalMaxPositions: 16, beta_fast: 16 }) }), /^RotaryEmbedding: scaling expected only type, factor, originalMaxPositions, betaFast, betaSlow, attentionFactor, got unknown 'beta_fast' \(did you mean 'betaFast'\?\)/],
  ['linear scaling with a YaRN key', () => new L.RotaryEmbedding(8, { scaling: bad({ type: 'linear', factor: 2, betaFast: 3 }) }), /got unknown 'betaFast'/],
  ['RmsNorm epsilon', () => new L.RmsNorm(4, bad({ epsilon: 1e-5 })), /^RmsNorm: options expected only seed, dtype, eps, unitOffset, got unknown 'epsilon' \(did you mean 'eps'\?\)/],
  ['LayerNorm eps typo', () => new L.LayerNorm(4, bad({ Eps: 1e-5 })), /got unknown 'Eps' \(did you mean 'eps'\?\)/],
  ['Linear', () => new L.Linear(2, 2, bad({ use_bias: true })), /^Linear: options expected only .*got unknown 'use_bias'/],
  ['Embedding', () => new L.Embedding(4, 2, bad({ padding_idx: 0 })), /^Embedding: .*got unknown 'padding_idx'/],
  ['MultiQueryAttention', () => new L.MultiQueryAttention(4, 2, bad({ num_kv_heads: 1 })), /^MultiQueryAttention: .*got unknown 'num_kv_heads'/],
  ['AlibiBias', () => new L.AlibiBias(2, bad({ causal: true })), /^AlibiBias: options expected only mode, got unknown 'causal'/],
  ['SwiGlu', () => new L.SwiGlu(4, bad({ intermediate_size: 8 })), /^SwiGlu: .*got unknown 'intermediate_size'/],
  ['Dropout', () => new L.Dropout(bad({ rate: 0.1 })), /^Dropout: options expected only seed, dtype, got unknown 'rate'/],
  ['DecoderLM', () => new L.DecoderLM(bad({ vocab: 8, dim: 4, layers: 1, heads: 2, rope_theta: 1e4 })), /^DecoderLM: .*got unknown 'rope_theta'/],
  ['EarlyDropoutScheduler schedule', () => new L.EarlyDropoutScheduler(bad({ p: 0.1, totalSteps: 10, schedule: 'linear' })), /^EarlyDropoutScheduler: options expected only p, totalSteps, mode, cutoff, cutoffStep, decay, endpoint, got unknown 'schedule'/],
  ['linearWarmupDecay', () => L.linearWarmupDecay(bad({ peakLr: 1, totalSteps: 10, warmup: 2 })), /^linearWarmupDecay: .*got unknown 'warmup'/],
  ['cosineDecay', () => L.cosineDecay(bad({ from: 1, steps: 10, eta_min: 0 })), /^cosineDecay: .*got unknown 'eta_min'/],
  ['crossEntropy label_smoothing', () => L.crossEntropy(L.zeros([2, 3]), L.tensor([0, 1], { dtype: 'int32' }), bad({ label_smoothing: 0.1 })), /^crossEntropy: options expected only ignoreIndex, labelSmoothing, reduction, got unknown 'label_smoothing' \(did you mean 'labelSmoothing'\?\)/],
  ['sum keepdims', () => L.sum(L.zeros([2]), 0, bad({ keepdims: true })), /^sum: options expected only keepDims, got unknown 'keepdims' \(did you mean 'keepDims'\?\)/],
  ['tensor', () => L.tensor([1], bad({ device: 'cpu' })), /^tensor: options expected only shape, dtype, got unknown 'device'/],
  ['vjp', () => L.vjp(g, bad({ argnums: [0] })), /^vjp: options expected only wrt, got unknown 'argnums'/],
  ['Lion.step', () => new L.Lion().step([new Float32Array(1)], [new Float32Array(1)], bad({ learningRate: 1 })), /^Lion\.step: options expected only lr, got unknown 'learningRate'/],
  ['TokenBatches', () => new L.TokenBatches(new Int32Array(64), bad({ batchSize: 2, length: 4, drop_last: true })), /^TokenBatches: .*got unknown 'drop_last'/],
  ['progressReporter', () => progressReporter(bad({ total: 10, interval: 5 })), /^progressReporter: .*got unknown 'interval'/],
  ['exportLanguageModel', () => exportLanguageModel(lm(), bad({ opset: 17 })), /^exportLanguageModel: options expected only externalThreshold, dataFile, got unknown 'opset'/],
  ['exportOnnx dataFile (named by content there)', () => exportOnnx(lm(), '/tmp/never-written.onnx', bad({ dataFile: 'w.data' })), /^exportOnnx: options expected only externalThreshold, externalData, got unknown 'dataFile'/],
  ['exportLanguageModel externalThreshold', () => exportLanguageModel(lm(), { dataFile: 'w.data', externalThreshold: -1 }), /^exportLanguageModel: externalThreshold expected a number of bytes >= 0, got -1/],
  ['DecoderLM transformers names', () => new L.DecoderLM(bad({ vocab: 8, dim: 4, layers: 1, heads: 2, num_key_value_heads: 1 })), /got unknown 'num_key_value_heads' \(did you mean 'kvHeads'\?\)/],
  ['lowerGraph', () => lowerGraph(g, bad({ opset: 17 })), /^lowerGraph: .*got unknown 'opset'/],
];

const ASYNC_ROWS: Row[] = [
  ['Trainer.create', () => L.Trainer.create(bad({ model: lm(), optimizer: new L.Lion(), batchSize: 1, sequenceLength: 4, lr: 1e-3 })), /^Trainer: options expected only .*got unknown 'lr'/],
  ['ortNode.compile', () => ortNode.compile(g, bad({ devices: 'cpu' })), /^ort-node\.compile: compile options expected only device, deviceId, .*got unknown 'devices'/],
  ['ortWeb.compile deviceId', () => ortWeb.compile(g, bad({ deviceId: 0 })), /^ort-web\.compile: compile options expected only .*got unknown 'deviceId'/],
  ['referenceBackend.compile', () => L.referenceBackend.compile(g, bad({ threads: 2 })), /^reference\.compile: options expected only device, residentOutputs, got unknown 'threads'/],
  ['TextGenerator.create', () => L.TextGenerator.create(lm(), bad({ device: 'cuda' })), /^TextGenerator: options expected only backend, compile, tokenizer, got unknown 'device'/],
  ['ortNode.compile threads', () => ortNode.compile(g, bad({ threads: 2 })), /got unknown 'threads' \(did you mean 'intraOpNumThreads'\?\)/],
  ['TextGenerator.generate', async () => (await L.TextGenerator.create(lm())).generate([1], bad({ max_new_tokens: 2 })), /^TextGenerator\.generate: .*got unknown 'max_new_tokens' \(did you mean 'maxNewTokens'\?\)/],
  ['fit', async () => L.fit(await L.Trainer.create({ model: lm(), optimizer: new L.Lion(), batchSize: 1, sequenceLength: 4 }), bad({ steps: 1, batch: () => [], epochs: 2 })), /^fit: .*got unknown 'epochs'/],
];

describe('unknown option names', () => {
  it.each(ROWS)('%s', (_label, call, message) => {
    expect(call).toThrow(message);
  });

  it.each(ASYNC_ROWS)('%s', async (_label, call, message) => {
    await expect((async () => call())()).rejects.toThrow(message);
  });

  it('known names still work, and undefined and null still mean the defaults', () => {
    expect(new L.RotaryEmbedding(8, { base: 5e5, scaling: { type: 'yarn', factor: 2, originalMaxPositions: 16, betaFast: 16 } }).base).toBe(5e5);
    expect(new L.RmsNorm(4, { eps: 1e-5 }).parameterCount()).toBe(4);
    expect(L.sum(L.zeros([2]), 0, null as never).item()).toBe(0);
    expect(L.crossEntropy(L.zeros([1, 2]), L.tensor([0], { dtype: 'int32' }), undefined).item()).toBeCloseTo(Math.LN2, 6);
  });
});
