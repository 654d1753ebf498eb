/**
 * Checkpoint writes are atomic and safe (src/io/write-atomically.ts).
 *
 * Proves:
 * - a process killed in the middle of `saveCheckpoint` leaves the previous
 *   checkpoint whole under the final name (the half-written data is only
 *   ever in a temporary file beside it);
 * - a symlink planted at the path, or at the guessable temporary name
 *   earlier versions used, is not written through: its target is untouched;
 * - four worker threads of one process saving to one path all succeed
 *   (they shared one temporary name before), and a reader meanwhile only
 *   ever sees a whole file;
 * - temporary files of earlier, killed saves to the path (older than a
 *   minute) are removed by the next save; recent ones and other names stay;
 * - a save that cannot be written throws an LlmTricksError naming the
 *   user's path and the likely cause, and leaves no temporary file.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, expect, it } from 'vitest';
import { encodeCheckpoint, LlmTricksError, tensor, type Trainer } from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a save killed mid-write leaves the previous checkpoint intact', async () => {
  const path = join(dir, 'ckpt.safetensors');
  const before = { step: 5, seed: 1, optimizer: 'Lion', params: new Map([['w', tensor([1, 2, 3])]]), slots: new Map([['optimizer.w.exp_avg', tensor([0, 0, 1])]]) };
  writeFileSync(path, encodeCheckpoint(before));
  // A child that saves a 512 MiB checkpoint over it; killed as soon as its temporary file appears.
  const script = `
    import { tensor } from 'llm-tricks';
    import { saveCheckpoint } from 'llm-tricks/node';
    const big = tensor(new Float32Array(128 * 2 ** 20), { shape: [128, 2 ** 20] });
    const trainer = { snapshot: async () => ({ step: 6, seed: 1, optimizer: 'Lion', params: new Map([['w', big]]), slots: new Map() }) };
    await saveCheckpoint(${JSON.stringify(path)}, trainer);
    console.log('saved');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += String(d); });
  child.stderr.on('data', (d: Buffer) => { output += String(d); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let killedMidWrite = false;
  for (let i = 0; i < 4000 && child.exitCode === null; i++) {
    if (readdirSync(dir).some((f) => f.endsWith('.tmp'))) {
      child.kill('SIGKILL');
      killedMidWrite = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await exited;
  expect(killedMidWrite, `the child finished before it could be killed mid-write: ${output}`).toBe(true);
  expect(output).not.toContain('saved');
  expect(existsSync(path)).toBe(true);
  const after = loadCheckpoint(path);
  expect(after.step).toBe(5);
  expect(after.params.get('w')!.toArray()).toEqual([1, 2, 3]);
}, 60_000);

const state = (step: number): Parameters<typeof encodeCheckpoint>[0] => ({ step, seed: 1, optimizer: 'Lion', params: new Map([['w', tensor([step, 2, 3])]]), slots: new Map() });
const trainerAt = (step: number) => ({ snapshot: async () => state(step) }) as unknown as Trainer;

it('writes through no planted link: not at the path, not at a guessable temporary name', async () => {
  const target = join(dir, 'victim.txt');
  writeFileSync(target, 'precious');
  const path = join(dir, 'linked.safetensors');
  symlinkSync(target, path);
  symlinkSync(target, `${path}.tmp-${process.pid}`); // the temporary name earlier versions used
  await saveCheckpoint(path, trainerAt(3));
  expect(lstatSync(path).isSymbolicLink()).toBe(false);
  expect(readFileSync(target, 'utf8')).toBe('precious');
  expect(loadCheckpoint(path).step).toBe(3);
});

it('saves from several worker threads to one path: every save succeeds and the file is always whole', async () => {
  const path = join(dir, 'shared.safetensors');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { tensor } = require('llm-tricks');
    const { saveCheckpoint } = require('llm-tricks/node');
    (async () => {
      for (let i = 0; i < 25; i++) {
        const big = tensor(new Float32Array(1 << 16).fill(workerData.id), { shape: [1 << 16] });
        await saveCheckpoint(workerData.path, { snapshot: async () => ({ step: i, seed: 0, optimizer: 'Lion', params: new Map([['w', big]]), slots: new Map() }) });
      }
      parentPort.postMessage('done');
    })().catch((e) => parentPort.postMessage(String(e && e.message)));`;
  const results = Promise.all([0, 1, 2, 3].map((id) => new Promise<string>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { id, path } });
    w.once('message', (m: string) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  })));
  // A reader meanwhile sees a whole checkpoint whenever the name exists.
  let reads = 0;
  const reading = (async () => {
    while (reads < 200) {
      if (existsSync(path)) {
        const w = loadCheckpoint(path).params.get('w')!.data() as Float32Array;
        expect(w.every((v) => v === w[0])).toBe(true);
      }
      reads++;
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  expect(await results).toEqual(['done', 'done', 'done', 'done']);
  await reading;
  expect(readdirSync(dir).filter((f) => f.startsWith('.shared.safetensors.'))).toEqual([]);
}, 60_000);

it('removes temporary files that killed saves left (older than a minute) and keeps recent ones', async () => {
  const path = join(dir, 'stale.safetensors');
  const old = join(dir, '.stale.safetensors.0123456789ab.tmp');
  const recent = join(dir, '.stale.safetensors.ba9876543210.tmp');
  const unrelated = join(dir, '.other.safetensors.0123456789ab.tmp');
  for (const f of [old, recent, unrelated]) writeFileSync(f, 'partial');
  const minutesAgo = (m: number): Date => new Date(Date.now() - m * 60_000);
  utimesSync(old, minutesAgo(5), minutesAgo(5));
  utimesSync(unrelated, minutesAgo(5), minutesAgo(5));
  await saveCheckpoint(path, trainerAt(1));
  expect([existsSync(old), existsSync(recent), existsSync(unrelated)]).toEqual([false, true, true]);
  for (const f of [recent, unrelated]) rmSync(f);
});

it('names the user\'s path when a save cannot be written, and leaves nothing behind', async () => {
  const missing = join(dir, 'no-such-dir', 'ckpt.safetensors');
  await expect(saveCheckpoint(missing, trainerAt(1))).rejects.toThrow(/^saveCheckpoint: expected to write '.*no-such-dir\/ckpt\.safetensors', got ENOENT.*\(does the directory '.*no-such-dir' exist\?\)/);
  mkdirSync(join(dir, 'a-directory.safetensors'));
  await expect(saveCheckpoint(join(dir, 'a-directory.safetensors'), trainerAt(1))).rejects.toThrow(LlmTricksError);
  expect(readdirSync(dir).filter((f) => f.startsWith('.a-directory.safetensors.'))).toEqual([]);
});
