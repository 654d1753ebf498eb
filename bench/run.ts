/**
 * The bench suite: `npm run bench` (default), `-- --quick` (a smoke run of
 * every part), `-- --full`, `-- --only <part>`, `-- --device <cpu|wasm|webgpu>`
 * (where the training and decoding parts run llm-tricks: onnxruntime-node's
 * CPU, onnxruntime-web's WebAssembly, onnxruntime-node's WebGPU),
 * `-- --peer-device cuda` (the PyTorch peers of the training steps run on an
 * NVIDIA GPU; the CPU-only peers of the training part, the reference backend
 * and TensorFlow.js, are then left out).
 * Prints each measurement as it lands, then writes <name>.json and the
 * report <name>.md with its figures under bench/out/ (ignored by git; <name>:
 * the mode, then the --only parts, then the device, joined by '-', e.g.
 * quick-train-wasm) and prints where. Only `--write-docs` (a default CPU
 * run of every part) replaces the committed report: docs/bench.md, its
 * figures in docs/img/ and bench/results/default.json. Timings live here,
 * never in tests. Exits 1 after writing the report when a part's check fails
 * (e.g. the timed training steps do not learn), 2 on bad options.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
// tfjs's CPU backend greets Node users once ("looks like you are running TensorFlow.js in Node.js"); PROD silences its warnings.
tf.env().set('PROD', true);
import { backendsPart } from './parts/backends.js';
import { matmulPart } from './parts/matmul.js';
import { optimPart } from './parts/optim.js';
import { trainPart } from './parts/train.js';
import { scalePart } from './parts/scale.js';
import { decodePart } from './parts/decode.js';
import { claimsPart } from './parts/claims.js';
import { writeReport } from './lib/report.js';
import type { Part, Row, RunSettings } from './lib/types.js';

const PARTS: readonly Part[] = [optimPart, matmulPart, backendsPart, trainPart, scalePart, decodePart, claimsPart];
const DEVICES = ['cpu', 'wasm', 'webgpu'];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    device: { type: 'string', default: 'cpu' },
    'peer-device': { type: 'string', default: 'cpu' },
    report: { type: 'string' },
    results: { type: 'string' },
    'write-docs': { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

if (values.quick && values.full) fail('--quick and --full expected one at a time, got both');
if (!DEVICES.includes(values.device)) fail(`--device expected one of ${DEVICES.join(', ')}, got '${values.device}'`);
const peerDevice = values['peer-device'];
if (peerDevice !== 'cpu' && peerDevice !== 'cuda') fail(`--peer-device expected cpu or cuda, got '${peerDevice}'`);
if (peerDevice !== 'cpu' && values.only && !values.only.some((p) => p === 'train' || p === 'scale')) fail(`--peer-device ${peerDevice} expected a run with the train or scale part (their PyTorch peers are the only ones it moves), got --only ${values.only.join(', ')}`);
const unknown = (values.only ?? []).filter((p) => !PARTS.some((q) => q.name === p));
if (unknown.length) fail(`--only expected one of ${PARTS.map((p) => p.name).join(', ')}, got '${unknown.join(', ')}'`);
const writeDocs = values['write-docs'];
if (writeDocs && (values.quick || values.full || values.only || values.device !== 'cpu' || peerDevice !== 'cpu' || values.report || values.results)) {
  fail('--write-docs expected a default CPU run of every part (no --quick, --full, --only, --device, --peer-device, --report or --results): it replaces the committed report');
}

const mode = values.quick ? 'quick' : values.full ? 'full' : 'default';
const settings: RunSettings = { mode, device: values.device, peerDevice, ...(values.only ? { only: values.only } : {}), ...(writeDocs ? { writeDocs } : {}), warmup: mode === 'quick' ? 1 : 5, runs: { quick: 3, default: 7, full: 15 }[mode] };
const parts = PARTS.filter((p) => !values.only || values.only.includes(p.name));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const rows: Row[] = [];
const total = parts.reduce((n, p) => n + p.count(settings), 0);
const bar = process.stdout.isTTY ? new SingleBar({ format: ' {bar} {value}/{total} {part}', hideCursor: true }, Presets.shades_classic) : null;
bar?.start(total, 0, { part: '' });
// On a TTY a line is printed over the bar, which redraws itself below on its next update.
const say = (line: string): void => {
  if (bar) process.stdout.write(`\r\x1b[K${line}\n`);
  else console.log(line);
};

say(`llm-tricks ${pkg.version} bench, ${mode}, device ${settings.device}${peerDevice === 'cpu' ? '' : `, PyTorch peers on ${peerDevice}`}: ${total} measurements`);
for (const part of parts) {
  say(`\n== ${part.title}`);
  await part.run(settings, (row) => {
    rows.push(row);
    bar?.increment(1, { part: part.name });
    const result = row.missing ? `missing: ${row.missing}` : `median ${row.median.toFixed(3)} ms over ${row.ms.length} runs`;
    say(`  ${row.task.padEnd(22)} ${row.impl.padEnd(28)} ${result}`);
  });
}
bar?.stop();
// Every run gets its own name; only --write-docs replaces the committed report.
const name = [mode, ...(values.only ? [values.only.join('+')] : []), ...(values.device !== 'cpu' ? [values.device] : []), ...(peerDevice !== 'cpu' ? [`peers-${peerDevice}`] : [])].join('-');
const resultsDir = values.results ?? (writeDocs ? 'bench/results' : 'bench/out');
const reportPath = values.report ?? (writeDocs ? 'docs/bench.md' : `${resultsDir}/${name}.md`);
// The Python peers name their versions in their rows ('numpy 2.4.6', 'pytorch 2.15.0 ...').
const versions = { 'llm-tricks': pkg.version, 'onnxruntime-node': ort.env.versions.common, '@tensorflow/tfjs': tf.version.tfjs };
const checks = await writeReport(parts, rows, settings, versions, reportPath, resultsDir, name);
console.log(`\nwrote ${resultsDir}/${name}.json and ${reportPath}${writeDocs ? '' : ' (the committed docs/bench.md is unchanged: --write-docs replaces it)'}`);
for (const c of checks) console.log(`${c.ok ? 'ok' : 'FAILED'}: ${c.line}`);
// A failing check (e.g. training steps that do not learn) means the timings are of broken work: never silent.
for (const c of checks.filter((c) => !c.ok)) console.error(`\nbench: WARNING: ${c.warning ?? 'check failed'}\n  ${c.line}`);
if (checks.some((c) => !c.ok)) process.exitCode = 1;
