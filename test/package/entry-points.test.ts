/**
 * Package-level checks against the built `dist/` (the `pretest` script builds it).
 *
 * Each check runs in a fresh child `node` process so that what the package
 * loads on import is observable: native addons show up in the process
 * report's `sharedObjects`, and WebAssembly compilation is recorded by
 * patching the WebAssembly API before the package is imported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MARK = '@@RESULT@@';

interface ChildResult {
  keys: string[];
  nodeAddons: string[];
  sharedObjectCount: number;
  wasmCalls: string[];
}

/** Runs first in the child: records every WebAssembly compile/instantiate. */
const HOOK = `
const __wasmCalls = [];
{
  const W = globalThis.WebAssembly;
  for (const name of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming', 'validate']) {
    const orig = W[name];
    if (typeof orig !== 'function' || name === 'validate') continue;
    W[name] = function (...args) { __wasmCalls.push(name); return orig.apply(this, args); };
  }
  for (const name of ['Module', 'Instance']) {
    const Orig = W[name];
    W[name] = new Proxy(Orig, {
      construct(target, args, newTarget) {
        __wasmCalls.push(name);
        return Reflect.construct(target, args, newTarget === W[name] ? target : newTarget);
      },
    });
  }
}
function __report(mod) {
  let report = process.report.getReport();
  if (typeof report === 'string') report = JSON.parse(report);
  const shared = report.sharedObjects ?? [];
  const result = {
    keys: mod == null ? [] : Object.keys(mod),
    nodeAddons: shared.filter((p) => p.endsWith('.node')),
    sharedObjectCount: shared.length,
    wasmCalls: __wasmCalls,
  };
  process.stdout.write('\\n${MARK}' + JSON.stringify(result) + '\\n');
}
`;

type Mode = 'module' | 'commonjs';

function runChild(mode: Mode, body: string): ChildResult {
  const res = spawnSync(process.execPath, [`--input-type=${mode}`, '-e', HOOK + body], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 30_000,
  });
  if (res.error) throw res.error;
  const line = res.stdout.split('\n').find((l) => l.startsWith(MARK));
  if (res.status !== 0 || line === undefined) {
    throw new Error(
      `child node (${mode}) failed with status ${res.status}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`,
    );
  }
  return JSON.parse(line.slice(MARK.length)) as ChildResult;
}

const importOf = (spec: string): string => `const mod = await import(${JSON.stringify(spec)}); __report(mod);`;
const requireOf = (spec: string): string => `const mod = require(${JSON.stringify(spec)}); __report(mod);`;

const ENTRIES = ['index', 'node', 'web'] as const;

describe('built entry points', () => {
  it.each(ENTRIES)('dist/%s.{js,cjs,d.ts,d.cts} exist', (name) => {
    for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) {
      const file = join(root, 'dist', `${name}.${ext}`);
      expect(existsSync(file), `${file} is missing (did the build run?)`).toBe(true);
    }
  });
});

describe('importing the package loads no native addon and compiles no WebAssembly', () => {
  it("ESM: await import('llm-tricks')", () => {
    const r = runChild('module', importOf('llm-tricks'));
    expect(r.keys.length).toBeGreaterThan(0);
    expect(r.sharedObjectCount).toBeGreaterThan(0); // the report itself works
    expect(r.nodeAddons).toEqual([]);
    expect(r.wasmCalls).toEqual([]);
  });

  it("CJS: require('llm-tricks')", () => {
    const r = runChild('commonjs', requireOf('llm-tricks'));
    expect(r.keys.length).toBeGreaterThan(0);
    expect(r.sharedObjectCount).toBeGreaterThan(0);
    expect(r.nodeAddons).toEqual([]);
    expect(r.wasmCalls).toEqual([]);
  });
});

describe('subpath exports resolve', () => {
  it.each(['llm-tricks/node', 'llm-tricks/web'])('ESM import(%s)', (spec) => {
    const r = runChild('module', importOf(spec));
    expect(r.keys.length).toBeGreaterThan(0);
  });

  it.each(['llm-tricks/node', 'llm-tricks/web'])('CJS require(%s)', (spec) => {
    const r = runChild('commonjs', requireOf(spec));
    expect(r.keys.length).toBeGreaterThan(0);
  });

  it('llm-tricks/package.json is exported', () => {
    const r = runChild('commonjs', requireOf('llm-tricks/package.json'));
    expect(r.keys).toContain('exports');
  });
});

describe('self-check: the WebAssembly hook detects compilation', () => {
  const WASM = '[0, 97, 115, 109, 1, 0, 0, 0]';

  it('new WebAssembly.Module(bytes) is counted once', () => {
    const r = runChild('module', `new WebAssembly.Module(new Uint8Array(${WASM})); __report(null);`);
    expect(r.wasmCalls).toEqual(['Module']);
  });

  it('await WebAssembly.compile(bytes) is counted once', () => {
    const r = runChild('module', `await WebAssembly.compile(new Uint8Array(${WASM})); __report(null);`);
    expect(r.wasmCalls).toEqual(['compile']);
  });
});
