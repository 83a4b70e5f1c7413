#!/usr/bin/python3
"""The bad-input corpus: every kind of broken or out-of-range input a user can hand quantscope-cli.

Usage: run_corpus.py QUANTSCOPE_CLI [--work DIR] [--jobs N] [--only A|B] [--timeout S] [--keep] [--verbose]

Generates the cases at run time in a temporary folder (damaged archives, wrong kinds of files, bad data,
bad output paths, bad project files, every technique parameter at and beyond its bounds), runs each one as a
child process of the real quantscope-cli with a timeout, and checks for every case:
  - the exit status: non-zero for a refusal (zero where the case is at a bound and must succeed), never a
    signal, never the CLI's "unexpected" exit code 3;
  - stderr names what is wrong (a per-case fragment) and holds no crash trace ("terminate called",
    "Segmentation", "Traceback", a c10 backtrace);
  - every input file is byte-identical afterwards (SHA-256 before/after);
  - no new, partial or temporary output file is left behind (the case's output folder listing is unchanged
    on a refusal; on success only the expected outputs exist).
Prints the number of cases and of each outcome; exits 1 listing the bad cases.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor

# Signs of a crash or of an internal error leaking out instead of a message.
FORBIDDEN = [
    "terminate called",
    "Segmentation",
    "Traceback",
    "Exception raised from",  # c10::Error's backtrace header
    "frame #",                # c10 backtrace frames
    "unexpected, please report",
    "core dumped",
    "Aborted",
]
DEFAULT_TIMEOUT = 90  # seconds; a hang is a failure


class Case:
    """One child process: args with {in} (inputs folder) and {out} (this case's own output folder).

    expect: "error" (must be refused with every fragment in stderr), "ok" (must succeed and write the
    `outputs`), "either" (a damaged-but-plausible input: a clean success with its outputs, or a refusal
    with the fragments).
    """

    def __init__(self, group, name, args, expect="error", fragments=(), outputs=(), inputs=(), timeout=None):
        self.group, self.name, self.args = group, name, list(args)
        self.expect, self.fragments, self.outputs = expect, list(fragments), list(outputs)
        self.inputs = list(inputs)  # extra files to hash besides those named in args
        self.timeout = timeout or DEFAULT_TIMEOUT

    @property
    def id(self):
        return f"{self.group}/{self.name}"


# ---------------------------------------------------------------------------------------------------------
# Inputs, made with Debian's python3-torch and the standard library.
# ---------------------------------------------------------------------------------------------------------


def model_classes():
    """The tiny models, at module level so that torch.save can pickle them (the eager-pickle case)."""
    global MLP, CNN
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 32)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            return self.fc2(self.relu(self.fc1(x)))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.fc = nn.Linear(4 * 8 * 8, 10)

        def forward(self, x):
            return self.fc(torch.flatten(self.relu(self.bn1(self.conv1(x))), 1))


    return MLP, CNN


def make_inputs(root):
    import torch
    from torch import nn

    torch.manual_seed(0)
    os.makedirs(root, exist_ok=True)
    p = lambda name: os.path.join(root, name)  # noqa: E731

    def save(module, name, shape, spec_json=None):
        module.eval()
        extra = {"quantscope/input_spec.json": spec_json or json.dumps({"shape": shape, "dtype": "float32"})}
        torch.jit.save(torch.jit.script(module), p(name), _extra_files=extra)

    MLP, CNN = model_classes()
    mlp, cnn = MLP(), CNN()
    save(mlp, "mlp.pt", [1, 64])
    save(cnn, "cnn.pt", [1, 1, 8, 8])
    save(CNN(), "cnn_student.pt", [1, 1, 8, 8])
    x, y = torch.randn(24, 64), torch.randint(0, 10, (24,))
    torch.save({"x": x, "y": y}, p("mlp_data.pt"))
    torch.save({"x": torch.randn(24, 1, 8, 8), "y": torch.randint(0, 10, (24,))}, p("cnn_data.pt"))

    # Models that are not TorchScript, or not a model at all.
    torch.save(mlp.state_dict(), p("state_dict.pt"))
    torch.save(mlp, p("eager_model.pt"))
    torch.save(mlp.state_dict(), p("legacy_pickle.pt"), _use_new_zipfile_serialization=False)
    # ONNX-like: a ModelProto's first bytes (ir_version varint, producer "pytorch") without the exporter.
    with open(p("model.onnx"), "wb") as f:
        f.write(b"\x08\x07\x12\x07pytorch\x1a\x041.13" + bytes(range(256)))
    with open(p("onnx_named.pt"), "wb") as f:
        f.write(b"\x08\x07\x12\x07pytorch\x1a\x041.13" + bytes(range(256)))
    open(p("empty.pt"), "wb").close()
    with open(p("random.bin"), "wb") as f:
        f.write(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    with open(p("text.pt"), "w") as f:
        f.write("this is not a model\n")
    with zipfile.ZipFile(p("plain_zip.pt"), "w") as z:
        z.writestr("readme.txt", "a zip, but not TorchScript")
    with zipfile.ZipFile(p("zip_with_junk_code.pt"), "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02not really a pickle")
        z.writestr("archive/code/__torch__.py", "def broken(:\n")
        z.writestr("archive/constants.pkl", b"\x80\x02]q\x00.")
        z.writestr("archive/version", "3\n")
    os.makedirs(p("a_folder.pt"), exist_ok=True)
    os.mkfifo(p("fifo.pt"))

    # Weights with NaN and Inf.
    for name, value in (("nan_weights.pt", float("nan")), ("inf_weights.pt", float("inf"))):
        bad = MLP()
        with torch.no_grad():
            bad.fc1.weight[0, 0] = value
        save(bad, name, [1, 64])
    # Absurd stored input specs.
    save(MLP(), "huge_spec.pt", None, json.dumps({"shape": [1, 3, 100000, 100000], "dtype": "float32"}))
    save(MLP(), "zero_spec.pt", None, json.dumps({"shape": [1, 0], "dtype": "float32"}))

    # Data of the wrong shape, dtype, label range or count.
    torch.save({"x": torch.randn(20, 3, 8, 8), "y": torch.randint(0, 10, (20,))}, p("wrong_shape.pt"))
    torch.save({"x": torch.randn(20, 32), "y": torch.randint(0, 10, (20,))}, p("wrong_features.pt"))
    torch.save({"x": torch.randint(0, 5, (20, 64), dtype=torch.int32), "y": y[:20]}, p("int_x.pt"))
    torch.save({"x": torch.ones(20, 64, dtype=torch.bool), "y": y[:20]}, p("bool_x.pt"))
    torch.save({"x": torch.randn(20, 64, dtype=torch.float64), "y": y[:20]}, p("double_x.pt"))
    torch.save({"x": torch.randn(20, 64), "y": torch.rand(20)}, p("float_labels.pt"))
    torch.save({"x": torch.randn(20, 64), "y": torch.full((20,), 12)}, p("labels_too_big.pt"))
    torch.save({"x": torch.randn(20, 64), "y": torch.full((20,), -1)}, p("labels_negative.pt"))
    torch.save({"x": torch.randn(20, 64), "y": torch.randint(0, 10, (12,))}, p("count_mismatch.pt"))
    torch.save({"x": torch.randn(0, 64), "y": torch.zeros(0, dtype=torch.long)}, p("no_samples.pt"))
    torch.save({"x": torch.full((20, 64), float("nan")), "y": y[:20]}, p("nan_data.pt"))
    torch.save({"x": torch.randn(20, 64), "y": torch.randint(0, 10, (20, 2))}, p("labels_2d.pt"))
    torch.save(torch.tensor(3.0), p("scalar_data.pt"))
    torch.save([1, 2, 3], p("list_data.pt"))

    # CSVs.
    header = ",".join([f"f{i}" for i in range(64)] + ["label"])
    rows = [",".join(f"{v:.4f}" for v in r) + f",{l}" for r, l in zip(x[:10].tolist(), y[:10].tolist())]
    with open(p("good.csv"), "w") as f:
        f.write(header + "\n" + "\n".join(rows) + "\n")
    with open(p("text_cells.csv"), "w") as f:
        f.write(header + "\n" + rows[0] + "\n" + rows[1].replace(rows[1].split(",")[3], "oops", 1) + "\n")
    with open(p("ragged.csv"), "w") as f:
        f.write(header + "\n" + rows[0] + "\n" + ",".join(rows[1].split(",")[:40]) + "\n")
    with open(p("no_header.csv"), "w") as f:
        f.write("\n".join(",".join(f"{v:.4f}" for v in r) for r in x[:10].tolist()) + "\n")
    with open(p("header_only.csv"), "w") as f:
        f.write(header + "\n")
    open(p("empty.csv"), "w").close()
    with open(p("csv_label_out_of_range.csv"), "w") as f:
        f.write(header + "\n" + "\n".join(r.rsplit(",", 1)[0] + ",57" for r in rows) + "\n")
    with open(p("binary.csv"), "wb") as f:
        f.write(bytes(range(256)) * 4)

    # Image folders: corrupt, empty, 16-bit and CMYK images, and folders with nothing usable.
    def png(width, height, bit_depth, color_type, raw_rows):
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
        body = zlib.compress(b"".join(b"\x00" + r for r in raw_rows))
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")

    gray8 = png(8, 8, 8, 0, [bytes([i * 30 % 256] * 8) for i in range(8)])

    def image_folder(name, bad_name=None, bad_bytes=None, good=True):
        for cls in ("a", "b"):
            folder = p(os.path.join(name, cls))
            os.makedirs(folder, exist_ok=True)
            if good:
                with open(os.path.join(folder, "0.png"), "wb") as f:
                    f.write(gray8)
        if bad_name is not None:
            with open(p(os.path.join(name, "a", bad_name)), "wb") as f:
                f.write(bad_bytes)

    image_folder("images_corrupt", "broken.png", gray8[:40] + b"\x00garbage" * 8)
    image_folder("images_empty_file", "empty.png", b"")
    image_folder("images_16bit", "deep.png", png(8, 8, 16, 0, [struct.pack(">8H", *([i * 8000] * 8)) for i in range(8)]))
    try:
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("CMYK", (8, 8), (10, 200, 30, 40)).save(buffer, "JPEG")
        cmyk = buffer.getvalue()
    except ImportError:  # Debian's python3-pil comes with python3-torchvision; keep the case without it
        cmyk = None
    if cmyk:
        image_folder("images_cmyk", "cmyk.jpg", cmyk)
    image_folder("images_text_file", "notes.png", b"not an image at all\n")
    image_folder("images_no_images", good=False)
    os.makedirs(p("images_no_classes"), exist_ok=True)

    # Project files and results JSON (a valid run is made by the CLI in main()).
    with open(p("project_corrupt.qsproj"), "wb") as f:
        f.write(b'{"quantscope_project": 1, "runs": [ {"id": 1, "result": {"techn\x00\xff')
    with open(p("project_array_of_numbers.json"), "w") as f:
        f.write("[1, 2, 3]\n")
    with open(p("project_no_runs.qsproj"), "w") as f:
        json.dump({"quantscope_project": 1, "runs": []}, f)
    open(p("project_empty.qsproj"), "w").close()
    with open(p("project_binary.qsproj"), "wb") as f:
        f.write(bytes((i * 31) % 256 for i in range(2048)))
    return cnn


def zip_entries(path):
    """(central directory offset, [(name, local header offset, data offset, size)]) of a stored zip."""
    with open(path, "rb") as f:
        data = f.read()
    eocd = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", data[eocd + 16 : eocd + 20])[0]
    entries = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
            entries.append((info.filename, info.header_offset, info.header_offset + 30 + name_len + extra_len,
                            info.compress_size))
    return data, cd_offset, eocd, entries


def make_damaged_archives(root):
    """Truncations at many offsets and bit flips in the central directory and in tensor data."""
    source = os.path.join(root, "mlp.pt")
    data, cd_offset, eocd, entries = zip_entries(source)
    made = []  # (name, expect)
    size = len(data)
    offsets = [1, 4, 30, 64, 200, 512, size // 4, size // 2, 3 * size // 4, cd_offset, eocd, size - 1]
    for offset in offsets:
        name = f"truncated_at_{offset}.pt"
        with open(os.path.join(root, name), "wb") as f:
            f.write(data[:offset])
        made.append((name, "error"))

    def flipped(name, position, bit=0x10):
        damaged = bytearray(data)
        damaged[position] ^= bit
        with open(os.path.join(root, name), "wb") as f:
            f.write(damaged)

    # The central directory: the first entry's signature, its compressed size, its local header offset,
    # its name; and the end record's pointer to the directory.
    flipped("cd_flip_signature.pt", cd_offset + 1)
    flipped("cd_flip_size.pt", cd_offset + 20 + 2)
    flipped("cd_flip_local_offset.pt", cd_offset + 42 + 1, 0x40)
    flipped("cd_flip_name.pt", cd_offset + 46 + 3)
    flipped("eocd_flip_cd_offset.pt", eocd + 16, 0x08)
    flipped("eocd_flip_entry_count.pt", eocd + 10, 0x20)
    made += [(n, "error") for n in ("cd_flip_signature.pt", "cd_flip_size.pt", "cd_flip_local_offset.pt",
                                    "cd_flip_name.pt")]
    # The end record's fields are redundant enough that the reader may recover: then it must load cleanly.
    made += [(n, "either") for n in ("eocd_flip_cd_offset.pt", "eocd_flip_entry_count.pt")]
    # A local header's name, and tensor data: the latter may well load (a changed weight), which is fine
    # as long as the run ends cleanly.
    tensors = [e for e in entries if "/data/" in e[0] and e[3] >= 16]
    first = entries[0]
    flipped("local_flip_name.pt", first[1] + 30 + 2)
    made.append(("local_flip_name.pt", "either"))
    for i, (entry_name, _, data_offset, length) in enumerate(tensors[:3]):
        name = f"tensor_flip_{i}.pt"
        # The exponent's top bit of a float in the middle: the value becomes huge, tiny, Inf or NaN.
        flipped(name, data_offset + (length // 2 // 4) * 4 + 3, 0x40)
        made.append((name, "either"))
    return made


# ---------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------

QUANTIZE_FAST = ["--runs", "1", "--warmup", "0"]


def model_file_cases(root, damaged):
    cases = []
    for name, expect in damaged:
        frags = ["damaged or truncated"] if expect == "error" else []
        if name in ("truncated_at_1.pt",):
            frags = ["not a TorchScript archive"]
        cases.append(Case("archive", f"inspect {name}", ["inspect", "{in}/" + name], expect, frags))
        if expect == "either":
            cases.append(Case("archive", f"quantize {name}",
                              ["quantize", "{in}/" + name, "-o", "{out}/q.pt", "--data", "{in}/mlp_data.pt"]
                              + QUANTIZE_FAST, "either", [], ["q.pt"]))
    kinds = [
        ("state_dict.pt", ["torch.save", "not by torch.jit.save"]),
        ("eager_model.pt", ["torch.save", "no TorchScript code"]),
        ("legacy_pickle.pt", ["legacy format", "torch.jit.save"]),
        ("model.onnx", ["ONNX"]),
        ("onnx_named.pt", ["ONNX"]),
        ("empty.pt", ["is empty"]),
        ("random.bin", ["not a TorchScript archive"]),
        ("text.pt", ["not a TorchScript archive"]),
        ("plain_zip.pt", ["zip file but not a TorchScript archive"]),
        ("zip_with_junk_code.pt", ["zip_with_junk_code.pt"]),
        ("a_folder.pt", ["is not a file"]),
        ("fifo.pt", ["is not a file"]),
        ("no_such_model.pt", ["does not exist"]),
    ]
    for name, frags in kinds:
        cases.append(Case("model", f"inspect {name}", ["inspect", "{in}/" + name], "error", frags))
    for name, frags in kinds[:3]:
        cases.append(Case("model", f"quantize {name}", ["quantize", "{in}/" + name, "-o", "{out}/q.pt"],
                          "error", frags))
    # Unreadable: /proc/self/mem reads fail; a path through a regular file is ENOTDIR.
    cases.append(Case("model", "inspect /proc/self/mem", ["inspect", "/proc/self/mem"], "error",
                      ["/proc/self/mem", "cannot be read"]))
    cases.append(Case("model", "inspect path through a file", ["inspect", "{in}/mlp.pt/inner.pt"], "error",
                      ["does not exist"]))
    # NaN / Inf weights: quantized cleanly or refused, never a crash.
    for name in ("nan_weights.pt", "inf_weights.pt"):
        for technique in ("dynamic", "static"):
            cases.append(Case("weights", f"{technique} {name}",
                              ["quantize", "{in}/" + name, "-o", "{out}/q.pt", "--technique", technique,
                               "--calib-data", "{in}/mlp_data.pt", "--data", "{in}/mlp_data.pt"] + QUANTIZE_FAST,
                              "either", [name.split("_")[0].replace("nan", "NaN").replace("inf", "Inf")],
                              ["q.pt"]))
    return cases


def shape_cases():
    big = "1x3x100000x100000"
    return [
        Case("shape", "inspect --input-shape " + big, ["inspect", "{in}/mlp_no_spec.pt", "--input-shape", big],
             "error", ["112 GiB", "input alone"]),
        Case("shape", "bench --input-shape " + big, ["bench", "{in}/cnn.pt", "--input-shape", big, "--runs", "1"],
             "error", ["112 GiB"]),
        Case("shape", "quantize --input-shape " + big,
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--input-shape", big], "error", ["112 GiB"]),
        Case("shape", "stored spec " + big, ["inspect", "{in}/huge_spec.pt"], "error", ["112 GiB", "input alone"]),
        Case("shape", "stored spec with a zero size", ["bench", "{in}/zero_spec.pt", "--runs", "1"], "error",
             ["input"]),
        Case("shape", "bench --batch 100000000", ["bench", "{in}/mlp.pt", "--batch", "100000000", "--runs", "1"],
             "error", ["GiB", "input alone"]),
        Case("shape", "zero-size input shape", ["inspect", "{in}/mlp.pt", "--input-shape", "1x0"], "error",
             ["1x0", "not valid"]),
        Case("shape", "negative input shape", ["inspect", "{in}/mlp.pt", "--input-shape", "1x-64"], "error",
             ["not valid"]),
        Case("shape", "overflowing input shape",
             ["inspect", "{in}/mlp.pt", "--input-shape", "99999999999x99999999999x99999999999"], "error",
             ["input alone"]),
        Case("shape", "wrong input shape", ["inspect", "{in}/mlp.pt", "--input-shape", "1x32"], "error",
             ["1x32", "64"]),
        Case("shape", "unknown input dtype",
             ["inspect", "{in}/mlp.pt", "--input-shape", "1x64", "--input-dtype", "complex"], "error", ["complex"]),
    ]


def data_cases():
    def evaluate(name, frags, expect="error", model="mlp.pt", extra=()):
        return Case("data", f"evaluate {name}", ["evaluate", "{in}/" + model, "--data", "{in}/" + name] + list(extra),
                    expect, frags)

    cases = [
        evaluate("wrong_shape.pt", ["does not fit", "3x8x8"]),
        evaluate("wrong_features.pt", ["32", "64"]),
        evaluate("int_x.pt", ["int"], "either"),
        evaluate("bool_x.pt", ["bool"], "either"),
        evaluate("double_x.pt", ["double"], "either"),
        evaluate("float_labels.pt", ["floating-point", "integer class"]),
        evaluate("labels_too_big.pt", ["labels up to 12", "10 classes"]),
        evaluate("labels_negative.pt", [">= 0"]),
        evaluate("count_mismatch.pt", ["12", "20"]),
        evaluate("no_samples.pt", ["no samples"]),
        evaluate("nan_data.pt", ["NaN"], "either"),
        evaluate("labels_2d.pt", ["one integer label per sample"]),
        evaluate("scalar_data.pt", ["no samples"]),
        evaluate("list_data.pt", ["no 'x' tensor"]),
        evaluate("no_such_data.pt", ["does not exist"]),
        evaluate("mlp.pt", ["mlp.pt"]),  # a model given as data
        evaluate("a_folder.pt", ["a_folder.pt"]),
        evaluate("text_cells.csv", ["line 3", "'oops' is not a number"]),
        evaluate("ragged.csv", ["line 3", "40"]),
        evaluate("no_header.csv", ["no_header.csv"], "either"),
        evaluate("header_only.csv", ["header but no rows"]),
        evaluate("empty.csv", ["is empty"]),
        evaluate("csv_label_out_of_range.csv", ["57"]),
        evaluate("binary.csv", ["binary.csv"]),
        Case("data", "csv --label-column missing",
             ["evaluate", "{in}/mlp.pt", "--data", "{in}/good.csv", "--label-column", "nosuch"], "error",
             ["no column 'nosuch'"]),
        Case("data", "quantize --calib-data wrong shape",
             ["quantize", "{in}/mlp.pt", "-o", "{out}/q.pt", "--technique", "static", "--calib-data",
              "{in}/wrong_shape.pt"], "error", ["does not fit"]),
        Case("data", "qat --train-data labels too big",
             ["quantize", "{in}/mlp.pt", "-o", "{out}/q.pt", "--technique", "qat", "--train-data",
              "{in}/labels_too_big.pt", "--param", "epochs=1"], "error", ["12", "10 classes"]),
        Case("data", "--max-samples 0", ["evaluate", "{in}/mlp.pt", "--data", "{in}/mlp_data.pt", "--max-samples", "0"],
             "error", ["--max-samples", ">= 1"]),
    ]
    image_opts = ["--image-size", "8x8", "--channels", "1"]
    for folder, frags, expect in [
        ("images_corrupt", ["broken.png"], "error"),
        ("images_empty_file", ["empty.png"], "error"),
        ("images_16bit", ["deep.png"], "either"),
        ("images_cmyk", ["cmyk.jpg"], "either"),
        ("images_text_file", ["notes.png"], "error"),
        ("images_no_images", ["holds no images"], "error"),
        ("images_no_classes", ["no class sub-folders"], "error"),
    ]:
        cases.append(Case("images", folder, ["evaluate", "{in}/cnn.pt", "--data", "{in}/" + folder] + image_opts,
                          expect, frags))
    cases.append(Case("images", "--image-size 0x0",
                      ["evaluate", "{in}/cnn.pt", "--data", "{in}/images_16bit", "--image-size", "0x0"], "error",
                      ["0x0"]))
    cases.append(Case("images", "--image-size 1000000x1000000",
                      ["evaluate", "{in}/cnn.pt", "--data", "{in}/images_16bit", "--image-size", "1000000x1000000",
                       "--channels", "1"], "error", ["1000000x1000000", "GiB", "before allocating"]))
    cases.append(Case("images", "--channels 2",
                      ["evaluate", "{in}/cnn.pt", "--data", "{in}/images_16bit", "--channels", "2"], "error",
                      ["1 (grayscale) or 3 (RGB)"]))
    return cases


def output_cases():
    base = ["quantize", "{in}/mlp.pt", "--technique", "dynamic"]
    return [
        Case("output", "-o in a missing folder", base + ["-o", "{out}/missing/q.pt"], "error",
             ["missing/q.pt", "folder does not exist"]),
        Case("output", "-o under /proc", base + ["-o", "/proc/quantscope_q.pt"], "error", ["/proc/quantscope_q.pt"]),
        Case("output", "-o under /sys", base + ["-o", "/sys/quantscope_q.pt"], "error", ["/sys/quantscope_q.pt"]),
        Case("output", "-o under a regular file", base + ["-o", "{in}/mlp_data.pt/q.pt"], "error", ["q.pt", "is a file"]),
        Case("output", "-o equal to the input", base + ["-o", "{in}/mlp.pt"], "error", ["Refusing to overwrite"]),
        Case("output", "-o equal to the input, relative", base + ["-o", "../../inputs/mlp.pt"], "error",
             ["Refusing to overwrite"]),
        Case("output", "-o equal to the input via a symlink", base + ["-o", "{in}/link_to_mlp.pt"], "error",
             ["Refusing to overwrite"], inputs=["{in}/link_to_mlp.pt"]),
        Case("output", "-o is a folder", base + ["-o", "{in}/a_folder.pt"], "error", ["a_folder.pt"]),
        Case("output", "-o equal to the calibration data",
             ["quantize", "{in}/mlp.pt", "--technique", "static", "--calib-data", "{in}/mlp_data.pt", "-o",
              "{in}/mlp_data.pt"], "error", ["Refusing to overwrite the input", "mlp_data.pt"]),
        Case("output", "-o equal to the student",
             ["quantize", "{in}/cnn.pt", "--technique", "distillation", "--train-data", "{in}/cnn_data.pt",
              "--student", "{in}/cnn_student.pt", "-o", "{in}/cnn_student.pt"], "error",
             ["Refusing to overwrite the input", "cnn_student.pt"]),
        Case("output", "--report .txt", base + ["-o", "{out}/q.pt", "--evaluate", "--report", "{out}/r.txt"],
             "error", [".png or .pdf"]),
        Case("output", "--report in a missing folder",
             base + ["-o", "{out}/q.pt", "--evaluate", "--report", "{out}/missing/r.png"], "error",
             ["folder does not exist"]),
        Case("output", "--report under /proc",
             base + ["-o", "{out}/q.pt", "--data", "{in}/mlp_data.pt", "--report", "/proc/quantscope_r.png"]
             + QUANTIZE_FAST, "error", ["/proc/quantscope_r.png"]),
        Case("output", "report -o under /proc (pdf)",
             ["report", "{in}/project_good.qsproj", "-o", "/proc/quantscope_r.pdf"], "error", ["quantscope_r.pdf"]),
        Case("output", "report -o in a missing folder",
             ["report", "{in}/project_good.qsproj", "-o", "{out}/missing/r.pdf"], "error", ["folder does not exist"]),
        Case("output", "report -o equal to the input",
             ["report", "{in}/project_good.qsproj", "-o", "{in}/project_good.qsproj"], "error", ["project_good"]),
    ]


def project_cases():
    def report(name, frags, expect="error"):
        outputs = ["r.png"] if expect != "error" else []
        return Case("project", f"report {name}", ["report", "{in}/" + name, "-o", "{out}/r.png"], expect, frags,
                    outputs)

    return [
        report("project_good.qsproj", [], "ok"),  # the control: a valid project does give a report
        report("project_corrupt.qsproj", ["is not a QuantScope results file"]),
        report("project_truncated.qsproj", ["is not a QuantScope results file"]),
        report("project_newer.qsproj", ["newer QuantScope", "format 99"]),
        report("project_no_runs.qsproj", ["has no runs"]),
        report("project_empty.qsproj", ["project_empty.qsproj"]),
        report("project_binary.qsproj", ["project_binary.qsproj"]),
        report("project_array_of_numbers.json", ["holds no QuantScope runs"]),
        report("project_wrong_types.qsproj", ["project_wrong_types.qsproj"], "either"),
        report("no_such_project.qsproj", ["no_such_project.qsproj"]),
        report("mlp.pt", ["mlp.pt"]),
    ]


def option_cases():
    return [
        Case("options", "bench --threads 0", ["bench", "{in}/mlp.pt", "--threads", "0"], "error", ["--threads", ">= 1"]),
        Case("options", "bench --runs 0", ["bench", "{in}/mlp.pt", "--runs", "0"], "error", ["--runs", ">= 1"]),
        Case("options", "bench --runs text", ["bench", "{in}/mlp.pt", "--runs", "many"], "error", ["'many'"]),
        Case("options", "evaluate --batch-size 0",
             ["evaluate", "{in}/mlp.pt", "--data", "{in}/mlp_data.pt", "--batch-size", "0"], "error", ["--batch-size"]),
        Case("options", "unknown technique", ["quantize", "{in}/mlp.pt", "-o", "{out}/q.pt", "--technique", "magic"],
             "error", ["magic"]),
        Case("options", "unknown parameter",
             ["quantize", "{in}/mlp.pt", "-o", "{out}/q.pt", "--param", "no_such_param=1"], "error", ["no_such_param"]),
        Case("options", "parameter without =", ["quantize", "{in}/mlp.pt", "-o", "{out}/q.pt", "--param", "dtype"],
             "error", ["dtype"]),
        Case("options", "unknown option", ["inspect", "{in}/mlp.pt", "--frobnicate"], "error", ["frobnicate"]),
        Case("options", "unknown command", ["frobnicate"], "error", ["unknown command"]),
        Case("options", "missing -o", ["quantize", "{in}/mlp.pt"], "error", ["-o"]),
        Case("options", "student file missing",
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", "distillation", "--student",
              "{in}/no_such_student.pt", "--train-data", "{in}/cnn_data.pt"], "error", ["does not exist"]),
        Case("options", "student is not TorchScript",
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", "distillation", "--student",
              "{in}/state_dict.pt", "--train-data", "{in}/cnn_data.pt", "--param", "epochs=1"], "error",
             ["state_dict.pt", "torch.jit.save"]),
        Case("options", "layer_bits names an unknown layer",
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", "mixed", "--calib-data",
              "{in}/cnn_data.pt", "--layer-bits", "nosuch=4"], "error", ["nosuch"]),
        Case("options", "layer_bits malformed",
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", "mixed", "--calib-data",
              "{in}/cnn_data.pt", "--layer-bits", "conv1"], "error", ["layer=value"]),
        Case("options", "candidate_bits out of range",
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", "mixed", "--calib-data",
              "{in}/cnn_data.pt", "--param", "candidate_bits=4,9"], "error", ["'9'", "2..8"]),
        Case("options", "fx example_inputs malformed",
             ["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", "fx", "--calib-data",
              "{in}/cnn_data.pt", "--param", "example_inputs=1x0x8"], "error", ["1x0x8"]),
    ]


# Settings that keep an at-bound run short; the parameter under test overrides its own.
FAST_PARAMS = {
    "qat": {"epochs": "1"},
    "pruning": {"finetune_epochs": "1"},
    "distillation": {"epochs": "1", "compare_without": "false", "seeds": "1"},
}


def parse_registry(help_text):
    """[(technique, name, type, min, max, choices)] from `quantscope-cli quantize --help`."""
    params, technique = [], None
    section = help_text.split("Techniques (--technique NAME)", 1)[1]
    for line in section.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("      "):
            technique = line.split()[0]
        elif line.startswith("      ") and technique:
            head = line.strip().split(": ", 1)[0].split(" default ")[0]
            name, rest = head.split(" ", 1)
            kind, low, high, choices = rest, None, None, []
            if "[" in rest:
                kind = rest[: rest.index("[")].strip()
                low, high = rest[rest.index("[") + 1 : rest.index("]")].split("..")
            elif "{" in rest:
                kind = rest[: rest.index("{")].strip()
                choices = rest[rest.index("{") + 1 : rest.index("}")].split("|")
            params.append((technique, name, kind.strip(), low, high, choices))
    return params


def number_text(value, whole):
    return str(int(value)) if whole else repr(float(value))


def parameter_cases(help_text):
    """Every parameter in the registry beyond its bounds (refused, naming the bound) and at them (runs).

    Techniques share parameter specs (the training options of qat, pruning and distillation; the recipe of
    static, fx and mixed), validated by the same registry code: a spec shared by several techniques is tried
    below its minimum on the first of them, above its maximum on the last, and at its bounds on the first,
    so every technique takes part and no spec is left out.
    """
    params = parse_registry(help_text)
    owners = {}
    for technique, name, kind, low, high, choices in params:
        owners.setdefault((name, kind, low, high, tuple(choices)), []).append(technique)
    cases = []
    for (name, kind, low, high, choices), techniques in owners.items():
        def run_with(technique, value):
            settings = dict(FAST_PARAMS.get(technique, {}))
            settings[name] = value
            return (["quantize", "{in}/cnn.pt", "-o", "{out}/q.pt", "--technique", technique, "--calib-data",
                     "{in}/cnn_data.pt"] + [a for k, v in settings.items() for a in ("--param", f"{k}={v}")])

        first, last = techniques[0], techniques[-1]
        if kind in ("int", "float"):
            whole = kind == "int"
            lo, hi = float(low), float(high)
            # Just beyond: one step for whole numbers, 1 % of the range (or half of a small positive minimum).
            below = lo - (1.0 if whole else (min((hi - lo) * 0.01, lo * 0.5) if lo > 0 else (hi - lo) * 0.01))
            above = hi + (1.0 if whole else (hi - lo) * 0.01)
            for label, technique, value in (("below", first, below), ("above", last, above)):
                text = number_text(value, whole)
                cases.append(Case("param-beyond", f"{technique}.{name}={text} ({label})", run_with(technique, text),
                                  "error", [f"{name}={text}", "out of range", f"{low}..{high}"]))
            for label, value in (("min", lo), ("max", hi)):
                text = number_text(value, whole)
                cases.append(Case("param-at-bound", f"{first}.{name}={text} ({label})", run_with(first, text), "ok",
                                  [], ["q.pt"], timeout=240))
        elif kind == "choice":
            cases.append(Case("param-beyond", f"{last}.{name}=bogus", run_with(last, "bogus"), "error",
                              [f"{name}=bogus", "is not one of", ", ".join(choices)]))
        elif kind == "bool":
            cases.append(Case("param-beyond", f"{last}.{name}=maybe", run_with(last, "maybe"), "error",
                              [f"{name}=maybe", "true or false"]))
    return cases


# ---------------------------------------------------------------------------------------------------------
# Running and checking
# ---------------------------------------------------------------------------------------------------------


def sha256(path):
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree(path):
    """Every file and folder under path, relative, with sizes and hashes of regular files."""
    listing = {}
    for folder, dirs, files in os.walk(path):
        for d in dirs:
            listing[os.path.relpath(os.path.join(folder, d), path) + "/"] = "dir"
        for f in files:
            full = os.path.join(folder, f)
            if os.path.islink(full) or not os.path.isfile(full):
                listing[os.path.relpath(full, path)] = "special"
            else:
                listing[os.path.relpath(full, path)] = sha256(full)
    return listing


PYTHON_LOCK = threading.Lock()


def python_load_failure(path):
    """Empty when stock PyTorch loads the written model and runs it on its stored input shape."""
    import torch

    with PYTHON_LOCK:
        try:
            extra = {"quantscope/input_spec.json": "", "quantscope/quantization.json": ""}
            engine = "onednn"
            try:
                with zipfile.ZipFile(path) as z:
                    for name in z.namelist():
                        if name.endswith("extra/quantscope/quantization.json"):
                            engine = json.loads(z.read(name) or b"{}").get("engine") or engine
            except (zipfile.BadZipFile, ValueError) as error:
                return f"not a complete archive ({error})"
            torch.backends.quantized.engine = engine
            module = torch.jit.load(path, _extra_files=extra)
            spec = json.loads(extra["quantscope/input_spec.json"] or "{}")
            shape = spec.get("shape") or [1, 1, 8, 8]
            with torch.no_grad():
                module(torch.zeros(shape))
            return ""
        except Exception as error:  # any failure is the finding
            return str(error).splitlines()[0][:200]


def run_case(case, cli, inputs, outputs_root, env):
    out = os.path.join(outputs_root, case.id.replace("/", "__").replace(" ", "_").replace("=", "-")[:120])
    os.makedirs(out, exist_ok=True)
    args = [a.replace("{in}", inputs).replace("{out}", out) for a in case.args]
    watched = sorted({a for a in args if a.startswith(inputs) and os.path.isfile(a)}
                     | {p.replace("{in}", inputs) for p in case.inputs})
    before = {p: sha256(p) for p in watched}
    started = time.monotonic()
    problems = []
    try:
        proc = subprocess.run([cli] + args, cwd=out, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=case.timeout)
        code, stderr, stdout = proc.returncode, proc.stderr.decode(errors="replace"), proc.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        code, stderr, stdout = None, (e.stderr or b"").decode(errors="replace"), ""
        problems.append(f"hung: no exit within {case.timeout} s")
    seconds = time.monotonic() - started
    if code is not None and code < 0:
        problems.append(f"killed by signal {signal.Signals(-code).name}")
    if code == 3:
        problems.append("exit 3: an unexpected exception reached the CLI")
    for bad in FORBIDDEN:
        if bad in stderr or bad in stdout:
            problems.append(f"output contains '{bad}'")
    after = {p: sha256(p) for p in watched}
    for p in watched:
        if before[p] != after[p]:
            problems.append(f"input changed: {p}")
    listing = tree(out)
    leftovers = [n for n in listing if n.endswith((".tmp", ".part", ".partial")) or ".qt_temp" in n or n.startswith(".")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    outcome = None
    if code is not None and code >= 0 and code != 3:
        succeeded = code == 0
        if succeeded:
            outcome = "succeeded"
            if case.expect == "error":
                problems.append("exit 0, but this input must be refused")
            missing = [o for o in case.outputs if not os.path.isfile(os.path.join(out, o))
                       or os.path.getsize(os.path.join(out, o)) == 0]
            if missing:
                problems.append(f"succeeded without writing {missing}")
            extra = [n for n in listing if n not in case.outputs and not n.endswith("/")]
            if extra:
                problems.append(f"unexpected files written: {extra}")
            for o in case.outputs:
                full = os.path.join(out, o)
                if o.endswith(".pt") and os.path.isfile(full):
                    failure = python_load_failure(full)
                    if failure:
                        problems.append(f"{o} does not run in Python's torch.jit.load: {failure}")
        else:
            outcome = "refused"
            if case.expect == "ok":
                problems.append(f"exit {code}, but this run is within bounds and must succeed")
            if listing:
                problems.append(f"files left after a refusal: {sorted(listing)}")
            message = stderr.strip()
            if not message:
                problems.append("no message on stderr")
            missing = [f for f in case.fragments if f.lower() not in message.lower()]
            if missing:
                problems.append(f"message lacks {missing}")
    last_lines = "\n".join(l for l in stderr.strip().splitlines()[-4:])
    return {"case": case, "code": code, "seconds": seconds, "outcome": outcome, "problems": problems,
            "stderr": last_lines}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cli")
    parser.add_argument("--work", help="Folder for the generated inputs and outputs (default: a temporary one).")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="Run only cases whose id contains one of these |-separated strings.")
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    parser.add_argument("--timeout", type=float, help="Seconds per case instead of each case's own limit.")
    parser.add_argument("--verbose", action="store_true", help="Print every case's last stderr lines.")
    options = parser.parse_args()

    cli = os.path.abspath(options.cli)
    work = options.work or tempfile.mkdtemp(prefix="quantscope_corpus_")
    if os.path.exists(os.path.join(work, "inputs")):
        shutil.rmtree(os.path.join(work, "inputs"))
    if os.path.exists(os.path.join(work, "outputs")):
        shutil.rmtree(os.path.join(work, "outputs"))
    inputs, outputs = os.path.join(work, "inputs"), os.path.join(work, "outputs")
    env = dict(os.environ, OMP_WAIT_POLICY="passive", OPENBLAS_NUM_THREADS="1", QUANTSCOPE_ENV_TUNED="1",
               QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()

    make_inputs(inputs)
    import torch  # noqa: E402  (already imported by make_inputs)

    scripted = torch.jit.load(os.path.join(inputs, "mlp.pt"))
    torch.jit.save(scripted, os.path.join(inputs, "mlp_no_spec.pt"))  # no extra files: no stored input spec
    os.symlink(os.path.join(inputs, "mlp.pt"), os.path.join(inputs, "link_to_mlp.pt"))
    damaged = make_damaged_archives(inputs)

    # A real run's JSON, from the CLI itself, for the project files.
    run = subprocess.run([cli, "quantize", os.path.join(inputs, "mlp.pt"), "-o", os.path.join(work, "setup_q.pt"),
                          "--data", os.path.join(inputs, "mlp_data.pt"), "--json"] + QUANTIZE_FAST,
                         env=env, capture_output=True, timeout=300)
    if run.returncode != 0:
        print("setup failed: quantscope-cli could not make a run to build project files from:")
        print(run.stderr.decode(errors="replace"))
        return 1
    result = json.loads(run.stdout)
    project = {"quantscope_project": 1, "model_path": os.path.join(inputs, "mlp.pt"), "runs": [{"id": 1, "result": result}]}
    text = json.dumps(project, indent=1)
    with open(os.path.join(inputs, "project_good.qsproj"), "w") as f:
        f.write(text)
    with open(os.path.join(inputs, "project_truncated.qsproj"), "w") as f:
        f.write(text[: len(text) // 2])
    with open(os.path.join(inputs, "project_newer.qsproj"), "w") as f:
        json.dump(dict(project, quantscope_project=99), f)
    wrong = json.loads(text)
    wrong["runs"][0]["result"]["sizes"] = "big"
    wrong["runs"][0]["result"]["technique"] = 7
    with open(os.path.join(inputs, "project_wrong_types.qsproj"), "w") as f:
        json.dump(wrong, f)

    help_text = subprocess.run([cli, "quantize", "--help"], env=env, capture_output=True, timeout=120).stdout.decode()
    cases = (model_file_cases(inputs, damaged) + shape_cases() + data_cases() + output_cases() + project_cases()
             + option_cases() + parameter_cases(help_text))
    if options.only:
        cases = [c for c in cases if any(part in c.id for part in options.only.split("|"))]
    for case in cases:
        case.timeout = options.timeout or case.timeout
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        print(f"corpus error: duplicate case ids {sorted(duplicates)}")
        return 1
    print(f"corpus: {len(cases)} cases in {work} ({options.jobs} at a time)", flush=True)

    inputs_before = tree(inputs)
    os.makedirs(outputs, exist_ok=True)
    results = []
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        for r in pool.map(lambda c: run_case(c, cli, inputs, outputs, env), cases):
            status = "ok " if not r["problems"] else "BAD"
            print(f"{status} {r['outcome'] or 'crashed/hung':9} exit {r['code']!s:4} {r['seconds']:5.1f} s  {r['case'].id}",
                  flush=True)
            if r["problems"] or options.verbose:
                for p in r["problems"]:
                    print(f"      problem: {p}")
                for line in r["stderr"].splitlines():
                    print(f"      stderr: {line}")
            results.append(r)
    inputs_after = tree(inputs)
    changed = sorted(k for k in set(inputs_before) | set(inputs_after) if inputs_before.get(k) != inputs_after.get(k))

    bad = [r for r in results if r["problems"]]
    counts = {}
    for r in results:
        key = r["outcome"] or "crashed or hung"
        counts[key] = counts.get(key, 0) + 1
    groups = {}
    for r in results:
        groups[r["case"].group] = groups.get(r["case"].group, 0) + 1
    print()
    print(f"corpus: {len(results)} cases in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
          + f"; {len(results) - len(bad)} as expected, {len(bad)} bad")
    print("  by group: " + ", ".join(f"{g} {n}" for g, n in groups.items()))
    print(f"  expected: {sum(c.expect == 'error' for c in cases)} must be refused, "
          f"{sum(c.expect == 'ok' for c in cases)} must succeed, {sum(c.expect == 'either' for c in cases)} either")
    if changed:
        print(f"  the inputs folder changed: {changed}")
    if not options.keep and not bad and not changed:
        shutil.rmtree(work, ignore_errors=True)
    if bad or changed:
        print("\nBad cases:")
        for r in bad:
            print(f"  {r['case'].id}: {'; '.join(r['problems'])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
