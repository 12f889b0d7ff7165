// LDL^T factorisation of a shifted sparse matrix K = L - sigma M with inertia, and a
// blocked triangular solve that reads the factor once for many right-hand sides.
//
// The factorisation is supernodal and multifrontal: after a fill-reducing ordering (AMD)
// and a postorder of the elimination tree, columns with the same structure below the
// diagonal are grouped into supernodes; each supernode's frontal matrix is assembled from K
// and its children's update matrices, its columns are eliminated with dense BLAS-3 kernels,
// and the rest is passed to its parent. There is no pivoting (as in Eigen's SimplicialLDLT,
// the reference): the inertia of K is the signs of D, and a zero or non-finite pivot reports
// failure. The pattern analysis (ordering, elimination tree, the structure of L, the
// supernodes) depends only on the pattern and is shared by every shift.
//
// The solve takes the right-hand sides row-major (n x w) so that every factor entry updates
// w contiguous values, and splits the block across threads by columns.
#pragma once
#include "common.hpp"

#include <atomic>
#include <memory>
#include <vector>

namespace tf {

// How fast a block of b right-hand sides is solved on one thread and split across threads,
// measured on the solves themselves (seconds per block of width b, a moving average; every
// factorisation of a pattern has the same number of entries, so the times compare),
// so that a solve split across two threads, one of which another process slows down, can be
// done on one thread instead. Shared by the factorisations of one pattern (every shift of a
// run). Atomic fields, relaxed: a race costs speed, never a bit of the result (each column is
// solved by the same operations whichever way).
class SolvePace {
  public:
    static constexpr int kWidths = 16; // blocks of up to 16 columns are timed
    static constexpr uint32_t kProbe = 16; // one solve in 16 the way that measured slower
    static constexpr uint32_t kFirst = 2;  // each way measured this many times first, the best kept
    bool choose_serial(int b);
    void record(int b, bool serial, double cost);

  private:
    struct Entry {
        std::atomic<uint32_t> calls{0};
        std::atomic<uint32_t> samples[2] = {0, 0}; // split, one thread
        std::atomic<double> cost[2] = {0.0, 0.0};
    };
    Entry entries_[kWidths + 1];
};

// Everything about the factorisation of a matrix with a given symmetric pattern that does not
// depend on its values.
struct LDLTSymbolic {
    int n = 0;
    std::vector<int> perm;        // perm[i]: the position of row i of K in the factor
    std::vector<int> Ap, Ai;      // the permuted lower triangle (diagonal included), by columns
    std::vector<int64_t> src;     // src[q]: the index in K's values of entry q of (Ap, Ai)
    std::vector<int> Lp, Li;      // the strict lower triangle of L, by columns, rows ascending
    std::vector<int> sfirst;      // supernode s owns columns [sfirst[s], sfirst[s + 1])
    std::vector<int> schildren;   // number of child supernodes
    int64_t max_front = 0;        // the largest frontal matrix's order
    mutable SolvePace pace;       // how its solves ran (not part of the analysis: timing only)

    // Analyses the pattern of a symmetric matrix stored with both triangles.
    static std::shared_ptr<const LDLTSymbolic> analyse(const SpMat &pattern);
    int64_t factor_nonzeros() const { return int64_t(Li.size()); }
};

class BlockLDLT {
  public:
    explicit BlockLDLT(std::shared_ptr<const LDLTSymbolic> symbolic);
    // Analyses the pattern itself (for a single factorisation).
    explicit BlockLDLT(const SpMat &pattern) : BlockLDLT(LDLTSymbolic::analyse(pattern)) {}

    // Factorises K (the pattern analysed). Returns false if a pivot was zero or not finite
    // (K singular to working precision at this ordering).
    bool factorize(const SpMat &K);

    // Number of negative pivots = number of eigenvalues of the pencil below the shift
    // (Sylvester's law of inertia; M is positive definite).
    int64_t negative_pivots() const { return negatives_; }

    // X = K^{-1} B for b columns (column-major, leading dimension n). B and X may alias.
    // `loops`: the kernel without vector instructions (what runs without AVX2), for the tests,
    // which compare its bits with the vector kernels'.
    void solve(const double *B, double *X, int b, int threads, bool loops = false) const;

    int64_t factor_nonzeros() const { return sym_->factor_nonzeros(); }

  private:
    void solve_rows(double *Y, int w, bool loops) const;
    std::shared_ptr<const LDLTSymbolic> sym_;
    std::vector<double> Lx_;
    std::vector<double> Dinv_;
    int64_t negatives_ = 0;
};

// The reference: Eigen's simplicial LDL^T (AMD ordering, no pivoting), one column at a time.
// Used by the tests to check the supernodal factorisation's inertia and solves.
struct ReferenceLDLT {
    Eigen::SimplicialLDLT<SpMat, Eigen::Lower, Eigen::AMDOrdering<int>> ldlt;
    bool factorize(const SpMat &K);
    int64_t negative_pivots() const;
    void solve(const double *B, double *X, int b) const;
};

} // namespace tf
