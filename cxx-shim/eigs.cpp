// The k smallest eigenpairs of L phi = lambda M phi.
//
// Two methods:
//  - dense: M^{-1/2} L M^{-1/2} (or the Cholesky form for a full M) through LAPACK dsyevr;
//    used for small meshes, where it is both exact and fastest.
//  - spectrum slicing: shifts sigma_0 < sigma_1 < ... placed by Weyl's law and then by the
//    measured eigenvalue density; at each shift an LDL^T factorisation of L - sigma M gives
//    the exact number of eigenvalues below sigma (Sylvester's inertia), and a block Lanczos
//    process on (L - sigma M)^{-1} M with full re-orthogonalisation (BLAS-3) converges the
//    eigenpairs around sigma. Slice j owns [hi_{j-1}, hi_j) with hi_j the midpoint between
//    consecutive shifts; the count of every gap between shifts is checked against the inertia,
//    so no eigenvalue can be skipped silently. A gap whose count does not match is re-covered
//    whole by the next slice ("repair").
// Every accepted eigenpair has its true residual checked against the tolerance.
#include "block_ldlt.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

namespace tf {

void dense_symmetric_eigen(Mat &A, Vec &w) {
    int n = int(A.rows());
    w.resize(n);
    if (n == 0) return;
    int lwork = -1, liwork = -1, info = 0, iwq = 0;
    double wq = 0;
    dsyevd_("V", "U", &n, A.data(), &n, w.data(), &wq, &lwork, &iwq, &liwork, &info);
    lwork = int(wq) + 1;
    liwork = iwq + 1;
    std::vector<double> work(static_cast<size_t>(lwork));
    std::vector<int> iwork(static_cast<size_t>(liwork));
    dsyevd_("V", "U", &n, A.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork,
            &info);
    if (info != 0)
        throw Error(TF_ERR_NUMERIC, "dense symmetric eigensolver (dsyevd) failed, info " +
                                        std::to_string(info));
}

namespace {

// Diagnostic trace on stderr: TF_DEBUG=1 (per slice and check), TF_DEBUG=2 (every eigenvalue).
int debug_level() {
    static const int level = std::getenv("TF_DEBUG") ? std::atoi(std::getenv("TF_DEBUG")) : 0;
    return level;
}

struct SplitMix {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * 0x1.0p-53 * 2.0 - 1.0; }
};

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

struct Cancel {
    tf_progress_fn fn;
    void *ctx;
    void report(double f) const {
        if (fn && fn(ctx, std::min(1.0, std::max(0.0, f))) != 0)
            throw Error(TF_ERR_CANCELLED, "cancelled");
    }
};

// Relative residuals and the M-orthonormality error of eigenpairs (Phi column-major n x k).
void check_pairs(const tf_operators &ops, const Mat &Phi, const Vec &lam, Vec &res,
                 double &ortho, int threads, bool with_orthonormality = true) {
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

    // G = Phi^T M Phi, accumulated over chunks of rows.
    Mat G = Mat::Zero(k, k);
    const int64_t chunk = 4096;
    Mat S, T;
    for (int64_t r0 = 0; r0 < n; r0 += chunk) {
        int64_t nr = std::min(chunk, n - r0);
        if (ops.diagonal_mass) {
            S = Phi.middleRows(r0, nr);
            for (int64_t i = 0; i < nr; ++i) S.row(i) *= std::sqrt(ops.lumped[r0 + i]);
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, int(k), int(nr), 1.0, S.data(),
                        int(nr), 1.0, G.data(), int(k));
        } else {
            T = ops.M.middleCols(r0, nr).transpose() * Phi; // rows r0.. of M Phi
            S = Phi.middleRows(r0, nr);
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, int(k), int(k), int(nr), 1.0,
                        S.data(), int(nr), T.data(), int(nr), 1.0, G.data(), int(k));
        }
    }
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

// ---------------------------------------------------------------- dense method

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

// ---------------------------------------------------------------- spectrum slicing

struct Settings {
    int64_t k;
    double tol;
    int64_t band;
    int b;
    int threads;
    uint64_t seed;
    Cancel cancel;
};

// K = L - sigma M on the pattern of L (which contains the pattern of M).
struct ShiftedMatrix {
    SpMat K;
    std::vector<double> Lv, Mv;
    explicit ShiftedMatrix(const tf_operators &ops) : K(ops.L) {
        Lv.assign(K.valuePtr(), K.valuePtr() + K.nonZeros());
        Mv.assign(K.nonZeros(), 0.0);
        for (int j = 0; j < K.outerSize(); ++j) {
            int p = K.outerIndexPtr()[j], pe = K.outerIndexPtr()[j + 1];
            for (SpMat::InnerIterator it(ops.M, j); it; ++it) {
                while (p < pe && K.innerIndexPtr()[p] < it.row()) ++p;
                if (p == pe || K.innerIndexPtr()[p] != it.row())
                    throw Error(TF_ERR_INTERNAL, "mass pattern not inside the stiffness pattern");
                Mv[p] = it.value();
            }
        }
    }
    const SpMat &at(double sigma) {
        double *v = K.valuePtr();
        for (size_t p = 0; p < Lv.size(); ++p) v[p] = Lv[p] - sigma * Mv[p];
        return K;
    }
};

