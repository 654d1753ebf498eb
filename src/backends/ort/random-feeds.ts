import type { Tensor as OrtTensor } from 'onnxruntime-common';
import { allocateUniform } from '../../core/random-fill.js';
import type { Buffer } from '../../ir/evaluate.js';
import type { RandomInput } from '../onnx/lower.js';

/**
 * The random inputs of a model lowered with randomInputs: a run takes a set
 * of arrays (in the generator's WebAssembly memory), fills each with its
 * node's numbers for that run's seed and step, and gives the set back once
 * the run is over, so that runs in flight never share one.
 */
export class RandomFeeds {
  private readonly free: Float32Array[][] = [];
  constructor(private readonly tensor: (data: Float32Array, dims: readonly number[]) => OrtTensor, private readonly inputs: readonly RandomInput[]) {}

  /** Fills a free set for the inputs `read` gives and adds it to `feeds`; returns the set. */
  draw(feeds: Record<string, OrtTensor>, read: (input: number) => Buffer): Float32Array[] {
    const set = this.free.pop() ?? allocateUniform(this.inputs.map((r) => r.shape.reduce((a, d) => a * d, 1)));
    try {
      this.inputs.forEach((r, i) => {
        r.fill(set[i], read);
        feeds[r.name] = this.tensor(set[i], r.shape);
      });
    } catch (e) {
      this.give(set);
      throw e;
    }
    return set;
  }

  give(set: Float32Array[]): void {
    this.free.push(set);
  }

  /** Drops the free sets (an executable's dispose): their memories go with the last reference. */
  clear(): void {
    this.free.length = 0;
  }
}
