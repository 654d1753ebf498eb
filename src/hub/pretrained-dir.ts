/** Hugging Face model directories on disk (Node): {@link loadPretrained} and {@link savePretrained}. */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fail, show } from '../core/errors.js';
import { writeAtomically } from '../io/write-atomically.js';
import type { DecoderLM } from '../nn/decoder-lm.js';
import { readSafetensorsFile } from '../train/safetensors-file.js';
import { assemble, checkPretrainedOptions, configOf, halfFormat, pretrainedFiles, weightFiles, type Pretrained, type PretrainedOptions, type SavePretrainedOptions, type WeightFile } from './pretrained.js';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads a Hugging Face model directory (LlamaForCausalLM, Mistral without
 * a binding sliding window, Qwen2): `config.json`, `model.safetensors` or
 * the shards of `model.safetensors.index.json` (bfloat16 and float16 are
 * widened to float32, exactly), `generation_config.json`, and the tokenizer
 * when there is a `tokenizer.json`. A config field that would change the
 * model and that llm-tricks cannot honour is an error naming it.
 *
 * @example
 * ```ts
 * import { loadPretrained } from 'llm-tricks/node';
 *
 * async function load(dir: string) {
 *   const { model, tokenizer, notes } = await loadPretrained(dir); // e.g. a snapshot of a hub model
 *   return { model, tokenizer, notes };
 * }
 * typeof load; // 'function'
 * ```
 */
export async function loadPretrained(dir: string, options: PretrainedOptions = {}): Promise<Pretrained> {
  const site = 'loadPretrained';
  if (typeof dir !== 'string' || dir === '') fail(site, `dir expected a directory name, got ${show(dir)}`);
  checkPretrainedOptions(site, options);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(site, `dir expected a directory, got '${dir}' (${existsSync(dir) ? 'not a directory' : 'missing'})`);
  const has = (name: string): boolean => isFile(join(dir, name));
  const text = (name: string): string => readFileSync(join(dir, name), 'utf8');
  if (!has('config.json')) fail(site, `expected config.json in '${dir}', got none`);
  const config = configOf(site, text, options);
  const { files, owner } = weightFiles(site, has, text);
  const shards = new Map<string, WeightFile>();
  for (const name of files) {
    const { entries, ...weights } = readSafetensorsFile(site, join(dir, name));
    shards.set(name, { weights, half: halfFormat(entries) });
  }
  return assemble(site, has, text, config, shards, owner, options);
}

/**
 * Saves `model` as a Hugging Face directory that
 * `AutoModelForCausalLM.from_pretrained(dir)` loads as the same model
 * (config.json, model.safetensors, generation_config.json, and the
 * tokenizer's files when given). Each file is written atomically; the
 * directory is created if needed. Everything is checked before the first
 * file is written.
 */
export async function savePretrained(model: DecoderLM, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const site = 'savePretrained';
  if (typeof dir !== 'string' || dir === '') fail(site, `dir expected a directory name, got ${show(dir)}`);
  const files = pretrainedFiles(site, model, options, true);
  if (existsSync(dir) && !statSync(dir).isDirectory()) fail(site, `dir expected a directory, got '${dir}' (a file)`);
  if (isFile(join(dir, 'model.safetensors.index.json'))) {
    fail(site, `dir expected no sharded weights (transformers would mix them with model.safetensors), got model.safetensors.index.json in '${dir}'`);
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeAtomically(site, join(dir, name), typeof content === 'string' ? new TextEncoder().encode(content) : content);
}
