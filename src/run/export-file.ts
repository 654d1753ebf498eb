import { checkOptions } from '../core/options.js';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EXPORT_KEYS, exportAt, type ExportExtras, type ExportOptions } from './export.js';
import { expectLanguageModel, type LanguageModel } from '../nn/language-model.js';
import { DTYPE_INFO } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { writeAtomically } from '../io/write-atomically.js';

/** Options of {@link exportOnnx}. */
export interface ExportFileOptions extends Omit<ExportOptions, 'dataFile'> {
  /**
   * Keep weights of at least `externalThreshold` bytes in a data file
   * beside the model (`<file>.<hash>.data`) (ONNX external data). Default: only when the model
   * would pass 1 GiB, which protobuf cannot hold much beyond.
   */
  readonly externalData?: boolean;
}

/**
 * Writes a language model as a standalone `.onnx` file (see `exportLanguageModel`
 * for the inputs and outputs), weights inside or, when large, in a data
 * file beside it named `<file>.<16 hex digits of its SHA-256>.data`. The
 * file loads in any ONNX Runtime host.
 *
 * Both files are written atomically, the data first: the rename of the
 * `.onnx` is the one commit point, so a killed export leaves the old model
 * with its own data file, or the new one with its own, never a mix. Data
 * files of this naming that the new model does not reference are removed
 * after it is in place.
 */
export function exportOnnx(model: LanguageModel, path: string, options: ExportFileOptions = {}): void {
  exportOnnxAt('exportOnnx', model, path, options);
}

/** {@link exportOnnx}, its errors naming `site`, with what the Hugging Face layout adds. */
export function exportOnnxAt(site: string, model: LanguageModel, path: string, options: ExportFileOptions = {}, extras: ExportExtras = {}): void {
  expectLanguageModel(site, model);
  // The data file's name is the export's own (named by content): no dataFile here.
  checkOptions(site, options, ['externalThreshold', 'externalData']);
  const { externalData, ...exportOptions } = options ?? {};
  if (typeof path !== 'string' || !path.endsWith('.onnx')) fail(site, `path expected a file name ending in .onnx, got ${show(path)}`);
  const bytes = model.parameters().reduce((n, p) => n + p.value.size * DTYPE_INFO[p.value.dtype].bytes, 0);
  const external = externalData ?? bytes > 2 ** 30;
  const name = basename(path);
  let dataFile: string | undefined;
  // Named by content: a new model never points at an old model's data under the same name.
  const nameData = (data: Uint8Array): string => (dataFile = `${name}.${createHash('sha256').update(data).digest('hex').slice(0, 16)}.data`);
  const out = exportAt(site, model, external ? { ...exportOptions, dataFile: nameData } : exportOptions, [...EXPORT_KEYS], extras);
  const dir = dirname(path);
  // Nothing to move (every weight under the threshold): no data file.
  mkdirSync(dir, { recursive: true });
  if (out.data?.length) writeAtomically(site, join(dir, dataFile!), out.data);
  else dataFile = undefined;
  writeAtomically(site, path, out.model);
  // The old model's data files are unreferenced now.
  const ours = (file: string): boolean => file.startsWith(`${name}.`) && /^[0-9a-f]{16}\.data$/.test(file.slice(name.length + 1));
  for (const file of readdirSync(dir)) if (ours(file) && file !== dataFile) rmSync(join(dir, file), { force: true });
}
