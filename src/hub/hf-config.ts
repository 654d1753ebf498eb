/**
 * Hugging Face `config.json` ↔ {@link DecoderLMConfig}, for LlamaForCausalLM
 * and the models that share its tensors and math (Mistral without a
 * sliding window that bites, Qwen2 with its q/k/v biases). Every field that
 * changes the math is either mapped or refused by name: a config is never
 * read as a silently different model.
 */
import { fail, show } from '../core/errors.js';
import { checkOptions, optionKeys } from '../core/options.js';
import type { DecoderLM, DecoderLMConfig } from '../nn/decoder-lm.js';
import type { RopeScaling } from '../nn/rotary-embedding.js';

/** A parsed `config.json`. */
export type HfConfig = Record<string, unknown>;

/** Options of reading a config. */
export interface HfConfigOptions {
  /** Longest sequence (default the config's `max_position_embeddings`; for dynamic rope scaling, that times the factor). */
  maxPositions?: number;
  /** Fields to accept without knowing them (each may change the model: you vouch that it does not). */
  ignoreFields?: readonly string[];
}

const FAMILIES = {
  llama: { architecture: 'LlamaForCausalLM', bias: 'llama', maxPositions: 2048 },
  mistral: { architecture: 'MistralForCausalLM', bias: 'none', maxPositions: 131072 },
  qwen2: { architecture: 'Qwen2ForCausalLM', bias: 'qkv', maxPositions: 32768 },
} as const;
type Family = keyof typeof FAMILIES;

// Fields every family reads into the model (below), and fields that leave the forward pass unchanged.
const MAPPED = new Set([
  'model_type', 'architectures', 'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim',
  'intermediate_size', 'hidden_act', 'rms_norm_eps', 'tie_word_embeddings', 'max_position_embeddings', 'rope_theta', 'rope_scaling',
  'rope_parameters', 'partial_rotary_factor', 'attention_bias', 'mlp_bias', 'sliding_window', 'use_sliding_window', 'max_window_layers', 'layer_types',
]);
const HARMLESS = new Set([
  // identity, bookkeeping and generation defaults
  '_name_or_path', 'transformers_version', 'dtype', 'torch_dtype', 'use_cache', 'bos_token_id', 'eos_token_id', 'pad_token_id',
  'initializer_range', 'output_attentions', 'output_hidden_states', 'return_dict', 'tokenizer_class', 'id2label', 'label2id',
  'is_decoder', 'is_encoder_decoder', 'torchscript', 'problem_type', 'task_specific_params', 'finetuning_task', 'prefix',
  'sep_token_id', 'decoder_start_token_id', 'chunk_size_feed_forward', 'add_cross_attention', 'tie_encoder_decoder', 'use_return_dict',
  // dropout only acts in training (llm-tricks trains with its own dropout layers)
  'attention_dropout',
  // a tensor-parallel split of the same products
  'pretraining_tp',
  // loading hints of other tools
  '_attn_implementation', '_attn_implementation_autoset', 'transformers.js_config', 'is_llama_config',
]);
// Fields that change the model when true: accepted only when false or absent.
const OFF = new Set(['use_mrope', 'rope_interleaved']);

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The {@link DecoderLMConfig} of a Hugging Face `config.json`, or an
 * LlmTricksError naming the first field llm-tricks cannot honour.
 */
