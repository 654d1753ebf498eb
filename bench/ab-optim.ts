/**
 * Two builds of llm-tricks, their standalone Lion, AdamW and clipGradNorm
 * timed in alternation in one process: whether a change to the library makes
 * them faster. Not part of the bench report (that compares against peers).
 *
 *   cp -r dist bench/out/dist-before   # the build before the change
 *   npm run build                      # the build after it, in dist/
 *   npx tsx bench/ab-optim.ts --a bench/out/dist-before --b dist [--size 10000000] [--rounds 20]
 *
 * Each task runs on ordinary Float32Arrays and on arrays from the
 * optimizer's allocate(); clipGradNorm clips to 0.9 times the norm the
 * previous call left, so every call sums and scales. Per round each build
 * runs once, the order reversed every other round. Prints each build's
 * median and the sign test of the rounds, and whether the two builds' last
 * results have the same bits.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median, paired, signSentence, timeInterleaved } from './lib/timing.js';
import { repeatedClipping } from './lib/clipping.js';

const { values } = parseArgs({ options: { a: { type: 'string' }, b: { type: 'string' }, size: { type: 'string', default: '10000000' }, rounds: { type: 'string', default: '20' } } });
const n = Number(values.size);
if (!values.a || !values.b || !Number.isSafeInteger(n) || n < 1) {
  console.error('ab-optim: expected --a <dist dir> --b <dist dir> [--size n] [--rounds n]');
  process.exit(2);
}

interface Lib {
  Lion: new () => Optimizer;
  AdamW: new () => Optimizer;
  clipGradNorm(grads: Float32Array[], maxNorm: number): number;
}
interface Optimizer {
  step(params: Float32Array[], grads: Float32Array[]): void;
  allocate(lengths: number[]): { params: Float32Array[]; grads: Float32Array[] };
}

const load = async (dir: string): Promise<Lib> => import(pathToFileURL(resolve(dir, 'index.js')).href) as Promise<Lib>;
const [a, b] = [await load(values.a), await load(values.b)];

function values01(seed: number, scale: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return x;
}
const [p0, g0] = [values01(1, 1), values01(2, 1e-2)];

/** One task of one build: the function to time and the array whose bits are compared afterwards. */
type Task = (lib: Lib) => { run: () => void; result: Float32Array };
const arrays = (lib: Lib, opt: Optimizer | null, allocated: boolean): { params: Float32Array[]; grads: Float32Array[] } => {
  const { params, grads } = allocated ? (opt ?? new lib.Lion()).allocate([n]) : { params: [new Float32Array(n)], grads: [new Float32Array(n)] };
  params[0].set(p0);
  grads[0].set(g0);
  return { params, grads };
};
const step = (name: 'Lion' | 'AdamW', allocated: boolean): Task => (lib) => {
  const opt = new lib[name]();
  const { params, grads } = arrays(lib, opt, allocated);
  return { run: () => opt.step(params, grads), result: params[0] };
};
const clip = (allocated: boolean): Task => (lib) => {
  const { grads } = arrays(lib, null, allocated);
  const run = repeatedClipping((gs, max) => lib.clipGradNorm(gs, max), grads, g0);
  return { run, result: grads[0] };
};
const TASKS: [string, Task][] = [
  ['Lion', step('Lion', false)], ['Lion, allocate()', step('Lion', true)],
  ['AdamW', step('AdamW', false)], ['AdamW, allocate()', step('AdamW', true)],
  ['clipGradNorm', clip(false)], ['clipGradNorm, allocate()', clip(true)],
];

const bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);
console.log(`${n} float32 parameters; a = ${values.a}, b = ${values.b}`);
for (const [name, task] of TASKS) {
  const [ta, tb] = [task(a), task(b)];
  const [msA, msB] = await timeInterleaved([ta.run, tb.run], 3, Number(values.rounds));
  const p = paired(msA, msB);
  const same = bits(ta.result).every((w, i) => w === bits(tb.result)[i]);
  console.log(`${name}: a ${median(msA).toFixed(2)} ms, b ${median(msB).toFixed(2)} ms (a ÷ b = ${(median(msA) / median(msB)).toFixed(2)}); ${signSentence('b slower', p.slower, p.rounds, 'b is slower', 'b is faster')}; results ${same ? 'bit-identical' : 'differ'}`);
}
