/**
 * Left-padded batches, as transformers feeds them: attention_mask (B, P+T)
 * masks the padding out and position_ids (B, T) give each row its own
 * positions. A padded row's logits at its real tokens equal those of the
 * row alone, unpadded (float64, 1e-12), in one pass and through the KV
 * cache one token at a time; a row whose every key is masked stays finite.
 */
import { describe, expect, it } from 'vitest';
import { DecoderLM, concat, sliceAxis, tensor, type DecoderLMConfig, type Tensor } from '../../src/index.js';
import { maxDiff } from './util.js';

const CONFIG: DecoderLMConfig = { vocab: 32, dim: 16, layers: 2, heads: 4, kvHeads: 2, maxPositions: 64, dtype: 'float64', seed: 3 };
const ROWS = [[5, 9, 2, 7, 11], [3, 8]]; // the second is left-padded to 5
const PAD = 0;

function padded(rows: number[][]): { ids: Tensor; mask: Tensor; positions: Tensor } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = rows.flatMap((r) => [...Array(T - r.length).fill(PAD), ...r]);
  const mask = rows.flatMap((r) => [...Array(T - r.length).fill(0), ...r.map(() => 1)]);
  // transformers' convention: cumsum(mask) − 1, and 1 at the padding
  const positions = rows.flatMap((r) => [...Array(T - r.length).fill(1), ...r.map((_, i) => i)]);
  const shape = [rows.length, T];
  return { ids: tensor(ids, { shape, dtype: 'int32' }), mask: tensor(mask, { shape, dtype: 'int32' }), positions: tensor(positions, { shape, dtype: 'int32' }) };
}

const row = (t: Tensor, b: number): Tensor => sliceAxis(t, 0, b, b + 1);

describe.each([
  ['rope', {}],
  // (Not dynamic NTK: its frequencies follow the batch's largest position, as in transformers, so a row's depend on the others.)
  ['rope with YaRN', { rope: { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 4 } } }],
  ['learned positions', { position: 'learned' }],
] as const)('left padding with %s', (_name, extra) => {
  const model = new DecoderLM({ ...CONFIG, ...extra } as DecoderLMConfig).eval();

  it('gives each row the logits of the row alone, unpadded', () => {
    const { ids, mask, positions } = padded(ROWS);
    const logits = model.forward(ids, { positions, attentionMask: mask }).logits;
    ROWS.forEach((r, b) => {
      const alone = model.forward(tensor([r], { dtype: 'int32' })).logits;
      const mine = sliceAxis(row(logits, b), 1, 5 - r.length, 5);
      expect(maxDiff(mine, alone)).toBeLessThan(1e-12);
    });
    // Without the mask the padded row is another computation: the mask does something.
    const unmasked = model.forward(ids, { positions }).logits;
    expect(maxDiff(sliceAxis(row(unmasked, 1), 1, 3, 5), model.forward(tensor([ROWS[1]], { dtype: 'int32' })).logits)).toBeGreaterThan(1e-6);
  });

  it('decodes a padded batch through the cache one token at a time', () => {
    const { ids, mask, positions } = padded(ROWS);
    const first = model.forward(ids, { positions, attentionMask: mask });
    const next = tensor([[4], [6]], { dtype: 'int32' });
    const step = model.forward(next, {
      positions: tensor([[5], [2]], { dtype: 'int32' }), cache: first.cache,
      attentionMask: concat([mask, tensor([[1], [1]], { dtype: 'int32' })], 1),
    });
    ROWS.forEach((r, b) => {
      const alone = model.forward(tensor([[...r, b === 0 ? 4 : 6]], { dtype: 'int32' })).logits;
      expect(maxDiff(row(step.logits, b), sliceAxis(alone, 1, r.length, r.length + 1))).toBeLessThan(1e-12);
    });
  });
});

describe('attention masks', () => {
  const model = new DecoderLM(CONFIG).eval();
  it('a row with every key masked stays finite (no NaN into the cache)', () => {
    const ids = tensor([[1, 2, 3]], { dtype: 'int32' });
    const out = model.forward(ids, { attentionMask: tensor([[0, 0, 0]], { dtype: 'int32' }) });
    expect(Array.from(out.logits.data() as Float64Array).every(Number.isFinite)).toBe(true);
    expect(out.cache.every((c) => Array.from(c.value.data() as Float64Array).every(Number.isFinite))).toBe(true);
  });

  it('rejects a mask of the wrong shape or type, and per-row positions with ALiBi, naming the place', () => {
    const ids = tensor([[1, 2, 3]], { dtype: 'int32' });
    expect(() => model.forward(ids, { attentionMask: tensor([[1, 1]], { dtype: 'int32' }) })).toThrow(/attentionMask expected an int32, int64 or bool tensor of shape \[1, 3\].*got int32\[1, 2\]/);
    expect(() => model.forward(ids, { attentionMask: tensor([[1, 1, 1]]) })).toThrow(/attentionMask expected an int32, int64 or bool tensor/);
    const alibi = new DecoderLM({ ...CONFIG, position: 'alibi' });
    expect(() => alibi.forward(ids, { positions: tensor([[0, 1, 2]], { dtype: 'int32' }) })).toThrow(/^DecoderLM: positions expected an int32 tensor of shape \[3\], got int32\[1, 3\]/);
  });
});
