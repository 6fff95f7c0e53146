#!/usr/bin/env node
// ONNX Runtime's CPU inference of docs/network.md's S8 network, as a reference for s8net's, timed
// the way bench/pytorch_reference.py times PyTorch (5 warm-up runs, then repeat for --min-time).
//
//   python3 bench/pytorch_reference.py --export-onnx MODELS        (MODELS/s8-{bn,gn,ln}.onnx)
//   npm install --prefix ORT_DIR --ignore-scripts onnxruntime-node (its CPU library is in the package)
//   node bench/onnxruntime_reference.js --ort-dir ORT_DIR --models MODELS --out ort.json
//        [--threads 2] [--min-time 2] [--filter RE] [--context KEY=VALUE,...]
//
// Writes Google Benchmark's JSON layout with names OnnxRuntime/Inference/<norm>/<batch> and
// items_per_second = images/s, for bench_report. One session per model: `--threads` intra-op
// threads (the calling thread counts as one, as in PyTorch's set_num_threads), sequential
// execution, every graph optimization. ONNX Runtime's kernels (MLAS) choose their instruction set
// from the CPU alone: ONEDNN_MAX_CPU_ISA does not reach them.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const NORMS = ['bn', 'gn', 'ln'];
const BATCHES = [32, 128, 256];
const USAGE = 'usage: onnxruntime_reference.js --ort-dir DIR --models DIR --out FILE [--threads N] ' +
              '[--min-time SECONDS] [--filter RE] [--context KEY=VALUE,...]';

function fail(message) {
  process.stderr.write(`onnxruntime_reference.js: ${message}\n`);
  process.exit(2);
}

function parseArguments(argv) {
  const options = {threads: 2, minTime: 2, filter: '', context: ''};
  const names = {'--ort-dir': 'ortDir', '--models': 'models', '--out': 'out', '--threads': 'threads',
                 '--min-time': 'minTime', '--filter': 'filter', '--context': 'context'};
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    let [flag, value] = argv[i].split(/=(.*)/s);
    if (!(flag in names)) fail(`unknown argument '${argv[i]}' (${USAGE})`);
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      value = argv[++i];
    }
    options[names[flag]] = value;
  }
  for (const needed of ['ortDir', 'models', 'out'])
    if (!options[needed]) fail(`--${needed.replace(/[A-Z]/g, c => '-' + c.toLowerCase())} is required (${USAGE})`);
  options.threads = Number(options.threads);
  options.minTime = Number(options.minTime);
  if (!Number.isInteger(options.threads) || options.threads < 1) fail('--threads must be a positive integer');
  if (!(options.minTime > 0)) fail('--min-time must be a positive number of seconds');
  try {
    options.filter = new RegExp(options.filter);
  } catch (e) {
    fail(`--filter is not a regular expression: ${e.message}`);
  }
  const context = {};
  for (const pair of options.context.split(',').filter(p => p)) {
    const at = pair.indexOf('=');
    if (at < 1) fail(`--context wants KEY=VALUE,..., got '${options.context}'`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  options.context = context;
  return options;
}

// The package from `npm install --prefix DIR`, not from wherever node would look by itself, so that
// the comparison runs the version it installed.
function loadOnnxRuntime(ortDir) {
  const where = path.join(path.resolve(ortDir), 'node_modules', 'onnxruntime-node');
  try {
    return require(where);
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${where} (npm install --prefix ${ortDir} --ignore-scripts ` +
         `onnxruntime-node): ${e.message}`);
  }
}

// Every case is timed by this one function; `step` is one inference run.
async function timed(step, minTime) {
  for (let i = 0; i < 5; ++i) await step();  // warm-up: allocator, kernel selection, thread pool
  let iterations = 0;
  const start = process.hrtime.bigint();
  for (;;) {
    await step();
    ++iterations;
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed >= minTime) return {iterations, elapsed};
  }
}

function entry(name, {iterations, elapsed}, batch) {
  const ms = elapsed / iterations * 1e3;
  return {name, run_name: name, run_type: 'iteration', iterations, real_time: ms, cpu_time: ms,
          time_unit: 'ms', items_per_second: iterations * batch / elapsed};
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const ort = loadOnnxRuntime(options.ortDir);
  const sessionOptions = {intraOpNumThreads: options.threads, interOpNumThreads: 1, executionMode: 'sequential',
                          graphOptimizationLevel: 'all', executionProviders: ['cpu']};
  const results = [];
  for (const norm of NORMS) {
    const batches = BATCHES.filter(b => options.filter.test(`Inference/${norm}/${b}`) ||
                                        options.filter.test(`OnnxRuntime/Inference/${norm}/${b}`));
    if (batches.length === 0) continue;
    const model = path.join(options.models, `s8-${norm}.onnx`);
    if (!fs.existsSync(model)) fail(`${model} is missing (python3 bench/pytorch_reference.py --export-onnx ${options.models})`);
    const session = await ort.InferenceSession.create(model, sessionOptions);
    for (const batch of batches) {
      const pixels = Float32Array.from({length: batch * 3 * 32 * 32}, () => Math.random() * 2 - 1);
      const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', pixels, [batch, 3, 32, 32])};
      const name = `OnnxRuntime/Inference/${norm}/${batch}`;
      results.push(entry(name, await timed(() => session.run(feeds), options.minTime), batch));
      process.stdout.write(`${name.padEnd(44)} ${results.at(-1).items_per_second.toFixed(0).padStart(9)} img/s\n`);
    }
    await session.release();
  }
  if (results.length === 0) fail(`--filter '${options.filter.source}' matches no case`);
  const context = {executable: 'bench/onnxruntime_reference.js', onnxruntime: ort.env.versions.common,
                   threads: options.threads, host_name: os.hostname(), ...options.context};
  fs.writeFileSync(options.out, JSON.stringify({context, benchmarks: results}, null, 2));
}

main().catch(e => {
  process.stderr.write(`onnxruntime_reference.js: ${e.stack || e}\n`);
  process.exit(1);
});
