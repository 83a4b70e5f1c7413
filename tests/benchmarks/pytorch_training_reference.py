#!/usr/bin/python3
"""PyTorch's own training recipes (QAT, pruning, distillation) for QuantScope's training benchmark.

Usage (Debian's python3-torch 1.13, i.e. /usr/bin/python3, not the first python3 on PATH):
  /usr/bin/python3 pytorch_training_reference.py --model resources/digits_cnn.pt --technique all --threads 2
Options: --technique {qat,pruning,distillation,all}  --epochs N  --lr LR  --batch-size 64  --threads 1
  --seed 0  --qconfig fbgemm  --pruning-rate 0.5  --finetune-epochs 2  --temperature 2.0  --alpha 0.5
  --student PATH  --seeds 1  --validation-fraction 0.1
--epochs / --lr default per technique: qat 3 epochs, lr 1e-4; pruning (fine-tuning) lr 1e-4;
distillation 10 epochs, lr 1e-3.

Data: the digits split of resources/train_digits_model.py (sample i is a test sample when i % 5 == 0); a
seeded permutation (--seed) holds --validation-fraction of the train split out, training uses the rest.
The models are the eager DigitsCNN with the TorchScript model's state_dict (--student must be a DigitsCNN or DigitsStudent
too; without it the student is a copy of the teacher). The qconfig (--qconfig) gives the numerics; the int8
kernels run on the onednn engine (this torch has no fbgemm). All runs: Adam, cosine LR decay per step over
all steps, batches shuffled by a torch.Generator seeded with the run's seed, torch.manual_seed(seed).
  qat          prepare_qat_fx; observers disabled and BN statistics frozen from the 2nd epoch; convert_fx.
  pruning      l1_unstructured(amount=rate) on every Conv2d/Linear, fine-tune with the masks, prune.remove,
               then post-training static quantization (prepare_fx, 256 calibration samples, convert_fx).
  distillation QAT (prepare_qat_fx) of the student with alpha*T^2*KL(teacher||student) + (1-alpha)*CE, and
               the same with alpha=0 (no teacher), for seeds seed..seed+seeds-1; mean and std reported.
Prints one JSON line, an object keyed by technique. Accuracies are fractions (0..1) on the 360 test samples:
fp32_top1 (the float model the technique starts from), fake_quant_top1 (just before convert; for pruning the
reference-quantized model of convert_to_reference_fx, i.e. quantize/dequantize simulated in fp32), int8_top1
(after convert_fx), seconds_per_epoch (wall clock, mean over training epochs, evaluation excluded),
peak_rss_mib (ru_maxrss of the whole process so far, so it accumulates across techniques under "all").
Timing: with 2 threads on a loaded 2-core machine OpenMP spinning made epochs 5-7x slower; the caller sets
OMP_WAIT_POLICY (e.g. passive) the same way for both sides; settings.omp_wait_policy records it.
"""
import argparse
import copy
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.quantization import (FakeQuantizeBase, disable_observer, get_default_qat_qconfig_mapping,
                                   get_default_qconfig_mapping)
from torch.ao.quantization.quantize_fx import convert_fx, convert_to_reference_fx, prepare_fx, prepare_qat_fx
from torch.nn.intrinsic.qat import freeze_bn_stats
from torch.nn.utils import prune

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources"))
import train_digits_model  # noqa: E402  the demo model's class and data split

ENGINE = "onednn"
CALIB_SAMPLES = 256
DEFAULTS = {"qat": {"epochs": 3, "lr": 1e-4}, "pruning": {"epochs": 2, "lr": 1e-4},
            "distillation": {"epochs": 10, "lr": 1e-2}}

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", required=True, help="TorchScript float DigitsCNN (the teacher)")
parser.add_argument("--technique", choices=["qat", "pruning", "distillation", "all"], default="all")
parser.add_argument("--epochs", type=int, help="training epochs (qat 3, distillation 10)")
parser.add_argument("--lr", type=float, help="Adam learning rate (qat 1e-4, pruning 1e-4, distillation 1e-3)")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--qconfig", default="fbgemm", help="qconfig numerics: fbgemm, x86, qnnpack, onednn")
parser.add_argument("--pruning-rate", type=float, default=0.5)
parser.add_argument("--finetune-epochs", type=int, default=2)
parser.add_argument("--temperature", type=float, default=2.0)
parser.add_argument("--alpha", type=float, default=0.5)
parser.add_argument("--pruning-scope", choices=["layer", "global"], default="layer",
                    help="prune.l1_unstructured per layer, or prune.global_unstructured over all layers")
parser.add_argument("--student", help="TorchScript untrained DigitsCNN or DigitsStudent (default: a copy of the teacher)")
parser.add_argument("--seeds", type=int, default=1, help="distillation repeats, seeds seed..seed+seeds-1")
parser.add_argument("--validation-fraction", type=float, default=0.1)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.backends.quantized.engine = ENGINE
torch.manual_seed(args.seed)
torch.use_deterministic_algorithms(True, warn_only=True)

