/**
 * `npm run bench -- --quick` runs every part of the suite end to end: each
 * measurement has timings (or, for a peer, the reason it is missing), and
 * the JSON results and the Markdown report with its figures are written.
 * Timings are not asserted: they belong to the bench, not the tests. In CI
 * the peers must be installed, so a missing peer fails there (PyTorch is
 * installed with requirements-dev.txt, for the Hugging Face tests).
 *
 * A run without --write-docs writes under bench/out/ (ignored) and leaves
 * the committed report alone; --write-docs refuses a partial run.
 * bench/ab-step.ts (two builds in alternation) runs, and a build and a copy
 * of it (two module instances) compute the same first loss; bench/ab-decode.ts
 * runs, and the two generate the same tokens; bench/ab-trainer.ts runs the
 * Trainer's update in the graph against on the host, and the two train the
 * same bits. `--device webgpu` times the
 * TextGenerator against a bare InferenceSession loop on WebGPU. The bench's
 * build prints nothing (no bundler banner or warning in its output).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { IN_CI, webgpuUnavailable } from '../setup/availability.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row { part: string; impl: string; ms: number[]; median: number; missing?: string; isPeer: boolean }

it('the quick bench runs every part and writes its results and report', () => {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--quick', '--report', join(dir, 'bench.md'), '--results', dir], {
    cwd: root, encoding: 'utf8', timeout: 180_000,
  });
  expect(r.status, r.stderr).toBe(0);
  // No third-party banner in the output (tfjs greets Node users unless told otherwise).
  expect(r.stdout + r.stderr).not.toMatch(/looks like you are running TensorFlow\.js/);
  const results = JSON.parse(readFileSync(join(dir, 'quick.json'), 'utf8')) as { rows: Row[]; machine: object; settings: { mode: string } };
  expect(results.settings.mode).toBe('quick');
  expect(new Set(results.rows.map((row) => row.part))).toEqual(new Set(['optim', 'matmul', 'backends', 'train', 'scale', 'decode', 'claims']));
  for (const row of results.rows) {
    if (row.missing) {
      expect(row.isPeer, `${row.impl} is missing: ${row.missing}`).toBe(true);
      if (process.env.CI && !row.impl.startsWith('pytorch')) throw new Error(`peer ${row.impl} missing in CI: ${row.missing}`);
    } else {
      expect(row.ms.length).toBeGreaterThan(0);
      expect(row.ms.every((ms) => ms >= 0)).toBe(true);
    }
  }
  const report = readFileSync(join(dir, 'bench.md'), 'utf8');
  expect(report).toContain('## Optimizer step: Lion vs AdamW');
  // llm-tricks' optimizer rows, the bandwidth probes and the Python peers are timed round by round: their ratios are the rounds'.
  expect(report).toMatch(/step, 100k params, Lion: timed in alternation with the bandwidth probe Lion \(20 B\/param\), llm-tricks took [\d.]+× its time \(the median of the rounds' ratios; slower than the probe in \d of 3 rounds \(sign test, 5 %\): [a-z ]+\); with allocate\(\) [\d.]+× \(slower than the probe in \d of 3 rounds \(sign test, 5 %\): [a-z ]+\)\./);
  expect(report).toMatch(/step, 100k params: Lion's step takes [\d.]+× AdamW's time \(the median of the rounds' ratios; Lion slower in \d of 3 rounds \(sign test, 5 %\): [a-z ]+\); its state is 0\.5× AdamW's\./);
  // PyTorch's fused AdamW is a peer of AdamW (its fastest on the CPU), and of nothing else.
  const fused = results.rows.filter((row) => row.part === 'optim' && / cpu fused /.test(row.impl));
  if (fused.length) expect(fused.map((row) => row.impl.replace(/^pytorch \S+ /, ''))).toEqual(['cpu fused AdamW']);
  // NumPy is a peer like the others: missing outside CI is allowed (in CI the loop above fails on it).
  const numpyClip = results.rows.find((row) => row.part === 'optim' && /^numpy .* clip_grad_norm$/.test(row.impl));
  if (numpyClip && !numpyClip.missing) {
    expect(report).toMatch(/step, 100k params, clipGradNorm: numpy [\d.]+ clip_grad_norm ÷ llm-tricks = [\d.]+ \(the peer slower in \d of 3 rounds \(sign test, 5 %\): [a-z -]+\); with allocate\(\) [\d.]+ \(/);
  }
  // The attention kinds are timed in alternation with one another: their ratios to multi-head are the rounds', with
  // the sign test, and their rows carry no ratio to a peer timed at another moment (the bare loop and transformers.js
  // have their own comparisons, each in alternation with a TextGenerator).
  expect(report).toMatch(/context 16: multi-query decodes \d+ tokens\/s vs multi-head \d+: [\d.]+× as fast \(the median of the rounds' ratios\), its token took longer than multi-head's in \d of 6 rounds \(sign test, 5 %\)/);
  const kinds = results.rows.filter((row) => row.part === 'decode' && !row.isPeer);
  expect(kinds.map((row) => row.impl)).toEqual(['llm-tricks multi-head', 'llm-tricks grouped-query', 'llm-tricks multi-query']);
  expect(kinds.map((row) => row.ms.length)).toEqual([6, 6, 6]);
  expect(report).toMatch(/\| context 16 \| llm-tricks multi-query \| [\d.]+ \| 6 \| {2}\|/);
  // The reference backend and tfjs run alone: their ratios say so and carry no sign test; the copying run is set
  // against the resident step with the update in the graph as well, which it differs from only by the copies.
  expect(report).toMatch(/× the reference backend's \d+ tokens\/s \(timed apart: \d+ runs alone, no sign test\)/);
  expect(report).toMatch(/State copied through JavaScript every step vs kept resident, both with Lion's update in the step graph, timed in alternation: /);
  // run() against a bare InferenceSession.run: alternated round by round, with the sign test and the 5% target named.
  expect(report).toMatch(/DecoderLM 2 layers \(1, 8\): timed in alternation, llm-tricks' run\(\) took [\d.]+% (more|less) time than a bare InferenceSession\.run \(the median of the rounds' ratios, (within|outside) the 5% target\); median paired difference -?[\d.]+ ms, llm-tricks slower in \d of 9 rounds \(sign test, 5 %\)/);
  const optimRows = results.rows.filter((row) => row.part === 'optim' && row.ms.length);
  expect(new Set(optimRows.map((row) => row.ms.length)).size).toBe(1);
  expect(existsSync(join(dir, 'img', 'bench-optim.svg'))).toBe(true);
  expect(existsSync(join(dir, 'img', 'bench-matmul.svg'))).toBe(true);
  expect(existsSync(join(dir, 'img', 'bench-scale-size.svg'))).toBe(true);
});

it('rejects unknown options with a clear message', () => {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--only', 'nope'], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain("bench: --only expected one of optim, matmul, backends, train, scale, decode, claims, got 'nope'");
});

it('--peer-device takes cpu or cuda, and only with a part whose PyTorch peers it moves', () => {
  const run = (...args: string[]) => spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', ...args], { cwd: root, encoding: 'utf8' });
  const bad = run('--peer-device', 'tpu');
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain("bench: --peer-device expected cpu or cuda, got 'tpu'");
  const idle = run('--only', 'decode', '--peer-device', 'cuda');
  expect(idle.status).toBe(2);
  expect(idle.stderr).toContain('bench: --peer-device cuda expected a run with the train or scale part (their PyTorch peers are the only ones it moves), got --only decode');
});

const webgpuMissing = webgpuUnavailable();
// Skipped without a Vulkan driver outside CI (the reason is in the name); CI installs one, and the test throws there if it is missing.
(webgpuMissing && !IN_CI ? it.skip : it)(`--device webgpu times the TextGenerator against a bare InferenceSession loop on WebGPU${webgpuMissing && !IN_CI ? ` (skipped: ${webgpuMissing})` : ''}`, () => {
  if (webgpuMissing) throw new Error(`ort-node webgpu is needed in CI: ${webgpuMissing}`);
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--quick', '--only', 'decode', '--device', 'webgpu', '--results', dir], {
    cwd: root, encoding: 'utf8', timeout: 180_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const results = JSON.parse(readFileSync(join(dir, 'quick-decode-webgpu.json'), 'utf8')) as { rows: Row[] };
  const peer = results.rows.find((row) => row.impl.endsWith('InferenceSession loop on webgpu'));
  expect(peer?.missing).toBeUndefined();
  expect(peer?.ms.length).toBeGreaterThan(0);
  expect(results.rows.filter((row) => row.impl.startsWith('transformers.js'))).toEqual([]);
});

it('--device wasm runs the training part on onnxruntime-web under its own report name', () => {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--quick', '--only', 'train', '--device', 'wasm', '--results', dir], {
    cwd: root, encoding: 'utf8', timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const results = JSON.parse(readFileSync(join(dir, 'quick-train-wasm.json'), 'utf8')) as { rows: Row[]; settings: { device: string } };
  expect(results.settings.device).toBe('wasm');
  expect(results.rows.map((row) => row.impl)).toContain('llm-tricks ort-web wasm');
  expect(readFileSync(join(dir, 'quick-train-wasm.md'), 'utf8')).toContain('Written by `npm run bench -- --quick --only train --device wasm`');
});

it('a run without --write-docs leaves the committed report alone and says where it wrote; --write-docs refuses a partial run', () => {
  const committed = ['docs/bench.md', 'bench/results/default.json'].map((f) => readFileSync(join(root, f), 'utf8'));
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--quick', '--only', 'claims'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/wrote bench\/out\/quick-claims\.json and bench\/out\/quick-claims\.md \(the committed docs\/bench\.md is unchanged: --write-docs replaces it\)/);
  expect(r.stdout).not.toMatch(/looks like you are running TensorFlow\.js/);
  expect(['docs/bench.md', 'bench/results/default.json'].map((f) => readFileSync(join(root, f), 'utf8'))).toEqual(committed);
  const refused = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bench/run.ts', '--quick', '--write-docs'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/^bench: --write-docs expected a default CPU run of every part/);
});

const tsx = join(root, 'node_modules', '.bin', 'tsx');

/**
 * Runs an A/B script (bench/ab-*.ts) with a copy of the build as --a and dist as --b, as its usage says: the copy is
 * a second module instance, importing its dependencies from the repository's node_modules.
 */
