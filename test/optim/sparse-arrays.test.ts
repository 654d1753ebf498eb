/**
 * Sparse arrays (`[a, , b]`) given to the standalone optimizers and
 * clipGradNorm: their length counts the hole, but forEach and every skip it,
 * so an unchecked one passed validation (a step silently skipped the missing
 * parameter; clipGradNorm threw a TypeError). Each is refused with an
 * LlmTricksError naming the empty slot, and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, clipGradNorm, LlmTricksError, Lion } from '../../src/index.js';

const thrown = (fn: () => unknown): Error => {
  try { fn(); } catch (e) { return e as Error; }
  throw new Error('expected a throw');
};
const expectEmptySlot = (fn: () => unknown, site: string, slot: string): void => {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(LlmTricksError);
  expect(e.message).toBe(`${site}: ${slot} expected a value, got an empty slot (a sparse array)`);
};
/** [a, <empty>, b]. */
const sparse = <T>(a: T, b: T): T[] => Object.assign(new Array<T>(3), { 0: a, 2: b });

describe.each([['Lion', () => new Lion({ lr: 0.1 })], ['AdamW', () => new AdamW({ lr: 0.1 })]] as const)('%s', (name, make) => {
  it('step refuses sparse params or grads, changing nothing', () => {
    const opt = make();
    const [p, q] = [Float32Array.from([1, 2]), Float32Array.from([3])];
    const [g, h] = [Float32Array.from([0.5, -0.5]), Float32Array.from([1])];
    expectEmptySlot(() => opt.step(sparse(p, q), sparse(g, h)), `${name}.step`, 'params[1]');
    expectEmptySlot(() => opt.step([p, new Float32Array(1), q], sparse(g, h)), `${name}.step`, 'grads[1]');
    expect(Array.from(p)).toEqual([1, 2]);
    expect(Array.from(q)).toEqual([3]);
    expect(opt.stepCount).toBe(0);
    expect(opt.state().buffers).toEqual([]);
  });

  it('allocate refuses sparse lengths and stays allocatable', () => {
    const opt = make();
    expectEmptySlot(() => opt.allocate(sparse(4, 4)), `${name}.allocate`, 'lengths[1]');
    expect(opt.allocate([4, 4]).params).toHaveLength(2);
  });

  it('loadState refuses sparse buffers, changing nothing', () => {
    const opt = make();
    const p = Float32Array.from([1, 2]);
    opt.step([p], [Float32Array.from([0.5, -0.5])]);
    const state = opt.state();
    const slots = state.buffers[0];
    expectEmptySlot(() => opt.loadState({ ...state, buffers: sparse(slots, slots) }), `${name}.loadState`, 'buffers[1]');
    // The last slot empty: [<empty>] for Lion, [m, <empty>] for AdamW.
    const holed = Object.assign(new Array<unknown>(slots.length), slots.slice(0, -1));
    expectEmptySlot(() => opt.loadState({ ...state, buffers: [holed as never] }), `${name}.loadState`, `buffers[0][${slots.length - 1}]`);
    expect(opt.state()).toEqual(state);
  });
});

describe('clipGradNorm', () => {
  it('refuses sparse grads, scaling nothing', () => {
    const [g, h] = [Float32Array.from([30, 40]), Float64Array.from([5])];
    expectEmptySlot(() => clipGradNorm(sparse<Float32Array | Float64Array>(g, h), 1), 'clipGradNorm', 'grads[1]');
    expect(Array.from(g)).toEqual([30, 40]);
    expect(Array.from(h)).toEqual([5]);
  });
});
