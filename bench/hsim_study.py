#!/usr/bin/env python3
"""Study: does a hierarchical start (Nasikun & Hildebrandt 2022, "The Hierarchical Subspace
Iteration Method for Laplace-Beltrami Eigenproblems") need fewer solves than texfield's block
Lanczos at texfield's accuracy (max relative residual <= 1e-9)?

Counts, not times: the solves of shift-invert subspace iteration on the fine mesh, started from the
eigenvectors of a coarser mesh (dense solve there) prolonged barycentrically, with p extra vectors,
until the first k Ritz pairs reach the tolerance. Compare with the "solves" of
`texfield eigs MESH -k K --no-cache` (summary.json, stats). Solve counts are independent of the
machine's load; each solve costs the same in both methods (one LDL^T solve with the same factor).

    pip install numpy scipy
    texfield mesh icosphere -s 64 --jitter 0.3 --seed 1 -o fine.obj
    texfield mesh icosphere -s 16 --jitter 0.3 --seed 1 -o coarse.obj
    python3 bench/hsim_study.py fine.obj coarse.obj -k 64 --extra 16,32,64
"""
import argparse, os, sys, time
import numpy as np
import scipy.sparse as sp, scipy.sparse.linalg as sla, scipy.linalg as la
from scipy.spatial import cKDTree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eigs_vs_scipy import build_operators

def read_obj(path):
    V, F = [], []
    for line in open(path):
        if line.startswith("v "): V.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "): F.append([int(c.split("/")[0]) - 1 for c in line.split()[1:4]])
    return np.array(V), np.array(F)

def prolongation(Vf, Vc, Fc):
    """Barycentric interpolation from the coarse sphere mesh: each fine vertex, projected onto the
    plane of the nearest coarse triangles (by centroid), takes the first one that contains it."""
    cen = Vc[Fc].mean(1)
    tree = cKDTree(cen)
    _, cand = tree.query(Vf, k=8)
    rows, cols, vals = [], [], []
    for i, p in enumerate(Vf):
        best, bestw = None, None
        for f in cand[i]:
            a, b, c = Vc[Fc[f]]
            n = np.cross(b - a, c - a)
            q = p - np.dot(p - a, n) / np.dot(n, n) * n
            T = np.array([b - a, c - a]).T
            uv, *_ = np.linalg.lstsq(T, q - a, rcond=None)
            w = np.array([1 - uv.sum(), uv[0], uv[1]])
            if bestw is None or w.min() > bestw.min(): best, bestw = f, w
            if w.min() >= -1e-9: break
        w = np.clip(bestw, 0, None); w /= w.sum()
        rows += [i] * 3; cols += list(Fc[best]); vals += list(w)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(Vf), len(Vc)))

def residuals(L, M, lam, X):
    R = L @ X - (M @ X) * lam
    lref = np.abs(lam).max()
    scale = np.where(np.abs(lam) > 1e-8 * lref, np.abs(lam), lref)
    return np.linalg.norm(R, axis=0) / (scale * np.linalg.norm(M @ X, axis=0))

def rayleigh_ritz(L, M, X):
    A = X.T @ (L @ X); B = X.T @ (M @ X)
    lam, S = la.eigh(0.5 * (A + A.T), 0.5 * (B + B.T))
    return lam, X @ S

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fine"); ap.add_argument("coarse")
    ap.add_argument("-k", type=int, default=64)
    ap.add_argument("--extra", default="16,32,64", help="extra vectors p, comma-separated")
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--max-iter", type=int, default=200)
    a = ap.parse_args()
    Lf, mf = build_operators(a.fine); Mf = sp.diags(mf).tocsc()
    Lc, mc = build_operators(a.coarse)
    Vf, _ = read_obj(a.fine); Vc, Fc = read_obj(a.coarse)
    t = time.perf_counter(); P = prolongation(Vf, Vc, Fc); tp = time.perf_counter() - t
    sigma = -0.01  # texfield's first shift on these unit spheres (-0.0100008)
    lu = sla.splu((Lf - sigma * Mf).tocsc())
    print(f"fine n = {Lf.shape[0]}, coarse n = {Lc.shape[0]}, k = {a.k}, tol {a.tol:g}; prolongation {tp:.1f} s")
    for p in [int(x) for x in a.extra.split(",")]:
        m = a.k + p
        if m > Lc.shape[0]: print(f"p = {p}: coarse mesh too small"); continue
        lc, Uc = sla.eigsh(Lc.tocsc(), m, sp.diags(mc).tocsc(), sigma=sigma)
        X = P @ Uc
        solves, it = 0, 0
        hist = []
        while True:
            lam, X = rayleigh_ritz(Lf, Mf, X)
            res = residuals(Lf, Mf, lam[:a.k], X[:, :a.k])
            hist.append(res.max())
            if res.max() <= a.tol or it >= a.max_iter: break
            X = lu.solve(np.asarray(Mf @ X))
            solves += m; it += 1
        print(f"p = {p:3d} (block {m}): {it} iterations, {solves} solves, max residual {res.max():.1e}; "
              f"after 0/1/2/5/10 iterations: " + " ".join(f"{hist[i]:.0e}" for i in (0, 1, 2, 5, 10) if i < len(hist)))

if __name__ == "__main__":
    main()
