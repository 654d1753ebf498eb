/**
 * What the Node and Web bindings of ONNX Runtime share: compiling an IR
 * graph to a session and running it with llm-tricks tensors. The two
 * packages have the same API (onnxruntime-common), so each binding passes
 * its module in; nothing here imports either package.
 */
import { checkOptions } from '../../core/options.js';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { checkFeed, checkInto, intoTensor, orderFeeds, type Backend, type CompileOptions, type DeviceTensor, type Executable, type Feeds, type OutputArrays } from '../backend.js';
import { trace } from '../../trace/trace.js';
import { formatShape } from '../../core/shape.js';
import { expectGraph, type Graph } from '../../ir/graph.js';
import { fail, LlmTricksError, show } from '../../core/errors.js';
import { allocate, describe, DTYPE_INFO, type DType, type TypedArray } from '../../core/dtype.js';
import { Tensor, type EagerTensor } from '../../trace/tensor.js';
import { lowerGraph } from '../onnx/lower.js';
import { uniformKernelAvailable } from '../../core/random-fill.js';
import { RandomFeeds } from './random-feeds.js';
import type { Buffer } from '../../ir/evaluate.js';
import type { LoweringCaps } from '../onnx/lower/types.js';

/** The parts of an onnxruntime module a binding uses. */
export interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: OrtTensor.Type, data: TypedArray, dims: readonly number[]) => OrtTensor;
}

/** Options of an ONNX Runtime compile. */
export interface OrtCompileOptions extends CompileOptions {
  /** Threads for one op (default: ONNX Runtime's choice). */
  readonly intraOpNumThreads?: number;
  /**
   * Graph optimisation level (default 'all'; 'basic' for a graph with a
   * float64 value: ONNX Runtime's extended fusions break float64 graphs —
   * QuickGelu has only a float32 kernel, so a session of x·sigmoid(x) in
   * float64 fails to load, and FusedMatMul keeps its scale in float32).
   */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Fail at compile time if any op would fall back to the CPU instead of
   * running on the requested device (session.disable_cpu_ep_fallback).
   * Default false. Meaningless on the CPU itself.
   */
  readonly strictDevice?: boolean;
  /**
   * Whether the intra-op threads spin while they wait for work
   * (`session.intra_op.allow_spinning`; default true, ONNX Runtime's). Spinning
   * cuts the latency of back-to-back runs of one session, but sessions that
   * take turns (a generator beside a trainer, two models) each keep their
   * pool spinning against the others': pass false there.
   */
  readonly spinning?: boolean;
}

/**
 * What one device of a binding does, as measured on its runtime (not as
 * documented): the ONNX Runtime facts behind each field are tested in
 * test/backends/ort-devices.test.ts.
 */
export interface DeviceInfo {
  /**
   * Where `runResident` keeps its resident outputs between runs:
   * - 'gpu-buffer': on the device (`preferredOutputLocation`), fed back without a copy;
   * - 'cpu-pool': in reused CPU arrays passed to `session.run` as preallocated
   *   outputs, for a runtime that writes into them (onnxruntime-node's CPU);
   * - 'copied': in the fresh CPU arrays each run returns, for a runtime that
   *   ignores preallocated outputs (onnxruntime-web's wasm returns them
   *   unwritten) or copies its outputs back anyway (CUDA in onnxruntime-node).
   */
  readonly resident: 'gpu-buffer' | 'cpu-pool' | 'copied';
  /** The kernels the ONNX lowering may use on this device; it works around the rest. */
  readonly lowering: LoweringCaps;
  /** An accelerator, where `strictDevice` (no CPU fallback) applies. */
  readonly accelerator: boolean;
  /** Draw dropout's random numbers on the host and feed them (LowerOptions.randomInputs): faster on CPU and wasm, measured. */
  readonly hostRandom: boolean;
}

