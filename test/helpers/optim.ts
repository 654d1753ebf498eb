/** Shared by the optimizer tests: bitwise array equality, gradient vectors, and error capture. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { LlmTricksError } from '../../src/index.js';

/** Same length and every element Object.is-equal (so -0 and NaN count). */
export const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

/** Values in [-4, 4], with exact zeros one time in five (zero gradients and sign ties). */
export const value: fc.Arbitrary<number> = fc.oneof({ arbitrary: fc.double({ min: -4, max: 4, noNaN: true }), weight: 4 }, { arbitrary: fc.constant(0), weight: 1 });

/** A Float64Array of n such values. */
export const vec = (n: number): fc.Arbitrary<Float64Array> => fc.array(value, { minLength: n, maxLength: n }).map((a) => Float64Array.from(a));

/** The LlmTricksError `fn` throws; fails unless it throws one whose message says what was expected and what came. */
export function errorOf(fn: () => unknown): LlmTricksError {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(LlmTricksError);
    expect((e as Error).message).toMatch(/expected .*got/);
    return e as LlmTricksError;
  }
  throw new Error('expected a throw');
}

/** Fails unless `fn` throws an LlmTricksError whose message starts with `where:` and says what was expected and what came. */
export function expectLlmError(fn: () => unknown, where: string): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected a throw').toBeInstanceOf(LlmTricksError);
  const msg = (err as Error).message;
  expect(msg.startsWith(`${where}:`), msg).toBe(true);
  expect(msg).toMatch(/expected/);
  expect(msg).toMatch(/got/);
}
