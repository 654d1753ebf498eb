/**
 * Every program in examples/ runs as a user would run it (`npx tsx
 * examples/<name>.ts` against the built package) and exits cleanly; the
 * gradient example's two routes to dL/dW print the same numbers; the
 * composed model generates through TextGenerator what its hand-written
 * cached loop generates; the
 * training example (as a smoke run) lowers its held-out loss, writes a
 * checkpoint, resumes from it, and prints a generated sample.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'));
const scratch = mkdtempSync(join(tmpdir(), 'llm-tricks-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Arguments that make the long-running examples a smoke run (their full runs take minutes).
const ARGS: Readonly<Record<string, readonly string[]>> = {
  'train-char-lm.ts': ['--quick', '--steps', '12', '--checkpoint', join(scratch, 'char-lm.safetensors')],
  'finetune-pretrained.ts': ['--model', 'test/fixtures/hf/llama-gqa', '--out', join(scratch, 'finetuned'), '--steps', '12', '--length', '16', '--batch', '4'],
};

function run(file: string, extra: readonly string[] = []): string {
  const r = spawnSync(tsx, [join('examples', file), ...(ARGS[file] ?? []), ...extra], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr, `${file} wrote to stderr`).toBe('');
  expect(r.status, `${file} exited with ${r.status}`).toBe(0);
  return r.stdout;
}

describe('examples', () => {
  it('has at least one example', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples)('%s runs to completion', (file) => {
    expect(run(file).length).toBeGreaterThan(0);
  });

  it('gradient.ts: the eager and the graph gradient agree', () => {
    const out = run('gradient.ts').replace(/\s+/g, ' ');
    const eager = /dL\/dW \(eager\): (\[.*?\] \])/.exec(out)?.[1];
    const graph = /dL\/dW \(graph\): (\[.*?\] \])/.exec(out)?.[1];
    expect(eager).toBeDefined();
    expect(graph).toBe(eager);
  });

  it('compose-custom-model.ts: TextGenerator generates from the composed model what the hand-written cached loop does', () => {
    expect(run('compose-custom-model.ts')).toMatch(/TextGenerator after 'abca': ".+" \(the same tokens\)/);
  });

  it('finetune-pretrained.ts: fine-tunes a Hugging Face fixture, saves a directory that loads back, and exports for transformers.js', async () => {
    const out = run('finetune-pretrained.ts');
    const held = [...out.matchAll(/held-out (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(held.at(-1)!).toBeLessThan(held[0]);
    expect(out).toMatch(/sample: The state of the Union/);
    expect(readdirSync(join(scratch, 'finetuned')).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'transformers-js']);
    expect(readdirSync(join(scratch, 'finetuned', 'transformers-js', 'onnx'))).toEqual(['model.onnx']);
    const { loadPretrained } = await import('../../src/node.js');
    const { model } = await loadPretrained(join(scratch, 'finetuned'));
    const { model: before } = await loadPretrained('test/fixtures/hf/llama-gqa');
    // Fine-tuned: the same shape, other weights.
    expect(model.config).toEqual(before.config);
    expect(Array.from(model.stateDict().get('lm_head.weight')!.data() as Float32Array)).not.toEqual(Array.from(before.stateDict().get('lm_head.weight')!.data() as Float32Array));
  });

  it('train-char-lm.ts: learns, checkpoints, resumes and generates', () => {
    const out = run('train-char-lm.ts');
    const held = [...out.matchAll(/held-out (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(held.at(-1)!).toBeLessThan(held[0]);
    expect(out).toMatch(/checkpoint: .*char-lm\.safetensors/);
    expect(out).toMatch(/Mr\. Speaker, the state of our Union is./);
    const resumed = run('train-char-lm.ts', ['--resume', '--steps', '14']);
    expect(resumed).toMatch(/resumed from .*char-lm\.safetensors at step 12/);
    expect(resumed).toMatch(/step 14\/14/);
  });
});
