/**
 * What the browser tests share: Chromium's flags for a software WebGPU
 * adapter, bundling a page entry with esbuild (platform browser, ESM), and
 * serving it with onnxruntime-web's dist/ at /ort/ on 127.0.0.1.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ortDist = join(root, 'node_modules', 'onnxruntime-web', 'dist');

/** Headless Chromium with SwiftShader's WebGPU adapter, and nothing that reaches the network. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const typeOf = (file: string): string => TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';

/** Bundles `entry` into `dir`/main.js with an index.html that loads it; returns the bundle's text and its input files. */
export async function bundlePage(entry: string, dir: string): Promise<{ bundle: string; inputs: string[] }> {
  const out = await build({
    entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
    outfile: join(dir, 'main.js'), metafile: true, logLevel: 'silent',
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>llm-tricks</title><script type="module" src="/main.js"></script>\n');
  return { bundle: readFileSync(join(dir, 'main.js'), 'utf8'), inputs: Object.keys(out.metafile.inputs) };
}

/** Serves the page from `dir` and onnxruntime-web's dist/ at /ort/, on 127.0.0.1 only. */
export async function servePage(dir: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    // Only plain file names: nothing outside the two folders can be named.
    const name = basename(path === '/' ? 'index.html' : path);
    const file = path.startsWith('/ort/') ? join(ortDist, name) : join(dir, name);
    if (!/^[\w.-]+$/.test(name) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': typeOf(file), 'cache-control': 'no-store' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