/** How a binding turns a device name into execution providers, and explains a failure. */
export interface DeviceTable<O extends OrtCompileOptions = OrtCompileOptions> {
  /** The binding's devices and what each does. */
  readonly devices: Readonly<Record<string, DeviceInfo>>;
  readonly defaultDevice: string;
  /** The binding's compile option names (any other is an error). */
  readonly options: readonly string[];
  providers(device: string, options: O): InferenceSession.SessionOptions['executionProviders'];
  /** A message saying what to do when a session on `device` cannot be created. */
  explain(device: string, error: unknown): string;
}


/**
 * Builds a Backend over one onnxruntime package and its device table. The
 * package (an optional peer dependency) loads on the first `compile`, so
 * importing the entry point works without it, and a missing one is an
 * LlmTricksError saying what to install.
 */
export function ortBackend<O extends OrtCompileOptions>(name: string, pkg: { readonly name: string; readonly install: string; load(): Promise<unknown> }, table: DeviceTable<O>): Backend<O> {
  let loading: Promise<OrtModule> | undefined;
  const load = (site: string): Promise<OrtModule> => (loading ??= pkg.load().then((m) => m as OrtModule, (e: unknown) => {
    loading = undefined; // installing it later and retrying works
    throw new LlmTricksError(site, `expected the ${pkg.name} package, got an error loading it (${messageOf(e)}); install it: ${pkg.install}`);
  }));
  return {
    name,
    // A device whose outputs go into reused CPU arrays is the CPU of this process.
    runsOnHost: (options?: O): boolean => Object.entries(table.devices).some(([d, info]) => d === (options?.device ?? table.defaultDevice) && info.resident === 'cpu-pool'),
    async compile(graph: Graph, options: O = {} as O): Promise<Executable> {
      const site = `${name}.compile`;
      expectGraph(site, graph);
      checkOptions(site, options, table.options, 'compile options');
      options ??= {} as O;
      const ort = await load(site);
      const device = options?.device ?? table.defaultDevice;
      const names = Object.keys(table.devices);
      if (typeof device !== 'string' || !Object.hasOwn(table.devices, device)) fail(site, `device expected one of ${names.map((d) => `'${d}'`).join(', ')}, got ${show(device)}`);
      const info = table.devices[device];
      checkSessionOptions(site, options);
      const resident = new Set(options.residentOutputs ?? []);
      for (const i of resident) {
        if (!Number.isInteger(i) || i < 0 || i >= graph.outputs.length) fail(site, `residentOutputs expected output indices below ${graph.outputs.length}, got ${show(i)}`);
      }
      // Without the SIMD kernel, drawing in JavaScript would be slower than in the graph.
      const model = lowerGraph(graph, { caps: info.lowering, randomInputs: info.hostRandom && uniformKernelAvailable() });
      const random = model.randomInputs.length ? new RandomFeeds((data, dims) => new ort.Tensor('float32', data, dims), model.randomInputs) : undefined;
      const sessionOptions: InferenceSession.SessionOptions = {
        executionProviders: table.providers(device, options),
        graphOptimizationLevel: options.graphOptimizationLevel ?? (hasFloat64(graph) ? 'basic' : 'all'),
        ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
        ...sessionExtra(options, info.accelerator),
        ...(info.resident === 'gpu-buffer' && resident.size
          ? { preferredOutputLocation: Object.fromEntries(model.outputNames.map((n, i) => [n, resident.has(i) ? 'gpu-buffer' : 'cpu'])) }
          : {}),
      };
      const session = await createSession(ort, table, site, device, model.bytes, sessionOptions);
      const toOrt = (t: EagerTensor): OrtTensor => new ort.Tensor(DTYPE_INFO[t.dtype].ort, t._data, t.shape as readonly number[]);
      const fromOrt = (o: OrtTensor, i: number): Tensor => new Tensor(o.dims, graph.outputs[i].dtype, o.data as TypedArray);
      const pools = new Map<number, OutputPool>();
      const reader = info.resident === 'gpu-buffer' ? new GpuReader(ort, table, device, sessionOptions) : undefined;
      const life = new Lifetime();
      return {
        graph,
        get disposed() {
          return life.disposed;
        },
        run: (feeds: Feeds) => life.use(`${name}.run`, async () => {
          const ordered = orderFeeds(`${name}.run`, graph, feeds);
          const ortFeeds: Record<string, OrtTensor> = {};
          ordered.forEach((t, i) => { ortFeeds[model.inputNames[i]] = toOrt(t); });
          const drawn = random?.draw(ortFeeds, (i) => ({ data: ordered[i]._data, shape: ordered[i].shape as readonly number[], dtype: ordered[i].dtype }));
          let out: InferenceSession.ReturnType;
          try {
            out = await session.run(ortFeeds);
          } finally {
            if (drawn) random!.give(drawn);
          }
          // Outputs compiled as resident stay on the GPU (preferredOutputLocation) even in a plain run: read back and freed.
          return Promise.all(model.outputNames.map(async (n, i) => {
            const o = out[n];
            if (o.location !== 'gpu-buffer') return fromOrt(o, i);
            try {
              if (!reader) fail(`${name}.run`, `expected output ${i} on the CPU, got one in ${o.location}`);
              return await reader.read(o, graph.outputs[i].dtype);
            } finally {
              o.dispose();
            }
          }));
        }),
        runResident: (feeds: readonly (Tensor | DeviceTensor)[], given?: OutputArrays) => life.use(`${name}.runResident`, async (): Promise<(Tensor | DeviceTensor)[]> => {
          const at = `${name}.runResident`;
          const into = checkInto(at, graph, given, resident);
          if (!Array.isArray(feeds) || feeds.length !== graph.inputs.length) fail(at, `feeds expected ${graph.inputs.length} tensors in input order, got ${describe(feeds)}`);
          const ortFeeds: Record<string, OrtTensor> = {};
          feeds.forEach((t, i) => {
            const spec = graph.inputs[i];
            if (t instanceof OrtDeviceTensor) {
              if (t.disposed) fail(at, `input '${spec.name}' expected a live DeviceTensor, got one already disposed`);
              if (t.ort !== ort) fail(at, `input '${spec.name}' expected a DeviceTensor of ${name}, got one of another backend`);
              if (t.dtype !== spec.dtype || t.shape.length !== spec.shape.length) fail(at, `input '${spec.name}' expected ${spec.dtype}${formatShape(spec.shape)}, got ${t.dtype}${formatShape(t.shape)}`);
              ortFeeds[model.inputNames[i]] = t.tensor;
            } else {
              ortFeeds[model.inputNames[i]] = toOrt(checkFeed(at, spec, t));
            }
          });
          const drawn = random?.draw(ortFeeds, (i) => hostValue(at, graph.inputs[i].name, feeds[i]));
          // Where the runtime writes into preallocated outputs, resident outputs of static shape go into reused arrays (no allocation per
          // run), and the outputs given `into` arrays into those (elsewhere they are copied there).
          const fetches: Record<string, OrtTensor | null> = {};
          const taken = new Map<number, [OutputPool, OrtTensor]>();
          model.outputNames.forEach((n, i) => {
            fetches[n] = null;
            const shape = graph.outputs[i].shape;
            if (into?.[i] && info.resident === 'cpu-pool') fetches[n] = new ort.Tensor(DTYPE_INFO[graph.outputs[i].dtype].ort, into[i], shape as number[]);
            if (!resident.has(i) || info.resident !== 'cpu-pool' || !shape.every((d) => typeof d === 'number')) return;
            let pool = pools.get(i);
            if (!pool) pools.set(i, pool = new OutputPool(() => new ort.Tensor(DTYPE_INFO[graph.outputs[i].dtype].ort, allocate(graph.outputs[i].dtype, shape.reduce<number>((a, d) => a * (d as number), 1)), shape as number[])));
            const t = pool.take();
            taken.set(i, [pool, t]);
            fetches[n] = t;
          });
          let out: InferenceSession.ReturnType;
          try {
            out = await session.run(ortFeeds, fetches as InferenceSession.FetchesType);
          } catch (e) {
            for (const [pool, t] of taken.values()) pool.give(t);
            throw e;
          } finally {
            if (drawn) random!.give(drawn);
          }
          return model.outputNames.map((n, i) => {
            if (into?.[i]) return intoTensor(into[i], graph.outputs[i].shape as number[], graph.outputs[i].dtype, info.resident === 'cpu-pool' ? undefined : out[n].data);
            if (!resident.has(i)) return fromOrt(out[n], i);
            // A pooled output was written into the array passed in fetches; ONNX Runtime returns its own tensor object.
            const [pool, t] = taken.get(i) ?? [undefined, out[n]];
            return life.track(new OrtDeviceTensor(ort, t, graph.outputs[i].dtype, pool, reader));
          });
        }),
        dispose: () => life.end(async () => {
          await reader?.dispose();
          await session.release();
          pools.clear();
          random?.clear();
        }),
      };
    },
  };
}