// One shift: its factorisation, inertia and block Lanczos state.
class Slice {
  public:
    double sigma;
    int64_t nu = 0;

    Slice(const tf_operators &ops, ShiftedMatrix &shifted, const SpMat &pattern, double s,
          const Settings &S, tf_eigs_stats &st)
        : sigma(s), ops_(ops), S_(S), st_(st), K_(pattern) {
        double ta = now_seconds();
        F_.reset(new BlockLDLT(pattern));
        st_.seconds_factor += now_seconds() - ta;
        for (int attempt = 0;; ++attempt) {
            double t0 = now_seconds();
            bool ok = F_->factorize(shifted.at(sigma));
            st_.seconds_factor += now_seconds() - t0;
            st_.factorizations++;
            if (ok) break;
            if (attempt == 5)
                throw Error(TF_ERR_NUMERIC, "LDL^T factorisation of L - sigma M failed at sigma = " +
                                                std::to_string(sigma));
            sigma *= 1.0 + 1e-6 * (attempt + 1); // sigma hit an eigenvalue: move off it
        }
        nu = F_->negative_pivots();
        K_ = shifted.at(sigma);
        // LDL^T without pivoting of an indefinite K can suffer element growth. Measure the
        // backward error of one solve; where it is poor, every solve gets a refinement step.
        {
            const int64_t n = ops.n;
            SplitMix rng{0x1234567ULL};
            Vec bvec(n), x(n);
            for (int64_t i = 0; i < n; ++i) bvec[i] = rng.uniform();
            F_->solve(bvec.data(), x.data(), 1, 1);
            Vec rr = bvec - K_ * x;
            solve_error_ = rr.norm() / bvec.norm();
            refine_solves_ = solve_error_ > 1e-9;
            if (debug_level() >= 1)
                std::fprintf(stderr, "  shift %g: solve backward error %.2e%s\n", sigma, solve_error_,
                             refine_solves_ ? " (refining every solve)" : "");
        }
    }

    int dim() const { return d_; }

    void start(uint64_t seed, int64_t expected_dim) {
        const int64_t n = ops_.n;
        const int b = S_.b;
        grow(std::min<int64_t>(n, std::max<int64_t>(4 * b, expected_dim)));
        SplitMix rng{seed ^ 0x5851f42d4c957f2dULL};
        for (int c = 0; c < b; ++c)
            for (int64_t i = 0; i < n; ++i) Q_(i, c) = rng.uniform();
        filled_ = 0;
        Mat R;
        orthonormalize_block(0, R, rng);
        filled_ = b;
        d_ = 0;
        rng_ = rng;
    }

