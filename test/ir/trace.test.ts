/**
 * Tracing to the IR and running graphs on the reference backend.
 *
 * Proves:
 * - trace records the expected primitives, in topological order (every
 *   node's inputs come before it), with inferred shapes and dtypes; composite
 *   ops (square, greater, mean, swapAxes, unsqueeze) lower to primitives;
 * - eager tensors the traced function closes over become `constant` nodes,
 *   one per tensor even when used twice;
 * - a graph traced with symbolic dims ['B', 'T', 8] runs at several (B, T)
 *   and equals the eager computation; feeds may be an array or a record;
 *   reshape with -1 and symbolic dims resolves at run time;
 * - a feed of the wrong dtype, a wrong static dim, or an inconsistent
 *   symbolic binding (B bound to two sizes) errors naming the input;
 * - traced tensors have no data (data/toArray/item explain why), cannot be
 *   used in another trace or after their trace ended;
 * - Graph.toString() lists every node, its op, type, and the return line.
 */
import { describe, expect, it } from 'vitest';
import {
  LlmTricksError, add, exp, greater, matmul, mean, mul, neg, referenceBackend, reshape, square, sum, swapAxes, tanh,
  tensor, trace, unsqueeze, type Graph, type Tensor,
} from '../../src/index.js';

const ops = (g: Graph): string[] => g.nodes.map((n) => (n.kind === 'primitive' ? n.op : n.kind));
const run = async (g: Graph, feeds: Tensor[] | Record<string, Tensor>): Promise<Tensor[]> => (await referenceBackend.compile(g)).run(feeds);
const randn = (shape: number[], seed: number): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 3), { shape });
};

/** The model traced and run below, written once with Tensor ops. */
const W = randn([8, 4], 1);
const model = (x: Tensor): Tensor => mul(tanh(matmul(x, W)), add(sum(x, -1, { keepDims: true }), W.shape[1] as number));

describe('what trace records', () => {
  it('records one node per primitive, with inferred types', () => {
    const g = trace((x, y) => exp(add(neg(x), y)), [{ shape: [2, 3] }, { shape: [3] }]);
    expect(ops(g)).toEqual(['input', 'input', 'neg', 'add', 'exp']);
    const out = g.outputs[0];
    expect(out.shape).toEqual([2, 3]);
    expect(out.dtype).toBe('float32');
    expect(g.inputs.map((i) => i.name)).toEqual(['input0', 'input1']);
  });

  it('lowers composite conveniences to primitives', () => {
    const g = trace((x) => [square(x), greater(x, x), mean(x, 1), swapAxes(x, 0, 1), unsqueeze(x, 0)], [{ shape: [2, 3] }]);
    const prims = new Set(ops(g));
    for (const p of ['mul', 'less', 'reduceSum', 'div', 'transpose', 'reshape']) expect(prims).toContain(p);
    for (const p of ['square', 'greater', 'mean', 'swapAxes', 'unsqueeze']) expect(prims).not.toContain(p);
    expect(g.outputs.map((o) => o.dtype)).toEqual(['float32', 'bool', 'float32', 'float32', 'float32']);
  });

  it('keeps nodes in topological order', () => {
    const g = trace((x) => [model(x), neg(x)], [{ shape: ['B', 8] }]);
    const seen = new Set(g.inputs);
    for (const n of g.nodes) {
      if (n.kind !== 'input') for (const i of n.inputs) expect(seen.has(i as never)).toBe(true);
      seen.add(n as never);
    }
    expect(g.nodes.length).toBe(new Set(g.nodes).size);
  });

  it('turns captured eager tensors into constants, once each', () => {
    const c = tensor([1, 2, 3]);
    const g = trace((x) => add(mul(x, c), c), [{ shape: [3] }]);
    const consts = g.nodes.filter((n) => n.kind === 'primitive' && n.op === 'constant');
    expect(consts).toHaveLength(1);
    expect(consts[0].shape).toEqual([3]);
    expect(ops(g)).toEqual(['input', 'constant', 'mul', 'add']);
  });

  it('turns plain numbers into scalar constants', () => {
    const g = trace((x) => add(x, 2), [{ shape: [3], dtype: 'int32' }]);
    const k = g.nodes.find((n) => n.kind === 'primitive' && n.op === 'constant')!;
    expect(k.shape).toEqual([]);
    expect(k.dtype).toBe('int32');
  });
});

