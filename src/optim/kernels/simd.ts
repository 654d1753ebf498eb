/**
 * The standalone optimizer steps and clipGradNorm over WebAssembly SIMD (optim.wat): the
 * module (2 KB) is compiled on the first large step, not on import, and
 * only where the runtime validates SIMD; elsewhere the JavaScript loops run.
 *
 * The user's arrays live outside WebAssembly memory, so the step streams
 * them through it in chunks of 128 KB per array: copy a chunk of each array
 * in, update it with the kernel, copy the updated ones out. The chunks stay
 * in cache, so main memory sees each array read once and the updated ones
 * written once — the traffic of an in-place loop (Lion: 20 bytes per float32
 * parameter) — and no parameter needs to be allocated anywhere special.
 * The optimizer's own state is allocated with {@link allocateResident} in a
 * WebAssembly memory of its own, so only the parameters and gradients are
 * copied through (their three copies of Lion's five, AdamW's seven); arrays
 * allocated there with the parameters too are updated where they are, with
 * no copy at all.
 */
import { OPTIM_WASM_BASE64 } from './optim-wasm.js';
import { compileWasm, type CompiledWasm } from '../../core/wasm.js';

type Floats = Float32Array | Float64Array;

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  lion32(p: number, g: number, m: number, n: number, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): void;
  lion64(p: number, g: number, m: number, n: number, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): void;
  lion32check(p: number, g: number, m: number, n: number, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): number;
  lion64check(p: number, g: number, m: number, n: number, b1: number, c1: number, b2: number, c2: number, lr: number, decay: number): number;
  adamw32(p: number, g: number, m: number, v: number, n: number, ...k: number[]): void;
  adamw64(p: number, g: number, m: number, v: number, n: number, ...k: number[]): void;
  finite32(x: number, n: number): number;
  finite64(x: number, n: number): number;
  sumsq32(x: number, n: number): void;
  sumsq64(x: number, n: number): void;
  scale32(x: number, n: number, coef: number): void;
  scale64(x: number, n: number, coef: number): void;
  /** The eight partial sums of sumsq32/sumsq64, carried between calls. */
  readonly s0: { value: number }; readonly s1: { value: number }; readonly s2: { value: number }; readonly s3: { value: number };
  readonly s4: { value: number }; readonly s5: { value: number }; readonly s6: { value: number }; readonly s7: { value: number };
  /** The largest |p| and |m| lion32 wrote since the caller zeroed them, as bits with the sign cleared. */
  readonly pmax: { value: number }; readonly mmax: { value: number };
}

const CHUNK_BYTES = 1 << 17;
const PAGE_BYTES = 1 << 16;
/**
 * Each array's chunk lies in a slot a chunk and 4 KB long, at the offset
 * {@link scratchOffset} picks; four slots fill the module's 9 pages.
 */
const SLOT_BYTES = CHUNK_BYTES + 4096;
const SCRATCH_BYTES = 4 * SLOT_BYTES;
let kernels: Exports | null | undefined;
let compiled: CompiledWasm | null | undefined;
let enabled = true;
/** The instance that owns each resident memory, by its buffer. */
const residents = new WeakMap<ArrayBuffer, Exports>();
/** Kernel calls so far: on arrays in place (allocated with allocateResident), and on chunks copied through. For tests. */
export const kernelCalls = { inPlace: 0, streamed: 0 };

/** The instantiated module, or null where the runtime has no WebAssembly SIMD. */
function load(): Exports | null {
  if (kernels !== undefined) return kernels;
  kernels = null;
  compiled = compileWasm(OPTIM_WASM_BASE64);
  try {
    if (compiled) kernels = new compiled.wasm.Instance(compiled.module, {}).exports as Exports;
  } catch {
    kernels = null;
  }
  return kernels;
}

