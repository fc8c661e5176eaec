#!/usr/bin/env python3
"""Copies a safetensors file without the named tensors, metadata kept: e.g. test vectors
without `label`, as `export` writes them when the evaluation data has no labels (ci.sh).
usage: drop_tensors.py IN OUT NAME..."""
import json, struct, sys


def main():
    src, dst, drop = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    raw = open(src, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8 : 8 + n]), raw[8 + n :]
    missing = drop - header.keys()
    if missing:
        sys.exit(f"drop_tensors: {src} has no tensor {sorted(missing)}")
    kept = sorted(
        ((k, v) for k, v in header.items() if k != "__metadata__" and k not in drop),
        key=lambda kv: kv[1]["data_offsets"][0],
    )
    out, chunks, offset = {}, [], 0
    if "__metadata__" in header:
        out["__metadata__"] = header["__metadata__"]
    for name, t in kept:
        begin, end = t["data_offsets"]
        out[name] = dict(t, data_offsets=[offset, offset + end - begin])
        chunks.append(data[begin:end])
        offset += end - begin
    h = json.dumps(out, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


if __name__ == "__main__":
    main()
