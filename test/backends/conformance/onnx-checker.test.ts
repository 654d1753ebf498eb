/**
 * The models lowerGraph writes are valid ONNX by the reference checker:
 * Python's `onnx.checker.check_model(model, full_check=True)` (which also
 * runs strict shape and type inference) accepts a primitive mix with
 * symbolic and derived dims, a DecoderLM forward pass, its gradient graph,
 * a KV-cache decoding step and randomUniform graphs.
 *
 * Needs python3 with the onnx package (requirements-dev.txt). Without it
 * the checks skip locally, naming the reason, and fail in CI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  add, argMax, cast, concat, crossEntropy, DecoderLM, equal, exp, expand, gather, iota, less, matmul, max, mul, pad, randomUniform, reshape,
  scatterAdd, sign, slice, sum, tensor, trace, transpose, vjp, where, type Graph, type InputSpec,
} from '../../../src/index.js';
import { OnnxBuilder, valueInfo } from '../../../src/backends/onnx/builder.js';
import { lowerGraph } from '../../../src/node.js';
import { IN_CI, pythonPath, pythonUnavailable } from '../../setup/availability.js';

const python = pythonPath();

/** Why the onnx checker cannot run here, or null when it can. */

const model = new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 4, kvHeads: 2, hidden: 16, maxPositions: 16, seed: 1 });
const params: InputSpec[] = model.parameters().map((p, i) => ({ shape: p.value.shape, dtype: p.value.dtype, name: `p${i}` }));
const loss = trace((ids, targets, ...ps) => model.withParameters(ps, () => crossEntropy(model.forward(ids).logits, targets)), [
  { name: 'ids', shape: ['B', 'T'], dtype: 'int32' }, { name: 'targets', shape: ['B', 'T'], dtype: 'int32' }, ...params,
]);

const GRAPHS: Record<string, () => Graph> = {
  'a primitive mix with symbolic and derived dims': () => trace((x, y, idx, cond, past) => {
    const h = exp(add(mul(x, y), 1)); // [B, 3, 4]
    const g = gather(transpose(h, [0, 2, 1]), idx, 1); // [B, N, 3]
    const s = scatterAdd(h, idx, transpose(g, [0, 2, 1]), 2);
    const joined = concat([past, reshape(s, ['B', 12])], 0); // ['P+B', 12]
    const count = add(cast(iota(joined.shape[0], 'int32'), 'float32'), sum(joined, [1])); // ['P+B']
    const picked = where(cond, sign(x), cast(argMax(h, 1, { keepDims: true }), 'float32'));
    const padded = pad(slice(s, [0, 1, 0], ['B', 2, 4]), [0, 1, 2], ['B', 4, 6]);
    return [count, picked, padded, max(matmul(h, transpose(h, [0, 2, 1])), [-1]), equal(less(x, y), cond), expand(y, ['B', 3, 4])];
  }, [
    { name: 'x', shape: ['B', 3, 4] }, { name: 'y', shape: [3, 1] }, { name: 'idx', shape: ['N'], dtype: 'int64' },
    { name: 'cond', shape: ['B', 3, 4], dtype: 'bool' }, { name: 'past', shape: ['P', 12] },
  ]),
  'a DecoderLM forward pass': () => trace((ids, ...ps) => model.withParameters(ps, () => model.forward(ids).logits), [
    { name: 'ids', shape: ['B', 'T'], dtype: 'int32' }, ...params,
  ]),
  'the gradient graph of a DecoderLM crossEntropy loss': () => vjp(loss),
  "a KV-cache decoding step (key length 'P+T')": () => trace((ids, positions, key, value) => {
    const r = model.forward(ids, { cache: [{ key, value }], positions });
    return [r.logits, r.cache[0].key, r.cache[0].value];
  }, [
    { name: 'ids', shape: [1, 'T'], dtype: 'int32' }, { name: 'positions', shape: ['T'], dtype: 'int32' },
    { name: 'key', shape: [1, 2, 'P', 2] }, { name: 'value', shape: [1, 2, 'P', 2] },
  ]),
  'randomUniform of static and symbolic shapes': () => trace((seed, step, x) => [
    randomUniform(seed, step, [2, 3], { salt: 2 ** 32 - 1 }), mul(x, randomUniform(seed, step, x.shape)), randomUniform(seed, step, ['B', 2], { dtype: 'float64' }),
    randomUniform(seed, step, [3, 3], { bits: 16 }), randomUniform(seed, step, ['B', 5], { bits: 16 }),
  ], [{ name: 'seed', shape: [], dtype: 'int32' }, { name: 'step', shape: [], dtype: 'int32' }, { name: 'x', shape: ['B', 5] }]),
  'a graph whose outputs repeat an input and a constant': () => trace((x) => [x, x, tensor([1, 2], { dtype: 'int64' })], [{ name: 'x', shape: ['B'] }]),
};

const CHECK = `
import json, sys, onnx
out = {}
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        out[path] = 'ok'
    except Exception as e:
        out[path] = f'{type(e).__name__}: {e}'
print(json.dumps(out))
`;

const missing = pythonUnavailable(['onnx']);

describe('onnx.checker.check_model(full_check=True) accepts lowered models', () => {
  if (missing && !IN_CI) {
    it.skip(`skipped: ${missing}`, () => {});
    return;
  }
  it('has python3 with onnx', () => {
    expect(missing, 'the onnx checker is required in CI').toBeNull();
  });
  if (missing) return;

  const dir = mkdtempSync(join(tmpdir(), 'llm-tricks-onnx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const paths = Object.keys(GRAPHS).map((name, i) => {
    const path = join(dir, `model${i}.onnx`);
    writeFileSync(path, lowerGraph(GRAPHS[name](), { name: `check_${i}` }).bytes);
    return path;
  });
  // A model the checker must reject (a node reading a value nothing defines), so a silent checker cannot pass.
  const broken = join(dir, 'broken.onnx');
  const b = new OnnxBuilder();
  b.nodes.push({ opType: 'Add', input: ['x', 'undefined_value'], output: ['y'], name: 'n_add' });
  writeFileSync(broken, b.encode([valueInfo('x', 'float32', [2])], [valueInfo('y', 'float32', [2])], 'broken'));
  paths.push(broken);
  let results: Record<string, string> | undefined;
  const check = (): Record<string, string> => {
    if (!results) {
      const r = spawnSync(python, ['-c', CHECK, ...paths], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      results = JSON.parse(r.stdout) as Record<string, string>;
    }
    return results;
  };

  Object.keys(GRAPHS).forEach((name, i) => {
    it(name, () => {
      expect(check()[paths[i]]).toBe('ok');
    });
  });

  it('and rejects a broken model (the check is live)', () => {
    expect(check()[broken]).toMatch(/undefined_value/);
  });
});
