/**
 * The training step's contract by name: `buildStepGraph` returns a layout
 * that feeds and reads the graph, and the optimizer is anything that
 * implements `GraphOptimizer`.
 *
 * Proves:
 * - the layout names the state (parameters by their Hugging Face names,
 *   then `optimizer.<param>.<slot>` for each slot of AdamW), its shapes and
 *   dtypes equal the graph's first inputs, `stateOutputs` are the outputs
 *   after the loss, gradient norm and finiteness flag, and `feed`/`read` reject a wrong
 *   count or a non-finite scalar with an LlmTricksError naming StepLayout;
 * - with `update: false` the graph leaves the optimizer state out (its
 *   names stay in `slotNames`) and outputs the clipped gradients, one per
 *   parameter with its shape, which `read` returns as `grads`;
 * - a third-party optimizer (plain SGD written here in graph ops) trains a
 *   model through the Trainer: one step moves each parameter by −lr·g for
 *   the gradient g computed eagerly by `grad` on the same loss;
 * - the types: a model that is not a language model must be given a loss
 *   (a @ts-expect-error line that `npm run typecheck` compiles).
 */
import { describe, expect, it } from 'vitest';
import {
  AdamW, buildStepGraph, DecoderLM, grad, Linear, mean, Module, mul, sub, tensor, Trainer, type GraphOptimizer, type GraphStepInputs, type GraphUpdate, type Tensor,
} from '../../src/index.js';
import { languageModelLoss } from '../../src/index.js';

describe('StepLayout', () => {
  const model = new DecoderLM({ vocab: 16, dim: 8, layers: 1, heads: 2, kvHeads: 1, seed: 2 });
  const spec = { shape: [2, 4], dtype: 'int32' } as const;
  const { graph, layout } = buildStepGraph({ model, loss: languageModelLoss, optimizer: new AdamW(), batch: [spec, spec], accumulate: 2 });

  it('names the state, the batch and the outputs', () => {
    const names = model.namedParameters().map(([n]) => n);
    expect(layout.paramNames).toEqual(names);
    expect(layout.slotNames).toEqual(names.flatMap((n) => [`optimizer.${n}.exp_avg`, `optimizer.${n}.exp_avg_sq`]));
    expect(layout.state.map((s) => s.name)).toEqual([...names, ...layout.slotNames]);
    layout.state.forEach((s, i) => expect([s.name, s.dtype, s.shape]).toEqual([graph.inputs[i].name, graph.inputs[i].dtype, graph.inputs[i].shape]));
    expect(layout.batch.map((b) => b.shape)).toEqual([[2, 2, 4], [2, 2, 4]]);
    expect(layout.stateOutputs).toEqual(layout.state.map((_, i) => i + 3));
    expect(graph.outputs).toHaveLength(layout.state.length + 3);
    expect([graph.outputs[2].dtype, graph.outputs[2].shape]).toEqual(['float32', []]);
  });

  it('feeds in graph order and reads by meaning', () => {
    const state = layout.state.map((s) => s.name);
    const feeds = layout.feed({ state, batch: [tensor(1), tensor(2)], scalars: { lr: 0.5, step: 3, dropout: 0.1, seed: 7 } });
    expect(feeds.slice(0, state.length)).toEqual(state);
    const scalars = feeds.slice(state.length + 2) as Tensor[];
    expect(scalars.map((t) => [t.dtype, t.item()])).toEqual([['float32', 0.5], ['int32', 3], ['float32', Math.fround(0.1)], ['int32', 7]]);
    expect(graph.inputs.slice(state.length + 2).map((i) => [i.name, i.dtype])).toEqual([['lr', 'float32'], ['step', 'int32'], ['dropout', 'float32'], ['seed', 'int32']]);
    const read = layout.read(['loss', 'norm', 'finite', ...state]);
    expect([read.loss, read.gradNorm, read.finite, read.state, read.grads]).toEqual(['loss', 'norm', 'finite', state, []]);
  });

  it('without the update, leaves the optimizer state out and reads the clipped gradients', () => {
    const cut = buildStepGraph({ model, loss: languageModelLoss, optimizer: new AdamW(), batch: [spec, spec], maxGradNorm: 1, update: false });
    const names = model.namedParameters().map(([n]) => n);
    expect(cut.update).toBe(false);
    expect(cut.layout.slotNames).toEqual(layout.slotNames);
    expect(cut.layout.state.map((s) => s.name)).toEqual(names);
    expect(cut.graph.inputs.slice(0, names.length + 1).map((i) => i.name)).toEqual([...names, 'batch0']);
    expect(cut.layout.stateOutputs).toEqual([]);
    expect(cut.layout.gradOutputs).toEqual(names.map((_, i) => i + 3));
    cut.layout.state.forEach((s, i) => expect([cut.graph.outputs[i + 3].shape, cut.graph.outputs[i + 3].dtype]).toEqual([s.shape, s.dtype]));
    const read = cut.layout.read(['loss', 'norm', 'finite', ...names]);
    expect([read.state, read.grads]).toEqual([[], names]);
    expect(() => cut.layout.read(['loss', 'norm', 'finite', ...layout.state])).toThrow(/^StepLayout\.read: outputs expected \d+ \(loss, gradient norm, finite, gradients\)/);
    expect(() => buildStepGraph({ model, loss: languageModelLoss, optimizer: new AdamW(), batch: [spec, spec], update: 'no' as unknown as boolean })).toThrow(/^buildStepGraph: update expected true or false, got "no"/);
  });

  it('rejects a wrong count or a bad scalar, naming StepLayout', () => {
    const state = layout.state.map(() => 0);
    const scalars = { lr: 0.5, step: 3, dropout: 0.1, seed: 7 };
    expect(() => layout.feed({ state: state.slice(1), batch: [tensor(1), tensor(2)], scalars })).toThrow(/^StepLayout\.feed: state expected \d+ tensors \(parameters then optimizer slots\)/);
    expect(() => layout.feed({ state, batch: [tensor(1)], scalars })).toThrow(/^StepLayout\.feed: batch expected 2 tensors/);
    expect(() => layout.feed({ state, batch: [tensor(1), tensor(2)], scalars: { ...scalars, step: 1.5 } })).toThrow(/^StepLayout\.feed: scalars\.step expected a finite integer, got 1\.5/);
    expect(() => layout.feed({ state, batch: [tensor(1), tensor(2)], scalars: { ...scalars, lr: NaN } })).toThrow(/^StepLayout\.feed: scalars\.lr expected a finite number, got NaN/);
    expect(() => layout.read([1, 2])).toThrow(/^StepLayout\.read: outputs expected \d+ \(loss, gradient norm, finite, state\)/);
  });
});

