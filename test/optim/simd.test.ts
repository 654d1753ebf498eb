/**
 * The WebAssembly SIMD kernels of the standalone Lion and AdamW steps
 * (src/optim/kernels/optim.wat, used from 2048 elements on):
 * - give the bits of the JavaScript loops, float32 and float64, over
 *   several steps with state carried, on sizes that leave vector tails and
 *   span several 128 KB chunks, with values that probe rounding (±0,
 *   subnormals, huge and tiny magnitudes) and with option groups;
 * - give Lion the bits of graphUpdate run on the reference backend (float32);
 * - the committed bytes are what scripts/build-wasm.mjs builds from the .wat;
 * - importing the package compiles no WebAssembly; the first large step does, once;
 *   a runtime that refuses to compile it runs the loops instead;
 * - a gradient that shares memory with its parameter (the same array, or
 *   overlapping views) acts as its copy taken before the step, on both paths
 *   (the Lion loop read g again after writing p, the kernel did not);
 * - clipGradNorm's norm is the documented sum (eight float64 partial sums,
 *   element j into sum j mod 8, combined pairwise), computed here by hand,
 *   with and without SIMD; the clipped gradients have the same bits on both
 *   paths and on arrays allocated by an optimizer, where the kernels run in
 *   place (counted);
 * - ordinary arrays' chunks go half a page (modulo 4 KB) from where they
 *   are in their own buffers, so no copy's destination lies just past its
 *   source (such copies ran several times slower);
 * - on ordinary arrays a step copies only the parameters and gradients
 *   through WebAssembly memory (the elements TypedArray.set copies are
 *   counted): the optimizer's state stays in a memory of its own, and
 *   loadState writes into it; arrays in two optimizers' memories step to
 *   the bits of ordinary arrays.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { AdamW, clipGradNorm, Lion, referenceBackend, tensor, trace, type Floats } from '../../src/index.js';
import { kernelCalls, useSimdKernels } from '../../src/optim/kernels/simd.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
afterEach(() => useSimdKernels(true));

// 2063 leaves every kernel's one-vector loop work after its unrolled one (Lion's 8 floats an
// iteration, clipping's 16), and a tail for JavaScript.
const SIZES = [2048, 2051, 2063, 32768 * 2 + 5, 16384 * 3 + 1];
const SPECIAL = [0, -0, 1e-40, -1e-42, 3e38, -3e38, 1e-30, 65504, 1, -1];

function values(n: number, seed: number, wide: boolean): Floats {
  const a = wide ? new Float64Array(n) : new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = i % 97 === 0 ? SPECIAL[(x >>> 8) % SPECIAL.length] : (x / 2 ** 32 - 0.5) * 2 ** ((x % 13) - 6);
  }
  return a;
}

const bits = (a: Floats): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4));

type Make = () => Lion | AdamW;
const OPTIMIZERS: [string, Make][] = [
  ['Lion', () => new Lion({ lr: 3e-3, weightDecay: 0.1, groups: [{ params: [1], lrScale: 0.5, weightDecay: 0 }] })],
  ['Lion betas 0.95/0.98', () => new Lion({ lr: 1e-4, betas: [0.95, 0.98] })],
  ['AdamW', () => new AdamW({ lr: 3e-3, weightDecay: 0.1, groups: [{ params: [1], lrScale: 2 }] })],
  ['AdamW eps 1e-6', () => new AdamW({ lr: 1e-2, eps: 1e-6, betas: [0.8, 0.9] })],
];

describe.each(OPTIMIZERS)('%s: SIMD kernels', (_name, make) => {
  it.each([['float32', false], ['float64', true]] as const)('%s: the bits of the JavaScript loop over 4 steps, every size', (_dtype, wide) => {
    for (const n of SIZES) {
      const run = (simd: boolean): Floats[] => {
        useSimdKernels(simd);
        const opt = make();
        const params = [values(n, 1, wide), values(n + 3, 2, wide)];
        for (let t = 0; t < 4; t++) opt.step(params, [values(n, 10 + t, wide), values(n + 3, 20 + t, wide)]);
        return [...params, ...opt.state().buffers.flat()];
      };
      const [fast, slow] = [run(true), run(false)];
      fast.forEach((a, i) => expect(bits(a), `n ${n}, array ${i}`).toEqual(bits(slow[i])));
    }
  });
});

describe('SIMD kernels against the graph form', () => {
  // (AdamW's standalone and graph forms agree within a tolerance, not in bits: see adamw.test.ts.)
  it.each([['Lion', () => new Lion({ lr: 1e-2, weightDecay: 0.3 }), 1]] as const)(
    '%s float32: a large standalone step has the bits of graphUpdate on the reference backend', async (_name, make, slots) => {
      const n = 4099;
      const opt = make();
      const graph = trace((lr, step, p, g, ...s) => {
        const u = opt.graphUpdate([p], [g], [s], { lr, step });
        return [...u.params, ...u.slots.flat()];
      }, [{ shape: [] }, { shape: [], dtype: 'int32' }, { shape: [n] }, { shape: [n] }, ...Array.from({ length: slots }, () => ({ shape: [n] }))]);
      const exe = await referenceBackend.compile(graph);
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), async (seed) => {
        const standalone = make();
        const p = values(n, seed, false) as Float32Array;
        let state = [tensor(p.slice()), ...Array.from({ length: slots }, () => tensor(new Float32Array(n)))];
        for (let t = 1; t <= 3; t++) {
          const g = values(n, seed + t, false) as Float32Array;
          standalone.step([p], [g]);
          const out = await exe.run([tensor(Math.fround(opt.defaults.lr)), tensor(t, { dtype: 'int32' }), state[0], tensor(g), ...state.slice(1)]);
          state = out;
        }
        expect(bits(p)).toEqual(bits(state[0].data() as Float32Array));
        standalone.state().buffers[0].forEach((b, i) => expect(bits(b)).toEqual(bits(state[1 + i].data() as Float32Array)));
      }), { numRuns: 4 });
    });
});

describe('a gradient sharing memory with its parameter', () => {
  it.each(OPTIMIZERS)('%s: the same array, or overlapping views, act as a copy of the gradient taken before the step', (_name, make) => {
    for (const n of [100, 4099]) {
      for (const simd of [true, false]) {
        useSimdKernels(simd);
        // The same array as parameter and gradient.
        const [alias, copy] = [values(n, 3, false), values(n, 3, false)];
        const [a, b] = [make(), make()];
        for (let t = 0; t < 3; t++) {
          a.step([alias, values(n + 3, 4, false)], [alias, values(n + 3, 5, false)]);
          b.step([copy, values(n + 3, 4, false)], [copy.slice(), values(n + 3, 5, false)]);
        }
        expect(bits(alias), `n ${n}, simd ${simd}`).toEqual(bits(copy));
        // Views of one buffer, one element apart.
        const buffer = values(n + 1, 6, false);
        const [p, g] = [buffer.subarray(1), buffer.subarray(0, n)];
        const [p2, g2] = [p.slice(), g.slice()];
        make().step([p, values(n + 3, 4, false)], [g, values(n + 3, 5, false)]);
        make().step([p2, values(n + 3, 4, false)], [g2, values(n + 3, 5, false)]);
        expect(bits(p), `views, n ${n}, simd ${simd}`).toEqual(bits(p2));
      }
    }
  });
});

describe('the finiteness check', () => {
  it.each([['float32', false], ['float64', true]] as const)('%s: a step with a non-finite gradient anywhere is refused, naming the first, and changes nothing', (_dtype, wide) => {
    for (const n of [2048, 2051, 40000]) {
      for (const [at, bad] of [[0, NaN], [n - 1, Infinity], [Math.floor(n / 2), -Infinity]] as const) {
        const opt = new Lion();
        const p = values(n, 1, wide);
        const before = bits(p);
        const g = values(n, 2, wide);
        g[at] = bad;
        expect(() => opt.step([p], [g])).toThrow(new RegExp(`grads\\[0\\] expected finite values, got ${bad} at index ${at}`));
        expect(bits(p)).toEqual(before);
        expect(opt.stepCount).toBe(0);
      }
    }
  });
  it.each([['float32', false], ['float64', true]] as const)('%s: found at every position of the kernel\'s last iterations and of the tail', (_dtype, wide) => {
    const n = 2063;
    for (let at = 1980; at < n; at++) {
      const g = values(n, 2, wide);
      g[at] = at % 2 ? NaN : -Infinity;
      expect(() => new Lion().step([values(n, 1, wide)], [g])).toThrow(`at index ${at}`);
    }
  });
});

describe('clipGradNorm on the SIMD kernels', () => {
  /** The documented sum of squares, by hand: eight partial sums, element j of each array into sum j mod 8. */
  function documentedNorm(grads: readonly Floats[]): number {
    const s = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const g of grads) g.forEach((x, j) => { s[j % 8] += x * x; });
    return Math.sqrt(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
  }
  /** Values of magnitudes 2^-7 to 2^5, whose squares all count in the sum (values() has ±3e38, whose square swamps the rest). */
  const moderate = (n: number, seed: number, wide: boolean): Floats => values(n, seed, wide).map((x) => (Math.abs(x) > 64 || Math.abs(x) < 2 ** -8 ? 0.5 : x));
  const lists = (wide: boolean): Floats[][] => [
    ...SIZES.map((n, i) => [moderate(n, 30 + i, wide)]),
    [moderate(5, 40, wide), moderate(4099, 41, wide), moderate(3, 42, wide), moderate(40_003, 43, wide)],
    [values(40_003, 44, wide)],
  ];

  it.each([['float32', false], ['float64', true]] as const)('%s: the norm is the documented sum and the clipped gradients have the same bits, with and without SIMD', (_dtype, wide) => {
    lists(wide).forEach((list, l) => {
      const want = documentedNorm(list);
      for (const max of [want * 2, want / 3]) {
        const got = [true, false].map((simd) => {
          useSimdKernels(simd);
          const grads = list.map((g) => g.slice());
          const before = { ...kernelCalls };
          expect(clipGradNorm(grads, max), `list ${l}, simd ${simd}`).toBe(want);
          // The first list's arrays are all large enough for the kernels: they ran (or not) as asked.
          if (l === 0) expect(kernelCalls.streamed > before.streamed, `list ${l}, simd ${simd}`).toBe(simd);
          return grads;
        });
        got[0].forEach((g, i) => expect(bits(g), `list ${l}, array ${i}, max ${max}`).toEqual(bits(got[1][i])));
        if (max > want) got[0].forEach((g, i) => expect(bits(g)).toEqual(bits(list[i])));
      }
    });
  });

  it.each([['float32'], ['float64']] as const)('%s: gradients allocated by an optimizer are clipped in place, to the bits of ordinary arrays', (dtype) => {
    const lengths = [4099, 40_003, 7];
    const { grads } = new Lion().allocate(lengths, dtype);
    const plain = lengths.map((n, i) => moderate(n, 50 + i, dtype === 'float64'));
    grads.forEach((g, i) => g.set(plain[i]));
    const want = documentedNorm(plain);
    const before = kernelCalls.inPlace;
    expect(clipGradNorm(grads, want / 2)).toBe(want);
    // A sum and a scaling per array, the 7-element one too (allocated arrays always run on their kernels).
    expect(kernelCalls.inPlace - before).toBe(6);
    clipGradNorm(plain, want / 2);
    grads.forEach((g, i) => expect(bits(g)).toEqual(bits(plain[i])));
  });
});

