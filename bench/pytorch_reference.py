#!/usr/bin/env python3
"""The references s8net is measured against: docs/network.md's S8 network in PyTorch (Debian's
python3-torch 1.13, on the same oneDNN), timed the way bench_train times s8net.

    python3 bench/pytorch_reference.py --out pytorch.json [--threads 2] [--min-time 2] [--filter RE]
                                       [--context KEY=VALUE,...]
    python3 bench/pytorch_reference.py --export-onnx DIR     (DIR/s8-bn.onnx, s8-gn.onnx, s8-ln.onnx)

Writes Google Benchmark's JSON layout, items_per_second = images/s, one name per way of running
the network, so that bench_report puts them beside s8net and picks the fastest:
    PyTorch/TrainStep/bn/32                 eager, contiguous (NCHW) tensors
    PyTorch-channels_last/TrainStep/bn/32   eager, model and input in torch.channels_last
    PyTorch/Inference/ln/256                eager under torch.no_grad()
    PyTorch-channels_last/Inference/ln/256
    PyTorch-frozen/Inference/ln/256         torch.jit.trace, freeze, optimize_for_inference
                                            (BatchNorm folded into the convolutions)
--export-onnx writes the same network, in eval mode, as ONNX (opset 13, dynamic batch) for
bench/onnxruntime_reference.js. This is a reference for measurement only; nothing in s8net uses it.
"""
import argparse
import json
import os
import platform
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NORMS = ("bn", "gn", "ln")
TRAIN_BATCHES = (32, 128)
INFERENCE_BATCHES = (32, 128, 256)


def norm_layer(kind, channels):
    if kind == "bn":
        return nn.BatchNorm2d(channels)  # eps 1e-5, momentum 0.1: docs/network.md's
    return nn.GroupNorm(2 if kind == "gn" else 1, channels)


class S8(nn.Module):
    """C1 C2 c3 P1 C3 C4 C5 c6 P2 C7 C8 C9 GAP c10, skips C3->C5 and C7->C9 (docs/network.md)."""

    def __init__(self, kind):
        super().__init__()
        def block(cin, cout):
            return nn.ModuleList([nn.Conv2d(cin, cout, 3, padding=1), norm_layer(kind, cout)])
        self.c1, self.c2 = block(3, 16), block(16, 16)
        self.c3 = nn.Conv2d(16, 8, 1)
        self.C3, self.C4, self.C5 = block(8, 32), block(32, 32), block(32, 32)
        self.c6 = nn.Conv2d(32, 16, 1)
        self.C7, self.C8, self.C9 = block(16, 32), block(32, 32), block(32, 32)
        self.c10 = nn.Conv2d(32, 10, 1)
        self.drop = nn.Dropout(0.01)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def run(b, x):
        return F.relu(b[1](b[0](x)))

    def forward(self, x):
        x = self.run(self.c2, self.run(self.c1, x))
        x = self.drop(F.max_pool2d(self.c3(x), 2))
        s = self.run(self.C3, x)
        x = self.run(self.C5, self.run(self.C4, s)) + s
        x = self.drop(F.max_pool2d(self.c6(x), 2))
        s = self.run(self.C7, x)
        x = self.run(self.C9, self.run(self.C8, s)) + s
        x = self.c10(F.adaptive_avg_pool2d(x, 1))
        return F.log_softmax(x.flatten(1), dim=1)


def new_model(kind):
    torch.manual_seed(1)  # every variant starts from the same weights
    return S8(kind)


def images(batch, memory_format=torch.contiguous_format):
    return torch.randn(batch, 3, 32, 32).contiguous(memory_format=memory_format)


# Every variant is timed by this one function, so that they differ only in how PyTorch runs.
def timed(step, min_time):
    for _ in range(5):  # warm-up: oneDNN primitive creation, allocator, TorchScript profiling runs
        step()
    iterations, start = 0, time.perf_counter()
    while True:
        step()
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return iterations, elapsed


def entry(name, iterations, elapsed, batch):
    return {"name": name, "run_name": name, "run_type": "iteration", "iterations": iterations,
            "real_time": elapsed / iterations * 1e3, "cpu_time": elapsed / iterations * 1e3,
            "time_unit": "ms", "items_per_second": iterations * batch / elapsed}


# A training step: forward, NLL loss, backward, SGD with momentum (docs/network.md's recipe).
def train_step(kind, batch, memory_format):
    model = new_model(kind).to(memory_format=memory_format).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.95)
    x, y = images(batch, memory_format), torch.arange(batch) % 10

    def step():
        optimizer.zero_grad()
        F.nll_loss(model(x), y).backward()
        optimizer.step()
    return step


