/**
 * The package as users get it: `npm pack` holds only dist/, the README,
 * the changelog, the licence and package.json; the tarball installs into an
 * empty project (dependencies from the npm cache, the optional ONNX Runtime
 * peers left out) and `llm-tricks` imports from ESM and CommonJS there and
 * runs a Lion step (1 - 0.1 · sign(g) = 0.9).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('packs only what users need, installs, and imports from ESM and CommonJS', () => {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { filename: string; files: { path: string }[] }[];
  const tops = [...new Set(info.files.map((f) => f.path.split('/')[0]))].sort();
  expect(tops).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json']);
  expect(info.files.some((f) => f.path.endsWith('.map'))).toBe(true); // source maps ship for debugging
  const app = join(dir, 'app');
  rmSync(app, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }));
  const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=peer', join(dir, info.filename)], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  expect(install.status, install.stderr).toBe(0);
  expect(readdirSync(join(app, 'node_modules'))).toContain('llm-tricks');
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { Lion, DecoderLM, tensor } from 'llm-tricks';
    const lion = new Lion({ lr: 0.1 });
    const p = new Float32Array([1]);
    lion.step([p], [new Float32Array([2])]);
    console.log(typeof DecoderLM, p[0].toFixed(3), tensor([1, 2]).toArray().join(','));
  `], { cwd: app, encoding: 'utf8' });
  expect(esm.stderr).toBe('');
  expect(esm.stdout.trim()).toBe('function 0.900 1,2');
  const cjs = spawnSync(process.execPath, ['-e', `
    const { Lion } = require('llm-tricks');
    console.log(typeof Lion, typeof require('llm-tricks/package.json').version);
  `], { cwd: app, encoding: 'utf8' });
  expect(cjs.stderr).toBe('');
  expect(cjs.stdout.trim()).toBe('function string');
}, 180_000);