describe('ordinary arrays: what a step copies through WebAssembly memory', () => {
  /** The elements TypedArray.prototype.set copies into or out of Float32Arrays while `fn` runs. */
  function copiedDuring(fn: () => void): number {
    const set = Float32Array.prototype.set;
    let copied = 0;
    Float32Array.prototype.set = function (this: Float32Array, source: ArrayLike<number>, offset?: number) {
      copied += source.length;
      return set.call(this, source, offset);
    };
    try {
      fn();
    } finally {
      delete (Float32Array.prototype as { set?: unknown }).set;
    }
    expect(Float32Array.prototype.set).toBe(set);
    return copied;
  }

  it.each([['Lion', () => new Lion()], ['AdamW', () => new AdamW()]] as const)('%s: the parameters and gradients only; the state stays in the optimizer\'s own memory', (_name, make) => {
    const n = 300_000;
    const p = values(n, 1, false);
    const g = values(n, 2, false).map((x) => x / 1e30);
    const opt = make();
    opt.step([p], [g]);
    // The second step copies the gradient for the finite check, then the parameter and the gradient in and the
    // parameter out (chunk by chunk). The state (Lion's m, AdamW's m and v) was copied in and out as well when it
    // was an ordinary array.
    expect(copiedDuring(() => opt.step([p], [g]))).toBe(4 * n);
  });

  it('arrays in two optimizers\' memories (one stepping the other\'s allocate() arrays): the bits of ordinary arrays', () => {
    const n = 70_000;
    const owner = new Lion();
    const { params, grads } = owner.allocate([n]);
    params[0].set(values(n, 6, false));
    grads[0].set(values(n, 7, false).map((x) => x / 1e30));
    const [p, g] = [params[0].slice(), grads[0].slice()];
    const [other, plain] = [new AdamW(), new AdamW()];
    for (let i = 0; i < 3; i++) {
      other.step(params, grads);
      plain.step([p], [g]);
    }
    expect(bits(params[0])).toEqual(bits(p));
    // The step runs on the memory holding the parameter and gradient (the gradient's finite check too): only
    // AdamW's m and v, in its own memory, are copied in and out.
    expect(copiedDuring(() => other.step(params, grads))).toBe(4 * n);
  });

  it('loadState writes the loaded state into the optimizer\'s own memory: the next step continues from it, copying only the parameters and gradients', () => {
    const n = 100_000;
    const g = values(n, 4, false).map((x) => x / 1e30);
    const p = values(n, 3, false);
    const a = new AdamW();
    a.step([p], [g]);
    const saved = a.state();
    const p1 = p.slice();
    a.step([p], [g]);
    // An optimizer with state of its own in its memory, then the saved state loaded over it; and a fresh one.
    const q = values(n, 5, false);
    const c = new AdamW();
    c.step([q], [g]);
    c.loadState(saved);
    q.set(p1);
    expect(copiedDuring(() => c.step([q], [g]))).toBe(4 * n);
    expect(bits(q)).toEqual(bits(p));
    const r = p1.slice();
    const d = new AdamW();
    d.loadState(saved);
    expect(copiedDuring(() => d.step([r], [g]))).toBe(4 * n);
    expect(bits(r)).toEqual(bits(p));
  });
});

