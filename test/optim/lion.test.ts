/**
 * Lion (src/optim/lion.ts) and the shared Optimizer machinery it uses.
 *
 * Proves:
 * - over random gradient sequences (zeros included), Float64Array params
 *   equal, exactly, a float64 transcription of the published rule
 *   (c = b1 m + (1-b1) g; p <- p (1 - lr wd); p <- p - lr sign(c);
 *   m <- b2 m + (1-b2) g), and the cautious variant equals a transcription
 *   of lion-pytorch (mask = update*grad > 0; scale = where(mask, 1, factor);
 *   scale /= max(mean(scale), 1e-5); update *= scale). Exact because the
 *   transcriptions use the same operation order in float64;
 * - every coordinate with c != 0 moves by exactly lr from p (1 - lr wd)
 *   (up to 2 float64 ulps); a zero gradient on fresh momentum, or a sign tie
 *   c == 0, only decays the coordinate; a zero gradient with momentum still moves;
 * - state holds one buffer per parameter (AdamW two): buffers[i].length and bytes;
 * - float32 `step` and `graphUpdate` traced and run on referenceBackend are
 *   bit-identical over several steps with state fed back, including
 *   cautious (factor 0 and 0.37), weight decay and lrScale groups;
 * - groups: weightDecay 0 leaves its params undecayed, lrScale scales the step;
 * - bad options/steps/loadState raise LlmTricksError naming Lion, with
 *   "expected" and "got", and leave params and state() untouched;
 * - resume: N steps == k steps, state(), new Lion().loadState, N-k steps (bit-identical);
 * - LION_DEFAULTS and LION_ARTICLE_PRESET hold the documented values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AdamW, Lion, LION_ARTICLE_PRESET, LION_DEFAULTS, referenceBackend, tensor, trace, type Floats, type LionConfig,
} from '../../src/index.js';
import { same, vec, expectLlmError } from '../helpers/optim.js';

interface Ref { lr: number; wd: number; b1: number; b2: number; factor?: number }

/** The published rule (and lion-pytorch's cautious scaling) in float64, in place. */
function lionReference(p: Float64Array, g: Float64Array, m: Float64Array, o: Ref): void {
  const update = Array.from(p, (_, i) => Math.sign(o.b1 * m[i] + (1 - o.b1) * g[i]));
  if (o.factor !== undefined) {
    const scale = update.map((u, i) => (u * g[i] > 0 ? 1 : o.factor!));
    const mean = Math.max(scale.reduce((a, b) => a + b, 0) / scale.length, 1e-5);
    scale.forEach((s, i) => { update[i] *= s / mean; });
  }
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - o.lr * o.wd;
    p[i] -= o.lr * update[i];
    m[i] = o.b2 * m[i] + (1 - o.b2) * g[i];
  }
}

/** Initial params and a sequence of gradients for 1-3 parameters of 1-6 elements. */
const problem = fc.tuple(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 6 }))
  .chain(([sizes, steps]) => fc.record({
    init: fc.tuple(...sizes.map(vec)),
    grads: fc.array(fc.tuple(...sizes.map(vec)), { minLength: steps, maxLength: steps }),
  }));
const hyper = fc.record({
  lr: fc.double({ min: 0, max: 0.1, noNaN: true }),
  wd: fc.double({ min: 0, max: 2, noNaN: true }),
  b1: fc.double({ min: 0, max: 0.999, noNaN: true }),
  b2: fc.double({ min: 0, max: 0.999, noNaN: true }),
});


