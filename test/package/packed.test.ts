/**
 * The package as users get it: `npm pack` builds dist/ first (a fresh clone
 * packs a working package) and holds only dist/, the README,
 * the changelog, the licence and package.json; without the optional ONNX
 * Runtime peers, `llm-tricks/node` and `/web` import and their backends say
 * which package to install; the tarball installs into an
 * empty project (dependencies from the npm cache, the optional ONNX Runtime
 * peers left out) and `llm-tricks` imports from ESM and CommonJS there and
 * runs a Lion step (1 - 0.1 · sign(g) = 0.9).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('builds dist/ when packed, so a fresh clone packs a working package', () => {
  const copy = join(dir, 'clone');
  // The sources without dist/: what a fresh clone has.
  cpSync(root, copy, { recursive: true, filter: (src) => !/[\\/](dist|node_modules|\.git|\.venv|coverage|\.snippets)$/.test(src) });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--dry-run'], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { files: { path: string }[] }[];
  expect(info.files.map((f) => f.path)).toEqual(expect.arrayContaining(['dist/index.js', 'dist/node.cjs', 'dist/web.d.ts']));
}, 120_000);

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
  // Without the optional ONNX Runtime peers installed, the entry points still import, and compiling says what to install.
  expect(readdirSync(join(app, 'node_modules'))).not.toContain('onnxruntime-node');
  const missing = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { trace, add } from 'llm-tricks';
    import { ortNode } from 'llm-tricks/node';
    import { ortWeb } from 'llm-tricks/web';
    const g = trace((x) => add(x, 1), [{ shape: [2] }]);
    for (const backend of [ortNode, ortWeb]) await backend.compile(g).catch((e) => console.log(e.name + ': ' + e.message));
  `], { cwd: app, encoding: 'utf8' });
  expect(missing.stderr).toBe('');
  const [node, web] = missing.stdout.trim().split('\n');
  expect(node).toMatch(/^LlmTricksError: ort-node\.compile: expected the onnxruntime-node package, got an error loading it \(.*\); install it: npm install onnxruntime-node \(ONNXRUNTIME_NODE_INSTALL=skip/);
  expect(web).toMatch(/^LlmTricksError: ort-web\.compile: expected the onnxruntime-web package, got an error loading it \(.*\); install it: npm install onnxruntime-web$/);
}, 180_000);
