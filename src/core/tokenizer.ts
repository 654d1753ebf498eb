/** What llm-tricks needs of a tokenizer: text to ids and back. `ByteTokenizer` is one; so is `PretrainedTokenizer` (a Hugging Face tokenizer.json). */
export interface TextTokenizer {
  encode(text: string): Int32Array | readonly number[];
  decode(ids: ArrayLike<number>): string;
}

/** Whether `x` has a tokenizer's encode and decode. */
export function isTextTokenizer(x: unknown): x is TextTokenizer {
  return typeof (x as TextTokenizer | null)?.encode === 'function' && typeof (x as TextTokenizer | null)?.decode === 'function';
}
