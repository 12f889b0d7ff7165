// LDL^T factorisation of a shifted sparse matrix K = L - sigma M with inertia, and a
// blocked triangular solve that reads the factor once for many right-hand sides.
//
// Eigen's SimplicialLDLT solves one column at a time; a Krylov method with blocks of
// b vectors pays the memory traffic of the factor b times. Here the right-hand sides are
// laid out row-major (n x w) so that every factor entry updates w contiguous values, and
// the block is split across threads by columns.
#pragma once
#include "common.hpp"

#include <vector>

namespace tf {

class BlockLDLT {
  public:
    // Analyses the sparsity pattern once; factorise() may then be called for any matrix
    // with the same pattern.
    explicit BlockLDLT(const SpMat &pattern);

    // Factorises K. Returns false if a zero pivot occurred (K singular to working precision).
    bool factorize(const SpMat &K);

    // Number of negative pivots = number of eigenvalues of the pencil below the shift
    // (Sylvester's law of inertia; M is positive definite).
    int64_t negative_pivots() const { return negatives_; }

    // X = K^{-1} B for b columns (column-major, leading dimension n). B and X may alias.
    void solve(const double *B, double *X, int b, int threads) const;

    // Reference version: Eigen's column-by-column solve, used by the tests.
    void solve_reference(const double *B, double *X, int b) const;

    int64_t factor_nonzeros() const { return int64_t(ldlt_.matrixL().nestedExpression().nonZeros()); }

  private:
    void solve_rows(double *Y, int w) const;
    Eigen::SimplicialLDLT<SpMat, Eigen::Lower, Eigen::AMDOrdering<int>> ldlt_;
    int n_ = 0;
    std::vector<int> perm_;
    std::vector<double> Dinv_;
    int64_t negatives_ = 0;
};

} // namespace tf
