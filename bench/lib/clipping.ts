/** The clipGradNorm workload of the bench's optimizer part and of ab-optim.ts. */

type Clip = (grads: Float32Array[], maxNorm: number) => number;

/**
 * A call that clips `grads` to 0.9 times the norm the previous call left, so
 * every call sums the squares and scales. After about 66 calls the gradients
 * are refilled from `from`, before they shrink towards subnormals (whose
 * arithmetic is slower).
 */
export function repeatedClipping(clip: Clip, grads: Float32Array[], from: Float32Array): () => void {
  const start = clip(grads, Number.MAX_VALUE);
  let bound = start;
  return () => {
    bound *= 0.9;
    if (bound < start / 1000) {
      grads[0].set(from);
      bound = start * 0.9;
    }
    clip(grads, bound);
  };
}
