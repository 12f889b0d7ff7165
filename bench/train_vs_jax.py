#!/usr/bin/env python3
"""Benchmark: one training step of the reference texture MLP, JAX and PyTorch (CPU) against texfield.

The step: forward of the 328,579-parameter MLP (5 hidden ReLU layers of 128, the input again
at the 4th through its own Linear, Linear→3, sigmoid) on a batch of 4096 × 1023 inputs, the mean
L1 loss, backward, and an Adam update — jit-compiled in JAX, `texfield bench train` for
texfield, torch.optim.Adam in PyTorch (when installed); on the same machine in the same run, each
in its own process, texfield first. Prints samples/s for each and the ratios.

    pip install jax numpy [torch]
    python3 bench/train_vs_jax.py [--texfield .build/release/texfield]
"""
import argparse, re, subprocess, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--texfield", default=".build/release/texfield")
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--only-torch", action="store_true", help=argparse.SUPPRESS)
a = ap.parse_args()
d, h, B = 1023, 128, 4096

def torch_step_ms():
    import torch
    torch.manual_seed(0)
    class Net(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.h = torch.nn.ModuleList([torch.nn.Linear(d, h)] + [torch.nn.Linear(h, h) for _ in range(4)])
            s.skip = torch.nn.Linear(d, h); s.out = torch.nn.Linear(h, 3)
        def forward(s, x):
            a_ = x
            for l in range(5):
                z = s.h[l](a_)
                if l == 3: z = z + s.skip(x)
                a_ = torch.relu(z)
            return torch.sigmoid(s.out(a_))
    net = Net(); opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(-0.5, 0.5, (B, d)).astype(np.float32))
    y = torch.from_numpy(rng.uniform(0, 1, (B, 3)).astype(np.float32))
    times = []
    for i in range(a.steps + 3):
        s = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = (net(x) - y).abs().mean(); loss.backward(); opt.step()
        if i >= 3: times.append(time.perf_counter() - s)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()} params {sum(p.numel() for p in net.parameters())}")
    return sorted(times)[len(times) // 2] * 1000

if a.only_torch:
    print(f"TORCH_MS {torch_step_ms():.3f}")
    raise SystemExit
# texfield first, before JAX starts its thread pool (an idle XLA pool still takes CPU time).
out = subprocess.check_output([a.texfield, "bench", "train", "--steps", str(a.steps)]).decode()
import sys
torch_ms = None
try:
    t_out = subprocess.run([sys.executable, __file__, "--only-torch", "--steps", str(a.steps)], capture_output=True, text=True, timeout=600)
    mt = re.search(r"TORCH_MS ([0-9.]+)", t_out.stdout)
    torch_ms = float(mt.group(1)) if mt else None
    if mt: print(t_out.stdout.splitlines()[0])
    else: print("PyTorch not measured:", (t_out.stderr.strip().splitlines() or ["?"])[-1])
except Exception as e:
    print("PyTorch not measured:", e)
import jax, jax.numpy as jnp
key = jax.random.PRNGKey(0)

def linear(key, i, o):
    k1, k2 = jax.random.split(key)
    lim = np.sqrt(6 / (i + o))
    return {"w": jax.random.uniform(k1, (i, o), minval=-lim, maxval=lim), "b": jax.random.uniform(k2, (o,), minval=-1 / np.sqrt(i), maxval=1 / np.sqrt(i))}

keys = jax.random.split(key, 8)
params = {"h": [linear(keys[0], d, h)] + [linear(keys[i], h, h) for i in range(1, 5)], "skip": linear(keys[5], d, h), "out": linear(keys[6], h, 3)}
print("parameters", sum(x.size for x in jax.tree_util.tree_leaves(params)))

def forward(p, x):
    a_ = x
    for l in range(5):
        z = a_ @ p["h"][l]["w"] + p["h"][l]["b"]
        if l == 3:
            z = z + x @ p["skip"]["w"] + p["skip"]["b"]
        a_ = jax.nn.relu(z)
    return jax.nn.sigmoid(a_ @ p["out"]["w"] + p["out"]["b"])

def loss(p, x, y):
    return jnp.mean(jnp.abs(forward(p, x) - y))

@jax.jit
def step(p, m, v, t, x, y):
    l, g = jax.value_and_grad(loss)(p, x, y)
    b1, b2, lr, eps = 0.9, 0.999, 1e-4, 1e-8
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    mh = jax.tree_util.tree_map(lambda m: m / (1 - b1 ** t), m)
    vh = jax.tree_util.tree_map(lambda v: v / (1 - b2 ** t), v)
    p = jax.tree_util.tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), p, mh, vh)
    return p, m, v, l

rng = np.random.default_rng(1)
x = jnp.asarray(rng.uniform(-0.5, 0.5, (B, d)).astype(np.float32))
y = jnp.asarray(rng.uniform(0, 1, (B, 3)).astype(np.float32))
m = jax.tree_util.tree_map(jnp.zeros_like, params)
v = jax.tree_util.tree_map(jnp.zeros_like, params)
t = 1.0
for _ in range(3):
    params, m, v, l = step(params, m, v, t, x, y); l.block_until_ready(); t += 1
times = []
for _ in range(a.steps):
    s = time.perf_counter()
    params, m, v, l = step(params, m, v, t, x, y); l.block_until_ready(); t += 1
    times.append(time.perf_counter() - s)
jax_ms = sorted(times)[len(times) // 2] * 1000
tf_ms = float(re.search(r"median step ([0-9.]+) ms", out).group(1))
peak = float(re.search(r"sgemm peak ([0-9.]+)", out).group(1))
print(f"JAX {jax.__version__} (CPU): {jax_ms:.1f} ms/step = {B / jax_ms * 1000:.0f} samples/s")
print(f"texfield:        {tf_ms:.1f} ms/step = {B / tf_ms * 1000:.0f} samples/s  ({6 * 328579 * B / tf_ms / 1e6:.1f} GFLOP/s; sgemm peak {peak:.1f} in the same run)")
print(f"ratio (JAX time / texfield time): {jax_ms / tf_ms:.2f}x")
if torch_ms:
    print(f"PyTorch (CPU):   {torch_ms:.1f} ms/step = {B / torch_ms * 1000:.0f} samples/s; ratio (PyTorch time / texfield time): {torch_ms / tf_ms:.2f}x")
