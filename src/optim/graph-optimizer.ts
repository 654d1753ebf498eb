/** What the Trainer needs of an optimizer: its update as graph ops. */
import type { Tensor } from '../trace/tensor.js';

/** The scalars a graph-form update reads at run time. */
export interface GraphStepInputs {
  /** The learning rate of this step: a float scalar graph input. */
  readonly lr: Tensor;
  /** The 1-based number of the step being taken: an int32 scalar graph input. */
  readonly step: Tensor;
}

/** Result of a graph-form update: new parameters and new state slots. */
export interface GraphUpdate {
  readonly params: Tensor[];
  readonly slots: Tensor[][];
}

/**
 * What the Trainer needs of an optimizer: its update written as graph ops
 * over traced tensors, so it runs inside the compiled step. Lion and AdamW
 * implement it (through {@link Optimizer}); a third-party optimizer plugs in
 * by implementing it too.
 */
export interface GraphOptimizer {
  /** Stored in checkpoints; a checkpoint loads only into the same optimizer. */
  readonly name: string;
  /** Names of the per-parameter state buffers, e.g. `['exp_avg']` (zeros before the first step). */
  readonly slots: readonly string[];
  /** The learning rate used when the Trainer has no schedule. */
  readonly lr: number;
  /**
   * The update of one step: for each parameter its new value and new state
   * slots, from its gradient (already clipped) and the step's `lr` and
   * 1-based `step` graph inputs.
   */
  graphUpdate(params: readonly Tensor[], grads: readonly Tensor[], slots: readonly (readonly Tensor[])[], inputs: GraphStepInputs): GraphUpdate;
}
