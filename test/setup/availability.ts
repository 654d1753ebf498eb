/**
 * Whether each device or tool a test suite needs is here: the one place the
 * tests and the line `npm test` prints first (test/setup/devices.ts) decide
 * it, so the two cannot disagree.
 *
 * Each predicate returns why the thing is missing, or null when it is here.
 * Locally a missing thing skips its tests (the reason in the test's name);
 * in CI (IN_CI) it is a failing test instead, so CI never skips.
 *
 * Imported by the vitest main process (globalSetup) and by the test
 * workers: it must not import the package or onnxruntime.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** True in CI, where a missing device is a failure rather than a skip. */
export const IN_CI: boolean = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** Chromium's software Vulkan driver (SwiftShader), installed by `apt-get install chromium libvulkan1`. */
export const SOFTWARE_VULKAN_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Points VK_ICD_FILENAMES at Chromium's SwiftShader driver when it is
 * installed and VK_ICD_FILENAMES is unset (a user's own value is kept).
 * Run in the vitest main process before the workers start, so that the
 * native onnxruntime-node in every worker inherits it. Returns the path it
 * set, or null when it changed nothing.
 */
export function useSoftwareVulkan(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.VK_ICD_FILENAMES || !existsSync(SOFTWARE_VULKAN_ICD)) return null;
  env.VK_ICD_FILENAMES = SOFTWARE_VULKAN_ICD;
  return SOFTWARE_VULKAN_ICD;
}

/** Why ort-node's 'webgpu' device (on a Vulkan driver named by VK_ICD_FILENAMES) cannot be used here, or null when it can. */
export function webgpuUnavailable(): string | null {
  const icd = process.env.VK_ICD_FILENAMES;
  if (!icd) return `no Vulkan ICD: apt-get install chromium libvulkan1, or export VK_ICD_FILENAMES`;
  if (!icd.split(':').every((f) => existsSync(f))) return `VK_ICD_FILENAMES=${icd} names a file that does not exist: fix it, or unset it to use ${SOFTWARE_VULKAN_ICD} from apt-get install chromium libvulkan1`;
  return null;
}

/** The Chromium the browser tests drive: CHROMIUM_PATH, default /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/** Why headless Chromium cannot be launched here, or null when it can. */
export function chromiumUnavailable(): string | null {
  const path = chromiumPath();
  return existsSync(path) ? null : `no Chromium at ${path}: apt-get install chromium, or set CHROMIUM_PATH`;
}

/** The Python the tests run: PYTHON, default python3. */
export function pythonPath(): string {
  return process.env.PYTHON ?? 'python3';
}

/** Why `python3 -c 'import <modules>'` fails here (requirements-dev.txt), or null when it succeeds. */
export function pythonUnavailable(modules: readonly string[]): string | null {
  const python = pythonPath();
  const r = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (r.error) return `${python} is not installed: install Python 3, then pip install -r requirements-dev.txt; ${r.error.message}`;
  if (r.status !== 0) return `${python} cannot import ${modules.join(', ')}: pip install -r requirements-dev.txt; ${r.stderr.trim().split('\n').pop()}`;
  return null;
}

/** One group of tests that needs something the machine may lack. */
export interface DeviceSuite {
  /** As the line names it: 'ort-node webgpu', 'Chromium', ... */
  readonly name: string;
  /** What it is when it is here, for the line that says nothing is skipped. */
  readonly found: () => string;
  /** The predicate its tests use. */
  readonly unavailable: () => string | null;
}

/** Every suite that skips locally when something is missing (grep the tests for these predicates). */
export const DEVICE_SUITES: readonly DeviceSuite[] = [
  // test/helpers/backends.ts (describePerBackend), test/train/device.test.ts, test/backends/conformance/devices.test.ts
  { name: 'ort-node webgpu', found: () => `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`, unavailable: webgpuUnavailable },
  // test/browser/chromium.test.ts, test/browser/example.test.ts
  { name: 'Chromium', found: () => chromiumPath(), unavailable: chromiumUnavailable },
  // test/backends/conformance/onnx-checker.test.ts, test/backends/export/export.test.ts
  { name: 'Python onnx checker', found: () => `${pythonPath()} with onnx`, unavailable: () => pythonUnavailable(['onnx']) },
  // test/hub/transformers.test.ts
  { name: 'Python transformers', found: () => `${pythonPath()} with torch, transformers`, unavailable: () => pythonUnavailable(['torch', 'transformers']) },
  // test/train/safetensors.test.ts
  { name: 'Python safetensors', found: () => `${pythonPath()} with safetensors, numpy`, unavailable: () => pythonUnavailable(['safetensors', 'numpy']) },
];

/** The one line `npm test` prints first: which suites skip and why, or that none does. */
export function availabilityLine(suites: readonly DeviceSuite[] = DEVICE_SUITES): string {
  const missing = suites.map((s) => ({ s, why: s.unavailable() })).filter((m) => m.why !== null);
  const list = missing.map(({ s, why }) => `${s.name} (${why})`).join(', ');
  if (!missing.length) return `llm-tricks tests: skipping nothing (${suites.map((s) => `${s.name}: ${s.found()}`).join('; ')})`;
  if (IN_CI) return `llm-tricks tests: skipping nothing (CI), but these will fail: ${list}`;
  return `llm-tricks tests: skipping ${list}`;
}