    // One block step: W = K^{-1} M Q_d, orthogonalised against the basis.
    void step() {
        const int64_t n = ops_.n;
        const int b = S_.b;
        if (filled_ + b > cap_) grow(std::min<int64_t>(n, std::max<int64_t>(cap_ * 3 / 2, filled_ + b)));
        if (filled_ + b > cap_) throw Error(TF_ERR_NOCONV, "Krylov space reached the matrix size");
        double *X = Q_.data() + d_ * n;
        double *W = Q_.data() + filled_ * n;
        apply_mass(ops_, X, W, b);
        double t0 = now_seconds();
        if (refine_solves_) {
            Mat B = Eigen::Map<Mat>(W, n, b);
            F_->solve(W, W, b, S_.threads);
            Mat Rr = B - K_ * Eigen::Map<Mat>(W, n, b);
            Mat dW(n, b);
            F_->solve(Rr.data(), dW.data(), b, S_.threads);
            Eigen::Map<Mat>(W, n, b) += dW;
            st_.solves += b;
        } else {
            F_->solve(W, W, b, S_.threads);
        }
        st_.seconds_solve += now_seconds() - t0;
        st_.solves += b;
        t0 = now_seconds();
        // Block classical Gram-Schmidt in the M-inner product: first against the last two
        // blocks (where the Lanczos recurrence puts almost all of W), then one pass against
        // the whole basis; a second whole pass only when that pass removed much of a column
        // (the DGKS criterion, ||w_after|| < 0.7 ||w_before||).
        Mat MW(n, b), C;
        auto project = [&](int64_t c0, int64_t cols) {
            C.resize(cols, b);
            apply_mass(ops_, W, MW.data(), b);
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, int(cols), b, int(n), 1.0,
                        Q_.data() + c0 * n, int(n), MW.data(), int(n), 0.0, C.data(), int(cols));
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(n), b, int(cols), -1.0,
                        Q_.data() + c0 * n, int(n), C.data(), int(cols), 1.0, W, int(n));
            H_.block(c0, d_, cols, b) += C;
        };
        auto mnorms = [&](Vec &out) {
            apply_mass(ops_, W, MW.data(), b);
            out.resize(b);
            for (int c = 0; c < b; ++c) {
                double s2 = 0;
                const double *w = W + c * n, *mw = MW.data() + c * n;
                for (int64_t i = 0; i < n; ++i) s2 += w[i] * mw[i];
                out[c] = std::sqrt(std::max(0.0, s2));
            }
        };
        const int64_t local0 = std::max<int64_t>(0, d_ - b);
        project(local0, filled_ - local0);
        Vec before, after;
        for (int pass = 0; pass < 3; ++pass) {
            mnorms(before);
            project(0, filled_);
            mnorms(after);
            bool again = false;
            for (int c = 0; c < b; ++c)
                if (after[c] < 0.7 * before[c]) again = true;
            if (!again) break;
            extra_passes_++;
        }
        Mat R;
        double cond = orthonormalize_block(filled_, R, rng_);
        if (cond > 1e3) {
            // The block was nearly rank deficient: normalising it magnified whatever was left
            // along the basis. Project once more (W_n = W_n' + Q C', so H gains C' R) and
            // orthonormalise again (R becomes R2 R).
            double *Wn = Q_.data() + filled_ * n;
            Mat MWn(n, b), C2(filled_, b);
            apply_mass(ops_, Wn, MWn.data(), b);
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, int(filled_), b, int(n), 1.0,
                        Q_.data(), int(n), MWn.data(), int(n), 0.0, C2.data(), int(filled_));
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(n), b, int(filled_), -1.0,
                        Q_.data(), int(n), C2.data(), int(filled_), 1.0, Wn, int(n));
            H_.block(0, d_, filled_, b) += C2 * R;
            Mat R2;
            orthonormalize_block(filled_, R2, rng_);
            R = (R2 * R).eval();
            extra_passes_++;
        }
        H_.block(filled_, d_, b, b) = R;
        filled_ += b;
        d_ += b;
        st_.seconds_orthogonalize += now_seconds() - t0;
    }

    struct Ritz {
        Vec lambda, rel; // Ritz values and estimated relative residuals of the shift-invert problem
        Mat S;
    };

    Ritz ritz() {
        double t0 = now_seconds();
        const int b = S_.b;
        Ritz r;
        r.S = H_.topLeftCorner(d_, d_);
        r.S = 0.5 * (r.S + r.S.transpose()).eval();
        Vec theta;
        dense_symmetric_eigen(r.S, theta);
        Mat last = H_.block(d_, d_ - b, b, b) * r.S.bottomRows(b);
        r.lambda.resize(d_);
        r.rel.resize(d_);
        for (int i = 0; i < d_; ++i) {
            r.lambda[i] = sigma + 1.0 / theta[i];
            r.rel[i] = last.col(i).norm() / std::abs(theta[i]);
        }
        st_.seconds_ritz += now_seconds() - t0;
        return r;
    }

    // Ritz vectors Q_d S[:, idx].
    Mat vectors(const Ritz &r, const std::vector<int> &idx) {
        const int64_t n = ops_.n;
        Mat Ssel(d_, idx.size());
        for (size_t c = 0; c < idx.size(); ++c) Ssel.col(c) = r.S.col(idx[c]);
        Mat Y(n, idx.size());
        if (!idx.empty())
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(n), int(idx.size()), d_, 1.0,
                        Q_.data(), int(n), Ssel.data(), d_, 0.0, Y.data(), int(n));
        return Y;
    }

    // Final extraction: Ritz vectors Y = Q S[:, idx], one step of inverse iteration with this
    // shift (Z = K^{-1} M Y, which damps the rounding noise that the Krylov basis carries in
    // far-away directions, as ARPACK's purification does), then Rayleigh-Ritz of (L, M) on
    // span(Z). Returns the refined eigenvalues (ascending) and vectors.
    void extract(const Ritz &r, const std::vector<int> &idx, Vec &lambda, Mat &Y, int rounds = 1) {
        const int64_t n = ops_.n;
        const int c = int(idx.size());
        Y = vectors(r, idx);
        if (c == 0) { lambda.resize(0); return; }
        // The first round solves once; later rounds (asked for when residuals stayed above the
        // tolerance) add a step of iterative refinement to every solve.
        for (int round = 0; round < rounds; ++round) refine(Y, lambda, refine_solves_ || rounds > 1);
    }

    // One round: Z = K^{-1} M Y (with one step of iterative refinement), then Rayleigh-Ritz
    // of (L, M) on span(Z); Y and lambda are replaced by the result.
    void refine(Mat &Y, Vec &lambda, bool iterative_refinement) {
        const int64_t n = ops_.n;
        const int c = int(Y.cols());
        Mat Z = Y;
        Mat MZ(n, c);
        apply_mass(ops_, Z.data(), MZ.data(), c);
        double t0 = now_seconds();
        F_->solve(MZ.data(), Z.data(), c, S_.threads);
        // One step of iterative refinement: the LDL^T of an indefinite K has no pivoting, so
        // its solves can lose digits to element growth; Z += K^{-1} (M Y - K Z) recovers them.
        for (int it = 0; it < (iterative_refinement ? 1 : 0); ++it) {
            Mat Rr = MZ - K_ * Z;
            if (debug_level() >= 1) std::fprintf(stderr, "    IR %d: |r|/|b| = %g\n", it, Rr.norm() / MZ.norm());
            Mat dZ(n, c);
            F_->solve(Rr.data(), dZ.data(), c, S_.threads);
            Z += dZ;
        }
        st_.seconds_solve += now_seconds() - t0;
        st_.solves += (iterative_refinement ? 2 : 1) * c;
        t0 = now_seconds();
        apply_mass(ops_, Z.data(), MZ.data(), c);
        for (int j = 0; j < c; ++j) {
            double nr = std::sqrt(std::max(0.0, Z.col(j).dot(MZ.col(j))));
            if (nr > 0) { Z.col(j) /= nr; MZ.col(j) /= nr; }
        }
        Mat LZ = ops_.L * Z;
        Mat A(c, c), B(c, c);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, c, int(n), 1.0, Z.data(), int(n),
                    LZ.data(), int(n), 0.0, A.data(), c);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, c, c, int(n), 1.0, Z.data(), int(n),
                    MZ.data(), int(n), 0.0, B.data(), c);
        A = 0.5 * (A + A.transpose()).eval();
        B = 0.5 * (B + B.transpose()).eval();
        Eigen::LLT<Mat> llt(B);
        if (llt.info() != Eigen::Success)
            throw Error(TF_ERR_NUMERIC, "refined basis lost independence near shift " + std::to_string(sigma));
        Mat Rinv = llt.matrixU().solve(Mat::Identity(c, c)); // B = U^T U
        Mat C = Rinv.transpose() * A * Rinv;
        C = 0.5 * (C + C.transpose()).eval();
        dense_symmetric_eigen(C, lambda);
        Mat X = Rinv * C;
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(n), c, c, 1.0, Z.data(), int(n),
                    X.data(), c, 0.0, Y.data(), int(n));
        st_.seconds_ritz += now_seconds() - t0;
    }

    void release() {
        Q_.resize(0, 0);
        H_.resize(0, 0);
        F_.reset();
        K_.resize(0, 0);
    }

  private:
    void grow(int64_t cap) {
        if (cap <= cap_) return;
        Q_.conservativeResize(ops_.n, cap);
        Mat H = Mat::Zero(cap + S_.b, cap + S_.b);
        if (cap_ > 0) H.topLeftCorner(H_.rows(), H_.cols()) = H_;
        H_.swap(H);
        cap_ = cap;
    }

    // M-orthonormalises columns [c0, c0+b) of Q against each other (and, for replaced columns,
    // against everything before), two passes of modified Gram-Schmidt. R: b x b upper with
    // W_old = W_new R. A column that vanishes (invariant subspace) is replaced by a random one.
    // Returns the condition estimate of the block (max / min of R's diagonal; infinite when a
    // column had to be replaced).
    double orthonormalize_block(int64_t c0, Mat &R, SplitMix &rng) {
        if (!cholesky_qr2(c0, R)) orthonormalize_block_mgs(c0, R, rng);
        double mx = R.diagonal().cwiseAbs().maxCoeff(), mn = R.diagonal().cwiseAbs().minCoeff();
        return mn > 0 ? mx / mn : INFINITY;
    }

    // Cholesky QR twice in the M-inner product: G = W^T M W = U^T U, W <- W U^{-1}, twice.
    // Fails (returns false, W untouched) when the block is close to rank deficient; the
    // caller then falls back to Gram-Schmidt with deflation.
    bool cholesky_qr2(int64_t c0, Mat &R) {
        const int64_t n = ops_.n;
        const int b = S_.b;
        double *W = Q_.data() + c0 * n;
        Mat W0 = Eigen::Map<Mat>(W, n, b);
        Mat MW(n, b), G(b, b);
        R = Mat::Identity(b, b);
        for (int pass = 0; pass < 2; ++pass) {
            apply_mass(ops_, W, MW.data(), b);
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, b, b, int(n), 1.0, W, int(n),
                        MW.data(), int(n), 0.0, G.data(), b);
            G = 0.5 * (G + G.transpose()).eval();
            Eigen::LLT<Mat> llt(G);
            Mat U = llt.matrixU();
            double mx = U.diagonal().maxCoeff(), mn = U.diagonal().minCoeff();
            if (llt.info() != Eigen::Success || !(mn > 1e-6 * mx) || !std::isfinite(mx)) {
                Eigen::Map<Mat>(W, n, b) = W0;
                return false;
            }
            cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, int(n), b,
                        1.0, U.data(), b, W, int(n));
            R = (U * R).eval();
        }
        return true;
    }

    void orthonormalize_block_mgs(int64_t c0, Mat &R, SplitMix &rng) {
        const int64_t n = ops_.n;
        const int b = S_.b;
        R = Mat::Zero(b, b);
        Vec mq(n);
        auto mdot = [&](const double *x, const double *y) {
            double s = 0;
            if (ops_.diagonal_mass) {
                const double *m = ops_.lumped.data();
                for (int64_t i = 0; i < n; ++i) s += m[i] * x[i] * y[i];
            } else {
                apply_mass(ops_, y, mq.data(), 1);
                for (int64_t i = 0; i < n; ++i) s += x[i] * mq[i];
            }
            return s;
        };
        for (int c = 0; c < b; ++c) {
            double *w = Q_.data() + (c0 + c) * n;
            double norm0 = std::sqrt(std::max(0.0, mdot(w, w)));
            for (int pass = 0; pass < 2; ++pass)
                for (int p = 0; p < c; ++p) {
                    const double *q = Q_.data() + (c0 + p) * n;
                    double h = mdot(q, w);
                    for (int64_t i = 0; i < n; ++i) w[i] -= h * q[i];
                    R(p, c) += h;
                }
            double nr = std::sqrt(std::max(0.0, mdot(w, w)));
            if (!(nr > 1e-10 * norm0) || nr == 0) {
                // Deflate: a fresh random direction, orthogonal to the whole basis.
                for (int64_t i = 0; i < n; ++i) w[i] = rng.uniform();
                for (int pass = 0; pass < 2; ++pass)
                    for (int64_t p = 0; p < c0 + c; ++p) {
                        const double *q = Q_.data() + p * n;
                        double h = mdot(q, w);
                        for (int64_t i = 0; i < n; ++i) w[i] -= h * q[i];
                    }
                nr = std::sqrt(mdot(w, w));
                R(c, c) = 0;
            } else {
                R(c, c) = nr;
            }
            for (int64_t i = 0; i < n; ++i) w[i] /= nr;
        }
    }

    const tf_operators &ops_;
    const Settings &S_;
    tf_eigs_stats &st_;
    std::unique_ptr<BlockLDLT> F_;
    SpMat K_; // L - sigma M, for the refinement residual
    double solve_error_ = 0;
    bool refine_solves_ = false;
    Mat Q_, H_;
    int64_t cap_ = 0, filled_ = 0;
    int d_ = 0;
    SplitMix rng_{0};

  public:
    int64_t extra_passes_ = 0;
};

