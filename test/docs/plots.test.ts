/**
 * The figures in docs/img are what scripts/plot-schedules.ts draws from the
 * current schedules, so a change to a schedule cannot leave a stale figure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it.each(['lr-schedules.svg', 'early-dropout.svg'])('docs/img/%s is up to date (npm run docs:plots)', (file) => {
  const dir = mkdtempSync(join(tmpdir(), 'plots-'));
  try {
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/plot-schedules.ts', dir], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, file), 'utf8')).toBe(readFileSync(join(root, 'docs', 'img', file), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
