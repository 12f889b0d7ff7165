#!/usr/bin/env python3
"""texfield's QEM decimation against MeshLab's (pymeshlab), in one run: time and error.

Both decimate the same meshes to the same vertex count (MeshLab: quadric edge collapse with
optimal placement, boundary preserved, to the matching face count; texfield: `mesh decimate
--ignore-seams`, boundary vertices fixed). Errors are measured the same way for both, by
MeshLab's sampled Hausdorff filter in both directions (largest and mean, relative to the
bounding-box diagonal).

    pip install pymeshlab
    swift build -c release --product texfield
    python3 bench/decimate_vs_meshlab.py [--spot ../shared/meshes/spot/spot.obj]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import pymeshlab


def hausdorff(a, b):
    """Symmetric sampled Hausdorff between two mesh files: (max, mean) over both directions."""
    ms = pymeshlab.MeshSet()
    ms.load_new_mesh(a)
    ms.load_new_mesh(b)
    r1 = ms.get_hausdorff_distance(sampledmesh=0, targetmesh=1, samplenum=100000)
    r2 = ms.get_hausdorff_distance(sampledmesh=1, targetmesh=0, samplenum=100000)
    return max(r1["max"], r2["max"]), 0.5 * (r1["mean"] + r2["mean"]), r1["diag_mesh_0"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spot", default="../shared/meshes/spot/spot.obj")
    ap.add_argument("--texfield", default=".build/release/texfield")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tf-dec-")
    tf = args.texfield
    cases = []
    subprocess.run([tf, "mesh", "icosphere", "-s", "60", "--jitter", "0.2", "--out", tmp + "/sphere.obj"], check=True)
    cases.append(("jittered sphere", tmp + "/sphere.obj", [2000, 500]))
    subprocess.run([tf, "mesh", "demo", "--out", tmp + "/demo"], check=True, stdout=subprocess.DEVNULL)
    cases.append(("demo torus", tmp + "/demo/torus.obj", [500]))
    if os.path.exists(args.spot):
        cases.append(("spot", args.spot, [1000, 300]))
        subprocess.run([tf, "mesh", "subdivide", args.spot, "--times", "2", "-o", tmp + "/spot4.obj"], check=True, stdout=subprocess.DEVNULL)
        cases.append(("spot subdivided 2x", tmp + "/spot4.obj", [5000]))
    print(f"{'mesh':20} {'from':>7} {'to':>6} | {'MeshLab s':>9} {'Hausdorff':>9} {'mean':>9} | "
          f"{'texfield s':>10} {'Hausdorff':>9} {'mean':>9} | speed")
    for name, path, targets in cases:
        ms = pymeshlab.MeshSet()
        ms.load_new_mesh(path)
        n0 = ms.current_mesh().vertex_number()
        for target in targets:
            ms = pymeshlab.MeshSet()
            ms.load_new_mesh(path)
            # Remove duplicated texture-seam vertices the OBJ loader makes, so counts compare.
            ms.meshing_merge_close_vertices()
            faces = 2 * target  # closed surfaces: F ≈ 2V
            t0 = time.perf_counter()
            ms.meshing_decimation_quadric_edge_collapse(targetfacenum=faces, preserveboundary=True, optimalplacement=True,
                                                        preservenormal=True, planarquadric=False, qualitythr=0.3)
            tm = time.perf_counter() - t0
            out_m = os.path.join(tmp, f"ml_{target}.ply")
            ms.save_current_mesh(out_m)
            vm = ms.current_mesh().vertex_number()
            out_t = os.path.join(tmp, f"tf_{target}.ply")
            r = subprocess.run([tf, "mesh", "decimate", path, "--vertices", str(vm), "--ignore-seams", "-o", out_t],
                               check=True, capture_output=True, text=True).stdout
            tt = float(re.search(r"in ([0-9.]+) s", r).group(1))
            hm, mm, diag = hausdorff(path, out_m)
            ht, mt, _ = hausdorff(path, out_t)
            print(f"{name:20} {n0:7d} {vm:6d} | {tm:9.3f} {hm / diag:9.2e} {mm / diag:9.2e} | "
                  f"{tt:10.3f} {ht / diag:9.2e} {mt / diag:9.2e} | {tm / tt:4.1f}x")


if __name__ == "__main__":
    main()
