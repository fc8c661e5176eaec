#!/usr/bin/env python3
"""Writes the first N train and M test samples of an IDX dataset as gzipped IDX files.

Usage: scripts/make-subset.py SRC_DIR DST_DIR N_TRAIN N_TEST
Made data/fashion-mnist-subset from /usr/share/datasets/fashion-mnist with N=2000, M=500.
"""
import gzip, struct, sys, os

def read(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return data[:4], dims, data[4 + 4 * ndim:]

def write(path, magic, dims, body):
    # mtime=0 keeps the committed files byte-identical when regenerated
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(magic + struct.pack(">" + "I" * len(dims), *dims) + body)

src, dst, n_train, n_test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(dst, exist_ok=True)
for prefix, n in (("train", n_train), ("t10k", n_test)):
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        magic, dims, body = read(f"{src}/{prefix}-{kind}.gz")
        per = 1
        for d in dims[1:]:
            per *= d
        write(f"{dst}/{prefix}-{kind}.gz", magic, (n,) + tuple(dims[1:]), body[: n * per])