describe('Lion: the published update rule', () => {
  it.each([false, true])('matches the float64 transcription over random gradient sequences (cautious: %s)', (cautious) => {
    fc.assert(fc.property(problem, hyper, fc.double({ min: 0, max: 1, noNaN: true }), ({ init, grads }, h, factor) => {
      const opt = new Lion({ lr: h.lr, weightDecay: h.wd, betas: [h.b1, h.b2], cautious, cautiousFactor: factor });
      const params = init.map((p) => p.slice());
      const ref = init.map((p) => p.slice());
      const moms = init.map((p) => new Float64Array(p.length));
      for (const g of grads) {
        opt.step(params, g);
        ref.forEach((p, i) => lionReference(p, g[i], moms[i], { ...h, factor: cautious ? factor : undefined }));
      }
      ref.forEach((p, i) => expect(same(params[i], p)).toBe(true));
      opt.state().buffers.forEach((b, i) => expect(same(b[0], moms[i])).toBe(true));
    }), { numRuns: 150 });
  });

  it('moves every coordinate with c != 0 by exactly lr after decay; c == 0 only decays', () => {
    fc.assert(fc.property(problem, hyper, ({ init, grads }, h) => {
      const opt = new Lion({ lr: h.lr, weightDecay: h.wd, betas: [h.b1, h.b2] });
      const params = init.map((p) => p.slice());
      for (const g of grads) {
        const m = opt.stepCount ? opt.state().buffers.map((b) => b[0]) : params.map((p) => new Float64Array(p.length));
        const before = params.map((p) => p.slice());
        opt.step(params, g);
        params.forEach((p, i) => p.forEach((pNew, j) => {
          const c = h.b1 * m[i][j] + (1 - h.b1) * g[i][j];
          const decayed = before[i][j] * (1 - h.lr * h.wd);
          if (c === 0) expect(pNew).toBe(decayed);
          else expect(Math.abs(Math.abs(pNew - decayed) - h.lr)).toBeLessThanOrEqual(2 * Number.EPSILON * (Math.abs(decayed) + h.lr));
        }));
      }
    }), { numRuns: 150 });
  });

  it('zero gradient on fresh momentum and a sign tie only decay; zero gradient with momentum moves', () => {
    const opt = new Lion({ lr: 0.1, weightDecay: 0.5, betas: [0.5, 0.5] });
    const p = Float64Array.from([1, 1, 1]);
    opt.step([p], [Float64Array.from([0, 2, 2])]); // m = [0, 1, 1]
    expect(Array.from(p)).toEqual([0.95, 0.95 - 0.1, 0.95 - 0.1]);
    const before = Array.from(p);
    opt.step([p], [Float64Array.from([0, -1, 0])]); // c = [0, 0.5 - 0.5 = 0 (tie), 0.5]
    expect(p[0]).toBe(before[0] * 0.95);
    expect(p[1]).toBe(before[1] * 0.95);
    expect(p[2]).toBe(before[2] * 0.95 - 0.1);
  });
});

describe('Lion: state', () => {
  it('holds one buffer per parameter, AdamW two', () => {
    const params = [new Float32Array(5), new Float32Array(3)];
    const grads = [new Float32Array(5).fill(1), new Float32Array(3).fill(-1)];
    const lion = new Lion();
    const adam = new AdamW();
    expect(lion.state().buffers).toEqual([]);
    lion.step(params, grads);
    adam.step(params.map((p) => p.slice()), grads);
    const bytes = (o: Lion | AdamW): number => o.state().buffers.flat().reduce((a, b) => a + b.byteLength, 0);
    expect(lion.state().buffers.map((b) => b.length)).toEqual([1, 1]);
    expect(adam.state().buffers.map((b) => b.length)).toEqual([2, 2]);
    expect(bytes(lion)).toBe(8 * 4);
    expect(bytes(adam)).toBe(2 * 8 * 4);
  });

  it('resumes bit-identically: N steps == k steps, state(), a new Lion loadState, N - k steps', () => {
    const config: LionConfig = { lr: 0.03, weightDecay: 0.2, cautious: true, groups: [{ params: [0], lrScale: 0.5 }] };
    const data = problem.filter(({ grads }) => grads.length >= 2);
    fc.assert(fc.property(data, fc.nat(), ({ init, grads }, kSeed) => {
      const k = kSeed % (grads.length + 1);
      const f32 = (a: Float64Array): Float32Array => Float32Array.from(a);
      const straight = init.map(f32);
      const resumed = init.map(f32);
      const one = new Lion(config);
      grads.forEach((g) => one.step(straight, g.map(f32)));
      const first = new Lion(config);
      grads.slice(0, k).forEach((g) => first.step(resumed, g.map(f32)));
      const second = new Lion(config);
      second.loadState(first.state());
      grads.slice(k).forEach((g) => second.step(resumed, g.map(f32)));
      straight.forEach((p, i) => expect(same(p, resumed[i])).toBe(true));
      expect(second.state()).toEqual(one.state());
    }), { numRuns: 60 });
  });
});