/**
 * Arrays of `lengths` elements (float64 when `wide`, else float32), zeros,
 * in a WebAssembly memory of their own: an instance of the kernels grown
 * once to hold them and never again, so the views stay valid for as long as
 * they are referenced. The steps over such arrays run on that instance's
 * memory in place; ordinary arrays in the same step are streamed through
 * its first 528 KB, which the arrays leave free. Null where the kernels do
 * not run, or the memory cannot grow to hold them (a WebAssembly memory
 * holds at most 4 GiB): the caller allocates ordinary arrays.
 */
export function allocateResident(lengths: readonly number[], wide: boolean): Floats[] | null {
  if (!enabled || !load() || !compiled) return null;
  const bytes = wide ? 8 : 4;
  // 16-byte aligned starts, after the chunks that ordinary arrays stream through.
  const starts: number[] = [];
  let end = SCRATCH_BYTES;
  for (const n of lengths) {
    starts.push(end);
    end += Math.ceil((n * bytes) / 16) * 16;
  }
  try {
    const k = new compiled.wasm.Instance(compiled.module, {}).exports as Exports;
    const have = k.memory.buffer.byteLength;
    if (end > have) k.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
    residents.set(k.memory.buffer, k);
    return lengths.map((n, i) => (wide ? new Float64Array(k.memory.buffer, starts[i], n) : new Float32Array(k.memory.buffer, starts[i], n)));
  } catch {
    return null;
  }
}

/**
 * The kernels whose memory holds the most of `arrays` (allocated with
 * allocateResident: an optimizer's state, or arrays from allocate()), or
 * null when none is; arrays in other memories are streamed through its.
 */
function residentKernels(arrays: readonly Floats[]): Exports | null {
  const held = new Map<Exports, number>();
  for (const a of arrays) {
    const k = residents.get(a.buffer as ArrayBuffer);
    if (k) held.set(k, (held.get(k) ?? 0) + 1);
  }
  let owner: Exports | null = null;
  for (const [k, count] of held) if (!owner || count > held.get(owner)!) owner = k;
  return owner;
}

/**
 * Whether the SIMD kernels run the standalone steps (where available), or
 * the JavaScript loops always. For tests and comparisons; both give the
 * same bits.
 */
export function useSimdKernels(on: boolean): void {
  enabled = on;
}

/**
 * The kernels a step over `arrays` runs on: those owning the memory of the
 * resident ones, else the shared instance from a few thousand elements on
 * (below that the copies and the call are not worth it); null for the
 * JavaScript loops.
 */
function simd(arrays: readonly Floats[]): Exports | null {
  if (!enabled) return null;
  return residentKernels(arrays) ?? (arrays[0].length >= 2048 ? load() : null);
}

/**
 * Streams `arrays` (all of one length and type; the first `written` are
 * copied back) through WebAssembly memory, chunk by chunk: `kernel(offsets,
 * n)` updates the front of a chunk whose length is a multiple of the
 * kernel's width (elements per iteration: the vector's lanes unless given),
 * `tail(views, from, to)` the rest in JavaScript. Chunks start at multiples
 * of 8 elements. Arrays in `k`'s own memory are not copied: the kernel
 * reads and writes them where they are.
 */
