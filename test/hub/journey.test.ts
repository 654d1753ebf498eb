/**
 * The Hugging Face journey on every Node device: load a transformers-written
 * checkpoint with dropout layers, fine-tune it (Lion, early dropout that
 * switches to the dropout-free step) on ort-node cpu, ort-web wasm and
 * ort-node webgpu, save it as a Hugging Face directory, load that back (the
 * same weights, bit for bit), generate from it (the tokens of the trained
 * model), and export it for transformers.js, which generates them too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EarlyDropoutScheduler, Lion, TextGenerator, TokenBatches, Trainer, type Backend, type CompileOptions } from '../../src/index.js';
import { exportTransformersJs, loadPretrained, ortNode, savePretrained } from '../../src/node.js';
import { ortWeb } from '../../src/web.js';
import { IN_CI, webgpuUnavailable } from '../setup/availability.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-hf-journey-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TEXT = 'The quick brown fox jumps over the lazy dog. Tokenizers split text into pieces, and models read the pieces. '.repeat(6);
const noGpu = webgpuUnavailable();

const DEVICES: [string, Backend<CompileOptions>, CompileOptions, string | null][] = [
  ['ort-node cpu', ortNode as Backend<CompileOptions>, { device: 'cpu' }, null],
  ['ort-web wasm', ortWeb as Backend<CompileOptions>, { device: 'wasm' }, null],
  ['ort-node webgpu', ortNode as Backend<CompileOptions>, { device: 'webgpu' }, noGpu],
];

describe.each(DEVICES)('Hugging Face journey on %s', (name, backend, compile, missing) => {
  (missing && !IN_CI ? it.skip : it)('load → fine-tune → save → load → generate → export for transformers.js', async () => {
    if (missing) throw new Error(missing);
    const { model, tokenizer } = await loadPretrained('test/fixtures/hf/llama-gqa', { dropout: true });
    const batches = new TokenBatches(tokenizer!.encode(TEXT), { batchSize: 2, length: 16, seed: 1 });
    const trainer = await Trainer.create({
      model, optimizer: new Lion({ lr: 3e-3, weightDecay: 0.1 }), dropout: new EarlyDropoutScheduler({ p: 0.1, totalSteps: 8, cutoffStep: 3 }),
      batchSize: 2, sequenceLength: 16, backend, compile,
    });
    const held = batches.batch(99);
    const before = await trainer.evaluate(held);
    for (let k = 0; k < 8; k++) await trainer.step(batches.batch(k));
    expect(await trainer.evaluate(held)).toBeLessThan(before);
    await trainer.syncModel();
    await trainer.dispose();
    const saved = join(dir, name.replace(/\W+/g, '-'));
    await savePretrained(model, saved, { tokenizer: tokenizer! });
    const back = await loadPretrained(saved);
    for (const [n, t] of model.stateDict()) expect(Array.from(back.model.stateDict().get(n)!.data() as Float32Array), n).toEqual(Array.from(t.data() as Float32Array));
    const prompt = Array.from(tokenizer!.encode('The quick brown'));
    const gen = await TextGenerator.create(back.model, { backend: ortNode, compile: { device: 'cpu' } });
    const { tokens } = await gen.generate(prompt, { maxNewTokens: 6 });
    await gen.dispose();
    const mine = await TextGenerator.create(model.eval(), { backend: ortNode, compile: { device: 'cpu' } });
    expect((await mine.generate(prompt, { maxNewTokens: 6 })).tokens).toEqual(tokens);
    await mine.dispose();
    exportTransformersJs(back.model, join(saved, 'tjs'), { tokenizer: back.tokenizer! });
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.localModelPath = saved;
    const m = await tjs.AutoModelForCausalLM.from_pretrained('tjs', { local_files_only: true, dtype: 'fp32', device: 'cpu' });
    const out = await m.generate({ inputs: new tjs.Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]), max_new_tokens: 6, do_sample: false,
      // All 6 tokens, as ours: transformers.js would stop after an end-of-sequence token, which a trained model may emit.
      eos_token_id: [] }) as { tolist(): bigint[][] };
    expect(out.tolist()[0].slice(prompt.length).map(Number)).toEqual(tokens);
    await m.dispose();
  }, 120_000);
});
