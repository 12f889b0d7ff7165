#!/usr/bin/env python3
"""Benchmark: texfield eigs against scipy's eigsh on the same jittered geodesic spheres.

For each size and k it writes a jittered geodesic sphere OBJ with `texfield mesh icosphere`
(icosahedron, each face split into f² triangles, n = 10 f² + 2, every vertex moved
tangentially by up to 0.3 of the mean edge length), then in the same run (texfield started
once untimed before the first case, so that the binary's first load from disk is not timed):
  - texfield: `texfield eigs MESH -k K --no-cache` (wall time, peak RSS, max residual);
  - scipy: cotangent L and mixed-Voronoi M built in numpy from the same OBJ (libigl's
    formulas), `scipy.sparse.linalg.eigsh(L, k, M, sigma=-1e-8)` with OPENBLAS_NUM_THREADS=1
    (wall time, peak RSS, max residual);
checks that the eigenvalues agree (relative 1e-8 over the first min(k, 256), the zero
eigenvalue compared in absolute terms against λ_k) and prints the table with the ratios.

    pip install numpy scipy
    python3 bench/eigs_vs_scipy.py --cases 32:1023,64:1023 [--texfield .build/release/texfield]

Each case is subdivisions:k (f = 32, 64, 100 give 10,242 / 40,962 / 100,002 vertices).
--no-scipy times texfield only (e.g. k = 4096, where one-shot eigsh takes hours).
"""
import argparse, json, os, subprocess, sys, tempfile, time

def build_operators(path):
    import numpy as np
    import scipy.sparse as sp
    V, F = [], []
    with open(path) as fh:
        for line in fh:
            if line.startswith("v "):
                V.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                F.append([int(c.split("/")[0]) - 1 for c in line.split()[1:4]])
    V = np.array(V); F = np.array(F)
    n = len(V)
    # Edge c is opposite corner c.
    e = [V[F[:, (c + 2) % 3]] - V[F[:, (c + 1) % 3]] for c in range(3)]
    l2 = np.stack([(x * x).sum(1) for x in e], 1)
    l = np.sqrt(l2)
    s = np.sort(l, 1)[:, ::-1]
    a, b, c = s[:, 0], s[:, 1], s[:, 2]
    A = 0.25 * np.sqrt(np.maximum(0, (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c))))
    rows, cols, vals = [], [], []
    for k in range(3):
        i, j = F[:, (k + 1) % 3], F[:, (k + 2) % 3]
        w = 0.5 * (l2[:, (k + 1) % 3] + l2[:, (k + 2) % 3] - l2[:, k]) / (4 * A)
        rows += [i, j, i, j]; cols += [j, i, i, j]; vals += [-w, -w, w, w]
    L = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    cos = np.stack([(l2[:, (k + 1) % 3] + l2[:, (k + 2) % 3] - l2[:, k]) / (2 * l[:, (k + 1) % 3] * l[:, (k + 2) % 3]) for k in range(3)], 1)
    bary = cos * l
    bary = bary / bary.sum(1, keepdims=True)
    part = bary * A[:, None]
    quad = np.stack([0.5 * (part[:, (k + 1) % 3] + part[:, (k + 2) % 3]) for k in range(3)], 1)
    for k in range(3):
        obtuse = cos[:, k] < 0
        quad[obtuse, k] = 0.5 * A[obtuse]
        quad[obtuse, (k + 1) % 3] = 0.25 * A[obtuse]
        quad[obtuse, (k + 2) % 3] = 0.25 * A[obtuse]
    m = np.bincount(F.ravel(), weights=quad.ravel(), minlength=n)
    return L, m

def scipy_worker(path, k, out):
    import numpy as np, scipy.sparse as sp, scipy.sparse.linalg as sla
    L, m = build_operators(path)
    M = sp.diags(m).tocsc()
    t = time.perf_counter()
    vals, vecs = sla.eigsh(L, k, M, sigma=-1e-8)
    dt = time.perf_counter() - t
    order = np.argsort(vals); vals = vals[order]; vecs = vecs[:, order]
    R = L @ vecs - (M @ vecs) * vals
    lref = np.abs(vals).max()
    scale = np.where(np.abs(vals) > 1e-8 * lref, np.abs(vals), lref)
    res = np.linalg.norm(R, axis=0) / (scale * np.linalg.norm(M @ vecs, axis=0))
    np.save(out + ".npy", vals)
    json.dump({"seconds": dt, "max_residual": float(res.max())}, open(out + ".json", "w"))

