/** Checkpoint files (Node): written atomically, read with every check of {@link decodeCheckpoint}. */
import { writeAtomically } from '../io/write-atomically.js';
import { describe } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { checkpointFrom, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { readSafetensorsFile } from './safetensors-file.js';
import type { Trainer } from './trainer.js';

/**
 * Saves the trainer's parameters, optimizer state, step and seed (and
 * `config`, e.g. the model's) to a safetensors file, through a temporary
 * file and a rename: an interrupted save leaves the previous checkpoint.
 */
export async function saveCheckpoint(path: string, trainer: Trainer, config?: unknown): Promise<void> {
  if (typeof path !== 'string' || path === '') fail('saveCheckpoint', `path expected a file name, got ${show(path)}`);
  if (typeof (trainer as { snapshot?: unknown } | null)?.snapshot !== 'function') fail('saveCheckpoint', `trainer expected a Trainer, got ${describe(trainer)}`);
  writeAtomically('saveCheckpoint', path, encodeCheckpoint(await trainer.snapshot(), config));
}

/**
 * Reads a checkpoint file; pass the result to `trainer.load` to resume. The
 * path must be a regular file (not a device, FIFO or directory). The header
 * is read and checked first, then each tensor's bytes, so files past 2 GiB
 * load.
 */
export function loadCheckpoint(path: string): Checkpoint {
  const site = 'loadCheckpoint';
  if (typeof path !== 'string' || path === '') fail(site, `path expected a file name, got ${show(path)}`);
  return checkpointFrom(site, readSafetensorsFile(site, path), path);
}
