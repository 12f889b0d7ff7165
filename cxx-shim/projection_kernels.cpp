// The block Lanczos projections against a tall basis, for a block of 8 columns, without
// OpenBLAS's packing: C = Q^T (M W) and W -= Q C on one chunk of rows.
//
// Why: with 8 right-hand columns a packed GEMM copies the basis chunk (the big operand) once
// per call and then reads it only 8 times; when the basis is larger than the last-level cache
// the products are limited by memory traffic, and the copy is pure overhead. Measured on the
// 2-core AMD EPYC (Zen 4) of BENCHMARKS.md, 41k rows, both products of one projection on 2
// threads, best of 6x20: 100 basis columns 2.69 ms against 3.52 ms with OpenBLAS, 150 columns
// 4.21 against 5.53, 250 columns 7.07 against 9.53; at 60 columns (20 MB, inside the 32 MB
// cache) OpenBLAS was faster (1.40 against 1.53 ms), so the caller uses these kernels only on
// bases of 24 MB or more (par_dense.hpp). OpenBLAS stays the reference (tf_selftest_projection).
//
// Every result depends only on the chunk's rows and the operands: the order of the sums is
// fixed by the row count, never by the thread that runs the chunk.
#include "par_dense.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tf {
namespace par {

#if defined(__x86_64__)

// out (m x 8, leading dimension ldo) = Q^T MW over nr rows; Q nr x m (ldq), MW nr x 8 (ldm).
// Three basis columns at a time against the 8 columns of MW (24 accumulators of 8 rows).
__attribute__((target("avx512f"))) static void tn8_avx512(int64_t nr, int m, const double *Q, int64_t ldq,
                                                          const double *MW, int64_t ldm, double *out, int ldo) {
    const int64_t iend = nr / 8 * 8;
    int j = 0;
    for (; j + 3 <= m; j += 3) {
        __m512d a0[8], a1[8], a2[8];
        for (int c = 0; c < 8; ++c) a0[c] = a1[c] = a2[c] = _mm512_setzero_pd();
        const double *q0 = Q + int64_t(j) * ldq, *q1 = q0 + ldq, *q2 = q1 + ldq;
        for (int64_t i = 0; i < iend; i += 8) {
            const __m512d x0 = _mm512_loadu_pd(q0 + i), x1 = _mm512_loadu_pd(q1 + i), x2 = _mm512_loadu_pd(q2 + i);
            for (int c = 0; c < 8; ++c) {
                const __m512d y = _mm512_loadu_pd(MW + c * ldm + i);
                a0[c] = _mm512_fmadd_pd(x0, y, a0[c]);
                a1[c] = _mm512_fmadd_pd(x1, y, a1[c]);
                a2[c] = _mm512_fmadd_pd(x2, y, a2[c]);
            }
        }
        for (int c = 0; c < 8; ++c) {
            double s0 = _mm512_reduce_add_pd(a0[c]), s1 = _mm512_reduce_add_pd(a1[c]), s2 = _mm512_reduce_add_pd(a2[c]);
            for (int64_t i = iend; i < nr; ++i) {
                const double y = MW[c * ldm + i];
                s0 += q0[i] * y;
                s1 += q1[i] * y;
                s2 += q2[i] * y;
            }
            out[c * ldo + j] = s0;
            out[c * ldo + j + 1] = s1;
            out[c * ldo + j + 2] = s2;
        }
    }
    for (; j < m; ++j) {
        __m512d a0[8];
        for (int c = 0; c < 8; ++c) a0[c] = _mm512_setzero_pd();
        const double *q0 = Q + int64_t(j) * ldq;
        for (int64_t i = 0; i < iend; i += 8) {
            const __m512d x0 = _mm512_loadu_pd(q0 + i);
            for (int c = 0; c < 8; ++c) a0[c] = _mm512_fmadd_pd(x0, _mm512_loadu_pd(MW + c * ldm + i), a0[c]);
        }
        for (int c = 0; c < 8; ++c) {
            double s0 = _mm512_reduce_add_pd(a0[c]);
            for (int64_t i = iend; i < nr; ++i) s0 += q0[i] * MW[c * ldm + i];
            out[c * ldo + j] = s0;
        }
    }
}

// W (nr x 8, ldw) += Q Bt^T over nr rows, with Bt the m x 8 row-major coefficients (alpha
// already applied). Blocks of 16 rows x 8 columns in registers, the basis taken 8 columns at a
// time (8 short streams: measured faster than 16, 32 or all columns at once).
__attribute__((target("avx512f"))) static void nn8_avx512(int64_t nr, int m, const double *Q, int64_t ldq,
                                                          const double *Bt, double *W, int64_t ldw) {
    constexpr int kPanel = 8;
    const int64_t iend = nr / 16 * 16;
    for (int j0 = 0; j0 < m; j0 += kPanel) {
        const int j1 = std::min(m, j0 + kPanel);
        for (int64_t i = 0; i < iend; i += 16) {
            __m512d a0[8], a1[8];
            for (int c = 0; c < 8; ++c) {
                a0[c] = _mm512_loadu_pd(W + c * ldw + i);
                a1[c] = _mm512_loadu_pd(W + c * ldw + i + 8);
            }
            for (int j = j0; j < j1; ++j) {
                const double *q = Q + int64_t(j) * ldq + i;
                const __m512d x0 = _mm512_loadu_pd(q), x1 = _mm512_loadu_pd(q + 8);
                const double *bt = Bt + int64_t(j) * 8;
                for (int c = 0; c < 8; ++c) {
                    const __m512d y = _mm512_set1_pd(bt[c]);
                    a0[c] = _mm512_fmadd_pd(x0, y, a0[c]);
                    a1[c] = _mm512_fmadd_pd(x1, y, a1[c]);
                }
            }
            for (int c = 0; c < 8; ++c) {
                _mm512_storeu_pd(W + c * ldw + i, a0[c]);
                _mm512_storeu_pd(W + c * ldw + i + 8, a1[c]);
            }
        }
    }
    // The last rows (fewer than 16), in the same order: panel by panel, column by column.
    for (int64_t i = iend; i < nr; ++i)
        for (int c = 0; c < 8; ++c) {
            double s = W[c * ldw + i];
            for (int j = 0; j < m; ++j) s = std::fma(Q[int64_t(j) * ldq + i], Bt[int64_t(j) * 8 + c], s);
            W[c * ldw + i] = s;
        }
}

// W (nr x 8, ldw) = W U^{-1}, U 8 x 8 upper triangular (ldu): forward substitution along each
// row, x_c = (w_c - sum_{j<c} x_j U_jc) / U_cc, eight rows at a time. (OpenBLAS's dtrsm took
// 3.4 % of the samples of a 41k k = 1023 run for this 1.4 GFlop.)
__attribute__((target("avx512f"))) static void trsm8_avx512(int64_t nr, const double *U, int ldu, double *W,
                                                            int64_t ldw) {
    const int64_t iend = nr / 8 * 8;
    for (int64_t i = 0; i < iend; i += 8) {
        __m512d x[8];
        for (int c = 0; c < 8; ++c) {
            __m512d s = _mm512_loadu_pd(W + c * ldw + i);
            for (int j = 0; j < c; ++j) s = _mm512_fnmadd_pd(x[j], _mm512_set1_pd(U[c * ldu + j]), s);
            x[c] = _mm512_div_pd(s, _mm512_set1_pd(U[c * ldu + c]));
            _mm512_storeu_pd(W + c * ldw + i, x[c]);
        }
    }
    for (int64_t i = iend; i < nr; ++i) {
        double x[8];
        for (int c = 0; c < 8; ++c) {
            double s = W[c * ldw + i];
            for (int j = 0; j < c; ++j) s = std::fma(-x[j], U[c * ldu + j], s);
            x[c] = s / U[c * ldu + c];
            W[c * ldw + i] = x[c];
        }
    }
}

bool projection_kernels_available() {
    static const bool ok = __builtin_cpu_supports("avx512f");
    return ok;
}

void projection_tn8(int64_t nr, int m, const double *Q, int64_t ldq, const double *MW, int64_t ldm, double *out,
                    int ldo) {
    tn8_avx512(nr, m, Q, ldq, MW, ldm, out, ldo);
}

void projection_nn8(int64_t nr, int m, const double *Q, int64_t ldq, const double *Bt, double *W, int64_t ldw) {
    nn8_avx512(nr, m, Q, ldq, Bt, W, ldw);
}

void projection_trsm8(int64_t nr, const double *U, int ldu, double *W, int64_t ldw) {
    trsm8_avx512(nr, U, ldu, W, ldw);
}

#else

bool projection_kernels_available() { return false; }
void projection_trsm8(int64_t, const double *, int, double *, int64_t) {}
void projection_tn8(int64_t, int, const double *, int64_t, const double *, int64_t, double *, int) {}
void projection_nn8(int64_t, int, const double *, int64_t, const double *, double *, int64_t) {}

#endif

} // namespace par
} // namespace tf
