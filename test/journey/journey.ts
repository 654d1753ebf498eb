/**
 * The training journey a user takes, as one function that runs on any
 * backend and device, in Node and in a browser page alike: train a small
 * DecoderLM for STEPS steps (dropout on, early or constant; gradient accumulation 2, gradient
 * clipping, a warmup schedule), checkpoint it after RESUME_AT steps, resume
 * that checkpoint in a fresh Trainer on the same device and train it to
 * STEPS again, then generate NEW_TOKENS tokens greedily from the trained
 * model. It returns every number the comparison needs, as plain arrays (so
 * a page can hand them to Node as JSON); test/train/journey.test.ts and
 * test/browser/journey.test.ts compare them across devices.
 *
 * Imports only the core entry: nothing here may need Node.
 */
import {
  ByteTokenizer, decodeCheckpoint, DecoderLM, EarlyDropoutScheduler, encodeCheckpoint, TextGenerator, Lion, AdamW, linearWarmupDecay, TokenBatches, Trainer,
  type Backend, type DecoderLMConfig, type Schedule, type TrainerState,
} from '../../src/index.js';
import type { OrtCompileOptions } from '../../src/web.js';

/** One configuration of the journey. */
export interface JourneyCase {
  readonly name: string;
  readonly model: DecoderLMConfig;
  readonly optimizer: 'Lion' | 'AdamW';
  /** Early dropout (DROPOUT falling to 0 by step EARLY_CUTOFF − 1, then the step graph without dropout) instead of a constant DROPOUT. */
  readonly earlyDropout?: boolean;
}

/**
 * Rope with multi-query attention, Lion and early dropout (the Trainer
 * switches to the step without dropout at step EARLY_CUTOFF − 1, before the
 * checkpoint, and the resumed Trainer on its first step); ALiBi with
 * grouped-query attention, AdamW and constant dropout.
 */
export const JOURNEY_CASES: readonly JourneyCase[] = [
  { name: 'rope, multi-query, Lion, early dropout', optimizer: 'Lion', earlyDropout: true, model: { vocab: 256, dim: 16, layers: 2, heads: 4, kvHeads: 1, position: 'rope', dropout: true, maxPositions: 64, seed: 11 } },
  { name: 'alibi, grouped-query, AdamW', optimizer: 'AdamW', model: { vocab: 256, dim: 16, layers: 2, heads: 4, kvHeads: 2, position: 'alibi', dropout: true, maxPositions: 64, seed: 12 } },
];

export const STEPS = 20;
export const RESUME_AT = 10;
export const BATCH = 2;
export const LENGTH = 16;
export const ACCUMULATE = 2;
export const DROPOUT = 0.1;
export const EARLY_CUTOFF = 6;
export const NEW_TOKENS = 16;
/**
 * Steps a trainer takes from another device's checkpoint after step
 * RESUME_AT (JourneyResult.forced): three, so that the momentum the first
 * writes moves a parameter the third's loss sees.
 */
export const FORCED_STEPS = 3;

/**
 * Whether a journey's straight run drifts from the baseline's (Lion on a
 * device whose results differ in the last bits), so that it is compared
 * by its forced steps (test/journey/compare.ts, expectLearnsAsBaseline).
 */
export const drifts = (deterministic: boolean, optimizer: 'Lion' | 'AdamW'): boolean => !deterministic && optimizer === 'Lion';
export const PROMPT = 'the lazy ';
/** Peak learning rates: high enough that 20 steps of this tiny model learn more than the most frequent byte. */
export const LR = { Lion: 1e-2, AdamW: 3e-2 } as const;

/** The learning rate by step of an optimizer's journey. */
export const scheduleOf = (optimizer: 'Lion' | 'AdamW'): Schedule => linearWarmupDecay({ peakLr: LR[optimizer], warmupSteps: 3, totalSteps: STEPS });
/** Lion's, for the bound on its sign flips. */
export const lionSchedule = (): Schedule => scheduleOf('Lion');

/** A pangram, repeated: in 20 steps the model learns enough of its bigrams that greedy decoding is not one byte over and over. */
const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(20);

/** Where a checkpoint goes between the two trainers: a file in Node, bytes in a page. */
export interface CheckpointStore {
  save(trainer: Trainer): Promise<void>;
  load(): Promise<TrainerState>;
}

