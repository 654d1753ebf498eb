/**
 * One optimizer step over N float32 parameters: Lion against AdamW in
 * llm-tricks' standalone form, with NumPy's in-place version of each as the
 * peer. Lion keeps one state buffer per parameter and AdamW two.
 */
import { AdamW, clipGradNorm, Lion } from 'llm-tricks';
import { availableParallelism } from 'node:os';
import { startPeer, type PeerProcess } from '../lib/peer.js';
import { median, OwnTime, paired, signSentence, timeInterleaved } from '../lib/timing.js';
import { repeatedClipping } from '../lib/clipping.js';
import type { Part, Row, RunSettings } from '../lib/types.js';

const sizes = (s: RunSettings): number[] => ({ quick: [100_000], default: [1_000_000, 10_000_000], full: [1_000_000, 10_000_000, 30_000_000] })[s.mode];
// More rounds than the other parts' runs: the calls are short, and the sign test wants rounds.
const rounds = (s: RunSettings): number => ({ quick: 3, default: 15, full: 25 })[s.mode];
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

/** One workload of the part: llm-tricks on ordinary arrays and on allocate()'s, its bandwidth probe, and its peers' case. */
interface Case {
  readonly name: string;
  /** Bytes the workload must move per parameter: what its probe copies. */
  readonly moved: number;
  readonly peerCase: string;
  /** The peers' rows are named `<peer> <what>`. */
  readonly what: string;
  readonly stateBytes?: () => number;
  readonly plain: () => void;
  readonly allocated: () => void;
}

/** The median over rounds of a's time ÷ b's, for rows timed in the same rounds (in alternation). */
function pairedRatio(a: Row, b: Row): number {
  return median(a.ms.map((x, i) => x / b.ms[i]));
}

