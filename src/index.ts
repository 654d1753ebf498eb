/**
 * llm-tricks: transformer building blocks with their own reverse-mode
 * autodiff, for composing, training and running language models in
 * JavaScript.
 *
 * This core entry point is pure TypeScript: the Tensor API, tracing to the
 * IR, autodiff and the reference backend. Importing it loads no native binary
 * and no WebAssembly. ONNX Runtime backends live in `llm-tricks/node` and
 * `llm-tricks/web`.
 *
 * @packageDocumentation
 */

// Tensors
export { Tensor, tensor, scalar, full, zeros, ones, type NestedArray, type NestedValues, type TensorOptions } from './trace/tensor.js';
export { LlmTricksError } from './core/errors.js';
export { DTYPES, isFloat, type DType, type FloatDType, type TypedArray } from './core/dtype.js';
export type { Dim, Shape } from './core/shape.js';

// Ops, by family
export {
  neg, exp, log, sin, cos, sqrt, reciprocal, tanh, abs, sign, square,
  add, sub, mul, div, pow, maximum, minimum, less, greater, equal, where, cast, stopGradient,
} from './trace/ops/elementwise.js';
export type { TensorLike } from './trace/ops/args.js';
export { sum, max, argMax, mean, type ReduceOptions } from './trace/ops/reduce.js';
export { matmul } from './trace/ops/linalg.js';
export { reshape, transpose, swapAxes, expand, slice, sliceAxis, pad, concat, unsqueeze, squeeze } from './trace/ops/movement.js';
export { gather, scatterAdd } from './trace/ops/indexing.js';
export { iota } from './trace/ops/creation.js';
export { randomUniform, type RandomOptions } from './trace/ops/random.js';

// IR
export { PRIMITIVES, FAMILY, type Primitive, type PrimitiveAttrs, type Family } from './ir/primitives.js';
export { Graph, type Node, type InputNode, type PrimitiveNode, type CallNode, type FusedKernel } from './ir/graph.js';
export type { Composite, CustomVjp } from './trace/composite.js';
export { trace, type InputSpec, type TraceOutput } from './trace/trace.js';
export { composite } from './trace/composite.js';
export { callGraph } from './trace/replay.js';

// Autodiff
export { vjp, savedForBackward, type VjpOptions, type SavedForBackward } from './autodiff/vjp.js';
export { grad, valueAndGrad, type ValueAndGrad } from './autodiff/grad.js';
export { defineCustomVjp } from './autodiff/custom-vjp.js';

// Composites
export { softmax, logSoftmax, logSumExp } from './functional/softmax.js';
export { sigmoid, silu, swiglu } from './functional/activations.js';
export { rmsNorm, layerNorm } from './functional/rms-norm.js';
export { crossEntropy, type CrossEntropyOptions } from './functional/cross-entropy.js';

// Modules
export { Module, Parameter, type ModuleOptions, type ForwardContext } from './nn/module.js';
export { Linear, type LinearOptions } from './nn/linear.js';
export { Embedding, LearnedPositionEmbedding, type EmbeddingOptions } from './nn/embedding.js';
export { RmsNorm, LayerNorm, type RmsNormOptions, type LayerNormOptions } from './nn/norms.js';
export { SwiGlu, swigluHidden, type SwiGluOptions } from './nn/swiglu.js';
export { Dropout } from './nn/dropout.js';
export { RotaryEmbedding, ropeFrequencies, type RotaryOptions, type RopeScaling } from './nn/rotary-embedding.js';
export { AlibiBias, alibiSlopes, type AlibiOptions } from './nn/alibi-bias.js';
export { RelativePositionBias, type RelativePositionBiasOptions } from './nn/relative-position-bias.js';
export {
  MultiQueryAttention, type AttentionOptions, type AttentionCall, type AttentionResult, type KvCache, type PositionModule,
} from './nn/multi-query-attention.js';
export { TransformerBlock, type TransformerBlockOptions, type Mlp } from './nn/decoder-block.js';
export { DecoderLM, type DecoderLMConfig, type DecoderCall, type PositionKind } from './nn/decoder-lm.js';
export { expectLanguageModel, type LanguageModel, type LanguageModelCall, type CacheSlot } from './nn/language-model.js';
export { TextGenerator, Generator, type GenerateOptions, type Generation } from './run/generate.js';

// Optimizers and schedules (the standalone forms need nothing else from the library)
export { Lion, LION_DEFAULTS, LION_ARTICLE_PRESET, type LionOptions, type LionConfig } from './optim/lion.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWOptions, type AdamWConfig } from './optim/adamw.js';
export {
  Optimizer, type Floats, type GroupOptions, type ParamGroup, type StepOptions, type OptimizerState, type GraphStepInputs, type GraphUpdate,
  type GraphOptimizer,
} from './optim/optimizer.js';
export { clipGradNorm, clipGradNormGraph } from './optim/clip-grad.js';
export {
  constantSchedule, linearDecay, cosineDecay, withWarmup, linearWarmupDecay, cosineWithWarmup, constantWithWarmup,
  type Schedule, type DecayOptions, type WarmupScheduleOptions,
} from './optim/schedules.js';
export { EarlyDropoutScheduler, type EarlyDropoutOptions, type DropoutMode, type DropoutDecay } from './optim/early-dropout-scheduler.js';

// Backends
export type { Backend, Executable, CompileOptions, Feeds, DeviceTensor, OutputArrays } from './backends/backend.js';
export { referenceBackend, type ReferenceCompileOptions } from './run/reference-backend.js';

// Training
export {
  Trainer, languageModelLoss, nextTokenLoss, type NextTokenLossOptions, type TrainerOptions, type TrainerCommonOptions, type TrainerLoss, type StepInfo, type TrainerState,
} from './train/trainer.js';
export { buildStepGraph, type StepGraph, type StepGraphOptions, type StepLayout, type StepScalars, type StateSpec, type LossFn } from './train/step-graph.js';
export { fit, type FitOptions, type FitStep } from './train/fit.js';
export { ByteTokenizer, TokenBatches, splitTokens, type TokenBatchOptions } from './train/data.js';
export { encodeSafetensors, decodeSafetensors, type Safetensors } from './train/safetensors.js';
export { encodeCheckpoint, decodeCheckpoint, type Checkpoint } from './train/checkpoint.js';

// Hugging Face
export {
  fromPretrainedFiles, toPretrainedFiles, type Pretrained, type PretrainedFiles, type PretrainedOptions, type SavePretrainedOptions,
} from './hub/pretrained.js';
export { decoderConfigFromHf, type HfConfig, type HfConfigOptions } from './hub/hf-config.js';
export { PretrainedTokenizer } from './hub/tokenizer.js';
export type { TextTokenizer, EncodeOptions } from './core/tokenizer.js';
