// Builds src/optim/kernels/optim.wat (WebAssembly text) into
// src/optim/kernels/optim-wasm.ts (the module's bytes as base64) with wabt,
// the WebAssembly Binary Toolkit. Run `npm run build:wasm` after editing the
// .wat; a test rebuilds it and demands the committed bytes match.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/** The module's bytes, built from the .wat source. */
export async function buildOptimWasm(root = fileURLToPath(new URL('..', import.meta.url))) {
  const wabt = await wabtInit();
  const source = readFileSync(`${root}/src/optim/kernels/optim.wat`, 'utf8');
  const module = wabt.parseWat('optim.wat', source, { simd: true });
  module.validate();
  const { buffer } = module.toBinary({ write_debug_names: false });
  module.destroy();
  return new Uint8Array(buffer);
}

/** The TypeScript file holding the bytes. */
export function optimWasmSource(bytes) {
  const base64 = Buffer.from(bytes).toString('base64');
  const lines = base64.match(/.{1,100}/g).map((l) => `  '${l}'`).join(' +\n');
  return `// Generated from optim.wat by scripts/build-wasm.mjs (npm run build:wasm): do not edit.
/** The SIMD optimizer kernels' WebAssembly module, base64 (${bytes.length} bytes). */
export const OPTIM_WASM_BASE64: string =
${lines};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const bytes = await buildOptimWasm(root);
  writeFileSync(`${root}/src/optim/kernels/optim-wasm.ts`, optimWasmSource(bytes));
  console.log(`wrote src/optim/kernels/optim-wasm.ts (${bytes.length} bytes of WebAssembly)`);
}
