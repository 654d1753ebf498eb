import { optionKeys } from '../core/options.js';
import { fail } from '../core/errors.js';
import { matmul } from '../trace/ops/linalg.js';
import { gather } from '../trace/ops/indexing.js';
import { transpose } from '../trace/ops/movement.js';
import { formatShape } from '../core/shape.js';
import type { Tensor } from '../trace/tensor.js';
import { normalInit } from './init.js';
import { Module, moduleOptions, positiveInt, type ModuleOptions, type Parameter } from './module.js';
import { expectTensor } from '../trace/apply.js';

/** Options of the embedding tables. */
export interface EmbeddingOptions extends ModuleOptions {
  /** Std of the normal initialisation (default 0.02). */
  initStd?: number;
}

const EMBEDDING_KEYS = optionKeys<EmbeddingOptions>({ seed: true, dtype: true, initStd: true });

function checkIds(site: string, ids: Tensor, count: number): void {
  if (ids.dtype !== 'int32' && ids.dtype !== 'int64') fail(site, `ids expected an int32 or int64 tensor, got ${ids.dtype}${formatShape(ids.shape)}`);
  // gather would wrap a negative id to the end of the table; eager ids are checked here.
  if (!ids.isTraced) {
    const bad = Array.from(ids.data(), Number).find((i) => i < 0 || i >= count);
    if (bad !== undefined) fail(site, `ids expected in [0, ${count - 1}], got ${bad}`);
  }
}

/**
 * A lookup table of `count` learned vectors of width `dim`.
 * Shapes: ids (...) int32 -> (..., dim). With tied embeddings the same table
 * is the output head: {@link Embedding.attend} gives logits x Eᵀ.
 */
export class Embedding extends Module {
  readonly count: number;
  readonly dim: number;
  readonly weight: Parameter;

  constructor(count: number, dim: number, options: EmbeddingOptions = {}) {
    super();
    const site = this.constructor.name;
    this.count = positiveInt(site, 'count', count);
    this.dim = positiveInt(site, 'dim', dim);
    const { seed, dtype } = moduleOptions(site, options, EMBEDDING_KEYS);
    this.weight = this.parameter('weight', normalInit([count, dim], options?.initStd ?? 0.02, seed, dtype));
  }

  forward(ids: Tensor): Tensor {
    expectTensor(this.constructor.name, 'ids', ids);
    checkIds(this.constructor.name, ids, this.count);
    return gather(this.weight.value, ids, 0);
  }

  /** Logits against every row: (..., dim) -> (..., count). */
  attend(x: Tensor): Tensor {
    return matmul(x, transpose(this.weight.value));
  }
}

/**
 * Learned absolute positions (GPT-2, StarCoder): one vector per position
 * up to `maxPositions`, added to the token embeddings. The baseline the
 * article compares rotary and ALiBi against; it cannot go past maxPositions.
 * Shapes: positions (T) or (B, T) int32 -> (..., dim).
 */
export class LearnedPositionEmbedding extends Embedding {
  constructor(maxPositions: number, dim: number, options: EmbeddingOptions = {}) {
    super(maxPositions, dim, options);
  }
}
