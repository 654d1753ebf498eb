/**
 * The graphs the browser conformance page runs, their feeds, and the
 * comparison of a backend's outputs with the reference backend's. Nothing
 * here touches the DOM or onnxruntime, so it also runs under Node.
 */
import {
  abs, AdamW, argMax, cast, clipGradNorm, concat, crossEntropy, DecoderLM, exp, expand, gather, greater, iota, log, matmul, maximum, mean, mul,
  Lion, pad, randomUniform, reshape, scatterAdd, sliceAxis, softmax, sqrt, sum, tanh, tensor, trace, transpose, vjp, where,
  type Backend, type Dim, type DType, type Executable, type Graph, type PositionKind, type Tensor,
} from '../../../src/index.js';
import type { OrtCompileOptions } from '../../../src/web.js';

/** One graph and the feeds it is run with (one entry per runtime size of its symbolic dims). */
export interface Case {
  readonly name: string;
  /** 'symbolic': B and T are named dims, fed two runtime sizes; 'static': fixed to the first size. */
  readonly dims: Dims;
  readonly graph: Graph;
  readonly feeds: readonly (readonly Tensor[])[];
  /** Indices of float outputs that must be bit-identical (randomUniform). */
  readonly bitExact: readonly number[];
}

/** How one output of one run differs from the reference. */
export interface OutputReport {
  readonly output: number;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly shapeMatches: boolean;
  /** Compared bit for bit (randomUniform, integer and bool outputs). */
  readonly exact: boolean;
  /** Elements that differ in bits; only for exact outputs. */
  readonly bitMismatches: number;
  readonly maxAbs: number;
  /** max |ref|: how large the compared values are. */
  readonly refMaxAbs: number;
  /** max |a - ref| / |ref| over elements with |ref| >= 1e-3. */
  readonly maxRel: number;
  /** max |a - ref| / (ATOL + RTOL |ref|): at most 1 passes. */
  readonly worstRatio: number;
  /** A NaN or infinity where the reference has a finite value (or the reverse). */
  readonly nonFiniteMismatch: boolean;
}

/** How a case's batch and sequence dims are declared. */
export type Dims = 'symbolic' | 'static';

/** One case on one device. */
export interface RunReport {
  readonly case: string;
  readonly dims: Dims;
  readonly device: string;
  /** True when the numbers come from a strictDevice compile. */
  readonly strict: boolean;
  /** Why a strictDevice compile was refused, when it was tried and refused. */
  readonly strictError?: string;
  readonly compileMs: number;
  readonly runMs: number;
  readonly error?: string;
  readonly runs: readonly (readonly OutputReport[])[];
}

/**
 * The float32 tolerance: |ort - reference| <= ATOL + RTOL * |reference|,
 * elementwise. Measured on SwiftShader and wasm: max abs 2.4e-7, max rel
 * 7e-5, so this leaves 10-100x headroom and still resolves gradients of 1e-3.
 */
export const ATOL = 1e-5;
export const RTOL = 1e-4;

/** mulberry32: a small deterministic PRNG for feeds. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = (rand: () => number, shape: number[], scale = 1): Tensor =>
  tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() * 2 - 1) * scale), { shape });
const i32 = (values: number[], shape: number[]): Tensor => tensor(Int32Array.from(values), { shape, dtype: 'int32' });
const ints = (rand: () => number, n: number, below: number): number[] => Array.from({ length: n }, () => Math.floor(rand() * below));

/**
 * A mix of primitives over symbolic dims B and T: matmul, softmax, gather,
 * scatterAdd with repeated indices, randomUniform with a symbolic shape,
 * reductions, argMax, elementwise ops, movement ops, iota and casts.
 */
function primitiveMix(dims: Dims): Case {
  const sizes = dims === 'symbolic' ? [[2, 3], [1, 5]] : [[2, 3]];
  const [B, T]: Dim[] = dims === 'symbolic' ? ['B', 'T'] : sizes[0];
  const graph = trace((x, w, idx, seed, step) => {
    const logits = matmul(x, w); // (B, T, 5)
    const probs = softmax(logits); // (B, T, 5)
    const picked = gather(probs, idx, 2); // (B, T, T)
    const rows = sum(x, 0); // (T, 4)
    const scattered = scatterAdd(transpose(w), idx, rows, 0); // (5, 4), repeated indices accumulate
    const noise = randomUniform(seed, step, [B, T, 3]); // a symbolic shape when dims are
    const noise2 = randomUniform(seed, step, [4, 2], { salt: 1 });
    const noise16 = randomUniform(seed, step, [B, T, 3], { salt: 2, bits: 16 }); // two numbers per generator word
    const smooth = add3(tanh(logits), sqrt(abs(x)), log(exp(mean(x, -1, { keepDims: true }))));
    const gated = where(greater(logits, 0), mul(logits, 2), maximum(logits, -0.25));
    const best = argMax(logits, -1); // (B, T)
    const positions = cast(iota(T, 'int32'), 'float32'); // (T)
    const moved = pad(sliceAxis(concat([x, expand(reshape(positions, [1, T, 1]), [B, T, 1])], 2), 2, 1, 5), [0, 0, 1], [B, T, 6]);
    return [probs, picked, scattered, noise, noise2, smooth, gated, best, moved, noise16];
  }, [
    { shape: [B, T, 4], name: 'x' },
    { shape: [4, 5], name: 'w' },
    { shape: [T], dtype: 'int32', name: 'idx' },
    { shape: [], dtype: 'int32', name: 'seed' },
    { shape: [], dtype: 'int32', name: 'step' },
  ]);
  const rand = prng(1);
  const feeds = sizes.map(([b, t], k) => [
    f32(rand, [b, t, 4]), f32(rand, [4, 5]), i32([...ints(rand, t - 1, 5), 0], [t]),
    i32([1234 + k], []), i32([7 * k + 1], []),
  ]);
  return { name: 'primitive-mix', dims, graph, feeds, bitExact: [3, 4, 9] };
}

