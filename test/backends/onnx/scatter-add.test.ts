/**
 * scatterAdd at sizes where ONNX Runtime's CPU kernels split the work
 * across threads, with many repeated indices (an embedding's gradient: the
 * same token at many positions), gives the reference backend's sums bit for
 * bit on ort-node cpu and ort-web wasm, whatever the lowering path: int32 or
 * int64 indices, static or symbolic shapes, a call of its own or the
 * backward of a gather; edge cases too (no indices, static or 0 at run time;
 * a 0 beside the axis; a rank-0 index; symbolic dims on both sides of the
 * axis; an index below −size, refused); and a Trainer fed
 * int64 token ids takes, to the bit, the steps it takes on the same ids as
 * int32.
 *
 * ScatterND with reduction 'add' (ONNX Runtime 1.30's CPU kernel) runs its
 * updates in parallel, so two threads adding into one row lose updates: at
 * 8192 rows of 512 whole updates went missing, differently in each run. The
 * small property cases of the conformance suite never reached its parallel
 * split.
 */
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, DecoderLM, gather, Lion, mul, referenceBackend, scatterAdd, sum, tensor, TokenBatches, trace, Trainer, vjp, type Executable, type Tensor } from '../../../src/index.js';
import { ortNode } from '../../../src/node.js';
import { ortWeb } from '../../../src/web.js';
import { rng } from '../../helpers/check-vjp.js';

const ROWS = 256;
const WIDTH = 512;
const N = 8192;

/** Indices into ROWS skewed toward the first rows (many repeats), some of them negative. */
function indices(seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: N }, () => {
    const i = Math.floor(r() ** 3 * ROWS);
    return r() < 0.2 ? i - ROWS : i;
  });
}

function floats(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 10 ** (6 * r() - 3));
}

const bitsOf = (t: Tensor): number[] => Array.from(new Uint32Array((t.data() as Float32Array).slice().buffer));

/**
 * Runs `graph` on the reference backend, and three times each on ort-node
 * cpu and ort-web wasm (a race need not show in every run); outputs from
 * `from` on must have the same bits.
 */
async function expectReferenceBits(graph: ReturnType<typeof trace>, feeds: Tensor[], from = 0): Promise<void> {
  const want = await (await referenceBackend.compile(graph)).run(feeds);
  await expectBits('ort-node cpu', await ortNode.compile(graph, { device: 'cpu' }), want, feeds, from);
  await expectBits('ort-web wasm', await ortWeb.compile(graph, { device: 'wasm' }), want, feeds, from);
}

async function expectBits(label: string, exe: Executable, want: Tensor[], feeds: Tensor[], from: number): Promise<void> {
  try {
    for (let run = 0; run < 3; run++) {
      const got = await exe.run(feeds);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => {
        if (i < from) return;
        const [a, b] = [bitsOf(g), bitsOf(want[i])];
        const differ = a.filter((x, j) => x !== b[j]).length;
        expect(differ, `${label}, run ${run + 1}, output ${i}: elements that differ from the reference backend's`).toBe(0);
      });
    }
  } finally {
    await exe.dispose();
  }
}

describe('scatterAdd on ONNX Runtime, 8192 rows of 512 into 256 (repeated and negative indices)', () => {
  for (const index of ['int32', 'int64'] as const) {
    it(`${index} indices, static shapes: the reference sums, bit for bit`, async () => {
      const graph = trace((b, i, u) => scatterAdd(b, i, u, 0), [{ shape: [ROWS, WIDTH] }, { shape: [N], dtype: index }, { shape: [N, WIDTH] }]);
      await expectReferenceBits(graph, [
        tensor(floats(ROWS * WIDTH, 1), { shape: [ROWS, WIDTH] }),
        tensor(indices(2), { shape: [N], dtype: index }),
        tensor(floats(N * WIDTH, 3), { shape: [N, WIDTH] }),
      ]);
    });
  }

  it('symbolic shapes (the base rows and the indices read at run time): the reference sums, bit for bit', async () => {
    const graph = trace((b, i, u) => scatterAdd(b, i, u, 0), [{ shape: ['V', WIDTH] }, { shape: ['N'], dtype: 'int32' }, { shape: ['N', WIDTH] }]);
    await expectReferenceBits(graph, [
      tensor(floats(ROWS * WIDTH, 4), { shape: [ROWS, WIDTH] }),
      tensor(indices(5), { shape: [N], dtype: 'int32' }),
      tensor(floats(N * WIDTH, 6), { shape: [N, WIDTH] }),
    ]);
  });

  it("an embedding's gradient with int64 token ids (the backward of gather): the reference gradient, bit for bit", async () => {
    const forward = trace((table, ids, w) => sum(mul(gather(table, ids, 0), w)), [{ shape: [ROWS, WIDTH] }, { shape: [N], dtype: 'int64' }, { shape: [N, WIDTH] }]);
    const ids = indices(7).map((i) => (i < 0 ? i + ROWS : i));
    await expectReferenceBits(vjp(forward, { wrt: [0] }), [
      tensor(floats(ROWS * WIDTH, 8), { shape: [ROWS, WIDTH] }),
      tensor(ids, { shape: [N], dtype: 'int64' }),
      tensor(floats(N * WIDTH, 9), { shape: [N, WIDTH] }),
      tensor(1),
    ], 1); // output 0 is the forward sum, whose order of additions differs between the backends
  });
});