# Data: the demo split, then a seeded validation hold-out of the train split (kept in file order).
x_train, y_train, x_test, y_test = train_digits_model.load_digits()
order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(args.seed))
n_val = int(round(len(x_train) * args.validation_fraction))
val_idx, fit_idx = order[:n_val].sort().values, order[n_val:].sort().values
x_val, y_val, x_fit, y_fit = x_train[val_idx], y_train[val_idx], x_train[fit_idx], y_train[fit_idx]
example = (x_test[:1],)


def load_eager(path):
    """The eager DigitsCNN (teacher) or DigitsStudent with the TorchScript model's weights."""
    state = torch.jit.load(path).state_dict()
    for cls in (train_digits_model.DigitsCNN, train_digits_model.DigitsStudent):
        model = cls()
        try:
            model.load_state_dict(state)
            return model.eval()
        except RuntimeError:
            continue
    sys.exit(f"{path} is neither a DigitsCNN nor a DigitsStudent (resources/train_digits_model.py)")


def predict(model, x):
    """Argmax in eval mode without touching observers (fake-quant scales stay as trained); restores the mode."""
    was_training = model.training
    fake_quants = [m for m in model.modules() if isinstance(m, FakeQuantizeBase)]
    saved = [m.observer_enabled.clone() for m in fake_quants]
    model.apply(disable_observer)
    model.eval()
    with torch.no_grad():
        out = model(x).argmax(1)
    for m, state in zip(fake_quants, saved):
        m.observer_enabled.copy_(state)
    model.train(was_training)
    return out


