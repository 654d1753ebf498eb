/**
 * TextGenerator (src/run/generate.ts): decoding with the KV cache.
 *
 * Proves:
 * - greedy decoding with the cache gives the tokens that re-running the
 *   whole sequence without a cache picks (argmax of the last position), on
 *   the reference backend and on ort-node cpu, for multi-head, grouped-query
 *   and multi-query models with rope and alibi;
 * - the final cache holds layers · 2 · kvHeads · (prompt + new - 1) · headDim floats;
 * - the compiled step asks a DecoderLM for the last token's logits only
 *   (B, 1, V), so a prompt's T × V logits are never computed;
 * - sampling is reproducible by seed, differs across seeds, and topK 1 is greedy;
 * - stopToken ends generation; bad prompts and options raise LlmTricksError;
 * - a float64 model decodes (its cache and logits in float64, the cache's
 *   bytes counted at 8 per element), equal to recomputing without a cache,
 *   on the reference backend and on ort-node cpu;
 * - on a backend that keeps outputs resident, the KV cache goes back in as
 *   the DeviceTensors the previous run returned (never read back to the
 *   CPU), and every one of them is disposed by the end of the generation,
 *   each as soon as the next run has consumed it, and also when a run
 *   fails half-way or a backend returns the logits resident;
 *   residentOutputs in the compile options is refused (the TextGenerator
 *   chooses them), and options that are not an object reach the backend.
 */
import { describe, expect, it } from 'vitest';
import { argMax, ByteTokenizer, DecoderLM, Tensor, TextGenerator, tensor, type Backend, type CompileOptions, type DeviceTensor } from '../../src/index.js';
import { ortNode } from '../../src/node.js';

function model(kvHeads: number, position: 'rope' | 'alibi'): DecoderLM {
  return new DecoderLM({ vocab: 32, dim: 16, layers: 2, heads: 4, kvHeads, position, maxPositions: 64, seed: 5 });
}

function greedyWithoutCache(m: DecoderLM, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const { logits } = m.eval().forward(tensor([seq], { dtype: 'int32' }));
    const choice = argMax(logits, -1).data();
    seq.push(Number(choice[choice.length - 1]));
  }
  return seq.slice(prompt.length);
}

