#!/usr/bin/env python3
"""Benchmark: SSIM of two 512x512 RGB images, texfield against scikit-image, in the same run.

Writes two PNGs (random noise and a perturbed copy), times scikit-image's
structural_similarity (gaussian and skimage conventions) and `texfield bench ssim` on the same
files, checks that the values agree to 1e-6 and prints the ratio.

    pip install scikit-image numpy pypng
    python3 bench/metrics_vs_skimage.py [--texfield .build/release/texfield]
"""
import argparse, os, re, subprocess, tempfile, time
import numpy as np
import png
from skimage.metrics import structural_similarity

ap = argparse.ArgumentParser()
ap.add_argument("--texfield", default=".build/release/texfield")
ap.add_argument("--size", type=int, default=512)
ap.add_argument("--repeat", type=int, default=21)
a = ap.parse_args()
rng = np.random.default_rng(1)
x = rng.integers(0, 256, (a.size, a.size, 3)).astype(np.uint8)
y = np.clip(x.astype(int) + rng.integers(-25, 26, x.shape), 0, 255).astype(np.uint8)
d = tempfile.mkdtemp(prefix="tf-ssim-")
for name, img in (("a", x), ("b", y)):
    png.Writer(a.size, a.size, greyscale=False, bitdepth=8).write(open(f"{d}/{name}.png", "wb"), img.reshape(a.size, -1).tolist())
fx, fy = x / 255.0, y / 255.0
print(f"{'convention':<10} {'scikit-image ms':>16} {'texfield ms':>12} {'ratio':>6} {'|Δ ssim|':>9}")
for conv, kw in (("gaussian", dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)), ("skimage", {})):
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter(); v = structural_similarity(fx, fy, channel_axis=2, data_range=1, **kw); times.append(time.perf_counter() - t)
    sk = sorted(times)[len(times) // 2] * 1000
    out = subprocess.check_output([a.texfield, "bench", "ssim", "--first", f"{d}/a.png", "--second", f"{d}/b.png",
                                   "--repeat", str(a.repeat), "--ssim", conv]).decode()
    tf = float(re.search(r"median ([0-9.]+) ms", out).group(1))
    tv = float(re.search(r"value ([0-9.]+)", out).group(1))
    print(f"{conv:<10} {sk:>16.1f} {tf:>12.1f} {sk / tf:>5.1f}x {abs(tv - v):>9.1e}")
