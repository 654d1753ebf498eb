import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/web.ts'],
  format: ['esm', 'cjs'],
  // With "type": "module": esm -> dist/*.js + dist/*.d.ts, cjs -> dist/*.cjs + dist/*.d.cts
  dts: {
    // tsup 8 injects `baseUrl` into the declaration build, which TypeScript 6
    // reports as deprecated (TS5101); silence it for the dts build only.
    compilerOptions: { ignoreDeprecations: '6.0' },
  },
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Each format is self-contained; no shared chunks between the ESM and CJS builds.
  splitting: false,
  treeshake: true,
  outDir: 'dist',
});