struct SliceOutput {
    std::vector<double> lambda;
    std::vector<char> above;
    Mat vectors;
};

int64_t round_up(int64_t x, int64_t b) { return (x + b - 1) / b * b; }

void solve_sliced(const tf_operators &ops, const Settings &S, Vec &lam, Mat &Phi,
                  tf_eigs_stats &st) {
    const int64_t n = ops.n, k = S.k, c = S.band, b = S.b;
    ShiftedMatrix shifted(ops);
    const SpMat pattern = ops.L;
    double rho = ops.area / (4 * M_PI); // Weyl: N(lambda) ~ area * lambda / (4 pi)
    auto margin = [&](int64_t r) { return std::max<int64_t>(8, r / 16); };

    // Places a shift so that the gap above the previous shift holds about `target`
    // eigenvalues (up to three factorisations).
    auto place = [&](double sprev, int64_t nuprev, int64_t target) {
        double s = sprev + double(target) / rho;
        std::unique_ptr<Slice> sl;
        for (int attempt = 0; attempt < 3; ++attempt) {
            sl.reset(new Slice(ops, shifted, pattern, s, S, st));
            int64_t g = sl->nu - nuprev;
            if (g >= target * 0.7 && g <= target * 1.5 + 8) break;
            double ratio = double(target) / std::max<int64_t>(g, 1);
            ratio = std::min(4.0, std::max(0.25, ratio));
            if (g > 0) rho = g / (sl->sigma - sprev);
            s = sprev + (sl->sigma - sprev) * ratio;
        }
        st.slices++;
        return sl;
    };

    std::vector<SliceOutput> outs;
    int64_t found_total = 0;
    double lo = -INFINITY, sprev = 0;
    int64_t nuprev = 0, prev_above = 0;
    // The first shift sits just below zero (L is PSD, so nothing lies below it): the lowest
    // eigenpairs, whose relative residuals are the hardest to make small, are then the best
    // resolved by the shift-invert operator. Its slice is verified by the next shift's inertia.
    std::unique_ptr<Slice> cur(new Slice(ops, shifted, pattern, -0.01 / rho, S, st));
    st.slices++;
    if (cur->nu != 0)
        throw Error(TF_ERR_NUMERIC, "the stiffness matrix has negative eigenvalues (" +
                                        std::to_string(cur->nu) + " below " + std::to_string(cur->sigma) + ")");
    bool probe_only_next = false;
    uint64_t seed = S.seed;
    for (int j = 0;; ++j) {
        const int64_t G = cur->nu - nuprev;
        const bool last = cur->nu >= k || probe_only_next;
        std::unique_ptr<Slice> next;
        double hi = cur->sigma;
        int64_t need_above = -1; // known only when the next shift is a verification probe
        int64_t expected_above = 0;
        if (!last) {
            int64_t rem = k - cur->nu;
            bool final_target = rem + margin(rem) <= c * 5 / 4;
            int64_t target = final_target ? rem + margin(rem) : c;
            next = place(cur->sigma, cur->nu, target);
            hi = 0.5 * (cur->sigma + next->sigma);
            expected_above = (next->nu - cur->nu) / 2;
            if (j == 0 && next->nu >= k) {
                // Few eigenpairs: the first slice takes them all, one-sidedly from below; the
                // next shift only verifies the count.
                probe_only_next = true;
                hi = next->sigma;
                need_above = next->nu - cur->nu;
                expected_above = need_above;
            }
            rho = std::max<int64_t>(1, next->nu - cur->nu) / (next->sigma - cur->sigma);
        }
        int64_t need = G - prev_above;
        bool repair = false;
        auto enter_repair = [&]() {
            if (j == 0 || repair)
                throw Error(TF_ERR_NOCONV, "eigenvalue count below shift " + std::to_string(cur->sigma) +
                                               " does not match the inertia");
            repair = true;
            st.repairs++;
            lo = sprev;
            need = G;
            SliceOutput &p = outs.back();
            std::vector<int> keep;
            for (size_t i = 0; i < p.lambda.size(); ++i)
                if (!p.above[i]) keep.push_back(int(i));
            SliceOutput q;
            q.vectors.resize(n, keep.size());
            for (size_t i = 0; i < keep.size(); ++i) {
                q.lambda.push_back(p.lambda[keep[i]]);
                q.above.push_back(0);
                q.vectors.col(i) = p.vectors.col(keep[i]);
            }
            found_total -= int64_t(p.lambda.size() - keep.size());
            p = std::move(q);
        };
        if (debug_level() >= 1)
            std::fprintf(stderr, "slice %d sigma=%g nu=%lld G=%lld need=%lld lo=%g hi=%g last=%d need_above=%lld\n", j,
                         cur->sigma, (long long)cur->nu, (long long)G, (long long)need, lo, hi, int(last),
                         (long long)need_above);
        if (need < 0) enter_repair();

        const int64_t cap = std::max<int64_t>(b, (n - 2 * b) / b * b);
        int64_t expected = need + expected_above;
        int64_t dtarget = std::min(cap, round_up(int64_t(1.3 * expected) + 2 * b, b));
        int64_t maxdim = std::min(cap, round_up(3 * expected + 6 * b + 40, b));
        const int64_t hardcap = std::min(cap, round_up(12 * expected + 20 * b + 200, b));
        int stalled_checks = 0;
        int extract_rounds = 1;
        double tol_si = S.tol;
        cur->start(seed++, std::min(cap, round_up(4 * expected + 8 * b, b)));
        int64_t last_ca = -1;
        SliceOutput out;
        for (;;) {
            while (cur->dim() < dtarget) cur->step();
            Slice::Ritz r = cur->ritz();
            int64_t cb = 0, ub = 0, ca = 0, ua = 0;
            std::vector<int> sel;
            const double hi_guard = hi + 0.15 * (hi - cur->sigma);
            for (int i = 0; i < cur->dim(); ++i) {
                double l = r.lambda[i];
                bool conv = r.rel[i] <= tol_si;
                if (l >= lo && l < cur->sigma) {
                    conv ? ++cb : ++ub;
                    if (conv) sel.push_back(i);
                } else if ((!last || need_above >= 0) && l >= cur->sigma && l < hi) {
                    conv ? ++ca : ++ua;
                    if (conv) sel.push_back(i);
                } else if (!last && need_above < 0 && l >= hi && l < hi_guard && !conv) {
                    ++ua; // convergence must reach past hi before the upper side counts as complete
                }
            }
            S.cancel.report(double(found_total + std::min(cb, need)) / double(k));
            if (debug_level() >= 1)
                std::fprintf(stderr, "  dim=%d cb=%lld ub=%lld ca=%lld ua=%lld\n", cur->dim(), (long long)cb,
                             (long long)ub, (long long)ca, (long long)ua);
            if (cb > need) {
                enter_repair();
                continue;
            }
            bool below_ok = cb == need && ub == 0;
            bool above_ok = need_above >= 0 ? (ca == need_above && ua == 0)
                                            : (last || (ua == 0 && ca == last_ca));
            if (need_above >= 0 && ca > need_above)
                throw Error(TF_ERR_NOCONV, "more converged eigenpairs than the inertia allows below " +
                                               std::to_string(hi));
            last_ca = ca;
            if (below_ok && above_ok) {
                // The refinement subspace also holds the converged Ritz vectors just outside the
                // slice (as far from the shift as the slice's own edges, and the guard zone):
                // inverse iteration cannot separate those from the wanted ones, Rayleigh-Ritz can.
                const double reach = 1.15 * std::max(std::isfinite(lo) ? cur->sigma - lo : 0.0,
                                                     std::max(hi, cur->sigma) - cur->sigma);
                std::vector<int> all = sel;
                for (int i = 0; i < cur->dim(); ++i) {
                    double l = r.lambda[i];
                    bool inside = l >= lo && l < (last && need_above < 0 ? cur->sigma : hi);
                    if (!inside && r.rel[i] <= tol_si && std::abs(l - cur->sigma) <= reach) all.push_back(i);
                }
                Vec refined;
                Mat Yall;
                cur->extract(r, all, refined, Yall, extract_rounds);
                const double top = last && need_above < 0 ? cur->sigma : hi;
                std::vector<int> keep;
                for (int i = 0; i < refined.size(); ++i)
                    if (refined[i] >= lo && refined[i] < top) keep.push_back(i);
                out.vectors.resize(n, keep.size());
                out.lambda.clear();
                out.above.clear();
                for (size_t q = 0; q < keep.size(); ++q) {
                    out.vectors.col(q) = Yall.col(keep[q]);
                    out.lambda.push_back(refined[keep[q]]);
                    out.above.push_back(refined[keep[q]] >= cur->sigma);
                }
                if (keep.size() != sel.size()) {
                    // A refined value crossed an edge of the slice: take more Krylov steps.
                    if (debug_level() >= 1)
                        std::fprintf(stderr, "  refined count %zu != selected %zu\n", keep.size(), sel.size());
                    last_ca = -1;
                    dtarget = std::min(maxdim, cur->dim() + b);
                    continue;
                }
                Vec res;
                double ortho = 0;
                Vec lv = Eigen::Map<Vec>(out.lambda.data(), out.lambda.size());
                check_pairs(ops, out.vectors, lv, res, ortho, S.threads, false);
                if (debug_level() >= 1) {
                    int worst = 0;
                    for (int i = 0; i < res.size(); ++i) if (res[i] > res[worst]) worst = i;
                    std::fprintf(stderr, "slice sigma=%g dim=%d sel=%zu maxres=%g at lambda=%g est=%g\n", cur->sigma,
                                 cur->dim(), sel.size(), res.size() ? res.maxCoeff() : 0.0,
                                 res.size() ? out.lambda[worst] : 0.0, 0.0);
                    if (debug_level() >= 2)
                        for (int i = 0; i < res.size(); ++i)
                            std::fprintf(stderr, "      lambda %.12g res %.2e\n", out.lambda[i], res[i]);
                }
                if (res.size() == 0 || res.maxCoeff() <= S.tol) break;
                // Residuals above the tolerance: first more inverse-iteration rounds (cheap; they
                // fix vectors far from the shift), then a tighter Lanczos tolerance.
                if (extract_rounds < 3) {
                    extract_rounds++;
                    continue;
                }
                // Still above: at this point the residuals sit on the floor that rounding sets for
                // this shift, and more Krylov steps do not lower it. Accept results within 100x
                // of the tolerance and say so in the statistics; go on otherwise.
                if (res.maxCoeff() <= 100 * S.tol) {
                    st.tolerance_missed++;
                    break;
                }
                tol_si *= 0.1; // estimates were optimistic: tighten and go on
                if (tol_si < 1e-15)
                    throw Error(TF_ERR_NOCONV, "residuals did not reach the tolerance near shift " +
                                                   std::to_string(cur->sigma));
            }
            // Missing eigenvalues below the shift with nothing left converging there: an earlier
            // slice mis-counted its upper side, so this slice re-covers the whole gap.
            bool stalled_below = cb < need && ub == 0;
            stalled_checks = stalled_below ? stalled_checks + 1 : 0;
            if (stalled_checks >= 3 && j > 0 && !repair) {
                enter_repair();
                stalled_checks = 0;
                continue;
            }
            if (cur->dim() >= maxdim) {
                if (maxdim < hardcap) {
                    maxdim = std::min(hardcap, maxdim * 3 / 2);
                } else {
                    throw Error(TF_ERR_NOCONV, "the eigensolver did not converge near shift " +
                                                   std::to_string(cur->sigma) + " (Krylov dimension " +
                                                   std::to_string(cur->dim()) + ")");
                }
            }
            dtarget = std::min(maxdim, cur->dim() + std::max<int64_t>(b, round_up(cur->dim() / 10, b)));
        }
        if (debug_level() >= 1)
            std::fprintf(stderr, "  extra global passes: %lld of %d steps\n", (long long)cur->extra_passes_, cur->dim() / int(b));
        cur->release();
        prev_above = 0;
        for (char a : out.above) prev_above += a;
        found_total += int64_t(out.lambda.size());
        outs.push_back(std::move(out));
        if (last || probe_only_next) break;
        lo = hi;
        sprev = cur->sigma;
        nuprev = cur->nu;
        cur = std::move(next);
    }

    // Gather, sort, keep the first k.
    std::vector<std::pair<double, std::pair<int, int>>> all;
    for (size_t s = 0; s < outs.size(); ++s)
        for (size_t i = 0; i < outs[s].lambda.size(); ++i)
            all.push_back({outs[s].lambda[i], {int(s), int(i)}});
    std::sort(all.begin(), all.end());
    if (int64_t(all.size()) < k)
        throw Error(TF_ERR_NOCONV, "found " + std::to_string(all.size()) + " eigenpairs, wanted " +
                                       std::to_string(k));
    lam.resize(k);
    Phi.resize(n, k);
    for (int64_t j = 0; j < k; ++j) {
        lam[j] = all[j].first;
        Phi.col(j) = outs[all[j].second.first].vectors.col(all[j].second.second);
    }
}

} // namespace
} // namespace tf

