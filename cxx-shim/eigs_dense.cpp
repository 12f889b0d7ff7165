// The dense method: all of M^-1/2 L M^-1/2 (or the Cholesky form for a full M) through LAPACK
// dsyevr, the k smallest kept. Exact and fastest for small meshes.
#include "eigs_internal.hpp"

namespace tf {
namespace eig {

void solve_dense(const tf_operators &ops, int64_t k, Vec &lam, Mat &Phi) {
    const int n = int(ops.n);
    Mat A = Mat(ops.L);
    Mat R; // lower Cholesky factor of M when M is full
    if (ops.diagonal_mass) {
        Vec s = ops.lumped.cwiseSqrt().cwiseInverse();
        A = s.asDiagonal() * A * s.asDiagonal();
    } else {
        R = Mat(ops.M);
        int info = 0;
        dpotrf_("L", &n, R.data(), &n, &info);
        if (info != 0)
            throw Error(TF_ERR_NUMERIC, "the mass matrix is not positive definite (dpotrf info " +
                                            std::to_string(info) + ")");
        R.triangularView<Eigen::StrictlyUpper>().setZero();
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, n, 1.0,
                    R.data(), n, A.data(), n);
        cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, n, n, 1.0,
                    R.data(), n, A.data(), n);
    }
    A = 0.5 * (A + A.transpose()).eval();
    int il = 1, iu = int(k), m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
    double vl = 0, vu = 0, abstol = 0, wq = 0;
    Vec w(n);
    Mat Z(n, k);
    std::vector<int> isuppz(2 * size_t(k) + 2);
    dsyevr_("V", "I", "U", &n, A.data(), &n, &vl, &vu, &il, &iu, &abstol, &m, w.data(),
            Z.data(), &n, isuppz.data(), &wq, &lwork, &iwq, &liwork, &info);
    lwork = int(wq) + 1;
    liwork = iwq + 1;
    std::vector<double> work(static_cast<size_t>(lwork));
    std::vector<int> iwork(static_cast<size_t>(liwork));
    dsyevr_("V", "I", "U", &n, A.data(), &n, &vl, &vu, &il, &iu, &abstol, &m, w.data(),
            Z.data(), &n, isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
    if (info != 0 || m != k)
        throw Error(TF_ERR_NUMERIC,
                    "dense eigensolver (dsyevr) failed, info " + std::to_string(info));
    lam = w.head(k);
    if (ops.diagonal_mass) {
        Phi = ops.lumped.cwiseSqrt().cwiseInverse().asDiagonal() * Z;
    } else {
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, n, int(k),
                    1.0, R.data(), n, Z.data(), n);
        Phi = Z;
    }
}

} // namespace eig
} // namespace tf