export function decoderConfigFromHf(json: unknown, options: HfConfigOptions = {}, site = 'decoderConfigFromHf'): DecoderLMConfig {
  if (!isObject(json)) fail(site, `config.json expected a JSON object, got ${show(json)}`);
  checkOptions(site, options, optionKeys<HfConfigOptions>({ maxPositions: true, ignoreFields: true }));
  const { ignoreFields, maxPositions: wantMax } = options ?? {};
  if (ignoreFields !== undefined && !(Array.isArray(ignoreFields) && ignoreFields.every((f) => typeof f === 'string'))) {
    fail(site, `ignoreFields expected an array of field names, got ${show(ignoreFields)}`);
  }
  const at = (field: string): string => `config.json '${field}'`;
  const family = json.model_type as Family;
  if (typeof family !== 'string' || !Object.hasOwn(FAMILIES, family)) {
    fail(site, `${at('model_type')} expected 'llama', 'mistral' or 'qwen2' (the LLaMA family llm-tricks builds), got ${show(json.model_type)}`);
  }
  const known = FAMILIES[family];
  const ignore = new Set(ignoreFields ?? []);
  for (const field of Object.keys(json)) {
    if (OFF.has(field) && !ignore.has(field)) {
      if (json[field] !== false && json[field] !== null) fail(site, `${at(field)} expected false (llm-tricks builds LLaMA's attention and rotary layout), got ${show(json[field])}`);
      continue;
    }
    if (!MAPPED.has(field) && !HARMLESS.has(field) && !ignore.has(field)) {
      fail(site, `${at(field)} is a field llm-tricks does not know, and it may change the model (got ${show(json[field])}); pass ignoreFields: ['${field}'] if it does not`);
    }
  }
  const architectures = json.architectures;
  if (architectures !== undefined && !(Array.isArray(architectures) && architectures.length === 1 && architectures[0] === known.architecture)) {
    fail(site, `${at('architectures')} expected ['${known.architecture}'] for model_type '${family}', got ${show(architectures)}`);
  }
  const int = (field: string, fallback?: number): number => {
    const v = json[field] ?? fallback;
    if (!Number.isInteger(v) || (v as number) < 1) fail(site, `${at(field)} expected a positive integer, got ${show(json[field])}`);
    return v as number;
  };
  const flag = (field: string): boolean => {
    const v = json[field] ?? false;
    if (typeof v !== 'boolean') fail(site, `${at(field)} expected true or false, got ${show(v)}`);
    return v;
  };
  const dim = int('hidden_size');
  const heads = int('num_attention_heads');
  const headDim = json.head_dim === null || json.head_dim === undefined ? undefined : int('head_dim');
  if (headDim === undefined && dim % heads !== 0) fail(site, `${at('hidden_size')} (${dim}) expected a multiple of num_attention_heads (${heads}), or a head_dim`);
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) fail(site, `${at('num_key_value_heads')} (${kvHeads}) expected to divide num_attention_heads (${heads})`);
  if ((headDim ?? dim / heads) % 2 !== 0) fail(site, `${at(headDim === undefined ? 'hidden_size' : 'head_dim')} expected an even head size for rotary positions, got ${headDim ?? dim / heads}`);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') fail(site, `${at('hidden_act')} expected 'silu' (SwiGLU), got ${show(act)}`);
  if (flag('mlp_bias')) fail(site, `${at('mlp_bias')} expected false (the MLP has no biases in llm-tricks), got true`);
  const eps = json.rms_norm_eps ?? 1e-6;
  if (typeof eps !== 'number' || !(eps > 0)) fail(site, `${at('rms_norm_eps')} expected a number > 0, got ${show(eps)}`);
  const attentionBias = known.bias === 'qkv' ? 'qkv' : known.bias === 'llama' && flag('attention_bias') ? 'all' : 'none';
  const configMax = int('max_position_embeddings', known.maxPositions);
  const { rope, defaultMax } = ropeFromHf(site, json, configMax);
  const maxPositions = wantMax ?? defaultMax;
  if (!Number.isInteger(maxPositions) || maxPositions < 1) fail(site, `maxPositions expected a positive integer, got ${show(maxPositions)}`);
  checkSlidingWindow(site, json, family, maxPositions);
  return {
    vocab: int('vocab_size'), dim, layers: int('num_hidden_layers'), heads, kvHeads,
    ...(headDim === undefined ? {} : { headDim }),
    hidden: int('intermediate_size'), position: 'rope', norm: 'rms', eps, tiedEmbeddings: flag('tie_word_embeddings'),
    maxPositions, rope, attentionBias,
  };
}

/**
 * A sliding window is refused unless it covers every sequence the model
 * will see. Which layers slide, as transformers decides: Mistral's every
 * layer when `sliding_window` is set (4096 when the key is absent, its
 * default); Qwen2's from `layer_types`, else the layers from
 * `max_window_layers` on when `use_sliding_window` is true.
 */
function checkSlidingWindow(site: string, json: HfConfig, family: Family, maxPositions: number): void {
  const window = family === 'mistral' && !Object.hasOwn(json, 'sliding_window') ? 4096 : json.sliding_window;
  const layers = json.num_hidden_layers as number;
  let slides: boolean;
  if (Array.isArray(json.layer_types)) {
    if (!json.layer_types.every((t) => t === 'full_attention' || t === 'sliding_attention')) fail(site, `config.json 'layer_types' expected 'full_attention' or 'sliding_attention' entries, got ${show(json.layer_types)}`);
    slides = json.layer_types.includes('sliding_attention') && window !== null && window !== undefined;
  } else if (family === 'mistral') {
    slides = window !== null && window !== undefined;
  } else {
    const from = json.max_window_layers ?? layers;
    slides = json.use_sliding_window === true && window !== null && window !== undefined && typeof from === 'number' && from < layers;
  }
  if (!slides) return;
  if (!Number.isInteger(window) || (window as number) < maxPositions) {
    fail(site, `config.json 'sliding_window' expected none, or at least maxPositions (${maxPositions}) so that it never applies (llm-tricks attends to the whole context), got ${show(window)}; pass a maxPositions <= the window to load it`);
  }
}