function stream(k: Exports, arrays: readonly Floats[], written: number, kernel: (offsets: number[], n: number) => void, tail: (views: Floats[], from: number, to: number) => void, width?: number): void {
  const wide = arrays[0] instanceof Float64Array;
  const bytes = wide ? 8 : 4;
  const lanes = width ?? (wide ? 2 : 4);
  const inPlace = arrays.map((a) => a.buffer === k.memory.buffer);
  const n = arrays[0].length;
  if (inPlace.every(Boolean)) {
    // Allocated in this instance's memory: updated where they are.
    const aligned = n - (n % lanes);
    kernel(arrays.map((a) => a.byteOffset), aligned);
    kernelCalls.inPlace++;
    if (aligned < n) tail([...arrays], aligned, n);
    return;
  }
  const per = CHUNK_BYTES / bytes;
  const heap = wide ? new Float64Array(k.memory.buffer) : new Float32Array(k.memory.buffer);
  const at = arrays.map((a, i) => i * SLOT_BYTES + scratchOffset(a.byteOffset));
  const scratch = at.map((byte) => heap.subarray(byte / bytes, byte / bytes + per));
  for (let start = 0; start < n; start += per) {
    const end = Math.min(n, start + per);
    const count = end - start;
    const views = arrays.map((a, i) => (inPlace[i] ? a.subarray(start, end) : scratch[i]));
    arrays.forEach((a, i) => { if (!inPlace[i]) scratch[i].set(a.subarray(start, end)); });
    const aligned = count - (count % lanes);
    kernel(arrays.map((a, i) => (inPlace[i] ? a.byteOffset + start * bytes : at[i])), aligned);
    kernelCalls.streamed++;
    if (aligned < count) tail(views, aligned, count);
    for (let i = 0; i < written; i++) if (!inPlace[i]) arrays[i].set(scratch[i].subarray(0, count), start);
  }
}

/**
 * Where in its slot the chunk of an array at `byteOffset` in its buffer
 * goes: half a page (2 KB) away from the array's own position within a 4 KB
 * page, 16-byte aligned. A large ArrayBuffer starts at or just after a page
 * boundary, as WebAssembly memory does; a copy whose destination lies a few
 * bytes past its source modulo 4 KB runs several times slower (the CPU
 * takes the loads for aliases of the stores just before them: 21 against
 * 5 ms copying 40 MB out of 128 KB chunks on an AMD EPYC), and with the
 * chunks at the pages' starts every copy back out did.
 */
export function scratchOffset(byteOffset: number): number {
  return (byteOffset + 2048) & 4080;
}

/**
 * Whether every element of `x` is finite, through the SIMD kernel, or
 * undefined where it does not run (the caller checks in JavaScript).
 */
