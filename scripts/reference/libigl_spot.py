#!/usr/bin/env python3
"""Reference values for texfield's cotangent operators on ../shared/meshes/spot.

Produced once with the `libigl` pip package (igl.cotmatrix, igl.massmatrix) and scipy's
eigsh; the output is committed as Tests/SpectralTests/Fixtures/libigl_spot.json and read by
SpectralTests. libigl's cotmatrix is negative semi-definite; texfield's L is its negation.

    pip install libigl scipy numpy
    python3 scripts/reference/libigl_spot.py ../shared/meshes/spot/spot.obj > Tests/SpectralTests/Fixtures/libigl_spot.json
"""
import importlib.metadata, json, sys
import numpy as np
import scipy, scipy.sparse.linalg as sla
import igl

path = sys.argv[1]
v, _, _, f, _, _ = igl.readOBJ(path)
v = np.asarray(v, dtype=np.float64)
f = np.asarray(f, dtype=np.int64)
C = igl.cotmatrix(v, f).tocsr()
Mv = igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_VORONOI).diagonal()
Mb = igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_BARYCENTRIC).diagonal()
L = (-C).tocoo()
step = 37
idx = np.arange(0, L.nnz, step)
vals, _ = sla.eigsh((-C).tocsc(), 30, scipy.sparse.diags(Mv).tocsc(), sigma=-1e-8)
out = {
    "origin": f"libigl {importlib.metadata.version('libigl')} cotmatrix/massmatrix, scipy {scipy.__version__} eigsh(sigma=-1e-8), numpy {np.__version__}",
    "mesh": "shared/meshes/spot/spot.obj",
    "vertices": int(v.shape[0]),
    "faces": int(f.shape[0]),
    "L_nnz": int(C.nnz),
    "L_frobenius": float(np.sqrt((C.data ** 2).sum())),
    "L_sample_rows": L.row[idx].tolist(),
    "L_sample_cols": L.col[idx].tolist(),
    "L_sample_values": L.data[idx].tolist(),
    "mass_voronoi": Mv.tolist(),
    "mass_barycentric": Mb.tolist(),
    "eigenvalues_voronoi": np.sort(vals).tolist(),
}
json.dump(out, sys.stdout)