def eager_inference(kind, batch, memory_format):
    model = new_model(kind).to(memory_format=memory_format).eval()
    x = images(batch, memory_format)

    def step():
        with torch.no_grad():
            model(x)
    return step


# TorchScript's inference path: traced (the forward has no data-dependent control flow), frozen
# (weights become constants, BatchNorm folds into the convolution before it) and rewritten by
# optimize_for_inference (oneDNN layouts kept between convolutions).
def frozen_inference(kind, batch):
    x = images(batch)
    with torch.no_grad():
        model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(new_model(kind).eval(), x)))

    def step():
        with torch.no_grad():
            model(x)
    return step


def cases(kind):
    """(name, batch, make_step) of every variant for one norm, in the order they are timed."""
    cl = torch.channels_last
    for batch in TRAIN_BATCHES:
        yield f"PyTorch/TrainStep/{kind}/{batch}", batch, lambda b=batch: train_step(kind, b, torch.contiguous_format)
        yield f"PyTorch-channels_last/TrainStep/{kind}/{batch}", batch, lambda b=batch: train_step(kind, b, cl)
    for batch in INFERENCE_BATCHES:
        yield f"PyTorch/Inference/{kind}/{batch}", batch, lambda b=batch: eager_inference(kind, b, torch.contiguous_format)
        yield f"PyTorch-channels_last/Inference/{kind}/{batch}", batch, lambda b=batch: eager_inference(kind, b, cl)
        yield f"PyTorch-frozen/Inference/{kind}/{batch}", batch, lambda b=batch: frozen_inference(kind, b)


def parse_context(text):
    """KEY=VALUE,... as Google Benchmark's --benchmark_context takes it."""
    context = {}
    for pair in filter(None, text.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"pytorch_reference.py: --context wants KEY=VALUE,..., got '{text}'")
        context[key] = value
    return context


def export_onnx(directory):
    """The network in eval mode as DIR/s8-<norm>.onnx, any batch size, for ONNX Runtime."""
    os.makedirs(directory, exist_ok=True)
    for kind in NORMS:
        path = os.path.join(directory, f"s8-{kind}.onnx")
        torch.onnx.export(new_model(kind).eval(), images(2), path, opset_version=13,
                          input_names=["images"], output_names=["log_probabilities"],
                          dynamic_axes={"images": {0: "batch"}, "log_probabilities": {0: "batch"}})
        print(f"written: {path}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="JSON file to write")
    parser.add_argument("--export-onnx", metavar="DIR", help="write DIR/s8-{bn,gn,ln}.onnx and time nothing")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds per benchmark")
    parser.add_argument("--filter", default="", help="run only the cases whose name (TrainStep/bn/32) or full "
                        "name (PyTorch-frozen/Inference/ln/256) this regular expression matches, as "
                        "--benchmark_filter")
    parser.add_argument("--context", default="", help="KEY=VALUE,... added to the JSON's context, as "
                        "--benchmark_context (bench/compare_with_pytorch.sh labels the CPU and ISA so)")
    args = parser.parse_args()
    if args.export_onnx:
        export_onnx(args.export_onnx)
        return
    if not args.out:
        parser.error("--out is required (or --export-onnx DIR)")
    if args.threads < 1 or args.min_time <= 0:
        parser.error("--threads must be at least 1 and --min-time positive")
    try:
        wanted = re.compile(args.filter)
    except re.error as e:
        parser.error(f"--filter is not a regular expression: {e}")
    extra_context = parse_context(args.context)
    torch.set_num_threads(args.threads)
    results = []
    for kind in NORMS:
        for name, batch, make_step in cases(kind):
            if not (wanted.search(name.split("/", 1)[1]) or wanted.search(name)):
                continue
            iterations, elapsed = timed(make_step(), args.min_time)
            results.append(entry(name, iterations, elapsed, batch))
            print(f"{name:44s} {results[-1]['items_per_second']:9.0f} img/s", flush=True)
    if not results:
        sys.exit(f"pytorch_reference.py: --filter '{args.filter}' matches no case")
    context = {"executable": "bench/pytorch_reference.py", "torch": torch.__version__,
               "threads": args.threads, "host_name": platform.node(),
               "onednn": torch.backends.mkldnn.is_available(), **extra_context}
    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": results}, f, indent=2)


if __name__ == "__main__":
    main()
