// As-Rigid-As-Possible surface deformation (Sorkine & Alexa, "As-Rigid-As-Possible Surface
// Modeling", SGP 2007): cotangent weights, per-vertex best rotations (the local step, an SVD of
// each cell's covariance with the reflection removed) and one sparse factorisation of the
// cotangent Laplacian restricted to the free vertices, reused by every global step.

#include "common.hpp"
#include "texfield_shim.h"

#include <Eigen/Dense>
#include <Eigen/SparseCholesky>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace {

using Vec3 = Eigen::Vector3d;

int64_t find_root(std::vector<int64_t> &parent, int64_t x) {
    while (parent[size_t(x)] != x) {
        parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
        x = parent[size_t(x)];
    }
    return x;
}

}  // namespace

extern "C" tf_status tf_arap_deform(const double *V, int64_t n, const int32_t *F, int64_t m,
                                    const int32_t *handles, const double *handle_positions, int64_t h,
                                    int32_t iterations, double *out, double *energy_out,
                                    char *err, size_t errlen) {
    return tf::guarded(err, errlen, [&] {
        using tf::Error;
        if (!V || !F || !handles || !handle_positions || !out) throw Error(TF_ERR_INVALID, "NULL argument");
        if (n <= 0) throw Error(TF_ERR_INVALID, "the mesh has no vertices");
        if (m <= 0) throw Error(TF_ERR_INVALID, "the mesh has no faces");
        if (n > INT32_MAX - 1 || m > (INT64_MAX / 8) / 3) throw Error(TF_ERR_INVALID, "mesh too large");
        if (h <= 0) throw Error(TF_ERR_INVALID, "no handle vertices: at least one vertex must be fixed");
        if (h > n) throw Error(TF_ERR_INVALID, "more handles than vertices");
        if (iterations < 1 || iterations > 100000)
            throw Error(TF_ERR_INVALID, "iterations = " + std::to_string(iterations) + " is outside 1...100000");
        for (int64_t i = 0; i < 3 * n; ++i)
            if (!std::isfinite(V[i]))
                throw Error(TF_ERR_INVALID, "vertex index " + std::to_string(i / 3) + " (0-based) has a non-finite coordinate");
        for (int64_t f = 0; f < 3 * m; ++f)
            if (F[f] < 0 || F[f] >= n)
                throw Error(TF_ERR_INVALID, "face index " + std::to_string(f / 3) + " (0-based) refers to vertex index " +
                                                std::to_string(F[f]) + ", outside 0..<" + std::to_string(n));
        std::vector<int32_t> slot(size_t(n), -1);  // vertex -> handle number
        for (int64_t k = 0; k < h; ++k) {
            int32_t v = handles[k];
            if (v < 0 || v >= n)
                throw Error(TF_ERR_INVALID, "handle vertex index " + std::to_string(v) + " is outside 0..<" + std::to_string(n));
            if (slot[size_t(v)] >= 0) throw Error(TF_ERR_INVALID, "handle vertex index " + std::to_string(v) + " is given twice");
            for (int c = 0; c < 3; ++c)
                if (!std::isfinite(handle_positions[3 * k + c]))
                    throw Error(TF_ERR_INVALID, "the target of handle vertex index " + std::to_string(v) + " is not finite");
            slot[size_t(v)] = int32_t(k);
        }
        auto P = [&](int64_t i) { return Vec3(V[3 * i], V[3 * i + 1], V[3 * i + 2]); };

        // Cotangent weights w_ij = (cot a + cot b) / 2, as one symmetric sparse matrix W.
        std::vector<Eigen::Triplet<double>> wt;
        wt.reserve(size_t(6 * m));
        std::vector<int64_t> parent(static_cast<size_t>(n), 0);
        std::iota(parent.begin(), parent.end(), 0);
        for (int64_t f = 0; f < m; ++f) {
            int32_t v[3] = {F[3 * f], F[3 * f + 1], F[3 * f + 2]};
            for (int c = 0; c < 3; ++c) {
                int32_t a = v[(c + 1) % 3], b = v[(c + 2) % 3];
                if (a == b) continue;
                parent[size_t(find_root(parent, a))] = find_root(parent, b);
                Vec3 u = P(a) - P(v[c]), w = P(b) - P(v[c]);
                double s = u.cross(w).norm();
                if (!(s > 1e-14 * u.squaredNorm() + 1e-300) || v[c] == a || v[c] == b) continue;  // zero-area corner
                double half_cot = 0.5 * u.dot(w) / s;
                wt.emplace_back(a, b, half_cot);
                wt.emplace_back(b, a, half_cot);
            }
        }
        Eigen::SparseMatrix<double, Eigen::RowMajor> W(n, n);
        W.setFromTriplets(wt.begin(), wt.end());
        wt.clear();
        wt.shrink_to_fit();

        // Every connected piece needs a handle, or its position is undetermined.
        {
            std::vector<char> anchored(size_t(n), 0);
            for (int64_t k = 0; k < h; ++k) anchored[size_t(find_root(parent, handles[k]))] = 1;
            for (int64_t i = 0; i < n; ++i)
                if (!anchored[size_t(find_root(parent, i))])
                    throw Error(TF_ERR_INVALID, "vertex index " + std::to_string(i) +
                                                    " (0-based) is in a connected piece of the mesh without a handle vertex");
        }

        // L restricted to the free vertices, and L_fc (free rows, handle columns).
        std::vector<int64_t> free_index(size_t(n), -1);
        int64_t nf = 0;
        for (int64_t i = 0; i < n; ++i)
            if (slot[size_t(i)] < 0) free_index[size_t(i)] = nf++;
        Eigen::MatrixXd X(n, 3);  // current positions
        for (int64_t i = 0; i < n; ++i) X.row(i) = P(i).transpose();
        for (int64_t k = 0; k < h; ++k)
            for (int c = 0; c < 3; ++c) X(handles[k], c) = handle_positions[3 * k + c];
        Eigen::MatrixXd fixedRHS = Eigen::MatrixXd::Zero(nf, 3);  // -L_fc x_c
        Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> solver;
        if (nf > 0) {
            std::vector<Eigen::Triplet<double>> lt;
            for (int64_t i = 0; i < n; ++i) {
                int64_t fi = free_index[size_t(i)];
                if (fi < 0) continue;
                double diag = 0;
                for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(W, i); it; ++it) {
                    diag += it.value();
                    int64_t fj = free_index[size_t(it.col())];
                    if (fj >= 0) lt.emplace_back(fi, fj, -it.value());
                    else fixedRHS.row(fi) += it.value() * X.row(it.col());
                }
                lt.emplace_back(fi, fi, diag);
            }
            Eigen::SparseMatrix<double> Lff(nf, nf);
            Lff.setFromTriplets(lt.begin(), lt.end());
            solver.compute(Lff);
            if (solver.info() != Eigen::Success)
                throw Error(TF_ERR_NUMERIC, "the ARAP system of the free vertices could not be factorised");
        }

        std::vector<Eigen::Matrix3d> R(size_t(n), Eigen::Matrix3d::Identity());
        Eigen::MatrixXd rhs(nf, 3);
        for (int32_t iter = 0; iter < iterations; ++iter) {
            // Local step: the rotation closest to each cell's map.
            for (int64_t i = 0; i < n; ++i) {
                Eigen::Matrix3d S = Eigen::Matrix3d::Zero();
                for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(W, i); it; ++it) {
                    Vec3 e0 = P(i) - P(it.col());
                    Vec3 e1 = (X.row(i) - X.row(it.col())).transpose();
                    S += it.value() * e0 * e1.transpose();
                }
                Eigen::JacobiSVD<Eigen::Matrix3d> svd(S, Eigen::ComputeFullU | Eigen::ComputeFullV);
                Eigen::Matrix3d U = svd.matrixU(), Vm = svd.matrixV();
                Eigen::Matrix3d r = Vm * U.transpose();
                if (r.determinant() < 0) {
                    U.col(2) = -U.col(2);
                    r = Vm * U.transpose();
                }
                R[size_t(i)] = r;
            }
            // Global step: L x = b with b_i = sum_j w_ij/2 (R_i + R_j)(p_i - p_j), handles fixed.
            if (nf > 0) {
                rhs = fixedRHS;
                for (int64_t i = 0; i < n; ++i) {
                    int64_t fi = free_index[size_t(i)];
                    if (fi < 0) continue;
                    Vec3 b = Vec3::Zero();
                    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(W, i); it; ++it)
                        b += 0.5 * it.value() * (R[size_t(i)] + R[size_t(it.col())]) * (P(i) - P(it.col()));
                    rhs.row(fi) += b.transpose();
                }
                Eigen::MatrixXd sol = solver.solve(rhs);
                if (!sol.allFinite()) throw Error(TF_ERR_NUMERIC, "the ARAP global step gave non-finite positions");
                for (int64_t i = 0; i < n; ++i)
                    if (free_index[size_t(i)] >= 0) X.row(i) = sol.row(free_index[size_t(i)]);
            }
            if (energy_out) {
                double e = 0;
                for (int64_t i = 0; i < n; ++i)
                    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(W, i); it; ++it) {
                        Vec3 d = (X.row(i) - X.row(it.col())).transpose() - R[size_t(i)] * (P(i) - P(it.col()));
                        e += it.value() * d.squaredNorm();
                    }
                energy_out[iter] = e;
            }
        }
        for (int64_t i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) out[3 * i + c] = X(i, c);
    });
}
