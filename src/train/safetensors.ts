/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an
 * 8-byte little-endian header length, a JSON header mapping names to
 * `{ dtype, shape, data_offsets }` plus string `__metadata__`, then the
 * tensors' bytes, little-endian. Decoding checks everything a hostile file
 * could get wrong before it reads a byte of data.
 */
import { DTYPE_INFO, DTYPES, type DType, type TypedArray } from '../core/dtype.js';
import { fail, show } from '../core/errors.js';
import { Tensor } from '../trace/tensor.js';

const BY_CODE = new Map<string, DType>(DTYPES.map((d) => [DTYPE_INFO[d].safetensors, d]));
/** 16-bit float codes, read as float32 (every bfloat16 and float16 value is exactly a float32 one). */
const HALF_CODES = ['BF16', 'F16'] as const;
type HalfCode = typeof HALF_CODES[number];
// The format caps the header at 100 MB.
const MAX_HEADER = 100_000_000;

/**
 * Sets an own property, whatever its name: a plain assignment to
 * `__proto__` would set the object's prototype instead, and the name would
 * vanish from the header (a tensor's bytes written, its entry lost).
 */
function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy with the same own properties, `__proto__` included. */
function copyOwn<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(o)) setOwn(out, k, v);
  return out;
}

/** Encodes named tensors and string metadata as safetensors bytes (tensors in name order). */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const site = 'encodeSafetensors';
  if (!(tensors instanceof Map)) fail(site, `tensors expected a Map of name -> Tensor, got ${show(tensors)}`);
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) fail(site, `metadata expected an object of strings, got ${show(metadata)}`);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(site, `metadata '${k}' expected a string, got ${show(v)}`);
    header.__metadata__ = copyOwn(metadata);
  }
  const names = [...tensors.keys()].sort();
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (name === '__metadata__') fail(site, `tensor names expected anything but '__metadata__', got it`);
    if (!(t instanceof Tensor) || t.isTraced) fail(site, `'${name}' expected an eager Tensor, got ${show(t)}`);
    const bytes = t.size * DTYPE_INFO[t.dtype].bytes;
    setOwn(header, name, { dtype: DTYPE_INFO[t.dtype].safetensors, shape: t.shape, data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const data = tensors.get(name)!._data!;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(bytes, at); // typed arrays are little-endian on every platform JavaScript runs on in practice
    at += bytes.length;
  }
  return out;
}

/** Tensors and metadata of a safetensors file. */
export interface Safetensors {
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Record<string, string>;
}

/** One tensor of a parsed header: where its bytes lie after the header. */
export interface SafetensorsEntry {
  readonly name: string;
  /** The dtype it decodes to (float32 for a 16-bit float). */
  readonly dtype: DType;
  /** Set when the file stores it as a 16-bit float, decoded to float32. */
  readonly half?: HalfCode;
  readonly shape: readonly number[];
  /** Byte offsets within the data section, [begin, end). */
  readonly begin: number;
  readonly end: number;
}

/** A parsed, checked header: the entries, the metadata and where the data section starts. */
export interface SafetensorsHeader {
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Record<string, string>;
  readonly dataStart: number;
}

// A valid header nests three deep ({ name: { shape: [...] } }); anything much deeper is not one.
const MAX_DEPTH = 8;

/** The deepest nesting of objects and arrays in JSON text, found without parsing it (and so without recursion). */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/**
 * Reads and checks the header of a safetensors file of `fileLength` bytes
 * whose first bytes are `head` (at least the 8-byte length and the header
 * itself): rejects, with the reason, a short file, a header that is too
 * long, too deeply nested or not JSON, unknown dtypes, shapes that are not
 * lists of non-negative integers, and offsets that do not match the shape,
 * run past the end, overlap or leave gaps. Reads no tensor data.
 */
