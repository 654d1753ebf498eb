/**
 * Reading checkpoint files you did not write (src/train/checkpoint-file.ts)
 * and writing only what reads back (src/train/checkpoint.ts).
 *
 * Proves:
 * - loadCheckpoint reads what saveCheckpoint wrote, equal to decoding the
 *   whole file's bytes;
 * - it requires a regular file: /dev/zero, a FIFO and a directory are
 *   refused at once (they used to grow memory without limit or block the
 *   event loop forever), a missing file names the path;
 * - a file past 2 GiB loads (a sparse 2.5 GB file: each tensor's bytes are
 *   read into its own array), with its last value in place;
 * - a file shorter than its header says is an LlmTricksError;
 * - a header nested thousands deep is refused with an LlmTricksError (the
 *   message printer used to overflow the stack), and show() prints any
 *   nesting and any length briefly, and class instances by their type (a
 *   Trainer passed as saveCheckpoint's path printed for minutes); a
 *   corrupt header says "not a valid
 *   safetensors file" before the rule it breaks;
 * - encodeCheckpoint refuses what decodeCheckpoint would reject (step or
 *   seed NaN, negative, fractional or null; an empty optimizer name) and
 *   configs JSON cannot hold (a BigInt, a cycle), with LlmTricksErrors.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecoderLM, decodeCheckpoint, decodeSafetensors, encodeCheckpoint, Lion, LlmTricksError, tensor, Trainer } from '../../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node.js';
import { show } from '../../src/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-ckpt-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const state = { step: 4, seed: 2, optimizer: 'Lion', params: new Map([['w', tensor([1, 2, 3])]]), slots: new Map([['optimizer.w.exp_avg', tensor([0.5, 0, -1])]]) };

describe('loadCheckpoint', () => {
  it('reads what saveCheckpoint wrote, as decoding the whole file does', async () => {
    const path = join(dir, 'ok.safetensors');
    await saveCheckpoint(path, { snapshot: async () => state } as unknown as Trainer, { dim: 3 });
    const back = loadCheckpoint(path);
    const whole = decodeCheckpoint(readFileSync(path));
    expect([back.step, back.seed, back.optimizer, back.config]).toEqual([4, 2, 'Lion', { dim: 3 }]);
    expect(back.params.get('w')!.toArray()).toEqual(whole.params.get('w')!.toArray());
    expect(back.slots.get('optimizer.w.exp_avg')!.toArray()).toEqual([0.5, 0, -1]);
  });

  it('refuses what is not a regular file, at once', () => {
    expect(() => loadCheckpoint('/dev/zero')).toThrow(/^loadCheckpoint: path expected a regular file, got a character device \('\/dev\/zero'\)/);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(() => loadCheckpoint(fifo)).toThrow(/^loadCheckpoint: path expected a regular file, got a FIFO/);
    mkdirSync(join(dir, 'a-dir'));
    expect(() => loadCheckpoint(join(dir, 'a-dir'))).toThrow(/got a directory/);
    expect(() => loadCheckpoint(join(dir, 'missing.safetensors'))).toThrow(/^loadCheckpoint: expected to read '.*missing\.safetensors', got ENOENT/);
  });

  it('loads a sparse 2.5 GB checkpoint, past what one read can hold', () => {
    const n = 625_000_000; // float32s: 2.5e9 bytes of data
    const header = JSON.stringify({
      __metadata__: { format: 'llm-tricks.checkpoint', version: '1', step: '1', seed: '0', optimizer: 'Lion' },
      big: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] },
    });
    const head = Buffer.alloc(8 + header.length);
    head.writeBigUInt64LE(BigInt(header.length), 0);
    head.write(header, 8, 'utf8');
    const path = join(dir, 'sparse.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, head.length + 4 * n);
    const last = Buffer.alloc(4);
    last.writeFloatLE(7.5);
    writeSync(fd, last, 0, 4, head.length + 4 * (n - 1));
    closeSync(fd);
    const big = loadCheckpoint(path).params.get('big')!;
    expect(big.shape).toEqual([n]);
    const data = big._data as Float32Array;
    expect([data[0], data[n >> 1], data[n - 1]]).toEqual([0, 0, 7.5]);
    rmSync(path);
  }, 120_000);

  it('refuses a file shorter than its header says, or not a checkpoint, naming the file', () => {
    const bytes = encodeCheckpoint(state);
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, bytes.subarray(0, bytes.length - 4));
    expect(() => loadCheckpoint(path)).toThrow(/^loadCheckpoint: '.*short\.safetensors' is not a valid safetensors file: .*\(is the file truncated\?\)/);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a checkpoint at all, just some words');
    expect(() => loadCheckpoint(text)).toThrow(/^loadCheckpoint: '.*notes\.txt' is not a valid safetensors file: header length expected/);
    expect(() => loadCheckpoint(text)).toThrow(LlmTricksError);
  });
});

describe('headers and messages of any depth', () => {
  it('refuses a header nested thousands deep with an LlmTricksError', () => {
    const json = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const bytes = new Uint8Array(8 + json.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(new TextEncoder().encode(json), 8);
    expect(() => decodeSafetensors(bytes)).toThrow(/^decodeSafetensors: not a valid safetensors file: header expected JSON nested at most 8 deep, got deeper/);
  });

  it('says a corrupt file is not a valid safetensors file before naming the broken rule', () => {
    const corrupt = Buffer.from(encodeCheckpoint(state));
    corrupt[corrupt.indexOf('__metadata__') + 10] = '{'.charCodeAt(0); // one byte changed in the header
    expect(() => decodeCheckpoint(corrupt)).toThrow(/^decodeCheckpoint: not a valid safetensors file: '__metadata\{_' expected dtype F32, F64, BF16, F16, I32, I64 or BOOL/);
  });

  it('show() prints any nesting and any length briefly', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(show(deep)).toBe('array of length 1');
    const long = show('x'.repeat(10_000));
    expect(long.length).toBeLessThan(260);
    expect(long).toMatch(/… \(10002 characters\)$/);
    // Class instances and typed arrays print as their type: nothing walks into a model's or a Trainer's arrays.
    class Holder { readonly data = new Float32Array(1 << 20); }
    expect(show({ at: [new Holder(), new Float64Array(3), NaN], name: 'x' })).toBe('{"at":[Holder,Float64Array(3),NaN],"name":"x"}');
  });

  it('refuses a Trainer passed where the path belongs, at once (it printed the whole Trainer)', async () => {
    const model = new DecoderLM({ vocab: 256, dim: 64, layers: 2, heads: 2, seed: 1 });
    const trainer = await Trainer.create({ model, optimizer: new Lion(), batchSize: 1, sequenceLength: 4 });
    await expect(saveCheckpoint(trainer as unknown as string, join(dir, 'swapped.safetensors') as unknown as Trainer)).rejects.toThrow(new LlmTricksError('saveCheckpoint', 'path expected a file name, got Trainer'));
    await trainer.dispose();
  });
});

describe('encodeCheckpoint writes only what decodeCheckpoint reads', () => {
  it.each([
    [{ step: NaN }, /state\.step expected a non-negative integer, got NaN/],
    [{ step: -1 }, /state\.step expected a non-negative integer, got -1/],
    [{ step: 1.5 }, /state\.step expected a non-negative integer, got 1\.5/],
    [{ step: null }, /state\.step expected a non-negative integer, got null/],
    [{ seed: 1.5 }, /state\.seed expected an integer, got 1\.5/],
    [{ seed: NaN }, /state\.seed expected an integer, got NaN/],
    [{ optimizer: '' }, /state\.optimizer expected a name, got ""/],
  ] as const)('refuses %j', (change, message) => {
    expect(() => encodeCheckpoint({ ...state, ...change } as never)).toThrow(message);
  });

  it('refuses a config JSON cannot hold', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => encodeCheckpoint(state, { n: 1n })).toThrow(/^encodeCheckpoint: config expected a JSON value, got one JSON cannot hold/);
    expect(() => encodeCheckpoint(state, cycle)).toThrow(/^encodeCheckpoint: config expected a JSON value/);
    expect(() => encodeCheckpoint(state, () => 1)).toThrow(/^encodeCheckpoint: config expected a JSON value, got function/);
  });
});