/**
 * What an executable holds and when it may be released: runs in flight,
 * and reads of the GPU buffers it returned, finish before `end` releases
 * anything; a call after `end` is an LlmTricksError; the GPU buffers it
 * returned are disposed with it (CPU outputs are plain arrays the garbage
 * collector frees: they are not held here, so dropping one leaks nothing).
 */
class Lifetime {
  disposed = false;
  private readonly running = new Set<Promise<unknown>>();
  private readonly outputs = new Set<OrtDeviceTensor>();
  private ended: Promise<void> | undefined;

  use<T>(site: string, run: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new LlmTricksError(site, 'expected a live executable, got one already disposed (dispose() was called)'));
    return this.hold(run());
  }

  /** Keeps `end` waiting until `p` settles. */
  hold<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = (): void => { this.running.delete(p); };
    p.then(done, done);
    return p;
  }

  track(t: OrtDeviceTensor): OrtDeviceTensor {
    if (t.tensor.location !== 'gpu-buffer') return t;
    this.outputs.add(t);
    t.life = this;
    return t;
  }

  forget(t: OrtDeviceTensor): void {
    this.outputs.delete(t);
  }

  end(release: () => Promise<void>): Promise<void> {
    this.disposed = true;
    this.ended ??= (async () => {
      await Promise.allSettled([...this.running]);
      for (const t of [...this.outputs]) t.dispose();
      await release();
    })();
    return this.ended;
  }
}

