#!/usr/bin/python3
"""Trains QuantScope's built-in demo model on the UCI hand-written digits and exports it as TorchScript.

Run with Debian's python3-torch:  /usr/bin/python3 resources/train_digits_model.py [out.pt]
It also writes resources/digits_student.pt: a small, untrained DigitsStudent for the distillation demo
(`--student-only` writes just that, without retraining the teacher).
It is deterministic (fixed seed, one thread, deterministic kernels): running it again rewrites
resources/digits_cnn.pt with identical weights. The split is the one the C++ loader uses:
sample i is a test sample when i % 5 == 0 (360 test, 1437 train). Pixels are 0..16, fed as pixel / 16.
"""
import gzip
import json
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT_SPEC = {"shape": [1, 1, 8, 8], "dtype": "float32"}


def load_digits():
    with gzip.open(os.path.join(HERE, "digits.csv.gz"), "rt") as f:
        rows = [[float(v) for v in line.split(",")] for line in f if line.strip()]
    data = torch.tensor(rows)
    x = (data[:, :64] / 16.0).reshape(-1, 1, 8, 8)
    y = data[:, 64].long()
    is_test = torch.arange(len(rows)) % 5 == 0
    return x[~is_test], y[~is_test], x[is_test], y[is_test]


class DigitsCNN(nn.Module):
    """conv-bn-relu x2, max-pool, a residual conv-bn block, then two Linear layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.relu3 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32 * 4 * 4, 128)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.pool(self.relu2(self.bn2(self.conv2(x))))
        x = self.relu3(self.bn3(self.conv3(x)) + x)
        x = self.relu4(self.fc1(self.flatten(x)))
        return self.fc2(x)


class DigitsStudent(nn.Module):
    """A student for distillation: one conv-bn-relu, max-pool, two Linear layers (about 1/20 of the teacher)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(8 * 4 * 4, 32)
        self.relu2 = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        return self.fc2(self.relu2(self.fc1(self.flatten(x))))


def save(module, out_path):
    scripted = torch.jit.script(module.eval())
    tmp_path = out_path + ".tmp"
    torch.jit.save(scripted, tmp_path, _extra_files={"quantscope/input_spec.json": json.dumps(INPUT_SPEC)})
    os.replace(tmp_path, out_path)
    print(f"wrote {out_path}")


def write_student():
    torch.manual_seed(1)  # untrained: initial weights only, fixed
    save(DigitsStudent(), os.path.join(HERE, "digits_student.pt"))


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript writes class constants in set order; a fixed hash seed makes the archive byte-identical.
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    if "--student-only" in sys.argv:
        write_student()
        return
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "digits_cnn.pt")
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, y_train, x_test, y_test = load_digits()

    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    for epoch in range(30):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"test accuracy {accuracy * 100:.2f} % on {len(y_test)} samples; last batch loss {loss.item():.4f}")
    if accuracy < 0.97:
        sys.exit("accuracy below the 97 % the demo promises; not writing the model")
    save(model, out_path)
    write_student()


if __name__ == "__main__":
    main()
