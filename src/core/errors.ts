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

/**
 * A value as error messages print it: JSON where possible (bigints as
 * numbers), else a short description.
 */
export function show(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length})`;
  if (typeof value === 'number') return String(value);
  try {
    // NaN and ±Infinity inside arrays print as themselves, not as JSON's null.
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? `@${v}@` : v));
    return text === undefined ? String(value) : text.replace(/"@(-?Infinity|NaN)@"/g, '$1');
  } catch {
    return String(value);
  }
}

/** Throws an {@link LlmTricksError} naming `site`, the op, module or function that rejects its input. */
export function fail(site: string, message: string): never {
  throw new LlmTricksError(site, message);
}
