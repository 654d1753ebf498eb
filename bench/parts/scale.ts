/**
 * Training step throughput as the model grows: the training part's step
 * (multi-query attention grouped into 2 key/value heads, RoPE, RMSNorm,
 * SwiGLU, dropout 0.1, clipping, Lion) on a decoder of 8 layers and 8 heads
 * at three widths, the largest about 22M parameters, on batches of 4 × 256
 * tokens, against PyTorch eager at every width and torch.compile at the
 * largest. Each width is timed in alternation with its peers, as in the
 * training part. The figure plots tokens/s against parameters.
 */
import { ByteTokenizer, DecoderLM, Lion, TokenBatches, Trainer } from 'llm-tricks';
import { deviceBackend } from '../lib/device.js';
import { median, paired, signSentence, timeInterleaved } from '../lib/timing.js';
import type { Check, Part, Row, RunSettings } from '../lib/types.js';
import { learns, loggedSteps, lossLog, startTorchTrainers, torchFacts, type LossLog } from './train.js';

interface Shape { layers: number; heads: number; kvHeads: number; B: number; T: number }
const shape = (s: RunSettings): Shape => (s.mode === 'quick' ? { layers: 1, heads: 4, kvHeads: 2, B: 2, T: 16 } : { layers: 8, heads: 8, kvHeads: 2, B: 4, T: 256 });
const widths = (s: RunSettings): number[] => (s.mode === 'quick' ? [32, 48, 64] : [256, 384, 512]);
/** Rounds of alternation per width: a step of the largest model takes seconds. */
const rounds = (s: RunSettings): number => s.runs + 3;

const task = (z: Shape, dim: number): string => `step, ${z.layers}×${dim}, ${z.B}×${z.T} tokens`;

/** A parameter count as '22.3M' or '28k'. */
const count = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`);

/** A row's parameter count in millions and its tokens/s, for the figure. */
const point = (r: Row): [number, number] => [Number(r.extra?.params) / 1e6, Number(r.extra?.tokensPerSecond)];

export const scalePart: Part = {
  name: 'scale',
  title: 'Training step: tokens/s against model size',
  about: "The training part's step (forward, loss, backward, clipping to norm 1, Lion update, the last on the host on the CPU; dropout 0.1 on the embeddings, attention probabilities and both residual branches) on bigger decoders: 8 layers, 8 heads sharing 2 key/value heads, SwiGLU, RoPE, at widths 256, 384 and 512 (the largest about 22M parameters), on batches of 4 × 256 tokens. The peers: PyTorch on the CPU running the same model (the training part's peer, same parameter count) eager at every width, and with torch.compile at the largest, on ONNX Runtime's thread count (on an NVIDIA GPU with `--peer-device cuda`). At each width llm-tricks and its peers are timed in alternation, one step each per round (the order reversed every other round, 50 ms idle before each step).",
  count: (s) => widths(s).length * 2 + (s.mode === 'quick' ? 0 : 1),
  checks(rows) {
    return rows.filter((r) => r.group === 'step').map((r): Check => learns(`Training steps at ${r.task}`, lossLog(r)));
  },
  summary(rows) {
    return rows.filter((r) => r.group === 'step').map((ours) => {
      const peers = rows.filter((r) => r.group === 'pytorch' && r.task === ours.task && r.ms.length).map((peer) => {
        const sign = signSentence('timed in alternation, the peer was slower', Number(peer.extra?.slowerRounds), Number(peer.extra?.rounds), 'llm-tricks faster', 'llm-tricks slower');
        return `${peer.impl} ${peer.extra?.tokensPerSecond} tokens/s, peer ÷ llm-tricks = ${(peer.median / ours.median).toFixed(2)}, ${sign}`;
      });
      return `${ours.task}, ${count(Number(ours.extra?.params))} parameters: llm-tricks ${ours.extra?.tokensPerSecond} tokens/s${peers.map((p) => `; ${p}`).join('')}.`;
    });
  },
  async figures(rows) {
    const series = (impl: (r: Row) => boolean, name: string) => ({ name, points: rows.filter((r) => impl(r) && r.ms.length).map(point).sort((a, b) => a[0] - b[0]) });
    const ours = rows.find((r) => r.group === 'step');
    return [{
      name: 'size',
      title: 'Training step: tokens/s against model size',
      x: 'parameters (millions)',
      y: 'tokens/s',
      series: [
        series((r) => r.group === 'step', ours?.impl ?? 'llm-tricks'),
        series((r) => r.group === 'pytorch' && r.impl.endsWith('eager'), rows.find((r) => r.impl.endsWith('eager'))?.impl ?? 'pytorch eager'),
      ],
    }];
  },
  async run(s, report) {
    const z = shape(s);
    const on = deviceBackend(s.device);
    const tokens = new ByteTokenizer().encode('Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(200));
    const data = new TokenBatches(tokens, { batchSize: z.B, length: z.T, seed: 1 });
    const tokensPerSecond = (ms: number): number => Math.round((z.B * z.T) / (ms / 1000));
    const largest = Math.max(...widths(s));
    for (const dim of widths(s)) {
      const m = new DecoderLM({ vocab: 256, dim, layers: z.layers, heads: z.heads, kvHeads: z.kvHeads, dropout: true, maxPositions: z.T, seed: 1 });
      const params = m.parameterCount();
      const trainer = await Trainer.create({ model: m, optimizer: new Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: on.backend, compile: { device: on.device } });
      const log: LossLog = { device: on.label, losses: [], batches: [], firstTimedStep: 3 };
      const step = loggedSteps(trainer, data, log);
      await step();
      const torch = await startTorchTrainers('scale', task(z, dim), m, z.B, z.T, s.mode !== 'quick' && dim === largest ? [false, true] : [false], s.peerDevice, report);
      // The first call compiles under torch.compile: untimed, as is the warm-up round below.
      for (const p of torch) await p.step();
      const [ours, ...peers] = await timeInterleaved([step, ...torch.map((p) => () => p.step())], 1, rounds(s), 50);
      for (const p of torch) p.close();
      await trainer.dispose();
      const med = median(ours);
      report({ part: 'scale', task: task(z, dim), impl: `llm-tricks ${on.label}`, group: 'step', isPeer: false, ms: ours, median: med, extra: { tokensPerSecond: tokensPerSecond(med), params }, data: { losses: log } });
      torch.forEach((p, i) => {
        const d = paired(ours, peers[i]);
        report({ part: 'scale', task: task(z, dim), impl: p.peer, group: 'pytorch', isPeer: true, ms: peers[i], median: median(peers[i]), extra: { tokensPerSecond: tokensPerSecond(median(peers[i])), params, ...torchFacts(p), pairedDeltaMs: Number(d.medianDelta.toFixed(1)), slowerRounds: d.slower, rounds: d.rounds } });
      });
    }
  },
};
