/**
 * Early dropout's second phase (src/train/trainer.ts, loss.ts `staysZero`):
 * once the rate is 0 for good, the Trainer runs a step graph compiled
 * without dropout (no random numbers), switching once.
 *
 * Proves, on the reference backend and ort-node cpu:
 * - with an EarlyDropoutScheduler, a graph without randomUniform is
 *   compiled exactly once, at the step the rate stays 0 from (zeroFrom), and every later step runs it;
 * - the run is bit-identical to the same schedule given as a plain function
 *   (which never switches: the dropout graph at rate 0), step by step and in
 *   the final parameters;
 * - without dropout (rate 0, the default) the only step graph compiled has
 *   no random numbers, while the model's dropout layers stay;
 * - a plain schedule that reaches 0 does not switch (it could rise again).
 */
import { describe, expect, it } from 'vitest';
import {
  ByteTokenizer, DecoderLM, EarlyDropoutScheduler, Lion, referenceBackend, TokenBatches, Trainer,
  type Backend, type CompileOptions, type Graph, type Tensor,
} from '../../src/index.js';
import { ortNode } from '../../src/node.js';

const text = 'The quick brown fox jumps over the lazy dog. '.repeat(30);
const data = new TokenBatches(new ByteTokenizer().encode(text), { batchSize: 2, length: 12, seed: 1 });
const model = (): DecoderLM => new DecoderLM({ vocab: 256, dim: 16, layers: 2, heads: 4, kvHeads: 1, dropout: true, seed: 3 });
const hasRandom = (g: Graph): boolean => JSON.stringify(g.nodes.map((n) => (n.kind === 'primitive' ? n.op : n.kind))).includes('randomUniform')
  || g.nodes.some((n) => n.kind === 'call' && hasRandom(n.body));

/** A backend that records the graphs it compiles. */
function spy(inner: Backend<CompileOptions>): { backend: Backend<CompileOptions>; graphs: Graph[] } {
  const graphs: Graph[] = [];
  return { graphs, backend: { name: inner.name, compile: (g, o) => { graphs.push(g); return inner.compile(g, o); } } };
}

function bits(ts: readonly Tensor[]): number[] {
  return ts.flatMap((t) => [...new Uint32Array((t.data() as Float32Array).slice().buffer)]);
}

const BACKENDS: [string, Backend<CompileOptions>, CompileOptions][] = [
  ['reference', referenceBackend as Backend<CompileOptions>, {}],
  ['ort-node cpu', ortNode as Backend<CompileOptions>, { device: 'cpu', intraOpNumThreads: 1 } as CompileOptions],
];

describe.each(BACKENDS)('dropout phases on %s', (_name, inner, compile) => {
  it('switches once, where the rate reaches 0 for good, to a graph without dropout, bit-identically to rate 0', async () => {
    const scheduler = new EarlyDropoutScheduler({ p: 0.1, totalSteps: 8, cutoffStep: 3 });
    const switching = spy(inner);
    const a = await Trainer.create({ model: model(), optimizer: new Lion({ lr: 1e-3 }), batchSize: 2, sequenceLength: 12, dropout: scheduler, backend: switching.backend, compile });
    const b = await Trainer.create({ model: model(), optimizer: new Lion({ lr: 1e-3 }), batchSize: 2, sequenceLength: 12, dropout: (s) => scheduler.rate(s), backend: inner, compile });
    const compiledAt: number[] = [];
    for (let s = 0; s < 8; s++) {
      const before = switching.graphs.length;
      const [x, y] = await Promise.all([a.step(data.batch(s)), b.step(data.batch(s))]);
      if (switching.graphs.length > before) compiledAt.push(s);
      expect([x.loss, x.gradNorm, x.dropout]).toEqual([y.loss, y.gradNorm, y.dropout]);
    }
    expect(compiledAt).toEqual([2]); // np.linspace(0.1, 0, 3) is 0 from step 2 on: the scheduler's zeroFrom
    expect(switching.graphs.map(hasRandom)).toEqual([true, false]);
    expect(bits([...(await a.snapshot()).params.values()])).toEqual(bits([...(await b.snapshot()).params.values()]));
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it('compiles no random numbers at all when the rate is 0 throughout; a plain schedule never switches', async () => {
    const none = spy(inner);
    const t = await Trainer.create({ model: model(), optimizer: new Lion(), batchSize: 2, sequenceLength: 12, backend: none.backend, compile });
    await t.step(data.batch(0));
    await t.step(data.batch(1));
    expect(none.graphs.map(hasRandom)).toEqual([false]);
    const plain = spy(inner);
    const u = await Trainer.create({ model: model(), optimizer: new Lion(), batchSize: 2, sequenceLength: 12, dropout: (s) => (s < 1 ? 0.1 : 0), backend: plain.backend, compile });
    for (let s = 0; s < 3; s++) await u.step(data.batch(s));
    expect(plain.graphs.map(hasRandom)).toEqual([true]);
    await Promise.all([t.dispose(), u.dispose()]);
  });
});
