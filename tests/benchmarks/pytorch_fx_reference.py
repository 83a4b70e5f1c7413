#!/usr/bin/python3
"""PyTorch's own FX graph-mode quantization, for QuantScope's static-quantization benchmark.

Usage: pytorch_fx_reference.py OUT_DIR RUNS WARMUP THREADS ENGINE QCONFIG
Writes, for the digits CNN and a torchvision ResNet-18 (random weights, nothing downloaded), the fp32
TorchScript model QuantScope loads and the calibration / evaluation tensor files both sides use, then
quantizes with prepare_fx/convert_fx on the same samples and prints one JSON line of PyTorch's figures.
"""
import json
import os
import statistics
import sys
import time

import torch
import torchvision
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

out, runs, warmup, threads, engine, qconfig = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
torch.set_num_threads(threads)
torch.backends.quantized.engine = engine
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
import train_digits_model  # noqa: E402  the demo model's class and data split

CALIB_SAMPLES = 256


def latency(model, x):
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def sqnr(ref, out):
    return (10 * torch.log10(ref.pow(2).sum() / (ref - out).pow(2).sum())).item()


def fx_quantize(model, calib, example):
    start = time.perf_counter()
    prepared = prepare_fx(model, get_default_qconfig_mapping(qconfig), example_inputs=(example,))
    with torch.inference_mode():
        for i in range(0, len(calib), 32):
            prepared(calib[i:i + 32])
    quantized = convert_fx(prepared)
    return quantized, time.perf_counter() - start


result = {"torch_version": torch.__version__}

# Digits: the shipped model's weights in its eager class.
digits = train_digits_model.DigitsCNN()
digits.load_state_dict(torch.jit.load(os.path.join(train_digits_model.HERE, "digits_cnn.pt")).state_dict())
digits.eval()
x_train, _, x_test, y_test = train_digits_model.load_digits()
calib = x_train[:CALIB_SAMPLES]
torch.save(calib, os.path.join(out, "digits_calib.pt"))
q_digits, _ = fx_quantize(digits, calib, x_test[:1])
with torch.inference_mode():
    ref, got = digits(x_test), q_digits(x_test)
result["digits"] = {"fp32_top1": (ref.argmax(1) == y_test).float().mean().item(),
                    "int8_top1": (got.argmax(1) == y_test).float().mean().item(), "sqnr_db": sqnr(ref, got)}

# ResNet-18 at batch 8.
torch.manual_seed(0)
resnet = torchvision.models.resnet18(weights=None).eval()
torch.jit.save(torch.jit.script(resnet), os.path.join(out, "resnet18.pt"),
               _extra_files={"quantscope/input_spec.json": json.dumps({"shape": [8, 3, 224, 224], "dtype": "float32"})})
calib = torch.randn(CALIB_SAMPLES, 3, 224, 224)
torch.save(calib, os.path.join(out, "resnet18_calib.pt"))
q_resnet, seconds = fx_quantize(resnet, calib, calib[:8])
x = torch.randn(8, 3, 224, 224)
result["resnet18"] = {"fp32_ms": latency(resnet, x), "int8_ms": latency(q_resnet, x), "quantize_s": seconds}
# MobileNetV2: QuantScope quantizes and benchmarks it at batch 1 and 8 on whichever engine runs it.
torch.manual_seed(0)
mobilenet = torchvision.models.mobilenet_v2(weights=None).eval()
torch.jit.save(torch.jit.script(mobilenet), os.path.join(out, "mobilenet_v2.pt"),
               _extra_files={"quantscope/input_spec.json": json.dumps({"shape": [1, 3, 224, 224], "dtype": "float32"})})
torch.save(torch.randn(64, 3, 224, 224), os.path.join(out, "mobilenet_v2_calib.pt"))
print(json.dumps(result))
