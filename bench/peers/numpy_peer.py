"""NumPy peers for the llm-tricks bench suite.

Usage: python3 numpy_peer.py <case> <size> <warmup> <runs>
Prints one JSON object: {"peer": "numpy <version>", "ms": [per-run milliseconds]}.

or:    python3 numpy_peer.py <case> <size> serve
Sets the case up, prints {"peer": ..., "extra": {}} on one line, then runs
one step for each line read from stdin and answers each with the line
"ok <milliseconds>", the step as timed here; it ends at the end of its
input. The bench times the peer this way in alternation with llm-tricks.
Cases: lion, adamw (one optimizer step over <size> float32 parameters),
clip (global-norm clipping of <size> float32 gradients, to 0.9 times the
norm the previous call left, so every call scales), matmul (a <size> x
<size> float32 product).
"""
import json
import sys
import time

import numpy as np


def lion_step(p, g, m, lr=1e-4, b1=0.9, b2=0.99, wd=0.1):
    c = b1 * m + (1 - b1) * g
    p *= 1 - lr * wd
    p -= lr * np.sign(c)
    m *= b2
    m += (1 - b2) * g


def adamw_step(p, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.01):
    p *= 1 - lr * wd
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    step_size = lr / (1 - b1 ** t)
    denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
    p -= step_size * m / denom


def clip_step(g, bound):
    norm = float(np.linalg.norm(g))
    bound[0] *= 0.9
    if norm > bound[0]:
        g *= bound[0] / (norm + 1e-6)


def main():
    case, size = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    if case == "matmul":
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        step = lambda t: a @ b
    else:
        p = rng.standard_normal(size, dtype=np.float32)
        g = rng.standard_normal(size, dtype=np.float32)
        m = np.zeros(size, dtype=np.float32)
        v = np.zeros(size, dtype=np.float32)
        bound = [float(np.linalg.norm(g))]
        steps = {"lion": lambda t: lion_step(p, g, m), "adamw": lambda t: adamw_step(p, g, m, v, t), "clip": lambda t: clip_step(g, bound)}
        step = steps[case]
    peer = f"numpy {np.__version__}"
    if sys.argv[3] == "serve":
        print(json.dumps({"peer": peer, "extra": {}}), flush=True)
        for i, _ in enumerate(sys.stdin):
            start = time.perf_counter()
            step(i + 1)
            print(f"ok {(time.perf_counter() - start) * 1000}", flush=True)
        return
    warmup, runs = int(sys.argv[3]), int(sys.argv[4])
    ms = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        step(i + 1)
        if i >= warmup:
            ms.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"peer": peer, "ms": ms}))


if __name__ == "__main__":
    main()
