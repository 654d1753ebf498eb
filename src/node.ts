/**
 * `llm-tricks/node`: the entry point for ONNX Runtime on Node
 * (onnxruntime-node: `cpu`, `cuda`, `webgpu`). Until that backend lands it
 * offers the pure-TypeScript reference backend, which runs anywhere.
 *
 * @packageDocumentation
 */
export { referenceBackend } from './backends/reference/interpreter.js';
