/**
 * The one error type the library throws for bad input. Its message always
 * names where the problem is, what was expected and what arrived:
 * `matmul: inner dimensions expected equal, got 3 and 4`.
 */
export class LlmTricksError extends Error {
  /** The op, module or function that rejected the input. */
  readonly where: string;

  constructor(site: string, message: string) {
    super(`${site}: ${message}`);
    this.name = 'LlmTricksError';
    this.where = site;
  }
}

// A control character JSON escapes, marking what show() prints unquoted.
const MARK = '\u0001';
// Error messages quote at most this much of a value.
const SHOW_MAX = 200;

/**
 * A value as error messages print it: JSON where possible (bigints as
 * numbers; typed arrays and class instances, such as a Trainer passed where
 * a path belongs, by their type, without walking into them), else a short
 * description; at most a couple of hundred characters, and never a
 * recursion a deeply nested value could overflow.
 */
export function show(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (typeof value === 'number') return String(value);
  let text: string | undefined;
  try {
    // NaN and ±Infinity inside arrays print as themselves, not as JSON's null; what is marked (MARK…MARK) prints unquoted.
    text = JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'number' && !Number.isFinite(v)) return `${MARK}${v}${MARK}`;
      if (ArrayBuffer.isView(v)) return `${MARK}${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})${MARK}`;
      const proto = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.getPrototypeOf(v) as object | null : null;
      return proto !== null && proto !== Object.prototype ? `${MARK}${(v as object).constructor?.name ?? 'object'}${MARK}` : v;
    })?.replace(/"\\u0001(.*?)\\u0001"/g, '$1');
  } catch {
    // A cycle or a nesting too deep for JSON: describe the top level only (String() of nested arrays recurses too).
    text = Array.isArray(value) ? `array of length ${value.length}` : typeof value === 'object' && value !== null ? (value.constructor?.name ?? 'object') : undefined;
  }
  text ??= String(value);
  return text.length > SHOW_MAX ? `${text.slice(0, SHOW_MAX)}… (${text.length} characters)` : text;
}

/** Throws an {@link LlmTricksError} naming `site`, the op, module or function that rejects its input. */
export function fail(site: string, message: string): never {
  throw new LlmTricksError(site, message);
}
