/**
 * Type tests of the public API, checked by `npm run typecheck` (tsc over
 * test/, in CI): each `@ts-expect-error` line must be a type error, or tsc
 * fails with "Unused '@ts-expect-error' directive"; the other lines must
 * compile. Nothing here runs.
 *
 * Proves: each backend's `compile` takes its own options with its devices
 * as a union (ortNode: 'cpu' | 'cuda' | 'webgpu' with threads, strictDevice
 * and deviceId; ortWeb: 'wasm' | 'webgpu'; the reference backend: 'cpu'),
 * and `Trainer.create` and `TextGenerator.create` type `compile` by the backend
 * they are given.
 */
import { expectTypeOf } from 'vitest';
import { DecoderLM, TextGenerator, Lion, referenceBackend, trace, Trainer, type Executable } from '../../src/index.js';
import { ortNode, type OrtNodeCompileOptions } from '../../src/node.js';
import { ortWeb, type OrtWebCompileOptions } from '../../src/web.js';

declare const graph: ReturnType<typeof trace>;
const model = new DecoderLM({ vocab: 8, dim: 8, layers: 1, heads: 2 });
const optimizer = new Lion();

export function backendOptions(): void {
  expectTypeOf(ortNode.compile(graph, { device: 'cpu', intraOpNumThreads: 2, graphOptimizationLevel: 'all' })).toEqualTypeOf<Promise<Executable>>();
  void ortNode.compile(graph, { device: 'cuda', deviceId: 1 });
  void ortNode.compile(graph, { device: 'webgpu', strictDevice: true });
  // @ts-expect-error no device 'gpu' in onnxruntime-node
  void ortNode.compile(graph, { device: 'gpu' });
  // @ts-expect-error 'wasm' is onnxruntime-web's
  void ortNode.compile(graph, { device: 'wasm' });
  void ortWeb.compile(graph, { device: 'wasm' });
  // @ts-expect-error 'cuda' is onnxruntime-node's
  void ortWeb.compile(graph, { device: 'cuda' });
  void referenceBackend.compile(graph, { device: 'cpu' });
  // @ts-expect-error the reference backend has only 'cpu'
  void referenceBackend.compile(graph, { device: 'webgpu' });
  expectTypeOf<OrtNodeCompileOptions['device']>().toEqualTypeOf<'cpu' | 'cuda' | 'webgpu' | undefined>();
  expectTypeOf<OrtWebCompileOptions['device']>().toEqualTypeOf<'wasm' | 'webgpu' | undefined>();
}

export function trainerAndGeneratorOptions(): void {
  void Trainer.create({ model, optimizer, batchSize: 1, sequenceLength: 4, backend: ortNode, compile: { device: 'webgpu', strictDevice: true } });
  // @ts-expect-error compile is typed by the backend: ortNode has no 'wasm'
  void Trainer.create({ model, optimizer, batchSize: 1, sequenceLength: 4, backend: ortNode, compile: { device: 'wasm' } });
  void Trainer.create({ model, optimizer, batchSize: 1, sequenceLength: 4, backend: ortWeb, compile: { device: 'wasm' } });
  void TextGenerator.create(model, { backend: ortWeb, compile: { device: 'webgpu' } });
  // @ts-expect-error ortWeb has no 'cpu'
  void TextGenerator.create(model, { backend: ortWeb, compile: { device: 'cpu' } });
}
