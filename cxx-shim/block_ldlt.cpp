#include "block_ldlt.hpp"

#include <thread>

namespace tf {

BlockLDLT::BlockLDLT(const SpMat &pattern) : n_(int(pattern.rows())) {
    ldlt_.analyzePattern(pattern);
}

bool BlockLDLT::factorize(const SpMat &K) {
    ldlt_.factorize(K);
    if (ldlt_.info() != Eigen::Success) return false;
    if (!ldlt_.matrixL().nestedExpression().isCompressed())
        throw Error(TF_ERR_INTERNAL, "the LDL^T factor is not in compressed storage");
    Vec D = ldlt_.vectorD();
    Dinv_.resize(n_);
    negatives_ = 0;
    for (int i = 0; i < n_; ++i) {
        if (D[i] < 0) negatives_++;
        Dinv_[i] = 1.0 / D[i];
    }
    const auto &P = ldlt_.permutationP();
    perm_.resize(n_);
    if (P.size() == n_) {
        for (int i = 0; i < n_; ++i) perm_[i] = P.indices()[i];
    } else {
        for (int i = 0; i < n_; ++i) perm_[i] = i;
    }
    return true;
}

// Y: n x w row-major, already permuted. Solves L D L^T y = y in place. W > 0 fixes the
// width at compile time so that the row updates become single vector operations.
template <int W>
static inline void ldlt_rows(int n, const int *Lp, const int *Li, const double *Lx,
                             const double *Dinv, double *Y, int wdyn) {
    const int w = W > 0 ? W : wdyn;
    // Forward: L unit lower, stored by columns (rows below the diagonal).
    for (int j = 0; j < n; ++j) {
        const double *yj = Y + size_t(j) * w;
        for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
            double *yi = Y + size_t(Li[p]) * w;
            const double l = Lx[p];
            for (int c = 0; c < w; ++c) yi[c] -= l * yj[c];
        }
    }
    for (int j = 0; j < n; ++j) {
        double *yj = Y + size_t(j) * w;
        const double d = Dinv[j];
        for (int c = 0; c < w; ++c) yj[c] *= d;
    }
    // Backward: L^T, row j of L^T is column j of L.
    for (int j = n - 1; j >= 0; --j) {
        double *yj = Y + size_t(j) * w;
        double acc[W > 0 ? W : 1];
        if (W > 0) {
            for (int c = 0; c < W; ++c) acc[c] = yj[c];
            for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
                const double *yi = Y + size_t(Li[p]) * w;
                const double l = Lx[p];
                for (int c = 0; c < W; ++c) acc[c] -= l * yi[c];
            }
            for (int c = 0; c < W; ++c) yj[c] = acc[c];
        } else {
            for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
                const double *yi = Y + size_t(Li[p]) * w;
                const double l = Lx[p];
                for (int c = 0; c < w; ++c) yj[c] -= l * yi[c];
            }
        }
    }
}

// The same kernels compiled for AVX2/FMA, chosen at run time where the processor has them
// (no build flags needed: the attribute applies to these functions only).
__attribute__((target("avx2,fma"))) static void ldlt_rows4_avx2(int n, const int *Lp, const int *Li,
                                                                const double *Lx, const double *Dinv,
                                                                double *Y) {
    ldlt_rows<4>(n, Lp, Li, Lx, Dinv, Y, 4);
}
__attribute__((target("avx2,fma"))) static void ldlt_rows8_avx2(int n, const int *Lp, const int *Li,
                                                                const double *Lx, const double *Dinv,
                                                                double *Y) {
    ldlt_rows<8>(n, Lp, Li, Lx, Dinv, Y, 8);
}

void BlockLDLT::solve_rows(double *Y, int w) const {
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    // The factor is read where Eigen keeps it (no copy: it is the largest object after the basis).
    const SpMat &Lm = ldlt_.matrixL().nestedExpression();
    const int *Lp = Lm.outerIndexPtr(), *Li = Lm.innerIndexPtr();
    const double *Lx = Lm.valuePtr(), *Di = Dinv_.data();
    if (w == 4 && avx2) return ldlt_rows4_avx2(n_, Lp, Li, Lx, Di, Y);
    if (w == 8 && avx2) return ldlt_rows8_avx2(n_, Lp, Li, Lx, Di, Y);
    if (w == 4) return ldlt_rows<4>(n_, Lp, Li, Lx, Di, Y, 4);
    if (w == 8) return ldlt_rows<8>(n_, Lp, Li, Lx, Di, Y, 8);
    ldlt_rows<0>(n_, Lp, Li, Lx, Di, Y, w);
}

void BlockLDLT::solve(const double *B, double *X, int b, int threads) const {
    if (threads < 1) threads = 1;
    if (threads > b) threads = b;
    // Each thread takes a contiguous range of columns and solves it in chunks of at most 8,
    // the widest kernel (8 doubles = two AVX2 registers per factor entry).
    auto work = [&](int c0, int c1) {
        std::vector<double> Y;
        for (int s0 = c0; s0 < c1; s0 += 8) {
            const int w = std::min(8, c1 - s0);
            Y.resize(size_t(n_) * w);
            for (int c = 0; c < w; ++c) {
                const double *bc = B + size_t(s0 + c) * n_;
                for (int i = 0; i < n_; ++i) Y[size_t(perm_[i]) * w + c] = bc[i];
            }
            solve_rows(Y.data(), w);
            for (int c = 0; c < w; ++c) {
                double *xc = X + size_t(s0 + c) * n_;
                for (int i = 0; i < n_; ++i) xc[i] = Y[size_t(perm_[i]) * w + c];
            }
        }
    };
    if (threads == 1) {
        work(0, b);
        return;
    }
    std::vector<std::thread> pool;
    int per = (b + threads - 1) / threads;
    for (int t = 1; t < threads; ++t) {
        int c0 = t * per, c1 = std::min(b, c0 + per);
        if (c0 < c1) pool.emplace_back(work, c0, c1);
    }
    work(0, std::min(b, per));
    for (auto &th : pool) th.join();
}

void BlockLDLT::solve_reference(const double *B, double *X, int b) const {
    for (int c = 0; c < b; ++c) {
        Eigen::Map<const Vec> bc(B + size_t(c) * n_, n_);
        Vec x = ldlt_.solve(bc);
        std::memcpy(X + size_t(c) * n_, x.data(), sizeof(double) * n_);
    }
}

} // namespace tf