export function allFiniteSimd(x: Floats): boolean | undefined {
  const k = simd([x]);
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

/** The largest magnitudes a float32 Lion step wrote: NaN where one was NaN. */
export interface LionMaxima { readonly p: number; readonly m: number }

/**
 * Lion over (p, g, m) with the SIMD kernel when it runs, returning false
 * when it does not (the caller runs its loop). `loop` is that loop, run on
 * each chunk's tail. Over float32 arrays it returns the largest |p| and |m|
 * it wrote, else true.
 */
export function lionSimd(p: Floats, g: Floats, m: Floats, c: LionConstants, loop: (p: Floats, g: Floats, m: Floats) => void): LionMaxima | boolean {
  const k = simd([p, m, g]);
  if (!k) return false;
  const wide = p instanceof Float64Array;
  const run = wide ? k.lion64 : k.lion32;
  // The tails, run in JavaScript, raise the maxima as the kernel does.
  let [tailP, tailM] = [0, 0];
  k.pmax.value = k.mmax.value = 0;
  stream(k, [p, m, g], 2, ([po, mo, go], n) => run(po, go, mo, n, c.b1, c.c1, c.b2, c.c2, c.lr, c.decay), ([pv, mv, gv], from, to) => {
    loop(pv.subarray(from, to), gv.subarray(from, to), mv.subarray(from, to));
    for (let i = from; i < to; i++) [tailP, tailM] = [Math.max(tailP, absBits(pv[i])), Math.max(tailM, absBits(mv[i]))];
  });
  if (wide) return true;
  return { p: fromAbsBits(Math.max(k.pmax.value >>> 0, tailP)), m: fromAbsBits(Math.max(k.mmax.value >>> 0, tailM)) };
}

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** The bits of float32 |x| (as lion32 compares them: NaN above +Inf). */
function absBits(x: number): number {
  asFloat[0] = x;
  return (bits[0] & 0x7fffffff) >>> 0;
}

/** The float32 magnitude of such bits: NaN for any NaN pattern. */
function fromAbsBits(b: number): number {
  bits[0] = b;
  return asFloat[0];
}

/**
 * Whether Lion's step over (p, g, m) would give only finite values, read
 * without writing anything, or undefined where the kernels do not run.
 * Arrays in the kernels' memory (an optimizer's state, and parameters from
 * allocate()) are read where they are; only the others are copied through.
 * `loop` is Lion's loop, run on copies of each chunk's tail.
 */
export function lionFiniteSimd(p: Floats, g: Floats, m: Floats, c: LionConstants, loop: (p: Floats, g: Floats, m: Floats) => void): boolean | undefined {
  const k = simd([p, m, g]);
  if (!k) return undefined;
  const run = p instanceof Float64Array ? k.lion64check : k.lion32check;
  let ok = true;
  stream(k, [p, m, g], 0, ([po, mo, go], n) => { ok &&= run(po, go, mo, n, c.b1, c.c1, c.b2, c.c2, c.lr, c.decay) === 1; }, ([pv, mv, gv], from, to) => {
    const [pt, mt] = [pv.slice(from, to), mv.slice(from, to)];
    loop(pt, gv.subarray(from, to), mt);
    ok &&= [pt, mt].every((x) => x.every((v) => v - v === 0));
  });
  return ok;
}

/** AdamW's step constants, already rounded to the element type. */
export interface AdamConstants { b1: number; c1: number; b2: number; c2: number; eps: number; decay: number; stepSize: number; bc2Sqrt: number }

/** AdamW over (p, g, m, v), as {@link lionSimd}. */
export function adamwSimd(p: Floats, g: Floats, m: Floats, v: Floats, c: AdamConstants, loop: (p: Floats, g: Floats, m: Floats, v: Floats) => void): boolean {
  const k = simd([p, m, v, g]);
  if (!k) return false;
  const run = p instanceof Float64Array ? k.adamw64 : k.adamw32;
  stream(k, [p, m, v, g], 3, ([po, mo, vo, go], n) => run(po, go, mo, vo, n, c.b1, c.c1, c.b2, c.c2, c.eps, c.decay, c.stepSize, c.bc2Sqrt),
    ([pv, mv, vv, gv], from, to) => loop(pv.subarray(from, to), gv.subarray(from, to), mv.subarray(from, to), vv.subarray(from, to)));
  return true;
}

const SUMS = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'] as const;

/**
 * Adds the squares of `x` to clipGradNorm's eight partial sums (element j to
 * `sums[j % 8]`) with the SIMD kernel, returning false where it does not run
 * (the caller runs `loop`, which adds elements [from, to) of an array, from
 * a multiple of 8, and also runs on each chunk's tail).
 */
export function sumSquaresSimd(x: Floats, sums: Float64Array, loop: (x: Floats, sums: Float64Array, from: number, to: number) => void): boolean {
  const k = simd([x]);
  if (!k) return false;
  const run = x instanceof Float64Array ? k.sumsq64 : k.sumsq32;
  SUMS.forEach((s, i) => { k[s].value = sums[i]; });
  stream(k, [x], 0, ([xo], n) => run(xo, n), ([xv], from, to) => {
    SUMS.forEach((s, i) => { sums[i] = k[s].value; });
    loop(xv, sums, from, to);
    SUMS.forEach((s, i) => { k[s].value = sums[i]; });
  }, 8);
  SUMS.forEach((s, i) => { sums[i] = k[s].value; });
  return true;
}

/** `x[j] *= coef` for every element, as {@link sumSquaresSimd} (`loop` scales elements [from, to)). */
export function scaleSimd(x: Floats, coef: number, loop: (x: Floats, coef: number, from: number, to: number) => void): boolean {
  const k = simd([x]);
  if (!k) return false;
  const run = x instanceof Float64Array ? k.scale64 : k.scale32;
  stream(k, [x], 1, ([xo], n) => run(xo, n, coef), ([xv], from, to) => loop(xv, coef, from, to));
  return true;
}
