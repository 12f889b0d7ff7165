// Internal helpers of the shim: error type, exception guard, the operator struct,
// and the few LAPACK/BLAS entry points we call directly.
#pragma once
#include "include/texfield_shim.h"

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <cblas.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
             const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
             const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
}

namespace tf {

using SpMat = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

struct Error : std::runtime_error {
    tf_status code;
    Error(tf_status c, const std::string &m) : std::runtime_error(m), code(c) {}
};

inline void set_message(char *err, size_t len, const std::string &msg) {
    if (!err || len == 0) return;
    size_t n = msg.size() < len - 1 ? msg.size() : len - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = 0;
}

// Runs f, turning every C++ exception into a status code and a message.
template <class F> tf_status guarded(char *err, size_t len, F &&f) {
    try {
        f();
        return TF_OK;
    } catch (const Error &e) {
        set_message(err, len, e.what());
        return e.code;
    } catch (const std::bad_alloc &) {
        set_message(err, len, "out of memory");
        return TF_ERR_NOMEM;
    } catch (const std::exception &e) {
        set_message(err, len, std::string("internal error: ") + e.what());
        return TF_ERR_INTERNAL;
    } catch (...) {
        set_message(err, len, "internal error: unknown C++ exception");
        return TF_ERR_INTERNAL;
    }
}

inline double now_seconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Mixed-Voronoi areas of a triangle's corners (libigl's massmatrix rule): l[c] is the side
// opposite corner c, l2[c] its square, A the area. The obtuse corner gets A/2, the others A/4.
inline void mixed_voronoi_areas(const double l2[3], const double l[3], double A, double quad[3]) {
    double cosv[3], bary[3], sum = 0;
    for (int c = 0; c < 3; ++c) {
        cosv[c] = (l2[(c + 1) % 3] + l2[(c + 2) % 3] - l2[c]) / (2.0 * l[(c + 1) % 3] * l[(c + 2) % 3]);
        bary[c] = cosv[c] * l[c];
        sum += bary[c];
    }
    double part[3];
    for (int c = 0; c < 3; ++c) part[c] = bary[c] / sum * A;
    for (int c = 0; c < 3; ++c) quad[c] = 0.5 * (part[(c + 1) % 3] + part[(c + 2) % 3]);
    for (int c = 0; c < 3; ++c)
        if (cosv[c] < 0) {
            quad[c] = 0.5 * A;
            quad[(c + 1) % 3] = 0.25 * A;
            quad[(c + 2) % 3] = 0.25 * A;
        }
}

// Symmetric eigen-decomposition of a dense matrix (LAPACK dsyevd): A is overwritten by
// the eigenvectors (column-major), w gets the eigenvalues ascending.
void dense_symmetric_eigen(Mat &A, Vec &w);

} // namespace tf

struct tf_operators {
    tf::SpMat L;          // stiffness, PSD
    tf::SpMat M;          // mass
    tf::Vec lumped;       // row sums of M
    bool diagonal_mass;   // M is diagonal
    int64_t n = 0;
    int64_t degenerate = 0;
    double area = 0;
};

namespace tf {
// Fills ops->L and ops->M from triplets (duplicates summed), with the lumped mass (row sums of M).
// `prune`: drop entries that summed to exactly zero (self-edges of intrinsic triangulations).
inline void set_matrices(tf_operators &ops, int64_t n, const std::vector<Eigen::Triplet<double, int>> &lt,
                         const std::vector<Eigen::Triplet<double, int>> &mt, bool diagonal_mass, bool prune) {
    ops.L.resize(int(n), int(n));
    ops.L.setFromTriplets(lt.begin(), lt.end());
    if (prune) ops.L.prune(0.0);
    ops.L.makeCompressed();
    ops.M.resize(int(n), int(n));
    ops.M.setFromTriplets(mt.begin(), mt.end());
    ops.M.makeCompressed();
    ops.diagonal_mass = diagonal_mass;
    ops.lumped = Vec::Zero(n);
    for (int j = 0; j < ops.M.outerSize(); ++j)
        for (SpMat::InnerIterator it(ops.M, j); it; ++it) ops.lumped[it.row()] += it.value();
}
} // namespace tf
