import { fromNumbers, toNumbers } from '../../core/dtype.js';
import type { FamilyMembers } from '../primitives.js';
import { sizeOf } from '../../core/shape.js';
import { broadcastIndex } from './index-maps.js';
import type { Buffer, KernelTable } from './types.js';

// M, K, N: (M, K) @ (K, N) per batch element.
// A tile of B (TILE_K rows of TILE_N) stays in L2 while four rows of C
// accumulate against it; each B element loaded feeds four multiply-adds.
const TILE_K = 64;
const TILE_N = 256;

/**
 * C += A @ B for one batch element, tiled over K and N, four rows of A at a
 * time, so the inner loop streams a contiguous row of B into four rows of C.
 */
function matmulTile(
  a: Float64Array, aOff: number, b: Float64Array, bOff: number,
  c: Float64Array, cOff: number, M: number, K: number, N: number,
): void {
  for (let n0 = 0; n0 < N; n0 += TILE_N) {
    const n1 = Math.min(n0 + TILE_N, N);
    for (let k0 = 0; k0 < K; k0 += TILE_K) {
      const k1 = Math.min(k0 + TILE_K, K);
      let i = 0;
      for (; i + 4 <= M; i += 4) {
        const c0 = cOff + i * N;
        const c1 = c0 + N;
        const c2 = c1 + N;
        const c3 = c2 + N;
        const a0 = aOff + i * K;
        for (let k = k0; k < k1; k++) {
          const x0 = a[a0 + k];
          const x1 = a[a0 + K + k];
          const x2 = a[a0 + 2 * K + k];
          const x3 = a[a0 + 3 * K + k];
          const bRow = bOff + k * N;
          for (let j = n0; j < n1; j++) {
            const y = b[bRow + j];
            c[c0 + j] += x0 * y;
            c[c1 + j] += x1 * y;
            c[c2 + j] += x2 * y;
            c[c3 + j] += x3 * y;
          }
        }
      }
      for (; i < M; i++) {
        const cRow = cOff + i * N;
        const aRow = aOff + i * K;
        for (let k = k0; k < k1; k++) {
          const x = a[aRow + k];
          const bRow = bOff + k * N;
          for (let j = n0; j < n1; j++) c[cRow + j] += x * b[bRow + j];
        }
      }
    }
  }
}

/** The data as float64, copied once so the inner loops see one array type. */
function asFloat64(data: Buffer['data']): Float64Array {
  return data instanceof Float64Array ? data : Float64Array.from(toNumbers(data));
}

/** Reference kernels of linear algebra. */
export const linalg: KernelTable<FamilyMembers<'linalg'>> = {
  matmul: ([x, y], _attrs, out) => {
    const r = out.shape.length;
    const M = out.shape[r - 2];
    const N = out.shape[r - 1];
    const K = x.shape[x.shape.length - 1];
    const batch = out.shape.slice(0, -2);
    const batches = sizeOf(batch);
    const aIdx = broadcastIndex(x.shape.slice(0, -2), batch);
    const bIdx = broadcastIndex(y.shape.slice(0, -2), batch);
    const a = asFloat64(x.data);
    const b = asFloat64(y.data);
    const c = new Float64Array(batches * M * N);
    for (let p = 0; p < batches; p++) {
      const pa = aIdx ? aIdx[p] : p;
      const pb = bIdx ? bIdx[p] : p;
      matmulTile(a, pa * M * K, b, pb * K * N, c, p * M * N, M, K, N);
    }
    return out.dtype === 'float64' ? c : fromNumbers(out.dtype, c);
  },
};
