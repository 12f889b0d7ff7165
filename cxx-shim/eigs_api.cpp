// The eigensolver's C API (texfield_shim.h): argument checks, method choice, signs, the
// independent residual check, and the row-major output.
#include "eigs_lanczos.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

using namespace tf;
using namespace tf::eig;

// The first `rows` rows of a column-major matrix with k columns (leading dimension ld) to `rows`
// rows of the row-major output, in 64 x 64 tiles that stay in cache; row tiles are shared among
// `threads`.
static void copy_rows(const double *c, int64_t ld, int64_t k, int64_t rows, double *out, int threads) {
    const int64_t T = 64;
    par::for_each((rows + T - 1) / T, threads, [&](int64_t t) {
        const int64_t i0 = t * T, i1 = std::min(rows, i0 + T);
        for (int64_t j0 = 0; j0 < k; j0 += T)
            for (int64_t j = j0; j < std::min(k, j0 + T); ++j)
                for (int64_t i = i0; i < i1; ++i) out[i * k + j] = c[j * ld + i];
    });
}

// Rows in blocks of 4096 for the staged output (a malloc'ed block of 64 MB or more, which glibc
// maps on its own); after each block the pages of every column that hold only rows already copied
// go back to the system (release_pages), so the result is not held twice: the output becomes
// resident as the buffer is released (k pages of column edges and one block at most are held in
// both). The buffer's contents are gone afterwards.
static void to_row_major_releasing(double *c, int64_t n, int64_t k, double *out, int threads) {
    const int64_t R = 4096;
    std::vector<uintptr_t> done(static_cast<size_t>(k)); // per column: released up to here
    for (int64_t j = 0; j < k; ++j) done[size_t(j)] = reinterpret_cast<uintptr_t>(c + j * n);
    for (int64_t r0 = 0; r0 < n; r0 += R) {
        const int64_t r1 = std::min(n, r0 + R);
        copy_rows(c + r0, n, k, r1 - r0, out + r0 * k, threads);
        for (int64_t j = 0; j < k; ++j)
            done[size_t(j)] = release_pages(done[size_t(j)], reinterpret_cast<uintptr_t>(c + j * n + r1));
    }
}

// The result's columns while the slicing runs, when they are not written straight into the
// row-major output (which the first slice would make wholly resident). Either spilled to an
// unlinked temporary file in $TMPDIR (default /tmp), so that the finished slices' vectors leave
// the process's memory (the page cache keeps them while memory is free, the disk when it is not)
// and the solver's working set is the peak; or, when no file can be made or a write fails, held in
// a column-major buffer (malloc'ed, resident only as far as it is filled; a failed write moves the
// columns written so far there and the run goes on). Either way the result becomes row-major once
// the solver's memory is released.
class ResultColumns final : public ColumnSink {
  public:
    ResultColumns(int64_t n, int64_t k, bool spill) : n_(n), k_(k) {
        // Test hook (a test runs the CLI with it): the write of this column fails as if the disk
        // were full.
        if (const char *e = std::getenv("TF_SPILL_FAIL_AT")) {
            char *end = nullptr;
            const long long j = std::strtoll(e, &end, 10);
            if (end != e && *end == '\0' && j >= 0 && j < k) fail_at_ = j; // otherwise ignored
        }
        if (spill) open_spill();
    }
    ~ResultColumns() override {
        if (fd_ >= 0) ::close(fd_);
        std::free(mem_);
    }
    ResultColumns(const ResultColumns &) = delete;
    ResultColumns &operator=(const ResultColumns &) = delete;

    bool spilled() const { return fd_ >= 0; }
    const std::string &spill_note() const { return note_; }

    void put(int64_t j, const double *x) override {
        if (j < 0 || j >= k_) throw Error(TF_ERR_INTERNAL, "result column " + std::to_string(j) + " out of range");
        if (fd_ >= 0) {
            if (j != fail_at_ && write_column(j, x)) {
                filled_ = std::max(filled_, j + 1);
                return;
            }
            note_ = "a write to the spill file in " + dir_ + " failed (" +
                    (j == fail_at_ ? std::string("test hook") : std::string(std::strerror(errno))) +
                    "); the result is held in memory";
            to_memory();
        }
        if (!mem_) to_memory();
        std::memcpy(mem_ + j * n_, x, sizeof(double) * size_t(n_));
        filled_ = std::max(filled_, j + 1);
    }