export const optimPart: Part = {
  name: 'optim',
  title: 'Optimizer step: Lion vs AdamW',
  about: 'One step over N float32 parameters (the article uses Lion for its lower memory: one state buffer instead of two). Peers: the same update in NumPy, in place, and in PyTorch on the CPU (its AdamW with foreach ops, and with its fused kernel; Lion, which PyTorch does not ship, written with foreach ops into a buffer kept between steps), on the same number of threads as there are cores. The memory bandwidth probe copies as many bytes as the step must move (Lion reads p, g, m and writes p, m: 20 bytes per parameter; AdamW 28) with one `TypedArray.set`: the traffic an in-place step cannot avoid (a copy also reads its destination before writing it, which an in-place update does not, so a step can come in under the probe). The `allocate()` rows step arrays allocated by the optimizer (`opt.allocate([N])`) in its WebAssembly memory, with its state: no copies in and out of that memory, which ordinary arrays need (their state lives there either way). The clipGradNorm rows clip N float32 gradients to 0.9 times the norm the previous call left, so every call sums the squares and scales (PyTorch\'s clip_grad_norm_ with foreach ops; NumPy\'s linalg.norm and an in-place multiply; the probe moves 12 bytes per gradient: read once for the norm, read and written once to scale). At each N, every llm-tricks row, every probe and every peer are timed in alternation, one call each per round (each round starting one call later than the last, one call straight after another), so the ratios between them are taken round by round, each with a sign test. NumPy and PyTorch run in processes of their own, kept running between their calls; each times its own calls, so the pipe to it is not counted. Between two calls of one row the other rows run, so at 1M parameters no row finds its arrays still in cache. No idle time goes between calls: after a pause PyTorch\'s threads have gone to sleep, and waking them cost its 1M-parameter steps up to several milliseconds on a 2-core virtual machine, which a training loop does not pay.',
  count: (s) => sizes(s).length * 16,
  summary(rows) {
    const tasks = [...new Set(rows.map((r) => r.task))];
    return tasks.flatMap((task) => {
      const lion = rows.find((r) => r.task === task && r.impl === 'llm-tricks Lion');
      const adamw = rows.find((r) => r.task === task && r.impl === 'llm-tricks AdamW');
      if (!lion || !adamw) return [];
      const state = Number(lion.extra?.stateBytes) / Number(adamw.extra?.stateBytes);
      const vsAdamW = paired(adamw.ms, lion.ms);
      const lines = [`${task}: Lion's step takes ${pairedRatio(lion, adamw).toFixed(2)}× AdamW's time (the median of the rounds' ratios; ${signSentence('Lion slower', vsAdamW.slower, vsAdamW.rounds, 'Lion is slower', 'Lion is faster')}); its state is ${state}× AdamW's.`];
      const clip = rows.find((r) => r.task === task && r.impl === 'llm-tricks clipGradNorm');
      for (const mine of clip ? [lion, adamw, clip] : [lion, adamw]) {
        const resident = rows.find((r) => r.task === task && r.impl === `${mine.impl}, allocate()`);
        for (const peer of rows.filter((r) => r.task === task && r.isPeer && r.group === mine.group && r.ms.length)) {
          if (peer.impl.startsWith('bandwidth probe')) {
            const sign = (ours: Row): string => {
              const p = paired(peer.ms, ours.ms);
              return signSentence('slower than the probe', p.slower, p.rounds, 'slower', 'faster');
            };
            const also = resident ? `; with allocate() ${pairedRatio(resident, peer).toFixed(2)}× (${sign(resident)})` : '';
            lines.push(`${task}, ${mine.group}: timed in alternation with the ${peer.impl}, llm-tricks took ${pairedRatio(mine, peer).toFixed(2)}× its time (the median of the rounds' ratios; ${sign(mine)})${also}.`);
            continue;
          }
          const versus = (ours: Row): string => {
            const p = paired(ours.ms, peer.ms);
            return `${pairedRatio(peer, ours).toFixed(2)} (${signSentence('the peer slower', p.slower, p.rounds, 'llm-tricks faster', 'llm-tricks slower')})`;
          };
          const also = resident ? `; with allocate() ${versus(resident)}` : '';
          lines.push(`${task}, ${mine.group}: ${peer.impl} ÷ llm-tricks = ${versus(mine)}${also}.`);
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
        const stateBytes = (): number => opt.state().buffers.flat().reduce((b, a) => b + a.byteLength, 0);
        return { name, moved, peerCase: name.toLowerCase(), what: name, stateBytes, plain: () => opt.step([p], [g]), allocated: () => resident.step(params, grads) };
      });
      const clipping = (grads: Float32Array[]): (() => void) => repeatedClipping(clipGradNorm, grads, g);
      const clipGrads = new Lion().allocate([n]).grads as Float32Array[];
      clipGrads[0].set(g);
      const clip = { name: 'clipGradNorm', moved: 12, peerCase: 'clip', what: 'clip_grad_norm', plain: clipping([g.slice()]), allocated: clipping(clipGrads) };
      const all: Case[] = [...groups, clip];
      // NumPy and PyTorch, one process per case, each stepping when asked: timed in the same rounds. A peer
      // that stops (out of memory, say) is reported missing with its reason, and the others go on.
      const peers: (PeerProcess | { missing: string })[][] = [];
      const stopped = new Map<PeerProcess, string>();
      const stepOf = (p: PeerProcess) => async (): Promise<OwnTime> => {
        if (stopped.has(p)) return new OwnTime(NaN);
        try {
          return await p.step();
        } catch (e) {
          stopped.set(p, e instanceof Error ? e.message : String(e));
          return new OwnTime(NaN);
        }
      };
      let ms: number[][];
      try {
        for (const x of all) peers.push(await startPeers(n, x.peerCase));
        const running = peers.map((ps) => ps.filter((p): p is PeerProcess => !('missing' in p)));
        // Rotated, not reversed: with no pause between calls, the last function would run twice in a row.
        ms = await timeInterleaved([...all.flatMap((x) => [x.plain, x.allocated, copier((n * x.moved) / 8)]), ...running.flat().map(stepOf)], s.warmup, rounds(s), 0, 'rotate');
      } finally {
        for (const p of peers.flat()) if (!('missing' in p)) p.close();
      }
      let next = 3 * all.length;
      all.forEach((x, i) => {
        const [plainMs, allocatedMs, probeMs] = ms.slice(3 * i, 3 * i + 3);
        const mine = `llm-tricks ${x.name}`;
        report({ part: 'optim', task, impl: mine, group: x.name, isPeer: false, ms: plainMs, median: median(plainMs), ...(x.stateBytes ? { extra: { stateBytes: x.stateBytes() } } : {}) });
        report({ part: 'optim', task, impl: `${mine}, allocate()`, group: x.name, isPeer: false, ms: allocatedMs, median: median(allocatedMs) });
        peers[i].forEach((p, j) => {
          if ('missing' in p) {
            report({ part: 'optim', task, impl: `${peersOf(x.peerCase)[j][0]} ${x.what}`, group: x.name, isPeer: true, ms: [], median: NaN, missing: p.missing });
            return;
          }
          const peerMs = ms[next++];
          const why = stopped.get(p);
          if (why) {
            report({ part: 'optim', task, impl: `${p.peer} ${x.what}`, group: x.name, isPeer: true, ms: [], median: NaN, missing: why });
            return;
          }
          report({ part: 'optim', task, impl: `${p.peer} ${x.what}`, group: x.name, isPeer: true, ms: peerMs, median: median(peerMs) });
        });
        // Last in its group, so the table's "peer ÷ this" column keeps NumPy, the first peer.
        report({ part: 'optim', task, impl: `bandwidth probe ${x.name} (${x.moved} B/param)`, group: x.name, isPeer: true, ms: probeMs, median: median(probeMs) });
      });
    }
  },
};

/** A copy of `floats` float32 values from one array into another: the probe of a step that moves twice as many bytes. */
function copier(floats: number): () => void {
  const [from, to] = [new Float32Array(floats), new Float32Array(floats)];
  return () => to.set(from);
}

/** The peers: who, the script, its arguments before 'serve', and the cases it runs (all where not said). */
const PEERS: readonly (readonly [string, string, (n: number, peerCase: string) => (string | number)[], (readonly string[])?])[] = [
  ['numpy', 'numpy_peer.py', (n, peerCase) => [peerCase, n]],
  ['pytorch cpu', 'torch_peer.py', (n, peerCase) => [peerCase, JSON.stringify({ size: n, threads: availableParallelism() })]],
  // PyTorch's fused AdamW (one kernel per step, on several threads): its fastest AdamW on the CPU.
  ['pytorch cpu fused', 'torch_peer.py', (n, peerCase) => [peerCase, JSON.stringify({ size: n, threads: availableParallelism(), fused: true })], ['adamw']],
];

/** The peers of `peerCase`. */
const peersOf = (peerCase: string): typeof PEERS => PEERS.filter(([, , , cases]) => !cases || cases.includes(peerCase));

/** The peers' `peerCase` over `n` parameters, each in a process of its own kept running (or why it is missing). */
function startPeers(n: number, peerCase: string): Promise<(PeerProcess | { missing: string })[]> {
  return Promise.all(peersOf(peerCase).map(([, script, args]) => startPeer(script, args(n, peerCase))));
}
