#!/usr/bin/env node
// Runs an `s8net export --format onnx` model through ONNX Runtime and compares its log-probabilities
// with s8net's own for the same images, as written by the test tool onnx_reference.
//
//   s8net export --checkpoint C --format onnx --out m.onnx
//   build/ci/tests/onnx_reference C ref 8            # ref/input.f32 and ref/expected.f32
//   (cd some-scratch-dir && npm install --ignore-scripts onnxruntime-node)
//   NODE_PATH=some-scratch-dir/node_modules node scripts/check_onnx_with_onnxruntime.js m.onnx ref
//
// Prints the largest absolute difference and how many images get the same predicted class; exits
// 1 when the difference exceeds the tolerance (third argument, default 1e-4) or a class differs, 2
// for bad arguments.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [modelPath, refDir, toleranceText] = process.argv.slice(2);
  if (!modelPath || !refDir) {
    console.error('usage: check_onnx_with_onnxruntime.js MODEL.onnx REF_DIR [TOLERANCE]');
    process.exit(2);
  }
  const tolerance = toleranceText === undefined ? 1e-4 : Number(toleranceText);
  const ort = require('onnxruntime-node');
  const floats = (file) => {
    const bytes = fs.readFileSync(path.join(refDir, file));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  };
  const input = floats('input.f32');
  const expected = floats('expected.f32');
  const batch = input.length / (3 * 32 * 32);
  if (!Number.isInteger(batch) || expected.length !== batch * 10) {
    console.error(`${refDir}: input.f32 and expected.f32 do not hold the same number of images`);
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(modelPath);
  const result = await session.run({ input: new ort.Tensor('float32', input, [batch, 3, 32, 32]) });
  const got = result.log_probabilities;
  if (got.dims.join(',') !== `${batch},10`) {
    console.error(`${modelPath}: log_probabilities is [${got.dims}], not [${batch}, 10]`);
    process.exit(1);
  }
  let worst = 0;
  for (let i = 0; i < expected.length; ++i) worst = Math.max(worst, Math.abs(got.data[i] - expected[i]));
  const argmax = (values, n) => {
    let best = 0;
    for (let k = 1; k < 10; ++k) if (values[n * 10 + k] > values[n * 10 + best]) best = k;
    return best;
  };
  let sameClass = 0;
  for (let n = 0; n < batch; ++n) sameClass += argmax(got.data, n) === argmax(expected, n) ? 1 : 0;
  console.log(`${modelPath}: ONNX Runtime ${ort.env.versions ? ort.env.versions.common : ''} on ${batch} images, ` +
              `max |difference| from s8net ${worst.toExponential(2)} (tolerance ${tolerance}), ` +
              `the same predicted class for ${sameClass} of ${batch}`);
  process.exit(worst <= tolerance && sameClass === batch ? 0 : 1);
}

main().catch((e) => {
  console.error(`check_onnx_with_onnxruntime: ${e.message}`);
  process.exit(1);
});
