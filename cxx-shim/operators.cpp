// Cotangent stiffness and mass matrices, built from intrinsic edge lengths.
//
// Follows libigl's cotmatrix / massmatrix (cotangents from edge lengths through the
// stable Heron formula, mixed-Voronoi areas from circumcentre barycentric coordinates with
// the obtuse-triangle split), with the sign flipped so that L is positive semi-definite.
// Unlike libigl, zero-area faces contribute nothing instead of producing NaN/Inf
// (libigl issue #610).
#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

// The area of a triangle from its edge lengths, Kahan's stable Heron formula.
double heron_area(double a, double b, double c) {
    if (a < b) std::swap(a, b);
    if (a < c) std::swap(a, c);
    if (b < c) std::swap(b, c);
    double p = (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c));
    return p > 0 ? 0.25 * std::sqrt(p) : 0.0;
}

} // namespace

extern "C" tf_status tf_operators_build(const double *V, int64_t n, const int32_t *F, int64_t m,
                                        int mass_kind, tf_operators **out, char *err,
                                        size_t errlen) {
    if (out) *out = nullptr;
    return tf::guarded(err, errlen, [&] {
        using tf::Error;
        if (!out) throw Error(TF_ERR_INVALID, "output pointer is NULL");
        if (n <= 0) throw Error(TF_ERR_INVALID, "the mesh has no vertices");
        if (m <= 0) throw Error(TF_ERR_INVALID, "the mesh has no faces");
        if (n > INT32_MAX - 1) throw Error(TF_ERR_INVALID, "too many vertices");
        if (mass_kind < 0 || mass_kind > 2)
            throw Error(TF_ERR_INVALID, "unknown mass kind " + std::to_string(mass_kind));
        for (int64_t i = 0; i < 3 * n; ++i)
            if (!std::isfinite(V[i]))
                throw Error(TF_ERR_INVALID, "vertex index " + std::to_string(i / 3) + " (0-based)" +
                                                " has a non-finite coordinate");
        for (int64_t f = 0; f < 3 * m; ++f)
            if (F[f] < 0 || F[f] >= n)
                throw Error(TF_ERR_INVALID, "face index " + std::to_string(f / 3) + " (0-based) refers to vertex index " +
                                                std::to_string(F[f]) + ", outside 0..<" +
                                                std::to_string(n));

        auto ops = std::make_unique<tf_operators>();
        ops->n = n;
        std::vector<Eigen::Triplet<double, int>> lt, mt;
        lt.reserve(size_t(12 * m));
        mt.reserve(size_t(mass_kind == TF_MASS_FULL ? 9 * m : 3 * m));
        for (int64_t f = 0; f < m; ++f) {
            int v[3] = {F[3 * f], F[3 * f + 1], F[3 * f + 2]};
            double l2[3], l[3];
            for (int c = 0; c < 3; ++c) {
                const double *p = V + 3 * int64_t(v[(c + 1) % 3]);
                const double *q = V + 3 * int64_t(v[(c + 2) % 3]);
                double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
                l2[c] = dx * dx + dy * dy + dz * dz; // edge opposite corner c
                l[c] = std::sqrt(l2[c]);
            }
            double A = heron_area(l[0], l[1], l[2]);
            if (!(A > 1e-14 * (l2[0] + l2[1] + l2[2])) || v[0] == v[1] || v[1] == v[2] ||
                v[0] == v[2]) {
                ops->degenerate++;
                continue;
            }
            ops->area += A;
            // Stiffness: the angle at corner c sits opposite the edge (c+1, c+2).
            double cot[3];
            for (int c = 0; c < 3; ++c) {
                cot[c] = (l2[(c + 1) % 3] + l2[(c + 2) % 3] - l2[c]) / (4.0 * A);
                int i = v[(c + 1) % 3], j = v[(c + 2) % 3];
                double w = 0.5 * cot[c];
                lt.emplace_back(i, j, -w);
                lt.emplace_back(j, i, -w);
                lt.emplace_back(i, i, w);
                lt.emplace_back(j, j, w);
            }
            // Mass.
            if (mass_kind == TF_MASS_BARYCENTRIC) {
                for (int c = 0; c < 3; ++c) mt.emplace_back(v[c], v[c], A / 3.0);
            } else if (mass_kind == TF_MASS_FULL) {
                for (int a = 0; a < 3; ++a)
                    for (int b = 0; b < 3; ++b)
                        mt.emplace_back(v[a], v[b], a == b ? A / 6.0 : A / 12.0);
            } else {
                double quad[3];
                tf::mixed_voronoi_areas(l2, l, A, quad);
                for (int c = 0; c < 3; ++c) mt.emplace_back(v[c], v[c], quad[c]);
            }
        }
        if (ops->degenerate == m)
            throw Error(TF_ERR_INVALID, "every face of the mesh has zero area");
        tf::set_matrices(*ops, n, lt, mt, mass_kind != TF_MASS_FULL, false);
        *out = ops.release();
    });
}

extern "C" void tf_operators_free(tf_operators *ops) { delete ops; }
extern "C" int64_t tf_operators_size(const tf_operators *ops) { return ops->n; }
extern "C" int64_t tf_operators_degenerate_faces(const tf_operators *ops) { return ops->degenerate; }
extern "C" double tf_operators_area(const tf_operators *ops) { return ops->area; }

extern "C" int64_t tf_operators_nnz(const tf_operators *ops, int which) {
    return which == 0 ? ops->L.nonZeros() : ops->M.nonZeros();
}

extern "C" tf_status tf_operators_copy_csr(const tf_operators *ops, int which, int64_t *rowptr,
                                           int32_t *cols, double *vals) {
    // Both matrices are symmetric, so the compressed columns are the compressed rows.
    const tf::SpMat &A = which == 0 ? ops->L : ops->M;
    int64_t p = 0;
    rowptr[0] = 0;
    for (int j = 0; j < A.outerSize(); ++j) {
        for (tf::SpMat::InnerIterator it(A, j); it; ++it) {
            cols[p] = it.row();
            vals[p] = it.value();
            ++p;
        }
        rowptr[j + 1] = p;
    }
    return TF_OK;
}

extern "C" void tf_operators_lumped_mass(const tf_operators *ops, double *out) {
    for (int64_t i = 0; i < ops->n; ++i) out[i] = ops->lumped[i];
}
