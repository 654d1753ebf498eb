import { fromNumbers, toNumbers } from '../../../tensor/dtype.js';
import { sizeOf } from '../../../tensor/shape.js';
import { broadcastIndex } from './index-maps.js';
import type { KernelTable } from './types.js';

// M, K, N: (M, K) @ (K, N) per batch element.
// Tile sizes keep a tile of B and a row of C in L1 (32 KiB) in float64.
const TILE_K = 64;
const TILE_N = 256;

/**
 * C += A @ B for one batch element, tiled over K and N so the inner loop
 * streams a contiguous row of B into a contiguous row of C.
 */
function matmulTile(
  a: ArrayLike<number>, aOff: number, b: ArrayLike<number>, bOff: number,
  c: Float64Array, cOff: number, M: number, K: number, N: number,
): void {
  for (let k0 = 0; k0 < K; k0 += TILE_K) {
    const k1 = Math.min(k0 + TILE_K, K);
    for (let n0 = 0; n0 < N; n0 += TILE_N) {
      const n1 = Math.min(n0 + TILE_N, N);
      for (let i = 0; i < M; i++) {
        const cRow = cOff + i * N;
        const aRow = aOff + i * K;
        for (let k = k0; k < k1; k++) {
          const aik = a[aRow + k];
          const bRow = bOff + k * N;
          for (let j = n0; j < n1; j++) c[cRow + j] += aik * b[bRow + j];
        }
      }
    }
  }
}

/** Reference kernels of linear algebra. */
export const linalg: KernelTable<'matmul'> = {
  matmul: ([x, y], _attrs, out) => {
    const r = out.shape.length;
    const M = out.shape[r - 2];
    const N = out.shape[r - 1];
    const K = x.shape[x.shape.length - 1];
    const batch = out.shape.slice(0, -2);
    const batches = sizeOf(batch);
    const aIdx = broadcastIndex(x.shape.slice(0, -2), batch);
    const bIdx = broadcastIndex(y.shape.slice(0, -2), batch);
    const a = toNumbers(x.data);
    const b = toNumbers(y.data);
    const c = new Float64Array(batches * M * N);
    for (let p = 0; p < batches; p++) {
      const pa = aIdx ? aIdx[p] : p;
      const pb = bIdx ? bIdx[p] : p;
      matmulTile(a, pa * M * K, b, pb * K * N, c, p * M * N, M, K, N);
    }
    return out.dtype === 'float64' ? c : fromNumbers(out.dtype, c);
  },
};