    // Writes the result row-major to `out` (n x k); the columns are consumed.
    void to_row_major(double *out, int threads) {
        if (filled_ != k_) throw Error(TF_ERR_INTERNAL, "only " + std::to_string(filled_) + " result columns were written");
        if (fd_ < 0) {
            to_row_major_releasing(mem_, n_, k_, out, threads);
            return;
        }
        // Blocks of R rows: one read per column into a 16 MB buffer, then transposed.
        const int64_t R = std::max<int64_t>(64, std::min<int64_t>(n_, (int64_t(16) << 20) / 8 / k_));
        std::vector<double> buf(size_t(R * k_));
        for (int64_t r0 = 0; r0 < n_; r0 += R) {
            const int64_t rows = std::min(n_, r0 + R) - r0;
            for (int64_t j = 0; j < k_; ++j) read_column(j, r0, rows, buf.data() + j * R);
            copy_rows(buf.data(), R, k_, rows, out + r0 * k_, threads);
        }
    }

  private:
    void open_spill() {
        const char *d = std::getenv("TMPDIR");
        dir_ = d && *d ? d : "/tmp";
        std::string path = dir_ + "/texfield-eigenvectors-XXXXXX";
        std::vector<char> name(path.begin(), path.end());
        name.push_back('\0');
        const int fd = ::mkstemp(name.data());
        if (fd < 0) {
            note_ = "no spill file in " + dir_ + " (" + std::strerror(errno) + "); the result is held in memory";
            return;
        }
        ::unlink(name.data());
        fd_ = fd;
    }
    bool write_column(int64_t j, const double *x) {
        const char *p = reinterpret_cast<const char *>(x);
        size_t left = sizeof(double) * size_t(n_);
        off_t at = off_t(j) * off_t(n_) * off_t(sizeof(double));
        while (left > 0) {
            const ssize_t w = ::pwrite(fd_, p, left, at);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return false;
            p += w, left -= size_t(w), at += w;
        }
        return true;
    }
    void read_column(int64_t j, int64_t r0, int64_t rows, double *x) {
        char *p = reinterpret_cast<char *>(x);
        size_t left = sizeof(double) * size_t(rows);
        off_t at = (off_t(j) * off_t(n_) + off_t(r0)) * off_t(sizeof(double));
        while (left > 0) {
            const ssize_t r = ::pread(fd_, p, left, at);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0)
                throw Error(TF_ERR_INTERNAL, "reading the eigenvectors back from the spill file in " + dir_ + " failed: " +
                                                 (r == 0 ? std::string("file too short") : std::string(std::strerror(errno))));
            p += r, left -= size_t(r), at += r;
        }
    }
    // The column-major buffer, made when the first column goes to memory (not for a sink the
    // caller drops because no spill file could be made); the spilled columns move there.
    void to_memory() {
        mem_ = static_cast<double *>(std::malloc(sizeof(double) * size_t(n_) * size_t(k_)));
        if (!mem_) throw std::bad_alloc();
        if (fd_ < 0) return;
        for (int64_t j = 0; j < filled_; ++j) read_column(j, 0, n_, mem_ + j * n_);
        ::close(fd_);
        fd_ = -1;
    }

    int64_t n_, k_;
    int64_t filled_ = 0; // columns [0, filled_) written (the slicing fills them in order)
    int fd_ = -1;
    double *mem_ = nullptr;
    std::string dir_, note_;
    int64_t fail_at_ = -1;
};

