/**
 * The reference backend's tiled matmul, the fallback for users without ONNX
 * Runtime, against a plain triple loop over the same row-major arrays and
 * NumPy's BLAS as the peer.
 */
import { matmul, tensor } from 'llm-tricks';
import { runPeer } from '../lib/peer.js';
import { median, timeRuns } from '../lib/timing.js';
import type { Part, RunSettings } from '../lib/types.js';

const sizes = (s: RunSettings): number[] => ({ quick: [64], default: [128, 256, 512], full: [128, 256, 512, 1024] })[s.mode];

function naive(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += a[i * n + k] * b[k * n + j];
      c[i * n + j] = acc;
    }
  }
  return c;
}

export const matmulPart: Part = {
  name: 'matmul',
  title: 'Reference backend: matmul',
  about: 'An n × n float32 product. The reference backend tiles its loops so the inner loop streams contiguous rows; the naive loop walks a column of B with stride n.',
  count: (s) => sizes(s).length * 3,
  async run(s, report) {
    for (const n of sizes(s)) {
      const task = `${n} × ${n}`;
      const flops = 2 * n ** 3;
      const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
      const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i));
      const ta = tensor(a, { shape: [n, n] });
      const tb = tensor(b, { shape: [n, n] });
      const gflops = (ms: number): number => flops / ms / 1e6;
      for (const [impl, fn] of [['llm-tricks reference', () => matmul(ta, tb)], ['naive triple loop (TS)', () => naive(a, b, n)]] as const) {
        const ms = await timeRuns(fn, s.warmup, s.runs);
        report({ part: 'matmul', task, impl, group: 'matmul', isPeer: false, ms, median: median(ms), extra: { gflops: +gflops(median(ms)).toFixed(3) } });
      }
      const peer = runPeer('numpy_peer.py', ['matmul', n, s.warmup, s.runs]);
      report('missing' in peer
        ? { part: 'matmul', task, impl: 'numpy', group: 'matmul', isPeer: true, ms: [], median: NaN, missing: peer.missing }
        : { part: 'matmul', task, impl: peer.peer, group: 'matmul', isPeer: true, ms: peer.ms, median: median(peer.ms), extra: { gflops: +gflops(median(peer.ms)).toFixed(3) } });
    }
  },
};
