/**
 * The randomUniform primitive's numbers computed on the host, for a backend
 * that feeds them to its graph instead of drawing them there: the same
 * generator (random-bits.ts) over WebAssembly SIMD (kernels/random.wat),
 * four words at a time, where the runtime has it.
 */
import { RANDOM_WASM_BASE64 } from './kernels/random-wasm.js';
import { squares16, squares32 } from './random-bits.js';
import { compileWasm, type CompiledWasm } from './wasm.js';
import { fail, show } from './errors.js';
import { describe } from './dtype.js';

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  uniform16(out: number, n: number, key: number): void;
  uniform24(out: number, n: number, key: number): void;
  mask16(out: number, n: number, key: number, drops: number, scale: number): void;
}

const PAGE_BYTES = 1 << 16;
/** The most elements one array may have: under 4 GiB of float32, a WebAssembly memory's limit (the kernel counts bytes in 32 bits). */
const MAX_LENGTH = 2 ** 30 - 1;
let compiled: CompiledWasm | null | undefined;
/** The instance whose memory holds each array of allocateUniform, by its buffer. */
const owners = new WeakMap<ArrayBuffer, Exports>();
/** Fills that ran the SIMD kernel (`masks`: of them, Dropout masks). For tests. */
export const uniformKernelCalls = { simd: 0, masks: 0 };

/** Whether the SIMD kernel runs here (compiled on the first call, never on import). */
export function uniformKernelAvailable(): boolean {
  compiled ??= compileWasm(RANDOM_WASM_BASE64);
  return compiled !== null;
}

/**
 * float32 arrays of `lengths` elements (each under 2^30), zeros, in a
 * WebAssembly memory of their own (an instance of the kernel grown once to
 * hold them and never again, so the views stay valid), which the generator
 * fills in place; ordinary arrays where the kernel does not run or they do
 * not fit in one memory (4 GiB). For the random inputs of a model lowered
 * with `randomInputs`: `allocateUniform(model.randomInputs.map(r => size
 * of r.shape))`, once, and `r.fill(array, read)` before each run.
 */
export function allocateUniform(lengths: readonly number[]): Float32Array[] {
  const site = 'allocateUniform';
  if (!Array.isArray(lengths)) fail(site, `lengths expected an array of element counts, got ${describe(lengths)}`);
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i];
    if (!Number.isInteger(n) || n < 0 || n > MAX_LENGTH) fail(site, `lengths[${i}] expected an integer from 0 to 2^30 − 1, got ${show(n)}`);
  }
  if (uniformKernelAvailable()) {
    const starts: number[] = [];
    let end = 0;
    for (const n of lengths) {
      starts.push(end);
      end += Math.ceil(n / 4) * 16;
    }
    try {
      const k = new compiled!.wasm.Instance(compiled!.module, {}).exports as Exports;
      if (end > 0) k.memory.grow(Math.ceil(end / PAGE_BYTES));
      owners.set(k.memory.buffer, k);
      return lengths.map((n, i) => new Float32Array(k.memory.buffer, starts[i], n));
    } catch {
      // Out of memory for another instance: ordinary arrays.
    }
  }
  try {
    return lengths.map((n) => new Float32Array(n));
  } catch (e) {
    return fail(site, `expected memory for ${lengths.length} float32 arrays of ${lengths.reduce((a, n) => a + n, 0)} elements in all, got ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Fills `out` with numbers 0, 1, … of the stream `key` (random-bits'
 * randomKey): squares16(key, i) / 2^16 at 16 bits, squares32(key, i) / 2^24
 * at 24, each exact in float32, so the randomUniform kernel's values. Over
 * SIMD when `out` came from {@link allocateUniform} and the kernel runs, in
 * JavaScript otherwise (and for the last few); the bits are the same.
 */
export function fillUniform(out: Float32Array, key: number, bits: 16 | 24): void {
  const k = owners.get(out.buffer as ArrayBuffer);
  let from = 0;
  if (k) {
    from = out.length - (out.length % (bits === 16 ? 8 : 4));
    (bits === 16 ? k.uniform16 : k.uniform24)(out.byteOffset, from, key | 0);
    uniformKernelCalls.simd++;
  }
  if (bits === 16) for (let i = from; i < out.length; i++) out[i] = squares16(key, i) / 65536;
  else for (let i = from; i < out.length; i++) out[i] = squares32(key, i) / 16777216;
}

/**
 * Fills `out` with a Dropout mask of the stream `key`: number i is `scale`
 * where the 16 bits of number i (its {@link fillUniform} value times 2^16)
 * are at least `drops` (an integer from 0 to 65535: the rate times 2^16),
 * else +0. `scale` must be a float32 value. In one pass over SIMD where
 * fillUniform's numbers are, in JavaScript otherwise and for the last few.
 */
export function fillDropoutMask(out: Float32Array, key: number, drops: number, scale: number): void {
  const k = owners.get(out.buffer as ArrayBuffer);
  let from = 0;
  if (k) {
    from = out.length - (out.length % 8);
    k.mask16(out.byteOffset, from, key | 0, drops, scale);
    uniformKernelCalls.simd++;
    uniformKernelCalls.masks++;
  }
  for (let i = from; i < out.length; i++) out[i] = squares16(key, i) >= drops ? scale : 0;
}