describe('scatterAdd edge cases on ONNX Runtime, as on the reference backend', () => {
  const base = tensor([[1, 2, 3], [4, 5, 6]]);
  const cases: [string, Parameters<typeof trace>[1], (...xs: Tensor[]) => Tensor, Tensor[]][] = [
    ...(['int32', 'int64'] as const).map((dtype): [string, Parameters<typeof trace>[1], (...xs: Tensor[]) => Tensor, Tensor[]] => [
      `no indices (${dtype}, static shapes)`, [{ shape: [2, 3] }, { shape: [0], dtype }, { shape: [0, 3] }], (b, i, u) => scatterAdd(b, i, u, 0),
      [base, tensor([], { shape: [0], dtype }), tensor([], { shape: [0, 3] })],
    ]),
    ['no indices (symbolic shapes, 0 at run time)', [{ shape: ['V', 3] }, { shape: ['N'], dtype: 'int32' }, { shape: ['N', 3] }], (b, i, u) => scatterAdd(b, i, u, 0),
      [base, tensor([], { shape: [0], dtype: 'int32' }), tensor([], { shape: [0, 3] })]],
    ['a rank-0 negative int64 index on axis 1 of a symbolic base', [{ shape: ['B', 'V'] }, { shape: [], dtype: 'int64' }, { shape: ['B'] }], (b, i, u) => scatterAdd(b, i, u, 1),
      [base, tensor(-1, { dtype: 'int64' }), tensor([10, 20])]],
    ['a 0 before the axis (int64 indices, static shapes)', [{ shape: [0, 2] }, { shape: [1], dtype: 'int64' }, { shape: [0, 1] }], (b, i, u) => scatterAdd(b, i, u, 1),
      [tensor([], { shape: [0, 2] }), tensor([1], { dtype: 'int64' }), tensor([], { shape: [0, 1] })]],
    ['a 0 after the axis (int64 indices, static shapes)', [{ shape: [2, 0] }, { shape: [3], dtype: 'int64' }, { shape: [3, 0] }], (b, i, u) => scatterAdd(b, i, u, 0),
      [tensor([], { shape: [2, 0] }), tensor([1, 0, -1], { dtype: 'int64' }), tensor([], { shape: [3, 0] })]],
    ['a 0 after a symbolic axis (int32 indices)', [{ shape: ['V', 0] }, { shape: [2], dtype: 'int32' }, { shape: [2, 0] }], (b, i, u) => scatterAdd(b, i, u, 0),
      [tensor([], { shape: [3, 0] }), tensor([0, -1], { dtype: 'int32' }), tensor([], { shape: [2, 0] })]],
    ['2-d int64 indices on axis 1 of a rank-3 base, symbolic on both sides', [{ shape: ['B', 'V', 'C'] }, { shape: [2, 2], dtype: 'int64' }, { shape: ['B', 2, 2, 'C'] }],
      (b, i, u) => scatterAdd(b, i, u, 1),
      [tensor([[[1, 2], [3, 4], [5, 6]]]), tensor([[0, -1], [2, 0]], { dtype: 'int64' }), tensor([[[[1, 1], [2, 2]], [[3, 3], [4, 4]]]])]],
  ];
  for (const [name, specs, fn, feeds] of cases) {
    it(name, async () => expectReferenceBits(trace(fn, specs), feeds));
  }

  // The wrap adds the axis size once: an index below −size stayed negative, and ScatterElements wrapped it again.
  it('an index below −size is refused, as on the reference backend, not added into another row', async () => {
    const graph = trace((b, i, u) => scatterAdd(b, i, u, 0), [{ shape: [2, 3] }, { shape: [1], dtype: 'int32' }, { shape: [1, 3] }]);
    const feeds = [base, tensor([-3], { dtype: 'int32' }), tensor([[10, 20, 30]])];
    await expect((await referenceBackend.compile(graph)).run(feeds)).rejects.toThrow('index expected in [-2, 1], got -3');
    for (const exe of [await ortNode.compile(graph, { device: 'cpu' }), await ortWeb.compile(graph, { device: 'wasm' })]) {
      try {
        await expect(exe.run(feeds)).rejects.toThrow(/out of data bounds/);
      } finally {
        await exe.dispose();
      }
    }
  });
});

describe('a Trainer fed int64 token ids on ort-node cpu', () => {
  it('takes the steps it takes on the same ids as int32, to the bit (32 × 256 tokens: the embedding gradient is 8192 rows of 64)', async () => {
    const [B, T] = [32, 256];
    const tokens = new ByteTokenizer().encode('It was the best of times, it was the worst of times. '.repeat(400));
    const batches = new TokenBatches(tokens, { batchSize: B, length: T, seed: 1 });
    const run = async (dtype: 'int32' | 'int64'): Promise<number[][]> => {
      const trainer = await Trainer.create({
        model: new DecoderLM({ vocab: 256, dim: 64, layers: 1, heads: 4, kvHeads: 1, maxPositions: T, seed: 2 }),
        optimizer: new Lion({ lr: 1e-3 }),
        inputs: [{ name: 'ids', shape: [B, T], dtype }, { name: 'targets', shape: [B, T], dtype }],
        backend: ortNode,
        compile: { device: 'cpu' },
      });
      try {
        for (let k = 0; k < 2; k++) await trainer.step(batches.batch(k).map((t) => tensor(Array.from(t.data() as Int32Array), { shape: [B, T], dtype })));
        return [...(await trainer.snapshot()).params.values()].map(bitsOf);
      } finally {
        await trainer.dispose();
      }
    };
    const [narrow, wide] = [await run('int32'), await run('int64')];
    wide.forEach((p, i) => expect(p.filter((x, j) => x !== narrow[i][j]).length, `parameter ${i}: elements that differ`).toBe(0));
  });
});
