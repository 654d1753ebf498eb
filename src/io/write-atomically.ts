/** Node-only file helpers, shared by ONNX export and checkpoints. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LlmTricksError } from '../core/errors.js';

// A temporary file is `.<name>.<12 hex>.tmp` beside the target: random, so the threads and
// processes saving to one path never share one, and hidden. Old ones of a name are stale.
const TEMP = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

/** A temporary file left this long ago by a save to the same path is stale: that save was killed. */
export const STALE_TEMP_MS = 60_000;

/**
 * Writes `bytes` to `path` through a temporary file beside it: created
 * exclusively under a random name (never through an existing file or
 * link), flushed to disk, renamed over `path`, then the directory flushed.
 * A crash or a full disk leaves the old file or the new one under the name,
 * never half of one, and a link planted at `path` is replaced, not written
 * through. After the rename, temporary files of earlier saves to `path`
 * older than {@link STALE_TEMP_MS} (left by killed saves) are removed.
 * Failures are LlmTricksErrors at `site` naming `path`.
 */
export function writeAtomically(site: string, path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  const name = basename(path);
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const started = Date.now();
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new LlmTricksError(site, `expected to write '${path}', got ${reason(e, dir)}`);
  }
  syncDirectory(dir);
  removeStaleTemps(dir, name, started - STALE_TEMP_MS);
}

/** The system's reason, with the likely cause for the common ones. */
function reason(e: unknown, dir: string): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message.replace(/, open '.*'$|, rename '.*'$/, '') : String(e);
  if (code === 'ENOENT') return `${message} (does the directory '${dir}' exist?)`;
  if (code === 'EISDIR') return `${message} (the path is a directory)`;
  if (code === 'ENOTDIR') return `${message} (a part of the path is not a directory, or the path ends in '/')`;
  return message;
}

/** Makes the rename durable: flushes the directory entry (where the platform allows opening a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open or flush a directory; the rename is as durable as it gets there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Removes `.<name>.<hex>.tmp` files in `dir` last modified before `before` (ms since the epoch). */
function removeStaleTemps(dir: string, name: string, before: number): void {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return; // the file is written; cleaning is best effort
  }
  for (const file of files) {
    if (TEMP.exec(file)?.[1] !== name) continue;
    try {
      const stat = statSync(join(dir, file));
      if (stat.isFile() && stat.mtimeMs < before) rmSync(join(dir, file), { force: true });
    } catch {
      // Gone already (another save cleaned it): nothing to do.
    }
  }
}
