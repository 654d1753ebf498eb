/**
 * Computes a gradient on the reference backend three ways: eagerly with
 * `grad`, by tracing a graph and differentiating it with `vjp`, and by
 * running that gradient graph at a batch size chosen at run time.
 *
 * Run: npx tsx examples/gradient.ts
 */
import { grad, matmul, mean, referenceBackend, square, sub, tanh, tensor, trace, vjp, type Tensor } from 'llm-tricks';

// A one-layer model: mean squared error of tanh(x W) against y.
const loss = (x: Tensor, w: Tensor, y: Tensor): Tensor =>
  mean(square(sub(tanh(matmul(x, w)), y)));

const x = tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]); // (B=2, C=3)
const w = tensor([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]); // (C=3, 2)
const y = tensor([[0.0, 1.0], [1.0, 0.0]]); // (B=2, 2)

// 1. Eager: trace, differentiate and run in one call.
const [, dw] = grad(loss)(x, w, y);
console.log('dL/dW (eager):', dw.toArray());

// 2. Graph: trace once with a symbolic batch dimension, differentiate with respect to W.
const graph = trace(loss, [
  { name: 'x', shape: ['batch', 3] },
  { name: 'w', shape: [3, 2] },
  { name: 'y', shape: ['batch', 2] },
]);
const gradGraph = vjp(graph, { wrt: ['w'] });
console.log(`the gradient graph has ${gradGraph.nodes.length} nodes`);

// 3. Compile and run it; the cotangent of a scalar loss is 1.
const step = await referenceBackend.compile(gradGraph);
const [value, dwGraph] = await step.run({ x, w, y, cotangent0: tensor(1) });
console.log('loss:', value.item(), 'dL/dW (graph):', dwGraph.toArray());

// The same compiled graph takes another batch size.
const [value3] = await step.run({ x: tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), w, y: tensor([[0, 1], [1, 0], [0, 0]]), cotangent0: tensor(1) });
console.log('loss at batch 3:', value3.item());
