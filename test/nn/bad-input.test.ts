/**
 * Bad input to the public classes: constructors and the methods users call
 * on instances.
 *
 * Proves (fast-check over junk arguments: wrong types, NaN, Infinity,
 * negative and zero sizes, wrong shapes and dtypes, out-of-range token ids):
 * - every exported class constructor either builds or throws an
 *   LlmTricksError (never a TypeError or RangeError from inside);
 * - each module's `forward`, the optimizers' `step`, the tokenizer, the
 *   token batcher and the schedulers either work or throw an LlmTricksError,
 *   and a throw leaves the instance's parameters (and an optimizer's state)
 *   exactly as they were.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as L from '../../src/index.js';
import { LlmTricksError, tensor, zeros, type Module, type Tensor } from '../../src/index.js';

const junk = fc.constantFrom<unknown>(
  zeros([2, 3]), zeros([1, 4, 8]), zeros([2, 4]), tensor([[1, 2, 300]], { dtype: 'int32' }), tensor([[-1, 0]], { dtype: 'int32' }), tensor([0.5]),
  tensor([NaN, Infinity]), zeros([], 'float64'), tensor([true]), zeros([0]),
  0, -1, 1, 2, 3, 4, 8, 1.5, NaN, Infinity, -Infinity, 'a', 'rope', 'float64', null, undefined, true, 1n,
  [], [0], [1, 2], {}, { seed: 1.5 }, { dtype: 'int32' }, { kvHeads: 3 }, { position: 'nope' }, { p: 2 }, new Float32Array(2), () => 1,
);

/** Runs `fn`; returns what it threw (undefined when it returned). Promises are awaited. */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (e) {
    return e;
  }
}

function expectOurs(e: unknown): void {
  if (e !== undefined && !(e instanceof LlmTricksError)) throw e;
}

// Classes built only through a static factory, abstract bases (Module, Optimizer: subclassed, never built), or internal to the runtime.
const INTERNAL = new Set(['Tensor', 'Graph', 'Parameter', 'LlmTricksError', 'Module', 'Optimizer', 'Trainer', 'TextGenerator', 'Generator']);
const CLASSES = Object.entries(L).filter(([name, v]) => typeof v === 'function' && /^[A-Z]/.test(name) && !INTERNAL.has(name)) as [string, new (...a: unknown[]) => unknown][];

describe('constructors', () => {
  it('cover the exported classes', () => {
    expect(CLASSES.map(([n]) => n)).toEqual(expect.arrayContaining(['Linear', 'DecoderLM', 'MultiQueryAttention', 'Lion', 'AdamW', 'TokenBatches', 'EarlyDropoutScheduler']));
  });

  it('build or throw LlmTricksError for any junk arguments', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...CLASSES), fc.array(junk, { maxLength: 4 }), async ([, C], args) => {
      expectOurs(await thrown(() => new C(...args)));
    }), { numRuns: 3000 });
  });
});

/** Small instances and the method to call on each with junk. */
function instances(): [string, Module, (m: Module, args: unknown[]) => unknown][] {
  const call = (m: Module, args: unknown[]): unknown => (m as unknown as { forward(...a: unknown[]): unknown }).forward(...args);
  return [
    ['Linear', new L.Linear(3, 2), call],
    ['Embedding', new L.Embedding(10, 4), call],
    ['RmsNorm', new L.RmsNorm(3), call],
    ['LayerNorm', new L.LayerNorm(3), call],
    ['SwiGlu', new L.SwiGlu(4), call],
    ['Dropout', new L.Dropout(), call],
    ['RotaryEmbedding', new L.RotaryEmbedding(4, { maxPositions: 16 }), call],
    ['AlibiBias', new L.AlibiBias(2), call],
    ['RelativePositionBias', new L.RelativePositionBias(2), call],
    ['MultiQueryAttention', new L.MultiQueryAttention(8, 2, { kvHeads: 1 }), call],
    ['DecoderLM', new L.DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, maxPositions: 8 }), call],
  ];
}

function snapshot(m: Module): Map<string, Tensor> {
  return new Map(m.stateDict());
}

describe('methods on instances', () => {
  it.each(instances())('%s.forward works or throws LlmTricksError, and a throw changes no parameter', async (_name, m, call) => {
    await fc.assert(fc.asyncProperty(fc.array(junk, { maxLength: 3 }), async (args) => {
      const before = snapshot(m);
      const e = await thrown(() => call(m, args));
      expectOurs(e);
      const after = snapshot(m);
      for (const [n, t] of before) expect(after.get(n), n).toBe(t);
    }), { numRuns: 400 });
  });

  it('optimizers: step with junk throws LlmTricksError and leaves params and state alone', async () => {
    for (const opt of [new L.Lion({ lr: 0.1 }), new L.AdamW({ lr: 0.1 })]) {
      const p = new Float32Array([1, 2]);
      opt.step([p], [new Float32Array([0.5, -0.5])]);
      await fc.assert(fc.asyncProperty(junk, junk, junk, async (a, b, c) => {
        const params = p.slice();
        const state = opt.state();
        const e = await thrown(() => opt.step(a as never, b as never, c as never));
        expectOurs(e);
        if (e !== undefined) {
          expect(p).toEqual(params);
          expect(opt.state()).toEqual(state);
        }
      }), { numRuns: 300 });
    }
  });

  it('tokenizer, batches and schedules work or throw LlmTricksError', async () => {
    const tok = new L.ByteTokenizer();
    const batches = new L.TokenBatches(Int32Array.from({ length: 100 }, (_, i) => i % 7), { batchSize: 2, length: 4 });
    const sched = new L.EarlyDropoutScheduler({ p: 0.1, totalSteps: 10 });
    const lr = L.linearWarmupDecay({ peakLr: 1, warmupSteps: 2, totalSteps: 10 });
    await fc.assert(fc.asyncProperty(junk, junk, async (a, b) => {
      for (const fn of [() => tok.encode(a as never), () => tok.decode(a as never), () => batches.batch(a as never), () => batches.batches(a as never, b as never),
        () => sched.rate(a as never), () => lr(a as never), () => L.splitTokens(a as never, b as never)]) {
        expectOurs(await thrown(fn));
      }
    }), { numRuns: 300 });
  });
});
