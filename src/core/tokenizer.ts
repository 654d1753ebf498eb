/** Options of a tokenizer's encode. */
export interface EncodeOptions {
  /** Add the tokenizer's special tokens, e.g. LLaMA's BOS (default false: plain text, as training data wants). */
  addSpecialTokens?: boolean;
}

/**
 * What llm-tricks needs of a tokenizer: text to ids and back. `ByteTokenizer`
 * is one; so is `PretrainedTokenizer` (a Hugging Face tokenizer.json).
 * TextGenerator encodes text prompts with `{ addSpecialTokens: true }` (a
 * prompt starts with BOS, as transformers' pipelines do); a tokenizer
 * without special tokens ignores it.
 */
export interface TextTokenizer {
  encode(text: string, options?: EncodeOptions): Int32Array | readonly number[];
  decode(ids: ArrayLike<number>): string;
}

/** Whether `x` has a tokenizer's encode and decode. */
export function isTextTokenizer(x: unknown): x is TextTokenizer {
  return typeof (x as TextTokenizer | null)?.encode === 'function' && typeof (x as TextTokenizer | null)?.decode === 'function';
}
