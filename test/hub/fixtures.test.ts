/**
 * Hugging Face checkpoints in: every fixture under test/fixtures/hf (tiny
 * random models written by transformers' save_pretrained through
 * scripts/hf/make-fixtures.py: GQA, tied MHA, explicit head_dim, each rope
 * scaling, bfloat16, float16, sharded, Qwen2 biases, Mistral) loads with
 * loadPretrained and with fromPretrainedFiles (Node Buffers, as
 * readFileSync gives them), and
 * - its logits for the fixture's ids equal those transformers computed
 *   (float32: 2e-4 absolute + 2e-4 relative; the two sum in different orders);
 * - TextGenerator on ort-node cpu continues the ids greedily with the tokens
 *   transformers' generate chose;
 * - the tokenizer (llama-gqa) encodes the fixture text to transformers' ids
 *   and decodes them back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromPretrainedFiles, tensor, TextGenerator, type DecoderLM } from '../../src/index.js';
import { loadPretrained, ortNode } from '../../src/node.js';

const ROOT = 'test/fixtures/hf';
const VARIANTS = readdirSync(ROOT).sort();
interface Expected { ids: number[]; logits: number[][]; greedy: number[]; text?: string; encoded?: number[] }
const expected = (name: string): Expected => JSON.parse(readFileSync(join(ROOT, name, 'expected.json'), 'utf8'));
// transformers' dynamic scaling reaches past max_position_embeddings (8 here) without a bound; ours needs one.
const OPTIONS: Record<string, { maxPositions?: number }> = { 'rope-dynamic': { maxPositions: 32 } };

function expectLogits(model: DecoderLM, want: Expected): void {
  const logits = model.eval().forward(tensor([want.ids], { dtype: 'int32' })).logits.data() as Float32Array;
  const flat = want.logits.flat();
  expect(logits.length).toBe(flat.length);
  let worst = 0;
  flat.forEach((w, i) => { worst = Math.max(worst, Math.abs(logits[i] - w) / (2e-4 + 2e-4 * Math.abs(w))); });
  expect(worst, 'largest error in units of the tolerance').toBeLessThan(1);
}

describe.each(VARIANTS)('Hugging Face fixture %s', (name) => {
  const dir = join(ROOT, name);
  const want = expected(name);

  it('loads from its directory with transformers\' logits and greedy tokens', async () => {
    const { model, notes, config } = await loadPretrained(dir, OPTIONS[name]);
    expect(config.model_type).toBeTypeOf('string');
    expectLogits(model, want);
    if (name.endsWith('bf16')) expect(notes).toEqual(['model.safetensors: bfloat16 widened to float32 (exact)']);
    if (name.endsWith('f16') && !name.endsWith('bf16')) expect(notes.join()).toMatch(/float16 widened to float32/);
    const gen = await TextGenerator.create(model, { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } });
    const { tokens } = await gen.generate(want.ids, { maxNewTokens: want.greedy.length });
    expect(tokens).toEqual(want.greedy);
    await gen.dispose();
  });

  it('loads from files in memory (Node Buffers) to the same logits', async () => {
    const files = Object.fromEntries(readdirSync(dir).filter((f) => f !== 'expected.json').map((f) => [f, readFileSync(join(dir, f))]));
    const { model, tokenizer } = await fromPretrainedFiles(files, OPTIONS[name]);
    expectLogits(model, want);
    if (want.text !== undefined) {
      expect(Array.from(tokenizer!.encode(want.text))).toEqual(want.encoded);
      expect(tokenizer!.decode(want.encoded!)).toBe(want.text);
    } else expect(tokenizer).toBeNull();
  });
});
