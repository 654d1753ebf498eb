/**
 * Two builds of llm-tricks, one training step graph each, timed in
 * alternation in one process: whether a change to the library makes the
 * step faster. Not part of the bench report (that compares against peers).
 *
 *   cp -r dist bench/out/dist-before   # the build before the change
 *   npm run build                      # the build after it, in dist/
 *   npx tsx bench/ab-step.ts --a bench/out/dist-before --b dist [--size 22m] [--rounds 20]
 *
 * Keep the copy inside the repository (bench/out/ is ignored): a build
 * imports its dependencies from the node_modules above it.
 *
 * Each build compiles the step of the same decoder (the training part's, or
 * with --size 22m the scale part's largest) with its own ortNode backend
 * for the CPU (so each lowers, and feeds, the step its own way); the
 * two executables then run one step each per round, the order reversed every
 * other round, 50 ms idle before each step (as in the bench). Prints each
 * build's median and the sign test of the rounds. Both sessions are fed the
 * same state, so the first outputs (the losses) show whether the builds
 * compute the same step.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { median, paired, signSentence, timeInterleaved } from './lib/timing.js';

const { values } = parseArgs({ options: { a: { type: 'string' }, b: { type: 'string' }, size: { type: 'string', default: 'small' }, rounds: { type: 'string', default: '20' } } });
if (!values.a || !values.b || !['small', '22m'].includes(values.size)) {
  console.error('ab-step: expected --a <dist dir> --b <dist dir> [--size small|22m] [--rounds n]');
  process.exit(2);
}
const z = values.size === '22m' ? { dim: 512, layers: 8, heads: 8, kvHeads: 2, B: 4, T: 256 } : { dim: 128, layers: 4, heads: 4, kvHeads: 1, B: 16, T: 64 };

/** A step function of the build in `dir`, and the loss its first step computed. */
async function stepOf(dir: string): Promise<{ run: () => Promise<unknown>; loss: number }> {
  const url = (file: string): string => pathToFileURL(resolve(dir, file)).href;
  const lib = await import(url('index.js'));
  const { ortNode } = await import(url('node.js'));
  const m = new lib.DecoderLM({ vocab: 256, dim: z.dim, layers: z.layers, heads: z.heads, kvHeads: z.kvHeads, dropout: true, maxPositions: z.T, seed: 1 });
  const spec = { shape: [z.B, z.T], dtype: 'int32' };
  const { graph, layout } = lib.buildStepGraph({ model: m, loss: lib.languageModelLoss, optimizer: new lib.Lion({ lr: 1e-3 }), batch: [spec, spec], maxGradNorm: 1 });
  const exe = await ortNode.compile(graph, { device: 'cpu' });
  const params = new Map(m.namedParameters().map(([name, p]: [string, { value: unknown }]) => [name, p.value]));
  const state = layout.state.map((x: { name: string; shape: number[] }) => params.get(x.name) ?? lib.zeros(x.shape));
  const tokens = new lib.ByteTokenizer().encode('Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(200));
  const batch = new lib.TokenBatches(tokens, { batchSize: z.B, length: z.T, seed: 1 }).batch(0);
  const inputs = layout.feed({ state, batch, scalars: { lr: 1e-3, step: 1, dropout: 0.1, seed: 0 } });
  const out = await exe.run(inputs);
  return { run: () => exe.run(inputs), loss: out[0].item() };
}

const a = await stepOf(values.a);
const b = await stepOf(values.b);
console.log(`step of a ${z.layers}×${z.dim} decoder on ${z.B}×${z.T} tokens; first losses: a ${a.loss}, b ${b.loss}`);
const [ta, tb] = await timeInterleaved([a.run, b.run], 2, Number(values.rounds), 50);
const p = paired(ta, tb);
console.log(`a ${median(ta).toFixed(1)} ms, b ${median(tb).toFixed(1)} ms (a ÷ b = ${(median(ta) / median(tb)).toFixed(3)}); ${signSentence('b slower', p.slower, p.rounds, 'b is slower', 'b is faster')}`);
