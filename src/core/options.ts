/** Options objects: every key a function takes is listed once, and any other key is an error. */
import { fail, show } from './errors.js';

/**
 * The option names of `T`, written as `{ name: true, ... }` so the compiler
 * checks the list against T's keys: an option added to T and not here (or
 * a name here that T lacks) is a type error.
 */
export function optionKeys<T extends object>(keys: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

// Names other libraries give options that exist here under another name.
const ALIASES: Readonly<Record<string, string>> = {
  theta: 'base', rope_theta: 'base', epsilon: 'eps', rms_norm_eps: 'eps', layer_norm_eps: 'eps', rate: 'p',
  weight_decay: 'weightDecay', ignore_index: 'ignoreIndex', max_position_embeddings: 'maxPositions',
  threads: 'intraOpNumThreads', num_threads: 'intraOpNumThreads', vocab_size: 'vocab', hidden_size: 'dim',
  num_hidden_layers: 'layers', num_attention_heads: 'heads', num_key_value_heads: 'kvHeads', intermediate_size: 'hidden',
  tie_word_embeddings: 'tiedEmbeddings', head_dim: 'headDim',
};

const plain = (name: string): string => name.toLowerCase().replace(/_/g, '');

/** A "did you mean" for an unknown name: an alias, or a known name spelt with other case or underscores. */
function hint(name: string, known: readonly string[]): string {
  const alias = ALIASES[name];
  const match = alias !== undefined && known.includes(alias) ? alias : known.find((k) => plain(k) === plain(name));
  return match === undefined ? '' : ` (did you mean '${match}'?)`;
}

/**
 * Checks an options argument: absent (undefined or null, which mean the
 * defaults), or an object whose keys are all in `known`. A misspelt or
 * foreign option (`epsilon` for `eps`, `theta` for `base`) is an
 * LlmTricksError, never silently ignored.
 */
export function checkOptions(site: string, options: unknown, known: readonly string[], what = 'options'): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail(site, `${what} expected an object of ${known.join(', ')}, got ${show(options)}`);
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) fail(site, `${what} expected only ${known.join(', ')}, got unknown ${unknown.map((k) => `'${k}'${hint(k, known)}`).join(', ')}`);
}
