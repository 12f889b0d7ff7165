// The eigensolver's dense products on threads of its own, with BLAS on one thread per call.
//
// Why not OpenBLAS's own threads: between and inside its calls they wait for each other at a
// barrier by spinning, so when another process takes part of a core the whole product waits for
// the slowed thread while the others burn their time (measured: k = 64 on 41k vertices went
// from 2.3 s to 14.4 s beside one busy process; 3.0 s with one OpenBLAS thread).
//
// Here the rows of the tall n-row operands are cut into chunks whose size depends on n alone
// (never on the thread count), the chunks are handed out one at a time from a shared counter (a
// thread on a busy core simply takes fewer), threads are joined by blocking, and a reduction
// over rows adds the chunks' partial products in chunk order. So every bit of the result is the
// same for any thread count, and a slowed core costs only its share.
#pragma once
#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace tf {
namespace par {

// Rows per chunk: at least 2048, at most 64 chunks, a multiple of 8.
inline int64_t chunk_rows(int64_t n) {
    int64_t c = std::max<int64_t>(2048, (n + 63) / 64);
    return (c + 7) / 8 * 8;
}

// f(i) for every i in [0, count), on up to `threads` threads (the caller's among them), items
// taken one at a time. The first exception thrown by an item is rethrown after all have stopped.
template <class F> void for_each(int64_t count, int threads, F &&f) {
    if (count <= 0) return;
    const int t = int(std::max<int64_t>(1, std::min<int64_t>(threads, count)));
    if (t == 1) {
        for (int64_t i = 0; i < count; ++i) f(i);
        return;
    }
    std::atomic<int64_t> next{0};
    std::exception_ptr failure;
    std::mutex lock;
    auto body = [&]() {
        try {
            for (int64_t i; (i = next.fetch_add(1)) < count;) f(i);
        } catch (...) {
            std::lock_guard<std::mutex> g(lock);
            if (!failure) failure = std::current_exception();
            next = count;
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(size_t(t - 1));
    for (int i = 1; i < t; ++i) pool.emplace_back(body);
    body();
    for (auto &th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
}

// C (m x p, leading dimension ldc) = A^T B, with A n x m (lda) and B n x p (ldb), column-major.
inline void gemm_tn(int threads, int64_t n, int m, int p, const double *A, int64_t lda, const double *B,
                    int64_t ldb, double *C, int ldc) {
    if (m == 0 || p == 0) return;
    const int64_t rows = chunk_rows(n), chunks = (n + rows - 1) / rows;
    if (chunks <= 1) {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, p, int(n), 1.0, A, int(lda), B, int(ldb), 0.0, C, ldc);
        return;
    }
    const size_t block = size_t(m) * size_t(p);
    std::vector<double> part(size_t(chunks) * block);
    for_each(chunks, threads, [&](int64_t c) {
        const int64_t r0 = c * rows, nr = std::min(rows, n - r0);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, p, int(nr), 1.0, A + r0, int(lda), B + r0, int(ldb),
                    0.0, part.data() + size_t(c) * block, m);
    });
    // The partials added in chunk order, columns of C shared out.
    for_each(p, threads, [&](int64_t j) {
        double *cj = C + size_t(j) * size_t(ldc);
        const double *p0 = part.data() + size_t(j) * size_t(m);
        for (int i = 0; i < m; ++i) cj[i] = p0[i];
        for (int64_t c = 1; c < chunks; ++c) {
            const double *pc = p0 + size_t(c) * block;
            for (int i = 0; i < m; ++i) cj[i] += pc[i];
        }
    });
}

// C (n x p, ldc) = alpha A B + beta C, with A n x m (lda) and B m x p (ldb): chunks of rows.
inline void gemm_nn(int threads, int64_t n, int p, int m, double alpha, const double *A, int64_t lda, const double *B,
                    int ldb, double beta, double *C, int64_t ldc) {
    if (n == 0 || p == 0) return;
    const int64_t rows = chunk_rows(n), chunks = (n + rows - 1) / rows;
    for_each(chunks, threads, [&](int64_t c) {
        const int64_t r0 = c * rows, nr = std::min(rows, n - r0);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(nr), p, m, alpha, A + r0, int(lda), B, ldb, beta,
                    C + r0, int(ldc));
    });
}

// W (n x p, ldw) = W U^{-1} with U p x p upper triangular (ldu): chunks of rows.
inline void trsm_right_upper(int threads, int64_t n, int p, const double *U, int ldu, double *W, int64_t ldw) {
    const int64_t rows = chunk_rows(n), chunks = (n + rows - 1) / rows;
    for_each(chunks, threads, [&](int64_t c) {
        const int64_t r0 = c * rows, nr = std::min(rows, n - r0);
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, int(nr), p, 1.0, U, ldu,
                    W + r0, int(ldw));
    });
}

// OpenBLAS at one thread for the life of this object (the count before is restored).
class SingleThreadedBLAS {
  public:
    SingleThreadedBLAS() : saved_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
    ~SingleThreadedBLAS() { openblas_set_num_threads(saved_); }
    SingleThreadedBLAS(const SingleThreadedBLAS &) = delete;
    SingleThreadedBLAS &operator=(const SingleThreadedBLAS &) = delete;

  private:
    int saved_;
};

} // namespace par
} // namespace tf
