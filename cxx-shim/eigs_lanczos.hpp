// One shift of spectrum slicing: the LDL^T factorisation of L - sigma M, its inertia (the exact
// number of eigenvalues below sigma), and a shift-invert block Lanczos process on
// (L - sigma M)^-1 M with BLAS-3 re-orthogonalisation in the M-inner product.
#pragma once
#include "eigs_internal.hpp"
#include "par_dense.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace tf {
namespace eig {

// K = L - sigma M on the pattern of L (which contains the pattern of M).
struct ShiftedMatrix {
    SpMat K; // L's pattern; values L - sigma M at the last `at`
    // The LDL^T analysis of K's pattern, made by the first shift and shared by all.
    std::shared_ptr<const LDLTSymbolic> symbolic;
    explicit ShiftedMatrix(const tf_operators &ops) : K(ops.L), L_(&ops.L) {
        for (int j = 0; j < K.outerSize(); ++j) {
            int p = K.outerIndexPtr()[j], pe = K.outerIndexPtr()[j + 1];
            for (SpMat::InnerIterator it(ops.M, j); it; ++it) {
                while (p < pe && K.innerIndexPtr()[p] < it.row()) ++p;
                if (p == pe || K.innerIndexPtr()[p] != it.row())
                    throw Error(TF_ERR_INTERNAL, "mass pattern not inside the stiffness pattern");
                Mpos_.push_back(p);
                Mval_.push_back(it.value());
            }
        }
    }
    const SpMat &at(double sigma) {
        double *v = K.valuePtr();
        std::copy(L_->valuePtr(), L_->valuePtr() + K.nonZeros(), v);
        for (size_t q = 0; q < Mpos_.size(); ++q) v[Mpos_[q]] = v[Mpos_[q]] - sigma * Mval_[q];
        return K;
    }

  private:
    const SpMat *L_;                 // the stiffness (same pattern as K, entry for entry)
    std::vector<int64_t> Mpos_;      // where M's entries sit among K's
    std::vector<double> Mval_;
};

// Returns the pages wholly inside [a, e) to the system (they read as zeros when touched again)
// and gives the end of what was returned, or `a` when no whole page lies inside. Only for memory
// of one's own allocation that is not read again before it is rewritten.
inline uintptr_t release_pages(uintptr_t a, uintptr_t e) {
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t a0 = (a + page - 1) / page * page, e0 = e / page * page;
    if (e0 <= a0) return a;
    madvise(reinterpret_cast<void *>(a0), e0 - a0, MADV_DONTNEED);
    return e0;
}

// The Krylov basis: n x cap doubles, column-major, grown at the end by realloc. A basis of
// more than glibc's mmap threshold lives in its own mapping, which realloc extends by mremap
// without copying: growing it never holds the old and the new basis at once.
class Columns {
  public:
    Columns() = default;
    Columns(const Columns &) = delete;
    Columns &operator=(const Columns &) = delete;
    ~Columns() { std::free(p_); }
    double *data() { return p_; }
    const double *data() const { return p_; }
    void grow(int64_t count) {
        if (count <= size_) return;
        void *q = std::realloc(p_, sizeof(double) * size_t(count));
        if (!q) throw std::bad_alloc();
        p_ = static_cast<double *>(q);
        size_ = count;
    }
    // Returns the pages wholly inside [from, size) to the system (they read as zeros when
    // touched again; the columns there are rewritten before they are read). Only for blocks of
    // 16 MB or more, which glibc maps on their own.
    void discard(int64_t from) {
        if (!p_ || from >= size_ || (size_ - from) * int64_t(sizeof(double)) < (int64_t(16) << 20)) return;
        release_pages(reinterpret_cast<uintptr_t>(p_ + from), reinterpret_cast<uintptr_t>(p_ + size_));
    }
    void reset() {
        std::free(p_);
        p_ = nullptr;
        size_ = 0;
    }

  private:
    double *p_ = nullptr;
    int64_t size_ = 0;
};

// One shift: its factorisation, inertia and block Lanczos state.
class Slice {
  public:
    double sigma;
    int64_t nu = 0;

