/**
 * Hugging Face model directories ↔ {@link DecoderLM}, from files held in
 * memory (browsers, tests, anything that fetched them): `config.json`, the
 * weights (`model.safetensors`, or shards named by
 * `model.safetensors.index.json`), `generation_config.json`, and the
 * tokenizer files. `llm-tricks/node` reads and writes directories with the
 * same code.
 */
import { fail, LlmTricksError, show } from '../core/errors.js';
import { checkOptions, optionKeys } from '../core/options.js';
import { DecoderLM, type DecoderLMConfig } from '../nn/decoder-lm.js';
import { cast } from '../trace/ops/elementwise.js';
import type { Tensor } from '../trace/tensor.js';
import { decodeSafetensors, encodeSafetensors, readSafetensorsHeader, type Safetensors, type SafetensorsEntry } from '../train/safetensors.js';
import { decoderConfigFromHf, decoderConfigToHf, type HfConfig, type HfConfigOptions } from './hf-config.js';
import { PretrainedTokenizer } from './tokenizer.js';

/** A model directory's files by name: JSON files as text, safetensors as bytes. */
export type PretrainedFiles = Readonly<Record<string, string | Uint8Array>>;

/** Options of {@link fromPretrainedFiles} and `loadPretrained`. */
export interface PretrainedOptions extends HfConfigOptions {
  /** The model's float type (default float32; 16-bit files are widened to it). */
  dtype?: 'float32' | 'float64';
  /** Load `tokenizer.json` when there is one (default true; needs `@huggingface/tokenizers`). */
  tokenizer?: boolean;
  /** Build the model with dropout layers (no parameters; the Trainer sets their rate), to fine-tune with dropout (default false). */
  dropout?: boolean;
}

/** What a model directory holds. */
export interface Pretrained {
  readonly model: DecoderLM;
  /** The parsed `config.json`, as written. */
  readonly config: HfConfig;
  /** The parsed `generation_config.json`, or null. */
  readonly generationConfig: HfConfig | null;
  /** The tokenizer, when the directory has `tokenizer.json` and it was asked for; else null. */
  readonly tokenizer: PretrainedTokenizer | null;
  /** What was converted on the way in, e.g. "model.safetensors: bfloat16 widened to float32 (exact)". */
  readonly notes: readonly string[];
}

/** Checks the options of loading before any file is read. */
export function checkPretrainedOptions(site: string, options: PretrainedOptions): void {
  checkOptions(site, options, optionKeys<PretrainedOptions>({ dtype: true, tokenizer: true, maxPositions: true, ignoreFields: true, dropout: true }));
  if (options?.dropout !== undefined && typeof options.dropout !== 'boolean') fail(site, `dropout expected true or false, got ${show(options.dropout)}`);
  if (options?.tokenizer !== undefined && typeof options.tokenizer !== 'boolean') fail(site, `tokenizer expected true or false, got ${show(options.tokenizer)}`);
  const dtype = options?.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') fail(site, `dtype expected 'float32' or 'float64', got ${show(dtype)}`);
}

/** The weight files of a directory in order, and which file each tensor must come from (sharded). */
export function weightFiles(site: string, has: (name: string) => boolean, readText: (name: string) => string): { files: string[]; owner: Map<string, string> | null } {
  if (has('model.safetensors')) return { files: ['model.safetensors'], owner: null };
  const indexName = 'model.safetensors.index.json';
  if (!has(indexName)) {
    const other = ['pytorch_model.bin', 'model.bin', 'tf_model.h5', 'flax_model.msgpack'].find(has);
    fail(site, `expected model.safetensors or ${indexName}, got ${other ? `only ${other} (convert it to safetensors first)` : 'neither'}`);
  }
  const index = parseJson(site, indexName, readText(indexName));
  const map = (index as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) fail(site, `${indexName} expected a weight_map object, got ${show(map)}`);
  const owner = new Map<string, string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file) || file.startsWith('.')) fail(site, `${indexName} weight_map['${tensor}'] expected a .safetensors file name in the directory, got ${show(file)}`);
    owner.set(tensor, file);
  }
  const files = [...new Set(owner.values())].sort();
  const missing = files.find((f) => !has(f));
  if (missing) fail(site, `${indexName} names the shard ${missing}, which is missing`);
  return { files, owner };
}

/** Parses a JSON file, naming it when it is not JSON. */
export function parseJson(site: string, name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(site, `${name} expected JSON, got ${e instanceof Error ? e.message : String(e)}`);
  }
}

// Tensors a checkpoint may hold that are not parameters of the model (transformers recomputes them).
const BUFFERS = /\.rotary_emb\.inv_freq$/;

/** One decoded weight file, and the 16-bit format it stored (widened on decoding), if any. */
export interface WeightFile {
  readonly weights: Safetensors;
  readonly half: string | undefined;
}

