/**
 * Draws the figures of docs/lion.md and docs/early-dropout.md from the
 * library's own schedules: `npm run docs:plots` (after `npm run build`).
 * Pass a folder to write somewhere other than docs/img.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EarlyDropoutScheduler, constantWithWarmup, cosineWithWarmup, linearWarmupDecay, type Schedule } from 'llm-tricks';
import { lineChart, type Series } from '../bench/lib/plot.js';

const out = process.argv[2] ?? 'docs/img';
const total = 1000;
const steps = Array.from({ length: total + 1 }, (_, i) => i);
const line = (name: string, f: Schedule): Series => ({ name, points: steps.map((s) => [s, f(s)] as const) });

const lr = { peakLr: 5e-5, warmupSteps: 100, totalSteps: total };
const schedules = await lineChart([
  line('linearWarmupDecay (the article)', linearWarmupDecay(lr)),
  line('cosineWithWarmup', cosineWithWarmup(lr)),
  line('constantWithWarmup', constantWithWarmup(lr)),
], { title: 'Learning-rate schedules: peak 5e-5, 100 warmup steps, 1000 steps', x: 'step', y: 'learning rate' });
writeFileSync(join(out, 'lr-schedules.svg'), schedules);

const drop = (name: string, o: ConstructorParameters<typeof EarlyDropoutScheduler>[0]): Series => {
  const s = new EarlyDropoutScheduler(o);
  return line(name, (step) => s.rate(step));
};
const dropout = await lineChart([
  drop('early, linear (the article)', { p: 0.1, totalSteps: total }),
  drop('early, cosine', { p: 0.1, totalSteps: total, decay: 'cosine' }),
  drop('early, constant', { p: 0.1, totalSteps: total, decay: 'constant' }),
  drop('late', { p: 0.1, totalSteps: total, mode: 'late' }),
], { title: 'Dropout rate per step: p = 0.1, cutoff at 20% of 1000 steps', x: 'step', y: 'dropout rate' });
writeFileSync(join(out, 'early-dropout.svg'), dropout);
console.log(`wrote ${join(out, 'lr-schedules.svg')} and ${join(out, 'early-dropout.svg')}`);