describe('ordinary arrays: where their chunks go in WebAssembly memory', () => {
  /**
   * For each TypedArray.prototype.set between one of `mine` and another buffer while `fn` runs: the
   * distance, in bytes modulo 4 KB, between the two positions copied (taken within each buffer).
   */
  function distancesDuring(mine: readonly ArrayBufferLike[], fn: () => void): number[] {
    const distances: number[] = [];
    const types = [Float32Array, Float64Array] as const;
    const sets = types.map((T) => T.prototype.set);
    types.forEach((T, i) => {
      T.prototype.set = function (this: Floats, source: ArrayLike<number>, offset = 0) {
        if (ArrayBuffer.isView(source) && mine.includes(this.buffer) !== mine.includes(source.buffer)) {
          const to = this.byteOffset + offset * this.BYTES_PER_ELEMENT;
          distances.push((((to - source.byteOffset) % 4096) + 4096) % 4096);
        }
        return sets[i].call(this, source as Floats, offset);
      };
    });
    try {
      fn();
    } finally {
      types.forEach((T) => delete (T.prototype as { set?: unknown }).set);
    }
    types.forEach((T, i) => expect(T.prototype.set).toBe(sets[i]));
    return distances;
  }

  // A large ArrayBuffer starts at (or 16 bytes past) a page boundary, as WebAssembly memory does. A copy whose
  // destination lies a few bytes past its source modulo 4 KB ran several times slower on an AMD EPYC, and with
  // the chunks at the pages' starts every copy back out of WebAssembly memory did: 2 KB apart, neither
  // direction comes near.
  it.each([['float32', 4], ['float64', 8]] as const)('%s: copies in and out sit half a page from the array\'s own position, whatever its offset', (_dtype, bytes) => {
    const n = 70_000;
    for (const byteOffset of [0, 8, 16, 24, 1024, 2048, 4088, 4096 + 40]) {
      const view = (seed: number): Floats => {
        const buffer = new ArrayBuffer(byteOffset + n * bytes);
        const a = bytes === 4 ? new Float32Array(buffer, byteOffset, n) : new Float64Array(buffer, byteOffset, n);
        a.set(values(n, seed, bytes === 8));
        return a;
      };
      const [p, g] = [view(1), view(2)];
      g.forEach((x, i) => { g[i] = x / 1e30; });
      for (const opt of [new Lion(), new AdamW()]) opt.step([p], [g]);
      const distances = distancesDuring([p.buffer, g.buffer], () => {
        for (const opt of [new Lion(), new AdamW()]) opt.step([p], [g]);
        clipGradNorm([g], 1e-40);
      });
      // Lion and AdamW: the gradient's finite check, the gradient and parameter in, the parameter out; clipping: in for the norm, in and out to scale.
      expect(distances.length, `byteOffset ${byteOffset}`).toBe(2 * 4 * Math.ceil((n * bytes) / 131072) + 3 * Math.ceil((n * bytes) / 131072));
      for (const d of distances) expect(Math.min(d, 4096 - d), `byteOffset ${byteOffset}`).toBeGreaterThanOrEqual(2032);
    }
  });
});

