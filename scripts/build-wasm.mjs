// Builds the library's WebAssembly text modules into TypeScript files holding
// their bytes as base64, with wabt, the WebAssembly Binary Toolkit. Run
// `npm run build:wasm` after editing a .wat; a test rebuilds each and demands
// the committed bytes match.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/** Each module: its .wat source, the generated file, and the constant naming its bytes there. */
export const WASM_MODULES = [
  { wat: 'src/optim/kernels/optim.wat', ts: 'src/optim/kernels/optim-wasm.ts', name: 'OPTIM_WASM_BASE64', what: 'The SIMD optimizer kernels\' WebAssembly module' },
  { wat: 'src/core/kernels/random.wat', ts: 'src/core/kernels/random-wasm.ts', name: 'RANDOM_WASM_BASE64', what: 'The SIMD random generator\'s WebAssembly module' },
];

/** A module's bytes, built from its .wat source. */
export async function buildWasm(wat, root = fileURLToPath(new URL('..', import.meta.url))) {
  const wabt = await wabtInit();
  const module = wabt.parseWat(basename(wat), readFileSync(`${root}/${wat}`, 'utf8'), { simd: true });
  module.validate();
  const { buffer } = module.toBinary({ write_debug_names: false });
  module.destroy();
  return new Uint8Array(buffer);
}

/** The TypeScript file holding a module's bytes. */
export function wasmSource({ wat, name, what }, bytes) {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,100}/g).map((l) => `  '${l}'`).join(' +\n');
  return `// Generated from ${basename(wat)} by scripts/build-wasm.mjs (npm run build:wasm): do not edit.
/** ${what}, base64 (${bytes.length} bytes). */
export const ${name}: string =
${lines};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const m of WASM_MODULES) {
    const bytes = await buildWasm(m.wat, root);
    writeFileSync(`${root}/${m.ts}`, wasmSource(m, bytes));
    console.log(`wrote ${m.ts} (${bytes.length} bytes of WebAssembly)`);
  }
}
