// ort_bench.js: the ONNX Runtime side of bench/onnx: how long one session.run of MODEL.onnx takes
// in onnxruntime-node, measured like onnx_bench.c measures inferd (deterministic random input of
// the model's input shape with the given batch, warm-up, then the median and p10 of N timed runs,
// in microseconds). The time includes what the node binding adds to each call (about 10 us per
// call on this machine, see bench/onnx/README.md).
//
// Usage: node bench/onnx/ort_bench.js MODEL.onnx --batch B --threads T [--runs N]
// Needs onnxruntime-node under build/ort (run.sh installs it) or ORT_NODE_DIR pointing at the
// folder whose node_modules holds it.
// Exit status: 0 measured, 1 a run failed, 2 misuse, 3 the model does not load.
'use strict';

const path = require('path');

const EXIT_RUN_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_UNSUPPORTED = 3;

const MIN_TIMED_RUNS = 20;
const MAX_TIMED_RUNS = 1000000;
const MIN_TIMED_NS = 1000000000n; // default: time at least 1 s of runs
const MIN_WARMUP_RUNS = 3;
const MIN_WARMUP_NS = 200000000n;
const INPUT_SEED = 0x1f2e3d4c;

const USAGE = 'usage: node ort_bench.js MODEL.onnx --batch B --threads T [--runs N]';

function fail(status, message) {
  process.stderr.write(`ort_bench: ${message}\n`);
  process.exit(status);
}

// Returns {modelPath, batch, threads, runs} (runs 0: choose from the warm-up), or exits with 2.
function parseOptions(argv) {
  const opts = { modelPath: null, batch: 0, threads: 0, runs: 0 };
  const limits = { '--batch': 1 << 20, '--threads': 1024, '--runs': MAX_TIMED_RUNS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) {
      if (opts.modelPath !== null) fail(EXIT_USAGE, `more than one model given ('${arg}')\n${USAGE}`);
      opts.modelPath = arg;
      continue;
    }
    const text = argv[++i];
    const value = Number(text);
    if (!(arg in limits) || !/^[0-9]+$/.test(text || '') || value < 1 || value > limits[arg]) {
      fail(EXIT_USAGE, `bad option or value: ${arg} ${text}\n${USAGE}`);
    }
    opts[arg.slice(2)] = value;
  }
  if (opts.modelPath === null || opts.batch === 0 || opts.threads === 0) {
    fail(EXIT_USAGE, `MODEL.onnx, --batch and --threads are required\n${USAGE}`);
  }
  return opts;
}

function loadOrt() {
  const root = process.env.ORT_NODE_DIR || path.resolve(__dirname, '..', '..', 'build', 'ort');
  try {
    return require(require.resolve('onnxruntime-node', { paths: [root] }));
  } catch (e) {
    fail(EXIT_RUN_FAILED, `onnxruntime-node not found under ${root} (bench/onnx/run.sh installs it): ${e.message}`);
  }
}

// mulberry32: a small seeded generator, so that the input is the same on every run.
function makeRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPED_ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, bool: Uint8Array,
};

// One tensor per model input, batch rows: float uniform in [-1, 1), integers zero.
function makeFeeds(ort, session, batch) {
  const random = makeRandom(INPUT_SEED);
  const feeds = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) fail(EXIT_USAGE, `input '${meta.name}' is not a tensor`);
    if (meta.shape.length < 1) fail(EXIT_USAGE, `input '${meta.name}' has no batch dimension`);
    const shape = meta.shape.map((dim, d) => (d === 0 ? batch : dim));
    shape.forEach((dim, d) => {
      if (typeof dim !== 'number' || dim < 0) {
        fail(EXIT_USAGE, `input '${meta.name}' has a symbolic dimension ${d}; only the first (the batch) may be`);
      }
    });
    const ArrayType = TYPED_ARRAYS[meta.type];
    if (ArrayType === undefined) fail(EXIT_USAGE, `input '${meta.name}': unsupported type ${meta.type}`);
    const data = new ArrayType(shape.reduce((a, b) => a * b, 1));
    if (meta.type === 'float32' || meta.type === 'float64') {
      for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
    }
    feeds[meta.name] = new ort.Tensor(meta.type, data, shape);
  }
  return feeds;
}

// The value at fraction q of the sorted array (nearest rank, as onnx_bench.c).
function quantile(sorted, q) {
  const rank = Math.ceil(q * sorted.length);
  return sorted[rank < 1 ? 0 : rank - 1];
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const ort = loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(opts.modelPath, {
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    fail(EXIT_UNSUPPORTED, e.message);
  }
  const feeds = makeFeeds(ort, session, opts.batch);

  async function runOnce() {
    const start = process.hrtime.bigint();
    const results = await session.run(feeds);
    return [process.hrtime.bigint() - start, results];
  }

  let warmupRuns = 0;
  let warmupNs = 0n;
  let results;
  try {
    while (warmupRuns < MIN_WARMUP_RUNS || warmupNs < MIN_WARMUP_NS) {
      const [elapsed, out] = await runOnce();
      results = out;
      warmupNs += elapsed;
      warmupRuns++;
    }
    // Timed runs: exactly opts.runs, or until MIN_TIMED_NS have passed and there are at least
    // MIN_TIMED_RUNS.
    const samples = [];
    let timedNs = 0n;
    while (opts.runs > 0 ? samples.length < opts.runs
      : (samples.length < MIN_TIMED_RUNS || timedNs < MIN_TIMED_NS) && samples.length < MAX_TIMED_RUNS) {
      const [elapsed] = await runOnce();
      samples.push(Number(elapsed) / 1000);
      timedNs += elapsed;
    }
    const runs = samples.length;
    const runUs = Float64Array.from(samples);
    runUs.sort();
    const outputShape = `[${results[session.outputNames[0]].dims.join(',')}]`;
    process.stdout.write(
      `engine=ort-${ort.env.versions.node} batch=${opts.batch} threads=${opts.threads} runs=${runs} ` +
      `median_us=${quantile(runUs, 0.5).toFixed(2)} p10_us=${quantile(runUs, 0.1).toFixed(2)} ` +
      `output=${outputShape}\n`);
  } catch (e) {
    fail(EXIT_RUN_FAILED, `run failed: ${e.message}`);
  }
}

main();
