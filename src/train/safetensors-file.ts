/** Safetensors files (Node), read with every check of {@link readSafetensorsHeader}. */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { fail } from '../core/errors.js';
import type { Tensor } from '../trace/tensor.js';
import { decodeEntry, readSafetensorsHeader, type Safetensors, type SafetensorsEntry } from './safetensors.js';

/**
 * Reads a safetensors file: the path must be a regular file (not a device,
 * FIFO or directory). The header is read and checked first, then each
 * tensor's bytes, so files past 2 GiB load; 16-bit floats are widened to
 * float32. Errors name `site` and the file.
 */
export function readSafetensorsFile(site: string, path: string): Safetensors & { readonly entries: readonly SafetensorsEntry[] } {
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
    for (const entry of entries) {
      const bytes = new Uint8Array(entry.end - entry.begin);
      readExactly(site, path, fd, bytes, dataStart + entry.begin);
      tensors.set(entry.name, decodeEntry(entry, bytes, true));
    }
    return { tensors, metadata, entries };
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
