/** Training progress for Node: a bar on a terminal, plain lines otherwise. */
import { fail, show } from '../core/errors.js';
import { checkOptions, optionKeys } from '../core/options.js';
import { SingleBar } from 'cli-progress';
import type { FitStep } from './fit.js';

/** Options of {@link progressReporter}. */
export interface ProgressOptions {
  /** The step the run ends at (for the bar and the ETA). */
  readonly total: number;
  /** Where to write (default process.stderr). */
  readonly stream?: NodeJS.WriteStream;
  /** Force the bar (true) or plain lines (false); default: a bar when the stream is a TTY. */
  readonly bar?: boolean;
  /** Plain mode: print every this many steps, and the last (default 10). */
  readonly every?: number;
}

/** A `fit` callback that reports step, loss, tokens/s, lr, dropout rate and the ETA; call `stop()` at the end. */
export interface ProgressReporter {
  (info: FitStep): void;
  stop(): void;
}

const fmt = (x: number, digits = 4): string => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(digits) : x.toExponential(2));

/** A progress reporter for `fit({ onStep })`. */
export function progressReporter(options: ProgressOptions): ProgressReporter {
  const site = 'progressReporter';
  if (options === undefined || options === null) fail(site, `options expected { total, stream?, bar?, every? }, got ${show(options)}`);
  checkOptions(site, options, optionKeys<ProgressOptions>({ total: true, stream: true, bar: true, every: true }));
  if (!Number.isInteger(options.total) || options.total < 1) fail(site, `total expected a positive integer, got ${show(options.total)}`);
  if (options.every !== undefined && (!Number.isInteger(options.every) || options.every < 1)) fail(site, `every expected a positive integer, got ${show(options.every)}`);
  const stream = options.stream ?? process.stderr;
  const useBar = options.bar ?? Boolean(stream.isTTY);
  const every = options.every ?? 10;
  const started = performance.now();
  let tokens = 0;
  let firstStep: number | undefined;
  const bar = useBar
    ? new SingleBar({
      stream,
      format: 'step {value}/{total} |{bar}| loss {loss} | {tps} tok/s | lr {lr} | dropout {dropout} | ETA {eta_formatted}',
      hideCursor: true,
    })
    : undefined;
  const report = ((info: FitStep): void => {
    firstStep ??= info.step - 1;
    tokens += info.tokens;
    const seconds = (performance.now() - started) / 1000;
    const fields = { loss: fmt(info.loss), tps: Math.round(tokens / Math.max(seconds, 1e-9)), lr: fmt(info.lr, 6), dropout: fmt(info.dropout, 3) };
    if (bar) {
      if (info.step - 1 === firstStep) bar.start(options.total, info.step, fields);
      else bar.update(info.step, fields);
      return;
    }
    if (info.step % every === 0 || info.step === options.total || info.heldOutLoss !== undefined) {
      const eta = ((options.total - info.step) * seconds) / Math.max(1, info.step - firstStep);
      const held = info.heldOutLoss !== undefined ? ` held-out ${fmt(info.heldOutLoss)}` : '';
      stream.write(`step ${info.step}/${options.total} loss ${fields.loss}${held} ${fields.tps} tok/s lr ${fields.lr} dropout ${fields.dropout} eta ${eta.toFixed(0)}s\n`);
    }
  }) as ProgressReporter;
  report.stop = () => bar?.stop();
  return report;
}
