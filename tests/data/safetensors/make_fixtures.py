#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures of s8net's import (tests/test_state_dict.cpp), with torch only.

    python3 tests/data/safetensors/make_fixtures.py [OUTPUT_DIRECTORY]

For each norm (bn, gn, ln), NORM.safetensors is the state_dict of the original S8 model, Net(norm),
with seeded random weights and, for bn, random running statistics. expected.safetensors holds a
few input images ("images", 4 x 3 x 32 x 32) and each model's log-probabilities for them in
eval mode ("bn", "gn", "ln", 4 x 10), computed in float64. The committed files are what the tests
read; this script regenerates them and defines Net for the tests that run PyTorch.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "scripts"))
from pt_to_safetensors import write_safetensors  # noqa: E402


def norm_layer(norm, channels):
    if norm == "bn":
        return nn.BatchNorm2d(channels)
    if norm == "gn":
        return nn.GroupNorm(2, channels)
    if norm == "ln":
        return nn.GroupNorm(1, channels)
    raise ValueError(f"norm {norm!r}: the original has bn, gn and ln")


class Block(nn.Module):
    """Three 3x3 conv + norm + ReLU; the skip adds the first one's output to the third's. Block 1
    runs only the first two (its conv3 and n3 exist but are unused, as in the original)."""

    def __init__(self, norm, cin, cout, filter_out=None, uses_third=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.n1 = norm_layer(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.n2 = norm_layer(norm, cout)
        self.conv3 = nn.Conv2d(cout, cout, 3, padding=1)
        self.n3 = norm_layer(norm, cout)
        self.uses_third = uses_third
        if filter_out is not None:
            self.filter1x = nn.Conv2d(cout, filter_out, 1)
        self.has_filter = filter_out is not None

    def forward(self, x):
        x = F.relu(self.n1(self.conv1(x)))
        if self.uses_third:
            skip = x
            x = F.relu(self.n2(self.conv2(x)))
            x = F.relu(self.n3(self.conv3(x))) + skip
        else:
            x = F.relu(self.n2(self.conv2(x)))
        if self.has_filter:
            x = F.dropout(F.max_pool2d(self.filter1x(x), 2), 0.01, self.training)
        return x


class Net(nn.Module):
    """The S8 network (docs/network.md): C1 C2 c3 P1 C3 C4 C5 c6 P2 C7 C8 C9 GAP c10."""

    def __init__(self, norm="bn"):
        super().__init__()
        self.block1 = Block(norm, 3, 16, filter_out=8, uses_third=False)
        self.block2 = Block(norm, 8, 32, filter_out=16)
        self.block3 = Block(norm, 16, 32)
        self.flat = nn.Conv2d(32, 10, 1)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(x)))
        x = self.flat(F.adaptive_avg_pool2d(x, 1))
        return F.log_softmax(x.view(-1, 10), dim=1)


def seeded_net(norm, seed):
    torch.manual_seed(seed)
    net = Net(norm)
    # Norm values away from their initial 1 and 0, so that a swapped tensor changes the result.
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(7)
    return net.eval()


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(2024)
    images = torch.randn(4, 3, 32, 32)
    expected = {"images": images}
    for seed, norm in enumerate(("bn", "gn", "ln"), start=1):
        net = seeded_net(norm, seed)
        write_safetensors(os.path.join(out, f"{norm}.safetensors"), net.state_dict(), {"format": "pt"})
        with torch.no_grad():
            expected[norm] = net.double()(images.double()).float()
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)


if __name__ == "__main__":
    main(sys.argv)
