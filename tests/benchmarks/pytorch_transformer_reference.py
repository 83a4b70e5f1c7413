#!/usr/bin/python3
"""PyTorch's own numbers for the transformer dynamic-quantization benchmark (Debian's python3-torch 1.13).

Usage: pytorch_transformer_reference.py OUT_DIR RUNS WARMUP THREADS ENGINE BATCH SEQUENCE
Writes OUT_DIR/transformer_classifier.pt (the scripted fp32 token classifier QuantScope then loads:
Embedding -> TransformerEncoder(2 layers, d_model 256, 4 heads, feed-forward 2048, batch_first) -> mean ->
Linear) and OUT_DIR/transformer_tokens.pt (the token batch both sides measure fidelity on), and prints one
JSON line: latencies in ms of the model in fp32 (PyTorch's fused inference path), in fp32 on the non-fused
path, and of PyTorch's workaround for dynamic quantization, with its SQNR against fp32.

The workaround: in 1.13, quantize_dynamic on a TransformerEncoderLayer breaks the layer's fused path (it
reads linear1.weight, which a dynamic quantized Linear has as a method); torch.backends.mha does not exist
yet. The layer takes its non-fused path when activation_relu_or_gelu is 0 (the flag only selects the fused
kernel and its activation; the non-fused path applies self.activation), which also stops
TransformerEncoder from building nested tensors. quantize_dynamic({nn.Linear}) then makes linear1, linear2
and the head int8; the attention projections stay float (out_proj is NonDynamicallyQuantizableLinear and
in_proj a bare parameter), and attention runs on PyTorch's fused float MHA kernel.
"""
import copy
import json
import os
import statistics
import sys
import time

import torch
from torch import nn

out_dir, runs, warmup, threads, engine, batch, sequence = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                                            int(sys.argv[4]), sys.argv[5], int(sys.argv[6]),
                                                            int(sys.argv[7]))
torch.manual_seed(0)
torch.set_num_threads(threads)
torch.backends.quantized.engine = engine
VOCABULARY, D_MODEL, HEADS, CLASSES = 10000, 256, 4, 4


class TextClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCABULARY, D_MODEL)
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)
        for encoder_layer in self.encoder.layers:  # TransformerEncoder deep-copies one layer
            encoder_layer.self_attn._reset_parameters()
            for linear in (encoder_layer.self_attn.out_proj, encoder_layer.linear1, encoder_layer.linear2):
                linear.reset_parameters()
        self.head = nn.Linear(D_MODEL, CLASSES)

    def forward(self, tokens):
        return self.head(self.encoder(self.embedding(tokens)).mean(1))


model = TextClassifier().eval()
path = os.path.join(out_dir, "transformer_classifier.pt")
torch.jit.save(torch.jit.script(model), path,
               _extra_files={"quantscope/input_spec.json": json.dumps({"shape": [batch, sequence],
                                                                       "dtype": "int64"})})
tokens = torch.randint(0, VOCABULARY, (batch, sequence))
tokens_path = os.path.join(out_dir, "transformer_tokens.pt")
torch.save(tokens, tokens_path)  # unlabelled: a bare tensor

# quantize_dynamic as documented, on the fused path.
plain = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
try:
    with torch.inference_mode():
        plain(tokens)
    plain_result = "ran"
except Exception as error:  # noqa: BLE001 -- what happens is the finding
    plain_result = f"failed: {type(error).__name__}: {str(error).splitlines()[0]}"

workaround_float = copy.deepcopy(model)
for encoder_layer in workaround_float.encoder.layers:
    encoder_layer.activation_relu_or_gelu = 0  # non-fused path; same function (self.activation is ReLU)
workaround = torch.ao.quantization.quantize_dynamic(workaround_float, {nn.Linear}, dtype=torch.qint8)


def measure(m):
    with torch.inference_mode():
        for _ in range(warmup):
            m(tokens)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            m(tokens)
            times.append((time.perf_counter() - start) * 1000.0)
    return {"median_ms": statistics.median(times), "mean_ms": statistics.fmean(times),
            "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))]}


def sqnr(reference, candidate):
    noise = (reference - candidate).pow(2).sum().item()
    return float("inf") if noise == 0 else 10.0 * torch.log10(reference.pow(2).sum() / noise).item()


with torch.inference_mode():
    reference = model(tokens)
    workaround_sqnr = sqnr(reference, workaround(tokens))
    float_slow_path_sqnr = sqnr(reference, workaround_float(tokens))
int8_modules = sorted(name for name, m in workaround.named_modules()
                      if type(m).__module__.startswith("torch.ao.nn.quantized.dynamic")
                      or type(m).__module__.startswith("torch.nn.quantized.dynamic"))
print(json.dumps({"model": path, "tokens": tokens_path, "fp32": measure(model),
                  "fp32_non_fused": measure(workaround_float),
                  "pytorch_workaround": measure(workaround), "workaround_sqnr_db": workaround_sqnr,
                  "float_non_fused_path_sqnr_db": float_slow_path_sqnr, "workaround_int8_modules": int8_modules,
                  "plain_quantize_dynamic": plain_result, "torch_version": torch.__version__}))