/** Whether any value of the graph (inputs, nodes, called bodies' outputs) is float64. */
function hasFloat64(graph: Graph): boolean {
  return graph.nodes.some((n) => n.dtype === 'float64' || (n.kind === 'call' && hasFloat64(n.body)));
}

async function createSession(ort: OrtModule, table: DeviceTable, site: string, device: string, bytes: Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (e) {
    throw new LlmTricksError(site, table.explain(device, e));
  }
}

/** A scalar fed to runResident, on the host: a Tensor, or a DeviceTensor kept in CPU memory. */
function hostValue(site: string, name: string, t: Tensor | DeviceTensor): Buffer {
  if (t instanceof OrtDeviceTensor && t.tensor.location === 'cpu') return { data: t.tensor.data as TypedArray, shape: t.shape, dtype: t.dtype };
  if (t instanceof Tensor && t._data) return { data: t._data, shape: t.shape as readonly number[], dtype: t.dtype };
  return fail(site, `input '${name}' expected a tensor in CPU memory (the random numbers of this run are drawn from it on the host), got ${describe(t)}`);
}

/** Reusable output arrays of one output: a run takes a free one, dispose gives it back. */
class OutputPool {
  private readonly free: OrtTensor[] = [];
  constructor(private readonly make: () => OrtTensor) {}
  take(): OrtTensor { return this.free.pop() ?? this.make(); }
  give(t: OrtTensor): void { this.free.push(t); }
}

/**
 * Copies WebGPU buffers back to the CPU through an Identity session whose
 * output lives on the CPU: in the Node binding, `getData()` on a GPU tensor
 * aborts the process, so it is never called.
 */
class GpuReader {
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  constructor(private readonly ort: OrtModule, private readonly table: DeviceTable, private readonly device: string, private readonly options: InferenceSession.SessionOptions) {}

  private queue: Promise<unknown> = Promise.resolve();

