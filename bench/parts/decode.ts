/**
 * KV-cached greedy decoding: tokens/s and KV-cache bytes of multi-head,
 * grouped-query and multi-query attention at growing context lengths, on
 * onnxruntime-node's CPU; and, as the peer of llm-tricks' TextGenerator, a bare
 * InferenceSession loop over the exported ONNX model (its runtime overhead).
 */
import * as ort from 'onnxruntime-node';
import { DecoderLM, TextGenerator } from 'llm-tricks';
import { exportLanguageModel, exportTransformersJs, ortNode } from 'llm-tricks/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceBackend } from '../lib/device.js';
import { median, paired, signSentence, timeInterleaved } from '../lib/timing.js';
import type { Part, Row, RunSettings } from '../lib/types.js';

const KINDS: readonly [string, number][] = [['multi-head', 4], ['grouped-query', 2], ['multi-query', 1]];
const contexts = (s: RunSettings): number[] => ({ quick: [16], default: [64, 512, 2048], full: [64, 256, 1024, 2048] })[s.mode];
const NEW = (s: RunSettings): number => (s.mode === 'quick' ? 4 : 16);

function lm(kvHeads: number, s: RunSettings): DecoderLM {
  const small = s.mode === 'quick';
  return new DecoderLM({ vocab: 256, dim: small ? 32 : 128, layers: small ? 1 : 4, heads: 4, kvHeads, maxPositions: 4096, seed: 1 });
}

const prompt = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + 11) % 256);

/** The exported model's name of cache tensor i (layer i >> 1; keys at even i, values at odd). */
const cacheName = (kind: 'past_key_values' | 'present', i: number): string => `${kind}.${i >> 1}.${i % 2 ? 'value' : 'key'}`;

/**
 * Greedy decoding with a bare InferenceSession on the exported model: what a host without llm-tricks would write.
 * On WebGPU the session keeps the present keys and values on the GPU (see {@link bareSession}); each is disposed
 * once the next run has consumed it.
 */
async function bareDecode(session: ort.InferenceSession, layers: number, kvHeads: number, headDim: number, ids: number[], n: number): Promise<void> {
  const empty = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  let past: ort.Tensor[] = Array.from({ length: 2 * layers }, () => empty);
  const release = (ts: ort.Tensor[]): void => ts.forEach((p) => { if (p.location === 'gpu-buffer') p.dispose(); });
  let input = ids;
  let position = 0;
  for (let t = 0; t < n; t++) {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(input, BigInt), [1, input.length]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(input, (_, i) => BigInt(position + i)), [1, input.length]),
    };
    past.forEach((p, i) => { feeds[cacheName('past_key_values', i)] = p; });
    const out = await session.run(feeds);
    position += input.length;
    release(past);
    past = Array.from({ length: 2 * layers }, (_, i) => out[cacheName('present', i)]);
    const logits = out.logits.data as Float32Array;
    const V = out.logits.dims[2];
    const last = logits.subarray((input.length - 1) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    input = [best];
  }
  release(past);
}

/** The bare loop's session: on the CPU without spinning; on WebGPU with the present keys and values kept on the GPU. */
function bareSession(model: DecoderLM, device: string): Promise<ort.InferenceSession> {
  const { model: bytes } = exportLanguageModel(model);
  if (device !== 'webgpu') return ort.InferenceSession.create(bytes, { extra: QUIET });
  const present = Array.from({ length: 2 * model.config.layers }, (_, i) => cacheName('present', i));
  return ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: { logits: 'cpu', ...Object.fromEntries(present.map((n) => [n, 'gpu-buffer'])) } });
}

const QUIET = { session: { intra_op: { allow_spinning: '0' } } };

/**
 * Sessions per side of a comparison, taking turns round by round. Two ONNX Runtime sessions of the same model
 * and options, in one process, differ in speed by a few % for as long as they live (measured: 1.7 ms of 38 ms,
 * slower in 69 of 100 rounds, the sign test's 'slower'; which one is slower changes from process to process),
 * so one session per side compared those two sessions more than the two ways of running them.
 */
const INSTANCES = 4;

/** Calls the instances in turn, one per call. */
function inTurn(fns: readonly (() => Promise<unknown>)[]): () => Promise<unknown> {
  let k = 0;
  return () => fns[k++ % fns.length]();
}

/**
 * Times quiet TextGenerators against `peers` (each side {@link INSTANCES} instances, the same one of each per round)
 * in alternation and reports the peer's row with the comparison.
 */