/** Plain SGD in graph ops: a third-party optimizer needs nothing but this interface. */
class Sgd implements GraphOptimizer {
  readonly name = 'Sgd';
  readonly slots: readonly string[] = [];
  constructor(readonly lr: number) {}
  graphUpdate(params: readonly Tensor[], grads: readonly Tensor[], _slots: readonly (readonly Tensor[])[], { lr }: GraphStepInputs): GraphUpdate {
    return { params: params.map((p, i) => sub(p, mul(grads[i], lr))), slots: params.map(() => []) };
  }
}

class Reg extends Module {
  readonly lin = this.module('lin', new Linear(3, 1, { seed: 1 }));
  forward(x: Tensor): Tensor { return this.lin.forward(x); }
}

describe('a third-party GraphOptimizer', () => {
  it('trains through the Trainer: one step moves each parameter by -lr times the eager gradient', async () => {
    const model = new Reg();
    const loss = (m: Reg, [x, y]: readonly Tensor[]): Tensor => mean(mul(sub(m.forward(x), y), sub(m.forward(x), y)));
    const x = tensor(Array.from({ length: 12 }, (_, i) => (i % 5) / 4 - 0.5), { shape: [4, 3] });
    const y = tensor([[1], [0], [-1], [2]]);
    const before = model.parameters().map((p) => p.value);
    const eager = grad((...ps: Tensor[]) => model.withParameters(ps, () => loss(model, [x, y])))(...before);
    const trainer = await Trainer.create({ model, optimizer: new Sgd(0.25), loss, inputs: [{ shape: [4, 3] }, { shape: [4, 1] }], maxGradNorm: null });
    await trainer.step([x, y]);
    const after = [...(await trainer.snapshot()).params.values()];
    before.forEach((p, i) => {
      const want = (p.data() as Float32Array).map((v, j) => v - 0.25 * (eager[i].data() as Float32Array)[j]);
      Array.from(after[i].data() as Float32Array).forEach((v, j) => expect(v).toBeCloseTo(want[j], 6));
    });
  });

  it('is required to come with a loss when the model is not a language model (a type error)', async () => {
    const make = (): Promise<unknown> =>
      // @ts-expect-error Reg's forward returns a Tensor, not { logits }: the loss is required.
      Trainer.create({ model: new Reg(), optimizer: new Sgd(0.1), inputs: [{ shape: [4, 3] }, { shape: [4, 1] }] });
    // And at run time the default loss says why it cannot be used.
    await expect(make()).rejects.toThrow(/^languageModelLoss: model expected forward\(ids\) to return \{ logits \} \(give the Trainer a loss for other models\), got Tensor/);
  });
});