describe('symbolic dims', () => {
  const g = trace(model, [{ shape: ['B', 'T', 8], name: 'x' }]);

  it('infers symbolic output shapes', () => {
    expect(g.outputs[0].shape).toEqual(['B', 'T', 4]);
  });

  it.each([[1, 1], [2, 3], [5, 2]])('runs at B=%i, T=%i and equals the eager result', async (B, T) => {
    const x = randn([B, T, 8], B * 10 + T);
    const [out] = await run(g, [x]);
    const eager = model(x);
    expect(out.shape).toEqual([B, T, 4]);
    expect(out.data()).toEqual(eager.data());
    const [byName] = await run(g, { x });
    expect(byName.data()).toEqual(eager.data());
  });

  it('reshape with -1 and symbolic dims resolves at run time', async () => {
    const h = trace((x) => reshape(x, ['B', -1, 2, 4]), [{ shape: ['B', 'T', 8] }]);
    expect(h.outputs[0].shape).toEqual(['B', 'T', 2, 4]);
    const x = randn([3, 5, 8], 2);
    const [out] = await run(h, [x]);
    expect(out.shape).toEqual([3, 5, 2, 4]);
    expect(out.data()).toEqual(x.data());
    const lead = trace((x) => reshape(x, [-1, 'T', 2, 4]), [{ shape: ['B', 'T', 8] }]);
    expect(lead.outputs[0].shape).toEqual(['B', 'T', 2, 4]);
    // The leftover 2*T is not one dim, so -1 cannot stand for it.
    expect(() => trace((x) => reshape(x, [-1, 8]), [{ shape: [2, 'T', 8] }])).toThrow(/expected a -1 that/);
    expect(() => trace((x) => reshape(x, ['B', -1]), [{ shape: ['B', 'T', 8] }])).toThrow(/reshape: shape expected a -1 that \[B, T, 8\] determines, got \[B, -1\]/);
  });

  it('rejects a feed of the wrong dtype, naming the input', async () => {
    await expect(run(g, [tensor(new Float64Array(8), { shape: [1, 1, 8] })]))
      .rejects.toThrow("reference.run: feed 'x' expected dtype float32, got float64");
  });

  it('rejects a wrong static dim, naming the input', async () => {
    await expect(run(g, [randn([1, 1, 7], 0)])).rejects.toThrow("feed 'x': shape expected [B, T, 8], got [1, 1, 7]");
  });

  it('rejects one symbol bound to two sizes, naming the input and the binding', async () => {
    const h = trace((x, y) => add(x, y), [{ shape: ['B', 3], name: 'x' }, { shape: ['B', 3], name: 'y' }]);
    const err = await run(h, [randn([2, 3], 0), randn([4, 3], 1)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmTricksError);
    expect((err as Error).message).toContain("feed 'y'");
    expect((err as Error).message).toContain('expected [B, 3] with B = 2, got [4, 3]');
  });

  it('rejects missing or extra feeds', async () => {
    const h = trace((x, y) => add(x, y), [{ shape: [2], name: 'x' }, { shape: [2], name: 'y' }]);
    await expect(run(h, [randn([2], 0)])).rejects.toThrow('expected 2 feeds, got 1');
    await expect(run(h, { x: randn([2], 0) })).rejects.toThrow("feed 'y' expected, got none");
  });
});

describe('traced tensors', () => {
  let leaked: Tensor | undefined;
  trace((x) => { leaked = x; return neg(x); }, [{ shape: [2] }]);

  it.each([
    ['data', () => leaked!.data()],
    ['toArray', () => leaked!.toArray()],
    ['item', () => leaked!.item()],
  ])('%s() explains that a traced tensor has no data', (name, fn) => {
    expect(fn).toThrow(`Tensor.${name}: expected an eager tensor, got a traced one`);
  });

  it('reports isTraced and a symbolic size', () => {
    trace((x) => {
      expect(x.isTraced).toBe(true);
      expect(Number.isNaN(x.size)).toBe(true);
      expect(String(x)).toBe('Tensor(float32[B, 2], traced)');
      return x;
    }, [{ shape: ['B', 2] }]);
    expect(tensor([1]).isTraced).toBe(false);
  });

  it('cannot be used in another trace', () => {
    expect(() => trace((y) => add(y, leaked!), [{ shape: [2] }]))
      .toThrow('add: a traced tensor expected from the current trace, got one from another trace');
  });

  it('cannot be used after its trace ended', () => {
    expect(() => neg(leaked!)).toThrow('neg: a traced tensor was used after its trace ended');
  });
});

describe('Graph.toString()', () => {
  it('lists every node with its op and type, then the outputs', () => {
    const g = trace((x, w) => add(matmul(x, w), 1), [{ shape: ['B', 4], name: 'x' }, { shape: [4, 2], name: 'w' }]);
    const text = g.toString();
    const lines = text.split('\n');
    expect(lines).toHaveLength(g.nodes.length + 1);
    g.nodes.forEach((n) => expect(text).toContain(`%${n.id} = `));
    expect(lines[0]).toBe("%0 = input 'x' : float32[B, 4]");
    expect(lines[1]).toBe("%1 = input 'w' : float32[4, 2]");
    expect(text).toContain('matmul(%0, %1) : float32[B, 2]');
    expect(text).toMatch(/constant\(\) \{value=<1 values>, shape=\[\]\} : float32\[\]/);
    expect(lines[lines.length - 1]).toBe(`return %${g.outputs[0].id}`);
  });
});
