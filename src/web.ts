/**
 * `llm-tricks/web`: ONNX Runtime Web (onnxruntime-web, a peer dependency):
 * `ortWeb` compiles graphs for the 'wasm' device (browsers and Node) and
 * 'webgpu' (browsers). The pure-TypeScript reference backend is here too.
 *
 * @packageDocumentation
 */
export { ortWeb, type OrtWebCompileOptions } from './backends/ort-web/index.js';
export type { OrtCompileOptions } from './backends/ort/session.js';
export { lowerGraph, type LoweredModel, type LowerOptions, type RandomInput } from './backends/onnx/lower.js';
export { allocateUniform } from './core/random-fill.js';
export { FULL_CAPS, PORTABLE_CAPS, type LoweringCaps } from './backends/onnx/lower/types.js';
export { exportLanguageModel, exportDecoderLM, type ExportOptions, type ExportedModel } from './run/export.js';
export { referenceBackend } from './run/reference-backend.js';