describe('TextGenerator', () => {
  it.each([
    [4, 'rope'], [2, 'rope'], [1, 'alibi'],
  ] as const)('greedy decoding with the cache equals recomputing without it (kvHeads %i, %s)', async (kvHeads, position) => {
    const m = model(kvHeads, position);
    const prompt = [3, 1, 4, 1, 5];
    const want = greedyWithoutCache(m, prompt, 8);
    for (const gen of [await TextGenerator.create(m), await TextGenerator.create(m, { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } })]) {
      const out = await gen.generate(prompt, { maxNewTokens: 8 });
      expect(out.tokens).toEqual(want);
      expect(out.cacheBytes).toBe(2 * 2 * kvHeads * (prompt.length + 8 - 1) * 4 * 4);
    }
  });

  it('compiles a step that computes the last token\'s logits only, and generates from it', async () => {
    const m = model(1, 'rope');
    const shapes: unknown[] = [];
    const spy: Backend = { name: 'spy', compile: (graph, options) => { shapes.push(graph.outputs[0].shape); return ortNode.compile(graph, { ...options, device: 'cpu', intraOpNumThreads: 1 }); } };
    const gen = await TextGenerator.create(m, { backend: spy });
    expect(shapes).toEqual([['batch', 1, 32]]);
    expect((await gen.generate([3, 1, 4, 1, 5], { maxNewTokens: 6 })).tokens).toEqual(greedyWithoutCache(m, [3, 1, 4, 1, 5], 6));
    await gen.dispose();
  });

  it('decodes a float64 model: cache and logits in float64, equal to recomputing without a cache', async () => {
    const m = new DecoderLM({ vocab: 32, dim: 16, layers: 2, heads: 4, kvHeads: 2, maxPositions: 64, seed: 5, dtype: 'float64' });
    const prompt = [3, 1, 4, 1, 5];
    const want = greedyWithoutCache(m, prompt, 8);
    for (const gen of [await TextGenerator.create(m), await TextGenerator.create(m, { backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } })]) {
      const out = await gen.generate(prompt, { maxNewTokens: 8 });
      expect(out.tokens).toEqual(want);
      expect(out.cacheBytes).toBe(2 * 2 * 2 * (prompt.length + 8 - 1) * 4 * 8);
    }
  });

  it('samples reproducibly by seed; topK 1 is greedy; stopToken stops', async () => {
    const m = model(1, 'rope');
    const gen = await TextGenerator.create(m);
    const a = await gen.generate([1, 2], { maxNewTokens: 12, temperature: 1.5, seed: 1 });
    expect((await gen.generate([1, 2], { maxNewTokens: 12, temperature: 1.5, seed: 1 })).tokens).toEqual(a.tokens);
    expect((await gen.generate([1, 2], { maxNewTokens: 12, temperature: 1.5, seed: 2 })).tokens).not.toEqual(a.tokens);
    const greedy = (await gen.generate([1, 2], { maxNewTokens: 6 })).tokens;
    expect((await gen.generate([1, 2], { maxNewTokens: 6, temperature: 1, topK: 1, seed: 9 })).tokens).toEqual(greedy);
    const stopped = await gen.generate([1, 2], { maxNewTokens: 6, stopToken: greedy[2] });
    expect(stopped.tokens).toEqual(greedy.slice(0, greedy.indexOf(greedy[2]) + 1));
  });

  it('rejects bad prompts and options', async () => {
    const gen = await TextGenerator.create(model(1, 'rope'));
    await expect(gen.generate([], { maxNewTokens: 1 })).rejects.toThrow(/^TextGenerator\.generate: prompt expected a non-empty list of token ids in \[0, 31\], got \[\]/);
    await expect(gen.generate([40], { maxNewTokens: 1 })).rejects.toThrow(/got \[40\]/);
    await expect(gen.generate([1], { maxNewTokens: 64 })).rejects.toThrow(/^TextGenerator\.generate: prompt and new tokens expected at most maxPositions \(64\), got 1 \+ 64/);
    await expect(gen.generate([1], { maxNewTokens: 2, temperature: -1 })).rejects.toThrow(/temperature expected a finite number >= 0, got -1/);
    await expect(TextGenerator.create({} as never)).rejects.toThrow(/^TextGenerator: model expected a LanguageModel/);
    await expect(gen.generate('hi', { maxNewTokens: 1 })).rejects.toThrow(/^TextGenerator\.generate: prompt expected token ids \(this TextGenerator has no tokenizer/);
    await expect(TextGenerator.create(model(1, 'rope'), { tokenizer: { encode: 1 } as never })).rejects.toThrow(/^TextGenerator: tokenizer expected an object with encode\(text\) and decode\(ids\)/);
  });

  it('with a tokenizer, takes text and returns the text of its tokens', async () => {
    const m = new DecoderLM({ vocab: 256, dim: 16, layers: 1, heads: 2, seed: 4 });
    const tokenizer = new ByteTokenizer();
    const gen = await TextGenerator.create(m, { tokenizer });
    const fromText = await gen.generate('Hi', { maxNewTokens: 5 });
    const fromIds = await (await TextGenerator.create(m)).generate([72, 105], { maxNewTokens: 5 });
    expect(fromText.tokens).toEqual(fromIds.tokens);
    expect(fromText.text).toBe(tokenizer.decode(fromIds.tokens));
    expect(fromIds.text).toBeUndefined();
  });

  it('keeps the KV cache on the device between tokens and disposes every buffer it was given, also when a run fails', async () => {
    const m = model(2, 'rope');
    const prompt = [3, 1, 4];
    const want = greedyWithoutCache(m, prompt, 5);
    // ort-node's runResident wrapped: what the TextGenerator compiles with, feeds and is given back.
    const compiled: (CompileOptions | undefined)[] = [];
    const deviceFeeds: number[] = [];
    const given: DeviceTensor[] = [];
    const liveAtStart: number[] = [];
    let plainRuns = 0;
    let failAt = Infinity;
    const spy: Backend = {
      name: 'spy',
      async compile(graph, options) {
        compiled.push(options);
        const exe = await ortNode.compile(graph, { ...options, device: 'cpu', intraOpNumThreads: 1 });
        return {
          graph,
          get disposed() { return exe.disposed; },
          run: (feeds) => { plainRuns++; return exe.run(feeds); },
          async runResident(feeds) {
            // Released as soon as consumed: when a run starts, only the previous run's cache (its feeds) is live.
            liveAtStart.push(given.filter((t) => !t.disposed && !feeds.includes(t)).length);
            if (deviceFeeds.length === failAt) throw new Error('device lost');
            deviceFeeds.push(feeds.filter((f) => !(f instanceof Tensor)).length);
            const out = await exe.runResident!(feeds);
            given.push(...out.filter((o): o is DeviceTensor => !(o instanceof Tensor)));
            return out;
          },
          dispose: () => exe.dispose(),
        };
      },
    };
    const gen = await TextGenerator.create(m, { backend: spy });
    expect(compiled[0]?.residentOutputs).toEqual([1, 2, 3, 4]);
    const out = await gen.generate(prompt, { maxNewTokens: 5 });
    expect(out.tokens).toEqual(want);
    expect(out.cacheBytes).toBe(2 * 2 * 2 * (prompt.length + 5 - 1) * 4 * 4);
    expect(plainRuns).toBe(0);
    // The prompt's run starts from empty CPU tensors; every later run is fed the 4 cache tensors it was given.
    expect(deviceFeeds).toEqual([0, 4, 4, 4, 4]);
    expect(given).toHaveLength(5 * 4);
    expect(given.filter((t) => !t.disposed)).toEqual([]);
    expect(liveAtStart).toEqual([0, 0, 0, 0, 0]);

    deviceFeeds.length = 0;
    given.length = 0;
    failAt = 3;
    await expect(gen.generate(prompt, { maxNewTokens: 5 })).rejects.toThrow('device lost');
    expect(given).toHaveLength(3 * 4);
    expect(given.filter((t) => !t.disposed)).toEqual([]);
    await gen.dispose();
  });

  it('refuses residentOutputs in its compile options (it chooses them itself), and leaves bad options to the backend', async () => {
    await expect(TextGenerator.create(model(1, 'rope'), { backend: ortNode, compile: { device: 'cpu', residentOutputs: [0] } })).rejects.toThrow(
      /^TextGenerator: compile options expected no residentOutputs \(the TextGenerator keeps its KV cache resident itself\), got \[0\]/,
    );
    // undefined means the default, as everywhere.
    const gen = await TextGenerator.create(model(1, 'rope'), { backend: ortNode, compile: { device: 'cpu', residentOutputs: undefined } });
    expect((await gen.generate([1], { maxNewTokens: 2 })).tokens).toHaveLength(2);
    await gen.dispose();
    // Options that are not an object reach the backend unchanged, which names them.
    for (const bad of [5, [], 'cpu']) {
      await expect(TextGenerator.create(model(1, 'rope'), { backend: ortNode, compile: bad as never })).rejects.toThrow(/^ort-node\.compile: compile options expected an object/);
    }
    // Inherited options reach the backend too: an unknown device is still refused.
    await expect(TextGenerator.create(model(1, 'rope'), { backend: ortNode, compile: Object.create({ device: 'nonexistent' }) as never })).rejects.toThrow(/^ort-node\.compile: device expected one of/);
  });

  it('refuses logits kept resident by a backend, and releases them', async () => {
    // A third-party backend that keeps every output on its device, the logits included.
    const kept: DeviceTensor[] = [];
    const all: Backend = {
      name: 'all-resident',
      async compile(graph, options) {
        const exe = await ortNode.compile(graph, { ...options, device: 'cpu', residentOutputs: graph.outputs.map((_, i) => i) });
        return { graph, get disposed() { return exe.disposed; }, run: (f) => exe.run(f), dispose: () => exe.dispose(), async runResident(feeds) {
          const out = await exe.runResident!(feeds);
          kept.push(...(out as DeviceTensor[]));
          return out;
        } };
      },
    };
    const gen = await TextGenerator.create(model(1, 'rope'), { backend: all });
    await expect(gen.generate([1, 2], { maxNewTokens: 3 })).rejects.toThrow(/^TextGenerator\.generate: expected the logits as a Tensor from the backend, got a DeviceTensor/);
    expect(kept).toHaveLength(5);
    expect(kept.filter((t) => !t.disposed)).toEqual([]);
    await gen.dispose();
  });
});
