/**
 * How a journey on one device is compared with the same journey on
 * ort-node cpu (the baseline), with the tolerances and why they are what
 * they are. Shared by the Node and the Chromium journey tests.
 */
import { expect } from 'vitest';
import { FORCED_STEPS, lionSchedule, RESUME_AT, STEPS, type JourneyResult, type RunRecord } from './journey.js';

export { drifts } from './journey.js';

/** |actual − expected| <= atol + rtol·|expected|, per element. */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** The tolerances of one device against ort-node cpu. */
export interface JourneyTolerance {
  /** Each step's loss and gradient norm. */
  readonly scalars: Tolerance;
  /** The parameters after the last step. */
  readonly params: Tolerance;
}

/**
 * float32 devices (reference, ort-web wasm, in Node or a browser). The unit
 * roundoff is u = 2^-24 ≈ 6e-8. A step's loss is the mean of 2·2·16 = 64
 * cross-entropies, each a log-sum-exp over 256 logits from a few hundred
 * float32 primitives whose summation order and fused kernels differ between
 * backends: a reordered sum of n terms may differ by n·u relative in the
 * worst case and by about √n·u in practice, so at loss ≈ 5.5 one step
 * differs by ~16·u·5.5 ≈ 5e-6 typically. 20 steps feed those differences
 * back through the parameters, which AdamW's normalised update can amplify
 * where a gradient is near zero. Allowed: losses and gradient norms
 * 1e-5 + 1e-5·|x| (≈ 6.5e-5 at 5.5), parameters 1e-5 + 1e-4·|x| (the
 * conformance suite's BLOCK tolerance for a model's gradients). Measured
 * on an AMD EPYC, 2 cores: losses within 9.5e-7, gradient norms within
 * 2.4e-6 relative, parameters within 9.5e-7 (Lion: bit-identical).
 */
export const FLOAT32_JOURNEY: JourneyTolerance = { scalars: { atol: 1e-5, rtol: 1e-5 }, params: { atol: 1e-5, rtol: 1e-4 } };

/**
 * WebGPU. WGSL promises sin and cos only to 2^-11 ≈ 4.9e-4 absolute on
 * [−π, π] and exp/log to 3 + 2|x| ulp, and the rotary tables and every
 * softmax go through them: a real GPU may be off by the conformance
 * suite's WEBGPU_PRIMITIVE atol (6e-4) in an attention score, where the
 * CPU is off by an ulp. Allowed: losses and gradient norms 1e-3 + 1e-4·|x|,
 * parameters 1e-3 + 1e-3·|x|. Measured on SwiftShader (software Vulkan),
 * with the attention's earlier layout (queries (B, K, G, T, D)): losses
 * within 2.8e-5, parameters within 3e-5. Lion's straight runs drift apart
 * there now: {@link expectLearnsAsBaseline} compares them.
 */
export const WEBGPU_JOURNEY: JourneyTolerance = { scalars: { atol: 1e-3, rtol: 1e-4 }, params: { atol: 1e-3, rtol: 1e-3 } };

/**
 * Lion's update is lr·sign(β1·m + (1−β1)·g): where the interpolated
 * momentum is within rounding of 0, one ulp of difference flips a whole
 * step of ±lr. Such an element may differ by up to 2·Σlr, and at most this
 * share of the parameters may do so (measured: none of 14,160 on any device
 * here; a CPU with other vector kernels may differ). Any other element
 * must be within tolerance; a device that trains wrongly moves far more.
 */
export const LION_FLIP_SHARE = 0.005;

