/**
 * `llm-tricks/web`: the entry point for ONNX Runtime Web (`wasm`, `webgpu`).
 * Until that backend lands it offers the pure-TypeScript reference backend,
 * which runs in any browser.
 *
 * @packageDocumentation
 */
export { referenceBackend } from './backends/reference/interpreter.js';
