/**
 * Two builds of llm-tricks, their TextGenerator timed in alternation in one
 * process: whether a change to the library makes decoding faster. Not part
 * of the bench report (that compares against peers).
 *
 *   cp -r dist bench/out/dist-before   # the build before the change
 *   npm run build                      # the build after it, in dist/
 *   npx tsx bench/ab-decode.ts --a bench/out/dist-before --b dist [--device cpu|wasm|webgpu] [--rounds 20]
 *
 * The decode part's model (4 layers of width 128, 4 query heads, byte
 * vocabulary) at three cases: multi-query at contexts 64 and 2048,
 * multi-head at 2048. Per round each build generates 16 tokens and then 1
 * token after the same prompt, the builds' order reversed every other round;
 * a decode token's time is the median of the paired differences over 15.
 * Prints each build's medians, the sign test of the rounds, and whether the
 * two builds generated the same tokens. On the CPU the sessions run with
 * spinning off, as the bench's decode peers do.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend, DecoderLM as DecoderLMType, TextGenerator as TextGeneratorType } from 'llm-tricks';
import { median, paired, signSentence } from './lib/timing.js';

const DEVICES = ['cpu', 'wasm', 'webgpu'];
const { values } = parseArgs({ options: { a: { type: 'string' }, b: { type: 'string' }, device: { type: 'string', default: 'cpu' }, rounds: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
if (!values.a || !values.b || !DEVICES.includes(values.device) || !Number.isSafeInteger(rounds) || rounds < 1) {
  console.error(`ab-decode: expected --a <dist dir> --b <dist dir> [--device ${DEVICES.join('|')}] [--rounds n]`);
  process.exit(2);
}
const device = values.device;

interface Lib {
  DecoderLM: typeof DecoderLMType;
  TextGenerator: typeof TextGeneratorType;
  backend: Backend;
}
const load = async (dir: string): Promise<Lib> => {
  const url = (file: string): string => pathToFileURL(resolve(dir, file)).href;
  const core = await import(url('index.js')) as Lib;
  const entry = await import(url(device === 'wasm' ? 'web.js' : 'node.js')) as { ortNode?: Backend; ortWeb?: Backend };
  return { DecoderLM: core.DecoderLM, TextGenerator: core.TextGenerator, backend: (device === 'wasm' ? entry.ortWeb : entry.ortNode)! };
};
const [a, b] = [await load(values.a), await load(values.b)];

const generator = (lib: Lib, kvHeads: number): Promise<TextGeneratorType> => lib.TextGenerator.create(
  new lib.DecoderLM({ vocab: 256, dim: 128, layers: 4, heads: 4, kvHeads, maxPositions: 4096, seed: 1 }),
  { backend: lib.backend, compile: { device, ...(device === 'cpu' ? { spinning: false } : {}) } },
);

console.log(`TextGenerator on ${device}; a = ${values.a}, b = ${values.b}; ${rounds} rounds`);
for (const [kind, kvHeads, L] of [['multi-query', 1, 64], ['multi-query', 1, 2048], ['multi-head', 4, 2048]] as const) {
  const [ga, gb] = [await generator(a, kvHeads), await generator(b, kvHeads)];
  const prompt = Array.from({ length: L }, (_, i) => (i * 37 + 11) % 256);
  const [ta, tb] = [await ga.generate(prompt, { maxNewTokens: 16 }), await gb.generate(prompt, { maxNewTokens: 16 })];
  const same = ta.tokens.join() === tb.tokens.join();
  const ms = { a16: [] as number[], a1: [] as number[], b16: [] as number[], b1: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const [g, k16, k1] of (r % 2 ? [[gb, 'b16', 'b1'], [ga, 'a16', 'a1']] : [[ga, 'a16', 'a1'], [gb, 'b16', 'b1']]) as [TextGeneratorType, keyof typeof ms, keyof typeof ms][]) {
      let start = performance.now();
      await g.generate(prompt, { maxNewTokens: 16 });
      ms[k16].push(performance.now() - start);
      start = performance.now();
      await g.generate(prompt, { maxNewTokens: 1 });
      ms[k1].push(performance.now() - start);
    }
  }
  await Promise.all([ga.dispose(), gb.dispose()]);
  const perToken = (n16: number[], n1: number[]): string => (paired(n1, n16).medianDelta / 15).toFixed(2);
  const p = paired(ms.a16, ms.b16);
  console.log(`${kind}, context ${L}, 16 tokens: a ${median(ms.a16).toFixed(1)} ms, b ${median(ms.b16).toFixed(1)} ms (b ÷ a = ${(median(ms.b16) / median(ms.a16)).toFixed(2)}); ${signSentence('b slower', p.slower, p.rounds, 'b is slower', 'b is faster')}; a decode token a ${perToken(ms.a16, ms.a1)} ms, b ${perToken(ms.b16, ms.b1)} ms; tokens ${same ? 'the same' : 'DIFFER'}`);
}
