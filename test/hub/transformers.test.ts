/**
 * Hugging Face checkpoints out: a DecoderLM saved by savePretrained loads
 * in transformers (AutoModelForCausalLM.from_pretrained, no missing or
 * unexpected tensor) as the same model, for every config the loader
 * covers: GQA, tied MHA, an explicit head_dim, another rope base, each rope
 * scaling, Qwen2's q/k/v biases, LLaMA's attention_bias, float64. Its
 * logits for fixed ids equal ours (float32: 2e-4 absolute + 2e-4 relative)
 * and its greedy continuation equals TextGenerator's. Runs
 * scripts/hf/logits.py with the Python of requirements-dev.txt.
 *
 * And the recipe of docs/huggingface.md "When one machine is not enough"
 * (its python block, as written) continues training a saved directory in
 * PyTorch, and what it saves loads back here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecoderLM, tensor, TextGenerator, type DecoderLMConfig, type Tensor } from '../../src/index.js';
import { loadPretrained, referenceBackend, savePretrained } from '../../src/node.js';
import { IN_CI, pythonPath, pythonUnavailable } from '../setup/availability.js';
import { rng } from '../helpers/check-vjp.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-hf-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IDS = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 32];
const NEW = 5;
const BASE = { vocab: 40, dim: 16, layers: 2, heads: 4, kvHeads: 2, hidden: 24, maxPositions: 64, eps: 1e-5 } as const;
const CONFIGS: [string, DecoderLMConfig][] = [
  ['GQA', BASE],
  ['tied MHA', { ...BASE, kvHeads: 4, tiedEmbeddings: true }],
  ['head_dim 8, MQA', { ...BASE, headDim: 8, kvHeads: 1 }],
  ['rope base 500', { ...BASE, rope: { base: 500 } }],
  ['linear', { ...BASE, rope: { scaling: { type: 'linear', factor: 3 } } }],
  ['dynamic', { ...BASE, maxPositions: 32, rope: { scaling: { type: 'dynamic', factor: 2, originalMaxPositions: 8 } } }],
  ['yarn', { ...BASE, rope: { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 8, betaFast: 16, betaSlow: 2 } } }],
  ['llama3', { ...BASE, rope: { base: 500000, scaling: { type: 'llama3', factor: 8, originalMaxPositions: 4, lowFreqFactor: 1, highFreqFactor: 4 } } }],
  ['Qwen2 q/k/v biases', { ...BASE, attentionBias: 'qkv' }],
  ['LLaMA attention_bias', { ...BASE, attentionBias: 'all' }],
  ['float64', { ...BASE, dtype: 'float64' }],
];

/** A model whose every parameter is random (no norm gain 1, no bias 0), so a lost or misplaced tensor shows. */
function randomModel(config: DecoderLMConfig, seed: number): DecoderLM {
  const model = new DecoderLM({ ...config, seed });
  const r = rng(seed);
  model.loadStateDict(new Map([...model.stateDict()].map(([name, t]): [string, Tensor] => [
    name, tensor(Array.from({ length: t.size }, () => (name.endsWith('norm.weight') ? 1 : 0) + 0.6 * (2 * r() - 1)), { shape: t.shape as number[], dtype: t.dtype }),
  ])));
  return model;
}

const noPython = pythonUnavailable(['torch', 'transformers']);
const pyIt = noPython && !IN_CI ? it.skip : it;
interface Theirs { path: string; architecture: string; logits: number[][]; greedy: number[] }

describe('savePretrained → transformers', () => {
  const models = CONFIGS.map(([label, config], i) => ({ label, model: randomModel(config, 31 * i + 7).eval(), target: join(dir, label.replace(/\W+/g, '-')) }));
  // One Python process for every directory: importing torch is most of its time.
  let theirs: Promise<Map<string, Theirs>> | undefined;
  const transformersRun = (): Promise<Map<string, Theirs>> => (theirs ??= (async () => {
    for (const { model, target } of models) await savePretrained(model, target);
    const run = spawnSync(pythonPath(), ['scripts/hf/logits.py', JSON.stringify(IDS), String(NEW), ...models.map((m) => m.target)], { encoding: 'utf8', timeout: 300_000 });
    if (run.status !== 0) throw new Error(`scripts/hf/logits.py failed:\n${run.stderr.split('\n').slice(-8).join('\n')}`);
    return new Map(run.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Theirs).map((t) => [t.path, t]));
  })());

  pyIt.each(CONFIGS.map(([label, config], i) => [label, config, i] as const))('%s: transformers loads it as the same model (logits and greedy tokens)', async (_label, config, i) => {
    if (noPython) throw new Error(noPython);
    const { model, target } = models[i];
    const theirs = (await transformersRun()).get(target)!;
    expect(theirs.architecture).toBe(config.attentionBias === 'qkv' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM');
    const ours = model.forward(tensor([IDS], { dtype: 'int32' })).logits.data() as Float32Array;
    let worst = 0;
    theirs.logits.flat().forEach((w, i) => { worst = Math.max(worst, Math.abs(ours[i] - w) / (2e-4 + 2e-4 * Math.abs(w))); });
    expect(worst, 'largest error in units of the tolerance').toBeLessThan(1);
    const gen = await TextGenerator.create(model, { backend: referenceBackend });
    expect((await gen.generate(IDS, { maxNewTokens: NEW })).tokens).toEqual(theirs.greedy);
  }, 180_000);

  pyIt('the PyTorch recipe of docs/huggingface.md continues a saved directory, and its result loads back', async () => {
    if (noPython) throw new Error(noPython);
    const recipe = /```python\n([\s\S]*?)```/.exec(readFileSync('docs/huggingface.md', 'utf8'))?.[1];
    expect(recipe).toBeDefined();
    const { model, tokenizer } = await loadPretrained('test/fixtures/hf/llama-gqa');
    const saved = join(dir, 'recipe');
    await savePretrained(model, saved, { tokenizer: tokenizer! });
    const script = join(dir, 'recipe.py');
    writeFileSync(script, recipe!);
    const run = spawnSync(pythonPath(), [script], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, MODEL_DIR: saved } });
    expect(run.status, run.stderr.split('\n').slice(-8).join('\n')).toBe(0);
    expect(run.stdout.match(/^step \d: loss \d+\.\d+$/gm)).toHaveLength(3);
    const back = await loadPretrained(`${saved}-continued`);
    expect(back.model.config).toEqual(model.config);
    expect(back.tokenizer).not.toBeNull();
  }, 300_000);
});