    Slice(const tf_operators &ops, ShiftedMatrix &shifted, double s, const Settings &S, tf_eigs_stats &st)
        : sigma(s), ops_(ops), S_(S), st_(st) {
        double ta = now_seconds();
        if (!shifted.symbolic) {
            shifted.symbolic = LDLTSymbolic::analyse(shifted.K); // L's pattern
            if (debug_level() >= 1)
                std::fprintf(stderr, "  LDL^T analysis: %lld factor entries, %zu supernodes, largest front %lld\n",
                             (long long)shifted.symbolic->factor_nonzeros(), shifted.symbolic->sfirst.size() - 1,
                             (long long)shifted.symbolic->max_front);
        }
        F_.reset(new BlockLDLT(shifted.symbolic));
        const double t_analyse = now_seconds() - ta;
        st_.seconds_factor += t_analyse;
        // LDL^T without pivoting of an indefinite K can suffer element growth where a leading
        // block of the ordered K is nearly singular at this sigma. Then its solves are poor and
        // its inertia cannot be trusted. Each factorisation is judged by the backward error of
        // one solve: above kUnstable the shift moves (by 1e-6, 1e-5, ... 1e-2 relative, the
        // counts are always those of the sigma finally used); between 1e-9 and kUnstable every
        // solve gets a refinement step. A zero pivot also moves the shift.
        constexpr double kUnstable = 1e-8;
        const int64_t n = ops.n;
        Vec bvec(n), x(n);
        {
            SplitMix rng{0x1234567ULL};
            for (int64_t i = 0; i < n; ++i) bvec[i] = rng.uniform();
        }
        for (int attempt = 0;; ++attempt) {
            const bool ok = factorize(shifted);
            if (ok) {
                F_->solve(bvec.data(), x.data(), 1, 1);
                Vec rr = bvec - shifted.K * x;
                solve_error_ = rr.norm() / bvec.norm();
                if (debug_level() >= 1)
                    std::fprintf(stderr, "  shift %g: solve backward error %.2e\n", sigma, solve_error_);
                if (solve_error_ <= kUnstable || attempt == 5) break;
            } else if (attempt == 5) {
                throw Error(TF_ERR_NUMERIC, "LDL^T factorisation of L - sigma M failed at sigma = " +
                                                std::to_string(sigma));
            }
            sigma *= 1.0 + std::pow(10.0, attempt - 6); // move off the (nearly) singular sigma
        }
        if (!(solve_error_ <= kUnstable))
            throw Error(TF_ERR_NUMERIC, "LDL^T factorisation of L - sigma M is unstable near sigma = " +
                                            std::to_string(sigma) + " (solve backward error " +
                                            std::to_string(solve_error_) + ")");
        nu = F_->negative_pivots();
        refine_solves_ = solve_error_ > 1e-9;
        if (debug_level() >= 1)
            std::fprintf(stderr, "  shift %g: analysis %.3f s, factorisation(s) %.3f s%s\n", sigma, t_analyse,
                         now_seconds() - ta - t_analyse, refine_solves_ ? " (refining every solve)" : "");
    }

    // The factor's values, kept or not: a slice placed ahead (its inertia known) need not hold
    // them while the slice before it runs. `drop_factor` frees them; `refactor` makes them again
    // at the same sigma (the same bits: the factorisation is deterministic), before the slice
    // solves; it does nothing while they are kept.
    void drop_factor() { F_.reset(); }
    void refactor(ShiftedMatrix &shifted) {
        if (F_) return;
        if (!factorize(shifted) || F_->negative_pivots() != nu)
            throw Error(TF_ERR_INTERNAL, "LDL^T factorisation at sigma = " + std::to_string(sigma) +
                                             " not reproduced");
    }

    int dim() const { return d_; }

    void start(uint64_t seed, int64_t expected_dim) {
        const int64_t n = ops_.n;
        const int b = S_.b;
        grow(std::min<int64_t>(n, std::max<int64_t>(4 * b, expected_dim)));
        SplitMix rng{seed ^ 0x5851f42d4c957f2dULL};
        for (int c = 0; c < b; ++c)
            for (int64_t i = 0; i < n; ++i) Q_.data()[i + c * n] = rng.uniform();
        filled_ = 0;
        Mat R;
        orthonormalize_block(0, R, rng);
        filled_ = b;
        d_ = 0;
        generated_ = 0;
        restarts_ = 0;
        rng_ = rng;
    }

