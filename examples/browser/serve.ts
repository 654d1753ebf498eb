/**
 * Bundles examples/browser/main.ts and serves the page on 127.0.0.1, with
 * onnxruntime-web's .wasm files under ./ort/. Run after `npm run build`:
 *   npx tsx examples/browser/serve.ts [port]
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const ortDist = join(here, '..', '..', 'node_modules', 'onnxruntime-web', 'dist');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/** Bundles the page script into examples/browser/dist/main.js. */
export async function bundle(): Promise<void> {
  await build({ entryPoints: [join(here, 'main.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(here, 'dist', 'main.js'), logLevel: 'error' });
}

/** Serves the page (and ./ort/ from onnxruntime-web) on 127.0.0.1:port; port 0 picks a free one. */
export function serve(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = path.startsWith('/ort/') ? join(ortDist, path.slice(5)) : join(here, path === '/' ? 'index.html' : path);
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await bundle();
  const server = await serve(Number(process.argv[2] ?? 8080));
  const address = server.address();
  console.log(`open http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}/`);
}
