// The eigensolver's C API (texfield_shim.h): argument checks, method choice, signs, the
// independent residual check, and the row-major output.
#include "eigs_lanczos.hpp"

#include <cmath>

using namespace tf;
using namespace tf::eig;

// Rows [r0, r1) of a column-major n x k matrix (leading dimension n) to the row-major output, in
// 64 x 64 tiles that stay in cache; row tiles are shared among `threads`.
static void copy_rows(const double *c, int64_t n, int64_t k, int64_t r0, int64_t r1, double *out, int threads) {
    const int64_t T = 64;
    par::for_each((r1 - r0 + T - 1) / T, threads, [&](int64_t t) {
        const int64_t i0 = r0 + t * T, i1 = std::min(r1, i0 + T);
        for (int64_t j0 = 0; j0 < k; j0 += T)
            for (int64_t j = j0; j < std::min(k, j0 + T); ++j)
                for (int64_t i = i0; i < i1; ++i) out[i * k + j] = c[j * n + i];
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
        copy_rows(c, n, k, r0, r1, out, threads);
        for (int64_t j = 0; j < k; ++j)
            done[size_t(j)] = release_pages(done[size_t(j)], reinterpret_cast<uintptr_t>(c + j * n + r1));
    }
}

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
        S.band = o->band > 0 ? o->band : 100;
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
            copy_rows(Phi.data(), n, k, 0, n, vectors, 1);
        } else {
            // The slicing's dense products run on its own threads (par_dense.hpp): OpenBLAS on one.
            // Its slices' vectors go to the output as each slice is accepted. A row-major output
            // is wholly touched (resident) by the first slice, while the Krylov bases and
            // factorisations of the later slices are alive; for k <= 3 bands and a result of
            // 64 MB or more the slices fill a column-major buffer instead, resident only as far as
            // it is filled, transposed into the output once the solver's memory is released
            // (that moment holds the result twice: worth it while the result is smaller than the
            // solver's working set, i.e. k within about three bands).
            par::SingleThreadedBLAS single;
            bool staged = k <= 3 * S.band && double(n) * double(k) * sizeof(double) >= 64.0 * (1 << 20);
            // Test hook (tests run the CLI with it): TF_STAGED_OUTPUT=1 / 0 forces either way.
            if (const char *e = std::getenv("TF_STAGED_OUTPUT")) staged = std::strcmp(e, "1") == 0;
            if (staged) {
                std::unique_ptr<double, decltype(&std::free)> cm(
                    static_cast<double *>(std::malloc(sizeof(double) * size_t(n) * size_t(k))), &std::free);
                if (!cm) throw std::bad_alloc();
                solve_sliced(*ops, S, lam, cm.get(), st, true);
                const double tt = now_seconds();
                to_row_major_releasing(cm.get(), n, k, vectors, S.threads);
                if (debug_level() >= 1) std::fprintf(stderr, "  staged output transposed in %.3f s\n", now_seconds() - tt);
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
