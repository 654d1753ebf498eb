import { describe, isFloat, type FloatDType } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import type { Tensor } from '../trace/tensor.js';
import { Module, type ForwardContext } from './module.js';
import type { KvCache } from './multi-query-attention.js';

// B batch, T new tokens, P cached tokens, K kv heads, D head dim, V vocabulary.

/** Per-call inputs of a {@link LanguageModel}'s forward. */
export interface LanguageModelCall {
  /**
   * Positions (T) int32 of the new tokens: always P..P+T-1 after a cache of
   * P. The default; pass them only where P is symbolic (a traced decoding
   * step). A DecoderLM with rotary, learned or no positions also takes per-row
   * positions (B, T), as transformers' position_ids for left-padded batches.
   */
  positions?: Tensor;
  /**
   * (B, P+T): 0 masks out a cached or new token for its row (padding), as
   * transformers' attention_mask. DecoderLM honours it; a model that
   * ignores it cannot be exported for transformers.js.
   */
  attentionMask?: Tensor;
  /** One cache per layer, as returned by an earlier call. */
  cache?: readonly KvCache[];
  ctx?: ForwardContext;
  /**
   * True: the logits of the last new token only, (B, 1, V): all that
   * picking the next token needs, without a prompt's T × V logits (400 MB
   * for 2048 tokens of a 50K vocabulary in float32). A TextGenerator asks
   * for this; a model may ignore it and return (B, T, V), whose last row is
   * read (a model that checks the keys of its call must let this one
   * through). Default false.
   */
  lastLogitsOnly?: boolean;
}

/** What one layer caches: keys and values of shape (B, K, P, D) each, in `dtype`. */
export interface CacheSlot {
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dtype: FloatDType;
}

/**
 * A decoder-only language model: token ids in, next-token logits and an
 * extended KV cache out. {@link DecoderLM} is one; a model composed from the
 * blocks is another once it has these four members (docs/decoder-lm.md
 * shows one). The Trainer's default loss, `TextGenerator` and the ONNX
 * export take any LanguageModel.
 */
export interface LanguageModel extends Module {
  /** V: the logits are (B, T, V) and token ids lie in [0, V). */
  readonly vocab: number;
  /** The longest sequence (cached plus new tokens) the model accepts. */
  readonly maxPositions: number;
  /** One entry per layer, in the order of the caches `forward` takes and returns. */
  readonly cacheLayout: readonly CacheSlot[];
  /** Logits (B, T, V) (or (B, 1, V) with lastLogitsOnly) for ids (B, T) int32 or int64, and the caches extended by these tokens. */
  forward(ids: Tensor, call?: LanguageModelCall): { logits: Tensor; cache: KvCache[] };
}

const positiveInteger = (n: unknown): boolean => Number.isInteger(n) && (n as number) > 0;

/**
 * Checks that `model` is a {@link LanguageModel} and returns it, or throws an
 * LlmTricksError at `where` naming the first member that is missing or wrong.
 */
export function expectLanguageModel(site: string, model: unknown): LanguageModel {
  const expected = 'a LanguageModel (a Module with vocab, maxPositions, cacheLayout and forward(ids, { positions, cache }), e.g. a DecoderLM)';
  if (!(model instanceof Module)) fail(site, `model expected ${expected}, got ${describe(model)}`);
  const m = model as { forward?: unknown; vocab?: unknown; maxPositions?: unknown; cacheLayout?: unknown };
  const wrong = (member: string, got: unknown): never => fail(site, `model expected ${expected}; its ${member} is ${show(got)}`);
  if (typeof m.forward !== 'function') wrong('forward', m.forward);
  if (!positiveInteger(m.vocab)) wrong('vocab', m.vocab);
  if (!positiveInteger(m.maxPositions)) wrong('maxPositions', m.maxPositions);
  const layout = m.cacheLayout;
  if (!Array.isArray(layout) || layout.length === 0) wrong('cacheLayout', layout);
  for (const [i, slot] of (layout as readonly CacheSlot[]).entries()) {
    if (!positiveInteger(slot?.kvHeads) || !positiveInteger(slot?.headDim) || !isFloat(slot?.dtype as FloatDType)) wrong(`cacheLayout[${i}] (expected { kvHeads, headDim, dtype })`, slot);
  }
  return model as LanguageModel;
}
