#!/usr/bin/env python3
"""The ONNX twin in onnxruntime against runtime-nostd, input by input.

    distill eval RUN/student.int8.safetensors --data DIR --vectors /tmp/v.safetensors
    python3 scripts/onnxruntime_agree.py RUN/student.int8.onnx /tmp/v.safetensors

`distill eval --vectors` writes every test input raw (`x`) and quantized (`x_q`) with
runtime-nostd's int8 `logits` and `class` (the vectors format, runtime-nostd's format.rs). This
runs the graph on `x` in onnxruntime (CPU) and compares. The rule is tract's: given the same
quantized input the two must agree exactly (same logits, same class); a float engine may
quantize an input one step apart where `x_n / s_in` lies within float error of a half, and only
there may they differ. Exits 1 on any disagreement the rule does not explain. Installs
onnxruntime with pip when it is missing.
"""
import importlib.util
import json
import struct
import subprocess
import sys

import numpy as np

DTYPES = {"F32": np.float32, "I8": np.int8, "U8": np.uint8, "I32": np.int32}


def read_safetensors(path):
    """The tensors of a safetensors file as numpy arrays (its format is a JSON header)."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    onnx_path, vectors_path = sys.argv[1:]
    if importlib.util.find_spec("onnxruntime") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "onnxruntime"], check=True)
    import onnxruntime as ort

    v = read_safetensors(vectors_path)
    if "x" not in v:
        sys.exit(f"{vectors_path}: no raw inputs `x`: write it with `distill eval --vectors`")
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: v["x"]})))
    n = len(v["class"])
    same_q = (got["x_q"] == v["x_q"]).all(axis=1)
    has_logits = "logits" in got
    if has_logits:
        dlogit = np.abs(got["logits"].astype(np.int32) - v["logits"].astype(np.int32)).max(axis=1)
    else:
        dlogit = np.zeros(n, dtype=np.int32)
    same_class = got["class"].astype(np.int64) == v["class"].astype(np.int64)
    unexplained = int((same_q & ((dlogit != 0) | ~same_class)).sum())
    line = (
        f"onnxruntime {ort.__version__}: classes differ from runtime-nostd on "
        f"{int((~same_class).sum())} / {n}, quantized inputs on {int((~same_q).sum())}, "
        f"max |Δlogit| {int(dlogit.max(initial=0))}"
    )
    if "label" in v:
        acc = 100.0 * float((got["class"] == v["label"].astype(np.int64)).mean())
        line += f"; accuracy {acc:.2f}%"
    print(line)
    if unexplained:
        sys.exit(
            f"{unexplained} inputs quantized identically get other outputs: the ONNX graph "
            "and the artifact compute different things"
        )


if __name__ == "__main__":
    main()
