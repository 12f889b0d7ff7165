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

// y = M x for b columns (column-major, leading dimension n).
void apply_mass(const tf_operators &ops, const double *X, double *Y, int b) {
    const int64_t n = ops.n;
    if (ops.diagonal_mass) {
        const double *m = ops.lumped.data();
        for (int c = 0; c < b; ++c) {
            const double *x = X + c * n;
            double *y = Y + c * n;
            for (int64_t i = 0; i < n; ++i) y[i] = m[i] * x[i];
        }
    } else {
        Eigen::Map<const Mat> Xm(X, n, b);
        Eigen::Map<Mat> Ym(Y, n, b);
        Ym.noalias() = ops.M * Xm;
    }
}

// Relative residuals and the M-orthonormality error of eigenpairs (Phi column-major n x k).
void check_pairs(const tf_operators &ops, const Mat &Phi, const Vec &lam, Vec &res,
                 double &ortho, int threads, bool with_orthonormality) {
    const int64_t n = ops.n, k = Phi.cols();
    res.resize(k);
    ortho = 0;
    if (k == 0) return;
    double lref = 0;
    for (int64_t j = 0; j < k; ++j) lref = std::max(lref, std::abs(lam[j]));
    if (lref == 0) lref = ops.L.diagonal().cwiseAbs().maxCoeff() / ops.lumped.maxCoeff();
    auto work = [&](int64_t c0, int64_t c1) {
        Vec r(n), m(n);
        for (int64_t j = c0; j < c1; ++j) {
            r.noalias() = ops.L * Phi.col(j);
            if (ops.diagonal_mass)
                m = ops.lumped.cwiseProduct(Phi.col(j));
            else
                m.noalias() = ops.M * Phi.col(j);
            r -= lam[j] * m;
            double scale = std::abs(lam[j]) > 1e-8 * lref ? std::abs(lam[j]) : lref;
            double mn = m.norm();
            res[j] = mn > 0 ? r.norm() / (scale * mn) : INFINITY;
        }
    };
    std::vector<std::thread> pool;
    int64_t per = (k + threads - 1) / std::max(1, threads);
    for (int t = 1; t < threads; ++t) {
        int64_t c0 = t * per, c1 = std::min(k, c0 + per);
        if (c0 < c1) pool.emplace_back(work, c0, c1);
    }
    work(0, std::min(k, per));
    for (auto &th : pool) th.join();
    if (!with_orthonormality) return;

    // G = Phi^T M Phi, upper triangle, by blocks of 64 columns: each block is one item of
    // par::for_each and sums its chunks of rows in order, so no bit depends on the thread count.
    Mat G = Mat::Zero(k, k);
    const int64_t chunk = 4096, width = 64;
    par::for_each((k + width - 1) / width, threads, [&](int64_t blk) {
        const int64_t j0 = blk * width, w = std::min(width, k - j0), top = j0 + w;
        Mat T;
        for (int64_t r0 = 0; r0 < n; r0 += chunk) {
            const int64_t nr = std::min(chunk, n - r0);
            if (ops.diagonal_mass) {
                T = Phi.block(r0, j0, nr, w);
                for (int64_t i = 0; i < nr; ++i) T.row(i) *= ops.lumped[r0 + i];
            } else {
                T = ops.M.middleCols(r0, nr).transpose() * Phi.middleCols(j0, w); // rows r0.. of M Phi
            }
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, int(top), int(w), int(nr), 1.0, Phi.data() + r0,
                        int(n), T.data(), int(nr), 1.0, G.data() + j0 * k, int(k));
        }
    });
    ortho = 0;
    for (int64_t j = 0; j < k; ++j)
        for (int64_t i = 0; i <= j; ++i)
            ortho = std::max(ortho, std::abs(G(i, j) - (i == j ? 1.0 : 0.0)));
}

// Fixes each eigenvector's sign: the first entry whose magnitude is within 1e-6 (relative)
// of the largest is made positive.
void fix_signs(Mat &Phi) {
    for (int64_t j = 0; j < Phi.cols(); ++j) {
        double mx = Phi.col(j).cwiseAbs().maxCoeff();
        for (int64_t i = 0; i < Phi.rows(); ++i)
            if (std::abs(Phi(i, j)) >= (1 - 1e-6) * mx) {
                if (Phi(i, j) < 0) Phi.col(j) *= -1.0;
                break;
            }
    }
}

} // namespace eig
} // namespace tf
