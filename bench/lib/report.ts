/** Writes a run's raw results (JSON) and the Markdown report with its figures. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { barChart, lineChart } from './plot.js';
import type { Check, Part, Row, RunSettings } from './types.js';

/** Facts about the machine and software a run was measured on. */
export function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}

/** The NVIDIA GPUs as nvidia-smi names them (name, driver, memory), or why none is named. */
export function nvidiaGpus(): string {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return `none found by nvidia-smi (${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)})`;
  return r.stdout.trim().split('\n').join('; ');
}

/** The peer row a row is compared with: same part, task and group. */
function peerOf(row: Row, rows: readonly Row[]): Row | undefined {
  return rows.find((r) => r.isPeer && r.part === row.part && r.task === row.task && r.group === row.group && r.ms.length);
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? '—' : ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));

/** The rows of one part as a Markdown table: median, run count, the peer's median over ours, extras. */
export function table(rows: readonly Row[]): string {
  const lines = ['| task | implementation | median ms | runs | peer ÷ this | notes |', '| --- | --- | ---: | ---: | ---: | --- |'];
  for (const r of rows) {
    const peer = peerOf(r, rows);
    const ratio = r.isPeer || !peer || !r.ms.length ? '' : `${(peer.median / r.median).toFixed(2)}`;
    const notes = r.missing ?? Object.entries(r.extra ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| ${r.task} | ${r.impl} | ${fmt(r.median)} | ${r.ms.length} | ${ratio} | ${notes} |`);
  }
  return lines.join('\n');
}

/** A part's check with the part's name. */
export interface PartCheck extends Check {
  readonly part: string;
}

/**
 * Writes `<resultsDir>/<name>.json` and the report (with SVG figures beside it
 * in img/). Returns every part's checks: failing ones head the report.
 */
export async function writeReport(
  parts: readonly Part[], rows: readonly Row[], settings: RunSettings, versions: Record<string, string>, reportPath: string, resultsDir: string, name: string,
): Promise<PartCheck[]> {
  // A run on a GPU names it: the WebGPU device and the peers' CUDA are only as good as the GPU under them.
  const onMachine = machine();
  if (settings.device === 'webgpu' || settings.peerDevice === 'cuda') onMachine.gpu = nvidiaGpus();
  const info = { machine: onMachine, versions, settings, date: new Date().toISOString() };
  const checks: PartCheck[] = parts.flatMap((part) => {
    const own = rows.filter((r) => r.part === part.name);
    return own.length && part.checks ? part.checks(own).map((c) => ({ part: part.name, ...c })) : [];
  });
  const failing = checks.filter((c) => !c.ok);
  // The options that made this run (the results and report paths left out).
  const options = [
    ...(settings.mode === 'default' ? [] : [`--${settings.mode}`]),
    ...(settings.writeDocs ? ['--write-docs'] : []),
    ...(settings.only ?? []).map((p) => `--only ${p}`),
    ...(settings.device === 'cpu' ? [] : [`--device ${settings.device}`]),
    ...(settings.peerDevice === 'cpu' ? [] : [`--peer-device ${settings.peerDevice}`]),
  ];
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify({ ...info, checks, rows }, null, 2)}\n`);
  const imgDir = join(dirname(reportPath), 'img');
  mkdirSync(imgDir, { recursive: true });
  const sections: string[] = [];
  for (const part of parts) {
    const own = rows.filter((r) => r.part === part.name);
    if (!own.length) continue;
    const images: string[] = [];
    if (part.figures) {
      for (const f of await part.figures(own)) {
        const img = join(imgDir, `bench-${part.name}-${f.name}.svg`);
        writeFileSync(img, await lineChart(f.series, { title: f.title, x: f.x, y: f.y }));
        images.push(`![${f.title}](${relative(dirname(reportPath), img)})`);
      }
    } else {
      const svg = await barChart(own.filter((r) => r.ms.length).map((r) => ({ category: r.task, series: r.impl, value: r.median })), {
        title: part.title, x: 'task', y: 'median ms (log scale)', logY: true,
      });
      const img = join(imgDir, `bench-${part.name}.svg`);
      writeFileSync(img, svg);
      images.push(`![${part.title}](${relative(dirname(reportPath), img)})`);
    }
    const checkLines = checks.filter((c) => c.part === part.name).map((c) => (c.ok ? c.line : `**WARNING: ${c.warning ?? 'check failed'}.** ${c.line}`));
    const summary = [...checkLines, ...(part.summary?.(own) ?? [])].map((line) => `- ${line}`).join('\n');
    sections.push(`## ${part.title}\n\n${part.about}\n\n${table(own)}\n${summary ? `\n${summary}\n` : ''}\n${images.join('\n\n')}\n`);
  }
  const m = info.machine;
  const header = `# Bench report

Written by \`npm run bench${options.length ? ` -- ${options.join(' ')}` : ''}\` on ${info.date.slice(0, 10)}.
Medians of each row's timed runs (the runs column: each part sets its own count from the run's setting, ${settings.runs} runs after ${settings.warmup} warm-up runs), device \`${settings.device}\`.
"peer ÷ this" is the peer's median over this row's for the same task: above 1, llm-tricks is faster; each part's text says which rows were timed in alternation.
Raw timings: \`${relative(dirname(reportPath), join(resultsDir, `${name}.json`))}\`.

Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}.${'gpu' in m ? `\nNVIDIA GPUs on the machine (nvidia-smi; WebGPU's adapter is the one its Vulkan driver gives): ${m.gpu}.` : ''}
Versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}.
`;
  // A failing check means timings of something broken: said first, before any table.
  const warnings = failing.map((c) => `> **WARNING: ${c.warning ?? 'check failed'}.**\n> ${c.line}\n`).join('\n');
  writeFileSync(reportPath, `${header}\n${warnings ? `${warnings}\n` : ''}${sections.join('\n')}`);
  return checks;
}
