/**
 * The training journey of test/journey/journey.ts in headless Chromium, on
 * ortWeb's 'wasm' and 'webgpu' (SwiftShader) devices, each compared with
 * the same journey on ort-node cpu in Node; the checkpoint between the two
 * trainers is kept in memory (encodeCheckpoint / decodeCheckpoint).
 *
 * Proves, per device and case, as test/train/journey.test.ts does for the
 * Node devices: losses, gradient norms and final parameters within the
 * device's tolerance of ort-node cpu (test/journey/compare.ts), except Lion
 * on WebGPU, whose runs drift apart from any other device's: its first
 * step and three steps from the page's wasm checkpoint after step 10 within
 * tolerance of wasm's own, and its last loss within LION_DRIFT_NATS of
 * wasm's; the resumed run equal to the straight run (bit for bit on wasm;
 * within tolerance on WebGPU, which is not deterministic); the same 16
 * greedy tokens.
 * Without Chromium it is skipped locally and fails when CI is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ortNode } from '../../src/node.js';
import {
  drifts, expectIdentical, expectLearnsAsBaseline, expectParamsClose, expectScalarsClose, FLOAT32_JOURNEY, LION_DRIFT_NATS, straightTail, WEBGPU_JOURNEY,
} from '../journey/compare.js';
import { FORCED_STEPS, JOURNEY_CASES, memoryStore, NEW_TOKENS, RESUME_AT, runJourney, type JourneyResult } from '../journey/journey.js';
import { chromiumPath, chromiumUnavailable, IN_CI } from '../setup/availability.js';
import { bundlePage, CHROMIUM_FLAGS, servePage } from './harness.js';
import type { JourneyPage } from './journey-page/main.js';

const here = dirname(fileURLToPath(import.meta.url));
const PAGE_TIMEOUT_MS = 240_000;
const missing = chromiumUnavailable();
const skip = missing !== null && !IN_CI;

(skip ? describe.skip : describe)(`training journey in headless Chromium${skip ? ` (skipped: ${missing})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'journey-page-'));
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: JourneyPage;
  const baseline = new Map<string, JourneyResult>();

  beforeAll(async () => {
    if (missing) throw new Error(`the browser journey needs Chromium in CI: ${missing}`);
    const t0 = performance.now();
    await bundlePage(join(here, 'journey-page', 'main.ts'), dir);
    const served = await servePage(dir);
    server = served.server;
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_FLAGS], timeout: 20_000 });
    const tab = await browser.newPage();
    const log: string[] = [];
    tab.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await tab.goto(`${served.origin}/`);
    // The baseline runs in Node while the page runs in Chromium.
    for (const c of JOURNEY_CASES) baseline.set(c.name, await runJourney(c, ortNode, { device: 'cpu', intraOpNumThreads: 1 }, memoryStore()));
    try {
      await tab.waitForFunction(() => (globalThis as { __journeys?: unknown }).__journeys !== undefined, null, { timeout: PAGE_TIMEOUT_MS, polling: 500 });
    } catch (e) {
      throw new Error(`the journey page gave no results within ${PAGE_TIMEOUT_MS} ms\n${log.join('\n')}`, { cause: e });
    }
    page = await tab.evaluate(() => (globalThis as unknown as { __journeys: JourneyPage }).__journeys);
    console.log(`journey page: ${((performance.now() - t0) / 1000).toFixed(1)} s; ${page.results.map((r) => `${r.device} ${r.case}: ${'error' in r ? 'ERROR' : `${(r.ms.straight / 1000).toFixed(1)} + ${(r.ms.resumed / 1000).toFixed(1)} + ${(r.ms.generate / 1000).toFixed(1)} s`}`).join('; ')}`);
  }, PAGE_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a WebGPU adapter (SwiftShader)', () => {
    expect(page.adapter).toBe(true);
  });

  const devices = [
    { device: 'wasm', name: 'ort-web wasm', deterministic: true, tolerance: FLOAT32_JOURNEY },
    { device: 'webgpu', name: 'ort-web webgpu', deterministic: false, tolerance: WEBGPU_JOURNEY },
  ] as const;

  describe.each(JOURNEY_CASES)('$name', (c) => {
    describe.each(devices)('$name', (d) => {
      const result = (): JourneyResult => {
        const r = page.results.find((x) => x.case === c.name && x.device === d.device);
        if (!r) throw new Error(`no journey for ${c.name} on ${d.device}`);
        if ('error' in r) throw new Error(`the journey failed in the page: ${r.error}`);
        return r;
      };

      if (drifts(d.deterministic, c.optimizer)) {
        // Lion drifts on WebGPU (test/journey/compare.ts): its forced steps start from the page's wasm checkpoint.
        it(`learns as ort-web wasm does: the first step and steps ${RESUME_AT + 1}-${RESUME_AT + FORCED_STEPS} from its checkpoint within tolerance, the last loss within ${LION_DRIFT_NATS} nats`, () => {
          const source = page.results.find((x) => x.case === c.name && x.device === 'wasm');
          if (!source || 'error' in source) throw new Error(`no wasm journey for ${c.name} to compare with`);
          expectLearnsAsBaseline(result(), source, d.tolerance, `${d.name} vs ort-web wasm`);
        });
      } else {
        it('trains as ort-node cpu does: losses, gradient norms and final parameters within tolerance', () => {
          const base = baseline.get(c.name)!;
          expectScalarsClose(result().straight, base.straight, d.tolerance.scalars, `${d.name} vs ort-node cpu`);
          expectParamsClose(result().straight, base.straight, d.tolerance.params, c.optimizer, `${d.name} vs ort-node cpu`);
        });
      }

      if (d.deterministic) {
        it('resumes from an in-memory checkpoint bit-exactly: steps 11-20 equal the straight run\'s', () => {
          expectIdentical(result().resumed, straightTail(result()), `${d.name} resumed vs straight`);
        });
      } else {
        it('resumes from an in-memory checkpoint within tolerance (not deterministic: identical runs differ in the last bits)', () => {
          const r = result();
          expectScalarsClose(r.resumed, straightTail(r), d.tolerance.scalars, `${d.name} resumed vs straight`);
          expectParamsClose(r.resumed, straightTail(r), d.tolerance.params, c.optimizer, `${d.name} resumed vs straight`);
        });
      }

      it(`generates ort-node cpu's ${NEW_TOKENS} greedy tokens from the trained model`, () => {
        expect(result().tokens).toEqual(baseline.get(c.name)!.tokens);
      });
    });
  });
});
