import type { Series } from './plot.js';
/** What a bench part measures and returns. */

/** Settings of a run: how big and how many times. */
export interface RunSettings {
  readonly mode: 'quick' | 'default' | 'full';
  readonly device: string;
  /** Where the PyTorch peers of the training steps run: 'cpu', or 'cuda' on a machine with an NVIDIA GPU. */
  readonly peerDevice: 'cpu' | 'cuda';
  /** The parts asked for with --only (absent: every part). */
  readonly only?: readonly string[];
  /** Whether this run replaces the committed report (docs/bench.md). */
  readonly writeDocs?: boolean;
  readonly warmup: number;
  readonly runs: number;
}

/** One measured case: an implementation of a task at a size. */
export interface Row {
  readonly part: string;
  /** The task and its size, e.g. 'step, 10M params'. */
  readonly task: string;
  /** Who ran it, e.g. 'llm-tricks Lion' or 'numpy 2.4 AdamW'. */
  readonly impl: string;
  /** Rows of one task and group are compared; the peer row is the yardstick. */
  readonly group: string;
  readonly isPeer: boolean;
  /** Every timed run in milliseconds (empty when the implementation was missing). */
  readonly ms: readonly number[];
  readonly median: number;
  /** Why there are no timings, if there are none. */
  readonly missing?: string;
  /** Extra measured facts (bytes of state, GFLOP/s, ...), shown in the report's table. */
  readonly extra?: Readonly<Record<string, number | string>>;
  /** Measured data kept in the JSON results but not tabled (curves, per-seed values). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** A line chart a part adds to the report. */
export interface Figure {
  /** File name part: img/bench-<part>-<name>.svg. */
  readonly name: string;
  readonly title: string;
  readonly x: string;
  readonly y: string;
  readonly series: readonly Series[];
}

/**
 * A check of what a part measured that its timings stand on (e.g. that the
 * timed training steps learn). A failing check is shown at the top of the
 * report and makes the bench exit non-zero once the report is written.
 */
export interface Check {
  readonly ok: boolean;
  /** One Markdown line of what was measured, e.g. 'Training steps on ort-web wasm learn: loss 5.545 at step 1 → ...'. */
  readonly line: string;
  /** When failing: the headline the bench prints, e.g. 'training steps do not learn: the timings are of broken steps'. */
  readonly warning?: string;
}

/** A part of the suite. */
export interface Part {
  readonly name: string;
  readonly title: string;
  /** What the part re-tests or compares, for the report. */
  readonly about: string;
  /** The cases this run will measure, for the progress bar. */
  count(settings: RunSettings): number;
  run(settings: RunSettings, report: (row: Row) => void): Promise<void>;
  /** Measured conclusions drawn from this part's rows, one Markdown line each. */
  summary?(rows: readonly Row[]): string[];
  /** Checks of this part's rows that its timings stand on; see {@link Check}. */
  checks?(rows: readonly Row[]): Check[];
  /** Line charts drawn from this part's rows; a part with figures gets no timing bar chart. */
  figures?(rows: readonly Row[]): Promise<Figure[]>;
}
