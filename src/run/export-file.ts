import { basename } from 'node:path';
import { exportLanguageModel, type ExportOptions } from './export.js';
import { expectLanguageModel, type LanguageModel } from '../nn/language-model.js';
import { DTYPE_INFO } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { writeAtomically } from '../io/write-atomically.js';

/** Options of {@link exportOnnx}. */
export interface ExportFileOptions extends ExportOptions {
  /**
   * Keep weights of at least `externalThreshold` bytes in `<file>.data`
   * beside the model (ONNX external data). Default: only when the model
   * would pass 1 GiB, which protobuf cannot hold much beyond.
   */
  readonly externalData?: boolean;
}

/**
 * Writes a language model as a standalone `.onnx` file (see {@link exportLanguageModel}
 * for the inputs and outputs), weights inside or, when large, in
 * `<file>.data`. The file loads in any ONNX Runtime host.
 */
export function exportOnnx(model: LanguageModel, path: string, options: ExportFileOptions = {}): void {
  expectLanguageModel('exportOnnx', model);
  if (typeof path !== 'string' || !path.endsWith('.onnx')) fail('exportOnnx', `path expected a file name ending in .onnx, got ${show(path)}`);
  const bytes = model.parameters().reduce((n, p) => n + p.value.size * DTYPE_INFO[p.value.dtype].bytes, 0);
  const external = options.externalData ?? bytes > 2 ** 30;
  const dataFile = `${basename(path)}.data`;
  const out = exportLanguageModel(model, external ? { ...options, dataFile } : options);
  if (out.data) writeAtomically(`${path}.data`, out.data);
  writeAtomically(path, out.model);
}
