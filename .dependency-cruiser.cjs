/**
 * The layers of src/ and which way imports may go, checked in CI by
 * `npm run check:layers` (dependency-cruiser, which also sees type-only
 * imports and inline `import()` types). docs/architecture.md draws them.
 *
 * From the bottom: core (dtype, shape, errors, random bits, io) → ir (the
 * graph and primitives; no Tensor) → trace (Tensor, tracing, ops, replay,
 * composites) → autodiff → functional → nn and optim → train and run
 * (Trainer, Generator, export) → the entry points. Backends implement the
 * Backend interface over the ir; only the entry points pick one. The
 * reference backend is the ir's spec kernels (ir/evaluate.ts, ir/kernels/)
 * behind that interface, in run/, where the Trainer and the Generator take
 * it as their default.
 */
const CORE = '^src/(core|io)/';
const IR = '^src/ir/';
const TRACE = '^src/trace/';
const ABOVE_TRACE = '^src/(autodiff|functional|nn|optim|train|run|hub)/';
const ENTRIES = '^src/(index|node|web)\\.ts$';
// Backends that run graphs; the ONNX lowering (backends/onnx) is a format that export writes.
const RUNNERS = '^src/backends/(ort|ort-node|ort-web)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import circle, type-only edges included.', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-bottom', severity: 'error', comment: 'core imports nothing of the library above it.',
      from: { path: CORE }, to: { path: '^src/', pathNot: CORE },
    },
    {
      name: 'ir-has-no-tensor', severity: 'error', comment: 'The graph, primitives and shape inference know nothing of the Tensor class or anything above.',
      from: { path: IR }, to: { path: '^src/', pathNot: `${CORE}|${IR}` },
    },
    {
      name: 'trace-is-below-the-blocks', severity: 'error', comment: 'Tensors, tracing and ops import nothing from autodiff, functional, nn, optim, train or run.',
      from: { path: TRACE }, to: { path: ABOVE_TRACE },
    },
    {
      name: 'autodiff-is-below-functional', severity: 'error',
      from: { path: '^src/autodiff/' }, to: { path: '^src/(functional|nn|optim|train|run)/' },
    },
    {
      name: 'functional-is-below-modules', severity: 'error',
      from: { path: '^src/functional/' }, to: { path: '^src/(nn|optim|train|run)/' },
    },
    {
      name: 'modules-are-below-training', severity: 'error', comment: 'Blocks and optimizers import nothing from train or run.',
      from: { path: '^src/(nn|optim)/' }, to: { path: '^src/(train|run)/' },
    },
    {
      name: 'nn-and-optim-are-siblings', severity: 'error', comment: 'Blocks and optimizers do not import each other.',
      from: { path: '^src/nn/' }, to: { path: '^src/optim/' },
    },
    {
      name: 'optim-and-nn-are-siblings', severity: 'error',
      from: { path: '^src/optim/' }, to: { path: '^src/nn/' },
    },
    {
      name: 'run-is-below-train', severity: 'error', comment: 'The Trainer may use run/ (its default backend); Generator and export know nothing of training.',
      from: { path: '^src/run/' }, to: { path: '^src/train/' },
    },
    {
      name: 'hub-is-the-top', severity: 'error', comment: 'Hugging Face in/out (hub/) builds on nn, train and run; only the entry points import it.',
      from: { path: '^src/', pathNot: `^src/hub/|${ENTRIES}` }, to: { path: '^src/hub/' },
    },
    {
      name: 'only-entries-pick-a-backend', severity: 'error',
      comment: 'Nothing above the backends imports one (the Backend interface in backends/backend.ts is allowed); the entry points do.',
      from: { path: '^src/', pathNot: `^src/backends/|${ENTRIES}` }, to: { path: RUNNERS },
    },
    {
      name: 'backends-know-nothing-above-trace', severity: 'error',
      comment: 'A backend lowers and runs IR graphs: it imports no autodiff, functional, nn, optim, train or run.',
      from: { path: '^src/backends/' }, to: { path: ABOVE_TRACE },
    },
    {
      name: 'onnx-lowering-only-from-backends-run-and-entries', severity: 'error',
      from: { path: '^src/', pathNot: `^src/(backends|run)/|${ENTRIES}` }, to: { path: '^src/backends/onnx/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/backends/onnx/generated/' },
  },
};
