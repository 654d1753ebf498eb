/**
 * Runs a DecoderLM in the browser with ortWeb: WebGPU when navigator.gpu
 * exists, WebAssembly otherwise. The prompt is byte-level; each new token
 * is decoded greedily through a compiled graph that takes the KV cache.
 *
 * Build and serve: npm run example:browser (then open the printed address).
 */
import * as ort from 'onnxruntime-web';
import { argMax, DecoderLM, tensor, trace, type KvCache, type Tensor } from 'llm-tricks';
import { ortWeb } from 'llm-tricks/web';

// The DOM, typed by hand: the project compiles without the DOM library.
interface Page {
  document: { querySelector(selector: string): { textContent: string } | null };
  location: { href: string };
  navigator: object;
}
const page = globalThis as unknown as Page;
const status = page.document.querySelector('#status')!;
const output = page.document.querySelector('#output')!;

async function main(): Promise<void> {
  // The server serves onnxruntime-web's dist/ (its .wasm files) under ./ort/.
  ort.env.wasm.wasmPaths = new URL('./ort/', page.location.href).href;
  ort.env.wasm.numThreads = 1;
  const device = 'gpu' in page.navigator ? 'webgpu' : 'wasm';
  const lm = new DecoderLM({ vocab: 256, dim: 64, layers: 2, heads: 4, kvHeads: 1, maxPositions: 128, seed: 7 }).eval();
  const { layers, kvHeads, headDim } = lm.config;
  // One graph for every step: T new tokens after a cache of P, both symbolic.
  const step = trace((ids, positions, ...cache) => {
    const past: KvCache[] = Array.from({ length: layers }, (_, i) => ({ key: cache[2 * i], value: cache[2 * i + 1] }));
    const out = lm.forward(ids, { positions, cache: past });
    // The greedy choice at every position; the page reads the last one.
    return [argMax(out.logits, -1), ...out.cache.flatMap((c) => [c.key, c.value])];
  }, [
    { name: 'ids', shape: [1, 'T'], dtype: 'int32' },
    { name: 'positions', shape: ['T'], dtype: 'int32' },
    ...Array.from({ length: 2 * layers }, (_, i) => ({ name: `cache${i}`, shape: [1, kvHeads, 'P', headDim] })),
  ]);
  status.textContent = `Compiling for ${device}…`;
  const run = await ortWeb.compile(step, { device });
  const prompt = Array.from(new TextEncoder().encode('The state of the union is '));
  let cache: Tensor[] = Array.from({ length: 2 * layers }, () => tensor(new Float32Array(0), { shape: [1, kvHeads, 0, headDim] }));
  let ids = prompt;
  let position = 0;
  const generated: number[] = [];
  for (let t = 0; t < 24; t++) {
    const positions = tensor(ids.map((_, i) => position + i), { dtype: 'int32' });
    const [next, ...present] = await run.run([tensor([ids], { dtype: 'int32' }), positions, ...cache]);
    position += ids.length;
    cache = present;
    const choices = next.data();
    ids = [Number(choices[choices.length - 1])];
    generated.push(ids[0]);
  }
  output.textContent = new TextDecoder().decode(Uint8Array.from([...prompt, ...generated]));
  status.textContent = `Generated ${generated.length} tokens on ${device}.`;
}

main().catch((e: unknown) => {
  status.textContent = `Failed: ${e instanceof Error ? e.message : String(e)}`;
});
