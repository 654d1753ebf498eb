/** Checkpoint files (Node): written atomically, read with every check of {@link decodeCheckpoint}. */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { writeAtomically } from '../io/write-atomically.js';
import { describe, DTYPE_INFO, type TypedArray } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { Tensor } from '../trace/tensor.js';
import { checkpointFrom, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { readSafetensorsHeader } from './safetensors.js';
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
 * is read and checked first, then each tensor's bytes straight into its own
 * array, so files past 2 GiB load and nothing is read twice.
 */
export function loadCheckpoint(path: string): Checkpoint {
  const site = 'loadCheckpoint';
  if (typeof path !== 'string' || path === '') fail(site, `path expected a file name, got ${show(path)}`);
  const regular = (st: Stats): void => {
    if (!st.isFile()) fail(site, `path expected a regular file, got ${kindOf(st)} ('${path}')`);
  };
  regular(statOrFail(site, path));
  // Non-blocking, so a FIFO swapped in after the stat cannot hang the open; fstat checks what was opened.
  const fd = openOrFail(site, path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = fstatSync(fd);
    regular(st);
    const size = st.size;
    if (size < 8) readSafetensorsHeader(site, new Uint8Array(0), size, path); // throws: too short to be one
    const first = new Uint8Array(8);
    readExactly(site, path, fd, first, 0);
    const headLen = Math.min(Number(new DataView(first.buffer).getBigUint64(0, true)), size - 8, 100_000_000);
    const head = new Uint8Array(8 + Math.max(0, headLen));
    readExactly(site, path, fd, head, 0);
    const { entries, metadata, dataStart } = readSafetensorsHeader(site, head, size, path);
    const tensors = new Map<string, Tensor>();
    for (const { name, dtype, shape, begin, end } of entries) {
      const data = new DTYPE_INFO[dtype].array((end - begin) / DTYPE_INFO[dtype].bytes) as TypedArray;
      readExactly(site, path, fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart + begin);
      tensors.set(name, new Tensor(shape, dtype, data));
    }
    return checkpointFrom(site, { tensors, metadata }, path);
  } finally {
    closeSync(fd);
  }
}

/** Fills `into` from `position`, in chunks a single read can take; a short file is an error. */
function readExactly(site: string, path: string, fd: number, into: Uint8Array, position: number): void {
  let at = 0;
  while (at < into.length) {
    const n = readSync(fd, into, at, Math.min(into.length - at, 2 ** 30), position + at);
    if (n === 0) fail(site, `expected ${into.length} bytes at offset ${position} of '${path}', got ${at} (the file is shorter than its header says)`);
    at += n;
  }
}

function statOrFail(site: string, path: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    return fail(site, `expected to read '${path}', got ${e instanceof Error ? e.message : String(e)}`);
  }
}

function openOrFail(site: string, path: string, flags: number): number {
  try {
    return openSync(path, flags);
  } catch (e) {
    return fail(site, `expected to read '${path}', got ${e instanceof Error ? e.message : String(e)}`);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}
