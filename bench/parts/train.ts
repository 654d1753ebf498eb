/**
 * Training step throughput of the example's byte-level decoder (multi-query
 * attention, RoPE, RMSNorm, SwiGLU, Lion, dropout): tokens/s and peak memory
 * on onnxruntime-node's CPU against the reference backend, PyTorch (eager
 * and torch.compile) and TensorFlow.js; the copy overhead of feeding state
 * through JavaScript instead of keeping it resident, timed in alternation
 * with the resident step; and model FLOP/s against the machine's GEMM
 * ceiling (ONNX Runtime's MatMul on a large square product, timed in the
 * same rounds as the step). The loss of every step the device takes (warm-up
 * and timed, each on a batch of its own) is kept, and the part's check fails
 * unless it falls: timings of steps that do not learn are timings of a broken
 * device.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildStepGraph, ByteTokenizer, DecoderLM, languageModelLoss, Lion, matmul, referenceBackend, tensor, TokenBatches, trace, Trainer } from 'llm-tricks';
import * as tf from '@tensorflow/tfjs';
import { tfjsTrainer, useBackend } from '../peers/tfjs-decoder.js';
import { deviceBackend } from '../lib/device.js';
import { startPeer, type PeerProcess } from '../lib/peer.js';
import { median, paired, signSentence, timeInterleaved, timeRuns } from '../lib/timing.js';
import type { Check, Part, Row, RunSettings } from '../lib/types.js';

interface Size { dim: number; layers: number; B: number; T: number }
const size = (s: RunSettings): Size => (s.mode === 'quick' ? { dim: 32, layers: 1, B: 2, T: 16 } : { dim: 128, layers: 4, B: 16, T: 64 });
const GEMM = (s: RunSettings): number => (s.mode === 'quick' ? 256 : 1024);
/** Whether the Trainer's Lion update runs on the host on the run's device (then a row times it in the graph too). */
function updatesOnHost(s: RunSettings): boolean {
  const on = deviceBackend(s.device);
  return on.backend.runsOnHost?.({ device: on.device }) === true;
}

/** The share of the GEMM ceiling the step's model FLOP/s is held to (the performance issue's target). */
const CEILING_TARGET = 0.6;

function model(z: Size): DecoderLM {
  return new DecoderLM({ vocab: 256, dim: z.dim, layers: z.layers, heads: 4, kvHeads: 1, dropout: true, maxPositions: 512, seed: 1 });
}

/** Training FLOPs per token: 6 per weight (forward and backward) plus attention's 12 · layers · T · dim (PaLM, appendix B). */
function flopsPerToken(m: DecoderLM, T: number): number {
  return 6 * m.parameterCount() + 12 * m.config.layers * T * m.config.heads * m.config.headDim;
}

function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** The least fall of the loss, in nats, from the first step to the last, for steps to count as learning. */
const MIN_FALL = 0.05;
const NOT_LEARNING = 'training steps do not learn: the timings are of broken steps';

/** The losses of a run of training steps, kept in its row's data. */
export interface LossLog {
  /** What took the steps, e.g. 'ort-web wasm'. */
  device: string;
  /** The loss of each step in order (before its update; NaN where the step threw). */
  losses: number[];
  /** The TokenBatches index each step was fed. */
  batches: number[];
  /** Steps before this 1-based one were untimed warm-up. */
  firstTimedStep: number;
  /** The first error a step threw, if one did. */
  error?: string;
}

