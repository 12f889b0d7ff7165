#!/usr/bin/env python3
"""Benchmark: the stages of `texfield transfer` (seconds per stage, per target and alignment).

Fits a field on the source once (a short fit: the stages do not depend on its quality), makes
the targets with texfield's own mesh commands (QEM to half the vertices, isotropic remesh at the
mean edge length, one subdivision, ARAP bend and twist), then runs `texfield transfer` for every
target and alignment with the fit's eigenpair cache only (so the target's eigenpairs are computed,
as for a new mesh; the poses' `fmap` gets their true vertex map) and prints the stage times that transfer.json records:
  eigenfunctions  the target's Laplacian and k eigenpairs,
  zoomout         ZoomOut's map (zoomout only): sign search and refinement,
  alignment       the sign / functional map / ZoomOut's final map onto the run's basis,
  evaluation      rendering the run's test views on the target and scoring them (and the point PSNR),
and the whole command's wall time.

    python3 bench/transfer_stages.py --mesh SPOT.obj --texture SPOT.png [--texfield .build/release/texfield]

Without --mesh it uses the demo torus (`texfield mesh demo`). There is no peer: no other tool
does this end to end; the figures say where a transfer's time goes.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time


def run(cmd, env=None):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texfield", default=".build/release/texfield")
    ap.add_argument("--mesh")
    ap.add_argument("--texture")
    ap.add_argument("-k", type=int, default=1023)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--targets", default="decimate,remesh,subdivide,bend,twist")
    ap.add_argument("--aligns", default="none,fmap,zoomout")
    ap.add_argument("--work")
    a = ap.parse_args()
    tf = os.path.abspath(a.texfield)
    work = a.work or tempfile.mkdtemp(prefix="tf-transfer-bench-")
    os.makedirs(work, exist_ok=True)
    mesh, texture = a.mesh, a.texture
    if mesh is None:
        run([tf, "mesh", "demo", "--out", work + "/demo"])
        mesh = work + "/demo/torus.obj"
    env = dict(os.environ, TEXFIELD_CACHE=work + "/cache-fit")
    fit = [tf, "fit", mesh] + ([texture] if texture else []) + ["-k", str(a.k), "--steps", str(a.steps), "-o", work + "/run", "--quiet"]
    t = time.time()
    run(fit, env)
    print(f"source: {mesh}; fit of {a.steps} steps at k = {a.k}: {time.time() - t:.1f} s (work folder {work})")
    targets = {}
    for name in a.targets.split(","):
        out = f"{work}/{name}.obj"
        if name == "decimate":
            n = sum(1 for line in open(mesh) if line.startswith("v "))
            cmd = [tf, "mesh", "decimate", mesh, "--vertices", str(n // 2), "-o", out]
        elif name == "remesh":
            cmd = [tf, "mesh", "remesh", mesh, "-o", out]
        elif name == "subdivide":
            cmd = [tf, "mesh", "subdivide", mesh, "-o", out]
        elif name in ("bend", "twist"):
            cmd = [tf, "mesh", "deform", mesh, "--pose", name, "-o", out]
        else:
            sys.exit(f"unknown target {name}")
        run(cmd)
        targets[name] = out
    identity = f"{work}/identity.txt"
    with open(identity, "w") as f:
        f.write("".join(f"{i}\n" for i in range(sum(1 for line in open(mesh) if line.startswith("v ")))))
    rows = []
    print(f"{'target':>10} {'vertices':>8} {'align':>8} | {'eigen s':>8} {'zoomout s':>9} {'align s':>8} {'eval s':>7} | {'wall s':>7} {'test PSNR':>9}")
    for name, path in targets.items():
        for al in a.aligns.split(","):
            out = f"{work}/transfer/{name}-{al}"
            # The source's eigenpairs come from the fit's cache (as after a fit); the target's are
            # computed afresh.
            cache = f"{work}/cache-{name}-{al}"
            shutil.rmtree(cache, ignore_errors=True)
            shutil.copytree(work + "/cache-fit", cache)
            # A pose keeps the source's vertices: its true map, as `experiment transfer` uses.
            extra = ["--correspondence", identity] if name in ("bend", "twist") and al == "fmap" else []
            t = time.time()
            run([tf, "transfer", work + "/run", path, "--align", al, "-o", out] + extra, dict(os.environ, TEXFIELD_CACHE=cache))
            wall = time.time() - t
            r = json.load(open(out + "/transfer.json"))
            s = r.get("seconds", {})
            psnr = (r.get("test") or {}).get("meanPSNR", float("nan"))
            row = dict(target=name, vertices=r.get("vertices"), align=al, wall=wall, psnr=psnr, **{k: s.get(k, 0.0) for k in ("eigenfunctions", "zoomout", "alignment", "evaluation")})
            rows.append(row)
            print(f"{name:>10} {row['vertices']:>8} {al:>8} | {row['eigenfunctions']:8.2f} {row['zoomout']:9.2f} {row['alignment']:8.2f} {row['evaluation']:7.2f} | {wall:7.2f} {psnr:9.2f}")
    json.dump(rows, open(work + "/results.json", "w"), indent=1)
    print(f"results: {work}/results.json")


if __name__ == "__main__":
    main()