function add3(a: Tensor, b: Tensor, c: Tensor): Tensor {
  return concat([a, b, c], -1);
}

const VOCAB = 11;

/** A tiny model with random weights of scale 0.5 (the default init is small, which would make gradients tiny). */
function tinyLM(position: PositionKind, seed: number): DecoderLM {
  const lm = new DecoderLM({ vocab: VOCAB, dim: 8, hidden: 16, layers: 2, heads: 2, kvHeads: 1, position, maxPositions: 16, seed });
  const rand = prng(seed + 100);
  lm.loadStateDict(new Map(lm.namedParameters().map(([n, p]) => [n, f32(rand, p.value.shape as number[], 0.5)])));
  return lm;
}

/** A tiny DecoderLM forward over (B, T) token ids: logits. */
function decoderForward(position: PositionKind, dims: Dims): Case {
  const lm = tinyLM(position, position === 'rope' ? 3 : 4);
  const sizes = dims === 'symbolic' ? [[2, 4], [1, 6]] : [[2, 4]];
  const graph = trace((ids) => lm.forward(ids).logits, [{ shape: dims === 'symbolic' ? ['B', 'T'] : sizes[0], dtype: 'int32', name: 'ids' }]);
  const rand = prng(position === 'rope' ? 2 : 3);
  const feeds = sizes.map(([b, t]) => [i32(ints(rand, b * t, VOCAB), [b, t])]);
  return { name: `decoder-forward-${position}`, dims, graph, feeds, bitExact: [] };
}

/** The vjp of a tiny DecoderLM's crossEntropy loss w.r.t. every parameter (parameters are graph inputs). */
function decoderLossVjp(dims: Dims): Case {
  const lm = tinyLM('rope', 5);
  const params = lm.parameters().map((p) => p.value);
  const [B, T] = [2, 4];
  const ids: Dim[] = dims === 'symbolic' ? ['B', 'T'] : [B, T];
  const forward = trace(
    (ids, targets, ...ps) => lm.withParameters(ps, () => crossEntropy(lm.forward(ids).logits, targets)),
    [
      { shape: ids, dtype: 'int32', name: 'ids' },
      { shape: ids, dtype: 'int32', name: 'targets' },
      ...params.map((p, i) => ({ shape: p.shape, name: `p${i}` })),
    ],
  );
  const graph = vjp(forward);
  const rand = prng(4);
  const feeds = [[
    i32(ints(rand, B * T, VOCAB), [B, T]), i32(ints(rand, B * T, VOCAB), [B, T]), ...params, tensor(new Float32Array([1]), { shape: [] }),
  ]];
  return { name: 'decoder-crossentropy-vjp', dims, graph, feeds, bitExact: [] };
}

/** The cases' names, in order. */
export const CASE_NAMES: readonly string[] = ['primitive-mix', 'decoder-forward-rope', 'decoder-forward-alibi', 'decoder-crossentropy-vjp'];

/** Every case with the given dims, built fresh. */
export function buildCases(dims: Dims): Case[] {
  return [primitiveMix(dims), decoderForward('rope', dims), decoderForward('alibi', dims), decoderLossVjp(dims)];
}

/** Compares one output with the reference's. */
export function compareOutput(output: number, got: Tensor, ref: Tensor, bitExact: boolean): OutputReport {
  const shape = got.shape as readonly number[];
  const shapeMatches = got.dtype === ref.dtype && shape.length === ref.shape.length && shape.every((d, i) => d === ref.shape[i]);
  const exact = bitExact || (got.dtype !== 'float32' && got.dtype !== 'float64');
  const base = { output, dtype: got.dtype, shape, shapeMatches, exact };
  if (!shapeMatches) return { ...base, bitMismatches: -1, refMaxAbs: NaN, maxAbs: Infinity, maxRel: Infinity, worstRatio: Infinity, nonFiniteMismatch: false };
  const a = got.data();
  const b = ref.data();
  let bitMismatches = 0;
  if (exact) {
    const bytes = (t: typeof a): Uint8Array => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    const [x, y] = [bytes(a), bytes(b)];
    const width = a.BYTES_PER_ELEMENT;
    for (let i = 0; i < a.length; i++) {
      for (let k = 0; k < width; k++) {
        if (x[i * width + k] !== y[i * width + k]) { bitMismatches++; break; }
      }
    }
  }
  let maxAbs = 0;
  let refMaxAbs = 0;
  let maxRel = 0;
  let worstRatio = 0;
  let nonFiniteMismatch = false;
  for (let i = 0; i < a.length; i++) {
    const [u, v] = [Number(a[i]), Number(b[i])];
    if (!Number.isFinite(u) || !Number.isFinite(v)) {
      if (!Object.is(u, v)) nonFiniteMismatch = true;
      continue;
    }
    const d = Math.abs(u - v);
    maxAbs = Math.max(maxAbs, d);
    refMaxAbs = Math.max(refMaxAbs, Math.abs(v));
    if (Math.abs(v) >= 1e-3) maxRel = Math.max(maxRel, d / Math.abs(v));
    worstRatio = Math.max(worstRatio, d / (ATOL + RTOL * Math.abs(v)));
  }
  return { ...base, bitMismatches, refMaxAbs, maxAbs, maxRel, worstRatio, nonFiniteMismatch };
}

