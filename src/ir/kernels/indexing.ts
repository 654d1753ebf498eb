import { fail } from '../../core/errors.js';
import type { FamilyMembers } from '../primitives.js';
import { toNumbers } from '../../core/dtype.js';
import type { Buffer, Elements, KernelTable } from './types.js';

// O outer (dims before axis), A the indexed axis, J index count, I inner (dims after axis).
function layout(site: string, x: Buffer, axis: number, indices: Buffer) {
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const dim = x.shape[axis];
  const idx = toNumbers(indices.data);
  const rows = new Int32Array(idx.length);
  for (let j = 0; j < idx.length; j++) {
    const v = idx[j];
    // Negative indices count from the end, as in ONNX Gather.
    if (v < -dim || v >= dim) fail(site, `index expected in [${-dim}, ${dim - 1}], got ${v}`);
    rows[j] = v < 0 ? v + dim : v;
  }
  return { outer, inner, dim, rows };
}

/** Reference kernels of gather and its transpose. */
export const indexing: KernelTable<FamilyMembers<'indexing'>> = {
  gather: ([x, indices], { axis }) => {
    const { outer, inner, dim, rows } = layout('gather', x, axis, indices);
    const r = new (x.data.constructor as new (n: number) => Elements)(outer * rows.length * inner);
    const src = x.data as Elements;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < rows.length; j++) {
        const from = (o * dim + rows[j]) * inner;
        const to = (o * rows.length + j) * inner;
        for (let i = 0; i < inner; i++) r[to + i] = src[from + i];
      }
    }
    return r as Buffer['data'];
  },
  scatterAdd: ([base, indices, updates], { axis }) => {
    const { outer, inner, dim, rows } = layout('scatterAdd', base, axis, indices);
    const r = base.data.slice() as Elements;
    const upd = updates.data as Elements;
    const big = r instanceof BigInt64Array;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < rows.length; j++) {
        const to = (o * dim + rows[j]) * inner;
        const from = (o * rows.length + j) * inner;
        for (let i = 0; i < inner; i++) {
          r[to + i] = big ? (r[to + i] as bigint) + (upd[from + i] as bigint) : (r[to + i] as number) + (upd[from + i] as number);
        }
      }
    }
    return r as Buffer['data'];
  },
};