extern "C" tf_status tf_eigs(const tf_operators *ops, const tf_eigs_options *o, double *values,
                             double *vectors, double *residuals_out, tf_eigs_stats *stats, char *err,
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
        // Block size 8: the fewest solves and the smallest Krylov bases. Measured 2026-12-01 on
        // 41k vertices at k = 64 / 256 / 1023 / 4096 (and 100k, 187k at k = 64 / 256), 8 beat 16
        // by 10-20% everywhere and 4, 6, 12, 24, 32 were slower (BENCHMARKS.md).
        S.b = int(o->block > 0 ? o->block : 8);
        S.threads = o->threads > 0 ? o->threads : 2;
        S.seed = o->seed;
        S.cancel = Cancel{o->progress, o->progress_context};
        // Eigenpairs per slice. 100 while k is within three bands (41k sphere, k = 256: 3.0-3.2 s
        // against 3.4-3.8 s at 60 or 70). Beyond, a slice's orthogonalisation grows with its band
        // and the factorisations with the number of slices; a factorisation costs relatively more
        // on larger meshes (about n^1.5 flops against n per Krylov column), so the band grows as
        // n^(1/4) from 60 at 41k vertices up to 100 (41k, k = 1023: band 60 13.5-15.9 s against
        // 15.8-17.8 s at 100; 187k: 91.9 s at 60, 88.7 s at 100; BENCHMARKS.md).
        S.band = o->band > 0 ? o->band
                 : k <= 300  ? 100
                             : int64_t(std::lround(std::min(100.0, std::max(60.0, 60.0 * std::pow(double(n) / 40962.0, 0.25)))));
        int method = o->method;
        if (method == 0) {
            // Dense for small meshes, and for any k slicing cannot reach (3k > n) while dense
            // fits in memory.
            bool small = n <= 2000 || (n <= 6000 && 4 * k >= n) || (3 * k > n && n <= 20000);
            method = small ? 1 : 2;
        }
        if (method == 2 && 3 * k > n)
            throw Error(TF_ERR_INVALID,
                        "k = " + std::to_string(k) + " is too large for spectrum slicing on " + std::to_string(n) +
                            " vertices (at most n/3 = " + std::to_string(n / 3) + ")" +
                            (n <= 20000 ? "; the dense method computes any k <= n"
                                        : "; the dense method is limited to 20000 vertices"));
        Vec lam;
        if (method == 1) {
            if (n > 20000)
                throw Error(TF_ERR_INVALID, "the dense method is limited to 20000 vertices");
            Mat Phi;
            solve_dense(*ops, k, lam, Phi);
            copy_rows(Phi.data(), n, k, n, vectors, 1);
        } else {
            // The slicing's dense products run on its own threads (par_dense.hpp): OpenBLAS on one.
            // Its slices' vectors leave as each slice is accepted. Written straight into the
            // row-major output they would make it wholly resident from the first slice on, beside
            // the later slices' Krylov bases and factorisations; so a result of 64 MB or more is
            // spilled to a temporary file (ResultColumns) and made row-major once the solver's
            // memory is released. Without a spill file: a column-major buffer, resident only as
            // far as it is filled, for k within three bands (its transposition holds the result
            // twice, worth it while the result is smaller than the solver's working set), else
            // the row-major output directly.
            par::SingleThreadedBLAS single;
            const bool large = double(n) * double(k) * sizeof(double) >= 64.0 * (1 << 20);
            bool spill = large, staged = large && k <= 3 * S.band;
            // Test hooks (tests run the CLI with them): TF_SPILL=1 / 0 and TF_STAGED_OUTPUT=1 / 0
            // force either way (a spill falls back to memory when it cannot be made).
            if (const char *e = std::getenv("TF_SPILL")) spill = std::strcmp(e, "1") == 0;
            if (const char *e = std::getenv("TF_STAGED_OUTPUT")) staged = std::strcmp(e, "1") == 0;
            std::unique_ptr<ResultColumns> cols;
            if (spill || staged) {
                cols.reset(new ResultColumns(n, k, spill));
                if (!cols->spilled() && !staged) { // no spill file: straight into the output
                    if (debug_level() >= 1) std::fprintf(stderr, "  %s\n", cols->spill_note().c_str());
                    cols.reset();
                }
            }
            if (cols) {
                solve_sliced(*ops, S, lam, nullptr, st, cols.get());
                const double tt = now_seconds();
                const bool spilled = cols->spilled();
                if (debug_level() >= 1 && !cols->spill_note().empty())
                    std::fprintf(stderr, "  %s\n", cols->spill_note().c_str());
                cols->to_row_major(vectors, S.threads);
                cols.reset();
                if (debug_level() >= 1)
                    std::fprintf(stderr, "  %s output made row-major in %.3f s\n", spilled ? "spilled" : "staged",
                                 now_seconds() - tt);
            } else {
                solve_sliced(*ops, S, lam, vectors, st);
            }
        }
        st.method = method;
        fix_signs(vectors, n, k);
        Vec res;
        double tc = now_seconds();
        {
            par::SingleThreadedBLAS single;
            residuals(*ops, vectors, k, 1, k, lam, res, S.threads);
            st.orthonormality_error = orthonormality_error(*ops, vectors, k, S.threads);
        }
        st.seconds_check = now_seconds() - tc;
        st.max_residual = res.size() ? res.maxCoeff() : 0;
        for (int64_t j = 0; j < k; ++j) values[j] = lam[j];
        if (residuals_out)
            for (int64_t j = 0; j < k; ++j) residuals_out[j] = res[j];
        S.cancel.report(1.0);
        st.seconds_total = now_seconds() - t0;
        if (stats) *stats = st;
    });
}

