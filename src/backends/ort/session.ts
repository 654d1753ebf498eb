/**
 * What the Node and Web bindings of ONNX Runtime share: compiling an IR
 * graph to a session and running it with llm-tricks tensors. The two
 * packages have the same API (onnxruntime-common), so each binding passes
 * its module in; nothing here imports either package.
 */
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import type { Backend, CompileOptions, Executable, Feeds } from '../backend.js';
import { Graph } from '../../ir/graph.js';
import { fail, LlmTricksError, show } from '../../tensor/errors.js';
import { describe, type DType, type TypedArray } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { orderFeeds } from '../reference/interpreter.js';
import { lowerGraph } from '../onnx/lower.js';

/** The parts of an onnxruntime module a binding uses. */
export interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: OrtTensor.Type, data: TypedArray, dims: readonly number[]) => OrtTensor;
}

/** Options of an ONNX Runtime compile. */
export interface OrtCompileOptions extends CompileOptions {
  /** Threads for one op (default: ONNX Runtime's choice). */
  readonly intraOpNumThreads?: number;
  /** Graph optimisation level (default 'all'). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Fail at compile time if any op would fall back to the CPU instead of
   * running on the requested device (session.disable_cpu_ep_fallback).
   * Default false. Meaningless on the CPU itself.
   */
  readonly strictDevice?: boolean;
}

/** How a binding turns a device name into execution providers, and explains a failure. */
export interface DeviceTable {
  readonly devices: readonly string[];
  readonly defaultDevice: string;
  providers(device: string, options: OrtCompileOptions): InferenceSession.SessionOptions['executionProviders'];
  /** A message saying what to do when a session on `device` cannot be created. */
  explain(device: string, error: unknown): string;
}

const ORT_TYPE: Readonly<Record<DType, OrtTensor.Type>> = { float32: 'float32', float64: 'float64', int32: 'int32', int64: 'int64', bool: 'bool' };

/** Builds a Backend over one onnxruntime module and its device table. */
export function ortBackend(name: string, ort: OrtModule, table: DeviceTable): Backend {
  return {
    name,
    async compile(graph: Graph, options: OrtCompileOptions = {}): Promise<Executable> {
      const where = `${name}.compile`;
      if (!(graph instanceof Graph)) fail(where, `graph expected a Graph (from trace or vjp), got ${describe(graph)}`);
      const device = options?.device ?? table.defaultDevice;
      if (!table.devices.includes(device)) fail(where, `device expected one of ${table.devices.map((d) => `'${d}'`).join(', ')}, got ${show(device)}`);
      const model = lowerGraph(graph);
      const sessionOptions: InferenceSession.SessionOptions = {
        executionProviders: table.providers(device, options),
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
        ...(options.strictDevice && device !== 'cpu' && device !== 'wasm' ? { extra: { session: { disable_cpu_ep_fallback: '1' } } } : {}),
      };
      let session: InferenceSession;
      try {
        session = await ort.InferenceSession.create(model.bytes, sessionOptions);
      } catch (e) {
        throw new LlmTricksError(where, table.explain(device, e));
      }
      return {
        graph,
        async run(feeds: Feeds): Promise<Tensor[]> {
          const ordered = orderFeeds(`${name}.run`, graph, feeds);
          const ortFeeds: Record<string, OrtTensor> = {};
          ordered.forEach((t, i) => {
            ortFeeds[model.inputNames[i]] = new ort.Tensor(ORT_TYPE[t.dtype], t._data!, t.shape as readonly number[]);
          });
          const out = await session.run(ortFeeds);
          return model.outputNames.map((n, i) => {
            const o = out[n];
            const dtype = graph.outputs[i].dtype;
            return new Tensor(o.dims, dtype, o.data as TypedArray);
          });
        },
      };
    },
  };
}

/** The message of an unknown thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
