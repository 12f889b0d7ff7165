// The eigensolver's dense products on threads of its own, with BLAS on one thread per call.
//
// Why not OpenBLAS's own threads: between and inside its calls they wait for each other at a
// barrier by spinning, so when another process takes part of a core the whole product waits for
// the slowed thread while the others burn their time (measured: k = 64 on 41k vertices went
// from 2.3 s to 14.4 s beside one busy process; 3.0 s with one OpenBLAS thread).
//
// Here the rows of the tall n-row operands are cut into chunks whose size depends on n alone
// (never on the thread count), the chunks are handed out one at a time from a shared counter (a
// thread on a busy core simply takes fewer), threads wait by blocking (a persistent pool,
// below), and a reduction over rows adds the chunks' partial products in chunk order. So every
// bit of the result is the same for any thread count, and a slowed core costs only its share.
#pragma once
#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
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

// Worker threads kept for the life of the process (blocked on a condition variable between
// sections, never spinning). A section is a Job: its items are claimed one at a time from a
// shared counter, by the caller and by whichever workers wake in time. The caller waits only for
// items already claimed, never for a worker that has not yet been scheduled: beside a busy
// process a new or woken thread can wait a whole time slice before it runs, and a fork-join that
// waited for it (as std::thread + join did) lost that slice at every section.
class Pool {
  public:
    struct Job {
        void (*call)(void *, int64_t) = nullptr;
        void *ctx = nullptr;
        int64_t count = 0;
        int helpers = 0; // workers allowed in beside the caller
        std::atomic<int64_t> next{0}, done{0};
        std::atomic<int> joined{0};
        std::atomic<bool> failed{false};
        std::exception_ptr failure;
        std::mutex lock;
        std::condition_variable finished;

        // Claims and runs items until none is left; after a failure, claimed items are only counted.
        void work() {
            for (int64_t i; (i = next.fetch_add(1)) < count;) {
                if (!failed.load(std::memory_order_relaxed)) {
                    try {
                        call(ctx, i);
                    } catch (...) {
                        std::lock_guard<std::mutex> g(lock);
                        if (!failure) failure = std::current_exception();
                        failed = true;
                    }
                }
                if (done.fetch_add(1) + 1 == count) {
                    std::lock_guard<std::mutex> g(lock);
                    finished.notify_all();
                }
            }
        }
    };

    static Pool &shared() {
        static Pool *pool = new Pool(); // never destroyed: its workers may outlive static destructors
        return *pool;
    }

    // Runs the job with up to `helpers` workers beside the calling thread; returns when every
    // item has run; rethrows the first exception an item threw.
    void run(const std::shared_ptr<Job> &job) {
        {
            std::lock_guard<std::mutex> g(lock_);
            while (int(workers_) < job->helpers) {
                std::thread(&Pool::loop, this).detach();
                workers_++;
            }
            job_ = job;
            generation_++;
        }
        wake_.notify_all();
        job->work();
        {
            std::unique_lock<std::mutex> g(job->lock);
            job->finished.wait(g, [&] { return job->done.load() == job->count; });
        }
        {
            std::lock_guard<std::mutex> g(lock_);
            if (job_ == job) job_.reset();
        }
        if (job->failure) std::rethrow_exception(job->failure);
    }

  private:
    void loop() {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> g(lock_);
        for (;;) {
            wake_.wait(g, [&] { return generation_ != seen; });
            seen = generation_;
            std::shared_ptr<Job> job = job_;
            g.unlock();
            // A worker that wakes after the section ended finds no item left (the job stays
            // alive through the shared pointer; the caller's data is never touched).
            if (job && job->joined.fetch_add(1) < job->helpers) job->work();
            job.reset();
            g.lock();
        }
    }

    std::mutex lock_;
    std::condition_variable wake_;
    std::shared_ptr<Job> job_;
    uint64_t generation_ = 0;
    int workers_ = 0;
};

// f(i) for every i in [0, count), on up to `threads` threads (the caller's among them, the others
// from the shared pool), items taken one at a time. The first exception thrown by an item is
// rethrown after all claimed items have stopped.
template <class F> void for_each(int64_t count, int threads, F &&f) {
    if (count <= 0) return;
    const int t = int(std::max<int64_t>(1, std::min<int64_t>(std::min(threads, 256), count)));
    if (t == 1) {
        for (int64_t i = 0; i < count; ++i) f(i);
        return;
    }
    using Fn = std::remove_reference_t<F>;
    auto job = std::make_shared<Pool::Job>();
    job->call = [](void *ctx, int64_t i) { (*static_cast<Fn *>(ctx))(i); };
    job->ctx = const_cast<void *>(static_cast<const void *>(std::addressof(f)));
    job->count = count;
    job->helpers = t - 1;
    Pool::shared().run(job);
}

// The projection kernels of projection_kernels.cpp (AVX-512, 8 right-hand columns, no packing).
bool projection_kernels_available();
void projection_tn8(int64_t nr, int m, const double *Q, int64_t ldq, const double *MW, int64_t ldm, double *out,
                    int ldo);