async function compare(report: (row: Row) => void, task: string, kind: string, model: DecoderLM, device: string, ids: number[], n: number, runs: number, impl: string, peers: readonly (() => Promise<unknown>)[]): Promise<void> {
  const quiet = await Promise.all(peers.map(() => TextGenerator.create(model, { backend: ortNode, compile: device === 'webgpu' ? { device } : { device: 'cpu', spinning: false } })));
  // 4 × runs rounds (56 by default): on a 2-core machine two alternating sessions differ by a few % from round to
  // round, and 28 rounds left the sign test's verdict to chance. One warm-up round per instance.
  let mine: number[], theirs: number[];
  try {
    [mine, theirs] = await timeInterleaved([inTurn(quiet.map((q) => () => q.generate(ids, { maxNewTokens: n }))), inTurn(peers)], peers.length, 4 * runs);
  } finally {
    await Promise.all(quiet.map((q) => q.dispose()));
  }
  const p = paired(theirs, mine);
  // Its own group: its ratio is the one timed in alternation (the summary's), not to the kind's row, timed apart.
  report({ part: 'decode', task, impl, group: `${kind} in alternation with a TextGenerator`, isPeer: true, ms: theirs, median: median(theirs), extra: { generatorMedianMs: Number(median(mine).toFixed(2)), pairedDeltaMs: Number(p.medianDelta.toFixed(2)), generatorSlowerRounds: p.slower, rounds: p.rounds, instances: peers.length }, data: { generatorMs: mine } });
}

/** transformers.js generating greedily from the model exported with exportTransformersJs (local files only). */
async function transformersJs(model: DecoderLM): Promise<{ version: string; generate(ids: number[], n: number): Promise<unknown>; dispose(): Promise<void> }> {
  const tjs = await import('@huggingface/transformers');
  const dir = mkdtempSync(join(tmpdir(), 'bench-tjs-'));
  exportTransformersJs(model, join(dir, 'model'));
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = dir;
  const m = await tjs.AutoModelForCausalLM.from_pretrained('model', { local_files_only: true, dtype: 'fp32', device: 'cpu', session_options: { extra: QUIET } });
  return {
    version: tjs.env.version,
    generate: (ids, n) => m.generate({ inputs: new tjs.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]), max_new_tokens: n, min_new_tokens: n, do_sample: false }),
    dispose: async () => { await m.dispose(); rmSync(dir, { recursive: true, force: true }); },
  };
}