/**
 * Reads and checks config.json (and the options) before any weight is
 * read: a refused config costs nothing.
 */
export function configOf(site: string, text: (n: string) => string, options: PretrainedOptions): { json: HfConfig; config: DecoderLMConfig } {
  const json = parseJson(site, 'config.json', text('config.json')) as HfConfig;
  const { maxPositions, ignoreFields } = options ?? {};
  return { json, config: decoderConfigFromHf(json, { ...(maxPositions === undefined ? {} : { maxPositions }), ...(ignoreFields === undefined ? {} : { ignoreFields }) }, site) };
}

/**
 * Builds the model of `config` and loads the weights of `shards`
 * (file name → decoded file): every parameter must be there once,
 * with its shape; 16-bit and float64 tensors are converted to the model's
 * dtype (noted); tensors the model has no place for are an error.
 */
export function modelFromWeights(site: string, config: DecoderLMConfig, shards: ReadonlyMap<string, WeightFile>, owner: Map<string, string> | null, options: PretrainedOptions): { model: DecoderLM; notes: string[] } {
  const dtype = options?.dtype ?? 'float32';
  let model: DecoderLM;
  try {
    model = new DecoderLM({ ...config, dtype, dropout: options?.dropout ?? false });
  } catch (e) {
    // A value the mapping passed but a block refuses (a rope factor below 1, say): say it comes from config.json.
    if (e instanceof LlmTricksError) fail(site, `config.json describes a model llm-tricks cannot build: ${e.message}`);
    throw e;
  }
  const wanted = model.stateDict();
  const found = new Map<string, Tensor>();
  const notes: string[] = [];
  for (const [file, { weights: { tensors }, half }] of shards) {
    const stored = new Set<string>();
    for (const [name, t] of tensors) {
      if (owner && owner.get(name) !== file) fail(site, `${file} holds '${name}', which model.safetensors.index.json ${owner.has(name) ? `puts in ${owner.get(name)}` : 'does not list'}`);
      if (found.has(name)) fail(site, `'${name}' expected once, got it in two files`);
      if (BUFFERS.test(name) || (config.tiedEmbeddings && name === 'lm_head.weight')) continue;
      const want = wanted.get(name);
      if (!want) fail(site, `${file} holds '${name}', which a ${config.attentionBias === 'none' ? '' : `${config.attentionBias}-bias `}LLaMA model of this config has no place for`);
      if (t.dtype !== 'float32' && t.dtype !== 'float64') fail(site, `${file} '${name}' expected a float tensor, got ${t.dtype}`);
      if (t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i])) {
        fail(site, `${file} '${name}' expected shape [${want.shape.join(', ')}] (from config.json), got [${t.shape.join(', ')}]`);
      }
      found.set(name, t.dtype === dtype ? t : cast(t, dtype));
      stored.add(t.dtype);
    }
    if (half) notes.push(`${file}: ${half} widened to ${dtype} (exact)`);
    else if (stored.has('float64') && dtype === 'float32') notes.push(`${file}: float64 rounded to float32`);
  }
  const missing = [...wanted.keys()].filter((n) => !found.has(n));
  if (missing.length) fail(site, `the weights lack ${missing.length} of the model's tensors, e.g. '${missing[0]}'`);
  model.loadStateDict(found);
  return { model, notes };
}

/**
 * A model directory held in memory: a {@link DecoderLM} with the weights of
 * a Hugging Face LLaMA-family checkpoint, its configs and tokenizer.
 *
 * @example
 * ```ts
 * import { fromPretrainedFiles } from 'llm-tricks';
 *
 * // files from fetch(), a file input, or a test: config.json as text, weights as bytes
 * async function load(files: Record<string, string | Uint8Array>) {
 *   const { model, tokenizer } = await fromPretrainedFiles(files);
 *   return { model, tokenizer };
 * }
 * typeof load; // 'function'
 * ```
 */
export async function fromPretrainedFiles(files: PretrainedFiles, options: PretrainedOptions = {}): Promise<Pretrained> {
  const site = 'fromPretrainedFiles';
  if (typeof files !== 'object' || files === null || Array.isArray(files)) fail(site, `files expected an object of file name -> text or bytes, got ${show(files)}`);
  checkPretrainedOptions(site, options);
  const has = (name: string): boolean => Object.hasOwn(files, name);
  const text = (name: string): string => {
    const v = files[name];
    return typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : fail(site, `files['${name}'] expected text or bytes, got ${show(v)}`);
  };
  if (!has('config.json')) fail(site, `files expected config.json, got ${show(Object.keys(files))}`);
  const config = configOf(site, text, options);
  const { files: names, owner } = weightFiles(site, has, text);
  const shards = new Map<string, WeightFile>();
  for (const name of names) {
    const bytes = files[name];
    if (!(bytes instanceof Uint8Array)) fail(site, `files['${name}'] expected bytes (a Uint8Array), got ${show(bytes)}`);
    shards.set(name, { weights: decodeSafetensors(bytes, site, name), half: halfFormat(readSafetensorsHeader(site, bytes, bytes.length, name).entries) });
  }
  return assemble(site, has, text, config, shards, owner, options);
}

