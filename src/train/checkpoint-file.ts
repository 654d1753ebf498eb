/** Checkpoint files (Node): written atomically, read with every check of {@link decodeCheckpoint}. */
import { readFileSync } from 'node:fs';
import { writeAtomically } from '../io/write-atomically.js';
import { fail, show } from '../core/errors.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import type { Trainer } from './trainer.js';

/**
 * Saves the trainer's parameters, optimizer state, step and seed (and
 * `config`, e.g. the model's) to a safetensors file, through a temporary
 * file and a rename: an interrupted save leaves the previous checkpoint.
 */
export async function saveCheckpoint(path: string, trainer: Trainer, config?: unknown): Promise<void> {
  if (typeof path !== 'string' || path === '') fail('saveCheckpoint', `path expected a file name, got ${show(path)}`);
  writeAtomically('saveCheckpoint', path, encodeCheckpoint(await trainer.snapshot(), config));
}

/** Reads a checkpoint file; pass the result to `trainer.load` to resume. */
export function loadCheckpoint(path: string): Checkpoint {
  if (typeof path !== 'string' || path === '') fail('loadCheckpoint', `path expected a file name, got ${show(path)}`);
  return decodeCheckpoint(new Uint8Array(readFileSync(path)));
}