/** Rope options from `rope_parameters` (transformers 5) or `rope_theta` + `rope_scaling` (older files), and the default maxPositions. */
function ropeFromHf(site: string, json: HfConfig, configMax: number): { rope: NonNullable<DecoderLMConfig['rope']>; defaultMax: number } {
  const params = json.rope_parameters;
  if (params !== undefined && params !== null && !isObject(params)) fail(site, `config.json 'rope_parameters' expected an object, got ${show(params)}`);
  const legacy = json.rope_scaling;
  if (legacy !== undefined && legacy !== null && !isObject(legacy)) fail(site, `config.json 'rope_scaling' expected an object or null, got ${show(legacy)}`);
  // transformers reads `rope_scaling or rope_parameters`: a non-empty rope_scaling wins.
  const useLegacy = isObject(legacy) && Object.keys(legacy).length > 0;
  const where = useLegacy || !isObject(params) ? 'rope_scaling' : 'rope_parameters';
  const r: Record<string, unknown> = useLegacy ? legacy : isObject(params) ? params : {};
  const field = (name: string): string => `config.json '${where}.${name}'`;
  const base = r.rope_theta ?? (isObject(params) ? params.rope_theta : undefined) ?? json.rope_theta ?? 10000;
  if (typeof base !== 'number' || !(base > 1)) fail(site, `config.json 'rope_theta' expected a number > 1, got ${show(base)}`);
  // LLaMA's attention rotates the whole head (apply_rotary_pos_emb takes no partial dims).
  const partial = r.partial_rotary_factor ?? json.partial_rotary_factor ?? 1;
  if (partial !== 1) fail(site, `config.json 'partial_rotary_factor' expected 1 (LLaMA-family attention rotates the whole head), got ${show(partial)}`);
  const type = r.rope_type ?? r.type ?? 'default';
  const num = (name: string, fallback?: number): number => {
    const v = r[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(site, `${field(name)} expected a number, got ${show(r[name])}`);
    return v;
  };
  const KNOWN: Record<string, readonly string[]> = {
    default: [],
    linear: ['factor'],
    dynamic: ['factor'],
    yarn: ['factor', 'original_max_position_embeddings', 'beta_fast', 'beta_slow', 'attention_factor', 'mscale', 'mscale_all_dim', 'truncate'],
    llama3: ['factor', 'original_max_position_embeddings', 'low_freq_factor', 'high_freq_factor'],
  };
  if (typeof type !== 'string' || !Object.hasOwn(KNOWN, type)) {
    fail(site, `${field('rope_type')} expected 'default', 'linear', 'dynamic', 'yarn' or 'llama3', got ${show(type)}`);
  }
  for (const k of Object.keys(r)) {
    if (!['rope_type', 'type', 'rope_theta', 'partial_rotary_factor', ...KNOWN[type]].includes(k)) fail(site, `${field(k)} is not a field of rope type '${type}' llm-tricks knows (got ${show(r[k])})`);
  }
  const rope = { base };
  const original = (): number => {
    const v = r.original_max_position_embeddings ?? configMax;
    if (!Number.isInteger(v) || (v as number) < 1) fail(site, `${field('original_max_position_embeddings')} expected a positive integer, got ${show(v)}`);
    return v as number;
  };
  let scaling: RopeScaling | undefined;
  let defaultMax = configMax;
  switch (type) {
    case 'default': break;
    case 'linear': scaling = { type: 'linear', factor: num('factor') }; break;
    case 'dynamic': {
      // transformers' dynamic scales past max_position_embeddings itself: that is L0, and the model reaches factor times it.
      const factor = num('factor');
      scaling = { type: 'dynamic', factor, originalMaxPositions: configMax };
      defaultMax = Math.ceil(configMax * factor);
      break;
    }
    case 'yarn': {
      const orig = original();
      const factor = r.factor === null || r.factor === undefined ? configMax / orig : num('factor');
      if (r.truncate === false) fail(site, `${field('truncate')} expected true (llm-tricks rounds YaRN's correction range), got false`);
      // Optional numbers: absent or null means the default; anything else must be a finite number > 0.
      const optional = (name: string): number | undefined => {
        const v = r[name];
        if (v === undefined || v === null) return undefined;
        if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(site, `${field(name)} expected a number > 0, got ${show(v)}`);
        return v;
      };
      const mscale = (s: number, m: number): number => (s <= 1 ? 1 : 0.1 * m * Math.log(s) + 1);
      const [m, mAll] = [optional('mscale'), optional('mscale_all_dim')];
      const attentionFactor = optional('attention_factor') ?? (m && mAll ? mscale(factor, m) / mscale(factor, mAll) : undefined);
      scaling = {
        type: 'yarn', factor, originalMaxPositions: orig,
        // transformers reads these with `or`: 0 or null means the default.
        betaFast: r.beta_fast === 0 ? 32 : optional('beta_fast') ?? 32, betaSlow: r.beta_slow === 0 ? 1 : optional('beta_slow') ?? 1,
        ...(attentionFactor === undefined || attentionFactor === null ? {} : { attentionFactor: attentionFactor as number }),
      };
      break;
    }
    case 'llama3':
      scaling = { type: 'llama3', factor: num('factor'), originalMaxPositions: original(), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor') };
      break;
  }
  return { rope: scaling ? { ...rope, scaling } : rope, defaultMax };
}

/**
 * A `config.json` that transformers reads as the same model: model_type
 * 'llama' ('qwen2' for q/k/v biases), rope written as `rope_theta` and
 * `rope_scaling` (read by transformers 4 and 5 alike).
 */
export function decoderConfigToHf(site: string, config: DecoderLM['config'], tokens: { bos?: number; eos?: number } = {}): HfConfig {
  if (config.position !== 'rope') fail(site, `model expected position 'rope' (LLaMA's), got '${config.position}'`);
  if (config.norm !== 'rms') fail(site, `model expected norm 'rms' (LLaMA's), got '${config.norm}'`);
  const rope = config.rope ?? {};
  if ((rope.layout ?? 'half') !== 'half') fail(site, `model expected rope layout 'half' (Hugging Face's), got '${rope.layout}'`);
  if (rope.rotaryDim !== undefined && rope.rotaryDim !== config.headDim) fail(site, `model expected rope over the whole head (rotaryDim ${config.headDim}, as LLaMA), got rotaryDim ${rope.rotaryDim}`);
  const s = rope.scaling;
  if (s?.type === 'ntk') fail(site, `model expected a rope scaling transformers has, got 'ntk' (static NTK has no transformers rope_type)`);
  const family = config.attentionBias === 'qkv' ? 'qwen2' : 'llama';
  let maxPositions = config.maxPositions;
  let scaling: Record<string, unknown> | null = null;
  switch (s?.type) {
    case undefined: break;
    case 'linear': scaling = { rope_type: 'linear', factor: s.factor }; break;
    case 'dynamic':
      // transformers takes L0 from max_position_embeddings.
      scaling = { rope_type: 'dynamic', factor: s.factor };
      maxPositions = s.originalMaxPositions;
      break;
    case 'yarn':
      scaling = {
        rope_type: 'yarn', factor: s.factor, original_max_position_embeddings: s.originalMaxPositions, beta_fast: s.betaFast ?? 32, beta_slow: s.betaSlow ?? 1,
        ...(s.attentionFactor === undefined ? {} : { attention_factor: s.attentionFactor }),
      };
      break;
    case 'llama3':
      scaling = {
        rope_type: 'llama3', factor: s.factor, original_max_position_embeddings: s.originalMaxPositions, low_freq_factor: s.lowFreqFactor ?? 1, high_freq_factor: s.highFreqFactor ?? 4,
      };
      break;
  }
  return {
    architectures: [FAMILIES[family].architecture], model_type: family,
    vocab_size: config.vocab, hidden_size: config.dim, num_hidden_layers: config.layers, num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads, head_dim: config.headDim, intermediate_size: config.hidden, hidden_act: 'silu',
    rms_norm_eps: config.eps, tie_word_embeddings: config.tiedEmbeddings, max_position_embeddings: maxPositions,
    rope_theta: rope.base ?? 10000, rope_scaling: scaling,
    ...(family === 'llama' ? { attention_bias: config.attentionBias === 'all', mlp_bias: false } : { use_sliding_window: false, sliding_window: null }),
    ...(tokens.bos === undefined ? {} : { bos_token_id: tokens.bos }), ...(tokens.eos === undefined ? {} : { eos_token_id: tokens.eos }),
    dtype: config.dtype, use_cache: true,
  };
}
