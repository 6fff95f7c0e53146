#!/usr/bin/env python3
"""The reference s8net is measured against: docs/network.md's S8 network in PyTorch (Debian's
python3-torch 1.13, on the same oneDNN), timed the way bench_train times s8net.

    python3 bench/pytorch_reference.py --out pytorch.json [--threads 2] [--min-time 2] [--filter RE]

Writes Google Benchmark's JSON layout, names prefixed "PyTorch/" (PyTorch/TrainStep/bn/32,
PyTorch/Inference/ln/256, ...), items_per_second = images/s, so bench_report puts both side by
side. This is a reference for measurement only; nothing in s8net uses it.
"""
import argparse
import json
import platform
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


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


def timed(step, min_time):
    for _ in range(5):  # warm-up: oneDNN primitive creation, allocator
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds per benchmark")
    parser.add_argument("--filter", default="", help="run only the cases whose name (TrainStep/bn/32, "
                        "Inference/ln/256, ...) this regular expression matches, as --benchmark_filter")
    args = parser.parse_args()
    wanted = re.compile(args.filter)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    results = []
    for kind in ("bn", "gn", "ln"):
        for batch in (32, 128):
            if not wanted.search(f"TrainStep/{kind}/{batch}"):
                continue
            model = S8(kind).train()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.95)
            x, y = torch.randn(batch, 3, 32, 32), torch.arange(batch) % 10

            def train_step():
                optimizer.zero_grad()
                F.nll_loss(model(x), y).backward()
                optimizer.step()
            iterations, elapsed = timed(train_step, args.min_time)
            results.append(entry(f"PyTorch/TrainStep/{kind}/{batch}", iterations, elapsed, batch))
            print(f"{results[-1]['name']:32s} {results[-1]['items_per_second']:9.0f} img/s", flush=True)
        for batch in (32, 128, 256):
            if not wanted.search(f"Inference/{kind}/{batch}"):
                continue
            model = S8(kind).eval()
            x = torch.randn(batch, 3, 32, 32)

            def infer():
                with torch.no_grad():
                    model(x)
            iterations, elapsed = timed(infer, args.min_time)
            results.append(entry(f"PyTorch/Inference/{kind}/{batch}", iterations, elapsed, batch))
            print(f"{results[-1]['name']:32s} {results[-1]['items_per_second']:9.0f} img/s", flush=True)
    context = {"executable": "bench/pytorch_reference.py", "torch": torch.__version__,
               "threads": args.threads, "host_name": platform.node(),
               "onednn": torch.backends.mkldnn.is_available()}
    with open(args.out, "w") as f:
        json.dump({"context": context, "benchmarks": results}, f, indent=2)


if __name__ == "__main__":
    main()