export function readSafetensorsHeader(site: string, head: Uint8Array, fileLength: number, file?: string): SafetensorsHeader {
  // Every rule here is about the file's format: say so first, then which rule.
  const bad: (message: string) => never = (message) => fail(site, `${file === undefined ? '' : `'${file}' is `}not a valid safetensors file: ${message}`);
  if (fileLength < 8 || head.length < 8) bad(`expected a safetensors file (8-byte header length first), got ${fileLength} bytes`);
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, fileLength - 8))) bad(`header length expected at most ${Math.min(MAX_HEADER, fileLength - 8)} bytes, got ${n}`);
  const headLen = Number(n);
  if (head.length < 8 + headLen) bad(`expected the ${headLen}-byte header, got ${head.length - 8} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, 8 + headLen));
  } catch {
    return bad('header expected UTF-8 JSON, got bytes that are not UTF-8');
  }
  if (jsonDepth(text) > MAX_DEPTH) bad(`header expected JSON nested at most ${MAX_DEPTH} deep, got deeper`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    bad(`header expected UTF-8 JSON, got an unreadable header (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad(`header expected a JSON object, got ${show(header)}`);
  const dataStart = 8 + headLen;
  const dataLen = fileLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) bad(`__metadata__ expected an object of strings, got ${show(info)}`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') bad(`__metadata__ '${k}' expected a string, got ${show(v)}`);
        setOwn(metadata, k, v);
      }
      continue;
    }
    const { dtype: code, shape, data_offsets: offsets } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const half = HALF_CODES.find((h) => h === code);
    const dtype = half ? 'float32' : BY_CODE.get(code as string);
    if (!dtype) bad(`'${name}' expected dtype F32, F64, BF16, F16, I32, I64 or BOOL, got ${show(code)}`);
    const width = half ? 2 : DTYPE_INFO[dtype].bytes;
    if (!Array.isArray(shape) || shape.length > 16 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`'${name}' expected a shape of non-negative integers, got ${show(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      bad(`'${name}' expected data_offsets [begin, end] with 0 <= begin <= end, got ${show(offsets)}`);
    }
    const size = shape.reduce((a: number, d: number) => a * d, 1);
    if (offsets[1] - offsets[0] !== size * width) bad(`'${name}' expected ${size * width} bytes for ${half ?? dtype}[${shape.join(', ')}], got data_offsets ${show(offsets)}`);
    if (offsets[1] > dataLen) bad(`'${name}' expected its data within the file's ${dataLen} data bytes (is the file truncated?), got data_offsets ${show(offsets)}`);
    entries.push({ name, dtype, shape, begin: offsets[0], end: offsets[1], ...(half ? { half } : {}) });
  }
  // The data must be covered exactly: no overlaps, no gaps, nothing after.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let end = 0;
  for (const e of sorted) {
    if (e.begin !== end) bad(`'${e.name}' expected to start at byte ${end} (tensors packed without gaps or overlaps), got ${e.begin}`);
    end = e.end;
  }
  if (end !== dataLen) bad(`expected ${end} data bytes after the header, got ${dataLen}`);
  return { entries, metadata, dataStart };
}

/**
 * Decodes safetensors bytes, with every check of `readSafetensorsHeader`.
 * Each tensor gets its own copy of its bytes.
 */
export function decodeSafetensors(bytes: Uint8Array, site = 'decodeSafetensors', file?: string): Safetensors {
  if (!(bytes instanceof Uint8Array)) fail(site, `bytes expected a Uint8Array, got ${show(bytes)}`);
  const { entries, metadata, dataStart } = readSafetensorsHeader(site, bytes, bytes.length, file);
  const tensors = new Map<string, Tensor>();
  for (const entry of entries) tensors.set(entry.name, decodeEntry(entry, bytes.subarray(dataStart + entry.begin, dataStart + entry.end)));
  return { tensors, metadata };
}

/**
 * The tensor of one entry from its bytes (16-bit floats widened to float32).
 * `owned`: the bytes are a fresh array of their own (offset 0), which the
 * tensor may keep; otherwise they are copied.
 */
export function decodeEntry(entry: SafetensorsEntry, bytes: Uint8Array, owned = false): Tensor {
  const { shape, dtype, half } = entry;
  // A fresh, aligned buffer independent of the input. Not bytes.slice(): on a Node Buffer (what readFileSync
  // returns) slice is a view, and its .buffer the whole shared pool, so the tensor read the wrong bytes.
  const fresh = owned && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const copy = fresh ? bytes : new Uint8Array(bytes.length);
  if (!fresh) copy.set(bytes);
  if (!half) return new Tensor(shape, dtype, new DTYPE_INFO[dtype].array(copy.buffer as ArrayBuffer) as TypedArray);
  const h = new Uint16Array(copy.buffer as ArrayBuffer);
  const out = new Float32Array(h.length);
  if (half === 'BF16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
  } else {
    for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
  }
  return new Tensor(shape, 'float32', out);
}

/** An IEEE binary16 value from its bits (exact in float32: subnormals, infinities and NaN included). */
function halfToFloat(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const magnitude = exponent === 0 ? fraction * 2 ** -24 : exponent === 31 ? (fraction ? NaN : Infinity) : (1 + fraction / 1024) * 2 ** (exponent - 15);
  return bits & 0x8000 ? -magnitude : magnitude;
}
