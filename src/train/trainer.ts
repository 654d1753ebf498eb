/**
 * The Trainer: one compiled step graph, one backend run per step, with
 * parameters and optimizer state kept on the backend's device between steps
 * (or, with the update on the host, in the optimizer's WebAssembly memory:
 * see host-update.ts).
 */
import { checkOptions } from '../core/options.js';
import type { Backend, CompileOptions, Executable, OutputArrays } from '../backends/backend.js';
import type { Graph } from '../ir/graph.js';
import { referenceBackend } from '../run/reference-backend.js';
import { trace, type InputSpec } from '../trace/trace.js';
import type { ForwardContext, Module } from '../nn/module.js';
import type { EarlyDropoutScheduler } from '../optim/early-dropout-scheduler.js';
import type { Schedule } from '../optim/schedules.js';
import { allocate, describe, isDType } from '../core/dtype.js';
import { fail, LlmTricksError, show } from '../core/errors.js';
import { formatShape, shapesEqual } from '../core/shape.js';
import { Tensor } from '../trace/tensor.js';
import { disposeHeld, readHeld, runHeld, type Held } from '../run/held.js';
import { checkBatch, FLOAT32_MAX, languageModelLoss, nextTokenReduction, staysZero } from './loss.js';
import { buildStepGraph, type GraphOptimizer, type LossFn, type StateSpec, type StepGraph } from './step-graph.js';
import { checkHostUpdate, defaultUpdateSite, HostUpdate } from './host-update.js';
import { TRAINER_KEYS, type StepInfo, type TrainerCommonOptions, type TrainerOptions, type TrainerState } from './trainer-options.js';

export { languageModelLoss, nextTokenLoss, type NextTokenLossOptions } from './loss.js';
export type { StepInfo, TrainerCommonOptions, TrainerLoss, TrainerOptions, TrainerState } from './trainer-options.js';


/**
 * Trains a model with one backend run per step.
 *
 * One caller at a time: `step`, `evaluate`, `snapshot`, `syncModel` and
 * `load` (and `saveCheckpoint`, which snapshots) queue on the trainer, so
 * calls made without awaiting the previous one run in the order they were
 * made, each after the previous one finished and seeing its result. A call
 * that fails leaves the state as it was and the queue goes on. `dispose()`
 * (or `await using`) releases the compiled sessions and device buffers
 * after the queued calls; any call after it is an LlmTricksError.
 *
 * @example
 * ```ts
 * import { DecoderLM, Lion, tensor, Trainer } from 'llm-tricks';
 *
 * const model = new DecoderLM({ vocab: 256, dim: 16, layers: 1, heads: 2 });
 * const trainer = await Trainer.create({ model, optimizer: new Lion({ lr: 3e-4 }), batchSize: 2, sequenceLength: 4 });
 * const ids = tensor([[1, 2, 3, 4], [5, 6, 7, 8]], { dtype: 'int32' });
 * const targets = tensor([[2, 3, 4, 5], [6, 7, 8, 9]], { dtype: 'int32' });
 * const info = await trainer.step([ids, targets]);
 * Number(info.step); // 1
 * ```
 */