export const nats = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/** Whether a run of training steps learns: every loss finite, and the last at least MIN_FALL below the first. */
export function learns(what: string, log: LossLog | undefined): Check {
  if (!log || log.losses.length < 2) return { ok: false, warning: NOT_LEARNING, line: `${what}: fewer than 2 step losses recorded, so nothing shows the steps learn.` };
  const { losses, batches, device, firstTimedStep } = log;
  const n = losses.length;
  const fall = losses[0] - losses[n - 1];
  const distinct = new Set(batches).size;
  const feed = distinct === n
    ? `each step fed a batch of its own (TokenBatches batches ${batches[0]} to ${batches[n - 1]})`
    : `the steps re-fed batches: ${distinct} distinct batches over ${n} steps`;
  const warm = firstTimedStep === 2 ? 'step 1' : `steps 1–${firstTimedStep - 1}`;
  const where = `${feed}; ${warm} untimed warm-up, ${firstTimedStep}–${n} timed`;
  const path = `loss ${nats(losses[0])} at step 1 → ${nats(losses[n - 1])} at step ${n}`;
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) {
    return { ok: false, warning: NOT_LEARNING, line: `${what} on ${device} do not learn: loss ${losses[bad]} at step ${bad + 1}${log.error ? ` (${log.error})` : ''}; ${path}; ${where}.` };
  }
  if (!(fall >= MIN_FALL)) {
    return { ok: false, warning: NOT_LEARNING, line: `${what} on ${device} do not learn: ${path} (falls by ${nats(fall)} nats over ${n} steps, under the ${MIN_FALL} required); ${where}.` };
  }
  return { ok: true, line: `${what} on ${device} learn: ${path} (falls by ${nats(fall)} nats over ${n} steps); ${where}.` };
}

/**
 * One Trainer step per call, on batch j++ of `data` (each its own), its loss
 * logged for the check that the steps learn. A step that throws (the Trainer
 * refuses a non-finite loss) is logged as NaN, so the report is still written
 * and says so.
 */
export function loggedSteps(trainer: Trainer, data: TokenBatches, log: LossLog): () => Promise<void> {
  let j = 0;
  return async () => {
    const k = j++;
    log.batches.push(k);
    try {
      log.losses.push((await trainer.step(data.batch(k))).loss);
    } catch (e) {
      log.losses.push(NaN);
      log.error ??= `step ${log.losses.length} threw: ${e instanceof Error ? e.message : String(e)}`;
    }
  };
}

/**
 * The PyTorch peers of a training step (bench/peers/torch_peer.py 'train'), one per entry of `compile`
 * (false: eager, true: torch.compile), running `m`'s shape on B × T tokens on `device` (the CPU with ONNX
 * Runtime's thread count, or CUDA). A peer that cannot start is reported missing; one whose parameter
 * count differs from `m`'s stops the bench.
 */
export async function startTorchTrainers(part: string, task: string, m: DecoderLM, B: number, T: number, compile: readonly boolean[], device: RunSettings['peerDevice'], report: (row: Row) => void): Promise<PeerProcess[]> {
  const c = m.config;
  const config = { vocab: c.vocab, dim: c.dim, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, hidden: c.hidden, B, T, dropout: 0.1, threads: availableParallelism(), device };
  const torch: PeerProcess[] = [];
  for (const mode of compile) {
    const peer = await startPeer('torch_peer.py', ['train', JSON.stringify({ ...config, compile: mode })]);
    if ('missing' in peer) {
      report({ part, task, impl: `pytorch ${device} ${mode ? 'torch.compile' : 'eager'}`, group: 'pytorch', isPeer: true, ms: [], median: NaN, missing: peer.missing });
      continue;
    }
    if (peer.extra.params !== m.parameterCount()) {
      for (const p of [...torch, peer]) p.close();
      throw new Error(`bench ${part}: the PyTorch model has ${peer.extra.params} parameters, expected ${m.parameterCount()}`);
    }
    torch.push(peer);
  }
  return torch;
}

/** What a PyTorch peer's row notes of where it ran: its threads on the CPU, the GPU and CUDA version on CUDA. */
export function torchFacts(p: PeerProcess): Record<string, number | string> {
  return p.extra.gpu === undefined ? { threads: p.extra.threads } : { gpu: p.extra.gpu, cuda: p.extra.cuda };
}

export const lossLog = (row: Row | undefined): LossLog | undefined => row?.data?.losses as LossLog | undefined;