extern "C" tf_status tf_eigs_check(const tf_operators *ops, int64_t k, const double *values,
                                   const double *vectors, double *residuals, double *ortho,
                                   char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        Vec lam = Eigen::Map<const Vec>(values, k), res;
        par::SingleThreadedBLAS single;
        eig::residuals(*ops, vectors, k, 1, k, lam, res, 2);
        double o = orthonormality_error(*ops, vectors, k, 2);
        for (int64_t j = 0; j < k; ++j) residuals[j] = res[j];
        if (ortho) *ortho = o;
    });
}

extern "C" tf_status tf_selftest_solve_pace(double split_cost, double serial_cost, int calls,
                                            int *serial_choices, char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        if (calls < 0 || calls > 1000000) throw Error(TF_ERR_INVALID, "calls out of range: " + std::to_string(calls));
        if (!(std::isfinite(split_cost) && std::isfinite(serial_cost) && split_cost > 0 && serial_cost > 0))
            throw Error(TF_ERR_INVALID, "solve costs must be finite and positive");
        SolvePace pace;
        int serial = 0;
        for (int i = 0; i < calls; ++i) {
            const bool s = pace.choose_serial(8);
            serial += s;
            pace.record(8, s, s ? serial_cost : split_cost);
        }
        *serial_choices = serial;
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
        // Every split of the columns across threads (and one thread) gives the same bits; the
        // second and third solves on 2 threads take the other paths of the solve pace (one
        // thread, then whichever measured faster).
        for (int threads : {1, 3, 2, 2}) {
            Mat X1(n, nrhs);
            F.solve(B.data(), X1.data(), nrhs, threads);
            if (std::memcmp(X1.data(), X.data(), sizeof(double) * size_t(X.size())) != 0)
                throw Error(TF_ERR_INTERNAL, "the block solve on " + std::to_string(threads) +
                                                 " threads differs from the first one on 2");
        }
        // The kernel without vector instructions (no AVX2) has the same bits.
        {
            Mat X1(n, nrhs);
            F.solve(B.data(), X1.data(), nrhs, 1, true);
            if (std::memcmp(X1.data(), X.data(), sizeof(double) * size_t(X.size())) != 0)
                throw Error(TF_ERR_INTERNAL, "the block solve without vector instructions differs");
        }
        ReferenceLDLT R;
        if (!R.factorize(shifted.at(sigma))) throw Error(TF_ERR_NUMERIC, "reference factorisation failed");
        R.solve(B.data(), Xr.data(), nrhs);
        if (R.negative_pivots() != F.negative_pivots())
            throw Error(TF_ERR_INTERNAL, "inertia differs from the reference: " + std::to_string(F.negative_pivots()) +
                                             " negative pivots against " + std::to_string(R.negative_pivots()));
        *max_relative_difference = (X - Xr).cwiseAbs().maxCoeff() / Xr.cwiseAbs().maxCoeff();
        *negative_pivots = F.negative_pivots();
    });
}

