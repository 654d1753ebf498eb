/**
 * Two Trainers on onnxruntime-node's cpu, stepping in alternation in one
 * process: whether a change (another build, or the other `update` site)
 * makes training faster, and whether the two compute the same steps. Not
 * part of the bench report (that compares against peers).
 *
 *   npx tsx bench/ab-trainer.ts --update-a graph --update-b host [--size 22m] [--rounds 20]
 *   cp -r dist bench/out/dist-before; npm run build
 *   npx tsx bench/ab-trainer.ts --a bench/out/dist-before --b dist
 *
 * --a and --b are builds (default: dist for both; keep copies inside the
 * repository, as for bench/ab-step.ts); --update-a and --update-b the
 * Trainer's `update` option (default: the Trainer's own default). Each
 * Trainer trains the same decoder (the training part's, or with --size 22m
 * the scale part's largest) with Lion, dropout 0.1 and clipping to norm 1,
 * on the same batches, one step each per round, the order reversed every
 * other round, 50 ms idle before each step (as in the bench). Prints each
 * one's median, the sign test of the rounds, and whether their losses and
 * final parameters and optimizer state have the same bits.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Tensor, Trainer, TrainerState } from 'llm-tricks';
import { median, paired, signSentence, timeInterleaved } from './lib/timing.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string', default: 'dist' }, b: { type: 'string', default: 'dist' }, 'update-a': { type: 'string' }, 'update-b': { type: 'string' },
    size: { type: 'string', default: 'small' }, rounds: { type: 'string', default: '20' },
  },
});
const sites = [values['update-a'], values['update-b']];
if (!['small', '22m'].includes(values.size) || !(Number(values.rounds) >= 1) || sites.some((u) => u !== undefined && u !== 'graph' && u !== 'host')) {
  console.error('ab-trainer: expected [--a <dist dir>] [--b <dist dir>] [--update-a graph|host] [--update-b graph|host] [--size small|22m] [--rounds n]');
  process.exit(2);
}
const z = values.size === '22m' ? { dim: 512, layers: 8, heads: 8, kvHeads: 2, B: 4, T: 256 } : { dim: 128, layers: 4, heads: 4, kvHeads: 1, B: 16, T: 64 };

/** A Trainer of the build in `dir`, a function taking its next step, and the losses of its steps so far. */
async function trainerOf(dir: string, update: string | undefined): Promise<{ trainer: Trainer; step: () => Promise<void>; losses: number[] }> {
  const lib = await import(pathToFileURL(resolve(dir, 'index.js')).href);
  const { ortNode } = await import(pathToFileURL(resolve(dir, 'node.js')).href);
  const model = new lib.DecoderLM({ vocab: 256, dim: z.dim, layers: z.layers, heads: z.heads, kvHeads: z.kvHeads, dropout: true, maxPositions: z.T, seed: 1 });
  const trainer: Trainer = await lib.Trainer.create({
    model, optimizer: new lib.Lion({ lr: 1e-3 }), dropout: 0.1, batchSize: z.B, sequenceLength: z.T, backend: ortNode, compile: { device: 'cpu' }, ...(update ? { update } : {}),
  });
  const tokens = new lib.ByteTokenizer().encode('Four score and seven years ago our fathers brought forth on this continent a new nation. '.repeat(200));
  const data = new lib.TokenBatches(tokens, { batchSize: z.B, length: z.T, seed: 1 });
  const losses: number[] = [];
  return { trainer, losses, step: async () => { losses.push((await trainer.step(data.batch(losses.length))).loss); } };
}

const bitsOf = (s: TrainerState): Uint32Array[] => [...s.params.values(), ...s.slots.values()].map((t: Tensor) => new Uint32Array((t.data() as Float32Array).slice().buffer));
const a = await trainerOf(values.a, sites[0]);
const b = await trainerOf(values.b, sites[1]);
const where = (t: Trainer): string => (t.stepGraph.update ? 'in the graph' : 'on the host');
console.log(`Lion on a ${z.layers}×${z.dim} decoder, ${z.B}×${z.T} tokens; a: ${values.a}, update ${where(a.trainer)}; b: ${values.b}, update ${where(b.trainer)}`);
const [ta, tb] = await timeInterleaved([a.step, b.step], 2, Number(values.rounds), 50);
const p = paired(ta, tb);
console.log(`a ${median(ta).toFixed(1)} ms, b ${median(tb).toFixed(1)} ms (a ÷ b = ${(median(ta) / median(tb)).toFixed(3)}); median paired difference ${p.medianDelta.toFixed(2)} ms; ${signSentence('b slower', p.slower, p.rounds, 'b is slower', 'b is faster')}`);
const sameLosses = a.losses.every((x, i) => Object.is(x, b.losses[i]));
const [sa, sb] = [bitsOf(await a.trainer.snapshot()), bitsOf(await b.trainer.snapshot())];
const sameState = sa.length === sb.length && sa.every((x, i) => x.length === sb[i].length && x.every((v, j) => v === sb[i][j]));
console.log(`${a.losses.length} steps each: losses ${sameLosses ? 'bit-identical' : 'differ'}; parameters and optimizer state ${sameState ? 'bit-identical' : 'differ'}`);
await Promise.all([a.trainer.dispose(), b.trainer.dispose()]);