describe('Lion: graph form', () => {
  const configs: [string, LionConfig][] = [
    ['plain', { lr: 0.01 }],
    ['weight decay + lrScale group', { weightDecay: 0.8, groups: [{ params: [1], lrScale: 0.3, weightDecay: 0 }] }],
    ['cautious (factor 0)', { weightDecay: 0.1, cautious: true }],
    ['cautious (factor 0.37) + groups', { weightDecay: 0.1, cautious: true, cautiousFactor: 0.37, betas: [0.95, 0.98], groups: [{ params: [0], lrScale: 2 }] }],
  ];
  it.each(configs)('float32 step and graphUpdate on referenceBackend are bit-identical (%s)', async (_name, config) => {
    const sizes = [13, 4];
    const opt = new Lion(config);
    const spec = sizes.map((n) => ({ shape: [n] }));
    const graph = trace((lr, step, ...rest) => {
      const [p, g, m] = [rest.slice(0, 2), rest.slice(2, 4), rest.slice(4)];
      const u = opt.graphUpdate(p, g, m.map((x) => [x]), { lr, step });
      return [...u.params, ...u.slots.flat()];
    }, [{ shape: [] }, { shape: [], dtype: 'int32' }, ...spec, ...spec, ...spec]);
    const exe = await referenceBackend.compile(graph);
    const vecs = fc.tuple(...sizes.map((n) => fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a))));
    await fc.assert(fc.asyncProperty(vecs, fc.array(vecs, { minLength: 1, maxLength: 5 }), async (init, grads) => {
      const standalone = new Lion(config);
      const params = init.map((p) => p.slice());
      let gp: Floats[] = init.map((p) => p.slice());
      let gm: Floats[] = sizes.map((n) => new Float32Array(n));
      for (const [t, g] of grads.entries()) {
        const lr = 0.01 * (t + 1) + 1e-4;
        standalone.step(params, g, { lr });
        const out = await exe.run([tensor(lr), tensor(t + 1, { dtype: 'int32' }), ...gp.map((x) => tensor(x)), ...g.map((x) => tensor(x)), ...gm.map((x) => tensor(x))]);
        [gp, gm] = [out.slice(0, 2).map((o) => o.data() as Float32Array), out.slice(2).map((o) => o.data() as Float32Array)];
        params.forEach((p, i) => expect(same(p, gp[i]), `param ${i} after step ${t + 1}`).toBe(true));
        standalone.state().buffers.forEach((b, i) => expect(same(b[0], gm[i]), `momentum ${i}`).toBe(true));
      }
    }), { numRuns: 8 });
  });
});

describe('Lion: parameter groups and presets', () => {
  it('a weightDecay 0 group is not decayed while others are; lrScale scales the step', () => {
    const opt = new Lion({ lr: 0.1, weightDecay: 0.5, groups: [{ params: [1], weightDecay: 0 }, { params: [2], lrScale: 0.25 }] });
    const params = [Float64Array.from([2, -2]), Float64Array.from([2, -2]), Float64Array.from([2, -2])];
    opt.step(params, [Float64Array.from([0, 0]), Float64Array.from([0, 0]), Float64Array.from([1, -1])]);
    expect(Array.from(params[0])).toEqual([2 * 0.95, -2 * 0.95]);
    expect(Array.from(params[1])).toEqual([2, -2]);
    expect(Array.from(params[2])).toEqual([2 * (1 - 0.025 * 0.5) - 0.025, -2 * (1 - 0.025 * 0.5) + 0.025]);
    expect(opt.optionsFor(1).weightDecay).toBe(0);
    expect(opt.optionsFor(2).lrScale).toBe(0.25);
  });

  it('has the paper defaults and the article preset', () => {
    expect(LION_DEFAULTS).toEqual({ lr: 1e-4, betas: [0.9, 0.99], weightDecay: 0, cautious: false, cautiousFactor: 0 });
    expect(LION_ARTICLE_PRESET).toEqual({ lr: 5e-5, betas: [0.95, 0.98], weightDecay: 0.8 });
    expect(new Lion(LION_ARTICLE_PRESET).defaults).toEqual({ ...LION_DEFAULTS, ...LION_ARTICLE_PRESET });
  });
});