function abAgainstCopy(script: string, args: string[], timeout: number): SpawnSyncReturns<string> {
  const copy = join(root, 'bench', 'out', `${script}-test-${process.pid}`);
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  cpSync(join(root, 'dist'), copy, { recursive: true });
  try {
    return spawnSync(tsx, [`bench/${script}.ts`, '--a', copy, '--b', 'dist', ...args], { cwd: root, encoding: 'utf8', timeout });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

it('ab-step times one build against another: a copy of the build computes the same first loss', () => {
  const r = abAgainstCopy('ab-step', ['--rounds', '2'], 120_000);
  expect(r.status, r.stderr).toBe(0);
  const [, a, b] = /first losses: a (\S+), b (\S+)/.exec(r.stdout) ?? [];
  expect(Number(a)).toBeGreaterThan(5);
  expect(b).toBe(a);
  expect(r.stdout).toMatch(/b slower in \d of 2 rounds \(sign test, 5 %\)/);
  const bad = spawnSync(tsx, ['bench/ab-step.ts', '--a', 'dist'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^ab-step: expected --a <dist dir> --b <dist dir>/);
});

it('ab-trainer times the update in the graph against on the host: the two train the same bits', () => {
  const r = spawnSync(tsx, ['bench/ab-trainer.ts', '--update-a', 'graph', '--update-b', 'host', '--rounds', '2'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/a: dist, update in the graph; b: dist, update on the host/);
  expect(r.stdout).toMatch(/b slower in \d of 2 rounds \(sign test, 5 %\)/);
  expect(r.stdout).toMatch(/4 steps each: losses bit-identical; parameters and optimizer state bit-identical/);
  const bad = spawnSync(tsx, ['bench/ab-trainer.ts', '--update-a', 'gpu'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^ab-trainer: expected \[--a <dist dir>\]/);
});

it('ab-decode times the TextGenerator of one build against another: the two generate the same tokens', () => {
  const r = abAgainstCopy('ab-decode', ['--rounds', '1'], 180_000);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.match(/tokens the same$/gm)).toHaveLength(3);
  expect(r.stdout).toMatch(/multi-head, context 2048, 16 tokens: a \S+ ms, b \S+ ms .*b slower in \d of 1 rounds \(sign test, 5 %\)/);
  const bad = spawnSync(tsx, ['bench/ab-decode.ts', '--a', 'dist', '--b', 'dist', '--device', 'tpu'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^ab-decode: expected --a <dist dir> --b <dist dir> \[--device cpu\|wasm\|webgpu\]/);
});

it("npm run bench builds the package without printing the bundler's warnings", () => {
  // The build step of the bench script, into a folder of its own (dist/ is what the other tests import).
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.bench;
  const build = script.split('&&')[0].trim();
  expect(build, 'the bench script expected to start with a tsup build (run here into a folder of its own)').toMatch(/^tsup\b/);
  const out = join(dir, 'build');
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsup'), [...build.split(/\s+/).slice(1), '--out-dir', out], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  expect(r.status, r.stderr).toBe(0);
  // Without --silent, tsup prints its progress and Rollup's "enumDesc ... is imported ... but never used" from the generated ONNX schema.
  expect(r.stdout + r.stderr).toBe('');
  expect(existsSync(join(out, 'index.js'))).toBe(true);
});
