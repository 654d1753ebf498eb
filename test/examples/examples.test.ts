/**
 * Every program in examples/ runs as a user would run it (`npx tsx
 * examples/<name>.ts` against the built package) and exits cleanly; the
 * gradient example's two routes to dL/dW print the same numbers.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'));

function run(file: string): string {
  const r = spawnSync(tsx, [join('examples', file)], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr, `${file} wrote to stderr`).toBe('');
  expect(r.status, `${file} exited with ${r.status}`).toBe(0);
  return r.stdout;
}

describe('examples', () => {
  it('has at least one example', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples)('%s runs to completion', (file) => {
    expect(run(file).length).toBeGreaterThan(0);
  });

  it('gradient.ts: the eager and the graph gradient agree', () => {
    const out = run('gradient.ts').replace(/\s+/g, ' ');
    const eager = /dL\/dW \(eager\): (\[.*?\] \])/.exec(out)?.[1];
    const graph = /dL\/dW \(graph\): (\[.*?\] \])/.exec(out)?.[1];
    expect(eager).toBeDefined();
    expect(graph).toBe(eager);
  });
});