describe('the kernels module', () => {
  it('is what scripts/build-wasm.mjs builds from optim.wat, as the random generator module is from random.wat', async () => {
    const script = `${root}/scripts/build-wasm.mjs`;
    type Module = { wat: string; ts: string };
    const { WASM_MODULES, buildWasm, wasmSource } = await import(script) as { WASM_MODULES: Module[]; buildWasm(wat: string, root: string): Promise<Uint8Array>; wasmSource(m: Module, b: Uint8Array): string };
    expect(WASM_MODULES.map((m) => m.wat)).toEqual(['src/optim/kernels/optim.wat', 'src/core/kernels/random.wat']);
    for (const m of WASM_MODULES) expect(readFileSync(`${root}/${m.ts}`, 'utf8')).toBe(wasmSource(m, await buildWasm(m.wat, root)));
  });

  it('is not compiled when the package is imported, and once on the first large step', () => {
    const script = `
      let compiled = 0;
      const Module = WebAssembly.Module;
      WebAssembly.Module = function (bytes) { compiled++; return new Module(bytes); };
      const { Lion } = await import('./dist/index.js');
      const before = compiled;
      const opt = new Lion();
      const p = new Float32Array(5000), g = new Float32Array(5000).fill(1);
      opt.step([p], [g]);
      opt.step([p], [g]);
      console.log(JSON.stringify([before, compiled]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([0, 1]);
  });

  it('a runtime that refuses to compile it (no wasm-unsafe-eval, say) runs the loops, to the same bits', () => {
    const script = `
      WebAssembly.Module = function () { throw new WebAssembly.CompileError('refused by policy'); };
      const { Lion } = await import('./dist/index.js');
      const p = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i)), g = Float32Array.from({ length: 5000 }, (_, i) => Math.cos(i));
      const opt = new Lion({ weightDecay: 0.1 });
      opt.step([p], [g]);
      opt.step([p], [g]);
      console.log(JSON.stringify(Array.from(new Uint32Array(p.buffer)).slice(0, 64)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    useSimdKernels(false);
    const p = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i));
    const g = Float32Array.from({ length: 5000 }, (_, i) => Math.cos(i));
    const opt = new Lion({ weightDecay: 0.1 });
    opt.step([p], [g]);
    opt.step([p], [g]);
    expect(JSON.parse(r.stdout)).toEqual(bits(p).slice(0, 64));
  });
});
