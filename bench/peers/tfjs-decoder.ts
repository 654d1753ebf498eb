/**
 * The training example's decoder written with TensorFlow.js ops, trained
 * with tfjs's Adam: the peer of the training-step bench. Same shapes as
 * llm-tricks' DecoderLM (byte vocabulary, RMSNorm, rotary positions in the
 * 'half' layout, multi-query attention, SwiGLU, untied head, dropout 0.1 on
 * the embeddings and both residual branches). tfjs's matMul does not share
 * one key/value head across query heads, so they are tiled (the copy
 * multi-query attention avoids), and the embedding is a one-hot product
 * (the WASM backend lacks gather's gradient kernel).
 */
// The union package: tfjs-core with its gradients and the CPU backend registered.
import * as tf from '@tensorflow/tfjs';

export interface TfjsDecoderConfig { vocab: number; dim: number; layers: number; heads: number; kvHeads: number; hidden: number; B: number; T: number }

/** Loads a tfjs backend ('cpu' or 'wasm'); false when it cannot start here. */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<boolean> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** Builds the model and returns one training step (forward, loss, backward, Adam) on a batch of ids and targets. */
export function tfjsTrainer(c: TfjsDecoderConfig, lr = 1e-3): (ids: Int32Array, targets: Int32Array) => number {
  const D = c.dim / c.heads;
  const rnd = (shape: number[], std = 0.02): tf.Variable => tf.variable(tf.randomNormal(shape, 0, std, 'float32', 1));
  const w = {
    embed: rnd([c.vocab, c.dim]),
    head: rnd([c.dim, c.vocab]),
    norm: tf.variable(tf.ones([c.dim])),
    layers: Array.from({ length: c.layers }, () => ({
      n1: tf.variable(tf.ones([c.dim])), n2: tf.variable(tf.ones([c.dim])),
      q: rnd([c.dim, c.heads * D]), k: rnd([c.dim, c.kvHeads * D]), v: rnd([c.dim, c.kvHeads * D]), o: rnd([c.heads * D, c.dim]),
      gate: rnd([c.dim, c.hidden]), up: rnd([c.dim, c.hidden]), down: rnd([c.hidden, c.dim]),
    })),
  };
  // Rotary tables (T, D/2) and the causal mask (T, T).
  const inv = Array.from({ length: D / 2 }, (_, i) => 10000 ** (-(2 * i) / D));
  const angles = Array.from({ length: c.T }, (_, t) => inv.map((f) => t * f)).flat();
  const cos = tf.tensor2d(angles.map(Math.cos), [c.T, D / 2]);
  const sin = tf.tensor2d(angles.map(Math.sin), [c.T, D / 2]);
  const mask = tf.tensor2d(Array.from({ length: c.T * c.T }, (_, i) => (i % c.T > Math.floor(i / c.T) ? -1e9 : 0)), [c.T, c.T]);
  const rms = (x: tf.Tensor, g: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), g);
  const rope = (x: tf.Tensor): tf.Tensor => { // (B, h, T, D)
    const [a, b] = tf.split(x, 2, -1);
    return tf.concat([tf.sub(tf.mul(a, cos), tf.mul(b, sin)), tf.add(tf.mul(b, cos), tf.mul(a, sin))], -1);
  };
  const heads = (x: tf.Tensor, h: number): tf.Tensor => tf.transpose(tf.reshape(x, [c.B, c.T, h, D]), [0, 2, 1, 3]);
  const linear = (x: tf.Tensor, m: tf.Tensor): tf.Tensor => tf.reshape(tf.matMul(tf.reshape(x, [-1, m.shape[0]]), m), [c.B, c.T, m.shape[1]!]);
  const optimizer = tf.train.adam(lr);
  return (idsData, targetsData) => {
    const ids = tf.tensor2d(idsData, [c.B, c.T], 'int32');
    const targets = tf.oneHot(tf.tensor1d(targetsData, 'int32'), c.vocab);
    const cost = optimizer.minimize(() => {
      // The embedding as a one-hot product: tfjs's WASM backend has no kernel for gather's gradient.
      let h = tf.dropout(tf.reshape(tf.matMul(tf.oneHot(tf.reshape(ids, [-1]), c.vocab), w.embed), [c.B, c.T, c.dim]), 0.1);
      for (const l of w.layers) {
        const x = rms(h, l.n1);
        const q = rope(heads(linear(x, l.q), c.heads));
        const k = tf.tile(rope(heads(linear(x, l.k), c.kvHeads)), [1, c.heads / c.kvHeads, 1, 1]);
        const v = tf.tile(heads(linear(x, l.v), c.kvHeads), [1, c.heads / c.kvHeads, 1, 1]);
        const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(D)), mask);
        const att = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [c.B, c.T, c.heads * D]);
        h = tf.add(h, tf.dropout(linear(att, l.o), 0.1));
        const y = rms(h, l.n2);
        const gate = linear(y, l.gate);
        h = tf.add(h, tf.dropout(linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(y, l.up)), l.down), 0.1));
      }
      const logits = tf.reshape(linear(rms(h, w.norm), w.head), [-1, c.vocab]);
      return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
    }, true)!;
    const loss = cost.dataSync()[0];
    tf.dispose([ids, targets, cost]);
    return loss;
  };
}
