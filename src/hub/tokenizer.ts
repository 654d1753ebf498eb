/**
 * A Hugging Face `tokenizer.json` as a tokenizer with the interface the
 * data helpers and TextGenerator use (`encode(text) → Int32Array`,
 * `decode(ids) → string`), through `@huggingface/tokenizers` (pure JS, an
 * optional peer dependency, loaded only when a tokenizer is asked for).
 */
import { fail, show } from '../core/errors.js';

import type { EncodeOptions, TextTokenizer } from '../core/tokenizer.js';

export type { TextTokenizer } from '../core/tokenizer.js';

interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  token_to_id(token: string): number | undefined;
}

export type { EncodeOptions } from '../core/tokenizer.js';

/** A tokenizer loaded from `tokenizer.json` (and `tokenizer_config.json`), as transformers and transformers.js read it. */
export class PretrainedTokenizer implements TextTokenizer {
  /** Ids in the vocabulary, added tokens included. */
  readonly vocabSize: number;
  /** The beginning- and end-of-sequence ids, when the tokenizer names them. */
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;

  private constructor(private readonly inner: HfTokenizer, readonly json: unknown, readonly config: Record<string, unknown>) {
    if (typeof (inner as Partial<HfTokenizer> | null)?.get_vocab !== 'function' || typeof config !== 'object' || config === null) {
      fail('PretrainedTokenizer', `expected to be made by PretrainedTokenizer.fromJson(json, config), got new PretrainedTokenizer(${show(inner)}, ...)`);
    }
    // A loop, not Math.max(...ids): a spread of LLaMA 3's 128k ids overflows the call stack.
    let top = -1;
    for (const id of inner.get_vocab(true).values()) if (id > top) top = id;
    this.vocabSize = top + 1;
    const id = (field: string): number | undefined => {
      const v = config[field];
      const token = typeof v === 'string' ? v : (v as { content?: unknown } | null)?.content;
      return typeof token === 'string' ? inner.token_to_id(token) : undefined;
    };
    this.bosTokenId = id('bos_token');
    this.eosTokenId = id('eos_token');
  }

  /**
   * Builds one from the parsed `tokenizer.json` and `tokenizer_config.json`
   * (`{}` when there is none). Needs the optional peer dependency
   * `@huggingface/tokenizers`.
   */
  static async fromJson(json: unknown, config: unknown = {}, site = 'PretrainedTokenizer'): Promise<PretrainedTokenizer> {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(site, `tokenizer.json expected a JSON object, got ${show(json)}`);
    if (typeof config !== 'object' || config === null || Array.isArray(config)) fail(site, `tokenizer_config.json expected a JSON object, got ${show(config)}`);
    let Tokenizer: new (json: object, config: object) => HfTokenizer;
    try {
      ({ Tokenizer } = await import('@huggingface/tokenizers') as unknown as { Tokenizer: typeof Tokenizer });
    } catch (e) {
      return fail(site, `expected the package @huggingface/tokenizers to read tokenizer.json (npm install @huggingface/tokenizers), got ${e instanceof Error ? e.message : String(e)}`);
    }
    let inner: HfTokenizer;
    try {
      inner = new Tokenizer(json, config);
    } catch (e) {
      return fail(site, `tokenizer.json expected a tokenizer @huggingface/tokenizers reads, got an error: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new PretrainedTokenizer(inner, json, config as Record<string, unknown>);
  }

  /** The ids of `text`, as int32. */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') fail('PretrainedTokenizer.encode', `text expected a string, got ${show(text)}`);
    const add = options?.addSpecialTokens ?? false;
    if (typeof add !== 'boolean') fail('PretrainedTokenizer.encode', `addSpecialTokens expected true or false, got ${show(add)}`);
    return Int32Array.from(this.inner.encode(text, { add_special_tokens: add }).ids);
  }

  /**
   * The text of `ids` (special tokens kept). Ids the tokenizer has no token
   * for (a model vocabulary padded past the tokenizer's) decode to nothing,
   * as Hugging Face tokenizers decode them.
   */
  decode(ids: ArrayLike<number>): string {
    const list = typeof ids === 'object' && ids !== null && Number.isSafeInteger(ids.length) ? Array.from(ids, Number) : null;
    const bad = list?.findIndex((v) => !Number.isInteger(v) || v < 0);
    if (list === null || bad === undefined || bad >= 0) fail('PretrainedTokenizer.decode', `ids expected an array of non-negative integers, got ${show(list === null ? ids : list[bad!])}`);
    return this.inner.decode(list.filter((v) => v < this.vocabSize));
  }
}
