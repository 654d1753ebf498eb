/**
 * exportOnnx writes a DecoderLM that plain onnxruntime-node (no llm-tricks
 * code) runs with the common KV-cache convention: the prefill with an empty
 * past and a cached decoding step give the eager model's logits, for rope,
 * alibi and learned positions and MHA/GQA/MQA; weights can go to an external
 * data file named by its content, and a re-export to the same path leaves
 * only the new model's data file; the official ONNX checker accepts the file (full_check); a bad
 * path is refused and no temporary file is left behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { DecoderLM, LlmTricksError, tensor, type PositionKind } from '../../../src/index.js';
import { exportOnnx } from '../../../src/node.js';
import { IN_CI, pythonPath, pythonUnavailable } from '../../setup/availability.js';

const dir = mkdtempSync(join(tmpdir(), 'export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const int64 = (rows: number[][]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

async function prefillAndStep(path: string, lm: DecoderLM): Promise<void> {
  const { layers, kvHeads, headDim, dtype } = lm.config;
  // A float64 model needs ONNX Runtime's basic optimisation level: its QuickGelu fusion has no double kernel (docs/backends.md).
  const session = await ort.InferenceSession.create(path, dtype === 'float64' ? { graphOptimizationLevel: 'basic' } : {});
  const empty: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) for (const k of ['key', 'value']) empty[`past_key_values.${i}.${k}`] = new ort.Tensor(dtype, dtype === 'float64' ? new Float64Array(0) : new Float32Array(0), [2, kvHeads, 0, headDim]);
  const prompt = [[1, 2, 3], [4, 5, 6]];
  const first = await session.run({ input_ids: int64(prompt), position_ids: int64([[0, 1, 2], [0, 1, 2]]), ...empty });
  const eager = lm.forward(tensor(prompt, { dtype: 'int32' }));
  // Every position's logits, as files carry them (the TextGenerator's own step keeps only the last).
  expect(first.logits.dims).toEqual([2, 3, lm.vocab]);
  expect(maxDiff(first.logits.data as Float32Array, eager.logits.data() as Float32Array)).toBeLessThanOrEqual(1e-5);
  const past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < layers; i++) for (const k of ['key', 'value']) past[`past_key_values.${i}.${k}`] = first[`present.${i}.${k}`];
  const next = await session.run({ input_ids: int64([[7], [8]]), position_ids: int64([[3], [3]]), ...past });
  const eagerNext = lm.forward(tensor([[7], [8]], { dtype: 'int32' }), { cache: eager.cache });
  expect(maxDiff(next.logits.data as Float32Array, eagerNext.logits.data() as Float32Array)).toBeLessThanOrEqual(1e-5);
  expect(next['present.0.key'].dims).toEqual([2, kvHeads, 4, headDim]);
}

describe('exportOnnx', () => {
  it.each([
    ['rope', 4, 2], ['rope', 4, 1], ['alibi', 4, 4], ['learned', 4, 2],
  ] as [PositionKind, number, number][])('%s, %i heads, %i kv heads: plain onnxruntime-node matches the model, prefill and cached step', async (position, heads, kvHeads) => {
    const lm = new DecoderLM({ vocab: 16, dim: 8, layers: 2, heads, kvHeads, position, maxPositions: 16, seed: 5 });
    const path = join(dir, `${position}-${heads}-${kvHeads}.onnx`);
    exportOnnx(lm, path);
    await prefillAndStep(path, lm);
  });

  it('exports a float64 model: float64 cache inputs and logits, matching the model', async () => {
    const lm = new DecoderLM({ vocab: 16, dim: 8, layers: 2, heads: 4, kvHeads: 2, maxPositions: 16, seed: 5, dtype: 'float64' });
    const path = join(dir, 'float64.onnx');
    exportOnnx(lm, path);
    await prefillAndStep(path, lm);
  });

  it('puts weights in an external data file when asked, and the model still loads by path', async () => {
    const lm = new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, position: 'rope', maxPositions: 16, seed: 6 });
    const path = join(dir, 'external.onnx');
    exportOnnx(lm, path, { externalData: true, externalThreshold: 64 });
    const dataFiles = (): string[] => readdirSync(dir).filter((f) => /^external\.onnx\.[0-9a-f]{16}\.data$/.test(f));
    const [first] = dataFiles();
    expect(dataFiles()).toHaveLength(1);
    await prefillAndStep(path, lm);
    // Exporting other weights to the same path: a new data file (named by its content) that only the new
    // model references, committed by the .onnx rename; the old model's data file is removed after it.
    const other = new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, position: 'rope', maxPositions: 16, seed: 7 });
    exportOnnx(other, path, { externalData: true, externalThreshold: 64 });
    expect(dataFiles()).toHaveLength(1);
    expect(dataFiles()[0]).not.toBe(first);
    await prefillAndStep(path, other);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Threshold 0: every weight outside, and only weights (the lowering's int64 axes must stay in for ONNX Runtime to load it).
    exportOnnx(other, path, { externalData: true, externalThreshold: 0 });
    await prefillAndStep(path, other);
  });

  const noOnnx = pythonUnavailable(['onnx']);
  (noOnnx && !IN_CI ? it.skip : it)(`passes the official ONNX checker with full shape inference${noOnnx && !IN_CI ? ` (skipped: ${noOnnx})` : ''}`, () => {
    if (noOnnx) throw new Error(`the ONNX checker is needed in CI: ${noOnnx}`);
    const path = join(dir, 'checked.onnx');
    exportOnnx(new DecoderLM({ vocab: 16, dim: 8, layers: 2, heads: 4, kvHeads: 2, position: 'rope', maxPositions: 16 }), path);
    const r = spawnSync(pythonPath(), ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', path], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('refuses a path that is not an .onnx file, and leaves no temporary files', () => {
    const lm = new DecoderLM({ vocab: 8, dim: 4, layers: 1, heads: 2 });
    expect(() => exportOnnx(lm, join(dir, 'model.bin'))).toThrow(LlmTricksError);
    expect(() => exportOnnx({} as never, join(dir, 'x.onnx'))).toThrow(/^exportOnnx: model expected a LanguageModel/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