using namespace tf;

extern "C" tf_status tf_eigs(const tf_operators *ops, const tf_eigs_options *o, double *values,
                             double *vectors, double *residuals, tf_eigs_stats *stats, char *err,
                             size_t errlen) {
    return guarded(err, errlen, [&] {
        double t0 = now_seconds();
        tf_eigs_stats st{};
        const int64_t n = ops->n, k = o->k;
        if (k < 1) throw Error(TF_ERR_INVALID, "k must be at least 1, got " + std::to_string(k));
        if (k > n)
            throw Error(TF_ERR_INVALID, "k = " + std::to_string(k) + " exceeds the number of vertices (" +
                                            std::to_string(n) + ")");
        for (int64_t i = 0; i < n; ++i)
            if (!(ops->lumped[i] > 0))
                throw Error(TF_ERR_INVALID,
                            "vertex " + std::to_string(i) +
                                " has zero mass: it is unreferenced or only in zero-area faces; "
                                "remove it before computing eigenfunctions");
        Settings S;
        S.k = k;
        S.tol = o->tolerance > 0 ? o->tolerance : 1e-9;
        // Block size: 8 converges in the fewest solves; from ~20k vertices the factor no longer
        // stays in cache and 16 (8 columns per thread per pass over the factor) is faster.
        S.b = int(o->block > 0 ? o->block : (n >= 20000 ? 16 : 8));
        S.threads = o->threads > 0 ? o->threads : 2;
        S.seed = o->seed;
        S.cancel = Cancel{o->progress, o->progress_context};
        S.band = o->band > 0 ? o->band : 100;
        int method = o->method;
        if (method == 0) {
            bool small = n <= 2000 || (n <= 6000 && 4 * k >= n);
            method = small ? 1 : 2;
        }
        if (method == 2 && 3 * k > n)
            throw Error(TF_ERR_INVALID,
                        "k = " + std::to_string(k) + " is too large for spectrum slicing on " + std::to_string(n) +
                            " vertices (at most n/3 = " + std::to_string(n / 3) + ")" +
                            (n <= 20000 ? "; the dense method (--method dense) computes any k <= n"
                                        : "; the dense method is limited to 20000 vertices"));
        Vec lam;
        Mat Phi;
        if (method == 1) {
            if (n > 20000)
                throw Error(TF_ERR_INVALID, "the dense method is limited to 20000 vertices");
            solve_dense(*ops, k, lam, Phi);
        } else {
            solve_sliced(*ops, S, lam, Phi, st);
        }
        st.method = method;
        fix_signs(Phi);
        Vec res;
        double tc = now_seconds();
        check_pairs(*ops, Phi, lam, res, st.orthonormality_error, S.threads);
        st.seconds_check = now_seconds() - tc;
        st.max_residual = res.size() ? res.maxCoeff() : 0;
        for (int64_t j = 0; j < k; ++j) values[j] = lam[j];
        if (residuals)
            for (int64_t j = 0; j < k; ++j) residuals[j] = res[j];
        // Column-major Phi to row-major output, in tiles that stay in cache.
        const int64_t T = 64;
        for (int64_t i0 = 0; i0 < n; i0 += T)
            for (int64_t j0 = 0; j0 < k; j0 += T)
                for (int64_t j = j0; j < std::min(k, j0 + T); ++j)
                    for (int64_t i = i0; i < std::min(n, i0 + T); ++i) vectors[i * k + j] = Phi(i, j);
        S.cancel.report(1.0);
        st.seconds_total = now_seconds() - t0;
        if (stats) *stats = st;
    });
}

