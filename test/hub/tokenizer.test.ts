/**
 * PretrainedTokenizer: a vocabulary the size of LLaMA 3's (128k+) loads
 * (a spread of its ids overflowed the call stack); ids past the tokenizer's
 * vocabulary decode to nothing, as Hugging Face tokenizers decode them;
 * TextGenerator encodes text prompts with the special tokens (BOS), as
 * transformers' pipelines do; junk is an LlmTricksError.
 */
import { describe, expect, it } from 'vitest';
import { DecoderLM, PretrainedTokenizer, TextGenerator, type EncodeOptions } from '../../src/index.js';

function wordLevel(size: number): object {
  const vocab: Record<string, number> = { '[UNK]': 0, '<s>': 1 };
  for (let i = 2; i < size; i++) vocab[`w${i}`] = i;
  return {
    version: '1.0', truncation: null, padding: null, normalizer: null, decoder: null,
    added_tokens: [{ id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
    model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
  };
}

describe('PretrainedTokenizer', () => {
  it("loads a vocabulary of LLaMA 3's size", async () => {
    const tok = await PretrainedTokenizer.fromJson(wordLevel(200_000), { bos_token: '<s>' });
    expect(tok.vocabSize).toBe(200_000);
    expect(tok.bosTokenId).toBe(1);
    expect(Array.from(tok.encode('w5 w129999'))).toEqual([5, 129999]);
    expect(Array.from(tok.encode('w5', { addSpecialTokens: true }))).toEqual([1, 5]);
  });

  it('decodes ids past its vocabulary to nothing, and refuses junk', async () => {
    const tok = await PretrainedTokenizer.fromJson(wordLevel(10), {});
    expect(tok.decode([5, 12, 6])).toBe(tok.decode([5, 6]));
    expect(() => tok.decode([-1])).toThrow(/^PretrainedTokenizer\.decode: ids expected an array of non-negative integers, got -1/);
    expect(() => tok.encode(5 as never)).toThrow(/^PretrainedTokenizer\.encode: text expected a string/);
    await expect(PretrainedTokenizer.fromJson([] as never)).rejects.toThrow(/tokenizer\.json expected a JSON object/);
  });

  it('TextGenerator encodes a text prompt with the special tokens (BOS first)', async () => {
    const seen: (EncodeOptions | undefined)[] = [];
    const tokenizer = { encode: (text: string, options?: EncodeOptions) => { seen.push(options); return [1, ...Array.from(text, (c) => c.charCodeAt(0) % 16)]; }, decode: (ids: ArrayLike<number>) => Array.from(ids).join(',') };
    const gen = await TextGenerator.create(new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2 }), { tokenizer });
    const { text } = await gen.generate('ab', { maxNewTokens: 2 });
    expect(seen).toEqual([{ addSpecialTokens: true }]);
    expect(text).toMatch(/^\d+,\d+$/);
  });
});
