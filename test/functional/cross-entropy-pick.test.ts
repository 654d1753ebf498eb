/**
 * crossEntropy reads each position's target logit with a gather at a static
 * shape, where it selected it with a one-hot comparison over every class
 * (which it still does at a symbolic shape): the same loss and gradient, to
 * the bit.
 *
 * Proves:
 * - at a static shape the traced loss gathers the N target logits and
 *   compares nothing over the N · V logits; at a symbolic one, with no
 *   classes (V = 0: a loss of 0 under sum, as before) or with N · V beyond
 *   int32 indices it keeps the one-hot select;
 * - the two forms give the same loss and logit gradient bits, on the
 *   reference backend and on onnxruntime-node's CPU, for float32 and
 *   float64, with ignored targets (the default and a custom ignoreIndex that
 *   is also a class), targets out of range in a traced graph (counted as
 *   picking 0, as before), -Infinity logits at classes that are not the
 *   target, and label smoothing.
 */
import { describe, expect, it } from 'vitest';
import { crossEntropy, referenceBackend, tensor, trace, vjp, type Tensor } from '../../src/index.js';
import { ortNode } from '../../src/node.js';

const V = 7;
const exact = (x: Tensor): number[] => (x.dtype === 'float32' ? Array.from(new Uint32Array(Float32Array.from(x.data() as Float32Array).buffer)) : Array.from(x.data() as Float64Array));

/** The loss and its gradient w.r.t. the logits, traced at `shape` (static, or with a symbolic first dim). */
function lossAndGrad(shape: readonly (number | string)[], dtype: 'float32' | 'float64', options: Parameters<typeof crossEntropy>[2]) {
  const forward = trace((logits, targets) => crossEntropy(logits, targets, options), [{ shape: [...shape, V], dtype }, { shape, dtype: 'int32' }]);
  return { forward, grad: vjp(forward, { wrt: [0] }) };
}

// 2 × 3 positions: targets in range, ignored (-100), a custom ignoreIndex that is a class (3), out of range (7, -2).
const TARGETS = [0, 6, -100, 3, 7, -2];
const logitsOf = (dtype: 'float32' | 'float64'): Tensor => {
  const values = Array.from({ length: 6 * V }, (_, k) => Math.sin(k * 1.7) * 4);
  values[1] = -Infinity; // a class that is not row 0's target
  values[V + 2] = -Infinity;
  return tensor(values, { shape: [2, 3, V], dtype });
};

describe('crossEntropy picks the target logits', () => {
  it('with a gather at a static shape, and a one-hot select at a symbolic one', () => {
    const ops = (shape: readonly (number | string)[]): string[] => lossAndGrad(shape, 'float32', {}).forward.nodes.flatMap((n) => (n.kind === 'primitive' ? [`${n.op}${n.op === 'equal' ? `:${n.shape.join(',')}` : ''}`] : []));
    expect(ops([2, 3])).toContain('gather');
    // equal over (..., V) is the one-hot (others check ignored targets and logSumExp's max).
    expect(ops([2, 3]).filter((op) => op.startsWith('equal:') && op.endsWith(`,${V}`))).toEqual([]);
    expect(ops(['b', 3])).not.toContain('gather');
    expect(ops(['b', 3])).toContain(`equal:b,3,${V}`);
  });

  it('with the one-hot select where a gather cannot index: no classes, or N · V beyond int32', async () => {
    // No classes, every target ignored: 0 under sum, as before (the gather had no class 0 to read).
    const empty = tensor([], { shape: [2, 0] });
    expect(crossEntropy(empty, tensor([-100, -100], { dtype: 'int32' }), { reduction: 'sum' }).item()).toBe(0);
    const traced = trace((l, t) => crossEntropy(l, t, { reduction: 'sum' }), [{ shape: [2, 0] }, { shape: [2], dtype: 'int32' }]);
    for (const backend of [referenceBackend, ortNode]) {
      const [loss] = await (await backend.compile(traced)).run([empty, tensor([-100, -100], { dtype: 'int32' })]);
      expect(loss.item(), backend.name).toBe(0);
    }
    // 2^16 positions of 2^15 classes: 2^31 logits, more than int32 indices reach (traced only, never run).
    const huge = trace((l, t) => crossEntropy(l, t), [{ shape: [2 ** 16, 2 ** 15] }, { shape: [2 ** 16], dtype: 'int32' }]);
    const ops = huge.nodes.flatMap((n) => (n.kind === 'primitive' ? [n.op] : []));
    expect(ops).not.toContain('gather');
    expect(huge.nodes.some((n) => n.kind === 'primitive' && n.op === 'equal' && n.shape.join(',') === `${2 ** 16},${2 ** 15}`)).toBe(true);
  });

  for (const dtype of ['float32', 'float64'] as const) {
    for (const [label, options] of [['default', {}], ['ignoreIndex 3, smoothing 0.1, sum', { ignoreIndex: 3, labelSmoothing: 0.1, reduction: 'sum' }], ['none', { reduction: 'none' }]] as const) {
      it(`gives the one-hot form's loss and gradient bits, ${dtype}, ${label}`, async () => {
        const logits = logitsOf(dtype);
        const targets = tensor(TARGETS, { shape: [2, 3], dtype: 'int32' });
        const ct = options.reduction === 'none' ? tensor(Array.from({ length: 6 }, (_, i) => 0.5 + i), { shape: [2, 3], dtype }) : tensor(1, { dtype });
        const backends = [referenceBackend, ...(dtype === 'float32' ? [ortNode] : [])];
        for (const backend of backends) {
          const [gathered, selected] = await Promise.all([lossAndGrad([2, 3], dtype, options), lossAndGrad(['b', 3], dtype, options)].map(async ({ grad }) => (await backend.compile(grad)).run([logits, targets, ct])));
          expect(gathered.map(exact), backend.name).toEqual(selected.map(exact));
          // Without smoothing (whose mean over the classes takes in the -Infinity logits): a finite loss, and the
          // -Infinity logits get a gradient of 0.
          if (!('labelSmoothing' in options)) {
            expect((gathered[1].data() as Float32Array)[1]).toBe(0);
            expect(Array.from(gathered[0].data() as Float32Array).every(Number.isFinite)).toBe(true);
          }
        }
      });
    }
  }
});
