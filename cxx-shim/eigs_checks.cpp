// Checks and conventions of the eigensolver: residuals, M-orthonormality, signs; LAPACK dsyevd.
#include "eigs_internal.hpp"
#include "par_dense.hpp"
#include "texfield_blas_control.h"

namespace tf {

void dense_symmetric_eigen(Mat &A, Vec &w) {
    int n = int(A.rows());
    w.resize(n);
    if (n == 0) return;
    int status = tfk_symmetric_eigen(n, A.data(), w.data(), 1);
    if (status == TFK_OUT_OF_MEMORY) throw std::bad_alloc();
    if (status != TFK_OK)
        throw Error(TF_ERR_NUMERIC, "dense symmetric eigensolver (dsyevd) failed");
}

namespace eig {

// Diagnostic trace on stderr: TF_DEBUG=1 (per slice and check), TF_DEBUG=2 (every eigenvalue).
int debug_level() {
    static const int level = std::getenv("TF_DEBUG") ? std::atoi(std::getenv("TF_DEBUG")) : 0;
    return level;
}

// y = M x for b columns (column-major, leading dimension n); a diagonal M's columns are shared
// out on `threads` threads (each column the same arithmetic whichever thread takes it).
void apply_mass(const tf_operators &ops, const double *X, double *Y, int b, int threads) {
    const int64_t n = ops.n;
    if (ops.diagonal_mass) {
        const double *m = ops.lumped.data();
        par::for_each(b, threads, [&](int64_t c) {
            const double *x = X + c * n;
            double *y = Y + c * n;
            for (int64_t i = 0; i < n; ++i) y[i] = m[i] * x[i];
        });
    } else {
        Eigen::Map<const Mat> Xm(X, n, b);
        Eigen::Map<Mat> Ym(Y, n, b);
        Ym.noalias() = ops.M * Xm;
    }
}

// Relative residuals ||L phi - lambda M phi|| / (|lambda| ||M phi||) of the k eigenpairs held at
// X (column j of n rows: X[i * rs + j * cs]); the reference scale replaces |lambda| near zero.
// Columns are copied out in blocks of 16, one block per item of par::for_each: per-column
// arithmetic, so no bit depends on the thread count.
void residuals(const tf_operators &ops, const double *X, int64_t rs, int64_t cs, int64_t k, const Vec &lam, Vec &res,
               int threads, double scale_floor) {
    const int64_t n = ops.n, width = 16;
    res.resize(k);
    if (k == 0) return;
    double lref = 0;
    for (int64_t j = 0; j < k; ++j) lref = std::max(lref, std::abs(lam[j]));
    if (std::isfinite(scale_floor)) lref = std::max(lref, scale_floor);
    // Every eigenvalue zero to rounding (k at most the number of components): the operator's
    // scale instead, on which the residuals of exact null vectors are rounding-sized.
    const double opscale = ops.L.diagonal().cwiseAbs().maxCoeff() / ops.lumped.maxCoeff();
    if (lref <= 1e-10 * opscale) lref = opscale;
    par::for_each((k + width - 1) / width, threads, [&](int64_t blk) {
        const int64_t j0 = blk * width, w = std::min(width, k - j0);
        Mat Y(n, w), R, MY;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < w; ++c) Y(i, c) = X[i * rs + (j0 + c) * cs];
        R.noalias() = ops.L * Y;
        if (ops.diagonal_mass)
            MY = ops.lumped.asDiagonal() * Y;
        else
            MY.noalias() = ops.M * Y;
        for (int64_t c = 0; c < w; ++c) {
            const int64_t j = j0 + c;
            double scale = std::abs(lam[j]) > 1e-8 * lref ? std::abs(lam[j]) : lref;
            double mn = MY.col(c).norm();
            res[j] = mn > 0 ? (R.col(c) - lam[j] * MY.col(c)).norm() / (scale * mn) : INFINITY;
        }
    });
}

void check_pairs(const tf_operators &ops, const Mat &Phi, const Vec &lam, Vec &res, int threads,
                 double scale_floor) {
    residuals(ops, Phi.data(), 1, ops.n, Phi.cols(), lam, res, threads, scale_floor);
}

// max |Phi^T M Phi - I| for the row-major n x k matrix X. G's upper triangle by blocks of 64
// columns, each one item of par::for_each summing its chunks of rows in order.
double orthonormality_error(const tf_operators &ops, const double *X, int64_t k, int threads) {
    const int64_t n = ops.n, chunk = 4096, width = 64;
    if (k == 0) return 0;
    Mat G = Mat::Zero(k, k);
    par::for_each((k + width - 1) / width, threads, [&](int64_t blk) {
        const int64_t j0 = blk * width, w = std::min(width, k - j0), top = j0 + w;
        Mat T, Y;
        if (!ops.diagonal_mass) { // M X[:, j0 .. j0+w) once
            Y.resize(n, w);
            for (int64_t i = 0; i < n; ++i)
                for (int64_t c = 0; c < w; ++c) Y(i, c) = X[i * k + j0 + c];
            Y = (ops.M * Y).eval();
        }
        for (int64_t r0 = 0; r0 < n; r0 += chunk) {
            const int64_t nr = std::min(chunk, n - r0);
            if (ops.diagonal_mass) {
                T.resize(nr, w);
                for (int64_t i = 0; i < nr; ++i)
                    for (int64_t c = 0; c < w; ++c) T(i, c) = ops.lumped[r0 + i] * X[(r0 + i) * k + j0 + c];
            } else {
                T = Y.middleRows(r0, nr);
            }
            // Rows r0.. of X, read as the column-major top x nr matrix at X + r0 k (leading k).
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(top), int(w), int(nr), 1.0, X + r0 * k, int(k),
                        T.data(), int(nr), 1.0, G.data() + j0 * k, int(k));
        }
    });
    double ortho = 0;
    for (int64_t j = 0; j < k; ++j)
        for (int64_t i = 0; i <= j; ++i) ortho = std::max(ortho, std::abs(G(i, j) - (i == j ? 1.0 : 0.0)));
    return ortho;
}

// Fixes each eigenvector's sign (row-major n x k X): the first entry whose magnitude is within
// 1e-6 (relative) of the column's largest is made positive. Reads X by rows.
void fix_signs(double *X, int64_t n, int64_t k) {
    std::vector<double> mx(size_t(k), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) mx[j] = std::max(mx[j], std::abs(X[i * k + j]));
    std::vector<signed char> sign(size_t(k), 0);
    int64_t open = k;
    for (int64_t i = 0; i < n && open > 0; ++i)
        for (int64_t j = 0; j < k; ++j) {
            const double x = X[i * k + j];
            if (sign[j] == 0 && std::abs(x) >= (1 - 1e-6) * mx[j]) {
                sign[j] = x < 0 ? -1 : 1;
                --open;
            }
        }
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j)
            if (sign[j] < 0) X[i * k + j] = -X[i * k + j];
}

} // namespace eig
} // namespace tf
