#include "block_ldlt.hpp"

#include <thread>

namespace tf {

BlockLDLT::BlockLDLT(const SpMat &pattern) : n_(int(pattern.rows())) {
    ldlt_.analyzePattern(pattern);
}

bool BlockLDLT::factorize(const SpMat &K) {
    ldlt_.factorize(K);
    if (ldlt_.info() != Eigen::Success) return false;
    const SpMat &Lm = ldlt_.matrixL().nestedExpression();
    Lp_.assign(Lm.outerIndexPtr(), Lm.outerIndexPtr() + n_ + 1);
    Li_.assign(Lm.innerIndexPtr(), Lm.innerIndexPtr() + Lm.nonZeros());
    Lx_.assign(Lm.valuePtr(), Lm.valuePtr() + Lm.nonZeros());
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

// Y: n x w row-major, already permuted. Solves L D L^T y = y in place.
void BlockLDLT::solve_rows(double *Y, int w) const {
    const int *Lp = Lp_.data();
    const int *Li = Li_.data();
    const double *Lx = Lx_.data();
    // Forward: L unit lower, stored by columns (rows below the diagonal).
    for (int j = 0; j < n_; ++j) {
        const double *yj = Y + size_t(j) * w;
        for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
            double *yi = Y + size_t(Li[p]) * w;
            const double l = Lx[p];
            for (int c = 0; c < w; ++c) yi[c] -= l * yj[c];
        }
    }
    for (int j = 0; j < n_; ++j) {
        double *yj = Y + size_t(j) * w;
        const double d = Dinv_[j];
        for (int c = 0; c < w; ++c) yj[c] *= d;
    }
    // Backward: L^T, row j of L^T is column j of L.
    for (int j = n_ - 1; j >= 0; --j) {
        double *yj = Y + size_t(j) * w;
        for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
            const double *yi = Y + size_t(Li[p]) * w;
            const double l = Lx[p];
            for (int c = 0; c < w; ++c) yj[c] -= l * yi[c];
        }
    }
}

void BlockLDLT::solve(const double *B, double *X, int b, int threads) const {
    if (threads < 1) threads = 1;
    if (threads > b) threads = b;
    auto work = [&](int c0, int c1) {
        const int w = c1 - c0;
        std::vector<double> Y(size_t(n_) * w);
        for (int c = 0; c < w; ++c) {
            const double *bc = B + size_t(c0 + c) * n_;
            for (int i = 0; i < n_; ++i) Y[size_t(perm_[i]) * w + c] = bc[i];
        }
        solve_rows(Y.data(), w);
        for (int c = 0; c < w; ++c) {
            double *xc = X + size_t(c0 + c) * n_;
            for (int i = 0; i < n_; ++i) xc[i] = Y[size_t(perm_[i]) * w + c];
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
