/**
 * The compiled backends the conformance tests run, and how their outputs are
 * compared with the reference backend (the oracle).
 *
 * Backends under test:
 * - ort-node 'cpu' (onnxruntime-node, one intra-op thread: the suite's files
 *   run in parallel on small CI machines);
 * - ort-web 'wasm' (onnxruntime-web in Node, one wasm thread);
 * - ort-node 'webgpu' where the software Vulkan device is installed
 *   (VK_ICD_FILENAMES set and naming an existing file, e.g. Chromium's
 *   SwiftShader: /usr/lib/chromium/vk_swiftshader_icd.json). It is compiled
 *   with strictDevice, so a session in which any node would run on the CPU
 *   is refused rather than silently run there. Locally a missing device
 *   skips its suites (named with the reason); in CI (process.env.CI) it is
 *   a failing test.
 */
import * as ortWebModule from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { referenceBackend, type Backend, type DType, type Executable, type Feeds, type Graph, type Tensor } from '../../src/index.js';
import { ortNode, type OrtCompileOptions } from '../../src/node.js';
import { ortWeb } from '../../src/web.js';
import { IN_CI, webgpuUnavailable } from '../setup/availability.js';

// Node has no cross-origin isolation to lend the wasm backend threads; one thread also starts fastest.
ortWebModule.env.wasm.numThreads = 1;

/** One backend and device under test. */
export interface BackendUnderTest {
  /** 'ort-node cpu', 'ort-web wasm', 'ort-node webgpu'. */
  readonly name: string;
  readonly backend: Backend;
  readonly device: string;
  readonly options: OrtCompileOptions;
  /** WebGPU on the software device: slow to start each shader, float32/int32/bool only, no int64 kernels; keep its cases few and tiny. */
  readonly webgpu: boolean;
  compile(graph: Graph): Promise<Executable>;
}

/**
 * IN_CI (in CI a missing device is a failure rather than a skip) and
 * webgpuUnavailable() (why the software WebGPU device cannot be used here,
 * or null) live in test/setup/availability.ts, where the line `npm test`
 * prints first decides the same.
 */
export { IN_CI, webgpuUnavailable };

function underTest(backend: Backend, device: string, options: OrtCompileOptions): BackendUnderTest {
  const all = { device, ...options };
  return { name: `${backend.name} ${device}`, backend, device, options: all, webgpu: device === 'webgpu', compile: (g) => backend.compile(g, all) };
}

const WEBGPU_MISSING = webgpuUnavailable();

/** The backends that run here, in a fixed order. */
export const BACKENDS: readonly BackendUnderTest[] = [
  underTest(ortNode, 'cpu', { intraOpNumThreads: 1 }),
  underTest(ortWeb, 'wasm', {}),
  ...(WEBGPU_MISSING ? [] : [underTest(ortNode, 'webgpu', { strictDevice: true })]),
];

/**
 * `describe(name)` holding one `describe.each` block per backend under test,
 * each named after its backend. A missing WebGPU device adds a skipped
 * block (locally) or a failing test (in CI) saying why.
 */
export function describePerBackend(name: string, fn: (b: BackendUnderTest) => void): void {
  describe(name, () => {
    describe.each(BACKENDS)('$name', (b) => fn(b));
    if (WEBGPU_MISSING) {
      if (IN_CI) {
        describe('ort-node webgpu', () => {
          it('has the software Vulkan device in CI', () => {
            throw new Error(`ort-node webgpu: the conformance suite needs it in CI, but ${WEBGPU_MISSING}`);
          });
        });
      } else {
        describe.skip(`ort-node webgpu (skipped: ${WEBGPU_MISSING})`, () => {
          it('runs the same checks', () => {});
        });
      }
    }
  });
}

/** Compiles a graph on `b` and on the reference backend, runs both on each feed set, and compares every output. */
export async function expectConforms(b: BackendUnderTest, graph: Graph, feedSets: readonly Feeds[], tol: Tolerance, label = ''): Promise<void> {
  const [exe, ref] = await Promise.all([b.compile(graph), referenceBackend.compile(graph)]);
  for (const [k, feeds] of feedSets.entries()) {
    const want = await ref.run(feeds);
    const got = await exe.run(feeds);
    expectAllClose(got, want, tol, `${b.name}${label ? ` ${label}` : ''}, feed set ${k}`, `${b.name} ${label}`);
  }
}

