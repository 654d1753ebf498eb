/**
 * Compiling the library's small WebAssembly SIMD modules (built from .wat
 * sources by scripts/build-wasm.mjs and shipped as base64): lazily, by the
 * caller's first use, never on import.
 */

/** The WebAssembly API as far as it is used here (the library's types target no DOM). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

/** A compiled module and the API that instantiates it. */
export interface CompiledWasm {
  readonly wasm: WasmApi;
  readonly module: object;
}

/**
 * Compiles a module from its base64 bytes, synchronously (Chromium 156 does
 * so on a page's main thread for modules far larger than these). Null where
 * the runtime has no WebAssembly, does not validate SIMD, or validates it
 * and still refuses to compile from bytes (a page whose CSP lacks
 * wasm-unsafe-eval, some edge hosts, a browser that limits synchronous
 * compiles on the main thread, as Chromium once did at 4 KB): the caller
 * runs its JavaScript loops instead.
 */
export function compileWasm(base64: string): CompiledWasm | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (typeof wasm !== 'object' || typeof atob !== 'function') return null;
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  try {
    return wasm.validate(bytes) ? { wasm, module: new wasm.Module(bytes) } : null;
  } catch {
    return null;
  }
}
