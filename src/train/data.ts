/**
 * Text to training batches: a byte-level tokenizer (UTF-8 bytes are the
 * tokens, so any text encodes and the vocabulary is 256), and a loader that
 * cuts a token stream into fixed-length windows, shuffled per epoch from a
 * seed, and serves batch `k` of the run on demand, so resuming at step k
 * needs nothing but k.
 */
import { checkOptions, optionKeys } from '../core/options.js';
import { fail, show } from '../core/errors.js';
import { randomKey, squares32 } from '../core/random-bits.js';
import { Tensor } from '../trace/tensor.js';
import type { TextTokenizer } from '../core/tokenizer.js';

/** UTF-8 bytes as token ids 0..255. */
export class ByteTokenizer implements TextTokenizer {
  readonly vocabSize: number = 256;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  /** The UTF-8 bytes of `text`, as int32 ids. */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') fail('ByteTokenizer.encode', `text expected a string, got ${show(text)}`);
    return Int32Array.from(new TextEncoder().encode(text));
  }

  /** The text of byte ids; bytes that are not valid UTF-8 (e.g. a cut character) become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    if (typeof ids !== 'object' || ids === null || !Number.isSafeInteger((ids as ArrayLike<number>).length)) fail('ByteTokenizer.decode', `ids expected an array of token ids, got ${show(ids)}`);
    const bytes = Uint8Array.from(ids as ArrayLike<number>, (v, i) => {
      if (!Number.isInteger(v) || v < 0 || v > 255) fail('ByteTokenizer.decode', `ids expected integers in [0, 255], got ${show(v)} at index ${i}`);
      return v;
    });
    return this.decoder.decode(bytes);
  }
}

/** Splits a token stream into a training part and a held-out tail of `fraction` of it. */
export function splitTokens(tokens: Int32Array, fraction: number): { train: Int32Array; heldOut: Int32Array } {
  if (!(tokens instanceof Int32Array)) fail('splitTokens', `tokens expected an Int32Array, got ${show(tokens)}`);
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) fail('splitTokens', `fraction expected a number in (0, 1), got ${show(fraction)}`);
  const cut = Math.round(tokens.length * (1 - fraction));
  return { train: tokens.subarray(0, cut), heldOut: tokens.subarray(cut) };
}

/** Options of {@link TokenBatches}. */
export interface TokenBatchOptions {
  /** Rows per batch. */
  readonly batchSize: number;
  /** Tokens per row. */
  readonly length: number;
  /** Seed of the shuffle (default 0). */
  readonly seed?: number;
  /** Serve windows in order, unshuffled (for evaluation). Default true. */
  readonly shuffle?: boolean;
}

/**
 * Fixed-length next-token batches from a token stream: the stream is cut
 * into non-overlapping windows of `length + 1` tokens (ids and their targets
 * shifted by one); each epoch visits every window once in an order drawn
 * from (seed, epoch). `batch(k)` is a pure function of k.
 */
export class TokenBatches {
  readonly batchSize: number;
  readonly length: number;
  readonly seed: number;
  /** Windows in the stream. */
  readonly windows: number;
  private readonly tokens: Int32Array;
  private readonly shuffle: boolean;
  private order: { epoch: number; perm: Uint32Array } | undefined;

  /** `tokens`: an Int32Array (what ByteTokenizer and PretrainedTokenizer encode to) or an array of integer ids (any tokenizer's). */
  constructor(tokens: Int32Array | readonly number[], options: TokenBatchOptions) {
    const site = 'TokenBatches';
    if (Array.isArray(tokens)) {
      const bad = tokens.findIndex((t) => !Number.isInteger(t) || t < -(2 ** 31) || t >= 2 ** 31);
      if (bad >= 0) fail(site, `tokens expected integer ids, got ${show(tokens[bad])} at index ${bad}`);
      tokens = Int32Array.from(tokens);
    }
    if (!(tokens instanceof Int32Array)) fail(site, `tokens expected an Int32Array or an array of ids (e.g. from a tokenizer's encode), got ${show(tokens)}`);
    checkOptions('TokenBatches', options, optionKeys<TokenBatchOptions>({ batchSize: true, length: true, seed: true, shuffle: true }));
    const { batchSize, length, seed = 0, shuffle = true } = options ?? {};
    if (!Number.isInteger(batchSize) || batchSize < 1) fail(site, `batchSize expected a positive integer, got ${show(batchSize)}`);
    if (!Number.isInteger(length) || length < 1) fail(site, `length expected a positive integer, got ${show(length)}`);
    if (!Number.isInteger(seed)) fail(site, `seed expected an integer, got ${show(seed)}`);
    this.windows = Math.floor((tokens.length - 1) / length);
    if (this.windows < batchSize) fail(site, `tokens expected at least ${batchSize * length + 1} for ${batchSize} windows of ${length}, got ${tokens.length}`);
    this.batchSize = batchSize;
    this.length = length;
    this.seed = seed;
    this.tokens = tokens;
    this.shuffle = shuffle;
  }

  /** Full batches per epoch. */
  get batchesPerEpoch(): number {
    return Math.floor(this.windows / this.batchSize);
  }

  /** Batch `k` (0-based): `[ids, targets]`, int32 [batchSize, length]. */
  batch(k: number): [Tensor, Tensor] {
    if (!Number.isSafeInteger(k) || k < 0) fail('TokenBatches.batch', `k expected a non-negative integer, got ${show(k)}`);
    const B = this.batchSize;
    const T = this.length;
    const epoch = Math.floor(k / this.batchesPerEpoch);
    const first = (k % this.batchesPerEpoch) * B;
    const ids = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let r = 0; r < B; r++) {
      const w = this.windowAt(epoch, first + r);
      ids.set(this.tokens.subarray(w * T, w * T + T), r * T);
      targets.set(this.tokens.subarray(w * T + 1, w * T + T + 1), r * T);
    }
    return [new Tensor([B, T], 'int32', ids), new Tensor([B, T], 'int32', targets)];
  }

  /** `count` batches stacked for gradient accumulation: [count, batchSize, length] each. */
  batches(k: number, count: number): [Tensor, Tensor] {
    if (!Number.isSafeInteger(count) || count < 1) fail('TokenBatches.batches', `count expected a positive integer, got ${show(count)}`);
    if (!Number.isSafeInteger(k) || k < 0) fail('TokenBatches.batches', `k expected a non-negative integer, got ${show(k)}`);
    const parts = Array.from({ length: count }, (_, i) => this.batch(k * count + i));
    const stack = (j: 0 | 1): Tensor => {
      const out = new Int32Array(count * this.batchSize * this.length);
      parts.forEach((p, i) => out.set(p[j]._data as Int32Array, i * p[j].size));
      return new Tensor([count, this.batchSize, this.length], 'int32', out);
    };
    return [stack(0), stack(1)];
  }

  private windowAt(epoch: number, i: number): number {
    if (!this.shuffle) return i;
    if (this.order?.epoch !== epoch) {
      // Fisher-Yates with the library's counter-based generator: the same order on every machine.
      const perm = Uint32Array.from({ length: this.windows }, (_, j) => j);
      const key = randomKey(this.seed >>> 0, epoch >>> 0, 0x5eed);
      for (let j = perm.length - 1; j > 0; j--) {
        const r = Math.floor((squares32(key, j) / 2 ** 24) * (j + 1));
        [perm[j], perm[r]] = [perm[r], perm[j]];
      }
      this.order = { epoch, perm };
    }
    return this.order.perm[i];
  }
}
