/**
 * Junk arguments to every exported function of every entry point
 * (`llm-tricks`, `/node`, `/web`), async ones included, and to the methods
 * of compiled executables on each backend.
 *
 * Proves (fast-check over junk: wrong types, NaN, ±Infinity, negative and
 * zero sizes, null, nested arrays, wrong tensors): each call returns, or
 * throws (or rejects with) an LlmTricksError; never a TypeError, RangeError
 * or a raw error from a dependency; and each call an outside audit found
 * silently accepted or failing raw now throws an LlmTricksError naming it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as core from '../../src/index.js';
import * as node from '../../src/node.js';
import * as web from '../../src/web.js';
import { LlmTricksError, tensor, trace, add, zeros } from '../../src/index.js';

const junk = fc.constantFrom<unknown>(
  zeros([2, 3]), tensor([[1, 2, 300]], { dtype: 'int32' }), tensor([NaN, Infinity]), zeros([0]), tensor([true]),
  0, -1, 1, 2, 1.5, NaN, Infinity, -Infinity, 'a', 'float64', '', null, undefined, true, 1n,
  [], [0], [1, 2], [[1], [2, 3]], {}, { seed: 1.5 }, { dtype: 'int32' }, { shape: [-1] }, new Float32Array(2), new Int32Array(3), () => 1,
);

// What may not be called with junk: exports that are not functions of their arguments.
const SKIP = new Set([
  'progressReporter', // writes to stderr by design; its options are covered by the options test
]);

function functions(mod: Record<string, unknown>): [string, (...a: unknown[]) => unknown][] {
  return Object.entries(mod).filter(([name, v]) => typeof v === 'function' && /^[a-z]/.test(name) && !SKIP.has(name)) as [string, (...a: unknown[]) => unknown][];
}

const ALL = [...new Map([...functions(core), ...functions(node), ...functions(web)]).entries()];

async function outcome(fn: () => unknown): Promise<unknown> {
  try {
    const r = fn();
    if (r instanceof Promise) await Promise.race([r, new Promise((resolve) => setTimeout(resolve, 5000))]);
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('every exported function, junk arguments', () => {
  it('covers the entry points\' functions', () => {
    expect(ALL.map(([n]) => n)).toEqual(expect.arrayContaining(['tensor', 'grad', 'trace', 'vjp', 'crossEntropy', 'fit', 'saveCheckpoint', 'loadCheckpoint', 'exportOnnx', 'lowerGraph', 'decodeSafetensors']));
  });

  it.each(ALL)('%s returns or throws LlmTricksError', async (_name, fn) => {
    await fc.assert(fc.asyncProperty(fc.array(junk, { maxLength: 4 }), async (args) => {
      const e = await outcome(() => fn(...args));
      if (e !== undefined && !(e instanceof LlmTricksError)) throw e;
    }), { numRuns: 150 });
  }, 120_000);
});

describe('executables, junk feeds', () => {
  const g = trace((x) => add(x, 1), [{ shape: [2] }]);
  it.each([
    ['reference', () => core.referenceBackend.compile(g)],
    ['ort-node cpu', () => node.ortNode.compile(g, { device: 'cpu' })],
    ['ort-web wasm', () => web.ortWeb.compile(g, { device: 'wasm' })],
  ])('%s run and runResident return or throw LlmTricksError', async (_name, make) => {
    const exe = await make();
    await fc.assert(fc.asyncProperty(junk, async (feeds) => {
      for (const call of [() => exe.run(feeds as never), () => (exe.runResident ? exe.runResident(feeds as never) : undefined)]) {
        const e = await outcome(call);
        if (e !== undefined && !(e instanceof LlmTricksError)) throw e;
      }
    }), { numRuns: 100 });
    await exe.dispose();
  }, 60_000);
});

describe('calls an outside audit found silently accepted or raw', () => {
  const model = (): core.DecoderLM => new core.DecoderLM({ vocab: 8, dim: 4, layers: 1, heads: 2, maxPositions: 8 });
  const base = () => ({ model: model(), optimizer: new core.Lion(), batchSize: 1, sequenceLength: 4 });
  const bad = (v: unknown) => v as never;

  it.each([
    ['new Tensor([-2])', () => new core.Tensor([-2], 'float32'), /^Tensor: shape expected a list of non-negative integers or dimension names, got \[-2\]/],
    ['new Tensor([NaN])', () => new core.Tensor([NaN], 'float32'), /^Tensor: shape expected/],
    ['new Tensor dtype', () => new core.Tensor([1], bad('float16')), /^Tensor: dtype expected/],
    ['new Parameter(null)', () => new core.Parameter(bad(null)), /^Parameter: value expected an eager Tensor, got null/],
    ['new Graph(\'x\')', () => new core.Graph(bad('x'), bad(undefined)), /^Graph: inputs and outputs expected arrays of nodes/],
    ['rmsNorm eps Infinity', () => core.rmsNorm(zeros([2, 4]), zeros([4]), Infinity), /^rmsNorm: eps expected a finite number > 0, got Infinity/],
    ['layerNorm eps Infinity', () => core.layerNorm(zeros([2, 4]), zeros([4]), null, Infinity), /^layerNorm: eps expected a finite number > 0/],
    ['ropeFrequencies base Infinity', () => core.ropeFrequencies(8, Infinity), /^ropeFrequencies: base expected a finite number > 1, got Infinity/],
    ['composite with a non-function', () => core.composite('c', bad(1)), /^composite: forward expected a function, got number/],
    ['withParameters with a non-function', () => model().withParameters(model().parameters().map((p) => p.value), bad(1)), /^DecoderLM\.withParameters: fn expected a function/],
    ['zeros past what one array holds', () => zeros([2 ** 40]), /^allocate: size expected at most \d+ float32 elements \(16 GiB\), got 1099511627776/],
  ] as const)('%s', (_label, call, message) => {
    expect(call).toThrow(message);
  });

  it.each([
    ['Trainer.create schedule', () => core.Trainer.create({ ...base(), schedule: bad(0.1) }), /^Trainer: schedule expected a function of the step, got number 0\.1/],
    ['Trainer.create dropout', () => core.Trainer.create({ ...base(), dropout: bad(1.5) }), /^Trainer: dropout expected a rate in \[0, 1\), a schedule or an EarlyDropoutScheduler, got 1\.5/],
    ['Trainer.create backend', () => core.Trainer.create({ ...base(), backend: bad({}) }), /^Trainer: backend expected a Backend/],
    ['Trainer.create inputs', () => core.Trainer.create({ ...base(), inputs: bad([{ shape: [-1] }]) }), /^Trainer: inputs expected specs/],
    ['Trainer.create accumulate 2^33', () => core.Trainer.create({ ...base(), accumulate: 2 ** 33 }), /accumulate expected a positive integer up to 256, got 8589934592/],
    ['fit(\'a\')', () => core.fit(bad('a'), { steps: 1, batch: () => [] }), /^fit: trainer expected a Trainer, got "a"/],
    ['saveCheckpoint(p, {})', () => node.saveCheckpoint('x.safetensors', bad({})), /^saveCheckpoint: trainer expected a Trainer, got Object/],
    ['generate seed NaN', async () => (await core.TextGenerator.create(model())).generate([1], { maxNewTokens: 1, seed: NaN }), /^TextGenerator\.generate: seed expected an integer, got NaN/],
    ['generate seed 1.5', async () => (await core.TextGenerator.create(model())).generate([1], { maxNewTokens: 1, seed: 1.5 }), /seed expected an integer, got 1\.5/],
    ['generate stopToken \'x\'', async () => (await core.TextGenerator.create(model())).generate([1], { maxNewTokens: 1, stopToken: bad('x') }), /^TextGenerator\.generate: stopToken expected a token id in \[0, 7\], got "x"/],
  ] as const)('%s', async (_label, call, message) => {
    await expect((async () => call())()).rejects.toThrow(message);
  });
});

const NOT_PUBLIC = new Set(['dispose', 'parameter', 'module', 'check', 'update', 'resolve', 'windowAt', 'serial', 'executableFor', 'stepNow', 'evaluateNow', 'snapshotNow', 'generateNow', 'elementwise', 'finiteAfter', 'finiteAfterStep', 'checkArrays', 'updateAll']);

describe('methods of the stateful objects, junk arguments', () => {
  const decoder = (): core.DecoderLM => new core.DecoderLM({ vocab: 8, dim: 4, layers: 1, heads: 2, maxPositions: 8 });
  const methodsOf = (o: object): string[] => {
    const names = new Set<string>();
    for (let p = Object.getPrototypeOf(o); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const n of Object.getOwnPropertyNames(p)) if (n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(p, n)?.value === 'function' && !n.startsWith('_')) names.add(n);
    }
    return [...names];
  };

  it.each([
    ['Trainer', async () => core.Trainer.create({ model: decoder(), optimizer: new core.Lion(), batchSize: 1, sequenceLength: 4 })],
    ['TextGenerator', async () => core.TextGenerator.create(decoder())],
    ['DecoderLM', async () => decoder()],
    ['Lion', async () => new core.Lion()],
    ['AdamW', async () => new core.AdamW()],
    ['TokenBatches', async () => new core.TokenBatches(new Int32Array(64), { batchSize: 2, length: 4 })],
    ['ByteTokenizer', async () => new core.ByteTokenizer()],
    ['EarlyDropoutScheduler', async () => new core.EarlyDropoutScheduler({ p: 0.1, totalSteps: 10 })],
  ] as const)('every public method of %s returns or throws LlmTricksError', async (_name, make) => {
    const o = await make();
    // dispose would end the object for the calls after it (it takes no arguments); the rest are TypeScript's
    // protected and private methods, which JavaScript cannot hide but users cannot call from TypeScript.
    const methods = methodsOf(o).filter((n) => !NOT_PUBLIC.has(n));
    expect(methods.length).toBeGreaterThan(0);
    await fc.assert(fc.asyncProperty(fc.constantFrom(...methods), fc.array(junk, { maxLength: 3 }), async (name, args) => {
      const e = await outcome(() => (o as unknown as Record<string, (...a: unknown[]) => unknown>)[name](...args));
      if (e !== undefined && !(e instanceof LlmTricksError)) throw new Error(`${name}(${args.map((a) => typeof a).join(', ')}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }), { numRuns: 400 });
    await (o as { dispose?: () => unknown }).dispose?.();
  }, 120_000);
});
