#!/usr/bin/python3
"""Writes a scripted torchvision ResNet-18 (random weights; nothing is downloaded) and 32 random test images.

Usage: make_resnet18.py OUT_DIR [BATCH]
"""
import json
import os
import sys

import torch
import torchvision

out, batch = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None).eval()
torch.jit.save(torch.jit.script(model), os.path.join(out, "resnet18.pt"),
               _extra_files={"quantscope/input_spec.json": json.dumps({"shape": [batch, 3, 224, 224], "dtype": "float32"})})
torch.save({"x": torch.randn(32, 3, 224, 224), "y": torch.randint(0, 1000, (32,))}, os.path.join(out, "resnet18_data.pt"))