extern "C" tf_status tf_eigs_check(const tf_operators *ops, int64_t k, const double *values,
                                   const double *vectors, double *residuals, double *ortho,
                                   char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        const int64_t n = ops->n;
        Mat Phi(n, k);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < k; ++j) Phi(i, j) = vectors[i * k + j];
        Vec lam = Eigen::Map<const Vec>(values, k), res;
        double o = 0;
        check_pairs(*ops, Phi, lam, res, o, 2);
        for (int64_t j = 0; j < k; ++j) residuals[j] = res[j];
        if (ortho) *ortho = o;
    });
}

extern "C" tf_status tf_selftest_block_solve(const tf_operators *ops, double sigma, int nrhs,
                                             uint64_t seed, double *max_relative_difference,
                                             int64_t *negative_pivots, char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        ShiftedMatrix shifted(*ops);
        BlockLDLT F(ops->L);
        if (!F.factorize(shifted.at(sigma))) throw Error(TF_ERR_NUMERIC, "factorisation failed");
        const int64_t n = ops->n;
        SplitMix rng{seed};
        Mat B(n, nrhs), X(n, nrhs), Xr(n, nrhs);
        for (int64_t i = 0; i < B.size(); ++i) B.data()[i] = rng.uniform();
        F.solve(B.data(), X.data(), nrhs, 2);
        F.solve_reference(B.data(), Xr.data(), nrhs);
        *max_relative_difference = (X - Xr).cwiseAbs().maxCoeff() / Xr.cwiseAbs().maxCoeff();
        *negative_pivots = F.negative_pivots();
    });
}