/** The 16-bit float format a safetensors file stores, if any (from its header). */
export function halfFormat(entries: readonly SafetensorsEntry[]): string | undefined {
  const codes = new Set(entries.map((e) => e.half).filter((h) => h !== undefined));
  return codes.size ? [...codes].map((c) => (c === 'BF16' ? 'bfloat16' : 'float16')).join(' and ') : undefined;
}

/** The rest of loading, shared by memory and directory: model, configs, tokenizer. */
export async function assemble(site: string, has: (n: string) => boolean, text: (n: string) => string, { json: config, config: decoder }: { json: HfConfig; config: DecoderLMConfig }, shards: ReadonlyMap<string, WeightFile>, owner: Map<string, string> | null, options: PretrainedOptions): Promise<Pretrained> {
  const { model, notes } = modelFromWeights(site, decoder, shards, owner, options);
  const generationConfig = has('generation_config.json') ? parseJson(site, 'generation_config.json', text('generation_config.json')) as HfConfig : null;
  const wantTokenizer = options?.tokenizer ?? true;
  const tokenizer = wantTokenizer && has('tokenizer.json')
    ? await PretrainedTokenizer.fromJson(parseJson(site, 'tokenizer.json', text('tokenizer.json')), has('tokenizer_config.json') ? parseJson(site, 'tokenizer_config.json', text('tokenizer_config.json')) : {}, site)
    : null;
  if (tokenizer && tokenizer.vocabSize > model.config.vocab) {
    notes.push(`tokenizer.json has ${tokenizer.vocabSize} ids but the model's vocabulary is ${model.config.vocab}: ids from ${model.config.vocab} on cannot be fed to the model`);
  }
  return { model, config, generationConfig, tokenizer, notes };
}

/** Options of {@link toPretrainedFiles} and `savePretrained`. */
export interface SavePretrainedOptions {
  /** A tokenizer to save beside the model (its tokenizer.json and tokenizer_config.json). */
  tokenizer?: PretrainedTokenizer;
  /** `generation_config.json` fields (default: bos and eos from the tokenizer, when it names them). */
  generationConfig?: HfConfig;
}

/**
 * The files of a Hugging Face directory that `LlamaForCausalLM.from_pretrained`
 * (or `Qwen2ForCausalLM`'s, for q/k/v biases) loads as the same model:
 * config.json, model.safetensors (the model's dtype, names as transformers'),
 * generation_config.json, and the tokenizer's files when given one.
 */
export function toPretrainedFiles(model: DecoderLM, options: SavePretrainedOptions = {}): Record<string, string | Uint8Array> {
  return pretrainedFiles('toPretrainedFiles', model, options, true);
}

/** {@link toPretrainedFiles}, its errors naming `site`, with or without the weights file. */
export function pretrainedFiles(site: string, model: DecoderLM, options: SavePretrainedOptions, weights: boolean): Record<string, string | Uint8Array> {
  if (!(model instanceof DecoderLM)) fail(site, `model expected a DecoderLM, got ${show(model)}`);
  checkOptions(site, options, optionKeys<SavePretrainedOptions>({ tokenizer: true, generationConfig: true }));
  const { tokenizer, generationConfig } = options ?? {};
  if (generationConfig !== undefined && (typeof generationConfig !== 'object' || generationConfig === null || Array.isArray(generationConfig))) fail(site, `generationConfig expected an object, got ${show(generationConfig)}`);
  if (tokenizer !== undefined && !(tokenizer instanceof PretrainedTokenizer)) fail(site, `tokenizer expected a PretrainedTokenizer, got ${show(tokenizer)}`);
  const tokens = { bos: tokenizer?.bosTokenId, eos: tokenizer?.eosTokenId };
  const config = decoderConfigToHf(site, model.config, tokens);
  const files: Record<string, string | Uint8Array> = {
    'config.json': `${JSON.stringify(config, null, 2)}\n`,
    ...(weights ? { 'model.safetensors': encodeSafetensors(model.stateDict(), { format: 'pt' }) } : {}),
    'generation_config.json': `${JSON.stringify(generationConfig ?? {
      ...(tokens.bos === undefined ? {} : { bos_token_id: tokens.bos }), ...(tokens.eos === undefined ? {} : { eos_token_id: tokens.eos }),
    }, null, 2)}\n`,
  };
  if (tokenizer) {
    files['tokenizer.json'] = JSON.stringify(tokenizer.json);
    files['tokenizer_config.json'] = `${JSON.stringify(tokenizer.config, null, 2)}\n`;
  }
  return files;
}
