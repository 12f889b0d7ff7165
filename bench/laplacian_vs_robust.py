#!/usr/bin/env python3
"""texfield's intrinsic Laplacians against robust_laplacian (Sharp & Crane 2020), in one run.

For each mesh: robust_laplacian.mesh_laplacian(V, F) (defaults: mollify_factor 1e-5) and
`texfield laplacian MESH --laplacian robust`; prints the largest entry difference of L and M
relative to their largest entries, the 20 smallest eigenvalues of both (scipy, shift-invert),
and the build times with their ratio. Point clouds: the same against point_cloud_laplacian(P)
(30 neighbours), texfield run with `--cloud-normals robust-laplacian-1.1` (that package's normal
rule, so that the digits can agree), with the total mass (the area); on unit spheres, the
spectrum's error against l(l+1) for the package and for texfield's default (translation-invariant)
normals, at the origin and moved by (10, 0, 0). Meshes: the demo torus, spot (when given), and meshes made
here to be hard: non-manifold edges and vertices with mixed orientation, zero-area slivers,
a boundary with obtuse triangles.

    pip install robust_laplacian scipy numpy
    swift build -c release --product texfield
    python3 bench/laplacian_vs_robust.py [--spot ../shared/meshes/spot/spot.obj] [--texfield .build/release/texfield]

Also writes the reference matrices of the small meshes as test fixtures with --fixtures DIR.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import robust_laplacian
import scipy.sparse as sp
import scipy.sparse.linalg as sla


def write_obj(path, V, F):
    with open(path, "w") as f:
        for v in V:
            f.write("v %.17g %.17g %.17g\n" % tuple(v))
        for t in F:
            f.write("f %d %d %d\n" % (t[0] + 1, t[1] + 1, t[2] + 1))


def read_obj(path):
    V, F = [], []
    for line in open(path):
        p = line.split()
        if not p:
            continue
        if p[0] == "v":
            V.append([float(x) for x in p[1:4]])
        elif p[0] == "f":
            idx = [int(q.split("/")[0]) - 1 for q in p[1:]]
            for i in range(1, len(idx) - 1):
                F.append([idx[0], idx[i], idx[i + 1]])
    return np.array(V), np.array(F, dtype=np.int64)


def grid(nx, ny, seed, height=0.1):
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(np.linspace(0, 1, nx), np.linspace(0, 1, ny))
    V = np.stack([xs.ravel(), ys.ravel(), height * rng.standard_normal(nx * ny)], 1)
    F = []
    for j in range(ny - 1):
        for i in range(nx - 1):
            a, b, c, d = j * nx + i, j * nx + i + 1, (j + 1) * nx + i + 1, (j + 1) * nx + i
            F += [[a, b, c], [a, c, d]]
    return V, np.array(F)


def nonmanifold():
    """A bumpy grid with three fins on one interior edge (an edge of five faces), a bow-tie
    vertex, flipped faces, and a fin that shares only a vertex."""
    V, F = grid(12, 12, 1)
    V, F = list(V), [list(t) for t in F]
    a, b = 5 * 12 + 5, 5 * 12 + 6  # an interior edge
    for k, (dz, dy) in enumerate([(0.4, 0.1), (-0.3, 0.2), (0.2, -0.35)]):
        V.append([(V[a][0] + V[b][0]) / 2, V[a][1] + dy, V[a][2] + dz])
        F.append([a, b, len(V) - 1] if k % 2 == 0 else [b, a, len(V) - 1])
    c = 2 * 12 + 9  # a bow-tie: two triangles meeting the surface at one vertex
    V += [[V[c][0] + 0.05, V[c][1], V[c][2] + 0.3], [V[c][0] - 0.05, V[c][1] + 0.04, V[c][2] + 0.3]]
    F.append([c, len(V) - 2, len(V) - 1])
    for t in range(0, len(F), 7):  # flip some faces' orientation
        F[t] = [F[t][0], F[t][2], F[t][1]]
    return np.array(V), np.array(F)


def slivers():
    """A grid whose every second quad has a vertex on its diagonal: zero-area triangles."""
    V, F = grid(14, 14, 2, height=0.05)
    V, F = list(V), [list(t) for t in F]
    out = []
    for q in range(0, len(F), 2):
        a, b, c = F[q]
        _, _, d = F[q + 1]
        if (q // 2) % 2 == 0:
            V.append(list((np.array(V[a]) + np.array(V[c])) / 2))
            m = len(V) - 1
            out += [[a, b, m], [m, b, c], [a, m, d], [m, c, d], [a, m, c][::1]]  # last one: collinear
        else:
            out += [F[q], F[q + 1]]
    return np.array(V), np.array(out)


def obtuse_boundary():
    """A strip whose boundary triangles are very obtuse (flips across the boundary on the cover)."""
    V, F = [], []
    n = 40
    for i in range(n):
        V.append([i / n, 0, 0])
        V.append([(i + 0.5) / n, 0.004 * (1 + (i % 3)), 0.001 * (i % 2)])
    for i in range(n - 1):
        a, b, c, d = 2 * i, 2 * i + 1, 2 * i + 2, 2 * i + 3
        F += [[a, c, b], [b, c, d]]
    return np.array(V, dtype=float), np.array(F)


def texfield_laplacian(exe, obj, out, kind, extra=()):
    subprocess.run([exe, "laplacian", obj, "-o", out, "--laplacian", kind, "--quiet", *extra], check=True)
    n = None
    s = json.load(open(os.path.join(out, "summary.json")))
    n = int(s["vertices"])

    def load(name):
        A = np.load(os.path.join(out, name + ".npy"))
        return sp.coo_matrix((A[:, 2], (A[:, 0].astype(int), A[:, 1].astype(int))), shape=(n, n)).tocsr()

    return load("stiffness"), load("mass_matrix"), float(s["buildSeconds"]), int(s["flips"])


def smallest(L, M, k=20):
    k = min(k, L.shape[0] - 2)
    vals = sla.eigsh(L.tocsc(), k=k, M=M.tocsc(), sigma=-1e-8, which="LM", return_eigenvectors=False)
    return np.sort(vals)


def compare(args, tmp, name, path, reference, reps, extra=()):
    """Times `reference()` (robust_laplacian) and `texfield laplacian PATH --laplacian robust`,
    best of `reps` for texfield, mean for the reference; returns both matrices, the differences
    and the times."""
    t0 = time.perf_counter()
    for _ in range(reps):
        Lr, Mr = reference()
    tr = (time.perf_counter() - t0) / reps
    times = []
    for r in range(reps):
        Lt, Mt, tt, flips = texfield_laplacian(args.texfield, path, os.path.join(tmp, f"{name}-{r}"), "robust", extra)
        times.append(tt)
    Lr, Mr = Lr.tocsr(), Mr.tocsr()
    dL = abs(Lr - Lt).max() / abs(Lr).max()
    dM = abs(Mr - Mt).max() / abs(Mr).max()
    lr, lt = smallest(Lr, Mr), smallest(Lt, Mt)
    dl = np.max(np.abs(lr - lt)[1:] / np.abs(lr[1:]))
    return Lr, Mr, Lt, Mt, lr, dL, dM, dl, tr, min(times), flips


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spot", default="../shared/meshes/spot/spot.obj")
    ap.add_argument("--texfield", default=".build/release/texfield")
    ap.add_argument("--fixtures", default=None, help="write small reference matrices here")
    ap.add_argument("--large", action="store_true", help="also a 100k-point cloud")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tf-lap-")
    subprocess.run([args.texfield, "mesh", "demo", "--out", tmp + "/demo"], check=True, stdout=subprocess.DEVNULL)
    meshes = [("demo torus", *read_obj(tmp + "/demo/torus.obj"))]
    if os.path.exists(args.spot):
        meshes.append(("spot", *read_obj(args.spot)))
    meshes += [("non-manifold", *nonmanifold()), ("slivers", *slivers()), ("obtuse boundary", *obtuse_boundary())]
    print(f"{'mesh':18} {'n':>6} {'faces':>6} {'flips':>6} {'|ΔL|/|L|':>9} {'|ΔM|/|M|':>9} {'max rel Δλ':>10} "
          f"{'robust_laplacian':>16} {'texfield':>9} {'ratio':>6}")
    worst = 0.0
    for name, V, F in meshes:
        obj = os.path.join(tmp, name.replace(" ", "_") + ".obj")
        write_obj(obj, V, F)
        Lr, Mr, Lt, Mt, lr, dL, dM, dl, tr, tt, flips = compare(
            args, tmp, name, obj, lambda: robust_laplacian.mesh_laplacian(V, F), 5 if len(V) > 1000 else 20)
        worst = max(worst, dL, dM)
        print(f"{name:18} {len(V):6d} {len(F):6d} {flips:6d} {dL:9.1e} {dM:9.1e} {dl:10.1e} {tr * 1e3:13.1f} ms "
              f"{tt * 1e3:6.1f} ms {tr / tt:5.1f}x")
        if args.fixtures and len(V) < 400:
            os.makedirs(args.fixtures, exist_ok=True)
            Lc, Mc = Lr.tocoo(), Mr.tocoo()
            json.dump({"origin": f"robust_laplacian {getattr(robust_laplacian, '__version__', '1.1.0')} mesh_laplacian(V, F), "
                                 "defaults (mollify_factor 1e-5); written by bench/laplacian_vs_robust.py",
                       "vertices": V.tolist(), "faces": F.tolist(),
                       "L": [[int(i), int(j), float(v)] for i, j, v in zip(Lc.row, Lc.col, Lc.data)],
                       "M": [float(Mr[i, i]) for i in range(len(V))],
                       "eigenvalues": lr.tolist()},
                      open(os.path.join(args.fixtures, "robust_" + name.replace(" ", "_").replace("-", "_") + ".json"), "w"))
    # Point clouds: robust_laplacian.point_cloud_laplacian(P) (30 neighbours, mollify 1e-5).
    rng = np.random.default_rng(7)
    clouds = []
    S = rng.standard_normal((3000, 3))
    clouds.append(("sphere cloud 3k", S / np.linalg.norm(S, axis=1, keepdims=True)))
    S = rng.standard_normal((20000, 3))
    clouds.append(("sphere cloud 20k", S / np.linalg.norm(S, axis=1, keepdims=True)))
    if os.path.exists(args.spot):
        clouds.append(("spot vertices", read_obj(args.spot)[0]))
    T = rng.random((20000, 2)) * 2 * np.pi
    clouds.append(("torus cloud 20k", np.stack([(1 + 0.4 * np.cos(T[:, 1])) * np.cos(T[:, 0]),
                                                 (1 + 0.4 * np.cos(T[:, 1])) * np.sin(T[:, 0]), 0.4 * np.sin(T[:, 1])], 1)))
    if args.large:
        T = rng.random((100000, 2)) * 2 * np.pi
        clouds.append(("torus cloud 100k", np.stack([(1 + 0.4 * np.cos(T[:, 1])) * np.cos(T[:, 0]),
                                                      (1 + 0.4 * np.cos(T[:, 1])) * np.sin(T[:, 0]), 0.4 * np.sin(T[:, 1])], 1)))
    clouds.insert(1, ("sphere 3k + (10,0,0)", clouds[0][1] + np.array([10.0, 0, 0])))
    compat = ("--cloud-normals", "robust-laplacian-1.1")
    for name, P in clouds:
        path = os.path.join(tmp, name.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "_") + ".xyz")
        np.savetxt(path, P, fmt="%.17g")
        Lr, Mr, Lt, Mt, lr, dL, dM, dl, tr, tt, flips = compare(
            args, tmp, name, path, lambda: robust_laplacian.point_cloud_laplacian(P), 3, compat)
        worst = max(worst, dL, dM)
        print(f"{name:18} {len(P):6d} {'cloud':>6} {flips:6d} {dL:9.1e} {dM:9.1e} {dl:10.1e} {tr * 1e3:13.1f} ms "
              f"{tt * 1e3:6.1f} ms {tr / tt:5.1f}x   area {Mr.sum():.4f} / {Mt.sum():.4f}")
        if name.startswith("sphere"):
            Ld, Md, _, _ = texfield_laplacian(args.texfield, path, os.path.join(tmp, f"{name}-default"), "robust")
            ex = np.array([l * (l + 1) for l in range(5) for _ in range(2 * l + 1)])
            for who, (L, M) in [("robust_laplacian", (Lr, Mr)), ("texfield default", (Ld, Md))]:
                v = smallest(L, M, 25)
                print(f"    {who:16} unit sphere: area {M.sum():.4f} (4π = {4 * np.pi:.4f}), "
                      f"largest relative error of λ for l = 1…4: {np.max(np.abs(v[1:] - ex[1:]) / ex[1:]):.3f}")
        if args.fixtures and name == "sphere 3k + (10,0,0)":
            sub = P[:300]
            Lc, Mc = robust_laplacian.point_cloud_laplacian(sub)
            Lc = Lc.tocoo()
            json.dump({"origin": f"robust_laplacian {getattr(robust_laplacian, '__version__', '1.1.0')} point_cloud_laplacian(P), "
                                 "defaults (30 neighbours, mollify_factor 1e-5); written by bench/laplacian_vs_robust.py",
                       "points": sub.tolist(),
                       "L": [[int(i), int(j), float(v)] for i, j, v in zip(Lc.row, Lc.col, Lc.data)],
                       "M": [float(Mc[i, i]) for i in range(len(sub))],
                       "eigenvalues": smallest(Lc.tocsr(), Mc.tocsr()).tolist()},
                      open(os.path.join(args.fixtures, "robust_cloud_shifted.json"), "w"))
    print(f"largest relative difference of L or M: {worst:.1e}")


if __name__ == "__main__":
    sys.exit(main())
