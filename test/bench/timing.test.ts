/** The bench's statistics: medians, alternation order and the sign test behind its verdicts. */
import { expect, it } from 'vitest';
import { median, OwnTime, paired, signVerdict, timeInterleaved, timeRuns } from '../../bench/lib/timing.js';

it('median of odd and even lists', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
});

it('timeInterleaved calls each function once per round, reversing the order every other round', async () => {
  const calls: string[] = [];
  const ms = await timeInterleaved([() => calls.push('a'), () => calls.push('b')], 1, 4);
  expect(calls.join('')).toBe('ab' + 'ab' + 'ba' + 'ab' + 'ba');
  expect(ms.map((m) => m.length)).toEqual([4, 4]);
});

it('a call that resolves to an OwnTime is timed as it says (a peer in another process times its own step)', async () => {
  const slow = (): Promise<OwnTime> => new Promise((resolve) => setTimeout(() => resolve(new OwnTime(1.5)), 30));
  const [own, wall] = await timeInterleaved([slow, () => new Promise((resolve) => setTimeout(resolve, 30))], 0, 2);
  expect(own).toEqual([1.5, 1.5]);
  expect(Math.min(...wall)).toBeGreaterThan(20);
  expect(await timeRuns(slow, 1, 2)).toEqual([1.5, 1.5]);
});

it("timeInterleaved with order 'rotate' starts each round one function later: none runs twice in a row", async () => {
  const calls: string[] = [];
  await timeInterleaved([() => calls.push('a'), () => calls.push('b'), () => calls.push('c')], 1, 4, 0, 'rotate');
  expect(calls.join('')).toBe('abc' + 'abc' + 'bca' + 'cab' + 'abc');
});

it('paired compares round by round', () => {
  expect(paired([10, 10, 10], [11, 9, 13])).toEqual({ medianDelta: 1, slower: 2, rounds: 3 });
});

// Two-sided sign test at 5 %: with 14 rounds, 12 of one side gives p = 2·(91 + 14 + 1)/2¹⁴ ≈ 0.013, 11 gives 2·(364 + 91 + 14 + 1)/2¹⁴ ≈ 0.057.
it('signVerdict calls a difference only past the 5 % two-sided sign test', () => {
  expect(signVerdict(12, 14)).toBe('slower');
  expect(signVerdict(2, 14)).toBe('faster');
  expect(signVerdict(11, 14)).toBe('no consistent difference');
  expect(signVerdict(3, 14)).toBe('no consistent difference');
  expect(signVerdict(7, 14)).toBe('no consistent difference');
  // Five rounds can never reach 5 % two-sided: 2 · 1/32 = 0.0625.
  expect(signVerdict(5, 5)).toBe('no consistent difference');
  expect(signVerdict(6, 6)).toBe('slower');
});
