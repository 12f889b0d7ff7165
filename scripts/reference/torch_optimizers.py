#!/usr/bin/env python3
"""Golden values for texfield's Neural module, computed with PyTorch (CPU).

Writes Tests/NeuralTests/Fixtures/torch_reference.json:
- optimiser traces: 5 steps of torch.optim.Adam / AdamW / SGD on 37 float32 parameters with
  given float32 gradients (the parameters after every step, and the final state buffers);
- layer values in float64: Linear, LayerNorm, BatchNorm1d (training mode, and its running
  statistics), SiLU, Sigmoid, Tanh, LeakyReLU(0.1) — outputs and input gradients for a given
  upstream gradient, plus parameter gradients.

    pip install torch numpy
    python3 scripts/reference/torch_optimizers.py
Float32 values are written with 9 significant digits (they read back to the same float).
"""
import json, os
import numpy as np
import torch

rng = np.random.default_rng(2026)
n, steps = 37, 5
p0 = rng.standard_normal(n).astype(np.float32)
grads = [(rng.standard_normal(n) * (0.2 * (t + 1))).astype(np.float32) for t in range(steps)]
f = lambda a: [float(f"{x:.9g}") for x in np.asarray(a, np.float32).ravel()]
d = lambda a: [float(x) for x in np.asarray(a, np.float64).ravel()]

cases = [
    ("adam", dict(lr=1e-3)),
    ("adam", dict(lr=1e-2, weight_decay=0.1)),
    ("adamw", dict(lr=1e-2, weight_decay=0.1)),
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.1, momentum=0.9, nesterov=1, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1)),
]
out = {"torch": torch.__version__, "n": n, "p0": f(p0), "grads": [f(g) for g in grads], "optimizers": []}
for kind, hp in cases:
    p = torch.tensor(p0.copy(), requires_grad=True)
    opt = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind]([p], **{k: (bool(v) if k == "nesterov" else v) for k, v in hp.items()})
    trace = []
    for g in grads:
        p.grad = torch.tensor(g.copy())
        opt.step()
        trace.append(f(p.detach().numpy()))
    st = opt.state[p]
    state = {k: f(v.numpy()) for k, v in st.items() if torch.is_tensor(v) and v.numel() == n}
    out["optimizers"].append({"kind": kind, "hyper": hp, "params": trace, "state": state})

torch.set_default_dtype(torch.float64)
x = torch.tensor(rng.standard_normal((4, 6)), requires_grad=True)
lin = torch.nn.Linear(6, 5)
dy = torch.tensor(rng.standard_normal((4, 5)))
y = lin(x); y.backward(dy)
layers = {"x": d(x.detach()), "dy": d(dy), "linear": {"weight": d(lin.weight.detach()), "bias": d(lin.bias.detach()),
          "y": d(y.detach()), "dx": d(x.grad), "dweight": d(lin.weight.grad), "dbias": d(lin.bias.grad)}}
x5 = torch.tensor(rng.standard_normal((4, 5)) * 2 + 0.5)
for name, mod in [("layernorm", torch.nn.LayerNorm(5)), ("batchnorm", torch.nn.BatchNorm1d(5))]:
    with torch.no_grad():
        mod.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, 5))); mod.bias.copy_(torch.tensor(rng.standard_normal(5)))
    xi = x5.clone().requires_grad_(True)
    yi = mod(xi); yi.backward(dy)
    e = {"weight": d(mod.weight.detach()), "bias": d(mod.bias.detach()), "y": d(yi.detach()), "dx": d(xi.grad),
         "dweight": d(mod.weight.grad), "dbias": d(mod.bias.grad)}
    if name == "batchnorm": e.update(running_mean=d(mod.running_mean), running_var=d(mod.running_var))
    layers[name] = e
layers["x5"] = d(x5)
for name, fn in [("silu", torch.nn.functional.silu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                 ("leaky_relu_0.1", lambda t: torch.nn.functional.leaky_relu(t, 0.1))]:
    xi = x5.clone().requires_grad_(True)
    yi = fn(xi); yi.backward(dy)
    layers[name] = {"y": d(yi.detach()), "dx": d(xi.grad)}
out["layers"] = layers
path = os.path.join(os.path.dirname(__file__), "../../Tests/NeuralTests/Fixtures/torch_reference.json")
with open(path, "w") as fh: json.dump(out, fh, indent=0)
print("wrote", os.path.normpath(path))
