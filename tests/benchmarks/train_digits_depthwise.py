#!/usr/bin/python3
"""Trains a small depthwise-separable CNN on the UCI digits for the PTQ accuracy benchmark (issue 11).

Usage: /usr/bin/python3 tests/benchmarks/train_digits_depthwise.py OUT.pt
Made at benchmark build time (CMake runs it), never committed. Deterministic: fixed seed, one thread,
deterministic kernels, the digits split of resources/train_digits_model.py (1437 train, 360 test,
pixels / 16). MobileNet-style blocks: a 3x3 stem, then depthwise 3x3 + pointwise 1x1 pairs, each
conv-bn-ReLU6, average pooling and one Linear layer. Depthwise layers with per-tensor weights are where
post-training quantization loses most (their channels' ranges differ widely), which is what the
benchmark's accuracy techniques are for.
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
import train_digits_model  # noqa: E402  the digits data and split


def conv_bn(inputs, outputs, kernel, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU6())


class DigitsDepthwiseCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 16, 3),
            conv_bn(16, 16, 3, groups=16), conv_bn(16, 32, 1),
            conv_bn(32, 32, 3, stride=2, groups=32), conv_bn(32, 64, 1),
            conv_bn(64, 64, 3, stride=2, groups=64), conv_bn(64, 128, 1),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":  # byte-identical archives (see train_digits_model.py)
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    out_path = sys.argv[1]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, y_train, x_test, y_test = train_digits_model.load_digits()
    model = DigitsDepthwiseCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    epochs = 30
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        scheduler.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    scripted = torch.jit.script(model)
    tmp_path = out_path + ".tmp"
    torch.jit.save(scripted, tmp_path,
                   _extra_files={"quantscope/input_spec.json": json.dumps(train_digits_model.INPUT_SPEC)})
    os.replace(tmp_path, out_path)
    print(f"wrote {out_path}: fp32 top-1 {accuracy * 100:.2f} % on the {len(y_test)} test digits")


if __name__ == "__main__":
    main()
