#!/usr/bin/env python3
"""Writes the small image fixtures of Tests/ImagingTests/Fixtures and their reference values.

PNG files of every colour type and bit depth (with pypng, including an interlaced one) and two
image pairs with PSNR/SSIM values from scikit-image (conventions as in ../shared/fixtures).

    pip install pypng scikit-image numpy
    python3 scripts/reference/imaging_fixtures.py Tests/ImagingTests/Fixtures
"""
import importlib.metadata, json, os, sys
import numpy as np
import png
from skimage.metrics import structural_similarity, peak_signal_noise_ratio

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
W, H = 13, 9
values = {}

def save(name, arr, bitdepth, greyscale, alpha, interlace=False, palette=None):
    path = os.path.join(out, name)
    if palette is not None:
        w = png.Writer(W, H, palette=palette, bitdepth=8)
    else:
        w = png.Writer(W, H, greyscale=greyscale, alpha=alpha, bitdepth=bitdepth, interlace=interlace)
    with open(path, "wb") as f:
        w.write(f, arr.reshape(H, -1).tolist())
    # Expected RGB(A) floats as texfield reads them.
    maxv = (1 << bitdepth) - 1
    a = arr.astype(np.float64) / maxv
    if palette is not None:
        pal = np.array(palette, dtype=np.float64) / 255
        a = pal[arr.reshape(H, W)]
    elif greyscale:
        g = a.reshape(H, W, 2 if alpha else 1)
        a = np.concatenate([g[..., :1]] * 3 + ([g[..., 1:]] if alpha else []), axis=2)
    values[name] = a.reshape(-1).tolist()

for bits in (8, 16):
    m = (1 << bits) - 1
    save(f"gray{bits}.png", rng.integers(0, m + 1, (H, W)), bits, True, False)
    # 8-bit alpha varies; 16-bit alpha is opaque (libpng's simplified API premultiplies 16-bit data).
    alpha = rng.integers(0, m + 1, (H, W)) if bits == 8 else np.full((H, W), m)
    save(f"gray_alpha{bits}.png", np.stack([rng.integers(0, m + 1, (H, W)), alpha], 2), bits, True, True)
    save(f"rgb{bits}.png", rng.integers(0, m + 1, (H, W, 3)), bits, False, False)
    save(f"rgba{bits}.png", np.concatenate([rng.integers(0, m + 1, (H, W, 3)), alpha[..., None]], 2), bits, False, True)
save("rgb8_interlaced.png", rng.integers(0, 256, (H, W, 3)), 8, False, False, interlace=True)
save("palette8.png", rng.integers(0, 4, (H, W)), 8, False, False,
     palette=[(255, 0, 0), (0, 128, 255), (10, 20, 30), (255, 255, 255)])

# A pair for the metrics, 8-bit RGB, 23 x 17 (odd sizes), and a mask.
a = rng.integers(0, 256, (17, 23, 3)).astype(np.uint8)
b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
mask = (rng.random((17, 23)) > 0.3).astype(np.uint8) * 255
png.Writer(23, 17, greyscale=False, bitdepth=8).write(open(os.path.join(out, "pair_a.png"), "wb"), a.reshape(17, -1).tolist())
png.Writer(23, 17, greyscale=False, bitdepth=8).write(open(os.path.join(out, "pair_b.png"), "wb"), b.reshape(17, -1).tolist())
png.Writer(23, 17, greyscale=True, bitdepth=8).write(open(os.path.join(out, "pair_mask.png"), "wb"), mask.tolist())
fa, fb, fm = a / 255.0, b / 255.0, mask > 127
wa, wb = fa.copy(), fb.copy()
wa[~fm] = 1; wb[~fm] = 1
metrics = {
    "origin": f"scikit-image {importlib.metadata.version('scikit-image')}",
    "psnr": peak_signal_noise_ratio(fa, fb, data_range=1),
    "psnr_masked": float(10 * np.log10(1 / ((fa - fb)[fm] ** 2).mean())),
    "ssim_gaussian": structural_similarity(fa, fb, channel_axis=2, data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
    "ssim_skimage": structural_similarity(fa, fb, channel_axis=2, data_range=1),
    "dssim_inf_x100": 100 * (1 - structural_similarity(wa, wb, channel_axis=2, data_range=2)) / 2,
}
json.dump({"pixels": values, "metrics": metrics}, open(os.path.join(out, "expected.json"), "w"))
