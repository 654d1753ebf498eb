/**
 * The TypeScript snippets in README.md and docs/*.md, and every TSDoc
 * `@example` in src/, run against the built package, and a line of the form `expr; // <JSON value>` asserts that
 * `expr` equals that value (numbers compared to 1e-6), so documented results
 * cannot drift from what the code does.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the package, so `import 'llm-tricks'` resolves to the build by self-reference.
const scratch = join(root, '.snippets');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

const CHECK = `
function __close(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => __close(x, b[i]));
  return a === b;
}
function __check(line: string, actual: unknown, expected: unknown): void {
  if (!__close(actual, expected)) throw new Error(\`\${line}\\n  documented: \${JSON.stringify(expected)}\\n  actual:     \${JSON.stringify(actual)}\`);
}
`;

/** `expr; // [1, 2]` becomes a check that expr equals [1, 2]. */
function instrument(code: string): { code: string; checks: number } {
  let checks = 0;
  const lines = code.split('\n').map((line) => {
    const m = /^(\s*)([^=]*?[\w)\]]\s*\([^;]*\));\s*\/\/\s*(-?[\d.]+(?:e-?\d+)?|\[[\d\s,.[\]-]*\]|true|false)\s*$/.exec(line);
    if (!m || /^\s*(const|let|var|import|return)\b/.test(line)) return line;
    checks++;
    return `${m[1]}__check(${JSON.stringify(line.trim())}, ${m[2]}, ${m[3]});`;
  });
  return { code: `${lines.join('\n')}\n${CHECK}`, checks };
}

function snippets(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** The ```ts blocks of the `@example` tags in a source file's doc comments (the leading ` * ` removed). */
function examples(file: string): string[] {
  const comments = [...readFileSync(join(root, file), 'utf8').matchAll(/\/\*\*([\s\S]*?)\*\//g)].map((m) => m[1]);
  return comments.filter((c) => c.includes('@example')).flatMap((c) => {
    const text = c.split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n');
    return [...text.slice(text.indexOf('@example')).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  });
}

const sources = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : []));

const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const cases = [
  ...files.flatMap((file) => snippets(file).map((code, i) => ({ name: `${file} snippet ${i + 1}`, code }))),
  ...sources('src').flatMap((file) => examples(file).map((code, i) => ({ name: `${file} @example ${i + 1}`, code }))),
];

describe('documentation snippets', () => {
  mkdirSync(scratch, { recursive: true });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds snippets to run, and an @example in src/', () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.filter((c) => c.name.includes('@example')).length).toBeGreaterThanOrEqual(9);
  });

  it.each(cases)('$name runs and its documented values hold', ({ name, code }) => {
    const { code: program } = instrument(code);
    const path = join(scratch, `${name.replace(/[^\w]+/g, '-')}.mts`);
    writeFileSync(path, program);
    const r = spawnSync(tsx, [path], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the instrumentation turns a documented value into a failing check when it is wrong', () => {
    const { code, checks } = instrument("import { tensor } from 'llm-tricks';\ntensor([1, 2]).toArray(); // [1, 3]\n");
    expect(checks).toBe(1);
    const path = join(scratch, 'self-check.mts');
    writeFileSync(path, code);
    const r = spawnSync(tsx, [path], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('documented: [1,3]');
  });
});