extern "C" tf_status tf_selftest_projection(int64_t n, int m, uint64_t seed, double *tn_difference,
                                            double *nn_difference, double *trsm_difference, int *kernels_used,
                                            char *err, size_t errlen) {
    return guarded(err, errlen, [&] {
        if (n < 1 || n > 2000000 || m < 1 || m > 4096 || n * int64_t(m) > 100000000)
            throw Error(TF_ERR_INVALID, "projection self-test size out of range: n = " + std::to_string(n) +
                                            ", m = " + std::to_string(m));
        par::SingleThreadedBLAS single;
        SplitMix rng{seed};
        Mat Q(n, m), B(n, 8), W0(n, 8);
        for (int64_t i = 0; i < Q.size(); ++i) Q.data()[i] = rng.uniform() - 0.5;
        for (int64_t i = 0; i < B.size(); ++i) B.data()[i] = rng.uniform() - 0.5;
        for (int64_t i = 0; i < W0.size(); ++i) W0.data()[i] = rng.uniform() - 0.5;
        Mat Cr(m, 8), C(m, 8), C1(m, 8);
        par::gemm_tn(2, n, m, 8, Q.data(), n, B.data(), n, Cr.data(), m, 0);
        par::gemm_tn(2, n, m, 8, Q.data(), n, B.data(), n, C.data(), m, 1);
        Mat Wr = W0, W = W0;
        par::gemm_nn(2, n, 8, m, -1.0, Q.data(), n, Cr.data(), m, 1.0, Wr.data(), n, 0);
        par::gemm_nn(2, n, 8, m, -1.0, Q.data(), n, Cr.data(), m, 1.0, W.data(), n, 1);
        for (int threads : {1, 3}) {
            Mat W1 = W0;
            par::gemm_tn(threads, n, m, 8, Q.data(), n, B.data(), n, C1.data(), m, 1);
            par::gemm_nn(threads, n, 8, m, -1.0, Q.data(), n, Cr.data(), m, 1.0, W1.data(), n, 1);
            if (std::memcmp(C1.data(), C.data(), sizeof(double) * size_t(C.size())) != 0 ||
                std::memcmp(W1.data(), W.data(), sizeof(double) * size_t(W.size())) != 0)
                throw Error(TF_ERR_INTERNAL, "the projection on " + std::to_string(threads) +
                                                 " threads differs from the one on 2");
        }
        // W U^{-1} for U the Cholesky factor of a well-conditioned 8 x 8 Gram matrix.
        Mat G = B.topRows(std::min<int64_t>(n, 64)).transpose() * B.topRows(std::min<int64_t>(n, 64));
        G += 8.0 * Mat::Identity(8, 8);
        Mat U = Eigen::LLT<Mat>(G).matrixU();
        Mat Tr = W0, T = W0;
        par::trsm_right_upper(2, n, 8, U.data(), 8, Tr.data(), n, 0);
        par::trsm_right_upper(2, n, 8, U.data(), 8, T.data(), n, 1);
        for (int threads : {1, 3}) {
            Mat T1 = W0;
            par::trsm_right_upper(threads, n, 8, U.data(), 8, T1.data(), n, 1);
            if (std::memcmp(T1.data(), T.data(), sizeof(double) * size_t(T.size())) != 0)
                throw Error(TF_ERR_INTERNAL, "the triangular solve on " + std::to_string(threads) +
                                                 " threads differs from the one on 2");
        }
        *trsm_difference = (T - Tr).cwiseAbs().maxCoeff() / Tr.cwiseAbs().maxCoeff();
        *tn_difference = (C - Cr).cwiseAbs().maxCoeff() / Cr.cwiseAbs().maxCoeff();
        *nn_difference = (W - Wr).cwiseAbs().maxCoeff() / Wr.cwiseAbs().maxCoeff();
        *kernels_used = par::projection_kernels_available() ? 1 : 0;
    });
}
