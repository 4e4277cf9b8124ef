// compare.js: runs MODEL.onnx in ONNX Runtime on the input onnx_bench --dump wrote (PATH.in) and
// prints how far inferd's output (PATH.out) is from ORT's: the largest absolute difference and
// the largest difference relative to the output's largest magnitude. A correctness check for the
// benchmark models (bench/onnx/compare.sh runs it), not a timing.
// Usage: node bench/onnx/compare.js MODEL.onnx PATH BATCH
'use strict';

const fs = require('fs');
const path = require('path');

async function main() {
  const [modelPath, dumpPath, batchText] = process.argv.slice(2);
  if (!modelPath || !dumpPath || !batchText) {
    console.error('usage: node bench/onnx/compare.js MODEL.onnx PATH BATCH');
    process.exit(2);
  }
  const root = process.env.ORT_NODE_DIR || path.resolve(__dirname, '..', '..', 'build', 'ort');
  const ort = require(require.resolve('onnxruntime-node', { paths: [root] }));
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
  const meta = session.inputMetadata[0];
  const shape = meta.shape.map((dim, d) => (d === 0 ? Number(batchText) : dim));
  const bytes = fs.readFileSync(`${dumpPath}.in`);
  const input = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const results = await session.run({ [meta.name]: new ort.Tensor('float32', input, shape) });
  const expected = results[session.outputNames[0]].data;
  const outBytes = fs.readFileSync(`${dumpPath}.out`);
  const got = new Float32Array(outBytes.buffer, outBytes.byteOffset, outBytes.length / 4);
  if (got.length !== expected.length) {
    console.log(`size differs: inferd ${got.length}, ORT ${expected.length}`);
    process.exit(1);
  }
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  console.log(`values=${got.length} max_abs_diff=${maxAbs.toExponential(3)} ` +
    `max_rel_diff=${(maxAbs / (scale || 1)).toExponential(3)}`);
}

main().catch((e) => {
  console.error(`compare.js: ${e.message}`);
  process.exit(1);
});
