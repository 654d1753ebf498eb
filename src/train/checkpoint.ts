/**
 * Training checkpoints as safetensors: parameters under their Hugging Face
 * names, optimizer state under `optimizer.<param>.<slot>`, and the step,
 * seed, optimizer name and an optional config in the metadata.
 */
import { fail, show } from '../core/errors.js';
import type { Tensor } from '../trace/tensor.js';
import { decodeSafetensors, encodeSafetensors, type Safetensors } from './safetensors.js';
import type { TrainerState } from './trainer.js';

const FORMAT = 'llm-tricks.checkpoint';
const VERSION = '1';

/** A checkpoint's content: the trainer state and the config saved with it. */
export interface Checkpoint extends TrainerState {
  /** What was passed as `config` when saving (e.g. the model's config), or undefined. */
  readonly config: unknown;
}

/** Encodes a {@link TrainerState} (from `trainer.snapshot()`) and an optional JSON-able config. */
export function encodeCheckpoint(state: TrainerState, config?: unknown): Uint8Array {
  const site = 'encodeCheckpoint';
  if (typeof state !== 'object' || state === null || !(state.params instanceof Map) || !(state.slots instanceof Map)) fail(site, `state expected trainer.snapshot()'s result, got ${show(state)}`);
  // What decodeCheckpoint will demand, checked before writing: never a file that cannot be read back.
  if (!Number.isSafeInteger(state.step) || state.step < 0) fail(site, `state.step expected a non-negative integer, got ${show(state.step)}`);
  if (!Number.isSafeInteger(state.seed)) fail(site, `state.seed expected an integer, got ${show(state.seed)}`);
  if (typeof state.optimizer !== 'string' || state.optimizer === '') fail(site, `state.optimizer expected a name, got ${show(state.optimizer)}`);
  const tensors = new Map<string, Tensor>([...state.params, ...state.slots]);
  if (tensors.size !== state.params.size + state.slots.size) fail(site, 'state expected distinct parameter and optimizer state names, got a name in both');
  const metadata: Record<string, string> = { format: FORMAT, version: VERSION, step: String(state.step), seed: String(state.seed), optimizer: state.optimizer };
  if (config !== undefined) {
    let json: string | undefined;
    try {
      json = JSON.stringify(config);
    } catch (e) {
      fail(site, `config expected a JSON value, got one JSON cannot hold (${e instanceof Error ? e.message : String(e)})`);
    }
    if (json === undefined) fail(site, `config expected a JSON value, got ${typeof config}`);
    metadata.config = json;
  }
  return encodeSafetensors(tensors, metadata);
}

/** Decodes a checkpoint written by {@link encodeCheckpoint}; anything else is rejected with the reason. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  return checkpointFrom('decodeCheckpoint', decodeSafetensors(bytes, 'decodeCheckpoint'));
}

/** The checkpoint in decoded safetensors, with every check of {@link decodeCheckpoint}. */
export function checkpointFrom(site: string, { tensors, metadata }: Safetensors, file?: string): Checkpoint {
  const of = file === undefined ? '' : ` of '${file}'`;
  if (metadata.format !== FORMAT) fail(site, `metadata${of} format expected '${FORMAT}', got ${show(metadata.format)} (a plain safetensors file holds no training state)`);
  if (metadata.version !== VERSION) fail(site, `metadata${of} version expected '${VERSION}', got ${show(metadata.version)}`);
  const step = Number(metadata.step);
  const seed = Number(metadata.seed);
  if (!/^\d+$/.test(metadata.step ?? '') || !Number.isSafeInteger(step)) fail(site, `metadata${of} step expected a non-negative integer, got ${show(metadata.step)}`);
  if (!/^-?\d+$/.test(metadata.seed ?? '') || !Number.isSafeInteger(seed)) fail(site, `metadata${of} seed expected an integer, got ${show(metadata.seed)}`);
  if (!metadata.optimizer) fail(site, `metadata${of} optimizer expected a name, got none`);
  let config: unknown;
  if (metadata.config !== undefined) {
    try {
      config = JSON.parse(metadata.config);
    } catch {
      fail(site, `metadata${of} config expected JSON, got ${show(metadata.config.slice(0, 40))}`);
    }
  }
  const params = new Map<string, Tensor>();
  const slots = new Map<string, Tensor>();
  for (const [name, t] of tensors) (name.startsWith('optimizer.') ? slots : params).set(name, t);
  return { step, seed, optimizer: metadata.optimizer, params, slots, config };
}
