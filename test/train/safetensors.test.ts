/**
 * Safetensors and checkpoints (src/train/safetensors.ts, checkpoint.ts).
 *
 * Proves:
 * - encode/decode round-trips every dtype, scalars and empty tensors, and
 *   string metadata, bit for bit (fast-check over shapes and values);
 * - the files interoperate with the reference implementation (Python
 *   `safetensors`): it reads ours with the same values and metadata, and we
 *   read one it wrote;
 * - hostile bytes never crash or hang the decoder: any truncation, any
 *   single-byte corruption, and random headers either decode to tensors
 *   whose sizes match their shapes or throw an LlmTricksError; each rule
 *   (length, JSON, dtype, shape, offsets, gaps, overlaps, trailing bytes) has
 *   a case with its message; tensor names such as __proto__ pollute nothing;
 * - a checkpoint read into a Node Buffer (a view into Node's shared pool, at
 *   an odd offset) decodes to the values written;
 * - decodeCheckpoint rejects a plain safetensors file and bad metadata.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, decodeSafetensors, encodeCheckpoint, encodeSafetensors, LlmTricksError, tensor, Tensor, type DType } from '../../src/index.js';
import { IN_CI, pythonPath, pythonUnavailable } from '../setup/availability.js';

const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DTYPES: DType[] = ['float32', 'float64', 'int32', 'int64', 'bool'];
const arbTensor = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  seed: fc.integer(),
}).map(({ dtype, shape, seed }) => {
  const n = shape.reduce((a, d) => a * d, 1);
  const vals = Array.from({ length: n }, (_, i) => ((seed + i * 7919) % 1000) / 7 - 50);
  if (dtype === 'bool') return tensor(vals.map((v) => v > 0), { shape, dtype });
  if (dtype === 'float32' || dtype === 'float64') return tensor(vals, { shape, dtype });
  return tensor(vals.map(Math.round), { shape, dtype });
});

function rawBytes(t: Tensor): number[] {
  const d = t.data();
  return [...new Uint8Array(d.buffer, d.byteOffset, d.byteLength)];
}

function header(obj: unknown, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('keeps a tensor and a metadata key named __proto__ (an assignment would have set the prototype)', () => {
    const metadata = JSON.parse('{"__proto__": "kept", "other": "x"}') as Record<string, string>;
    const back = decodeSafetensors(encodeSafetensors(new Map([['__proto__', tensor([1, 2])], ['w', tensor([3])]]), metadata));
    expect([...back.tensors.keys()].sort()).toEqual(['__proto__', 'w']);
    expect(back.tensors.get('__proto__')!.toArray()).toEqual([1, 2]);
    expect(Object.entries(back.metadata)).toEqual([['__proto__', 'kept'], ['other', 'x']]);
  });

  it('round-trips tensors of every dtype and string metadata bit for bit', () => {
    fc.assert(fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== '__metadata__'), arbTensor, { maxKeys: 5 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (named, metadata) => {
      const map = new Map(Object.entries(named));
      const bytes = encodeSafetensors(map, metadata);
      expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
      const back = decodeSafetensors(bytes);
      expect([...back.tensors.keys()].sort()).toEqual([...map.keys()].sort());
      for (const [name, t] of map) {
        const u = back.tensors.get(name)!;
        expect([u.dtype, u.shape]).toEqual([t.dtype, t.shape]);
        expect(rawBytes(u)).toEqual(rawBytes(t));
      }
      expect(back.metadata).toEqual(Object.keys(metadata).length ? metadata : {});
    }), { numRuns: 200 });
  });

  const noPython = pythonUnavailable(['safetensors', 'numpy']);
  const pyIt = noPython && !IN_CI ? it.skip : it;

  pyIt('interoperates with the reference implementation (Python safetensors)', () => {
    if (noPython) throw new Error(noPython);
    const ours = join(dir, 'ours.safetensors');
    const theirs = join(dir, 'theirs.safetensors');
    const map = new Map<string, Tensor>([
      ['model.w', tensor([[1.5, -2.25], [3, 1e-30]])],
      ['d', tensor([1 / 3], { dtype: 'float64' })],
      ['i', tensor([-7, 2 ** 31 - 1], { dtype: 'int32' })],
      ['l', tensor([-(2 ** 40)], { dtype: 'int64' })],
      ['b', tensor([true, false, true], { dtype: 'bool' })],
      ['s', tensor(4)],
    ]);
    writeFileSync(ours, encodeSafetensors(map, { step: '12', note: 'héllo' }));
    const script = `
import json, sys, numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
out = {}
with safe_open(sys.argv[1], framework="np") as f:
    out["metadata"] = f.metadata()
    for k in f.keys():
        a = f.get_tensor(k)
        out[k] = [str(a.dtype), list(a.shape), a.reshape(-1).tolist()]
save_file({"x": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "n": np.array([5, -6], dtype=np.int64)}, sys.argv[2], metadata={"by": "python"})
print(json.dumps(out))
`;
    const r = spawnSync(pythonPath(), ['-c', script, ours, theirs], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(seen.metadata).toEqual({ step: '12', note: 'héllo' });
    expect(seen['model.w']).toEqual(['float32', [2, 2], [1.5, -2.25, 3, Math.fround(1e-30)]]);
    expect(seen.d).toEqual(['float64', [1], [1 / 3]]);
    expect(seen.i).toEqual(['int32', [2], [-7, 2 ** 31 - 1]]);
    expect(seen.l).toEqual(['int64', [1], [-(2 ** 40)]]);
    expect(seen.b).toEqual(['bool', [3], [true, false, true]]);
    expect(seen.s).toEqual(['float32', [], [4]]);
    const back = decodeSafetensors(new Uint8Array(readFileSync(theirs)));
    expect(back.metadata).toEqual({ by: 'python' });
    expect(back.tensors.get('x')!.toArray()).toEqual([[0, 0.25, 0.5], [0.75, 1, 1.25]]);
    expect(back.tensors.get('n')!.toArray()).toEqual([5n, -6n]);
  });

  it('never crashes on truncated or corrupted bytes: it decodes consistently or throws LlmTricksError', () => {
    const good = encodeSafetensors(new Map([['a', tensor([[1, 2], [3, 4]])], ['b', tensor([7, 8, 9], { dtype: 'int32' })]]), { k: 'v' });
    const check = (bytes: Uint8Array): void => {
      try {
        const { tensors } = decodeSafetensors(bytes);
        for (const t of tensors.values()) expect(t.data().length).toBe(t.size);
      } catch (e) {
        expect(e).toBeInstanceOf(LlmTricksError);
        expect((e as Error).message).toMatch(/^decodeSafetensors: .*expected.*got/);
      }
    };
    for (let n = 0; n < good.length; n++) check(good.subarray(0, n));
    fc.assert(fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, v) => {
      const b = good.slice();
      b[at] = v;
      check(b);
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 64 }), (h, data) => check(header(h, data))), { numRuns: 300 });
  });

  it('keeps a header naming __proto__ or constructor as plain tensor names, polluting nothing', () => {
    const bytes = new TextEncoder().encode('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}');
    const file = new Uint8Array(8 + bytes.length + 8);
    new DataView(file.buffer).setBigUint64(0, BigInt(bytes.length), true);
    file.set(bytes, 8);
    const { tensors } = decodeSafetensors(file);
    expect([...tensors.keys()].sort()).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('shape');
  });

  it.each([
    ['a short file', new Uint8Array(5), /expected a safetensors file \(8-byte header length first\), got 5 bytes/],
    ['a header longer than the file', (() => { const b = new Uint8Array(16); b[0] = 200; return b; })(), /header length expected at most 8 bytes, got 200/],
    ['a header that is not JSON', (() => { const b = header({}); b[8] = 0x7b; b[9] = 0x7b; return b; })(), /header expected UTF-8 JSON/],
    ['a header that is a list', header([1]), /header expected a JSON object, got \[1\]/],
    ['an unknown dtype', header({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /'a' expected dtype F32, F64, BF16, F16, I32, I64 or BOOL, got "F8_E4M3"/],
    ['BF16 offsets for 4-byte elements', header({ a: { dtype: 'BF16', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /'a' expected 4 bytes for BF16\[2\], got data_offsets \[0,8\]/],
    ['a negative dimension', header({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /'a' expected a shape of non-negative integers, got \[-1\]/],
    ['offsets that disagree with the shape', header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /'a' expected 8 bytes for float32\[2\], got data_offsets \[0,4\]/],
    ['offsets past the end', header({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(8)), /'a' expected its data within the file's 8 data bytes/],
    ['overlapping tensors', header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /'a' expected to start at byte 8.*got 0|'b' expected to start at byte 4.*got 0|expected to start at byte/],
    ['a gap', header({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /'a' expected to start at byte 0 \(tensors packed without gaps or overlaps\), got 4/],
    ['trailing bytes', header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(6)), /expected 4 data bytes after the header, got 6/],
    ['non-string metadata', header({ __metadata__: { step: 3 } }), /__metadata__ 'step' expected a string, got 3/],
  ])('rejects %s with the reason', (_name, bytes, message) => {
    expect(() => decodeSafetensors(bytes)).toThrow(LlmTricksError);
    expect(() => decodeSafetensors(bytes)).toThrow(message);
  });
});

describe('checkpoints', () => {
  const state = { step: 3, seed: -2, optimizer: 'Lion', params: new Map([['w', tensor([1, 2])]]), slots: new Map([['optimizer.w.exp_avg', tensor([0.5, 0])]]) };

  it('round-trips a trainer state and its config', () => {
    const back = decodeCheckpoint(encodeCheckpoint(state, { dim: 8, position: 'rope' }));
    expect([back.step, back.seed, back.optimizer, back.config]).toEqual([3, -2, 'Lion', { dim: 8, position: 'rope' }]);
    expect(back.params.get('w')!.toArray()).toEqual([1, 2]);
    expect(back.slots.get('optimizer.w.exp_avg')!.toArray()).toEqual([0.5, 0]);
  });

  it('decodes from a Node Buffer (what readFileSync returns): the tensors hold their own bytes, not the shared pool', () => {
    const path = join(dir, 'from-buffer.safetensors');
    writeFileSync(path, encodeCheckpoint(state, { dim: 8 }));
    const buffer = readFileSync(path);
    expect(buffer.byteLength).toBeLessThan(buffer.buffer.byteLength); // a small read lands in Node's shared pool
    const back = decodeCheckpoint(buffer);
    expect(back.params.get('w')!.toArray()).toEqual([1, 2]);
    expect(back.slots.get('optimizer.w.exp_avg')!.toArray()).toEqual([0.5, 0]);
    const st = decodeSafetensors(Buffer.concat([Buffer.alloc(3), Buffer.from(encodeSafetensors(new Map([['a', tensor([1, 2, 3, 4])], ['b', tensor([[7, 8]], { dtype: 'int32' })]])))]).subarray(3));
    expect([st.tensors.get('a')!.toArray(), st.tensors.get('b')!.toArray()]).toEqual([[1, 2, 3, 4], [[7, 8]]]);
  });

  it('rejects a plain safetensors file and bad metadata', () => {
    expect(() => decodeCheckpoint(encodeSafetensors(new Map([['w', tensor([1])]])))).toThrow(/^decodeCheckpoint: metadata format expected 'llm-tricks.checkpoint', got undefined \(a plain safetensors file holds no training state\)/);
    const bytes = encodeSafetensors(new Map(), { format: 'llm-tricks.checkpoint', version: '1', step: '-1', seed: '0', optimizer: 'Lion' });
    expect(() => decodeCheckpoint(bytes)).toThrow(/^decodeCheckpoint: metadata step expected a non-negative integer, got "-1"/);
  });
});

describe('16-bit floats', () => {
  it('BF16 and F16 decode to the float32 values IEEE 754 gives their bits (subnormals, infinities, NaN)', () => {
    // bit patterns and their values, worked out by hand from the formats' definitions
    const bf16 = [[0x3f80, 1], [0xc000, -2], [0x3eaa, 0.33203125], [0x0001, 2 ** -133], [0x7f80, Infinity], [0xff80, -Infinity], [0x0000, 0]] as const;
    const f16 = [[0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x7bff, 65504], [0x7c00, Infinity], [0xfc00, -Infinity], [0x8000, -0]] as const;
    for (const [code, cases] of [['BF16', bf16], ['F16', f16]] as const) {
      const data = new Uint8Array(new Uint16Array([...cases.map(([b]) => b), code === 'BF16' ? 0x7fc0 : 0x7e00]).buffer);
      const file = header({ a: { dtype: code, shape: [cases.length + 1], data_offsets: [0, data.length] } }, data);
      const t = decodeSafetensors(file).tensors.get('a')!;
      expect(t.dtype).toBe('float32');
      const got = Array.from(t.data() as Float32Array);
      cases.forEach(([, want], i) => expect(Object.is(got[i], want)).toBe(true));
      expect(got.at(-1)).toBeNaN();
    }
  });
});
