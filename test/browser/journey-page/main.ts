/**
 * Browser entry of the journey page (bundled by test/browser/journey.test.ts):
 * runs the training journey of test/journey/journey.ts for every case on
 * ortWeb with device 'wasm' and 'webgpu', keeping the checkpoint in memory
 * (encodeCheckpoint / decodeCheckpoint, as a page without a file system
 * would), and publishes the results as `globalThis.__journeys`. A Lion
 * journey on webgpu also steps from the wasm journey's checkpoint (its
 * forced steps: test/journey/compare.ts says why).
 */
import * as ort from 'onnxruntime-web';
import { ortWeb } from '../../../src/web.js';
import { drifts, JOURNEY_CASES, memoryStore, runJourney, type CheckpointStore, type JourneyResult } from '../../journey/journey.js';

/** What the page publishes: each journey, or the error that stopped it. */
export interface JourneyPage {
  readonly results: readonly (JourneyResult | { readonly case: string; readonly device: string; readonly error: string })[];
  readonly adapter: boolean;
}

const g = globalThis as unknown as { __journeys?: JourneyPage; location: { origin: string }; navigator: { gpu?: { requestAdapter(): Promise<object | null> } } };

async function main(): Promise<JourneyPage> {
  ort.env.wasm.wasmPaths = `${g.location.origin}/ort/`;
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const adapter = (await g.navigator.gpu?.requestAdapter()) != null;
  const results: JourneyPage['results'][number][] = [];
  // Each wasm journey's checkpoint, from which the webgpu journey of the same case takes its forced steps.
  const wasmStores = new Map<string, CheckpointStore>();
  for (const device of ['wasm', 'webgpu'] as const) {
    for (const c of JOURNEY_CASES) {
      try {
        const store = memoryStore();
        if (device === 'wasm') wasmStores.set(c.name, store);
        // Lion's wasm journey takes the forced steps from its own checkpoint (the source), webgpu's (it drifts) from wasm's.
        const forcedFrom = drifts(device !== 'webgpu', c.optimizer) ? wasmStores.get(c.name) : device === 'wasm' && c.optimizer === 'Lion' ? store : undefined;
        results.push(await runJourney(c, ortWeb, { device }, store, forcedFrom));
      } catch (e) {
        results.push({ case: c.name, device, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
      }
    }
  }
  return { results, adapter };
}

main().then(
  (page) => { g.__journeys = page; },
  (e: unknown) => { g.__journeys = { adapter: false, results: [{ case: '(page)', device: '(none)', error: e instanceof Error ? e.message : String(e) }] }; },
);
