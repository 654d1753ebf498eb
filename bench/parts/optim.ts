/**
 * One optimizer step over N float32 parameters: Lion against AdamW in
 * llm-tricks' standalone form, with NumPy's in-place version of each as the
 * peer. Lion keeps one state buffer per parameter and AdamW two.
 */
import { AdamW, clipGradNorm, Lion } from 'llm-tricks';
import { availableParallelism } from 'node:os';
import { runPeer, type PeerResult } from '../lib/peer.js';
import { median, timeInterleaved } from '../lib/timing.js';
import { repeatedClipping } from '../lib/clipping.js';
import type { Part, Row, RunSettings } from '../lib/types.js';

const sizes = (s: RunSettings): number[] => ({ quick: [100_000], default: [1_000_000, 10_000_000], full: [1_000_000, 10_000_000, 30_000_000] })[s.mode];
const label = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = x / 2 ** 32 - 0.5;
  }
  return a;
}

/** The median over rounds of a's time ÷ b's, for rows timed in the same rounds (in alternation). */
function pairedRatio(a: Row, b: Row): number {
  return median(a.ms.map((x, i) => x / b.ms[i]));
}

export const optimPart: Part = {
  name: 'optim',
  title: 'Optimizer step: Lion vs AdamW',
  about: 'One step over N float32 parameters (the article uses Lion for its lower memory: one state buffer instead of two). Peers: the same update in NumPy, in place, and in PyTorch on the CPU (its AdamW with foreach ops; Lion, which PyTorch does not ship, written with foreach ops), on the same number of threads as there are cores. The memory bandwidth probe copies as many bytes as the step must move (Lion reads p, g, m and writes p, m: 20 bytes per parameter; AdamW 28) with one `TypedArray.set`: the floor an in-place step can reach. The `allocate()` rows step arrays allocated by the optimizer (`opt.allocate([N])`) in its WebAssembly memory, with its state: no copies in and out of that memory, which ordinary arrays need (their state lives there either way). The clipGradNorm rows clip N float32 gradients to 0.9 times the norm the previous call left, so every call sums the squares and scales (PyTorch\'s clip_grad_norm_ with foreach ops; NumPy\'s linalg.norm and an in-place multiply; the probe moves 12 bytes per gradient: read once for the norm, read and written once to scale). At each N, every llm-tricks row and every probe are timed in alternation, one call each per round (the order reversed every other round), so the ratios between them are taken round by round; NumPy and PyTorch run in processes of their own afterwards, so their ratios divide medians taken at different times.',
  count: (s) => sizes(s).length * 15,
  summary(rows) {
    const tasks = [...new Set(rows.map((r) => r.task))];
    return tasks.flatMap((task) => {
      const lion = rows.find((r) => r.task === task && r.impl === 'llm-tricks Lion');
      const adamw = rows.find((r) => r.task === task && r.impl === 'llm-tricks AdamW');
      if (!lion || !adamw) return [];
      const state = Number(lion.extra?.stateBytes) / Number(adamw.extra?.stateBytes);
      const lines = [`${task}: Lion's step takes ${pairedRatio(lion, adamw).toFixed(2)}× AdamW's time (the median of the rounds' ratios); its state is ${state}× AdamW's.`];
      const clip = rows.find((r) => r.task === task && r.impl === 'llm-tricks clipGradNorm');
      for (const mine of clip ? [lion, adamw, clip] : [lion, adamw]) {
        const resident = rows.find((r) => r.task === task && r.impl === `${mine.impl}, allocate()`);
        for (const peer of rows.filter((r) => r.task === task && r.isPeer && r.group === mine.group && r.ms.length)) {
          if (peer.impl.startsWith('bandwidth probe')) {
            const also = resident ? `; with allocate() ${pairedRatio(resident, peer).toFixed(2)}×` : '';
            lines.push(`${task}, ${mine.group}: timed in alternation with the ${peer.impl}, llm-tricks took ${pairedRatio(mine, peer).toFixed(2)}× its time (the median of the rounds' ratios)${also}.`);
            continue;
          }
          const also = resident ? `; with allocate() ${(peer.median / resident.median).toFixed(2)}` : '';
          lines.push(`${task}, ${mine.group}: ${peer.impl} ÷ llm-tricks = ${(peer.median / mine.median).toFixed(2)}${also}.`);
        }
      }
      return lines;
    });
  },
  async run(s, report) {
    for (const n of sizes(s)) {
      const task = `step, ${label(n)} params`;
      const g = randomArray(n, 2);
      // llm-tricks' steps on ordinary arrays and on allocate()'s, and the bandwidth probes, for every group.
      const groups = ([['Lion', () => new Lion({ weightDecay: 0.1 })], ['AdamW', () => new AdamW()]] as const).map(([name, make]) => {
        const p = randomArray(n, 1);
        const opt = make();
        // The same step on arrays the optimizer allocated, with its state, in its own WebAssembly memory.
        const resident = make();
        const { params, grads } = resident.allocate([n]);
        params[0].set(p);
        grads[0].set(g);
        // The bandwidth floor: one copy of (bytes moved) / 2 — it reads and writes each byte once.
        const moved = name === 'Lion' ? 20 : 28;
        return { name, opt, moved, plain: () => opt.step([p], [g]), allocated: () => resident.step(params, grads), probe: copier((n * moved) / 8) };
      });
      const clipping = (grads: Float32Array[]): (() => void) => repeatedClipping(clipGradNorm, grads, g);
      const clipGrads = new Lion().allocate([n]).grads as Float32Array[];
      clipGrads[0].set(g);
      const clip = { plain: clipping([g.slice()]), allocated: clipping(clipGrads), probe: copier((n * 12) / 8) };
      const fns = [...groups.flatMap((x) => [x.plain, x.allocated, x.probe]), clip.plain, clip.allocated, clip.probe];
      const ms = await timeInterleaved(fns, s.warmup, s.runs);
      groups.forEach(({ name, opt, moved }, i) => {
        const [plainMs, allocatedMs, probeMs] = ms.slice(3 * i, 3 * i + 3);
        const stateBytes = opt.state().buffers.flat().reduce((b, x) => b + x.byteLength, 0);
        report({ part: 'optim', task, impl: `llm-tricks ${name}`, group: name, isPeer: false, ms: plainMs, median: median(plainMs), extra: { stateBytes } });
        report({ part: 'optim', task, impl: `llm-tricks ${name}, allocate()`, group: name, isPeer: false, ms: allocatedMs, median: median(allocatedMs) });
        peerRows(s, n, task, name, name.toLowerCase(), name, report);
        // Last in its group, so the table's "peer ÷ this" column keeps NumPy, the first peer.
        report({ part: 'optim', task, impl: `bandwidth probe ${name} (${moved} B/param)`, group: name, isPeer: true, ms: probeMs, median: median(probeMs) });
      });
      const [plainMs, allocatedMs, probeMs] = ms.slice(3 * groups.length);
      const group = 'clipGradNorm';
      report({ part: 'optim', task, impl: 'llm-tricks clipGradNorm', group, isPeer: false, ms: plainMs, median: median(plainMs) });
      report({ part: 'optim', task, impl: 'llm-tricks clipGradNorm, allocate()', group, isPeer: false, ms: allocatedMs, median: median(allocatedMs) });
      peerRows(s, n, task, group, 'clip', 'clip_grad_norm', report);
      report({ part: 'optim', task, impl: 'bandwidth probe clipGradNorm (12 B/param)', group, isPeer: true, ms: probeMs, median: median(probeMs) });
    }
  },
};

/** A copy of `floats` float32 values from one array into another: the probe of a step that moves twice as many bytes. */
function copier(floats: number): () => void {
  const [from, to] = [new Float32Array(floats), new Float32Array(floats)];
  return () => to.set(from);
}

/** NumPy's and PyTorch's `peerCase` in processes of their own, reported as `<peer> <what>` (or why missing). */
function peerRows(s: RunSettings, n: number, task: string, group: string, peerCase: string, what: string, report: (row: Row) => void): void {
  const peers: [string, PeerResult][] = [
    ['numpy', runPeer('numpy_peer.py', [peerCase, n, s.warmup, s.runs])],
    ['pytorch cpu', runPeer('torch_peer.py', [peerCase, JSON.stringify({ size: n, threads: availableParallelism() }), s.warmup, s.runs])],
  ];
  for (const [who, peer] of peers) {
    report('missing' in peer
      ? { part: 'optim', task, impl: `${who} ${what}`, group, isPeer: true, ms: [], median: NaN, missing: peer.missing }
      : { part: 'optim', task, impl: `${peer.peer} ${what}`, group, isPeer: true, ms: peer.ms, median: median(peer.ms) });
  }
}
