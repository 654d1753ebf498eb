/**
 * The one decoding step of any language model, traced once for both the
 * TextGenerator (which compiles it) and the ONNX export (which writes it):
 * T new tokens after a cache of P, both symbolic, give the logits and the
 * caches extended by the new tokens.
 */
import { describe } from '../core/dtype.js';
import { fail, LlmTricksError } from '../core/errors.js';
import type { Graph } from '../ir/graph.js';
import { expectLanguageModel, type LanguageModel } from '../nn/language-model.js';
import type { KvCache } from '../nn/multi-query-attention.js';
import type { Parameter } from '../nn/module.js';
import { gather } from '../trace/ops/indexing.js';
import { tensor, type Tensor } from '../trace/tensor.js';
import { trace, type InputSpec } from '../trace/trace.js';
import { sumDim } from '../core/shape.js';

// B batch, T new tokens, P cached tokens, K kv heads, D head dim, V vocabulary.

// The symbolic lengths: past (cached) and new tokens. A returned cache is their sum, as concat writes it.
const PAST = 'past_sequence';
const NEW = 'sequence';
const PAST_AND_NEW = sumDim([PAST, NEW], 0);

/** How the two users of the step differ. */
export interface DecodeStepOptions {
  /** dtype of input_ids and position_ids: int32 for the TextGenerator, int64 in exported files (the common convention). */
  readonly ids: 'int32' | 'int64';
  /**
   * 'constants' bakes the model's current parameters into the graph (the
   * TextGenerator); 'inputs' makes each one an input named as the model
   * names it, after the cache inputs (the export turns them into initializers).
   */
  readonly parameters: 'constants' | 'inputs';
  /**
   * Add the input attention_mask (B, P+T) int64 and give the model the
   * per-row position_ids, as transformers.js feeds a decoder (left-padded
   * batches). Default false: the rows share row 0's positions.
   */
  readonly attentionMask?: boolean;
  /** Ask the model for the last new token's logits only (the TextGenerator); default false: (B, T, V), as files carry them. */
  readonly lastLogitsOnly?: boolean;
}

/** The traced step and the names of its inputs and outputs. */
export interface DecodeStep {
  /**
   * Inputs: input_ids (B, T), position_ids (B, T) (P..P+T-1, the same for
   * every row), past_key_values.{i}.key / .value (B, K, P, D), then the
   * parameters when they are inputs.
   */
  readonly graph: Graph;
  /** logits (B, T, V) ((B, 1, V) where lastLogitsOnly was asked and honoured), present.{i}.key / .value (B, K, P+T, D). */
  readonly outputNames: readonly string[];
  /** The parameters in input order when they are inputs, else empty. */
  readonly parameters: readonly (readonly [string, Parameter])[];
}

/** Traces `model`'s decoding step in eval mode (dropout off); the model's mode is restored after. */
export function decodeStep(site: string, model: unknown, options: DecodeStepOptions): DecodeStep {
  const lm = expectLanguageModel(site, model);
  const layout = lm.cacheLayout;
  const named = options.parameters === 'inputs' ? lm.namedParameters() : [];
  const cacheNames = layout.flatMap((_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]);
  const masked = options.attentionMask === true;
  const specs: InputSpec[] = [
    { name: 'input_ids', shape: ['batch', NEW], dtype: options.ids },
    ...(masked ? [{ name: 'attention_mask', shape: ['batch', PAST_AND_NEW], dtype: options.ids }] : []),
    { name: 'position_ids', shape: ['batch', NEW], dtype: options.ids },
    ...layout.flatMap((slot, i) => [0, 1].map((k) => ({ name: cacheNames[2 * i + k], shape: ['batch', slot.kvHeads, PAST, slot.headDim], dtype: slot.dtype }))),
    ...named.map(([name, p]) => ({ name, shape: p.value.shape, dtype: p.value.dtype })),
  ];
  const wasTraining = lm.training;
  lm.eval();
  try {
    const graph = trace((ids, ...inputs) => {
      const attentionMask = masked ? inputs.shift() : undefined;
      const [positionIds, ...rest] = inputs;
      const cache: KvCache[] = layout.map((_, i) => ({ key: rest[2 * i], value: rest[2 * i + 1] }));
      // Per row with a mask (left padding); else (T): the rows share positions.
      const positions = masked ? positionIds : gather(positionIds, tensor(0, { dtype: 'int32' }), 0);
      const forward = (): { logits: Tensor; cache: KvCache[] } => {
        try {
          return lm.forward(ids, { positions, cache, ...(attentionMask ? { attentionMask } : {}), ...(options.lastLogitsOnly ? { lastLogitsOnly: true } : {}) });
        } catch (e) {
          // The past caches are shaped as cacheLayout says: a layout that disagrees with the model fails inside it.
          if (e instanceof LlmTricksError) fail(site, `model.forward failed on caches shaped as its cacheLayout says (check cacheLayout against the model's attention): ${e.message}`);
          throw e;
        }
      };
      const out = named.length ? lm.withParameters(rest.slice(2 * layout.length), forward) : forward();
      checkOutputs(site, lm, out, options.lastLogitsOnly === true);
      return [out.logits, ...out.cache.flatMap((c) => [c.key, c.value])];
    }, specs);
    return {
      graph,
      outputNames: ['logits', ...layout.flatMap((_, i) => [`present.${i}.key`, `present.${i}.value`])],
      parameters: named,
    };
  } finally {
    lm.train(wasTraining);
  }
}

/** Checks what the traced forward returned against the model's own members, naming the one that disagrees. */
function checkOutputs(site: string, lm: LanguageModel, out: { logits: Tensor; cache: KvCache[] } | undefined, lastOnly: boolean): void {
  const layout = lm.cacheLayout;
  if (!Array.isArray(out?.cache) || out.cache.length !== layout.length) {
    fail(site, `model.forward expected to return one cache per cacheLayout entry (${layout.length}), got ${describe(out?.cache)}`);
  }
  const logits = out.logits;
  // One row per new token, or only the last token's where it was asked for (a model may ignore that).
  const rows = logits?.shape?.[1];
  if (logits?.rank !== 3 || (typeof logits.shape[2] === 'number' && logits.shape[2] !== lm.vocab) || !(rows === NEW || (lastOnly && rows === 1))) {
    fail(site, `model.forward expected logits (B, ${lastOnly ? 'T or 1' : 'T'}, vocab = ${lm.vocab}), got ${describe(logits)}${logits?.shape ? ` of shape [${logits.shape.join(', ')}]` : ''}`);
  }
  out.cache.forEach((c, i) => {
    const { kvHeads, headDim, dtype } = layout[i];
    for (const [kind, t] of [['key', c?.key], ['value', c?.value]] as const) {
      // Each returned cache extends the past one: (B, K, P+T, D), as cacheLayout[i] says.
      if (t?.rank !== 4 || t.shape[1] !== kvHeads || t.shape[2] !== PAST_AND_NEW || t.shape[3] !== headDim || t.dtype !== dtype) {
        fail(site, `model.forward expected cache ${i} ${kind} (B, ${kvHeads}, past + new, ${headDim}) ${dtype} as cacheLayout[${i}] says, got ${t ? `${t.dtype}[${t.shape?.join(', ')}]` : describe(t)}`);
      }
    }
  });
}
