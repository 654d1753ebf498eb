/**
 * The one error type the library throws for bad input. Its message always
 * names where the problem is, what was expected and what arrived:
 * `matmul: inner dimensions expected equal, got 3 and 4`.
 */
export class LlmTricksError extends Error {
  /** The op, module or function that rejected the input. */
  readonly where: string;

  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'LlmTricksError';
    this.where = where;
  }
}

/** Throws an {@link LlmTricksError} naming `where`. */
export function fail(where: string, message: string): never {
  throw new LlmTricksError(where, message);
}
