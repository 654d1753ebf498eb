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
  // Shared chunks: `llm-tricks` and `llm-tricks/node` (or /web) must share one copy
  // of Tensor and Graph, or instanceof fails across entry points.
  splitting: true,
  treeshake: true,
  outDir: 'dist',
});