def run_measured(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024.0  # MiB

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="32:256,32:1023,64:1023")
    ap.add_argument("--texfield", default=".build/release/texfield")
    ap.add_argument("--no-scipy", action="store_true")
    ap.add_argument("--work", default=None)
    ap.add_argument("--scipy-worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.scipy_worker:
        scipy_worker(a.scipy_worker[0], int(a.scipy_worker[1]), a.scipy_worker[2])
        return
    import numpy as np
    work = a.work or tempfile.mkdtemp(prefix="tf-bench-")
    os.makedirs(work, exist_ok=True)
    rows = []
    # One untimed start of the binary first, so that its first load from disk (40 MB) is not
    # counted in the first case (scipy's time leaves out Python's start and its imports).
    subprocess.run([a.texfield, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"{'n':>8} {'k':>5} | {'texfield s':>10} {'MiB':>6} {'resid':>8} | {'scipy s':>9} {'MiB':>6} {'resid':>8} | {'ratio':>6} {'max rel Δλ':>10}")
    for case in a.cases.split(","):
        f, k = (int(x) for x in case.split(":"))
        obj = os.path.join(work, f"sphere{f}.obj")
        if not os.path.exists(obj):
            subprocess.check_call([a.texfield, "mesh", "icosphere", "-s", str(f), "--jitter", "0.3", "--seed", "1", "--out", obj])
        n = 10 * f * f + 2
        out = os.path.join(work, f"tf_{f}_{k}")
        tf_wall, tf_mem = run_measured([a.texfield, "eigs", obj, "-k", str(k), "--out", out, "--no-cache", "--quiet"])
        summ = json.load(open(os.path.join(out, "summary.json")))
        tf_vals = np.load(os.path.join(out, "eigenvalues.npy"))
        row = dict(n=n, k=k, texfield_seconds=tf_wall, texfield_mib=tf_mem, texfield_residual=summ["maxResidual"],
                   texfield_orthonormality=summ["orthonormalityError"])
        if not a.no_scipy:
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            sp_out = os.path.join(work, f"sp_{f}_{k}")
            sp_wall, sp_mem = run_measured([sys.executable, __file__, "--scipy-worker", obj, str(k), sp_out], env=env)
            sp = json.load(open(sp_out + ".json"))
            sp_vals = np.load(sp_out + ".npy")
            m = min(k, 256)
            lk = abs(sp_vals[-1])
            rel = np.abs(tf_vals[:m] - sp_vals[:m]) / np.where(np.abs(sp_vals[:m]) > 1e-8 * lk, np.abs(sp_vals[:m]), lk)
            row.update(scipy_seconds=sp["seconds"], scipy_wall=sp_wall, scipy_mib=sp_mem, scipy_residual=sp["max_residual"],
                       max_relative_eigenvalue_difference=float(rel.max()), ratio=sp["seconds"] / tf_wall)
            ok = rel.max() <= 1e-8
            print(f"{n:>8} {k:>5} | {tf_wall:>10.2f} {tf_mem:>6.0f} {summ['maxResidual']:>8.1e} | {sp['seconds']:>9.2f} {sp_mem:>6.0f} {sp['max_residual']:>8.1e} | {sp['seconds']/tf_wall:>5.1f}x {rel.max():>10.1e}{'' if ok else '  MISMATCH'}", flush=True)
            if not ok:
                rows.append(row)
                json.dump(rows, open(os.path.join(work, "results.json"), "w"), indent=1)
                sys.exit("eigenvalues disagree beyond 1e-8")
        else:
            print(f"{n:>8} {k:>5} | {tf_wall:>10.2f} {tf_mem:>6.0f} {summ['maxResidual']:>8.1e} | {'—':>9} {'':>6} {'':>8} |", flush=True)
        rows.append(row)
    json.dump(rows, open(os.path.join(work, "results.json"), "w"), indent=1)
    print(f"(texfield time is the whole command: read OBJ, assemble, solve, check, write .npy; scipy time is eigsh alone.)\nresults: {work}/results.json")

if __name__ == "__main__":
    main()