void projection_nn8(int64_t nr, int m, const double *Q, int64_t ldq, const double *Bt, double *W, int64_t ldw);
void projection_trsm8(int64_t nr, const double *U, int ldu, double *W, int64_t ldw);

// Whether the products with the tall n x m operand take those kernels: 8 columns on the other
// side and an operand of 24 MB or more (below that it stays in the last-level cache, where
// OpenBLAS's packed kernel was faster; measurements in projection_kernels.cpp).
// Test hook: TF_PROJECTION_KERNELS=1 / 0 forces them on (where the processor has them) or off
// (1, 0; -1 when not set).
inline int projection_kernels_forced() {
    static const int forced = [] {
        const char *e = std::getenv("TF_PROJECTION_KERNELS");
        return e ? (std::strcmp(e, "1") == 0 ? 1 : 0) : -1;
    }();
    return forced;
}
inline bool use_projection_kernels(int64_t n, int m, int p) {
    const int forced = projection_kernels_forced();
    if (p != 8 || !projection_kernels_available() || forced == 0) return false;
    return forced == 1 || n * int64_t(m) * int64_t(sizeof(double)) >= (int64_t(24) << 20);
}

// C (m x p, leading dimension ldc) = A^T B, with A n x m (lda) and B n x p (ldb), column-major.
// `fast`: -1 (the default) as use_projection_kernels decides, 0 OpenBLAS, 1 the kernels wherever
// the processor has them (p = 8); the tests compare the two.
inline void gemm_tn(int threads, int64_t n, int m, int p, const double *A, int64_t lda, const double *B,
                    int64_t ldb, double *C, int ldc, int fast = -1) {
    if (m == 0 || p == 0) return;
    const bool kernels = fast < 0 ? use_projection_kernels(n, m, p) : fast > 0 && p == 8 && projection_kernels_available();
    const int64_t rows = chunk_rows(n), chunks = (n + rows - 1) / rows;
    if (chunks <= 1 && !kernels) {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, p, int(n), 1.0, A, int(lda), B, int(ldb), 0.0, C, ldc);
        return;
    }
    const size_t block = size_t(m) * size_t(p);
    std::vector<double> part(size_t(chunks) * block);
    for_each(chunks, threads, [&](int64_t c) {
        const int64_t r0 = c * rows, nr = std::min(rows, n - r0);
        if (kernels)
            projection_tn8(nr, m, A + r0, lda, B + r0, ldb, part.data() + size_t(c) * block, m);
        else
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, p, int(nr), 1.0, A + r0, int(lda), B + r0,
                        int(ldb), 0.0, part.data() + size_t(c) * block, m);
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
// With beta = 1 `fast` (as for gemm_tn) may take the projection kernel, on alpha B transposed.
inline void gemm_nn(int threads, int64_t n, int p, int m, double alpha, const double *A, int64_t lda, const double *B,
                    int ldb, double beta, double *C, int64_t ldc, int fast = -1) {
    if (n == 0 || p == 0) return;
    const bool kernels = beta == 1.0 && m > 0 &&
                         (fast < 0 ? use_projection_kernels(n, m, p) : fast > 0 && p == 8 && projection_kernels_available());
    const int64_t rows = chunk_rows(n), chunks = (n + rows - 1) / rows;
    std::vector<double> Bt;
    if (kernels) {
        Bt.resize(size_t(m) * 8);
        for (int j = 0; j < m; ++j)
            for (int c = 0; c < 8; ++c) Bt[size_t(j) * 8 + size_t(c)] = alpha * B[size_t(c) * size_t(ldb) + size_t(j)];
    }
    for_each(chunks, threads, [&](int64_t c) {
        const int64_t r0 = c * rows, nr = std::min(rows, n - r0);
        if (kernels)
            projection_nn8(nr, m, A + r0, lda, Bt.data(), C + r0, ldc);
        else
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(nr), p, m, alpha, A + r0, int(lda), B, ldb,
                        beta, C + r0, int(ldc));
    });
}

// W (n x p, ldw) = W U^{-1} with U p x p upper triangular (ldu): chunks of rows. For p = 8
// the substitution kernel of projection_kernels.cpp where the processor has it (`fast` as for
// gemm_tn; the default follows TF_PROJECTION_KERNELS, at any size), else OpenBLAS.
inline void trsm_right_upper(int threads, int64_t n, int p, const double *U, int ldu, double *W, int64_t ldw,
                             int fast = -1) {
    const bool kernels = p == 8 && projection_kernels_available() &&
                         (fast < 0 ? projection_kernels_forced() != 0 : fast > 0);
    const int64_t rows = chunk_rows(n), chunks = (n + rows - 1) / rows;
    for_each(chunks, threads, [&](int64_t c) {
        const int64_t r0 = c * rows, nr = std::min(rows, n - r0);
        if (kernels)
            projection_trsm8(nr, U, ldu, W + r0, ldw);
        else
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