    // One block step: W = K^{-1} M Q_d, orthogonalised against the basis.
    void step() {
        const int64_t n = ops_.n;
        const int b = S_.b;
        if (filled_ + b > cap_) grow(std::min<int64_t>(n, std::max<int64_t>(cap_ * 5 / 4, filled_ + 4 * b)));
        if (filled_ + b > cap_) throw Error(TF_ERR_NOCONV, "Krylov space reached the matrix size");
        double *X = Q_.data() + d_ * n;
        double *W = Q_.data() + filled_ * n;
        apply_mass(ops_, X, W, b, S_.threads);
        double t0 = now_seconds();
        if (refine_solves_) {
            Mat B = Eigen::Map<Mat>(W, n, b);
            F_->solve(W, W, b, S_.threads);
            Mat Rr = B;
            subtract_shifted(Eigen::Map<Mat>(W, n, b), Rr);
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
        // (the DGKS criterion, ||w_after|| < 0.7 ||w_before||). MW is M W whenever W changes
        // (made once per change: the norms, the next projection and the block's first
        // Cholesky QR pass share it).
        Mat MW(n, b), C;
        auto mnorms = [&](Vec &out) {
            out.resize(b);
            par::for_each(b, S_.threads, [&](int64_t c) {
                double s2 = 0;
                const double *w = W + c * n, *mw = MW.data() + c * n;
                for (int64_t i = 0; i < n; ++i) s2 += w[i] * mw[i];
                out[c] = std::sqrt(std::max(0.0, s2));
            });
        };
        // MW = M W and, when `norms` is given, the M-norms of W's columns: for a diagonal M in
        // one pass per column (the same operations in the same order as the two passes).
        auto update_mw = [&](Vec *norms) {
            if (!norms || !ops_.diagonal_mass) {
                apply_mass(ops_, W, MW.data(), b, S_.threads);
                if (norms) mnorms(*norms);
                return;
            }
            norms->resize(b);
            const double *m = ops_.lumped.data();
            par::for_each(b, S_.threads, [&](int64_t c) {
                const double *w = W + c * n;
                double *y = MW.data() + c * n;
                double s2 = 0;
                for (int64_t i = 0; i < n; ++i) {
                    y[i] = m[i] * w[i];
                    s2 += w[i] * y[i];
                }
                (*norms)[c] = std::sqrt(std::max(0.0, s2));
            });
        };
        auto project = [&](int64_t c0, int64_t cols, Vec *norms) {
            C.resize(cols, b);
            par::gemm_tn(S_.threads, n, int(cols), b, Q_.data() + c0 * n, n, MW.data(), n, C.data(), int(cols));
            par::gemm_nn(S_.threads, n, b, int(cols), -1.0, Q_.data() + c0 * n, n, C.data(), int(cols), 1.0, W, n);
            H_.block(c0, d_, cols, b) += C;
            update_mw(norms);
        };
        const int64_t local0 = std::max<int64_t>(0, d_ - b);
        update_mw(nullptr);
        Vec before, after;
        project(local0, filled_ - local0, &before);
        for (int pass = 0; pass < 3; ++pass) {
            project(0, filled_, &after);
            bool again = false;
            for (int c = 0; c < b; ++c)
                if (after[c] < 0.7 * before[c]) again = true;
            if (!again) break;
            before = after;
            extra_passes_++;
        }
        Mat R;
        double cond = orthonormalize_block(filled_, R, rng_, &MW);
        if (cond > 1e3) {
            // The block was nearly rank deficient: normalising it magnified whatever was left
            // along the basis. Project once more (W_n = W_n' + Q C', so H gains C' R) and
            // orthonormalise again (R becomes R2 R).
            double *Wn = Q_.data() + filled_ * n;
            Mat MWn(n, b), C2(filled_, b);
            apply_mass(ops_, Wn, MWn.data(), b);
            par::gemm_tn(S_.threads, n, int(filled_), b, Q_.data(), n, MWn.data(), n, C2.data(), int(filled_));
            par::gemm_nn(S_.threads, n, b, int(filled_), -1.0, Q_.data(), n, C2.data(), int(filled_), 1.0, Wn, n);
            H_.block(0, d_, filled_, b) += C2 * R;
            Mat R2;
            orthonormalize_block(filled_, R2, rng_);
            R = (R2 * R).eval();
            extra_passes_++;
        }
        H_.block(filled_, d_, b, b) = R;
        filled_ += b;
        d_ += b;
        generated_ += b;
        st_.seconds_orthogonalize += now_seconds() - t0;
    }

    struct Ritz {
        Vec lambda, rel; // Ritz values and estimated relative residuals of the shift-invert problem
        Vec theta;       // eigenvalues of the projected shift-invert operator (lambda = sigma + 1/theta)
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
        // The residual block's coupling to the basis: only the last block column is non-zero in
        // plain Lanczos, every kept Ritz vector's column right after a thick restart.
        Mat last = H_.block(d_, 0, b, d_) * r.S;
        r.theta = theta;
        r.lambda.resize(d_);
        r.rel.resize(d_);
        // A pair's residual in (L, M), relative to |lambda| as the final check measures it, grows
        // with f = |lambda - sigma| / |lambda|: the shift-invert estimate is scaled by f where f
        // exceeds 1 (pairs much nearer zero than a shift inside the range; with the shift below
        // zero f is about 1). Near zero the check's scale is the largest eigenvalue, here at
        // least |sigma|. (The residuals left after the refinement are checked in any case.)
        for (int i = 0; i < d_; ++i) {
            r.lambda[i] = sigma + 1.0 / theta[i];
            r.rel[i] = last.col(i).norm() / std::abs(theta[i]);
            const double l = std::abs(r.lambda[i]), ref = std::abs(sigma);
            const double scale = l > 1e-8 * ref ? l : ref;
            if (scale > 0) r.rel[i] *= std::max(1.0, std::abs(r.lambda[i] - sigma) / scale);
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
        double t0 = now_seconds();
        if (!idx.empty())
            par::gemm_nn(S_.threads, n, int(idx.size()), d_, 1.0, Q_.data(), n, Ssel.data(), d_, 0.0, Y.data(), n);
        st_.seconds_ritz += now_seconds() - t0;
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

    // The projected pencil (A, B) = (Yᵀ L Y, Yᵀ M Y) of a refined basis: its eigenvalues, and the
    // rotation X (B-orthonormal columns) that turns Y into Ritz vectors, Y X.
    Mat ritz_rotation(Mat &A, Mat &B, Vec &lambda) const {
        const Eigen::Index c = A.rows();
        A = 0.5 * (A + A.transpose()).eval();
        B = 0.5 * (B + B.transpose()).eval();
        Eigen::LLT<Mat> llt(B);
        if (llt.info() != Eigen::Success)
            throw Error(TF_ERR_NUMERIC, "refined basis lost independence near shift " + std::to_string(sigma));
        Mat Rinv = llt.matrixU().solve(Mat::Identity(c, c)); // B = U^T U
        Mat C = Rinv.transpose() * A * Rinv;
        C = 0.5 * (C + C.transpose()).eval();
        dense_symmetric_eigen(C, lambda);
        return Rinv * C;
    }

    // One round: Z = K^{-1} M Y (with one step of iterative refinement), then Rayleigh-Ritz
    // of (L, M) on span(Z); Y and lambda are replaced by the result.
    void refine(Mat &Y, Vec &lambda, bool iterative_refinement) {
        if (ops_.diagonal_mass) {
            refine_in_place(Y, lambda, iterative_refinement);
            return;
        }
        const int64_t n = ops_.n;
        const int c = int(Y.cols());
        // Three n x c matrices: Y (then Z), MZ, and W (the residual and its correction, then
        // L Z, then the result).
        Mat MZ(n, c), W;
        apply_mass(ops_, Y.data(), MZ.data(), c);
        double t0 = now_seconds();
        F_->solve(MZ.data(), Y.data(), c, S_.threads); // Z = K^{-1} M Y, in Y
        // One step of iterative refinement: the LDL^T of an indefinite K has no pivoting, so
        // its solves can lose digits to element growth; Z += K^{-1} (M Y - K Z) recovers them.
        if (iterative_refinement) {
            W = MZ;
            subtract_shifted(Y, W);
            if (debug_level() >= 1) std::fprintf(stderr, "    IR: |r|/|b| = %g\n", W.norm() / MZ.norm());
            F_->solve(W.data(), W.data(), c, S_.threads);
            Y += W;
        }
        st_.seconds_solve += now_seconds() - t0;
        st_.solves += (iterative_refinement ? 2 : 1) * c;
        t0 = now_seconds();
        apply_mass(ops_, Y.data(), MZ.data(), c);
        for (int j = 0; j < c; ++j) {
            double nr = std::sqrt(std::max(0.0, Y.col(j).dot(MZ.col(j))));
            if (nr > 0) { Y.col(j) /= nr; MZ.col(j) /= nr; }
        }
        W.resize(n, c);
        W.noalias() = ops_.L * Y;
        Mat A(c, c), B(c, c);
        par::gemm_tn(S_.threads, n, c, c, Y.data(), n, W.data(), n, A.data(), c);
        par::gemm_tn(S_.threads, n, c, c, Y.data(), n, MZ.data(), n, B.data(), c);
        MZ.resize(0, 0);
        Mat X = ritz_rotation(A, B, lambda);
        par::gemm_nn(S_.threads, n, c, c, 1.0, Y.data(), n, X.data(), c, 0.0, W.data(), n);
        Y.swap(W);
        st_.seconds_ritz += now_seconds() - t0;
    }

    // Thick restart (Wu & Simon 2000, block form): the basis becomes the Ritz vectors `idx` of
    // `r` (Q_d S[:, idx], M-orthonormal as Q_d is) followed by the current residual block, and H
    // becomes diag(theta[idx]) with the residual block's coupling row H[d:d+b, :d] S[:, idx].
    // The Lanczos process then goes on from the residual block as before: the Krylov space
    // keeps what it had found near the shift and the basis stays at most `cap` columns.
    void restart(const Ritz &r, const std::vector<int> &idx) {
        const int64_t n = ops_.n;
        const int b = S_.b, m = int(idx.size());
        if (m <= 0 || m >= d_) throw Error(TF_ERR_INTERNAL, "thick restart must keep between 1 and d - 1 vectors");
        double t0 = now_seconds();
        Mat Ssel(d_, m);
        Vec th(m);
        for (int c = 0; c < m; ++c) {
            Ssel.col(c) = r.S.col(idx[c]);
            th[c] = r.theta[idx[c]];
        }
        Mat coupling = H_.block(d_, 0, b, d_) * Ssel;
        double *Q = Q_.data();
        const int d = d_;
        multiply_in_place(Q, d, Ssel, m);
        for (int c = 0; c < b; ++c)
            std::memmove(Q + int64_t(m + c) * n, Q + int64_t(d + c) * n, sizeof(double) * size_t(n));
        H_.setZero();
        for (int c = 0; c < m; ++c) H_(c, c) = th[c];
        H_.block(m, 0, b, m) = coupling;
        d_ = m;
        filled_ = m + b;
        // The columns beyond the kept ones go back to the system until the basis grows into
        // them again: the slice's extraction, which follows soon, then does not find them resident.
        Q_.discard(n * filled_);
        restarts_++;
        st_.seconds_ritz += now_seconds() - t0;
    }

    int64_t generated() const { return generated_; }
    int restarts() const { return restarts_; }

    // The same round for a diagonal M, in the memory of Y alone (plus n x 16 panels): M Y and
    // the solve in place, the projected matrices Z^T L Z and Z^T M Z panel by panel, and
    // Y <- Z X chunk of rows by chunk of rows. At 750k vertices and 150 pairs that is 0.9 GB
    // instead of 2.7 GB. With iterative refinement one more n x c block: Z = K^{-1} (M Y) beside
    // M Y, whose memory then takes the residual M Y - K Z and its correction.
    void refine_in_place(Mat &Y, Vec &lambda, bool iterative_refinement = false) {
        const int64_t n = ops_.n;
        const int c = int(Y.cols());
        const double *m = ops_.lumped.data();
        par::for_each(c, S_.threads, [&](int64_t j) {
            double *y = Y.data() + j * n;
            for (int64_t i = 0; i < n; ++i) y[i] *= m[i];
        });
        double t0 = now_seconds();
        if (iterative_refinement) {
            Mat Z(n, c);
            F_->solve(Y.data(), Z.data(), c, S_.threads); // Z = K^{-1} M Y
            const double bnorm = debug_level() >= 1 ? Y.norm() : 0.0;
            subtract_shifted(Z, Y);                        // the residual M Y - K Z
            if (debug_level() >= 1) std::fprintf(stderr, "    IR: |r|/|b| = %g\n", Y.norm() / bnorm);
            F_->solve(Y.data(), Y.data(), c, S_.threads);  // its correction
            Z += Y;
            Y.swap(Z);
            st_.solves += c;
        } else {
            F_->solve(Y.data(), Y.data(), c, S_.threads); // Z = K^{-1} M Y, in Y
        }
        double *Yd = Y.data();
        st_.seconds_solve += now_seconds() - t0;
        st_.solves += c;
        t0 = now_seconds();
        par::for_each(c, S_.threads, [&](int64_t j) {
            double *y = Yd + j * n, s2 = 0;
            for (int64_t i = 0; i < n; ++i) s2 += m[i] * y[i] * y[i];
            const double nr = std::sqrt(std::max(0.0, s2));
            if (nr > 0)
                for (int64_t i = 0; i < n; ++i) y[i] /= nr;
        });
        // Panels of L Y and M Y as wide as kPanelBytes allow (at least 16 columns): each panel's
        // products read all of Y, so wider panels read it fewer times (51 columns at 41k
        // vertices; 16 from ~130k, where the panel stays small beside Y). At 41k k = 1023 16 MB
        // panels were as fast as 64 MB ones, and at 187k k = 256 64 MB panels raised the peak. A and B are
        // symmetric: a panel's product covers only the rows up to its last column (the rows below
        // are mirrored from later panels).
        constexpr int kPanel = 16;
        constexpr int64_t kPanelBytes = int64_t(16) << 20;
        const int panel = int(std::min<int64_t>(c, std::max<int64_t>(kPanel, kPanelBytes / (int64_t(sizeof(double)) * n))));
        Mat A(c, c), B(c, c), T(n, panel);
        for (int q0 = 0; q0 < c; q0 += panel) {
            const int p = std::min(panel, c - q0), rows = q0 + p;
            par::for_each((p + 7) / 8, S_.threads, [&](int64_t g) {
                const int j0 = int(g) * 8, w = std::min(8, p - j0);
                T.middleCols(j0, w).noalias() = ops_.L * Y.middleCols(q0 + j0, w);
            });
            par::gemm_tn(S_.threads, n, rows, p, Yd, n, T.data(), n, A.data() + int64_t(q0) * c, c);
            par::for_each(p, S_.threads, [&](int64_t j) {
                const double *y = Yd + int64_t(q0 + j) * n;
                double *t = T.data() + int64_t(j) * n;
                for (int64_t i = 0; i < n; ++i) t[i] = m[i] * y[i];
            });
            par::gemm_tn(S_.threads, n, rows, p, Yd, n, T.data(), n, B.data() + int64_t(q0) * c, c);
        }
        for (int j = 0; j < c; ++j)
            for (int i = j + 1; i < c; ++i) {
                A(i, j) = A(j, i);
                B(i, j) = B(j, i);
            }
        T.resize(0, 0);
        Mat X = ritz_rotation(A, B, lambda);
        multiply_in_place(Yd, c, X, c);
        st_.seconds_ritz += now_seconds() - t0;
    }

    // R -= (L - sigma M) X, for the residuals of iterative refinement (K itself is not kept:
    // L and M are, and a slice's copy of K cost one more matrix of L's size per live slice). In
    // place: apply_mass would need an n x c temporary beside R.
    template <class XT> void subtract_shifted(const XT &X, Mat &R) const {
        R.noalias() -= ops_.L * X;
        if (ops_.diagonal_mass) {
            const double *m = ops_.lumped.data();
            for (Eigen::Index c = 0; c < R.cols(); ++c)
                for (Eigen::Index i = 0; i < R.rows(); ++i) R(i, c) += sigma * (m[i] * X(i, c));
        } else {
            R.noalias() += sigma * (ops_.M * X);
        }
    }

    void release() {
        Q_.reset();
        H_.resize(0, 0);
        F_.reset();
    }

  private:
    // Factorises K = L - sigma M (the pattern's analysis shared through `shifted`), timed and
    // counted; false when a pivot was zero or not finite.
    bool factorize(ShiftedMatrix &shifted) {
        if (!F_) F_.reset(new BlockLDLT(shifted.symbolic));
        const double t0 = now_seconds();
        const bool ok = F_->factorize(shifted.at(sigma));
        st_.seconds_factor += now_seconds() - t0;
        st_.factorizations++;
        return ok;
    }

    // Q[:, :m] = Q[:, :d] S (S d x m, m <= d; Q n x d or more, leading dimension n) in place,
    // chunk of rows by chunk of rows: each chunk reads and writes only its own rows (the chunks
    // depend on n alone, so the bits do not depend on the thread count).
    void multiply_in_place(double *Q, int d, const Mat &S, int m) {
        const int64_t n = ops_.n;
        const int64_t rows = par::chunk_rows(n), chunks = (n + rows - 1) / rows;
        par::for_each(chunks, S_.threads, [&](int64_t ch) {
            const int64_t r0 = ch * rows, nr = std::min(rows, n - r0);
            std::vector<double> tmp(size_t(nr) * size_t(m));
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(nr), m, d, 1.0, Q + r0, int(n), S.data(),
                        int(S.rows()), 0.0, tmp.data(), int(nr));
            for (int c = 0; c < m; ++c)
                std::copy(tmp.data() + size_t(c) * nr, tmp.data() + size_t(c + 1) * nr, Q + r0 + int64_t(c) * n);
        });
    }

    void grow(int64_t cap) {
        if (cap <= cap_) return;
        Q_.grow(ops_.n * cap);
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
    // `mw`, when given, holds M times the block as it stands.
    double orthonormalize_block(int64_t c0, Mat &R, SplitMix &rng, const Mat *mw = nullptr) {
        if (!cholesky_qr2(c0, R, mw)) orthonormalize_block_mgs(c0, R, rng);
        double mx = R.diagonal().cwiseAbs().maxCoeff(), mn = R.diagonal().cwiseAbs().minCoeff();
        return mn > 0 ? mx / mn : INFINITY;
    }

    // Cholesky QR twice in the M-inner product: G = W^T M W = U^T U, W <- W U^{-1}, twice.
    // Fails (returns false, W untouched) when the block is close to rank deficient; the
    // caller then falls back to Gram-Schmidt with deflation.
    bool cholesky_qr2(int64_t c0, Mat &R, const Mat *mw) {
        const int64_t n = ops_.n;
        const int b = S_.b;
        double *W = Q_.data() + c0 * n;
        Mat W0 = Eigen::Map<Mat>(W, n, b);
        Mat MW(n, b), G(b, b);
        R = Mat::Identity(b, b);
        for (int pass = 0; pass < 2; ++pass) {
            const double *mwp = MW.data();
            if (pass == 0 && mw)
                mwp = mw->data();
            else
                apply_mass(ops_, W, MW.data(), b, S_.threads);
            par::gemm_tn(S_.threads, n, b, b, W, n, mwp, n, G.data(), b);
            G = 0.5 * (G + G.transpose()).eval();
            Eigen::LLT<Mat> llt(G);
            Mat U = llt.matrixU();
            double mx = U.diagonal().maxCoeff(), mn = U.diagonal().minCoeff();
            if (llt.info() != Eigen::Success || !(mn > 1e-6 * mx) || !std::isfinite(mx)) {
                Eigen::Map<Mat>(W, n, b) = W0;
                return false;
            }
            par::trsm_right_upper(S_.threads, n, b, U.data(), b, W, n);
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
    double solve_error_ = 0;
    bool refine_solves_ = false;
    Columns Q_;
    Mat H_;
    int64_t cap_ = 0, filled_ = 0;
    int d_ = 0;
    int64_t generated_ = 0;
    int restarts_ = 0;
    SplitMix rng_{0};

  public:
    int64_t extra_passes_ = 0;
};

} // namespace eig
} // namespace tf