describe('Lion: bad input', () => {
  it.each([
    [{ lr: -1 }], [{ lr: NaN }], [{ lr: Infinity }], [{ betas: [1, 0.99] }], [{ betas: [0.9, -0.1] }], [{ betas: [NaN, 0.9] }],
    [{ betas: [0.9] }], [{ weightDecay: -0.1 }], [{ cautiousFactor: 1.5 }], [{ cautious: 'yes' }], [{ groups: 'all' }],
    [{ groups: [{ params: [0, 0] }] }], [{ groups: [{ params: [-1] }] }], [{ groups: [{ params: [0], lrScale: -1 }] }], [{ groups: [{ params: [0], weightDecay: NaN }] }],
  ])('the constructor rejects %j', (options) => {
    expectLlmError(() => new Lion(options as never), 'Lion');
  });

  const f = (n: number, v = 0.5): Float32Array => new Float32Array(n).fill(v);
  it.each<[string, (p: Float32Array[]) => [unknown, unknown, unknown?]]>([
    ['fewer grads than params', (p) => [p, [f(3)]]],
    ['a grad of the wrong length', (p) => [p, [f(3), f(3)]]],
    ['a grad of the wrong array type', (p) => [p, [f(3), new Float64Array(2)]]],
    ['params of the wrong type', (p) => [[p[0], [0, 0]], [f(3), f(2)]]],
    ['params not an array', () => [f(3), [f(3)]]],
    ['NaN in a grad', (p) => [p, [f(3), Float32Array.from([1, NaN])]]],
    ['Infinity in a grad', (p) => [p, [f(3), Float32Array.from([-Infinity, 1])]]],
    ['a negative lr', (p) => [p, [f(3), f(2)], { lr: -1 }]],
    ['a NaN lr', (p) => [p, [f(3), f(2)], { lr: NaN }]],
    ['fewer params than the state', (p) => [[p[0]], [f(3)]]],
    ['a param longer than the state', (p) => [[p[0], f(4)], [f(3), f(4)]]],
    ['a float64 param where the state is float32', (p) => [[p[0], new Float64Array(2)], [f(3), new Float64Array(2)]]],
  ])('step rejects %s and leaves params and state untouched', (_name, make) => {
    const opt = new Lion({ lr: 0.1, weightDecay: 0.1 });
    const params = [f(3, 1), f(2, -1)];
    opt.step(params, [f(3), f(2)]);
    const [before, state] = [params.map((p) => p.slice()), opt.state()];
    const [p, g, o] = make(params);
    expectLlmError(() => opt.step(p as Float32Array[], g as Float32Array[], o as never), 'Lion.step');
    expect(params).toEqual(before);
    expect(opt.state()).toEqual(state);
  });

  it('step rejects a group index beyond the params, touching nothing', () => {
    const opt = new Lion({ groups: [{ params: [2] }] });
    const params = [f(2, 1), f(2, 1)];
    expectLlmError(() => opt.step(params, [f(2), f(2)]), 'Lion.step');
    expect(params).toEqual([f(2, 1), f(2, 1)]);
    expect(opt.state()).toEqual({ name: 'Lion', step: 0, buffers: [] });
  });

  it.each([
    ['null', null], ['another optimizer\'s state', { name: 'AdamW', step: 1, buffers: [] }], ['a negative step', { name: 'Lion', step: -1, buffers: [] }],
    ['a fractional step', { name: 'Lion', step: 1.5, buffers: [] }], ['buffers not an array', { name: 'Lion', step: 1, buffers: {} }],
    ['two slots per parameter', { name: 'Lion', step: 1, buffers: [[f(3), f(3)]] }], ['a plain array buffer', { name: 'Lion', step: 1, buffers: [[[0, 0, 0]]] }],
  ])('loadState rejects %s and keeps the state', (_name, bad) => {
    const opt = new Lion();
    opt.step([f(3)], [f(3)]);
    const state = opt.state();
    expectLlmError(() => opt.loadState(bad as never), 'Lion.loadState');
    expect(opt.state()).toEqual(state);
  });

  it('a NaN option is reported as NaN', () => {
    expect(() => new Lion({ lr: NaN })).toThrow(/got NaN/);
  });

  it('defaults.betas is a copy: changing the caller\'s array later changes nothing', () => {
    const betas: [number, number] = [0.9, 0.99];
    const opt = new Lion({ betas });
    betas[0] = 5;
    expect(opt.defaults.betas[0]).toBe(0.9);
  });

  it('more params than the saved state is reported as a count mismatch', () => {
    const opt = new Lion();
    opt.step([f(2)], [f(2)]);
    expect(() => opt.step([f(2), f(3)], [f(2), f(3)])).toThrow(/expected 1 arrays as in the optimizer's state, got 2/);
  });

  it('a misspelt option is an error naming it, not silently ignored', () => {
    expect(() => new Lion({ weight_decay: 0.1 } as never)).toThrow(/^Lion: options expected only lr, betas, weightDecay, cautious, cautiousFactor, groups, got unknown 'weight_decay' \(did you mean 'weightDecay'\?\)$/);
    expect(() => new Lion({ groups: [{ params: [0], wd: 0 } as never] })).toThrow(/groups\[0\] expected only .*, got unknown 'wd'/);
  });
});
