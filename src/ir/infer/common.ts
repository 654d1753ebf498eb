import { fail, show } from '../../core/errors.js';
import { isFloat, type DType } from '../../core/dtype.js';
import { formatShape } from '../../core/shape.js';
import type { Meta } from './types.js';

/** Checks the input count. */
export function arity(site: string, inputs: readonly Meta[], n: number): void {
  if (inputs.length !== n) fail(site, `expected ${n} input${n === 1 ? '' : 's'}, got ${inputs.length}`);
}

/** Checks that an input is floating point. */
export function needFloat(site: string, arg: string, m: Meta): void {
  if (!isFloat(m.dtype)) fail(site, `${arg} expected a float32 or float64 tensor, got ${m.dtype}${formatShape(m.shape)}`);
}

/** Checks that an input has one of `dtypes`. */
export function needDType(site: string, arg: string, m: Meta, dtypes: readonly DType[]): void {
  if (!dtypes.includes(m.dtype)) fail(site, `${arg} expected dtype ${dtypes.join(' or ')}, got ${m.dtype}${formatShape(m.shape)}`);
}

/** Checks that two inputs share a dtype (no implicit promotion, as in ONNX). */
export function sameDType(site: string, a: Meta, b: Meta): void {
  if (a.dtype !== b.dtype) fail(site, `operands expected the same dtype, got ${a.dtype} and ${b.dtype} (cast one first)`);
}

/** Checks a list of axes: integers in [0, rank), unique, ascending. */
export function checkAxes(site: string, axes: readonly number[], rank: number): void {
  const ok = Array.isArray(axes) && axes.every((a, i) => Number.isInteger(a) && a >= 0 && a < rank && (i === 0 || a > axes[i - 1]));
  if (!ok) fail(site, `axes expected ascending unique integers in [0, ${rank - 1}], got ${show(axes)}`);
}

/** Checks that `list` has one integer entry per axis. */
export function checkIntList(site: string, arg: string, list: unknown, rank: number, min = 0): readonly number[] {
  if (!Array.isArray(list) || list.length !== rank || !list.every((v) => Number.isInteger(v) && v >= min)) {
    fail(site, `${arg} expected ${rank} integers >= ${min}, got ${show(list)}`);
  }
  return list as number[];
}
