/**
 * `llm-tricks/node`: ONNX Runtime for Node (onnxruntime-node, a peer
 * dependency): `ortNode` compiles graphs for the 'cpu', 'cuda' and 'webgpu'
 * devices; `saveCheckpoint` / `loadCheckpoint` write and read training
 * checkpoints; `loadPretrained` / `savePretrained` read and write Hugging
 * Face model directories; `progressReporter` shows training progress. The
 * pure-TypeScript reference backend is here too.
 *
 * @packageDocumentation
 */
export { ortNode, type OrtNodeCompileOptions } from './backends/ort-node/index.js';
export type { OrtCompileOptions } from './backends/ort/session.js';
export { lowerGraph, type LoweredModel, type LowerOptions, type RandomInput } from './backends/onnx/lower.js';
export { allocateUniform } from './core/random-fill.js';
export { FULL_CAPS, PORTABLE_CAPS, type LoweringCaps } from './backends/onnx/lower/types.js';
export { exportLanguageModel, exportDecoderLM, type ExportOptions, type ExportedModel } from './run/export.js';
export { exportOnnx, type ExportFileOptions } from './run/export-file.js';
export { referenceBackend } from './run/reference-backend.js';
export { saveCheckpoint, loadCheckpoint } from './train/checkpoint-file.js';
export { loadPretrained, savePretrained } from './hub/pretrained-dir.js';
export { exportTransformersJs, type TransformersJsOptions } from './hub/transformers-js.js';
export { progressReporter, type ProgressOptions, type ProgressReporter } from './train/progress.js';
