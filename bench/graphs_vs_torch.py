#!/usr/bin/env python3
"""Seconds per training epoch of the graph networks: PyTorch (CPU) against texfield, same run.

Both train the same model on the same kind of data — the CSL experiment's default: 100 Circular
Skip Link graphs (41 nodes), minibatch 32, Adam, a GIN with SignNet (φ a 2-layer GIN on each of
k = 8 eigenvectors and its negation, as one disjoint-union graph; ρ Linear+ReLU; base GIN 2 layers
of width 32; sum readout; head 32-32-10) — and plain GIN ("none"). PyTorch uses index_add_ for
message passing (what PyTorch Geometric's GINConv does), torch.set_num_threads(2).

    python3 bench/graphs_vs_torch.py [--epochs 30] [--texfield .build/release/texfield]

pip install torch (CPU wheels: --index-url https://download.pytorch.org/whl/cpu) and numpy.
"""
import argparse
import re
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn

SKIPS = [2, 3, 4, 5, 6, 9, 11, 12, 13, 16]


def csl(per_class, rng):
    graphs = []
    for label, r in enumerate(SKIPS):
        edges = [(i, (i + 1) % 41) for i in range(41)] + [(i, (i + r) % 41) for i in range(41)]
        for _ in range(per_class):
            p = rng.permutation(41)
            graphs.append(([(p[a], p[b]) for a, b in edges], label))
    return graphs


def eigvecs(edges, n, k):
    a = np.zeros((n, n))
    for x, y in edges:
        a[x, y] = a[y, x] = 1
    d = a.sum(1)
    s = 1 / np.sqrt(np.maximum(d, 1))
    lap = np.eye(n) - s[:, None] * a * s[None, :]
    _, v = np.linalg.eigh(lap)
    return v[:, :k]


class GIN(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o))

    def forward(self, x, src, dst):
        agg = x.clone().index_add_(0, dst, x[src])
        return self.mlp(agg)


class Model(nn.Module):
    def __init__(self, signnet, k=8, q=16, p=8, hidden=32, classes=10):
        super().__init__()
        self.signnet, self.k = signnet, k
        if signnet:
            self.phi1, self.phi2 = GIN(1, q, q), GIN(q, q, q)
            self.rho = nn.Linear(k * q, p)
        self.gin1 = GIN(1 + (p if signnet else 0), hidden, hidden)
        self.gin2 = GIN(hidden, hidden, hidden)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x, v, src, dst, graph_of, graphs):
        n = x.shape[0]
        if self.signnet:
            k = self.k
            u = torch.cat([v.t().reshape(-1, 1), -v.t().reshape(-1, 1)])  # 2k copies of the batch
            off = (torch.arange(2 * k) * n).repeat_interleave(src.shape[0])
            s2, d2 = src.repeat(2 * k) + off, dst.repeat(2 * k) + off
            h = self.phi2(torch.relu(self.phi1(u, s2, d2)), s2, d2).reshape(2 * k, n, -1)
            r = (h[:k] + h[k:]).permute(1, 0, 2).reshape(n, -1)
            x = torch.cat([x, torch.relu(self.rho(r))], 1)
        h = self.gin2(torch.relu(self.gin1(x, src, dst)), src, dst)
        pooled = torch.zeros(graphs, h.shape[1]).index_add_(0, graph_of, h)
        return self.head(pooled)


def batches(data, batch, rng):
    order = rng.permutation(len(data))
    for s in range(0, len(order), batch):
        part = [data[i] for i in order[s:s + batch]]
        src, dst, vs, gof, labels, base = [], [], [], [], [], 0
        for gi, (edges, v, label) in enumerate(part):
            for a, b in edges:
                src += [a + base, b + base]
                dst += [b + base, a + base]
            vs.append(v)
            gof += [gi] * 41
            labels.append(label)
            base += 41
        yield (torch.ones(base, 1), torch.tensor(np.concatenate(vs), dtype=torch.float32), torch.tensor(src), torch.tensor(dst),
               torch.tensor(gof), len(part), torch.tensor(labels))


def torch_epoch_seconds(signnet, epochs):
    torch.set_num_threads(2)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = [(e, eigvecs(e, 41, 8), label) for e, label in csl(10, rng)]
    model = Model(signnet)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for x, v, src, dst, gof, count, labels in batches(data, 32, rng):
            opt.zero_grad()
            loss = loss_fn(model(x, v, src, dst, gof, count), labels)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:] if len(times) > 2 else times))


def texfield_epoch_seconds(binary, encoding, epochs):
    out = subprocess.run([binary, "graphs", "csl", "--encodings", encoding, "--seeds", "1", "--epochs", str(epochs),
                          "--constant-lr", "-o", "/tmp/texfield-bench-graphs"], capture_output=True, text=True, check=True)
    return float(re.search(r"([0-9.]+) s/epoch", out.stderr).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--texfield", default=".build/release/texfield")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; CSL, 100 graphs per epoch, batch 32")
    for encoding, signnet in [("none", False), ("signnet", True)]:
        t = torch_epoch_seconds(signnet, a.epochs)
        f = texfield_epoch_seconds(a.texfield, encoding, a.epochs)
        print(f"{encoding:8s} PyTorch {t * 1000:8.1f} ms/epoch   texfield {f * 1000:8.1f} ms/epoch   ratio {t / f:5.2f}x")


if __name__ == "__main__":
    main()