def top1(model, x=x_test, y=y_test):
    return (predict(model, x) == y).float().mean().item()


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def train(model, epochs, lr, seed, loss_fn, on_epoch=None):
    """Adam with per-step cosine decay; loss_fn(model, idx) gets indices into x_fit. Returns timing and curve."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    steps = max(1, epochs * math.ceil(len(x_fit) / args.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    generator = torch.Generator().manual_seed(seed)
    times, val_curve, loss = [], [], None
    for epoch in range(epochs):
        if on_epoch:
            on_epoch(epoch, model)
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(x_fit), generator=generator)
        for first in range(0, len(perm), args.batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model, perm[first:first + args.batch_size])
            loss.backward()
            optimizer.step()
            scheduler.step()
        times.append(time.perf_counter() - start)
        val_curve.append(top1(model, x_val, y_val) if n_val else None)
    return {"seconds_per_epoch": statistics.mean(times) if times else 0.0, "val_top1_per_epoch": val_curve,
            "last_batch_loss": loss.item() if loss is not None else None}


def ce_loss(model, idx):
    return F.cross_entropy(model(x_fit[idx]), y_fit[idx])


def settings(**extra):
    return dict(batch_size=args.batch_size, threads=args.threads, seed=args.seed, qconfig=args.qconfig,
                engine=ENGINE, omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"), optimizer="adam", lr_schedule="cosine per step over all steps",
                validation_fraction=args.validation_fraction, train_samples=len(x_fit), validation_samples=n_val,
                test_samples=len(x_test), **extra)


def epochs_lr(technique):
    return (args.epochs if args.epochs is not None else DEFAULTS[technique]["epochs"],
            args.lr if args.lr is not None else DEFAULTS[technique]["lr"])


def run_qat(teacher):
    epochs, lr = epochs_lr("qat")
    torch.manual_seed(args.seed)
    model = prepare_qat_fx(copy.deepcopy(teacher).train(), get_default_qat_qconfig_mapping(args.qconfig), example)

    def freeze_from_second_epoch(epoch, m):
        if epoch >= 1:
            m.apply(disable_observer)
            m.apply(freeze_bn_stats)

    log = train(model, epochs, lr, args.seed, ce_loss, freeze_from_second_epoch)
    fake_quant = top1(model)
    model.apply(disable_observer)
    int8 = convert_fx(model.eval())
    return dict(fp32_top1=top1(teacher), fake_quant_top1=fake_quant, int8_top1=top1(int8), **log,
                peak_rss_mib=peak_rss_mib(),
                settings=settings(epochs=epochs, lr=lr, observers_disabled_from_epoch=2, bn_frozen_from_epoch=2))


def run_pruning(teacher):
    epochs, lr = args.finetune_epochs, (args.lr if args.lr is not None else DEFAULTS["pruning"]["lr"])
    torch.manual_seed(args.seed)
    model = copy.deepcopy(teacher)
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if args.pruning_scope == "global":
        prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured,
                                  amount=args.pruning_rate)
    else:
        for m in layers:
            prune.l1_unstructured(m, "weight", amount=args.pruning_rate)
    pruned_top1 = top1(model)
    log = train(model, epochs, lr, args.seed, ce_loss)
    for m in layers:
        prune.remove(m, "weight")
    zeros = sum(int((m.weight == 0).sum()) for m in layers) / sum(m.weight.numel() for m in layers)
    model.eval()
    finetuned_top1 = top1(model)
    prepared = prepare_fx(model, get_default_qconfig_mapping(args.qconfig), example_inputs=example)
    with torch.no_grad():
        for first in range(0, CALIB_SAMPLES, 32):
            prepared(x_fit[first:min(first + 32, CALIB_SAMPLES)])
    fake_quant = top1(convert_to_reference_fx(copy.deepcopy(prepared)))
    int8 = convert_fx(prepared)
    q_zero = q_total = 0
    for m in int8.modules():
        w = getattr(m, "weight", None)
        if callable(w) and not isinstance(w, nn.Module):
            w = w()
            if isinstance(w, torch.Tensor) and w.is_quantized:
                q_zero, q_total = q_zero + int((w.dequantize() == 0).sum()), q_total + w.numel()
    return dict(fp32_top1=top1(teacher), pruned_top1_before_finetune=pruned_top1, pruned_fp32_top1=finetuned_top1,
                fake_quant_top1=fake_quant, int8_top1=top1(int8), zero_weight_fraction=zeros,
                int8_zero_weight_fraction=q_zero / q_total if q_total else None, **log, peak_rss_mib=peak_rss_mib(),
                settings=settings(pruning_rate=args.pruning_rate, pruning=("global_unstructured (L1)" if args.pruning_scope == "global"
                                                          else "l1_unstructured per Conv2d/Linear"),
                                  finetune_epochs=epochs, lr=lr, calibration_samples=CALIB_SAMPLES,
                                  calibration="first samples of the training subset, batches of 32"))


def run_distillation(teacher):
    epochs, lr = epochs_lr("distillation")
    T = args.temperature
    with torch.no_grad():
        teacher_logits = teacher(x_fit)
    teacher_test = predict(teacher, x_test)
    student_start = load_eager(args.student) if args.student else copy.deepcopy(teacher)
    variants = {"distilled": args.alpha, "baseline": 0.0}
    runs = {name: [] for name in variants}
    for seed in range(args.seed, args.seed + args.seeds):
        for name, alpha in variants.items():
            def loss_fn(model, idx, alpha=alpha):
                logits = model(x_fit[idx])
                loss = F.cross_entropy(logits, y_fit[idx])
                if alpha == 0.0:
                    return loss
                kl = F.kl_div(F.log_softmax(logits / T, dim=1), F.softmax(teacher_logits[idx] / T, dim=1),
                              reduction="batchmean")
                return alpha * T * T * kl + (1.0 - alpha) * loss

            torch.manual_seed(seed)
            model = prepare_qat_fx(copy.deepcopy(student_start).train(),
                                   get_default_qat_qconfig_mapping(args.qconfig), example)
            log = train(model, epochs, lr, seed, loss_fn)
            fake_quant = top1(model)
            model.apply(disable_observer)
            int8 = convert_fx(model.eval())
            pred = predict(int8, x_test)
            runs[name].append(dict(seed=seed, fake_quant_top1=fake_quant,
                                   int8_top1=(pred == y_test).float().mean().item(),
                                   agreement=(pred == teacher_test).float().mean().item(), **log))

    def summary(rows):
        out = {}
        for key in ("fake_quant_top1", "int8_top1", "agreement", "seconds_per_epoch"):
            values = [r[key] for r in rows]
            out[key + "_mean"] = statistics.mean(values)
            out[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out["per_seed"] = rows
        return out

    distilled, baseline = summary(runs["distilled"]), summary(runs["baseline"])
    return dict(fp32_top1=top1(teacher), student_fp32_top1=top1(student_start),
                fake_quant_top1=distilled["fake_quant_top1_mean"], int8_top1=distilled["int8_top1_mean"],
                seconds_per_epoch=distilled["seconds_per_epoch_mean"], distilled=distilled, baseline=baseline,
                peak_rss_mib=peak_rss_mib(),
                settings=settings(epochs=epochs, lr=lr, temperature=T, alpha=args.alpha, seeds=args.seeds,
                                  student=args.student or "copy of the teacher", baseline_alpha=0.0,
                                  observers="enabled during training, disabled for evaluation and convert"))


teacher = load_eager(args.model)
techniques = ["qat", "pruning", "distillation"] if args.technique == "all" else [args.technique]
runners = {"qat": run_qat, "pruning": run_pruning, "distillation": run_distillation}
result = {"torch_version": torch.__version__}
for technique in techniques:
    result[technique] = runners[technique](teacher)
print(json.dumps(result))
