// Internal declarations shared by the eigensolver's files (not part of the C API).
//
// The solver's layers, one file each:
//   eigs_checks.cpp   residuals, M-orthonormality, sign convention, LAPACK's dsyevd, M·x
//   eigs_dense.cpp    the dense method (LAPACK dsyevr on M^-1/2 L M^-1/2 or the Cholesky form)
//   eigs_lanczos.hpp  one shift: LDL^T factorisation, inertia, shift-invert block Lanczos
//   eigs_slicing.cpp  the slicing driver: shift placement, per-slice acceptance, repairs
//   eigs_api.cpp      the C functions of texfield_shim.h
// Thread safety: nothing here keeps global state except debug_level's cached environment
// read; every call works on its own operators, settings and outputs.
#pragma once
#include "block_ldlt.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

namespace tf {
namespace eig {

// Diagnostic trace on stderr: TF_DEBUG=1 (per slice and check), TF_DEBUG=2 (every eigenvalue).
int debug_level();

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

// y = M x for b columns (column-major, leading dimension n), a diagonal M on up to `threads`.
void apply_mass(const tf_operators &ops, const double *X, double *Y, int b, int threads = 1);

struct Cancel {
    tf_progress_fn fn;
    void *ctx;
    void report(double f) const {
        if (fn && fn(ctx, std::min(1.0, std::max(0.0, f))) != 0)
            throw Error(TF_ERR_CANCELLED, "cancelled");
    }
};

// Relative residuals ||L phi - lambda M phi|| / (|lambda| ||M phi||) of the k eigenpairs at X,
// entry (i, j) at X[i * rs + j * cs] (row-major: rs = k, cs = 1; column-major: rs = 1, cs = n).
// Near zero, |lambda| is replaced by the reference scale max(max_j |lambda_j|, scale_floor).
void residuals(const tf_operators &ops, const double *X, int64_t rs, int64_t cs, int64_t k, const Vec &lam, Vec &res,
               int threads, double scale_floor = 0);
// The same for column-major Phi (one slice's pairs; scale_floor: the slice's upper edge, a lower
// bound of the final result's largest eigenvalue, so that a slice holding only zero eigenvalues is
// judged on the scale the final check uses, not on its own rounding-sized values).
void check_pairs(const tf_operators &ops, const Mat &Phi, const Vec &lam, Vec &res, int threads,
                 double scale_floor = 0);
// max |Phi^T M Phi - I| for the row-major n x k matrix X.
double orthonormality_error(const tf_operators &ops, const double *X, int64_t k, int threads);

// Fixes each eigenvector's sign (row-major n x k): the first entry whose magnitude is within
// 1e-6 (relative) of the largest is made positive.
void fix_signs(double *X, int64_t n, int64_t k);

// The k smallest eigenpairs by dense LAPACK (n <= 20000).
void solve_dense(const tf_operators &ops, int64_t k, Vec &lam, Mat &Phi);

struct Settings {
    int64_t k;
    double tol;
    int64_t band;
    int b;
    int threads;
    uint64_t seed;
    Cancel cancel;
};

// Takes the accepted eigenvectors one column at a time (column j of the n x k result, n entries);
// a column may be written again (a repair takes back the last slice's pairs above its shift).
class ColumnSink {
  public:
    virtual ~ColumnSink() = default;
    virtual void put(int64_t j, const double *x) = 0;
};

// The k smallest eigenpairs by spectrum slicing; the eigenvectors go to `out`, n x k, row-major,
// or, when `sink` is given, to the sink column by column (`out` unused); each slice's vectors are
// freed as they are copied.
void solve_sliced(const tf_operators &ops, const Settings &S, Vec &lam, double *out, tf_eigs_stats &st,
                  ColumnSink *sink = nullptr);

} // namespace eig
} // namespace tf
