/**
 * Error messages of the public ops.
 *
 * Proves:
 * - every bad call in the table throws LlmTricksError whose `where` is the
 *   public op, and whose message reads `<op>: ... expected ... got ...`
 *   with the offending value, shape or dtype in it: mismatched shapes,
 *   wrong dtypes, bad axes, reshape count mismatch, out-of-bounds slices and
 *   indices, non-Tensor arguments, symbolic dims outside a trace;
 * - the same checks fire while tracing (shape inference), not only eagerly;
 * - fuzzing every op with random junk arguments never throws anything but
 *   LlmTricksError (no TypeError/RangeError leaking from inside);
 * - null options mean the defaults, as undefined does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../src/index.js';
import { LlmTricksError, tensor, zeros, type Tensor } from '../../src/index.js';

const bad = (v: unknown) => v as never;
const f32 = (shape: number[]): Tensor => zeros(shape);
const i32 = (v: number[]): Tensor => tensor(v, { dtype: 'int32' });

type Row = [label: string, call: () => unknown, where: string, ...got: string[]];

const ROWS: Row[] = [
  // mismatched shapes
  ['matmul inner dims', () => L.matmul(f32([2, 3]), f32([4, 2])), 'matmul', 'inner dimensions expected equal', 'got [2, 3] @ [4, 2]'],
  ['matmul rank 1', () => L.matmul(f32([3]), f32([3, 2])), 'matmul', 'rank >= 2', 'got [3] and [3, 2]'],
  ['matmul batch dims', () => L.matmul(f32([2, 1, 3]), f32([3, 3, 1])), 'matmul', 'broadcastable', 'got [2] and [3]'],
  ['concat off-axis dims', () => L.concat([f32([2, 3]), f32([3, 4])], 1), 'concat', 'equal shapes except on axis 1', 'got [2, 3], [3, 4]'],
  ['concat ranks', () => L.concat([f32([2, 3]), f32([2])], 0), 'concat', 'got [2, 3], [2]'],
  ['add non-broadcastable', () => L.add(f32([2, 3]), f32([4, 3])), 'add', 'broadcastable', 'got [2, 3] and [4, 3]'],
  ['where non-broadcastable', () => L.where(tensor([true, false, true]), f32([2]), f32([2])), 'where', 'got [3] and [2] and [2]'],
  ['scatterAdd updates shape', () => L.scatterAdd(f32([4]), i32([0, 1]), f32([3])), 'scatterAdd', 'updates expected shape [2]', 'got [3]'],
  // wrong dtypes
  ['log of int32', () => L.log(i32([1, 2])), 'log', 'float32 or float64', 'got int32[2]'],
  ['add float32 + float64', () => L.add(f32([2]), zeros([2], 'float64')), 'add', 'same dtype', 'got float32 and float64'],
  ['where non-bool condition', () => L.where(f32([2]), f32([2]), f32([2])), 'where', 'condition expected dtype bool', 'got float32[2]'],
  ['gather float indices', () => L.gather(f32([3]), f32([1])), 'gather', 'indices expected dtype int32 or int64', 'got float32[1]'],
  ['less of bool', () => L.less(tensor([true]), tensor([false])), 'less', 'got bool[1]'],
  ['pow of int32', () => L.pow(i32([2]), i32([3])), 'pow', 'got int32[1]'],
  ['matmul int32', () => L.matmul(zeros([2, 2], 'int32'), zeros([2, 2], 'int32')), 'matmul', 'got int32[2, 2]'],
  ['concat dtypes', () => L.concat([f32([2]), i32([1])], 0), 'concat', 'got float32 and int32'],
  ['cast to unknown dtype', () => L.cast(f32([1]), bad('int8')), 'cast', 'got "int8"'],
  ['iota of bool', () => L.iota(3, 'bool'), 'iota', 'got "bool"'],
  // bad axes
  ['sum axis 5 on rank 2', () => L.sum(f32([2, 3]), 5), 'sum', 'axis expected an integer in [-2, 1]', 'got 5'],
  ['sum duplicate axes', () => L.sum(f32([2, 3]), [0, 0]), 'sum', 'distinct axes', 'got [0,0]'],
  ['max duplicate axes via negative', () => L.max(f32([2, 3]), [1, -1]), 'max', 'distinct axes', 'got [1,-1]'],
  ['argMax axis out of range', () => L.argMax(f32([2]), -2), 'argMax', 'got -2'],
  ['mean fractional axis', () => L.mean(f32([2]), 0.5), 'mean', 'got 0.5'],
  ['concat axis out of range', () => L.concat([f32([2, 3]), f32([2, 3])], 2), 'concat', 'axis expected an integer in [-2, 1]', 'got 2'],
  ['transpose non-permutation', () => L.transpose(f32([2, 3]), [0, 0]), 'transpose', 'permutation of [0..1]', 'got [0,0]'],
  ['transpose wrong length', () => L.transpose(f32([2, 3]), [0]), 'transpose', 'got [0]'],
  ['swapAxes bad axis', () => L.swapAxes(f32([2, 3]), 0, 2), 'swapAxes', 'got 2'],
  ['gather bad axis', () => L.gather(f32([2]), i32([0]), 1), 'gather', 'got 1'],
  ['squeeze of a non-1 axis', () => L.squeeze(f32([2, 3]), 1), 'squeeze', 'expected size 1', 'got 3'],
  ['unsqueeze axis out of range', () => L.unsqueeze(f32([2]), 3), 'unsqueeze', 'got 3'],
  ['sum of a scalar over an axis', () => L.sum(f32([]), 0), 'sum', 'got 0'],
  // reshape, slice, pad, expand
  ['reshape two -1', () => L.reshape(f32([4]), [-1, -1]), 'reshape', 'at most one -1', 'got [-1,-1]'],
  ['reshape count mismatch', () => L.reshape(f32([2, 3]), [4]), 'reshape', '[2, 3]', '[4]'],
  ['expand incompatible', () => L.expand(f32([2]), [3]), 'expand', '[2]', '[3]'],
  ['slice out of bounds', () => L.slice(f32([2, 3]), [1, 1], [2, 2]), 'slice', '[1,1]', '[2, 2]'],
  ['slice negative start', () => L.slice(f32([2]), [-1], [1]), 'slice', 'starts expected 1 integers >= 0', 'got [-1]'],
  ['sliceAxis past the end', () => L.sliceAxis(f32([3]), 0, 0, 5), 'sliceAxis', 'range expected 0 <= start <= end <= 3', 'got [0, 5)'],
  ['pad does not fit', () => L.pad(f32([2]), [1], [2]), 'pad', '[2]', '[1]'],
  // indices out of range
  ['gather index out of range', () => L.gather(f32([3]), i32([3])), 'gather', 'index expected in [-3, 2]', 'got 3'],
  ['gather negative index out of range', () => L.gather(f32([3]), i32([-4])), 'gather', 'got -4'],
  ['scatterAdd index out of range', () => L.scatterAdd(f32([3]), i32([5]), f32([1])), 'scatterAdd', 'got 5'],
  // non-Tensor arguments
  ['exp of a plain object', () => L.exp(bad({})), 'exp', 'expected a Tensor', 'got Object'],
  ['add with an array', () => L.add(f32([2]), bad([1, 2])), 'add', 'b expected a Tensor', 'got array of length 2'],
  ['matmul with null', () => L.matmul(f32([2, 2]), bad(null)), 'matmul', 'expected a Tensor', 'got null'],
  ['sum of a string', () => L.sum(bad('x')), 'sum', 'x expected a Tensor', 'got "x"'],
  ['concat of a number', () => L.concat(bad(3), 0), 'concat', 'non-empty array of Tensors', 'got number 3'],
  ['concat of nothing', () => L.concat([], 0), 'concat', 'got array of length 0'],
  ['where with undefined', () => L.where(bad(undefined), f32([1]), f32([1])), 'where', 'condition expected a Tensor', 'got undefined'],
  ['cast of null', () => L.cast(bad(null), 'int32'), 'cast', 'expected a Tensor', 'got null'],
  // options, values and shapes of the creation ops
  ['tensor with a string for options', () => L.tensor([1], bad('float64')), 'tensor', 'options expected', 'got "float64"'],
  ['full int64 of NaN', () => L.full([2], NaN, 'int64'), 'full', 'got NaN'],
  ['full with a bigint value', () => L.full([2], bad(1n)), 'full', 'got'],
  ['zeros of an int64 tensor', () => L.zeros(bad(tensor([2], { dtype: 'int64' }))), 'full', 'got'],
  ['reshape to a bigint', () => L.reshape(f32([2]), bad(2n)), 'reshape', 'got'],
  ['full with a symbolic shape', () => L.full(bad(['B']), 1), 'full', 'got [B]'],
  ['eager iota of a symbolic length', () => L.iota('T'), 'iota', 'got'],
  ['eager reshape to a symbolic dim', () => L.reshape(f32([2]), ['B']), 'reshape', 'got'],
  ['eager expand to a symbolic dim', () => L.expand(f32([1]), ['B']), 'expand', 'got'],
  ['eager randomUniform of a symbolic shape', () => L.randomUniform(L.scalar(0, 'int32'), L.scalar(0, 'int32'), ['N']), 'randomUniform', 'got'],
  ['item of many elements', () => f32([2]).item(), 'Tensor.item', 'got shape [2]'],
  ['trace with duplicate names', () => L.trace((a) => a, [{ shape: [1], name: 'x' }, { shape: [1], name: 'x' }]), 'trace', "got 'x' twice"],
  ['trace returning a number', () => L.trace(bad(() => 3), [{ shape: [1] }]), 'trace', 'got number 3'],
];

function caught(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  return undefined;
}

describe('each bad call names the op, what was expected and what arrived', () => {
  it.each(ROWS)('%s', (_label, call, where, ...got) => {
    const err = caught(call);
    expect(err, 'expected an LlmTricksError').toBeInstanceOf(LlmTricksError);
    const e = err as LlmTricksError;
    expect(e.where).toBe(where);
    expect(e.message).toMatch(new RegExp(`^${where.replace('.', '\\.')}: `));
    expect(e.message).toContain('expected');
    expect(e.message).toContain('got');
    for (const g of got) expect(e.message).toContain(g);
  });
});

describe('the same checks fire while tracing', () => {
  it.each([
    ['matmul', (x: Tensor) => L.matmul(x, f32([4, 2])), 'got [B, 3] @ [4, 2]'],
    ['add', (x: Tensor) => L.add(x, f32([4])), 'got [B, 3] and [4]'],
    ['log', (x: Tensor) => L.log(L.cast(x, 'int32')), 'got int32[B, 3]'],
    ['sum', (x: Tensor) => L.sum(x, 2), 'got 2'],
    ['transpose', (x: Tensor) => L.transpose(x, [1, 1]), 'got [1,1]'],
  ] as const)('%s', (where, fn, got) => {
    const e = caught(() => L.trace(fn, [{ shape: ['B', 3] }])) as LlmTricksError;
    expect(e).toBeInstanceOf(LlmTricksError);
    expect(e.where).toBe(where);
    expect(e.message).toContain(got);
  });
});

describe('fuzzing the public ops with junk arguments', () => {
  const junk = fc.constantFrom<unknown>(
    f32([2, 3]), i32([0, 1, -1]), tensor([[true, false]]), zeros([], 'float64'), f32([0]), tensor([1, 0], { dtype: 'int64' }),
    0, -1, 5, 1.5, NaN, Infinity, 'a', 'B', 'int32', null, undefined, true, 1n,
    [], [0], [-1], [1, 'B'], [0, 0], [2, 3], [1, 0], [[1]], {}, { keepDims: true }, new Float32Array(2), [f32([1])], () => 1,
  );
  const OPS = Object.entries(L).filter(([name, v]) => typeof v === 'function' && /^[a-z]/.test(name)
    && !['composite', 'callGraph', 'vjp', 'grad', 'valueAndGrad', 'defineCustomVjp', 'isFloat'].includes(name)) as [string, (...a: unknown[]) => unknown][];

  it('covers the ops', () => {
    expect(OPS.length).toBeGreaterThan(40);
  });

  it('never throws (or rejects with) anything but LlmTricksError', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...OPS), fc.array(junk, { maxLength: 4 }), async ([, op], args) => {
      let e: unknown;
      try {
        await op(...args); // async functions (fit) reject instead of throwing
      } catch (err) {
        e = err;
      }
      if (e === undefined || e instanceof LlmTricksError) return;
      throw e;
    }), { numRuns: 5000 });
  });
});

describe('null options', () => {
  it('mean the defaults, as undefined does', () => {
    const x = f32([2]);
    expect(L.sum(x, 0, bad(null)).toArray()).toEqual(L.sum(x, 0).toArray());
    expect(L.tensor([1], bad(null)).dtype).toBe('float32');
  });
});
