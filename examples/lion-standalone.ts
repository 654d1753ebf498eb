/**
 * Lion on plain Float32Arrays, with no Tensor API: fits a linear regression
 * y = X w + b with hand-written gradients of the mean squared error, then
 * fits the same problem with AdamW for comparison.
 *
 * Run: npx tsx examples/lion-standalone.ts
 */
import { AdamW, Lion, linearWarmupDecay } from 'llm-tricks';

// A small deterministic random generator (mulberry32), so every run prints the same numbers.
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The data: n samples of d features, targets from known weights plus a little noise.
const n = 128;
const d = 6;
const rand = random(42);
const trueW = Float32Array.from({ length: d }, () => 4 * rand() - 2);
const trueB = 0.5;
const X = Float32Array.from({ length: n * d }, () => 2 * rand() - 1); // row-major (n, d)
const y = Float32Array.from({ length: n }, (_, i) => {
  let s = trueB;
  for (let j = 0; j < d; j++) s += X[i * d + j] * trueW[j];
  return s + 0.01 * (rand() - 0.5);
});

/** Mean squared error of (w, b), and its gradients written into dw and db. */
function lossAndGrad(w: Float32Array, b: Float32Array, dw: Float32Array, db: Float32Array): number {
  dw.fill(0);
  db.fill(0);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let r = b[0] - y[i];
    for (let j = 0; j < d; j++) r += X[i * d + j] * w[j];
    loss += (r * r) / n;
    // d(r²/n)/dw_j = 2 r x_ij / n, d(r²/n)/db = 2 r / n
    for (let j = 0; j < d; j++) dw[j] += (2 * r * X[i * d + j]) / n;
    db[0] += (2 * r) / n;
  }
  return loss;
}

interface Stepper {
  step(params: Float32Array[], grads: Float32Array[], options?: { lr?: number }): void;
}

/** Trains from zero for `steps` steps with the lr from `schedule`; returns the first and last loss. */
function fit(opt: Stepper, steps: number, schedule: (t: number) => number): [number, number] {
  const w = new Float32Array(d);
  const b = new Float32Array(1);
  const dw = new Float32Array(d);
  const db = new Float32Array(1);
  const first = lossAndGrad(w, b, dw, db);
  for (let t = 0; t < steps; t++) {
    lossAndGrad(w, b, dw, db);
    opt.step([w, b], [dw, db], { lr: schedule(t) });
  }
  return [first, lossAndGrad(w, b, dw, db)];
}

const steps = 600;
// Lion's step is lr per coordinate, whatever the gradient's scale: warm up, then decay to 0 so it settles.
const lion = new Lion({ weightDecay: 0.1, groups: [{ params: [1], weightDecay: 0 }] }); // no decay on the bias
const [lionStart, lionEnd] = fit(lion, steps, linearWarmupDecay({ peakLr: 0.02, warmupSteps: 30, totalSteps: steps }));
const adamw = new AdamW({ weightDecay: 0 });
const [adamStart, adamEnd] = fit(adamw, steps, linearWarmupDecay({ peakLr: 0.08, warmupSteps: 30, totalSteps: steps }));

console.log(`Lion : loss ${lionStart.toFixed(4)} -> ${lionEnd.toExponential(3)} in ${steps} steps (state: ${lion.state().buffers.flat().length} buffers)`);
console.log(`AdamW: loss ${adamStart.toFixed(4)} -> ${adamEnd.toExponential(3)} in ${steps} steps (state: ${adamw.state().buffers.flat().length} buffers)`);
if (!(lionEnd < 1e-3 * lionStart && adamEnd < 1e-3 * adamStart)) {
  console.log('the loss did not go down enough');
  process.exitCode = 1;
}
