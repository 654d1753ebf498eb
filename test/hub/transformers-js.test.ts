/**
 * exportTransformersJs writes a directory that transformers.js
 * (@huggingface/transformers, local files only, in Node) loads and runs:
 * - its greedy generation from the exported fixture model equals
 *   TextGenerator's tokens and those Python transformers chose (expected.json);
 * - a left-padded batch (transformers.js builds attention_mask and
 *   position_ids) continues each row as the row alone does;
 * - its tokenizer, loaded by transformers.js from the export, encodes the
 *   fixture text to the same ids as ours;
 * - the ONNX file names its producer and version and carries the config.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderLM, TextGenerator, type PretrainedTokenizer } from '../../src/index.js';
import { exportTransformersJs, loadPretrained, ortNode } from '../../src/node.js';
import { ModelProtoSchema } from '../../src/backends/onnx/generated/onnx_pb.js';
import { VERSION } from '../../src/core/version.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-tjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURE = 'test/fixtures/hf/llama-gqa';
const want = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as { ids: number[]; greedy: number[]; text: string; encoded: number[] };

type Tjs = typeof import('@huggingface/transformers');
let tjs: Tjs;
let model: DecoderLM;
let tokenizer: PretrainedTokenizer;

beforeAll(async () => {
  tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = dir;
  ({ model, tokenizer } = await loadPretrained(FIXTURE) as { model: DecoderLM; tokenizer: PretrainedTokenizer });
  exportTransformersJs(model, join(dir, 'llama-gqa'), { tokenizer });
});

const ids64 = (rows: number[][]): InstanceType<Tjs['Tensor']> => new tjs.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const load = (name: string) => tjs.AutoModelForCausalLM.from_pretrained(name, { local_files_only: true, dtype: 'fp32', device: 'cpu' });

async function ours(m: DecoderLM, prompt: number[], n: number): Promise<number[]> {
  const gen = await TextGenerator.create(m, { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } });
  try {
    return (await gen.generate(prompt, { maxNewTokens: n })).tokens;
  } finally {
    await gen.dispose();
  }
}

describe('exportTransformersJs → transformers.js', () => {
  it("generates greedily the tokens of TextGenerator and of Python transformers", async () => {
    const m = await load('llama-gqa');
    const out = await m.generate({ inputs: ids64([want.ids]), max_new_tokens: want.greedy.length, do_sample: false }) as InstanceType<Tjs['Tensor']>;
    const tokens = (out.tolist() as bigint[][])[0].slice(want.ids.length).map(Number);
    expect(tokens).toEqual(want.greedy);
    expect(tokens).toEqual(await ours(model, want.ids, want.greedy.length));
    await m.dispose();
  });

  it('continues each row of a left-padded batch as the row alone', async () => {
    // A random model of another shape (MQA, 3 layers, yarn), so the check is not tied to the fixture.
    const other = new DecoderLM({ vocab: 48, dim: 24, layers: 3, heads: 4, kvHeads: 1, seed: 9, maxPositions: 64, rope: { scaling: { type: 'yarn', factor: 2, originalMaxPositions: 8 } } });
    exportTransformersJs(other, join(dir, 'other'));
    const m = await load('other');
    const prompts = [[4, 8, 15, 16, 23, 42, 7], [1, 2, 3]];
    const T = 7;
    const input_ids = ids64(prompts.map((p) => [...Array(T - p.length).fill(0), ...p]));
    const attention_mask = ids64(prompts.map((p) => [...Array(T - p.length).fill(0), ...p.map(() => 1)]));
    const out = await m.generate({ input_ids, attention_mask, max_new_tokens: 5, do_sample: false, pad_token_id: 0 }) as InstanceType<Tjs['Tensor']>;
    const rows = (out.tolist() as bigint[][]).map((r) => r.slice(T).map(Number));
    for (const [b, p] of prompts.entries()) expect(rows[b]).toEqual(await ours(other, p, 5));
    await m.dispose();
  });

  it('ships a tokenizer transformers.js reads as we do', async () => {
    const tok = await tjs.AutoTokenizer.from_pretrained('llama-gqa', { local_files_only: true });
    expect(tok.encode(want.text, { add_special_tokens: false })).toEqual(want.encoded);
    expect(Array.from(tokenizer.encode(want.text))).toEqual(want.encoded);
  });

  it('names its producer and carries the config as metadata', () => {
    const proto = fromBinary(ModelProtoSchema, readFileSync(join(dir, 'llama-gqa', 'onnx', 'model.onnx')));
    expect([proto.producerName, proto.producerVersion]).toEqual(['llm-tricks', VERSION]);
    const props = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(props['huggingface.config']).model_type).toBe('llama');
    expect(JSON.parse(props['llm_tricks.config'])).toEqual(JSON.parse(JSON.stringify(model.config)));
    expect(proto.graph!.input.map((i) => i.name).slice(0, 5)).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value']);
    expect(proto.graph!.output.map((o) => o.name).slice(0, 3)).toEqual(['logits', 'present.0.key', 'present.0.value']);
  });

  it('the package version the files name is package.json\'s', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
});
