/**
 * Checkpoint writes are atomic: a process killed in the middle of
 * `saveCheckpoint` leaves the previous checkpoint whole under the final
 * name (the half-written data is only ever in a temporary file beside it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { encodeCheckpoint, tensor } from '../../src/index.js';
import { loadCheckpoint } from '../../src/node.js';

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
    if (readdirSync(dir).some((f) => f.includes('.tmp-'))) {
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
