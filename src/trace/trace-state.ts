import type { Node } from '../ir/graph.js';

/**
 * The trace being recorded. A stack, because tracing a composite's body
 * happens inside the trace of the function that calls it.
 */
export class TraceState {
  private nextId = 0;
  /** Eager tensors already lifted into this trace as constants. */
  readonly lifted: WeakMap<object, Node> = new WeakMap();

  /** A fresh node id (ids also order nodes topologically). */
  id(): number {
    return this.nextId++;
  }
}

const stack: TraceState[] = [];

/** The innermost active trace, if any. */
export function currentTrace(): TraceState | undefined {
  return stack[stack.length - 1];
}

/** Runs `fn` with `state` as the active trace. */
export function withTrace<T>(state: TraceState, fn: () => T): T {
  stack.push(state);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}
