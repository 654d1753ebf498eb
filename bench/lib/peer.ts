/** Runs a Python peer (bench/peers/*.py) and returns its timings, or why it could not run. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const peers = fileURLToPath(new URL('../peers/', import.meta.url));

/** A peer's timings, or the reason it is missing. */
export type PeerResult = { peer: string; ms: number[] } | { missing: string };

/** Runs `python3 bench/peers/<script> ...args`, expecting one JSON line `{ peer, ms }`. */
export function runPeer(script: string, args: readonly (string | number)[]): PeerResult {
  const r = spawnSync('python3', [`${peers}${script}`, ...args.map(String)], { encoding: 'utf8', timeout: 600_000 });
  if (r.error) return { missing: `python3 could not run (${r.error.message})` };
  if (r.status !== 0) {
    const line = r.stderr.trim().split('\n').pop() ?? '';
    return { missing: /No module named/.test(line) ? `${line}: python3 -m pip install -r bench/requirements.txt` : `peer failed: ${line}` };
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { peer: string; ms: number[] };
}