function within(actual: number, expected: number, tol: Tolerance): boolean {
  return Number.isFinite(actual) && Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

/** Each loss and gradient norm within `tol` of the baseline's. */
export function expectScalarsClose(actual: RunRecord, expected: RunRecord, tol: Tolerance, label: string): void {
  for (const key of ['losses', 'gradNorms'] as const) {
    expect(actual[key].length, `${label}: ${key} count`).toBe(expected[key].length);
    const bad = actual[key].map((a, i) => [i, a, expected[key][i]] as const).filter(([, a, e]) => !within(a, e, tol));
    expect(bad.map(([i, a, e]) => `${key}[${i}] ${a} vs ${e}`), `${label}: ${key} beyond atol ${tol.atol}, rtol ${tol.rtol}`).toEqual([]);
  }
}

/** Every parameter within `tol` of the baseline's (Lion: up to LION_FLIP_SHARE of them within 2·Σlr). */
export function expectParamsClose(actual: RunRecord, expected: RunRecord, tol: Tolerance, optimizer: 'Lion' | 'AdamW', label: string): void {
  expect(Object.keys(actual.params), `${label}: parameter names`).toEqual(Object.keys(expected.params));
  const schedule = lionSchedule();
  const flipBound = 2 * Array.from({ length: STEPS }, (_, s) => schedule(s)).reduce((a, b) => a + b, 0);
  let count = 0;
  let flips = 0;
  const bad: string[] = [];
  for (const [name, want] of Object.entries(expected.params)) {
    const got = actual.params[name];
    expect(got.length, `${label}: ${name} size`).toBe(want.length);
    want.forEach((e, i) => {
      count++;
      if (within(got[i], e, tol)) return;
      if (optimizer === 'Lion' && Math.abs(got[i] - e) <= flipBound) flips++;
      else bad.push(`${name}[${i}] ${got[i]} vs ${e}`);
    });
  }
  expect(bad.slice(0, 8), `${label}: ${bad.length} of ${count} parameters beyond atol ${tol.atol}, rtol ${tol.rtol}`).toEqual([]);
  expect(flips, `${label}: Lion sign flips among ${count} parameters`).toBeLessThanOrEqual(LION_FLIP_SHARE * count);
}

/**
 * How far apart two devices' Lion journeys may end, in nats of the last
 * step's loss, where their straight runs are not compared step by step
 * ({@link expectLearnsAsBaseline}): a backstop, not a measure of
 * correctness (that rests on the steps from a shared state). Measured on
 * SwiftShader, one seed: 4.3e-4 at the last step, at most 3.2e-3 on the
 * way (4,000 of 14,160 parameters apart after 20 steps); a device whose
 * training is wrong misses by more than a nat (one that trains on zeros
 * ends near the first step's 5.5 against 3.3).
 */
export const LION_DRIFT_NATS = 0.05;

/**
 * Lion on a device whose float32 results differ from the baseline's in the
 * last bits (WebGPU: other kernels, sin and cos to 2^-11). Lion's update is
 * ±lr wherever the interpolated momentum is within rounding of 0, so one
 * bit of difference moves a parameter by 2·lr (1e-2 here), and the moved
 * parameters move the rest: two journeys identical for three steps were
 * apart in 1 parameter after step 4, 41 after step 6 and 4,000 of 14,160
 * after step 20 (SwiftShader, measured). Their straight runs are then
 * different runs, and comparing them step by step tests rounding, not
 * the device. The steps are compared where both devices start from the
 * same state: the first step (same initial parameters), and the
 * FORCED_STEPS steps both take from the baseline's checkpoint after step
 * RESUME_AT (`forced`: losses and gradient norms within `tol.scalars`, the
 * parameters after them within `tol.params`, Lion's sign flips bounded as
 * in {@link expectParamsClose}); the straight run must learn (the loss
 * falls by more than a nat) and end within LION_DRIFT_NATS of the
 * baseline's last loss.
 */
export function expectLearnsAsBaseline(actual: JourneyResult, baseline: JourneyResult, tol: JourneyTolerance, label: string): void {
  const first = (r: RunRecord): RunRecord => ({ losses: r.losses.slice(0, 1), gradNorms: r.gradNorms.slice(0, 1), params: {} });
  expectScalarsClose(first(actual.straight), first(baseline.straight), tol.scalars, `${label}, first step`);
  expect(actual.forced && baseline.forced, `${label}: steps from the baseline's checkpoint, on both`).toBeDefined();
  const forced = `${label}, steps ${RESUME_AT + 1}-${RESUME_AT + FORCED_STEPS} from the baseline's checkpoint after step ${RESUME_AT}`;
  expectScalarsClose(actual.forced!, baseline.forced!, tol.scalars, forced);
  expectParamsClose(actual.forced!, baseline.forced!, tol.params, 'Lion', forced);
  const [start, end, want] = [actual.straight.losses[0], actual.straight.losses.at(-1)!, baseline.straight.losses.at(-1)!];
  expect(start - end, `${label}: the loss's fall over ${STEPS} steps`).toBeGreaterThan(1);
  expect(Math.abs(end - want), `${label}: last loss ${end} vs ${want}`).toBeLessThanOrEqual(LION_DRIFT_NATS);
}

/** The same numbers, bit for bit. */
export function expectIdentical(actual: RunRecord, expected: RunRecord, label: string): void {
  expect(actual.losses, `${label}: losses`).toEqual(expected.losses);
  expect(actual.gradNorms, `${label}: gradient norms`).toEqual(expected.gradNorms);
  for (const [name, want] of Object.entries(expected.params)) {
    const got = actual.params[name];
    const first = want.findIndex((e, i) => !Object.is(got[i], e));
    expect(first, `${label}: ${name} first element not bit-identical${first >= 0 ? ` ([${first}] ${got[first]} vs ${want[first]})` : ''}`).toBe(-1);
  }
}

/** The resumed trainer's steps against the same steps of the straight run. */
export function straightTail(r: JourneyResult): RunRecord {
  const from = r.straight.losses.length - r.resumed.losses.length;
  return { losses: r.straight.losses.slice(from), gradNorms: r.straight.gradNorms.slice(from), params: r.straight.params };
}