/** A checkpoint kept as bytes in memory (encodeCheckpoint / decodeCheckpoint), as a page without a file system keeps it. */
export function memoryStore(): CheckpointStore {
  let bytes: Uint8Array | undefined;
  return {
    save: async (trainer) => { bytes = encodeCheckpoint(await trainer.snapshot()); },
    load: async () => decodeCheckpoint(bytes!),
  };
}

/** A run of steps: each step's loss and gradient norm, and the parameters after the last, by name. */
export interface RunRecord {
  readonly losses: number[];
  readonly gradNorms: number[];
  readonly params: Record<string, number[]>;
}

/** Everything one journey produced. */
export interface JourneyResult {
  readonly case: string;
  readonly device: string;
  /** Steps 1..STEPS in one trainer. */
  readonly straight: RunRecord;
  /** Steps RESUME_AT+1..STEPS in a fresh trainer resumed from the checkpoint written after step RESUME_AT. */
  readonly resumed: RunRecord;
  /**
   * Steps RESUME_AT+1..RESUME_AT+FORCED_STEPS in a fresh trainer on this
   * device resumed from a checkpoint after step RESUME_AT (runJourney's
   * `forcedFrom`: another device's, or this journey's own), when given:
   * two devices' steps from one state, where their straight runs have
   * drifted apart.
   */
  readonly forced?: RunRecord;
  /** Greedy tokens after PROMPT from the straight run's model. */
  readonly tokens: number[];
  readonly ms: { readonly straight: number; readonly resumed: number; readonly generate: number };
}

async function paramsOf(trainer: Trainer): Promise<Record<string, number[]>> {
  const { params } = await trainer.snapshot();
  return Object.fromEntries([...params].map(([name, t]) => [name, Array.from(t.data() as Float32Array)]));
}

/**
 * Runs the journey of `c` on `backend` with `compile` (the device among
 * them), and with `forcedFrom` (a store written by another journey, or
 * `store` itself) its forced steps.
 */
export async function runJourney(c: JourneyCase, backend: Backend<OrtCompileOptions> | undefined, compile: OrtCompileOptions, store: CheckpointStore, forcedFrom?: CheckpointStore): Promise<JourneyResult> {
  const tokenizer = new ByteTokenizer();
  const data = new TokenBatches(tokenizer.encode(TEXT), { batchSize: BATCH, length: LENGTH, seed: 5 });
  const make = (): Promise<Trainer<DecoderLM>> => Trainer.create({
    model: new DecoderLM(c.model),
    optimizer: c.optimizer === 'Lion' ? new Lion({ lr: LR.Lion, weightDecay: 0.1 }) : new AdamW({ lr: LR.AdamW, weightDecay: 0.1 }),
    schedule: scheduleOf(c.optimizer),
    dropout: c.earlyDropout ? new EarlyDropoutScheduler({ p: DROPOUT, totalSteps: STEPS, cutoffStep: EARLY_CUTOFF }) : DROPOUT, accumulate: ACCUMULATE, batchSize: BATCH, sequenceLength: LENGTH, seed: 7,
    ...(backend ? { backend } : {}), compile,
  });
  const steps = async (t: Trainer, from: number, to = STEPS): Promise<RunRecord> => {
    const losses: number[] = [];
    const gradNorms: number[] = [];
    for (let s = from; s < to; s++) {
      const info = await t.step(data.batches(s, ACCUMULATE));
      losses.push(info.loss);
      gradNorms.push(info.gradNorm);
      if (info.step === RESUME_AT) await store.save(t);
    }
    return { losses, gradNorms, params: await paramsOf(t) };
  };

  const t0 = performance.now();
  await using first = await make();
  const straight = await steps(first, 0);
  const t1 = performance.now();
  await using second = await make();
  await second.load(await store.load());
  const resumed = await steps(second, RESUME_AT);
  let forced: RunRecord | undefined;
  if (forcedFrom) {
    await using third = await make();
    await third.load(await forcedFrom.load());
    forced = await steps(third, RESUME_AT, RESUME_AT + FORCED_STEPS);
  }
  const t2 = performance.now();
  await using generator = await TextGenerator.create(await first.syncModel(), { ...(backend ? { backend } : {}), compile: 'strictDevice' in compile ? { ...compile, strictDevice: false } : compile });
  const { tokens } = await generator.generate(tokenizer.encode(PROMPT), { maxNewTokens: NEW_TOKENS });
  const t3 = performance.now();
  return { case: c.name, device: compile.device ?? 'cpu', straight, resumed, ...(forced ? { forced } : {}), tokens, ms: { straight: t1 - t0, resumed: t2 - t1, generate: t3 - t2 } };
}
