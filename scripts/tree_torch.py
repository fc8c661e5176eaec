#!/usr/bin/env python3
"""A minimal soft decision tree (Frosst & Hinton 2017) in PyTorch, trained on labels (or
distilled): the peer that docs/trees.md compares distill's trees with. Not part of any test.

usage: scripts/tree_torch.py DEPTH EPOCHS LAMBDA [unit|centred] [SEED] [KD...]
  unit:    inputs in [0, 1] (torchvision's ToTensor)
  centred: (x − per-pixel mean) / overall std, as distill's trees see them
  KD = LOGITS.safetensors ORDER.bin T ALPHA [hinton|targets]: distil from a teacher's cached
           logits (distill's cache, all 60,000 rows, `data.val_fraction = 0`) whose row order
           ORDER.bin gives (`cargo run --release -p distill --example train_order -- 60000
           SEED 0 ORDER.bin` with the run's seed). `hinton`: α·CE(labels) + (1 − α)·T²·Σ_ℓ P_ℓ·
           KL(softmax(teacher/T) ‖ softmax(φ_ℓ/T)); `targets` softens the teacher only,
           KL(softmax(teacher/T) ‖ softmax(φ_ℓ)), no T² (distill's `--soft-loss kl-targets`)
Adam 3e-3, batch 128, β = 1, all 60,000 training rows, a batch-level balance penalty; prints
the soft and max-path test accuracy after every epoch. Reads Fashion-MNIST IDX files from
/usr/share/datasets/fashion-mnist.
"""
import gzip, struct, sys, time, numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(2)
D = '/usr/share/datasets/fashion-mnist/'
def idx(name):
    import os
    p = D + name
    f = gzip.open(p + '.gz') if os.path.exists(p + '.gz') else open(p, 'rb')
    data = f.read(); magic = struct.unpack('>I', data[:4])[0]; nd = magic & 0xff
    dims = struct.unpack('>' + 'I' * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data[4 + 4 * nd:], dtype=np.uint8).reshape(dims)
xtr = torch.tensor(idx('train-images-idx3-ubyte').reshape(-1, 784) / 255.0, dtype=torch.float32)
ytr = torch.tensor(idx('train-labels-idx1-ubyte').astype(np.int64))
xte = torch.tensor(idx('t10k-images-idx3-ubyte').reshape(-1, 784) / 255.0, dtype=torch.float32)
yte = torch.tensor(idx('t10k-labels-idx1-ubyte').astype(np.int64))
depth, epochs, lam = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else 'unit'   # unit | centred
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
torch.manual_seed(seed)
kd = len(sys.argv) > 6
if kd:
    import json
    raw = open(sys.argv[6], 'rb').read(); hlen = struct.unpack('<Q', raw[:8])[0]
    meta = json.loads(raw[8:8 + hlen])['logits']; a, b = meta['data_offsets']
    cached = np.frombuffer(raw[8 + hlen + a:8 + hlen + b], dtype=np.float32).reshape(meta['shape'])
    order = np.frombuffer(open(sys.argv[7], 'rb').read(), dtype=np.uint32)
    assert cached.shape == (60000, 10) and order.shape == (60000,), 'logits of all 60,000 rows'
    in_file_order = np.empty_like(cached); in_file_order[order] = cached
    teacher = torch.tensor(in_file_order)
    print(f'teacher agrees with the labels on {(teacher.argmax(1) == ytr).float().mean() * 100:.2f}% of the training rows')
    T, alpha = float(sys.argv[8]), float(sys.argv[9])
    targets_only = len(sys.argv) > 10 and sys.argv[10] == 'targets'
    leaf_T, scale = (1.0, 1.0) if targets_only else (T, T * T)
    soft_targets = F.softmax(teacher / T, 1)
if mode == 'centred':
    m = xtr.mean(0); s = xtr.std()
    xtr, xte = (xtr - m) / s, (xte - m) / s
N, L = 2 ** depth - 1, 2 ** depth
inner = torch.nn.Linear(784, N); leaves = torch.nn.Parameter(torch.randn(L, 10) * 0.1)
opt = torch.optim.Adam(list(inner.parameters()) + [leaves], lr=3e-3)
def paths(x):
    p = torch.sigmoid(inner(x)); reach = torch.ones(x.shape[0], 1); inners = []
    for lvl in range(depth):
        w = 2 ** lvl; pl = p[:, w - 1: 2 * w - 1]; inners.append(reach)
        reach = torch.stack([reach * (1 - pl), reach * pl], 2).reshape(x.shape[0], 2 * w)
    return p, torch.cat(inners, 1), reach
def maxpath(x):
    z = inner(x); node = torch.zeros(x.shape[0], dtype=torch.long)
    for _ in range(depth):
        r = z.gather(1, node[:, None])[:, 0] > 0; node = 2 * node + 1 + r.long()
    return leaves[node - N].argmax(1)
wdepth = torch.tensor([2.0 ** -int(np.floor(np.log2(i + 1))) for i in range(N)])
for ep in range(epochs):
    t0 = time.time(); perm = torch.randperm(60000)
    for i in range(0, 60000, 128):
        b = perm[i:i + 128]; x, y = xtr[b], ytr[b]
        p, reach_in, P = paths(x)
        logq = F.log_softmax(leaves, 1)
        loss = -(P * logq[:, y].T).sum(1).mean()
        if kd:
            pt = soft_targets[b]                                  # [n, classes]
            logq_t = F.log_softmax(leaves / leaf_T, 1)            # [leaves, classes]
            kl = (pt * pt.clamp_min(1e-12).log()).sum(1, keepdim=True) - pt @ logq_t.T
            loss = alpha * loss + (1 - alpha) * scale * (P * kl).sum(1).mean()
        if lam > 0:
            a = ((reach_in * p).sum(0) / reach_in.sum(0).clamp_min(1e-8)).clamp(1e-6, 1 - 1e-6)
            loss = loss + lam * (wdepth * -0.5 * (a.log() + (1 - a).log())).sum()
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        acc = (maxpath(xte) == yte).float().mean().item() * 100
        _, _, P = paths(xte); soft = ((P @ F.softmax(leaves, 1)).argmax(1) == yte).float().mean().item() * 100
    print(f'epoch {ep + 1}: soft {soft:.2f} max {acc:.2f} ({time.time() - t0:.1f}s)', flush=True)