export class Trainer<M extends Module = Module> {
  readonly model: M;
  readonly stepGraph: StepGraph;
  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }
  readonly seed: number;
  private steps = 0;
  /** The parameters and optimizer state (in the step graph's order); with the update on the host, the parameters only. */
  private state: Held[];
  /** With the update on the host: the parameters and optimizer state, the former as `state`. */
  private host: HostUpdate | undefined;
  private evaluator: Promise<Executable> | undefined;
  // The step compiled without dropout, once the rate stays 0 (early dropout after its cutoff, or no dropout at all).
  private dropFree: Promise<Executable> | undefined;
  /** The last queued call; the next one starts when it settles. */
  private queue: Promise<unknown> = Promise.resolve();
  private released: Promise<void> | undefined;

  private readonly optimizer: GraphOptimizer;
  private readonly schedule: Schedule | undefined;
  private readonly dropout: number | Schedule | EarlyDropoutScheduler;
  /** Compiles a graph on the trainer's backend with its compile options (and `extra`). */
  private readonly compileGraph: (graph: Graph, extra?: CompileOptions) => Promise<Executable>;
  // The loss bound to the model: M stays out of parameter positions, so a Trainer<DecoderLM> is a Trainer<Module>.
  private readonly lossOf: (batch: readonly Tensor[], ctx: ForwardContext) => Tensor;
  // With a next-token loss, the vocabulary the ids and targets must fall in (checked before each run), and its reduction.
  private readonly vocab: number | undefined;
  private readonly reduction: 'mean' | 'sum' | undefined;

  private constructor(
    options: TrainerCommonOptions<M, CompileOptions>, loss: LossFn<M>, compileGraph: (graph: Graph, extra?: CompileOptions) => Promise<Executable>,
    stepGraph: StepGraph, private readonly executable: Executable, private readonly batchSpecs: readonly InputSpec[],
    private readonly buildDropFree: () => StepGraph,
  ) {
    this.model = options.model;
    this.optimizer = options.optimizer;
    this.schedule = options.schedule;
    this.dropout = options.dropout ?? 0;
    this.compileGraph = compileGraph;
    this.lossOf = (batch, ctx) => loss(options.model, batch, ctx);
    const vocab = (options.model as { vocab?: unknown }).vocab;
    this.reduction = nextTokenReduction(loss);
    this.vocab = this.reduction && Number.isInteger(vocab) ? vocab as number : undefined;
    this.stepGraph = stepGraph;
    this.seed = options.seed ?? 0;
    // The state starts from the model's parameters and zeroed optimizer slots.
    const params = new Map(options.model.namedParameters().map(([name, p]) => [name, p.value]));
    const state = stepGraph.layout.state.map((spec) => params.get(spec.name) ?? new Tensor(spec.shape, spec.dtype, allocate(spec.dtype, spec.shape.reduce((a, d) => a * d, 1))));
    // Where float32 products overflow to Infinity as IEEE 754 says (on the CPU; WGSL lets a GPU give any value),
    // a finite norm bounds the gradients the host update reads.
    const ieee = !options.backend || options.backend === referenceBackend || options.backend.runsOnHost?.(options.compile) === true;
    this.host = stepGraph.update ? undefined : new HostUpdate(options.optimizer, stepGraph.layout.state, stepGraph.layout.slotNames, state, ieee);
    this.state = this.host?.params ?? state;
  }

  /** Where a step's gradients go: the host update's arrays, at the layout's gradient outputs (none without them). */
  private get gradsInto(): OutputArrays | undefined {
    const grads = this.host?.grads;
    if (!grads?.length) return undefined;
    const into: (typeof grads[number] | undefined)[] = [];
    this.stepGraph.layout.gradOutputs.forEach((o, i) => { into[o] = grads[i]; });
    return into;
  }

  /** Builds and compiles the step graph. */
  static async create<M extends Module, O extends CompileOptions = CompileOptions>(options: TrainerOptions<M, O>): Promise<Trainer<M>> {
    const site = 'Trainer';
    if (typeof options !== 'object' || options === null) fail(site, `options expected { model, optimizer, ... }, got ${describe(options)}`);
    checkOptions(site, options, TRAINER_KEYS);
    const { model, optimizer } = options;
    if (typeof model?.namedParameters !== 'function') fail(site, `model expected a Module, got ${describe(model)}`);
    if (typeof optimizer?.graphUpdate !== 'function' || !Array.isArray(optimizer.slots) || typeof optimizer.lr !== 'number') fail(site, `optimizer expected Lion, AdamW or a GraphOptimizer (name, slots, lr, graphUpdate), got ${describe(optimizer)}`);
    if (options.schedule !== undefined && typeof options.schedule !== 'function') fail(site, `schedule expected a function of the step, got ${describe(options.schedule)}`);
    const d = options.dropout;
    if (d !== undefined && !(typeof d === 'number' && d >= 0 && d < 1) && typeof d !== 'function' && typeof (d as { rate?: unknown } | null)?.rate !== 'function') {
      fail(site, `dropout expected a rate in [0, 1), a schedule or an EarlyDropoutScheduler, got ${show(d)}`);
    }
    if (options.backend !== undefined && typeof (options.backend as { compile?: unknown } | null)?.compile !== 'function') fail(site, `backend expected a Backend (ortNode, ortWeb, referenceBackend), got ${describe(options.backend)}`);
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed) || Math.abs(seed) > 2 ** 31 - 1) fail(site, `seed expected an int32, got ${show(seed)}`);
    const maxGradNorm = options.maxGradNorm === undefined ? 1 : options.maxGradNorm;
    if (maxGradNorm !== null && !(typeof maxGradNorm === 'number' && maxGradNorm > 0 && Number.isFinite(maxGradNorm))) fail(site, `maxGradNorm expected a finite number > 0 or null, got ${show(maxGradNorm)}`);
    let inputs = options.inputs;
    if (!inputs) {
      const { batchSize: B, sequenceLength: T } = options;
      if (!Number.isInteger(B) || B! < 1 || !Number.isInteger(T) || T! < 1) fail(site, `batchSize and sequenceLength expected positive integers (or give inputs), got ${show(B)} and ${show(T)}`);
      inputs = [{ name: 'ids', shape: [B!, T!], dtype: 'int32' }, { name: 'targets', shape: [B!, T!], dtype: 'int32' }];
    }
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.some((s) => !Array.isArray(s?.shape) || !s.shape.every((d: unknown) => Number.isSafeInteger(d) && (d as number) >= 0) || (s.dtype !== undefined && !isDType(s.dtype)))) {
      fail(site, `inputs expected specs { name?, shape, dtype? } with static shapes, got ${show(inputs)}`);
    }
    const given = (options as { readonly loss?: LossFn<M> }).loss;
    if (given !== undefined && typeof given !== 'function') fail(site, `loss expected a function (model, batch, ctx) => scalar, got ${describe(given)}`);
    const loss: LossFn<M> = given ?? languageModelLoss;
    const { backend, compile } = options;
    const paramSpecs = model.namedParameters().map(([name, p]) => ({ name, shape: p.value.shape, dtype: p.value.dtype }));
    const update = options.update === undefined ? defaultUpdateSite(optimizer, paramSpecs, backend?.runsOnHost?.(compile) === true) : options.update;
    if (update !== 'graph' && update !== 'host') fail(site, `update expected 'graph' or 'host', got ${show(update)}`);
    if (update === 'host') checkHostUpdate(optimizer, paramSpecs);
    model.train();
    const build = (dropout: boolean): StepGraph => buildStepGraph({ model, loss, optimizer, batch: inputs, accumulate: options.accumulate, maxGradNorm: maxGradNorm ?? undefined, dropout, update: update === 'graph' });
    // With no dropout at all, the first graph is already the one without it.
    const stepGraph = build(!staysZero(options.dropout ?? 0, 0));
    // Without a backend the options go to the reference backend, which checks them at run time.
    const compileGraph = (graph: Graph, extra: CompileOptions = {}): Promise<Executable> => (backend ?? (referenceBackend as Backend<CompileOptions>)).compile(graph, { ...compile, ...extra } as O);
    const executable = await compileGraph(stepGraph.graph, { residentOutputs: stepGraph.layout.stateOutputs });
    return new Trainer(options as TrainerCommonOptions<M, CompileOptions>, loss, compileGraph, stepGraph, executable, inputs, () => build(false));
  }

  /** The learning rate and dropout rate of the 0-based step `s`. */
  ratesAt(s: number): { lr: number; dropout: number } {
    const lr = this.schedule ? this.schedule(s) : this.optimizer.lr;
    const d = this.dropout;
    const dropout = typeof d === 'number' ? d : typeof d === 'function' ? d(s) : d.rate(s);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) fail('Trainer.step', `schedule expected a finite lr >= 0 at step ${s}, got ${show(lr)}`);
    // The graph takes lr as a float32 scalar: a larger number becomes Infinity there.
    if (!Number.isFinite(Math.fround(lr))) fail('Trainer.step', `schedule expected an lr a float32 holds (at most ${FLOAT32_MAX.toExponential(4)}) at step ${s}, got ${show(lr)}`);
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail('Trainer.step', `dropout expected a rate in [0, 1) at step ${s}, got ${show(dropout)}`);
    return { lr, dropout };
  }

  /**
   * Takes one step on `batch` (the micro-batch inputs; with `accumulate` K,
   * each with a leading axis of K). A non-finite loss or gradient norm
   * throws, naming the step, and leaves parameters and state as they were.
   */
  step(batch: readonly Tensor[]): Promise<StepInfo> {
    return this.serial('Trainer.step', () => this.stepNow(batch));
  }

  private async stepNow(batch: readonly Tensor[]): Promise<StepInfo> {
    checkBatch('Trainer.step', batch, this.batchSpecs, this.stepGraph.accumulate, this.vocab, this.reduction);
    const s = this.steps;
    const { lr, dropout } = this.ratesAt(s);
    const { layout } = this.stepGraph;
    const feeds = layout.feed({ state: this.state, batch, scalars: { lr, step: s + 1, dropout, seed: this.seed } });
    const out = await runHeld(await this.executableFor(s, dropout), feeds, this.gradsInto);
    const { loss: lossT, gradNorm: normT, finite: finiteT, state: next, grads } = layout.read(out);
    const loss = (lossT as Tensor).item();
    const gradNorm = (normT as Tensor).item();
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      next.forEach(disposeHeld);
      throw new LlmTricksError('Trainer.step', `expected a finite loss and gradient norm, got loss ${loss} and gradient norm ${gradNorm} at step ${s + 1}; training stopped, and the parameters and optimizer state are still those after step ${s}`);
    }
    // With the update on the host, it changes nothing unless every new value is finite. The graph takes lr as a
    // float32 scalar: so does the host, whatever the parameters' dtype.
    if (!Number.isFinite((finiteT as Tensor).item()) || (this.host && !this.host.apply(grads as Tensor[], Math.fround(lr), s + 1))) {
      next.forEach(disposeHeld);
      throw new LlmTricksError('Trainer.step', `expected finite parameters and optimizer state after step ${s + 1}, got non-finite values (learning rate ${lr}); training stopped, and the parameters and optimizer state are still those after step ${s}`);
    }
    if (!this.host) {
      this.state.forEach(disposeHeld);
      this.state = next;
    }
    this.steps = s + 1;
    return { step: s + 1, loss, gradNorm, lr, dropout, tokens: batch[0].size };
  }

  /**
   * The step's executable: the one compiled without dropout (built once, on
   * the first step from which the rate stays 0) or the one with it.
   */
  private async executableFor(s: number, rate: number): Promise<Executable> {
    // The first graph is already without dropout when there is none at all.
    if (!this.stepGraph.dropout || rate !== 0 || !staysZero(this.dropout, s)) return this.executable;
    this.dropFree ??= this.compileGraph(this.buildDropFree().graph, { residentOutputs: this.stepGraph.layout.stateOutputs });
    return this.dropFree.catch((e: unknown) => {
      this.dropFree = undefined; // a failed compile is not kept
      throw e;
    });
  }

  /** The mean loss on `batch` (one micro-batch, no dropout, no update), with the current parameters. */
  evaluate(batch: readonly Tensor[]): Promise<number> {
    return this.serial('Trainer.evaluate', () => this.evaluateNow(batch));
  }

  private async evaluateNow(batch: readonly Tensor[]): Promise<number> {
    checkBatch('Trainer.evaluate', batch, this.batchSpecs, 1, this.vocab, this.reduction);
    const model = this.model;
    const n = this.stepGraph.paramNames.length;
    this.evaluator ??= (async () => {
      const params = model.parameters().map((p) => p.value);
      const graph = trace((...args: Tensor[]) => {
        const wasTraining = model.training;
        model.eval();
        try {
          return model.withParameters(args.slice(0, n), () => this.lossOf(args.slice(n), {}));
        } finally {
          model.train(wasTraining);
        }
      }, [...params.map((p, i) => ({ name: this.stepGraph.paramNames[i], shape: p.shape, dtype: p.dtype })), ...this.batchSpecs]);
      return this.compileGraph(graph);
    })();
    // A failed compile is not kept: the next evaluate tries again.
    const exe = await this.evaluator.catch((e: unknown) => {
      this.evaluator = undefined;
      throw e;
    });
    const feeds = [...this.state.slice(0, n), ...batch];
    const out = await runHeld(exe, feeds);
    return (out[0] as Tensor).item();
  }

  /** A copy of the state for a checkpoint: step, seed, parameters and optimizer state by name. */
  snapshot(): Promise<TrainerState> {
    return this.serial('Trainer.snapshot', () => this.snapshotNow());
  }

  private async snapshotNow(): Promise<TrainerState> {
    // The device's reader queues GPU reads itself (onnxruntime-web hung on concurrent runs of one session).
    const host = this.host?.read();
    const values = host ? [...host.params, ...host.slots] : await Promise.all(this.state.map(readHeld));
    const { paramNames } = this.stepGraph.layout;
    const byName = this.stateSpecs().map((spec, i) => [spec.name, values[i]] as const);
    const isParam = new Set(paramNames);
    return {
      step: this.steps,
      seed: this.seed,
      optimizer: this.optimizer.name,
      params: new Map(byName.filter(([name]) => isParam.has(name))),
      slots: new Map(byName.filter(([name]) => !isParam.has(name))),
    };
  }

  /** Copies the trained parameters into the model (for generation, export or `stateDict`). */
  syncModel(): Promise<M> {
    return this.serial('Trainer.syncModel', async () => {
      const { params } = await this.snapshotNow();
      this.model.loadStateDict(params);
      return this.model;
    });
  }

  /**
   * Restores a snapshot (e.g. a loaded checkpoint). Every name, shape and
   * dtype is checked, and the optimizer and seed must match, before anything
   * changes. Queued like `step`: it takes effect after the calls made before it.
   */
  load(state: TrainerState): Promise<void> {
    return this.serial('Trainer.load', async () => this.loadNow(state));
  }

  private loadNow(state: TrainerState): void {
    const site = 'Trainer.load';
    if (typeof state !== 'object' || state === null || !(state.params instanceof Map) || !(state.slots instanceof Map)) fail(site, `state expected { step, seed, optimizer, params, slots } from snapshot() or a checkpoint, got ${describe(state)}`);
    if (state.optimizer !== this.optimizer.name) fail(site, `state expected optimizer ${this.optimizer.name}, got ${show(state.optimizer)}`);
    if (state.seed !== this.seed) fail(site, `state expected seed ${this.seed} (as this Trainer was created), got ${show(state.seed)}`);
    if (!Number.isInteger(state.step) || state.step < 0) fail(site, `step expected a non-negative integer, got ${show(state.step)}`);
    const { layout } = this.stepGraph;
    const isParam = new Set(layout.paramNames);
    const specs = this.stateSpecs();
    const names = new Set(specs.map((spec) => spec.name));
    const unexpected = [...state.params.keys(), ...state.slots.keys()].filter((k) => !names.has(k));
    if (unexpected.length) fail(site, `state expected only this model's tensors, got unexpected ${unexpected.slice(0, 3).join(', ')}`);
    const values = specs.map((like) => {
      const name = like.name;
      const t = isParam.has(name) ? state.params.get(name) : state.slots.get(name);
      if (!(t instanceof Tensor) || t.isTraced) fail(site, `'${name}' expected an eager Tensor, got ${describe(t)}`);
      if (t.dtype !== like.dtype || !shapesEqual(t.shape, like.shape)) fail(site, `'${name}' expected ${like.dtype}${formatShape(like.shape)}, got ${t.dtype}${formatShape(t.shape)}`);
      return t;
    });
    if (this.host) {
      this.host.write(values.slice(0, isParam.size), values.slice(isParam.size), state.step);
    } else {
      this.state.forEach(disposeHeld);
      this.state = values;
    }
    this.steps = state.step;
  }

  /** Name, shape and dtype of every parameter, then of every optimizer state tensor. */
  private stateSpecs(): readonly StateSpec[] {
    const { state } = this.stepGraph.layout;
    return this.host ? [...state, ...this.host.slotSpecs] : state;
  }

  /** True once {@link dispose} has been called. */
  get disposed(): boolean {
    return this.released !== undefined;
  }

  /**
   * Releases the compiled step (and evaluation) sessions and the device
   * buffers of the parameters and optimizer state, after the calls already
   * queued. Idempotent. Read what you need first (`snapshot`, `syncModel`).
   */
  dispose(): Promise<void> {
    this.released ??= this.queue.then(async () => {
      this.state.forEach(disposeHeld);
      this.state = [];
      this.host = undefined; // its WebAssembly memory goes with the last reference
      const evaluator = await this.evaluator?.catch(() => undefined);
      const dropFree = await this.dropFree?.catch(() => undefined);
      await Promise.all([this.executable.dispose(), evaluator?.dispose(), dropFree?.dispose()]);
    });
    return this.released;
  }

  /** `await using trainer = await Trainer.create(...)` disposes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** Runs `call` after every call queued before it; a disposed trainer refuses it. */
  private serial<T>(site: string, call: () => Promise<T>): Promise<T> {
    if (this.released) return Promise.reject(new LlmTricksError(site, 'expected a live Trainer, got one already disposed (dispose() was called)'));
    const next = this.queue.then(call);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