export const trainPart: Part = {
  name: 'train',
  title: 'Training step: tokens/s',
  about: "One training step (forward, loss, backward and clipping in one backend run, and the Lion update: on the CPU the Trainer runs it after the run, on the host, with WebAssembly SIMD kernels; elsewhere in the same run) of the training example's byte-level decoder, 4 layers of width 128 with multi-query attention, on batches of 16 × 64 tokens. The peers: the reference backend (pure TypeScript); PyTorch on the CPU, eager and with torch.compile, running the same model (the same parameter count, scaled_dot_product_attention with grouped-query support, the same dropout sites, gradient clipping and a Lion step written with foreach ops) on the same number of threads as ONNX Runtime; and the same decoder written with TensorFlow.js ops and trained with its Adam, on its CPU and WASM backends (tfjs tiles the single key/value head across query heads). With `--peer-device cuda` PyTorch runs on an NVIDIA GPU instead, and the CPU-only peers (the reference backend and tfjs) are left out. Also: the step with Lion's update inside the step graph (the Trainer's `update: 'graph'`) against on the host, where the host is the default; the step with parameters and optimizer state copied through JavaScript every step (plain run, the update in the graph) against the Trainer's with the update in the graph too; the step of early dropout's second phase (rate 0 for good: the Trainer then runs a graph compiled without dropout, no random numbers) against the step with dropout 0.1; and model FLOP/s against ONNX Runtime's MatMul of two 1024 × 1024 matrices (256 × 256 with --quick) on the same threads (the GEMM ceiling). llm-tricks, its variants, the GEMM and the PyTorch peers are timed in alternation, one step each per round (the order reversed every other round, 50 ms idle before each step), so the machine's drift falls on all of them alike; the reference backend and tfjs run alone.",
  // The reference backend and tfjs cpu and wasm (left out when the PyTorch peers run on CUDA), the step and its
  // two variants, the GEMM, and the PyTorch peers.
  count: (s) => (s.peerDevice === 'cpu' ? 3 : 0) + 4 + (s.mode === 'quick' ? 1 : 2) + (updatesOnHost(s) ? 1 : 0),
  checks(rows) {
    return [
      learns('Training steps', lossLog(rows.find((r) => r.group === 'step' && !r.isPeer))),
      learns('Training steps with state through JS', lossLog(rows.find((r) => r.group === 'copy'))),
      ...rows.filter((r) => r.group === 'graph-update').map((r) => learns('Training steps with the update in the graph', lossLog(r))),
    ];
  },
  summary(rows) {
    const ort = rows.find((r) => r.group === 'step' && !r.isPeer);
    const ref = rows.find((r) => r.impl === 'llm-tricks reference');
    const copy = rows.find((r) => r.group === 'copy');
    const gemm = rows.find((r) => r.group === 'gemm');
    const out: string[] = [];
    const refLosses = lossLog(ref)?.losses;
    if (refLosses?.length) out.push(`The reference backend's steps, for comparison (same model, seed and first batches): loss ${nats(refLosses[0])} at step 1 → ${nats(refLosses[refLosses.length - 1])} at step ${refLosses.length}.`);
    if (ort && ref) out.push(`Training step on ${ort.impl.replace('llm-tricks ', '')}: ${Number(ort.extra?.tokensPerSecond).toFixed(0)} tokens/s, ${(ref.median / ort.median).toFixed(1)}× the reference backend's ${Number(ref.extra?.tokensPerSecond).toFixed(0)} tokens/s (timed apart: ${ref.ms.length} runs alone, no sign test); peak RSS growth ${ort.extra?.peakMiB} MiB.`);
    for (const peer of rows.filter((r) => (r.group === 'pytorch' || r.group === 'tfjs') && r.ms.length)) {
      if (!ort) continue;
      const ratio = peer.median / ort.median;
      let verdict = `${ratio >= 1 ? `llm-tricks ${ratio.toFixed(1)}× faster` : `llm-tricks ${(1 / ratio).toFixed(1)}× slower`}, timed apart (${peer.ms.length} runs alone, no sign test)`;
      if (peer.extra?.rounds) {
        verdict = signSentence('timed in alternation, the peer was slower', Number(peer.extra.slowerRounds), Number(peer.extra.rounds), 'llm-tricks faster', 'llm-tricks slower');
      }
      out.push(`${peer.impl}: ${Number(peer.extra?.tokensPerSecond).toFixed(0)} tokens/s; peer ÷ llm-tricks = ${ratio.toFixed(2)}; ${verdict}.`);
    }
    const inGraph = rows.find((r) => r.group === 'graph-update');
    // The copying run updates in the graph (a plain run): its counterpart is the resident step with the update there too.
    if (copy && inGraph && copy.ms.length === inGraph.ms.length) {
      const p = paired(inGraph.ms, copy.ms);
      const sign = signSentence('copying slower', p.slower, p.rounds, 'copying costs time', 'copying was faster');
      out.push(`State copied through JavaScript every step vs kept resident, both with Lion's update in the step graph, timed in alternation: ${copy.median.toFixed(1)} ms vs ${inGraph.median.toFixed(1)} ms per step; median paired difference ${p.medianDelta.toFixed(1)} ms, ${sign}.`);
    }
    if (inGraph?.extra) {
      const { residentMedianMs: host, pairedDeltaMs: delta, slowerRounds, rounds } = inGraph.extra;
      const sign = signSentence('the update in the graph slower', Number(slowerRounds), Number(rounds), 'the update on the host is faster', 'the update in the graph is faster');
      out.push(`Lion's update on the host (the Trainer's default on the CPU: after the step graph, with the WebAssembly SIMD kernels, on parameters in the optimizer's memory) vs inside the step graph, timed in alternation: ${Number(host).toFixed(1)} ms vs ${inGraph.median.toFixed(1)} ms per step; median paired difference ${Number(delta).toFixed(1)} ms, ${sign}.`);
    }
    const phase = rows.find((r) => r.group === 'phase');
    if (phase?.extra) {
      const { residentMedianMs: withDropout, pairedDeltaMs: delta, slowerRounds, rounds } = phase.extra;
      const sign = signSentence('the step without dropout slower', Number(slowerRounds), Number(rounds), 'the step without dropout is slower', 'the step without dropout is faster');
      out.push(`Early dropout's second phase (rate 0 for good, a step graph compiled without dropout) vs the step with dropout 0.1, timed in alternation: ${phase.median.toFixed(1)} ms vs ${Number(withDropout).toFixed(1)} ms per step; median paired difference ${Number(delta).toFixed(1)} ms, ${sign}.`);
    }
    if (ort && gemm?.extra) {
      const { gflops, stepShare, roundsAtTarget, rounds } = gemm.extra;
      const sign = signSentence(`at or above ${100 * CEILING_TARGET}% of it`, Number(roundsAtTarget), Number(rounds), `at or above ${100 * CEILING_TARGET}%`, `below ${100 * CEILING_TARGET}%`);
      out.push(`Model FLOP/s ${(Number(ort.extra?.gflops)).toFixed(1)} GFLOP/s; timed in alternation with the GEMM ceiling (${Number(gflops).toFixed(1)} GFLOP/s, its median), the step ran at ${(100 * Number(stepShare)).toFixed(0)}% of it (the median of the rounds' ratios), ${sign}.`);
    }
    return out;
  },
  async run(s, report) {
    const z = size(s);
    const tokens = new ByteTokenizer().encode('Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(200));
    const data = new TokenBatches(tokens, { batchSize: z.B, length: z.T, seed: 1 });
    const task = `step, ${z.layers}×${z.dim}, ${z.B}×${z.T} tokens`;
    const on = deviceBackend(s.device);
    const tokensPerSecond = (ms: number): number => Math.round((z.B * z.T) / (ms / 1000));
    // The CPU-only peers (the reference backend here, TensorFlow.js below) are left out when the PyTorch
    // peers run on a GPU: they say nothing of a GPU's step, and a lent GPU machine's time is short.
    const cpuPeers = s.peerDevice === 'cpu';
    // The reference backend is slow: a few runs on their own are enough to place it.
    if (cpuPeers) {
      const m = model(z);
      const trainer = await Trainer.create({ model: m, optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: referenceBackend });
      let k = 0;
      const losses: number[] = [];
      const ms = await timeRuns(async () => losses.push((await trainer.step(data.batch(k++))).loss), 1, Math.min(3, s.runs));
      const log: LossLog = { device: 'reference', losses, batches: losses.map((_, i) => i), firstTimedStep: 2 };
      // A group of its own: timed apart (a few runs alone), so the table gives the step row no ratio to it.
      report({ part: 'train', task, impl: 'llm-tricks reference', group: 'reference', isPeer: true, ms, median: median(ms), extra: { tokensPerSecond: tokensPerSecond(median(ms)) }, data: { losses: log } });
    }
    // Timed in alternation, round by round: the resident Trainer, the same compiled step with its state
    // fed and read through JavaScript arrays, and PyTorch eager and torch.compile (outside --quick: compiling
    // takes about a minute) in their own processes with ONNX Runtime's thread count (its default: one per core).
    // A 50 ms pause before each timed step lets the other runtime's spinning threads go to sleep: without it,
    // PyTorch measured a third slower right after an ONNX Runtime step.
    const m = model(z);
    const base = rssMiB();
    const trainer = await Trainer.create({ model: m, optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: on.backend, compile: { device: on.device } });
    let peak = rssMiB();
    // Every step of the Trainer, warm-up and timed, is logged: see loggedSteps.
    const log: LossLog = { device: on.label, losses: [], batches: [], firstTimedStep: s.warmup + 2 };
    const trainStep = loggedSteps(trainer, data, log);
    // Warm-up steps of the Trainer alone: its peak memory, before the other variants share the process.
    for (let i = 0; i < s.warmup; i++) {
      await trainStep();
      peak = Math.max(peak, rssMiB());
    }
    const spec = { shape: [z.B, z.T], dtype: 'int32' } as const;
    const copying = model(z);
    const { graph, layout } = buildStepGraph({ model: copying, loss: languageModelLoss, optimizer: new Lion({ lr: 1e-3 }), batch: [spec, spec], maxGradNorm: 1 });
    const exe = await on.backend.compile(graph, { device: on.device });
    const params = new Map(copying.namedParameters().map(([name, p]) => [name, p.value]));
    // Parameters by name, optimizer slots zeroed, in the layout's state order.
    let state = layout.state.map((x) => params.get(x.name) ?? tensor(new Float32Array(x.shape.reduce((a, d) => a * d, 1)), { shape: [...x.shape] }));
    const copyLog: LossLog = { device: on.label, losses: [], batches: [], firstTimedStep: 2 };
    const torch = await startTorchTrainers('train', task, m, z.B, z.T, s.mode === 'quick' ? [false] : [false, true], s.peerDevice, report);
    let k = 0;
    // The first call of each peer (torch.compile compiles then) is timed apart from the rounds.
    const firstCall: number[] = [];
    for (const p of torch) firstCall.push((await timeRuns(() => p.step(), 0, 1))[0]);
    // Early dropout's second phase: with the rate 0 for good the Trainer runs the step compiled without dropout.
    const phase2 = await Trainer.create({ model: model(z), optimizer: new Lion({ lr: 1e-3 }), dropout: 0, batchSize: z.B, sequenceLength: z.T, backend: on.backend, compile: { device: on.device } });
    let p2 = 0;
    for (let i = 0; i < s.warmup; i++) await phase2.step(data.batch(p2++));
    // Where the Trainer updates on the host (Lion on the CPU), the same Trainer with the update in the step graph.
    const graphLog: LossLog = { device: on.label, losses: [], batches: [], firstTimedStep: s.warmup + 2 };
    const inGraph = trainer.stepGraph.update ? undefined : await Trainer.create({ model: model(z), optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: on.backend, compile: { device: on.device }, update: 'graph' });
    const graphStep = inGraph && loggedSteps(inGraph, data, graphLog);
    for (let i = 0; i < s.warmup && graphStep; i++) await graphStep();
    // The GEMM ceiling: one large float32 MatMul on the step's backend and device with its default threads, timed
    // in the same rounds as the step, so that the step's share of it is taken round by round, in one phase of the
    // machine (timed apart, after the step, the ceiling measured 67 GFLOP/s in one run and 126 in the next).
    const n = GEMM(s);
    const gemmExe = await on.backend.compile(trace((a, b) => matmul(a, b), [{ shape: [n, n] }, { shape: [n, n] }]), { device: on.device });
    const a = tensor(Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000), { shape: [n, n] });
    const [resident, copied, noDropout, gemm, ...rest] = await timeInterleaved([
      trainStep,
      async () => {
        copyLog.batches.push(k);
        const out = layout.read(await exe.run(layout.feed({ state, batch: data.batch(k), scalars: { lr: 1e-3, step: ++k, dropout: 0.1, seed: 0 } })));
        copyLog.losses.push(out.loss.item());
        state = out.state.map((t) => tensor(t.data().slice() as Float32Array, { shape: t.shape as number[] }));
      },
      async () => { await phase2.step(data.batch(p2++)); },
      () => gemmExe.run([a, a]),
      ...torch.map((p) => () => p.step()),
      ...(graphStep ? [graphStep] : []),
      // 4 × runs rounds (28 by default): with 14, ratios near 1.2 were left to the sign test's chance on this
      // machine (10 of 14 rounds is not significant).
    ], 1, s.runs * 4, 50);
    for (const p of torch) p.close();
    const peers = rest.slice(0, torch.length);
    const med = median(resident);
    report({ part: 'train', task, impl: `llm-tricks ${on.label}`, group: 'step', isPeer: false, ms: resident, median: med, extra: { tokensPerSecond: tokensPerSecond(med), gflops: Number(((tokensPerSecond(med) * flopsPerToken(m, z.T)) / 1e9).toFixed(2)), peakMiB: Math.round(peak - base), params: m.parameterCount() }, data: { losses: log } });
    const vsResident = (ms: number[]): Record<string, number> => {
      const p = paired(resident, ms);
      return { pairedDeltaMs: Number(p.medianDelta.toFixed(2)), slowerRounds: p.slower, rounds: p.rounds };
    };
    await phase2.dispose();
    await inGraph?.dispose();
    if (inGraph) report({ part: 'train', task, impl: `${on.label}, Lion update in the step graph`, group: 'graph-update', isPeer: false, ms: rest[torch.length], median: median(rest[torch.length]), extra: { residentMedianMs: Number(med.toFixed(2)), ...vsResident(rest[torch.length]) }, data: { losses: graphLog } });
    await gemmExe.dispose();
    // The step's FLOP/s over the GEMM's, round by round.
    const stepFlops = z.B * z.T * flopsPerToken(m, z.T);
    const gemmFlops = 2 * n ** 3;
    const shares = resident.map((ms, i) => (stepFlops / ms) / (gemmFlops / gemm[i]));
    report({ part: 'train', task: `GEMM ${n}×${n}×${n}`, impl: `${on.label} MatMul (onnxruntime ${ort.env.versions.common})`, group: 'gemm', isPeer: true, ms: gemm, median: median(gemm), extra: { gflops: Number((gemmFlops / (median(gemm) / 1000) / 1e9).toFixed(2)), stepShare: Number(median(shares).toFixed(3)), roundsAtTarget: shares.filter((x) => x >= CEILING_TARGET).length, rounds: shares.length } });
    report({ part: 'train', task, impl: `${on.label}, no dropout (early dropout's second phase)`, group: 'phase', isPeer: false, ms: noDropout, median: median(noDropout), extra: { residentMedianMs: Number(med.toFixed(2)), ...vsResident(noDropout) } });
    report({ part: 'train', task, impl: `${on.label}, state through JS`, group: 'copy', isPeer: false, ms: copied, median: median(copied), extra: { residentMedianMs: Number(med.toFixed(2)), ...vsResident(copied) }, data: { losses: copyLog } });
    torch.forEach((p, i) => report({ part: 'train', task, impl: p.peer, group: 'pytorch', isPeer: true, ms: peers[i], median: median(peers[i]), extra: { tokensPerSecond: tokensPerSecond(median(peers[i])), ...torchFacts(p), firstCallMs: Math.round(firstCall[i]), ...vsResident(peers[i]) } }));
    // TensorFlow.js: the same decoder written with its ops, trained with its Adam, on its CPU (JavaScript) and WASM backends.
    for (const name of cpuPeers ? (['cpu', 'wasm'] as const) : []) {
      const impl = `tfjs ${tf.version.tfjs} ${name}`;
      if (!(await useBackend(name))) {
        report({ part: 'train', task, impl, group: 'tfjs', isPeer: true, ms: [], median: NaN, missing: `the tfjs ${name} backend did not start` });
        continue;
      }
      const m = model(z);
      const step = tfjsTrainer({ vocab: 256, dim: z.dim, layers: z.layers, heads: m.config.heads, kvHeads: m.config.kvHeads, hidden: m.config.hidden, B: z.B, T: z.T });
      let k = 0;
      const ms = await timeRuns(() => {
        const [ids, targets] = data.batch(k++);
        return step(ids.data() as Int32Array, targets.data() as Int32Array);
      }, Math.min(2, s.warmup), Math.min(3, s.runs));
      report({ part: 'train', task, impl, group: 'tfjs', isPeer: true, ms, median: median(ms), extra: { tokensPerSecond: tokensPerSecond(median(ms)) } });
    }
  },
};