/**
 * A float comparison |actual - expected| <= atol + rtol·|expected|, per element.
 * Integer and bool outputs are always compared exactly.
 */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * Tolerances. For float32 the unit roundoff is u = 2^-24 ≈ 6e-8; the
 * reference computes each primitive in float64 and rounds once, so it is
 * within 0.5 ulp of the exact result and a difference measures the
 * backend's own rounding. Measured with TOLERANCE_REPORT=1 and
 * CONFORMANCE_RUNS=100 (the largest error as a share of its allowance):
 * - EXACT: data movement, comparisons, selection, integer arithmetic and
 *   random bits, which every backend must reproduce bit for bit.
 * - PRIMITIVE (atol 1e-5, rtol 1e-5, ~170 u): one float32 primitive on
 *   values in [-2, 2]. ONNX Runtime's vectorised exp/tanh/pow are within a
 *   few ulp; a float32 sum of at most 27 terms of size <= 2 may round by up
 *   to 26·u·54 ≈ 8e-5 in the worst case, by ~1e-7 in practice. Measured:
 *   at most 3% of the allowance (matmul and reduceSum on wasm).
 * - FLOAT64 (atol 1e-12, rtol 1e-12, ~10^4 u for u = 2^-53): the same for
 *   float64 kernels.
 * - WEBGPU_PRIMITIVE (atol 6e-4, rtol 1e-4): WGSL promises sin and cos only
 *   to an absolute 2^-11 ≈ 4.9e-4 on [-π, π], and exp/log/pow to 3 + 2|x|
 *   ulp, so a real GPU may be that far off. Measured on SwiftShader: cos up
 *   to 27% of the allowance (1.6e-4), everything else under 1%.
 * - BLOCK (atol 1e-5, rtol 1e-4): a model's forward pass or gradient graph,
 *   hundreds of float32 primitives (softmax, norms, matmuls) whose summation
 *   order and fused kernels differ between backends. Measured differences
 *   stay near 1e-7 (under 1% of the allowance on every backend);
 *   a lowering bug (a wrong axis, index, sign, epsilon or broadcast)
 *   changes results by far more.
 */
export const EXACT: Tolerance = { atol: 0, rtol: 0 };
export const FLOAT64: Tolerance = { atol: 1e-12, rtol: 1e-12 };
export const PRIMITIVE: Tolerance = { atol: 1e-5, rtol: 1e-5 };
export const WEBGPU_PRIMITIVE: Tolerance = { atol: 6e-4, rtol: 1e-4 };
export const BLOCK: Tolerance = { atol: 1e-5, rtol: 1e-4 };

const isFloatType = (d: DType): boolean => d === 'float32' || d === 'float64';

/** Largest error as a fraction of its allowance, per label, when TOLERANCE_REPORT is set (to see the headroom). */
export const toleranceUse: Map<string, number> = new Map();

/** Prints the largest error/allowance ratio per label (run with TOLERANCE_REPORT=1). */
export function reportToleranceUse(): void {
  if (!process.env.TOLERANCE_REPORT) return;
  const rows = [...toleranceUse].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  console.log(rows.map(([k, v]) => `${v.toFixed(4)}  ${k}`).join('\n'));
}

/** Compares one tensor: dtype, shape, then values (exactly for ints and bools, within `tol` for floats; NaN equals NaN). */
export function expectClose(actual: Tensor, expected: Tensor, tol: Tolerance, label = '', reportAs: string = label): void {
  const where = label ? `${label}: ` : '';
  expect(actual.dtype, `${where}dtype`).toBe(expected.dtype);
  expect([...actual.shape], `${where}shape`).toEqual([...expected.shape]);
  const a = actual.data();
  const e = expected.data();
  const bad: string[] = [];
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    const [x, y] = [a[i], e[i]];
    if (!isFloatType(expected.dtype)) {
      if (x !== y) bad.push(`[${i}] ${x} != ${y}`);
      continue;
    }
    const [u, v] = [Number(x), Number(y)];
    if (Number.isNaN(v) || !Number.isFinite(v)) {
      if (!Object.is(u, v) && !(Number.isNaN(u) && Number.isNaN(v)) && u !== v) bad.push(`[${i}] ${u} != ${v}`);
      continue;
    }
    const allowed = tol.atol + tol.rtol * Math.abs(v);
    const err = Math.abs(u - v);
    worst = Math.max(worst, allowed > 0 ? err / allowed : err > 0 ? Infinity : 0);
    if (!(err <= allowed)) bad.push(`[${i}] ${u} vs ${v} (|diff| ${err.toExponential(2)} > ${allowed.toExponential(2)})`);
  }
  if (process.env.TOLERANCE_REPORT) toleranceUse.set(reportAs, Math.max(toleranceUse.get(reportAs) ?? 0, worst));
  if (bad.length) {
    throw new Error(`${where}${bad.length} of ${e.length} ${expected.dtype} elements differ (atol ${tol.atol}, rtol ${tol.rtol}):\n  ${bad.slice(0, 8).join('\n  ')}`);
  }
}

/** Compares outputs pairwise (same count, same order). */
export function expectAllClose(actual: readonly Tensor[], expected: readonly Tensor[], tol: Tolerance, label = '', reportAs: string = label): void {
  expect(actual.length, `${label}: output count`).toBe(expected.length);
  actual.forEach((t, i) => expectClose(t, expected[i], tol, `${label}${label ? ', ' : ''}output ${i}`, reportAs));
}

/**
 * The same backend without strictDevice: ONNX Runtime may run ops that have
 * no kernel on the device (int64 index arithmetic, shape computations) on
 * the CPU. Used for the cases strictDevice refuses, so they still run.
 */
export function lenient(b: BackendUnderTest): BackendUnderTest {
  const options: OrtCompileOptions = { ...b.options, strictDevice: false };
  return { ...b, name: `${b.name} (CPU fallback allowed)`, options, compile: (g) => b.backend.compile(g, options) };
}
