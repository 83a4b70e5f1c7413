#!/usr/bin/python3
"""PyTorch's own FX post-training quantization, for QuantScope's PTQ accuracy benchmark (issue 11).

Usage: pytorch_ptq_accuracy_reference.py OUT_DIR DIGITS_MODEL THREADS [MODELS]
MODELS: comma-separated, digits and/or mobilenet_v2 (default both).
Writes the data both sides use and prints one JSON line of PyTorch FX's figures, per model and recipe:
- digits: the depthwise-separable digits CNN (DIGITS_MODEL, made by train_digits_depthwise.py); calibration
  on the first 256 training digits, evaluation on the 360 test digits (labels kept).
- mobilenet_v2: torchvision's MobileNetV2 with random weights (seed 0), scripted to OUT_DIR/mobilenet_v2.pt.
  Its batch-norm statistics are set by train-mode forwards (momentum None: the exact average over the
  batches) on 256 digits upsampled to 224x224, three equal channels, standardized to mean 0 and std 1;
  calibration on 64 other training digits made the same way, evaluation on 64 test digits. With random
  weights the 1000 "classes" mean nothing, so accuracy there is top-1 agreement with fp32.
Recipes: qnnpack (per-tensor weights, qnnpack kernels) and onednn (per-channel weights, onednn kernels),
as get_default_qconfig_mapping(recipe), prepare_fx, calibration in batches of 32, convert_fx.
"""
import json
import os
import sys

import torch
import torchvision
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

out, digits_model, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
models = sys.argv[4].split(",") if len(sys.argv) > 4 else ["digits", "mobilenet_v2"]
torch.set_num_threads(threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_digits_model  # noqa: E402
import train_digits_depthwise  # noqa: E402

INPUT_SPEC = "quantscope/input_spec.json"


def sqnr(ref, got):
    return (10 * torch.log10(ref.pow(2).sum() / (ref - got).pow(2).sum())).item()


def fx_int8(model, calib, recipe):
    torch.backends.quantized.engine = recipe
    prepared = prepare_fx(model, get_default_qconfig_mapping(recipe), example_inputs=(calib[:1],))
    with torch.inference_mode():
        for i in range(0, len(calib), 32):
            prepared(calib[i:i + 32])
    return convert_fx(prepared)


def run(model, x, batch):
    with torch.inference_mode():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def figures(model, calib, x, y, ref, batch):
    result = {}
    for recipe in ("qnnpack", "onednn"):
        try:
            got = run(fx_int8(model, calib, recipe), x, batch)
        except Exception as error:  # noqa: BLE001  reported, not hidden
            try:  # oneDNN's depthwise kernels fail at some batch sizes: one sample at a time
                got = run(fx_int8(model, calib, recipe), x, 1)
            except Exception:  # noqa: BLE001
                result[recipe] = {"error": str(error).splitlines()[0]}
                continue
        entry = {"sqnr_db": sqnr(ref, got), "agreement": (got.argmax(1) == ref.argmax(1)).float().mean().item()}
        if y is not None:
            entry["top1"] = (got.argmax(1) == y).float().mean().item()
        result[recipe] = entry
    return result


result = {"torch_version": torch.__version__}
x_train, y_train, x_test, y_test = train_digits_model.load_digits()

# Digits: the eager class with the trained weights of the scripted model QuantScope loads.
if "digits" in models:
    digits = train_digits_depthwise.DigitsDepthwiseCNN()
    digits.load_state_dict(torch.jit.load(digits_model).state_dict())
    digits.eval()
    calib = x_train[:256]
    torch.save(calib, os.path.join(out, "digits_calib.pt"))
    torch.save({"x": x_test, "y": y_test}, os.path.join(out, "digits_eval.pt"))
    with torch.inference_mode():
        ref = digits(x_test)
    result["digits"] = {"fp32_top1": (ref.argmax(1) == y_test).float().mean().item()}
    result["digits"].update(figures(digits, calib, x_test, y_test, ref, 64))

if "mobilenet_v2" in models:
    # MobileNetV2 on digits upsampled to 224x224.
    def images(x):
        big = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
        return big.repeat(1, 3, 1, 1)

    mean, std = images(x_train[:256]).mean(), images(x_train[:256]).std()
    bn_images = (images(x_train[:256]) - mean) / std
    calib = (images(x_train[256:320]) - mean) / std
    evaluation = (images(x_test[:64]) - mean) / std
    torch.manual_seed(0)
    mobilenet = torchvision.models.mobilenet_v2(weights=None)
    for m in mobilenet.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the forwards below
    mobilenet.train()
    with torch.no_grad():
        for i in range(0, len(bn_images), 32):
            mobilenet(bn_images[i:i + 32])
    mobilenet.eval()
    torch.jit.save(torch.jit.script(mobilenet), os.path.join(out, "mobilenet_v2.pt"),
                   _extra_files={INPUT_SPEC: json.dumps({"shape": [1, 3, 224, 224], "dtype": "float32"})})
    torch.save(calib, os.path.join(out, "mobilenet_v2_calib.pt"))
    torch.save(evaluation, os.path.join(out, "mobilenet_v2_eval.pt"))
    with torch.inference_mode():
        ref = run(mobilenet, evaluation, 16)
    result["mobilenet_v2"] = figures(mobilenet, calib, evaluation, None, ref, 16)
print(json.dumps(result))
