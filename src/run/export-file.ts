import { basename } from 'node:path';
import { exportDecoderLM, type ExportOptions } from './export.js';
import { DecoderLM } from '../nn/decoder-lm.js';
import { describe } from '../core/dtype.js';
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
 * Writes a DecoderLM as a standalone `.onnx` file (see {@link exportDecoderLM}
 * for the inputs and outputs), weights inside or, when large, in
 * `<file>.data`. The file loads in any ONNX Runtime host.
 */
export function exportOnnx(model: DecoderLM, path: string, options: ExportFileOptions = {}): void {
  if (!(model instanceof DecoderLM)) fail('exportOnnx', `model expected a DecoderLM, got ${describe(model)}`);
  if (typeof path !== 'string' || !path.endsWith('.onnx')) fail('exportOnnx', `path expected a file name ending in .onnx, got ${show(path)}`);
  const bytes = model.parameters().reduce((n, p) => n + p.value.size * 4, 0);
  const external = options.externalData ?? bytes > 2 ** 30;
  const dataFile = `${basename(path)}.data`;
  const out = exportDecoderLM(model, external ? { ...options, dataFile } : options);
  if (out.data) writeAtomically(`${path}.data`, out.data);
  writeAtomically(path, out.model);
}
