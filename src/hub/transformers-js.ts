/** A DecoderLM as a directory transformers.js loads (Node): {@link exportTransformersJs}. */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPE_INFO } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { checkOptions, optionKeys } from '../core/options.js';
import { writeAtomically } from '../io/write-atomically.js';
import { DecoderLM } from '../nn/decoder-lm.js';
import { exportOnnxAt } from '../run/export-file.js';
import { pretrainedFiles } from './pretrained.js';
import type { PretrainedTokenizer } from './tokenizer.js';

/** Options of {@link exportTransformersJs}. */
export interface TransformersJsOptions {
  /** The tokenizer to ship beside the model (its tokenizer.json and tokenizer_config.json), which transformers.js pipelines need. */
  tokenizer?: PretrainedTokenizer;
}

// One protobuf message holds at most 2 GiB, and transformers.js names external data its own way.
const MAX_INLINE = 2 ** 31 - 2 ** 24;

/**
 * Writes `model` in the Hugging Face ONNX layout that transformers.js
 * (`@huggingface/transformers`) loads as a text-generation model:
 * `config.json` and `generation_config.json` (as savePretrained writes
 * them), the tokenizer's files when given, and `onnx/model.onnx`, the
 * decoding step with the inputs transformers.js feeds a decoder —
 * `input_ids`, `attention_mask` (B, P+T), `position_ids` (B, T),
 * `past_key_values.{i}.key|value` — and outputs `logits`,
 * `present.{i}.key|value`. The attention mask really masks: a left-padded
 * batch gives each row its own logits. The ONNX model names its producer
 * and carries the config as metadata (`llm_tricks.config`,
 * `huggingface.config`). Weights stay inside the file (models up to 2 GiB).
 *
 * @example
 * ```ts
 * import { DecoderLM } from 'llm-tricks';
 * import { exportTransformersJs } from 'llm-tricks/node';
 *
 * const model = new DecoderLM({ vocab: 64, dim: 16, layers: 1, heads: 2 });
 * const write = (dir: string) => exportTransformersJs(model, dir); // then: AutoModelForCausalLM.from_pretrained(dir)
 * typeof write; // 'function'
 * ```
 */
export function exportTransformersJs(model: DecoderLM, dir: string, options: TransformersJsOptions = {}): void {
  const site = 'exportTransformersJs';
  if (!(model instanceof DecoderLM)) fail(site, `model expected a DecoderLM (transformers.js needs its config.json), got ${show(model)}`);
  if (typeof dir !== 'string' || dir === '') fail(site, `dir expected a directory name, got ${show(dir)}`);
  checkOptions(site, options, optionKeys<TransformersJsOptions>({ tokenizer: true }));
  // The configs and tokenizer files as savePretrained writes them; the weights go into model.onnx instead.
  const files = pretrainedFiles(site, model, options ?? {}, false);
  const bytes = model.parameters().reduce((n, p) => n + p.value.size * DTYPE_INFO[p.value.dtype].bytes, 0);
  if (bytes > MAX_INLINE) fail(site, `model expected at most 2 GiB of weights (they stay inside model.onnx), got ${bytes} bytes`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) fail(site, `dir expected a directory, got '${dir}' (a file)`);
  const config = files['config.json'] as string;
  exportOnnxAt(site, model, join(dir, 'onnx', 'model.onnx'), { externalData: false }, {
    attentionMask: true,
    metadata: { 'llm_tricks.config': JSON.stringify(model.config), 'huggingface.config': config },
  });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeAtomically(site, join(dir, name), typeof content === 'string' ? new TextEncoder().encode(content) : content);
}