export const decodePart: Part = {
  name: 'decode',
  title: 'KV-cached decoding: multi-head vs grouped-query vs multi-query',
  about: 'Greedy decoding of 16 new tokens after a prompt of L tokens, 4 layers of width 128 with 4 query heads, on the run\'s device (ort-node cpu unless `--device` names another) through llm-tricks\' TextGenerator: decode tokens/s (prefill excluded: each round, every kind generates 16 tokens and 1 token, all timed in alternation; a token\'s time is the difference over 15, and its median over the rounds gives the tokens/s) and the KV cache after decoding. The kinds\' ratios to multi-head are the median of the rounds\' ratios, with the sign test of the rounds. On ort-node cpu, the peers of the multi-query rows are a bare InferenceSession loop over the same model exported with exportLanguageModel, and transformers.js generating greedily from it exported with exportTransformersJs, each timed in alternation with a TextGenerator (on webgpu: the bare loop on the WebGPU provider with its present keys and values kept on the GPU, preferredOutputLocation \'gpu-buffer\'); on the CPU all sessions run with spinning off (`spinning: false`, ONNX Runtime\'s allow_spinning 0), since sessions that take turns otherwise spin against each other. The exported file computes every position\'s logits, as such files do, and the bare loop reads the last row; the TextGenerator\'s own step computes the last token\'s only (256 values instead of 256 × L at the prefill). Each side of a comparison is four sessions (TextGenerators, bare sessions, transformers.js models) taking turns round by round: two sessions of one model in one process run a few % apart for as long as they live.',
  count: (s) => contexts(s).length * (KINDS.length + ({ cpu: 2, webgpu: 1 }[s.device] ?? 0)),
  summary(rows) {
    return [...new Set(rows.map((r) => r.task))].flatMap((task) => {
      const L = task.replace('context ', '');
      const at = rows.filter((r) => r.task === task && !r.isPeer);
      const mha = at.find((r) => r.group === 'multi-head');
      const mqa = at.find((r) => r.group === 'multi-query');
      const peers = rows.filter((r) => r.task === task && r.isPeer && r.extra?.generatorMedianMs !== undefined);
      if (!mha || !mqa) return [];
      const versus = (r: Row): string => {
        const sign = signSentence(`its token took longer than multi-head's`, Number(r.extra?.slowerThanMultiHeadRounds), Number(r.extra?.rounds), `${r.group} is slower`, `${r.group} is faster`);
        return `${r.group} decodes ${Number(r.extra?.tokensPerSecond).toFixed(0)} tokens/s vs multi-head ${Number(mha.extra?.tokensPerSecond).toFixed(0)}: ${Number(r.extra?.perTokenRatioToMultiHead).toFixed(2)}× as fast (the median of the rounds' ratios), ${sign}`;
      };
      const gqa = at.find((r) => r.group === 'grouped-query');
      const lines = [
        `context ${L}: ${versus(mqa)}; its KV cache is ${Number(mqa.extra?.kvBytes) / 1024} KiB vs ${Number(mha.extra?.kvBytes) / 1024} KiB (${(Number(mqa.extra?.kvBytes) / Number(mha.extra?.kvBytes)).toFixed(2)}×).`,
        ...(gqa ? [`context ${L}: ${versus(gqa)}.`] : []),
      ];
      for (const peer of peers) {
        const { generatorMedianMs: mine, pairedDeltaMs: delta, generatorSlowerRounds: slower, rounds } = peer.extra!;
        const pct = (Number(mine) / peer.median - 1) * 100;
        const sign = signSentence('the TextGenerator slower', Number(slower), Number(rounds), 'the TextGenerator is slower', 'the TextGenerator is faster');
        lines.push(`context ${L}: timed in alternation (multi-query, prefill and 16 tokens), the TextGenerator took ${Number(mine).toFixed(1)} ms and ${peer.impl} ${peer.median.toFixed(1)} ms (${Math.abs(pct).toFixed(1)}% ${pct >= 0 ? 'more' : 'less'}); median paired difference ${Number(delta).toFixed(1)} ms, ${sign}.`);
      }
      return lines;
    });
  },
  async run(s, report) {
    const n = NEW(s);
    const runs = s.mode === 'quick' ? 3 : 2 * s.runs;
    for (const L of contexts(s)) {
      const task = `context ${L}`;
      const ids = prompt(L);
      // The three kinds in alternation, each generating n tokens and 1 token every round: the per-token time of a
      // round is the difference over n − 1, and the kinds' ratios are taken round by round, so the machine's drift
      // falls on all of them alike. On the CPU they run without spinning: sessions that take turns otherwise spin
      // against each other.
      const models = KINDS.map(([, kvHeads]) => lm(kvHeads, s));
      const on = deviceBackend(s.device);
      const compile = on.device === 'cpu' ? { device: 'cpu', spinning: false } : { device: on.device };
      const gens = await Promise.all(models.map((model) => TextGenerator.create(model, { backend: on.backend, compile })));
      const kvBytes = KINDS.map(() => 0);
      let ms: number[][];
      try {
        ms = await timeInterleaved(gens.flatMap((gen, k) => [
          async () => { kvBytes[k] = (await gen.generate(ids, { maxNewTokens: n })).cacheBytes; },
          () => gen.generate(ids, { maxNewTokens: 1 }),
        // Rotated, not reversed: reversed, the first and last calls would run twice in a row at each round's turn.
        ]), 1, 2 * runs, 0, 'rotate');
      } finally {
        await Promise.all(gens.map((gen) => gen.dispose()));
      }
      const perToken = KINDS.map((_, k) => ms[2 * k].map((full, r) => (full - ms[2 * k + 1][r]) / (n - 1)));
      const mha = perToken[KINDS.findIndex(([, h]) => h === 4)];
      KINDS.forEach(([kind, kvHeads], k) => {
        const full = ms[2 * k];
        // Against multi-head, round by round: the median of the rounds' per-token ratios, and in how many rounds this kind's token took longer.
        const versus: Record<string, number> = kvHeads === 4 ? {} : { perTokenRatioToMultiHead: Number(median(perToken[k].map((t, r) => mha[r] / t)).toFixed(3)), slowerThanMultiHeadRounds: perToken[k].filter((t, r) => t > mha[r]).length, rounds: mha.length };
        report({ part: 'decode', task, impl: `llm-tricks ${kind}`, group: kind, isPeer: false, ms: full, median: median(full), extra: { kvHeads, tokensPerSecond: Math.round(1000 / median(perToken[k])), kvBytes: kvBytes[k], ...versus }, data: { oneTokenMs: ms[2 * k + 1] } });
      });
      // The peers run onnxruntime-node: the bare loop on the CPU and on WebGPU, transformers.js on the CPU, on the
      // multi-query model. Each is timed in alternation with a TextGenerator, so the comparison does not ride on the
      // machine's drift; the TextGenerator's own runs of each comparison go to the JSON with the peer's. Sessions
      // that take turns on the CPU: none spins (docs/backends.md, spinning).
      const kind = 'multi-query';
      const model = models[KINDS.findIndex(([k]) => k === kind)];
      if (s.device === 'cpu' || s.device === 'webgpu') {
        const c = model.config;
        const sessions: ort.InferenceSession[] = [];
        const where = s.device === 'webgpu' ? ' on webgpu' : '';
        try {
          for (let k = 0; k < INSTANCES; k++) sessions.push(await bareSession(model, s.device));
          await compare(report, task, kind, model, s.device, ids, n, runs, `onnxruntime-node ${ort.env.versions.common} InferenceSession loop${where}`, sessions.map((session) => () => bareDecode(session, c.layers, c.kvHeads, c.headDim, ids, n)));
        } finally {
          await Promise.all(sessions.map((session) => session.release()));
        }
      }
      if (s.device === 'cpu') {
        const tjs = [];
        try {
          // One after another: transformers.js reads env.localModelPath, which each load sets to its own folder.
          for (let k = 0; k < INSTANCES; k++) tjs.push(await transformersJs(model));
          await compare(report, task, kind, model, s.device, ids, n, runs, `transformers.js ${tjs[0].version} generate`, tjs.map((t) => () => t.generate(ids, n)));
        } finally {
          for (const t of tjs) await t.dispose();
        }
      }
    }
  },
};
