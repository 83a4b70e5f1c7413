#!/usr/bin/python3
"""PyTorch's own numbers for the dynamic-quantization benchmark (Debian's python3-torch, same kernels).

Usage: pytorch_dynamic_reference.py OUT_DIR RUNS WARMUP THREADS ENGINE
Writes OUT_DIR/mlp_1024_4096_4096_1000.pt (the scripted fp32 model QuantScope then loads) and prints one
JSON line: latencies in ms of the same model in fp32 and after torch.ao.quantization.quantize_dynamic.
"""
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

out_dir, runs, warmup, threads, engine = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(0)
torch.set_num_threads(threads)
torch.backends.quantized.engine = engine
sizes = [1024, 4096, 4096, 1000]
layers = []
for i in range(len(sizes) - 1):
    layers.append(nn.Linear(sizes[i], sizes[i + 1]))
    if i < len(sizes) - 2:
        layers.append(nn.ReLU())
model = nn.Sequential(*layers).eval()
path = os.path.join(out_dir, "mlp_1024_4096_4096_1000.pt")
torch.jit.save(torch.jit.script(model), path,
               _extra_files={"quantscope/input_spec.json": json.dumps({"shape": [64, 1024], "dtype": "float32"})})
quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
x = torch.randn(64, 1024)


def measure(m):
    with torch.inference_mode():
        for _ in range(warmup):
            m(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            m(x)
            times.append((time.perf_counter() - start) * 1000.0)
    return {"median_ms": statistics.median(times), "mean_ms": statistics.fmean(times),
            "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))]}


print(json.dumps({"model": path, "fp32": measure(model), "pytorch_dynamic": measure(quantized),
                  "torch_version": torch.__version__}))
