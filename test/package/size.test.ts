/**
 * Size budgets: every src/ file stays readable in one sitting (hard cap 400
 * lines; the style's soft cap is 300), and src/ as a whole stays under a
 * total that is raised only on purpose.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src', import.meta.url));
const FILE_CAP = 400;
const TOTAL_CAP = 15_000;

/** Hand-written sources: generated/ holds protobuf code made by a tool, which is not read in a sitting. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'generated' ? [] : files(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

const counts = files(src).map((f) => ({ file: relative(src, f), lines: readFileSync(f, 'utf8').split('\n').length }));

describe('source size', () => {
  it(`every src file is at most ${FILE_CAP} lines`, () => {
    expect(counts.filter((c) => c.lines > FILE_CAP)).toEqual([]);
  });

  it(`src/ totals at most ${TOTAL_CAP} lines`, () => {
    const total = counts.reduce((s, c) => s + c.lines, 0);
    console.log(`src/: ${total} lines in ${counts.length} files`);
    expect(total).toBeLessThanOrEqual(TOTAL_CAP);
  });
});
