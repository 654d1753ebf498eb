/** Runs a Python peer (bench/peers/*.py) and returns its timings, or why it could not run. */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OwnTime } from './timing.js';

const peers = fileURLToPath(new URL('../peers/', import.meta.url));

/** How to get each optional Python module a peer imports. */
const INSTALL: Record<string, string> = {
  torch: 'python3 -m pip install torch (CPU-only wheels: add --index-url https://download.pytorch.org/whl/cpu)',
  numpy: 'python3 -m pip install -r bench/requirements.txt',
};

/** Why a peer did not run, from its standard error: a missing module comes with how to install it. */
function whyMissing(stderr: string): string {
  const line = stderr.trim().split('\n').pop() || 'python3 could not run';
  const module = /No module named '([^'.]+)/.exec(line)?.[1];
  return module ? `${line}: ${INSTALL[module] ?? `python3 -m pip install ${module}`}` : `peer failed: ${line}`;
}

/** A peer's timings (and facts it reports), or the reason it is missing. */
export type PeerResult = { peer: string; ms: number[]; extra?: Record<string, number | string> } | { missing: string };

/** Runs `python3 bench/peers/<script> ...args`, expecting its last output line to be JSON `{ peer, ms, extra? }`. */
export function runPeer(script: string, args: readonly (string | number)[]): PeerResult {
  const r = spawnSync('python3', [`${peers}${script}`, ...args.map(String)], { encoding: 'utf8', timeout: 600_000 });
  if (r.error) return { missing: `python3 could not run (${r.error.message})` };
  if (r.status !== 0) {
    return { missing: whyMissing(r.stderr) };
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { peer: string; ms: number[]; extra?: Record<string, number | string> };
}

/** A Python peer kept running: one step per call, so it can be timed in alternation with llm-tricks. */
export interface PeerProcess {
  readonly peer: string;
  readonly extra: Record<string, number | string>;
  /** Runs one step in the peer and resolves, when it has finished, to the step's milliseconds as the peer timed it. */
  step(): Promise<OwnTime>;
  close(): void;
}

/** Starts `python3 bench/peers/<script> ...args serve` and waits for its setup line, or says why it could not start. */
export async function startPeer(script: string, args: readonly (string | number)[]): Promise<PeerProcess | { missing: string }> {
  const child = spawn('python3', [`${peers}${script}`, ...args.map(String), 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  // 'close' comes after the process has exited and its output streams are read to the end.
  const closed = new Promise((resolve) => child.on('close', resolve));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => (await lines.next()).value as string | undefined;
  const failed = new Promise<undefined>((resolve) => child.on('error', () => resolve(undefined)));
  const first = await Promise.race([next(), failed]);
  if (first === undefined) {
    await closed;
    return { missing: whyMissing(stderr) };
  }
  let setup: { peer: string; extra: Record<string, number | string> };
  try {
    setup = JSON.parse(first) as typeof setup;
  } catch {
    child.kill();
    return { missing: `peer failed: expected its setup line as JSON, got ${first.slice(0, 200)}` };
  }
  const { peer, extra } = setup;
  return {
    peer,
    extra,
    async step() {
      child.stdin.write('step\n');
      const answer = await next();
      const ms = Number(/^ok (\S+)$/.exec(answer ?? '')?.[1]);
      if (!(ms >= 0)) throw new Error(`bench: peer ${peer} stopped: ${stderr.trim().split('\n').pop() || answer || 'no answer'}`);
      return new OwnTime(ms);
    },
    close() {
      child.stdin.end();
    },
  };
}
