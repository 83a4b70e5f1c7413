#!/usr/bin/python3
"""PyTorch's own post-training quantization time, for QuantScope's quantization-time benchmark.

Usage: pytorch_quantize_time_reference.py OUT_DIR THREADS ENGINE QCONFIG SAMPLES make|time
make: writes a scripted torchvision ResNet-18 (random weights, nothing downloaded; batch-norm statistics set
by running random images through it in train mode, so the batch norms are not identities), its weights,
and SAMPLES calibration images. time: times prepare_fx + calibration (batches of 32) + convert_fx on them
once and prints one JSON line: the times in seconds and the int8 model's output SQNR against fp32 on the
calibration images. The benchmark alternates `time` runs with QuantScope's, so both see the same load.
"""
import copy
import json
import os
import sys
import time

import torch
import torchvision
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

out, threads, engine, qconfig = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
samples, mode = int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(threads)
torch.backends.quantized.engine = engine

torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None)
if mode == "make":
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, 224, 224))
    model.eval()
    torch.jit.save(torch.jit.script(model), os.path.join(out, "resnet18.pt"),
                   _extra_files={"quantscope/input_spec.json": json.dumps({"shape": [8, 3, 224, 224], "dtype": "float32"})})
    torch.save(model.state_dict(), os.path.join(out, "resnet18_state.pt"))
    torch.save(torch.randn(samples, 3, 224, 224), os.path.join(out, "resnet18_calibration.pt"))
    sys.exit(0)

model.load_state_dict(torch.load(os.path.join(out, "resnet18_state.pt")))
model.eval()
calibration = torch.load(os.path.join(out, "resnet18_calibration.pt"))
float_model = copy.deepcopy(model)  # prepare_fx changes the model it is given; QuantScope works on a copy too
start = time.perf_counter()
prepared = prepare_fx(float_model, get_default_qconfig_mapping(qconfig), example_inputs=(calibration[:1],))
prepared_at = time.perf_counter()
with torch.inference_mode():
    for i in range(0, samples, 32):
        prepared(calibration[i:i + 32])
calibrated_at = time.perf_counter()
quantized = convert_fx(prepared)
end = time.perf_counter()
figures = {"prepare_s": prepared_at - start, "calibrate_s": calibrated_at - prepared_at,
           "convert_s": end - calibrated_at, "total_s": end - start}
with torch.inference_mode():
    reference, candidate = model(calibration), quantized(calibration)
figures["sqnr_db"] = (10 * torch.log10(reference.pow(2).sum() / (reference - candidate).pow(2).sum())).item()
figures["torch_version"] = torch.__version__
print(json.dumps(figures))
