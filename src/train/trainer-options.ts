/** The Trainer's options and what it reports. */
import { optionKeys } from '../core/options.js';
import type { Backend, CompileOptions } from '../backends/backend.js';
import type { InputSpec } from '../trace/trace.js';
import type { LanguageModel } from '../nn/language-model.js';
import type { Module } from '../nn/module.js';
import type { EarlyDropoutScheduler } from '../optim/early-dropout-scheduler.js';
import type { Schedule } from '../optim/schedules.js';
import type { Tensor } from '../trace/tensor.js';
import type { GraphOptimizer, LossFn } from './step-graph.js';
import type { UpdateSite } from './host-update.js';

/**
 * The loss option: optional for a {@link LanguageModel} (default
 * `languageModelLoss` on `[ids, targets]`), required for any other model.
 */
export type TrainerLoss<M extends Module> = M extends LanguageModel
  ? { /** The loss of one micro-batch (default: `languageModelLoss`). */ readonly loss?: LossFn<M> }
  : { /** The loss of one micro-batch: required, since the model is not a language model. */ readonly loss: LossFn<M> };

/** Options of {@link Trainer.create}; `O` is the backend's compile options (e.g. `OrtNodeCompileOptions`). */
export type TrainerOptions<M extends Module, O extends CompileOptions = CompileOptions> = TrainerCommonOptions<M, O> & TrainerLoss<M>;

/** Options of {@link Trainer.create} other than the loss. */
export interface TrainerCommonOptions<M extends Module, O extends CompileOptions = CompileOptions> {
  readonly model: M;
  /** Lion, AdamW or any {@link GraphOptimizer} (their options, groups included, apply inside the graph). */
  readonly optimizer: GraphOptimizer;
  /** Inputs of one micro-batch; default two int32 [batchSize, sequenceLength] tensors (ids, targets). */
  readonly inputs?: readonly InputSpec[];
  /** Rows per micro-batch, for the default inputs. */
  readonly batchSize?: number;
  /** Tokens per row, for the default inputs. */
  readonly sequenceLength?: number;
  /** Micro-batches per step; their gradients are averaged (default 1). */
  readonly accumulate?: number;
  /** Learning rate by 0-based step (default: the optimizer's `lr` throughout). */
  readonly schedule?: Schedule;
  /** Dropout rate: a number, a schedule, or an {@link EarlyDropoutScheduler} (default 0). */
  readonly dropout?: number | Schedule | EarlyDropoutScheduler;
  /** Clip the global gradient norm to this; null turns clipping off (default 1). */
  readonly maxGradNorm?: number | null;
  /** Seed of the dropout masks (default 0). */
  readonly seed?: number;
  /** Default: the reference backend. */
  readonly backend?: Backend<O>;
  /** Passed to `backend.compile`, typed by it: the device and, for ONNX Runtime, threads, optimisation level, strictDevice. */
  readonly compile?: NoInfer<O>;
  /**
   * Where the optimizer's update runs: 'graph', inside the compiled step on
   * the backend's device, or 'host', after it on the CPU (Lion and AdamW
   * only), with the parameters and optimizer state in the optimizer's
   * WebAssembly memory, which the step reads without a copy (on the CPU of
   * this process; another device's step gets them, and returns the
   * gradients, through the host every step). Lion (not cautious) gives the
   * same bits at both, over float32 or float64 parameters, and runs on the
   * host by default where the backend runs on the CPU of this process
   * (onnxruntime-node's cpu device); else the default is 'graph'. Cautious
   * Lion and AdamW run on the host only when asked: there they compute as
   * their standalone `step` does (the cautious mean and AdamW's bias
   * corrections in float64, float32 in the graph), so their results at the
   * two sites differ in float32 rounding.
   */
  readonly update?: UpdateSite;
}

export const TRAINER_KEYS: readonly string[] = [...optionKeys<TrainerCommonOptions<Module>>({
  model: true, optimizer: true, inputs: true, batchSize: true, sequenceLength: true, accumulate: true, schedule: true, dropout: true,
  maxGradNorm: true, seed: true, backend: true, compile: true, update: true,
}), 'loss'];

/** What one step reports. */
export interface StepInfo {
  /** The 1-based number of the step just taken. */
  readonly step: number;
  /** Mean loss over the step's micro-batches, before the update. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  readonly lr: number;
  readonly dropout: number;
  /** Elements of the first batch input in this step (tokens, for a language model). */
  readonly tokens: number;
}

/** Everything a checkpoint holds; see `saveCheckpoint` in `llm-tricks/node`. */
export interface TrainerState {
  /** Steps taken. */
  readonly step: number;
  readonly seed: number;
  readonly optimizer: string;
  readonly params: ReadonlyMap<string, Tensor>;
  /** Optimizer state by `optimizer.<param>.<slot>`. */
  readonly slots: ReadonlyMap<string, Tensor>;
}
