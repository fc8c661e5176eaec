#!/usr/bin/env python3
"""PyTorch twin of `cargo bench -p distill --bench epoch`: the same epoch on the same data.

Usage: bench_torch.py DIR FEATURES CLASSES THREADS [SEEDS [all|mlp|cnn]]. DIR holds what the
Rust bench wrote:
train_x.f32, train_y.u32, test_x.f32, test_y.u32 (normalized, little-endian) and
teacher_logits.f32 (candle's teacher after its epoch). Prints one JSON line per model: the
mean epoch time and test accuracy over SEEDS runs (seeds 1..SEEDS), and each run's accuracy.
Matches the Rust side: PyTorch's default Linear init, dropout 0.25 after each hidden ReLU of
the teacher, AdamW(lr 1e-3, weight decay 0), batch 128, a fresh shuffle, the loss read back
every step; KD: 0.5 * CE + 0.5 * T^2 * KL(softmax(t/T) || softmax(s/T)), T = 2. The CNN
teacher: conv 3x3 (padding 1) 32, ReLU, max-pool 2, conv 3x3 64, ReLU, max-pool 2, flatten,
dropout 0.25, dense 128, ReLU, dropout 0.25, dense C (PyTorch's default init).
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def load(path, dtype, cols=None):
    a = np.fromfile(path, dtype=dtype)
    return torch.from_numpy(a.reshape(-1, cols) if cols else a.astype(np.int64))


def mlp(sizes, dropout):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def cnn(classes, dropout):
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(dropout),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(128, classes),
    )


def epoch(model, x, y, teacher=None, alpha=0.5, t=2.0, batch=128):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    model.train()
    start = time.perf_counter()
    order = torch.randperm(x.shape[0])
    for i in range(0, x.shape[0], batch):
        idx = order[i:i + batch]
        logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        if teacher is not None:
            soft = F.kl_div(F.log_softmax(logits / t, 1), F.log_softmax(teacher[idx] / t, 1),
                            reduction="batchmean", log_target=True)
            loss = alpha * loss + (1 - alpha) * t * t * soft
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - start


def test_acc(model, x, y):
    model.eval()
    with torch.no_grad():
        return 100.0 * (model(x).argmax(1) == y).float().mean().item()


def main():
    d, features, classes, threads = sys.argv[1], *map(int, sys.argv[2:5])
    seeds = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    only = sys.argv[6] if len(sys.argv) > 6 else "all"
    torch.set_num_threads(threads)
    x = load(f"{d}/train_x.f32", np.float32, features)
    y = load(f"{d}/train_y.u32", np.uint32)
    tx = load(f"{d}/test_x.f32", np.float32, features)
    ty = load(f"{d}/test_y.u32", np.uint32)
    runs = []
    if only in ("all", "mlp"):
        logits = load(f"{d}/teacher_logits.f32", np.float32, classes)
        runs += [
            ("teacher", lambda: mlp([features, 1200, 1200, classes], 0.25), None),
            ("student", lambda: mlp([features, 128, classes], 0.0), logits),
        ]
    if only in ("all", "cnn"):
        runs.append(("cnn", lambda: cnn(classes, 0.25), None))
    for name, build, teacher in runs:
        times, accs = [], []
        for seed in range(1, seeds + 1):
            torch.manual_seed(seed)
            model = build()
            times.append(epoch(model, x, y, teacher))
            accs.append(test_acc(model, tx, ty))
        print(json.dumps({"model": name, "seconds": sum(times) / seeds,
                          "test_acc": sum(accs) / seeds, "accs": accs,
                          "torch": torch.__version__, "threads": threads}))


if __name__ == "__main__":
    main()