  /** Reads one tensor; reads run one after another (onnxruntime-web hung on concurrent runs of one session). */
  read(t: OrtTensor, dtype: DType): Promise<Tensor> {
    const next = this.queue.then(() => this.readNow(t, dtype));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Releases the read-back sessions after the reads queued so far. */
  async dispose(): Promise<void> {
    await this.queue;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of await Promise.allSettled(sessions)) if (s.status === 'fulfilled') await s.value.release();
  }

  private async readNow(t: OrtTensor, dtype: DType): Promise<Tensor> {
    const key = `${dtype}/${t.dims.length}`;
    let session = this.sessions.get(key);
    if (!session) {
      const g = trace((x) => x, [{ shape: t.dims.map((_, i) => `d${i}`), dtype }]);
      const { bytes } = lowerGraph(g);
      const { preferredOutputLocation: _, extra: __, ...rest } = this.options;
      this.sessions.set(key, session = createSession(this.ort, this.table, 'DeviceTensor.read', this.device, bytes, { ...rest, preferredOutputLocation: 'cpu' }));
    }
    const s = await session;
    const out = await s.run({ [s.inputNames[0]]: t });
    const o = out[s.outputNames[0]];
    return new Tensor(o.dims, dtype, o.data as TypedArray);
  }
}

/** A resident output of an ONNX Runtime run: a GPU buffer, or a pooled CPU array. */
class OrtDeviceTensor implements DeviceTensor {
  disposed = false;
  /** The executable's lifetime, for a GPU buffer: reads hold off its release, and it disposes the buffer with it. */
  life: Lifetime | undefined;
  readonly shape: readonly number[];
  constructor(readonly ort: OrtModule, readonly tensor: OrtTensor, readonly dtype: DType, private readonly pool: OutputPool | undefined, private readonly reader: GpuReader | undefined) {
    this.shape = tensor.dims;
  }

  async read(): Promise<Tensor> {
    if (this.disposed) fail('DeviceTensor.read', 'expected a live DeviceTensor, got one already disposed (by dispose(), or with the executable that made it)');
    if (this.life?.disposed) fail('DeviceTensor.read', 'expected a tensor of a live executable, got one whose executable was disposed');
    if (this.tensor.location === 'gpu-buffer') {
      if (!this.reader) fail('DeviceTensor.read', `expected a readable device tensor, got one in ${this.tensor.location}`);
      const read = this.reader.read(this.tensor, this.dtype);
      return this.life ? this.life.hold(read) : read;
    }
    return new Tensor(this.tensor.dims, this.dtype, (this.tensor.data as TypedArray).slice());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.life?.forget(this);
    if (this.pool) this.pool.give(this.tensor);
    else if (this.tensor.location === 'gpu-buffer') this.tensor.dispose();
  }
}

/** The message of an unknown thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The session config entries the options ask for: CPU fallback off (strictDevice on an accelerator), spinning off. */
function sessionExtra(options: OrtCompileOptions, accelerator: boolean): Pick<InferenceSession.SessionOptions, 'extra'> {
  const session: Record<string, unknown> = {};
  if (options.strictDevice && accelerator) session.disable_cpu_ep_fallback = '1';
  if (options.spinning === false) session.intra_op = { allow_spinning: '0' };
  return Object.keys(session).length ? { extra: { session } } : {};
}

/** The session options' values, checked before ONNX Runtime sees them. */
function checkSessionOptions(site: string, o: OrtCompileOptions): void {
  for (const key of ['strictDevice', 'spinning'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') fail(site, `${key} expected true or false, got ${show(o[key])}`);
  }
  if (o.intraOpNumThreads !== undefined && !(Number.isInteger(o.intraOpNumThreads) && o.intraOpNumThreads >= 1)) fail(site, `intraOpNumThreads expected a positive integer, got ${show(o.intraOpNumThreads)}`);
  const levels = ['disabled', 'basic', 'extended', 'all'];
  if (o.graphOptimizationLevel !== undefined && !levels.includes(o.graphOptimizationLevel)) fail(site, `graphOptimizationLevel expected one of ${levels.map((l) => `'${l}'`).join(', ')}, got ${show(o.graphOptimizationLevel)}`);
}
