/**
 * The entry points share one copy of the library: a Tensor or Graph made
 * with `llm-tricks` is an instance of the classes `llm-tricks/node` and
 * `llm-tricks/web` check against, from ESM and from CommonJS alike (the build
 * splits shared code into chunks instead of copying it into each entry); a
 * Graph from the other format (two copies loaded) gets an error that says so.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

const ESM = `
const core = await import('llm-tricks');
const node = await import('llm-tricks/node');
const web = await import('llm-tricks/web');
const g = core.trace((x) => core.add(x, 1), [{ shape: [2] }]);
const [y] = await node.referenceBackend.compile(g).then((e) => e.run([core.tensor([1, 2])]));
console.log(JSON.stringify({ sameBackend: node.referenceBackend === core.referenceBackend && web.referenceBackend === core.referenceBackend, isTensor: y instanceof core.Tensor, y: y.toArray() }));
`;
const CJS = `
const core = require('llm-tricks');
const node = require('llm-tricks/node');
const g = core.trace((x) => core.add(x, 1), [{ shape: [2] }]);
node.referenceBackend.compile(g).then((e) => e.run([core.tensor([1, 2])])).then(([y]) => {
  console.log(JSON.stringify({ sameBackend: node.referenceBackend === core.referenceBackend, isTensor: y instanceof core.Tensor, y: y.toArray() }));
});
`;

it.each([['ESM', ['--input-type=module', '-e', ESM]], ['CommonJS', ['-e', CJS]]])('%s: core and /node share classes', (_kind, args) => {
  const r = spawnSync(process.execPath, args as string[], { cwd: root, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sameBackend: boolean; isTensor: boolean; y: number[] };
  expect(out).toEqual({ sameBackend: true, isTensor: true, y: [2, 3] });
});

// ESM core with CommonJS /node: two copies of the library, whose Graph classes differ.
const MIXED = `
const core = await import('llm-tricks');
const { createRequire } = await import('node:module');
const node = createRequire(process.cwd() + '/')('llm-tricks/node');
const g = core.trace((x) => core.add(x, 1), [{ shape: [2] }]);
try {
  await node.ortNode.compile(g);
  console.log('compiled');
} catch (e) {
  console.log(e.name + ': ' + e.message);
}
`;

it('a Graph from the other module format is named as such, not "expected a Graph, got Graph"', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', MIXED], { cwd: root, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trim()).toMatch(/^LlmTricksError: ort-node\.compile: graph expected a Graph of this copy of llm-tricks, got one made by another copy: two copies of the package are loaded/);
});
