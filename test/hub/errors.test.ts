/**
 * A Hugging Face config or weight file that llm-tricks cannot honour is an
 * LlmTricksError naming the field or tensor, never a silently different
 * model; savePretrained checks everything before it writes a file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecoderLM, encodeSafetensors, decodeSafetensors, fromPretrainedFiles, LlmTricksError, tensor, type Tensor } from '../../src/index.js';
import { loadPretrained, savePretrained } from '../../src/node.js';

const ROOT = 'test/fixtures/hf/llama-gqa';
const base = (): Record<string, string | Uint8Array> => ({
  'config.json': readFileSync(join(ROOT, 'config.json'), 'utf8'),
  'model.safetensors': new Uint8Array(readFileSync(join(ROOT, 'model.safetensors'))),
});
const config = (): Record<string, unknown> => JSON.parse(readFileSync(join(ROOT, 'config.json'), 'utf8'));
const withConfig = (edit: (c: Record<string, unknown>) => void): Record<string, string | Uint8Array> => {
  const c = config();
  edit(c);
  return { ...base(), 'config.json': JSON.stringify(c) };
};
const withWeights = (edit: (m: Map<string, Tensor>) => void): Record<string, string | Uint8Array> => {
  const { tensors } = decodeSafetensors(base()['model.safetensors'] as Uint8Array);
  edit(tensors);
  return { ...base(), 'model.safetensors': encodeSafetensors(tensors) };
};

async function errorOf(p: Promise<unknown>): Promise<LlmTricksError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LlmTricksError);
    return e as LlmTricksError;
  }
  throw new Error('expected an error');
}

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-hub-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fromPretrainedFiles refuses what it cannot honour, naming it', () => {
  it.each<[string, () => Record<string, string | Uint8Array>, RegExp]>([
    ['an unknown model_type', () => withConfig((c) => { c.model_type = 'gpt2'; }), /config\.json 'model_type' expected 'llama', 'mistral' or 'qwen2'.*got "gpt2"/],
    ['a rope type it lacks', () => withConfig((c) => { c.rope_parameters = { rope_type: 'longrope', rope_theta: 10000 }; }), /'rope_parameters\.rope_type' expected 'default', 'linear', 'dynamic', 'yarn' or 'llama3', got "longrope"/],
    ['a rope field it does not know', () => withConfig((c) => { c.rope_parameters = { rope_type: 'linear', factor: 2, rope_theta: 10000, shift: 3 }; }), /'rope_parameters\.shift' is not a field of rope type 'linear'/],
    ['YaRN without truncation', () => withConfig((c) => { c.rope_parameters = { rope_type: 'yarn', factor: 2, rope_theta: 10000, truncate: false }; }), /'rope_parameters\.truncate' expected true/],
    ['a field that may change the math', () => withConfig((c) => { c.logit_scale = 0.5; }), /config\.json 'logit_scale' is a field llm-tricks does not know, and it may change the model \(got 0\.5\); pass ignoreFields: \['logit_scale'\]/],
    ['partial rotary', () => withConfig((c) => { c.partial_rotary_factor = 0.5; }), /'partial_rotary_factor' expected 1 \(LLaMA-family attention rotates the whole head\), got 0\.5/],
    ['an MLP bias', () => withConfig((c) => { c.mlp_bias = true; }), /'mlp_bias' expected false/],
    ['another activation', () => withConfig((c) => { c.hidden_act = 'gelu'; }), /'hidden_act' expected 'silu'/],
    ['a sliding window shorter than the context', () => withConfig((c) => { c.model_type = 'mistral'; c.architectures = ['MistralForCausalLM']; delete c.attention_bias; delete c.mlp_bias; delete c.pretraining_tp; c.sliding_window = 16; }), /'sliding_window' expected none, or at least maxPositions \(64\).*got 16; pass a maxPositions <= the window/],
    ['an architecture of another family', () => withConfig((c) => { c.architectures = ['LlamaForSequenceClassification']; }), /'architectures' expected \['LlamaForCausalLM'\]/],
    ['a missing tensor', () => withWeights((m) => m.delete('model.norm.weight')), /the weights lack 1 of the model's tensors, e\.g\. 'model\.norm\.weight'/],
    ['an extra tensor', () => withWeights((m) => m.set('model.layers.0.self_attn.q_proj.bias', tensor(new Float32Array(32)))), /model\.safetensors holds 'model\.layers\.0\.self_attn\.q_proj\.bias', which a LLaMA model of this config has no place for/],
    ['a tensor of the wrong shape', () => withWeights((m) => m.set('model.norm.weight', tensor(new Float32Array(31)))), /model\.safetensors 'model\.norm\.weight' expected shape \[32\] \(from config\.json\), got \[31\]/],
    ['weights only as pytorch_model.bin', () => ({ 'config.json': base()['config.json'], 'pytorch_model.bin': new Uint8Array(4) }), /expected model\.safetensors or model\.safetensors\.index\.json, got only pytorch_model\.bin \(convert it to safetensors first\)/],
    ['a truncated weight file', () => ({ ...base(), 'model.safetensors': (base()['model.safetensors'] as Uint8Array).subarray(0, 1000) }), /'model\.safetensors' is not a valid safetensors file/],
    ['config.json that is not JSON', () => ({ ...base(), 'config.json': '{"model_type": ' }), /config\.json expected JSON/],
    ['multimodal rope (use_mrope)', () => withConfig((c) => { c.use_mrope = true; }), /config\.json 'use_mrope' expected false/],
    ['interleaved rope', () => withConfig((c) => { c.rope_interleaved = true; }), /config\.json 'rope_interleaved' expected false/],
    ['Mistral without a sliding_window key (transformers: 4096)', () => withConfig((c) => {
      c.model_type = 'mistral'; c.architectures = ['MistralForCausalLM']; delete c.attention_bias; delete c.mlp_bias; delete c.pretraining_tp; c.max_position_embeddings = 8192;
    }), /'sliding_window' expected none, or at least maxPositions \(8192\).*got 4096/],
    ['a YaRN beta that is not a number', () => withConfig((c) => { c.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 10000, beta_fast: 'x' }; }), /'rope_parameters\.beta_fast' expected a number > 0, got "x"/],
    ['a negative YaRN attention_factor', () => withConfig((c) => { c.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 10000, attention_factor: -1 }; }), /'rope_parameters\.attention_factor' expected a number > 0, got -1/],
    ['kv heads that do not divide the heads', () => withConfig((c) => { c.num_key_value_heads = 3; }), /'num_key_value_heads' \(3\) expected to divide num_attention_heads \(4\)/],
    ['a rope factor below 1', () => withConfig((c) => { c.rope_parameters = { rope_type: 'linear', factor: 0.5, rope_theta: 10000 }; }), /config\.json describes a model llm-tricks cannot build: RotaryEmbedding: scaling\.factor expected a number >= 1, got 0\.5/],
    ['a bad config with broken weights: the config is named, before the weights are read', () => ({ ...withConfig((c) => { c.model_type = 'gpt2'; }), 'model.safetensors': new Uint8Array(3) }), /'model_type' expected/],
  ])('%s', async (_label, files, message) => {
    const e = await errorOf(fromPretrainedFiles(files()));
    expect(e.where).toBe('fromPretrainedFiles');
    expect(e.message).toMatch(message);
  });

  it('accepts the harmless fields real hub files carry, and reads rope_scaling before rope_parameters as transformers does', async () => {
    const { model } = await fromPretrainedFiles(withConfig((c) => {
      Object.assign(c, { use_mrope: false, rope_interleaved: false, is_llama_config: true, _attn_implementation_autoset: true, 'transformers.js_config': { dtype: 'q4' } });
      c.rope_scaling = { rope_type: 'linear', factor: 4 };
    }));
    expect(model.config.rope?.scaling).toEqual({ type: 'linear', factor: 4 });
    expect(model.config.rope?.base).toBe(10000);
    // Qwen2 with use_sliding_window but no layer past max_window_layers: every layer is full attention.
    const qwen = await fromPretrainedFiles({
      ...base(), 'model.safetensors': readFileSync('test/fixtures/hf/qwen2-bias/model.safetensors'),
      'config.json': JSON.stringify({ ...JSON.parse(readFileSync('test/fixtures/hf/qwen2-bias/config.json', 'utf8')), use_sliding_window: true, sliding_window: 8, max_window_layers: 2, layer_types: undefined }),
    });
    expect(qwen.model.config.attentionBias).toBe('qkv');
  });

  it('ignoreFields lets a vouched-for field through; dynamic scaling reaches factor × max_position_embeddings', async () => {
    const { model } = await fromPretrainedFiles(withConfig((c) => { c.logit_scale = 0.5; }), { ignoreFields: ['logit_scale'] });
    expect(model.config.vocab).toBe(96);
    const dynamic = await fromPretrainedFiles(withConfig((c) => { c.rope_parameters = { rope_type: 'dynamic', factor: 4, rope_theta: 10000 }; }));
    expect(dynamic.model.config.maxPositions).toBe(256);
    expect(dynamic.model.config.rope?.scaling).toEqual({ type: 'dynamic', factor: 4, originalMaxPositions: 64 });
  });

  it('loadPretrained names a missing directory and a directory without config.json', async () => {
    expect((await errorOf(loadPretrained(join(dir, 'nope')))).message).toMatch(/dir expected a directory, got '.*nope' \(missing\)/);
    expect((await errorOf(loadPretrained(dir))).message).toMatch(/expected config\.json in/);
  });
});

describe('savePretrained', () => {
  it('refuses a model transformers would read differently, and writes nothing', async () => {
    const target = join(dir, 'refused');
    for (const [model, message] of [
      [new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, position: 'alibi' }), /model expected position 'rope' \(LLaMA's\), got 'alibi'/],
      [new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, rope: { layout: 'interleaved' } }), /rope layout 'half'/],
      [new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, rope: { scaling: { type: 'ntk', factor: 2 } } }), /got 'ntk'/],
      [new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, norm: 'layer' }), /norm 'rms'/],
      [new DecoderLM({ vocab: 16, dim: 16, layers: 1, heads: 2, rope: { rotaryDim: 4 } }), /expected rope over the whole head \(rotaryDim 8, as LLaMA\), got rotaryDim 4/],
    ] as const) {
      expect((await errorOf(savePretrained(model, target))).message).toMatch(message);
    }
    expect(existsSync(target)).toBe(false);
    writeFileSync(join(dir, 'a-file'), 'x');
    expect((await errorOf(savePretrained(new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2 }), join(dir, 'a-file')))).message).toMatch(/dir expected a directory/);
  });

  it('round-trips: a saved model loads back bit for bit, its config and tokenizer too', async () => {
    const { model, tokenizer } = await loadPretrained('test/fixtures/hf/llama-gqa');
    const target = join(dir, 'round-trip');
    await savePretrained(model, target, { tokenizer: tokenizer! });
    expect(readdirSync(target).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const back = await loadPretrained(target);
    for (const [name, t] of model.stateDict()) expect(Array.from(back.model.stateDict().get(name)!.data() as Float32Array)).toEqual(Array.from(t.data() as Float32Array));
    expect(back.model.config).toEqual(model.config);
    expect(Array.from(back.tokenizer!.encode('the lazy dog'))).toEqual(Array.from(tokenizer!.encode('the lazy dog')));
    expect(JSON.parse(readFileSync(join(target, 'generation_config.json'), 'utf8'))).toEqual({ bos_token_id: 1, eos_token_id: 2 });
  });
});