/**
 * Compiles a case on `backend` and compares every run with the reference
 * outputs. With `strictFirst`, it compiles with strictDevice first; if that
 * is refused, the refusal is recorded and the numbers come from a plain
 * compile, so a refusal does not hide the numerics.
 */
export async function runCase(c: Case, backend: Backend, device: string, strictFirst: boolean, reference: readonly (readonly Tensor[])[]): Promise<RunReport> {
  const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
  const t0 = performance.now();
  let exe: Executable | undefined;
  let strictError: string | undefined;
  if (strictFirst) {
    try {
      const strict: OrtCompileOptions = { device, strictDevice: true };
      exe = await backend.compile(c.graph, strict);
    } catch (e) {
      strictError = message(e);
    }
  }
  const head = { case: c.name, dims: c.dims, device, strict: strictFirst && strictError === undefined, ...(strictError === undefined ? {} : { strictError }) };
  try {
    exe ??= await backend.compile(c.graph, { device });
  } catch (e) {
    return { ...head, compileMs: performance.now() - t0, runMs: 0, error: `compile: ${message(e)}`, runs: [] };
  }
  const t1 = performance.now();
  const runs: OutputReport[][] = [];
  try {
    for (const [k, feeds] of c.feeds.entries()) {
      const outs = await exe.run(feeds);
      runs.push(outs.map((o, i) => compareOutput(i, o, reference[k][i], c.bitExact.includes(i))));
    }
  } catch (e) {
    return { ...head, compileMs: t1 - t0, runMs: performance.now() - t1, error: `run: ${message(e)}`, runs };
  }
  return { ...head, compileMs: t1 - t0, runMs: performance.now() - t1, runs };
}

/**
 * Three standalone Lion and AdamW steps over 5003 float32 parameters from a
 * fixed generator (large enough for the WebAssembly SIMD kernels), each
 * gradient clipped to norm 1 with clipGradNorm first, as the FNV-1a hash of
 * the parameters', state's and norms' bits, on ordinary arrays and on
 * arrays from `allocate()` (stepped in place where SIMD runs): the page
 * computes it in the browser, the test in Node with the JavaScript loops.
 */
export function optimizerBits(): { lion: number; adamw: number; lionAllocated: number; adamwAllocated: number } {
  const n = 5003;
  const values = (seed: number): Float32Array => {
    const a = new Float32Array(n);
    let x = seed >>> 0;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      a[i] = (x / 2 ** 32 - 0.5) * 2 ** ((x % 9) - 4);
    }
    return a;
  };
  const hash = (arrays: Float32Array[]): number => {
    let h = 0x811c9dc5;
    for (const a of arrays) for (const w of new Uint32Array(a.buffer, a.byteOffset, a.length)) h = Math.imul(h ^ w, 0x01000193) >>> 0;
    return h;
  };
  const norms = new Float64Array(3);
  const run = (opt: Lion | AdamW): number => {
    const p = values(1);
    for (let t = 0; t < 3; t++) {
      const g = values(10 + t);
      norms[t] = clipGradNorm([g], 1);
      opt.step([p], [g]);
    }
    return hash([p, ...(opt.state().buffers[0] as Float32Array[]), new Float32Array(norms.buffer)]);
  };
  const allocated = (opt: Lion | AdamW): number => {
    const { params, grads } = opt.allocate([n]);
    params[0].set(values(1));
    for (let t = 0; t < 3; t++) {
      grads[0].set(values(10 + t));
      norms[t] = clipGradNorm(grads, 1);
      opt.step(params, grads);
    }
    return hash([params[0] as Float32Array, ...(opt.state().buffers[0] as Float32Array[]), new Float32Array(norms.buffer)]);
  };
  const lion = (): Lion => new Lion({ lr: 1e-3, weightDecay: 0.1 });
  const adamw = (): AdamW => new AdamW({ lr: 1e-3, weightDecay: 0.1 });
  return { lion: run(lion()), adamw: run(adamw()), lionAllocated: allocated(lion()), adamwAllocated: allocated(adamw()) };
}
