/**
 * Trains a tiny byte-level DecoderLM in the browser, then generates text
 * with its KV cache: WebGPU when navigator.gpu exists, WebAssembly
 * otherwise. Each training step is one ONNX Runtime Web run of the whole
 * step graph (forward, loss, backward, Lion update), with the parameters
 * kept on the device between steps. The loss curve is drawn with
 * Vega-Lite.
 *
 * Build and serve: npm run example:browser (then open the printed address).
 * In a project of your own: npm install llm-tricks onnxruntime-web vega vega-lite
 */
import * as ort from 'onnxruntime-web';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { ByteTokenizer, DecoderLM, Generator, Lion, linearWarmupDecay, TokenBatches, Trainer } from 'llm-tricks';
import { ortWeb } from 'llm-tricks/web';

// The DOM, typed by hand: the project compiles without the DOM library.
interface El { textContent: string; innerHTML: string; dataset: Record<string, string> }
interface Page {
  document: { querySelector(selector: string): El | null };
  location: { href: string };
  navigator: object;
}
const page = globalThis as unknown as Page;
const $ = (selector: string): El => page.document.querySelector(selector)!;

const TEXT = `Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in Liberty, and dedicated to the proposition that all men are created equal. Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so dedicated, can long endure. We are met on a great battle-field of that war. `;
const STEPS = 20;

/** The loss curve as SVG, through Vega-Lite and Vega's headless renderer. */
async function plot(losses: readonly number[]): Promise<string> {
  const spec = compile({
    width: 480, height: 200, background: 'white', title: 'Training loss',
    data: { values: losses.map((loss, i) => ({ step: i + 1, loss })) },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative', title: 'loss (nats/byte)', scale: { zero: false } } },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function main(): Promise<void> {
  // The server serves onnxruntime-web's dist/ (its .wasm files) under ./ort/.
  ort.env.wasm.wasmPaths = new URL('./ort/', page.location.href).href;
  ort.env.wasm.numThreads = 1;
  const device = 'gpu' in page.navigator ? 'webgpu' : 'wasm';
  const tokenizer = new ByteTokenizer();
  const batches = new TokenBatches(tokenizer.encode(TEXT), { batchSize: 4, length: 32, seed: 1 });
  const model = new DecoderLM({ vocab: 256, dim: 32, layers: 1, heads: 4, kvHeads: 1, maxPositions: 128, seed: 7 });

  $('#status').textContent = `Compiling the training step for ${device}…`;
  const trainer = await Trainer.create({
    model, optimizer: new Lion({ lr: 3e-3, weightDecay: 0.1 }), batchSize: 4, sequenceLength: 32,
    schedule: linearWarmupDecay({ peakLr: 3e-3, warmupSteps: 4, totalSteps: STEPS, finalLr: 3e-4 }),
    backend: ortWeb, compile: { device },
  });
  const losses: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    const { loss } = await trainer.step(batches.batch(k));
    losses.push(loss);
    $('#status').textContent = `Training on ${device}: step ${k + 1}/${STEPS}, loss ${loss.toFixed(3)}`;
    if ((k + 1) % 10 === 0) $('#plot').innerHTML = await plot(losses);
  }
  $('#plot').dataset.losses = JSON.stringify(losses);

  $('#status').textContent = `Compiling the generator for ${device}…`;
  await trainer.syncModel();
  const generator = await Generator.create(model, { backend: ortWeb, compile: { device } });
  const prompt = 'Four score and';
  const { tokens } = await generator.generate(tokenizer.encode(prompt), { maxNewTokens: 24, temperature: 0.7, topK: 8, seed: 2 });
  $('#output').textContent = prompt + tokenizer.decode(tokens);
  $('#status').textContent = `Trained ${STEPS} steps and generated ${tokens.length} tokens on ${device}.`;
}

main().catch((e: unknown) => {
  $('#status').textContent = `Failed: ${e instanceof Error ? e.message : String(e)}`;
});
