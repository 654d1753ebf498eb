/** Timing helpers: every sample is kept, and the median is what the report shows. */

/** Milliseconds of each of `runs` calls of `fn`, after `warmup` untimed calls (a call that resolves to an OwnTime gives its own). */
export async function timeRuns(fn: () => unknown, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(await timeCall(fn));
  return ms;
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * What a timed function may resolve to: its own measurement of the call,
 * which the timing helpers then take instead of the wall time around it. A
 * peer in another process times its step itself, so the pipe's round trip
 * to it is left out.
 */
export class OwnTime {
  constructor(readonly ms: number) {}
}

/** The milliseconds of one call of `fn`: its own measurement where it gives one (an OwnTime), else the wall time. */
async function timeCall(fn: () => unknown): Promise<number> {
  const start = performance.now();
  const result = await fn();
  return result instanceof OwnTime ? result.ms : performance.now() - start;
}

/**
 * Times two or more functions in alternation: after `warmup` untimed rounds,
 * each of `runs` rounds calls every function once, in turn (the order
 * reversed every other round), so slow drifts of the machine fall on all of
 * them alike. `pauseMs` of idle time go before each timed call, so threads
 * another runtime left spinning (ONNX Runtime's and OpenMP's wait for work
 * that way) have settled. Returns each function's milliseconds, round by
 * round (a call that resolves to an OwnTime gives its own).
 *
 * With `order: 'rotate'` each round starts one function later instead (a,
 * b, c; then b, c, a; then c, a, b): every function takes every place
 * equally often, and none runs twice in a row. Reversing runs the last
 * function twice in a row at every other round's turn, which with no pause
 * between calls finds its data still in cache and its threads awake.
 */
export async function timeInterleaved(fns: readonly (() => unknown)[], warmup: number, runs: number, pauseMs = 0, order: 'reverse' | 'rotate' = 'reverse'): Promise<number[][]> {
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const ms = fns.map((): number[] => []);
  const k = fns.length;
  for (let i = 0; i < runs; i++) {
    const turn = fns.map((_, j) => (order === 'rotate' ? (i + j) % k : i % 2 ? k - 1 - j : j));
    for (const j of turn) {
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      ms[j].push(await timeCall(fns[j]));
    }
  }
  return ms;
}

/** Paired comparison of b against a (same rounds): the median of b − a and how many rounds b was slower. */
export function paired(a: readonly number[], b: readonly number[]): { medianDelta: number; slower: number; rounds: number } {
  const d = a.map((x, i) => b[i] - x);
  return { medianDelta: median(d), slower: d.filter((x) => x > 0).length, rounds: d.length };
}

/**
 * A two-sided sign test on paired rounds: 'slower' or 'faster' when b was
 * slower (or faster) than a in so many rounds that chance would give it
 * under 5 % of the time, 'no consistent difference' otherwise.
 */
export function signVerdict(slower: number, rounds: number): 'slower' | 'faster' | 'no consistent difference' {
  const k = Math.max(slower, rounds - slower);
  let tail = 0;
  for (let i = k; i <= rounds; i++) tail += binomial(rounds, i) / 2 ** rounds;
  if (Math.min(1, 2 * tail) >= 0.05) return 'no consistent difference';
  return slower > rounds - slower ? 'slower' : 'faster';
}

/**
 * "<subject> in k of n rounds (sign test, 5 %): <verdict>", the verdict being
 * `ifSlower`, `ifFaster` or 'no consistent difference'.
 */
export function signSentence(subject: string, slower: number, rounds: number, ifSlower: string, ifFaster: string): string {
  const verdict = { slower: ifSlower, faster: ifFaster, 'no consistent difference': 'no consistent difference' }[signVerdict(slower, rounds)];
  return `${subject} in ${slower} of ${rounds} rounds (sign test, 5 %): ${verdict}`;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}
