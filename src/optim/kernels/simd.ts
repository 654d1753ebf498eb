/**
 * The standalone optimizer steps over WebAssembly SIMD (optim.wat): the
 * module (1 KB) is compiled on the first large step, not on import, and
 * only where the runtime validates SIMD; elsewhere the JavaScript loops run.
 *
 * The user's arrays live outside WebAssembly memory, so the step streams
 * them through it in chunks of 128 KB per array: copy a chunk of each array
 * in, update it with the kernel, copy the updated ones out. The chunks stay
 * in cache, so main memory sees each array read once and the updated ones
 * written once — the traffic of an in-place loop (Lion: 20 bytes per float32
 * parameter) — and no parameter needs to be allocated anywhere special.
 */
import { OPTIM_WASM_BASE64 } from './optim-wasm.js';

type Floats = Float32Array | Float64Array;

// The WebAssembly API as far as it is used here (the library's types target no DOM).
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  lion32(p: number, g: number, m: number, n: number, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): void;
  lion64(p: number, g: number, m: number, n: number, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): void;
  adamw32(p: number, g: number, m: number, v: number, n: number, ...k: number[]): void;
  adamw64(p: number, g: number, m: number, v: number, n: number, ...k: number[]): void;
  finite32(x: number, n: number): number;
  finite64(x: number, n: number): number;
}

// Four arrays of 128 KB each fill the module's 8 pages (512 KB).
const CHUNK_BYTES = 1 << 17;
let kernels: Exports | null | undefined;
let enabled = true;

/** The instantiated module, or null where the runtime has no WebAssembly SIMD. */
function load(): Exports | null {
  if (kernels !== undefined) return kernels;
  kernels = null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (typeof wasm !== 'object' || typeof atob !== 'function') return kernels;
  const bytes = Uint8Array.from(atob(OPTIM_WASM_BASE64), (c) => c.charCodeAt(0));
  // Synchronous compile: the module is under the 4 KB browsers allow on the main thread. A runtime may validate
  // it and still refuse to compile from bytes (a page whose CSP lacks wasm-unsafe-eval, some edge hosts): then the loops run.
  try {
    if (wasm.validate(bytes)) kernels = new wasm.Instance(new wasm.Module(bytes), {}).exports as Exports;
  } catch {
    kernels = null;
  }
  return kernels;
}

/**
 * Whether the SIMD kernels run the standalone steps (where available), or
 * the JavaScript loops always. For tests and comparisons; both give the
 * same bits.
 */
export function useSimdKernels(on: boolean): void {
  enabled = on;
}

/** Whether a step over `n` elements goes through WebAssembly: below a few thousand the copies and the call are not worth it. */
function simd(n: number): Exports | null {
  return enabled && n >= 2048 ? load() : null;
}

/**
 * Streams `arrays` (all of one length and type; the first `written` are
 * copied back) through WebAssembly memory, chunk by chunk: `kernel(offsets,
 * n)` updates the vector-width-aligned front of a chunk, `tail(views, from,
 * to)` the rest in JavaScript.
 */
function stream(k: Exports, arrays: readonly Floats[], written: number, kernel: (offsets: number[], n: number) => void, tail: (views: Floats[], from: number, to: number) => void): void {
  const wide = arrays[0] instanceof Float64Array;
  const per = CHUNK_BYTES / (wide ? 8 : 4);
  const lanes = wide ? 2 : 4;
  const heap = wide ? new Float64Array(k.memory.buffer) : new Float32Array(k.memory.buffer);
  const offsets = arrays.map((_, i) => i * CHUNK_BYTES);
  const views = arrays.map((_, i) => heap.subarray(i * per, (i + 1) * per));
  const n = arrays[0].length;
  for (let start = 0; start < n; start += per) {
    const end = Math.min(n, start + per);
    const count = end - start;
    arrays.forEach((a, i) => views[i].set(a.subarray(start, end)));
    const aligned = count - (count % lanes);
    kernel(offsets, aligned);
    if (aligned < count) tail(views, aligned, count);
    for (let i = 0; i < written; i++) arrays[i].set(views[i].subarray(0, count), start);
  }
}

/**
 * Whether every element of `x` is finite, through the SIMD kernel, or
 * undefined where it does not run (the caller checks in JavaScript).
 */
export function allFiniteSimd(x: Floats): boolean | undefined {
  const k = simd(x.length);
  if (!k) return undefined;
  const check = x instanceof Float64Array ? k.finite64 : k.finite32;
  let ok = true;
  stream(k, [x], 0, ([xo], n) => { ok &&= check(xo, n) === 1; }, ([xv], from, to) => {
    for (let i = from; i < to; i++) ok &&= xv[i] - xv[i] === 0;
  });
  return ok;
}

/** Lion's step constants, already rounded to the element type. */
export interface LionConstants { b1: number; c1: number; b2: number; c2: number; lr: number; decay: number }

/**
 * Lion over (p, g, m) with the SIMD kernel when it runs, returning false
 * when it does not (the caller runs its loop). `loop` is that loop, run on
 * each chunk's tail.
 */
export function lionSimd(p: Floats, g: Floats, m: Floats, c: LionConstants, loop: (p: Floats, g: Floats, m: Floats) => void): boolean {
  const k = simd(p.length);
  if (!k) return false;
  const run = p instanceof Float64Array ? k.lion64 : k.lion32;
  stream(k, [p, m, g], 2, ([po, mo, go], n) => run(po, go, mo, n, c.b1, c.c1, c.b2, c.c2, c.lr, c.decay), ([pv, mv, gv], from, to) => loop(pv.subarray(from, to), gv.subarray(from, to), mv.subarray(from, to)));
  return true;
}

/** AdamW's step constants, already rounded to the element type. */
export interface AdamConstants { b1: number; c1: number; b2: number; c2: number; eps: number; decay: number; stepSize: number; bc2Sqrt: number }

/** AdamW over (p, g, m, v), as {@link lionSimd}. */
export function adamwSimd(p: Floats, g: Floats, m: Floats, v: Floats, c: AdamConstants, loop: (p: Floats, g: Floats, m: Floats, v: Floats) => void): boolean {
  const k = simd(p.length);
  if (!k) return false;
  const run = p instanceof Float64Array ? k.adamw64 : k.adamw32;
  stream(k, [p, m, v, g], 3, ([po, mo, vo, go], n) => run(po, go, mo, vo, n, c.b1, c.c1, c.b2, c.c2, c.eps, c.decay, c.stepSize, c.bc2Sqrt),
    ([pv, mv, vv, gv], from, to) => loop(pv.subarray(from, to), gv.subarray(from, to), mv.subarray(from, to), vv.subarray(from, to)));
  return true;
}
