#!/usr/bin/env python3
"""Checks a soft decision tree's QEMU runs against its artifact, and prints its instruction
counts beside another model's (ci.sh: the MLP's).

* The self-test log's path (src/model.rs, `log_tree_path`): as many levels as the artifact's
  depth, each node the child of the one before on the logged side, the leaf's heap index and
  bits equal to the turns, and the leaf's stored class and probability (read from the
  artifact here) equal to the logged ones and to the host runtime's class for vector 0.
* The benchmark log (src/bin/bench.rs): MACs per inference = depth x input size, both read
  from the artifact's header, and the bench's own "dot products per inference ... OK" line.

usage: tree_check.py TREE.int8.safetensors TREE.vectors.safetensors SELFTEST.log BENCH.log
                     [OTHER_BENCH.log ...]"""
import json, math, re, struct, sys


def safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8 : 8 + n]), raw[8 + n :]
    meta = header.pop("__metadata__", {})
    tensor = lambda name: data[slice(*header[name]["data_offsets"])]
    return meta, header, tensor


def fail(msg):
    sys.exit(f"tree_check: FAILED: {msg}")


def lines(path):
    return [l.rstrip("\n") for l in open(path, encoding="utf-8", errors="replace")]


def one(pattern, log, path):
    found = [m for m in map(re.compile(pattern).search, log) if m]
    if len(found) != 1:
        fail(f"{path}: {len(found)} lines match {pattern!r}, want 1")
    return found[0]


def bench_line(path):
    log = lines(path)
    kind = one(r"model: (\w+), (\d+) inputs", log, path)
    infer = one(r"bench infer, whole model: (\d+) instructions, (\d+) MACs, (\d+\.\d+) per MAC", log, path)
    kernel = one(r"bench infer: runtime-nostd selected (\S+) for this build", log, path)
    return kind[1], int(infer[1]), int(infer[2]), infer[3], kernel[1], log


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    model, vectors, selftest, bench, others = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    meta, header, tensor = safetensors(model)
    if meta.get("kind") != "tree":
        fail(f"{model} is a {meta.get('kind')!r}, not a tree")
    depth = int(meta["depth"])
    features = math.prod(int(d) for d in meta["input_shape"].split("x"))
    classes = meta["classes"].split("|")
    leaf_class = tensor("tree.leaf_class")
    leaf_probs = tensor("tree.leaf_probs")
    _, _, vtensor = safetensors(vectors)
    want_class = vtensor("class")[0]

    # The path of vector 0.
    log = lines(selftest)
    head = one(r"tree path of vector 0: depth (\d+), (\d+) inputs per node", log, selftest)
    if (int(head[1]), int(head[2])) != (depth, features):
        fail(f"{selftest}: path of depth {head[1]} over {head[2]} inputs, the artifact has {depth} x {features}")
    levels = [m for m in map(re.compile(r"level (\d+): node (\d+) -> (left|right)$").search, log) if m]
    if [int(m[1]) for m in levels] != list(range(depth)):
        fail(f"{selftest}: levels {[m[1] for m in levels]}, want 0..{depth - 1}")
    node, turns = 0, []
    for m in levels:
        if int(m[2]) != node:
            fail(f"{selftest}: level {m[1]} at node {m[2]}, the turns before lead to node {node}")
        right = m[3] == "right"
        turns.append(right)
        node = 2 * node + 1 + right
    leaf = one(r"leaf (\d+) \(node (\d+)\): class (\d+) \((.*)\), p (\d+)/255$", log, selftest)
    index, leaf_node, cls, name, p = int(leaf[1]), int(leaf[2]), int(leaf[3]), leaf[4], int(leaf[5])
    bits = int("".join("1" if t else "0" for t in turns), 2)
    if leaf_node != node or index != bits or leaf_node != 2**depth - 1 + index:
        fail(f"{selftest}: leaf {index} (node {leaf_node}), the turns lead to leaf {bits} (node {node})")
    stored = leaf_probs[index * len(classes) + cls]
    if (cls, name, p) != (leaf_class[index], classes[leaf_class[index]], stored) or cls != want_class:
        fail(f"{selftest}: leaf {index} logged class {cls} ({name}) p {p}; the artifact stores class "
             f"{leaf_class[index]} p {stored}, the host runtime predicted class {want_class}")
    path = ", ".join(f"{m[2]} {'R' if t else 'L'}" for m, t in zip(levels, turns))
    print(f"tree_check: path of vector 0, depth {depth}: {path} -> leaf {index} (node {leaf_node}), "
          f"class {cls} ({name}), as the artifact and the host runtime: OK")

    # The cost: depth dot products of `features` MACs.
    kind, insns, macs, per_mac, kernel, blog = bench_line(bench)
    if kind != "tree" or macs != depth * features:
        fail(f"{bench}: {kind}, {macs} MACs per inference, want depth x input size = {depth} x {features}")
    one(rf"bench tree: {depth} dot products per inference, as the path's {depth} decisions: OK", blog, bench)
    print(f"tree_check: {bench}: {macs} MACs = depth {depth} x {features} inputs, "
          f"{depth} dot products (not one for each of the {2**depth - 1} inner nodes): OK")

    rows = [(f"{model.split('/')[-1].removesuffix('.int8.safetensors')} (tree, depth {depth})", kernel, macs, insns, per_mac)]
    for other in others:
        okind, oinsns, omacs, oper, okernel, olog = bench_line(other)
        art = one(r"artifact (\S+): \d+ bytes", olog, other)[1]
        rows.append((f"{art.removesuffix('.int8.safetensors')} ({okind})", okernel, omacs, oinsns, oper))
    print("tree_check: one whole inference (`infer`), QEMU mps2-an386, instructions (-icount):")
    print(f"  {'model':<28} {'kernel':<28} {'MACs':>8} {'instructions':>13} {'per MAC':>8}")
    for r in rows:
        print(f"  {r[0]:<28} {r[1]:<28} {r[2]:>8} {r[3]:>13} {r[4]:>8}")
    for r in rows[1:]:
        if r[1] == rows[0][1]:
            print(f"  tree / {r[0]}: {insns / r[3]:.3f} of the instructions ({r[3] / insns:.1f}x fewer), "
                  f"{macs / r[2]:.3f} of the MACs")


if __name__ == "__main__":
    main()
