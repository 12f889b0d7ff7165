// The k smallest eigenpairs of L phi = lambda M phi.
//
// Two methods:
//  - dense: M^{-1/2} L M^{-1/2} (or the Cholesky form for a full M) through LAPACK dsyevr;
//    used for small meshes, where it is both exact and fastest.
//  - spectrum slicing: shifts sigma_0 < sigma_1 < ... placed by Weyl's law and then by the
//    measured eigenvalue density; at each shift an LDL^T factorisation of L - sigma M gives
//    the exact number of eigenvalues below sigma (Sylvester's inertia), and a block Lanczos
//    process on (L - sigma M)^{-1} M with full re-orthogonalisation (BLAS-3) converges the
//    eigenpairs around sigma. Slice j owns [hi_{j-1}, hi_j) with hi_j the midpoint between
//    consecutive shifts; the count of every gap between shifts is checked against the inertia,
//    so no eigenvalue can be skipped silently. A gap whose count does not match is re-covered
//    whole by the next slice ("repair").
// Every accepted eigenpair has its true residual checked against the tolerance.
#include "eigs_lanczos.hpp"

#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tf {
namespace eig {

// Tuning constants of the slicing driver. They change speed, never correctness: every count is
// checked against the inertia and every residual against the tolerance.
namespace tuning {
// Eigenvalues a slice aims for beyond those it must find: max(8, remaining / 16).
constexpr int64_t kMarginFloor = 8, kMarginDivisor = 16;
// Shift placement accepts a gap holding between 0.7 and 1.5 × target + 8 eigenvalues; each
// retry moves the shift by the ratio target / found, kept within [0.25, 4]; three tries at most.
constexpr double kGapLow = 0.7, kGapHigh = 1.5, kGapSlack = 8, kRatioMin = 0.25, kRatioMax = 4.0;
constexpr int kPlacementTries = 3;
// The last slice takes all remaining pairs when they fit in 5/4 of a band.
constexpr int64_t kLastBandNumerator = 5, kLastBandDenominator = 4;
// The first shift sits at 0.5 of Weyl's span / ρ (span: k for one slice, else a band), unless
// that finds more than 0.65 span eigenvalues below it; else at −0.01 / ρ, just below zero.
constexpr double kFirstShift = -0.01, kOneSliceShift = 0.5, kOneSliceMaxBelow = 0.65;
// Krylov dimensions relative to the expected count e and the block size b: the basis's first
// capacity (2e + 4b; it then grows by a quarter, by mremap, without a copy), the first Ritz check (1.3e + 2b), the soft cap (3e + 6b + 40, grown by 3/2 up to)
// the hard cap (12e + 20b + 200).
constexpr double kStartPerExpected = 2, kCheckPerExpected = 1.3;
constexpr int64_t kStartPerBlock = 4, kCheckPerBlock = 2;
constexpr int64_t kSoftPerExpected = 3, kSoftPerBlock = 6, kSoftExtra = 40;
constexpr int64_t kHardPerExpected = 12, kHardPerBlock = 20, kHardExtra = 200;
// The verification shift above a slice that takes all pairs from below may sit under the first
// unconverged Ritz value once that value's relative residual estimate is this small.
constexpr double kProbeLooseRel = 1e-2;
// Unconverged Ritz values this far above the slice's top (× its width) keep the upper side open.
constexpr double kGuardZone = 0.15;
// The refinement subspace reaches this far beyond the slice's edges (× the larger half-width).
constexpr double kRefineReach = 1.15;
// Inverse-iteration rounds of the refinement before the Lanczos tolerance is tightened.
constexpr int kMaxExtractRounds = 3;
// Residuals within this factor of the tolerance are accepted on the rounding floor of a shift.
constexpr double kToleranceFloorFactor = 100;
// Ritz checks with missing eigenvalues below the shift and nothing converging before a repair.
constexpr int kStalledChecksBeforeRepair = 3;
// Checks a deferred verification shift waits for the pair past the k-th once the k-th has converged.
constexpr int kProbeWaitChecks = 3;
// Each check adds max(b, dim / 10) Krylov columns.
constexpr int kGrowthDivisor = 10;
// Thick restart: the basis is capped at kRestartPerExpected · e +
// kRestartPerBlock · b columns and restarts from the kKeepPerExpected · e + kKeepPerBlock · b Ritz
// vectors nearest the shift; a slice gives up after kRestartHardFactor × the hard cap columns.
constexpr double kRestartPerExpected = 2.5, kKeepPerExpected = 1.5;
constexpr int64_t kRestartPerBlock = 4, kKeepPerBlock = 1;
constexpr int64_t kRestartHardFactor = 4;
// The next slice's factor is freed after its inertia is read, and made again when it solves, when
// a factor's values take this many bytes or more (spot subdivided 3 times: 85 MB).
constexpr int64_t kDropFactorBytes = int64_t(64) << 20;
} // namespace tuning

struct SliceOutput {
    std::vector<double> lambda;
    std::vector<char> above;
    Mat vectors;
};

int64_t round_up(int64_t x, int64_t b) { return (x + b - 1) / b * b; }

// The state of one run of spectrum slicing. Slice j owns [lo, hi): lo is the previous slice's
// top (−∞ for the first), hi the midpoint between its shift and the next one's.
class SlicingDriver {
  public:
    SlicingDriver(const tf_operators &ops, const Settings &S, tf_eigs_stats &st, ColumnSink *sink)
        : ops_(ops), S_(S), st_(st), shifted_(ops), rho_(ops.area / (4 * M_PI)),
          sink_(sink) {
        // TF_RESTART=0 turns the thick restart off (for benchmarks against the plain Lanczos).
        if (const char *e = std::getenv("TF_RESTART")) restart_ = std::strcmp(e, "0") != 0;
        // Test hook (a test runs the CLI with it): the first slice with pairs above its
        // unverified upper side loses its largest one, as if it had missed it; the next slice
        // must then notice the count and repair.
        if (const char *e = std::getenv("TF_TEST_DROP_ABOVE")) drop_above_ = std::strcmp(e, "1") == 0;
        // TF_DROP_FACTOR=1/0 frees the next slice's factor while the current one runs at any size /
        // never (a test compares both ways; the default decides by the factor's size).
        if (const char *e = std::getenv("TF_DROP_FACTOR"))
            drop_factor_bytes_ = std::strcmp(e, "1") == 0 ? 0 : std::numeric_limits<int64_t>::max();
        // TF_COMPACT=0 extracts a slice's pairs from the whole Krylov basis (for comparison).
        if (const char *e = std::getenv("TF_COMPACT")) compact_ = std::strcmp(e, "0") != 0;
        // TF_INSIDE_SHIFT=0 puts a one-slice run's shift just below zero (for comparison, and for
        // the tests of that path).
        if (const char *e = std::getenv("TF_INSIDE_SHIFT")) inside_shift_ = std::strcmp(e, "0") != 0;
        if (const char *e = std::getenv("TF_INSIDE_FIRST")) inside_first_ = std::strcmp(e, "0") != 0;
        if (const char *e = std::getenv("TF_INSIDE_LAST")) last_inside_ = std::strcmp(e, "0") != 0;
    }

    void run(Vec &lam, double *out);

  private:
    // What one slice must deliver.
    struct Job {
        int j;                       // slice number
        bool last;                   // no slice after this one
        int64_t G;                   // eigenvalues in the gap below this shift (inertia difference)
        double hi;                   // top of the slice
        int64_t need;                // eigenvalues still missing in [lo, sigma)
        int64_t need_above = -1;     // exact count in [sigma, hi), known only before a verification probe
        int64_t expected_above = 0;  // estimate of the count in [sigma, hi)
        bool repair = false;         // this slice re-covers the whole gap below its shift
        bool defer_probe = false;    // few eigenpairs: the verification shift is placed once they converge
    };

    int64_t margin(int64_t r) const { return std::max<int64_t>(tuning::kMarginFloor, r / tuning::kMarginDivisor); }
    std::unique_ptr<Slice> place(double sprev, int64_t nuprev, int64_t target);
    void enter_repair(Job &job, const Slice &cur);
    SliceOutput solve_slice(Slice &cur, Job &job);
    bool place_probe(Slice &cur, const Slice::Ritz &r, double tol, Job &job, int &waited);
    void flush(SliceOutput &o);

    const tf_operators &ops_;
    const Settings &S_;
    tf_eigs_stats &st_;
    ShiftedMatrix shifted_;
    double rho_;                    // eigenvalue density (Weyl: N(λ) ≈ area · λ / 4π, then measured)
    // The last accepted slice's pairs above its shift: how many, and how many of them were
    // written (they are the output's last columns), for a repair to take back.
    int64_t last_above_ = 0, last_above_written_ = 0;
    double *out_ = nullptr;         // the n x k row-major output, unless a sink takes the columns
    ColumnSink *sink_ = nullptr;
    Vec lam_;                       // the output's eigenvalues
    int64_t written_ = 0;           // columns of the output filled
    double top_ = -INFINITY;        // the largest eigenvalue written
    int64_t found_total_ = 0;
    double lo_ = -INFINITY, sprev_ = 0;
    int64_t nuprev_ = 0, prev_above_ = 0;
    uint64_t seed_ = 0;
    bool restart_ = true;
    bool drop_above_ = false;
    int64_t drop_factor_bytes_ = tuning::kDropFactorBytes; // factors this large are freed ahead
    bool compact_ = true;
    bool inside_shift_ = true, inside_first_ = true, last_inside_ = true;
};

// Places a shift so that the gap above the previous shift holds about `target` eigenvalues.
std::unique_ptr<Slice> SlicingDriver::place(double sprev, int64_t nuprev, int64_t target) {
    double s = sprev + double(target) / rho_;
    std::unique_ptr<Slice> sl;
    for (int attempt = 0; attempt < tuning::kPlacementTries; ++attempt) {
        sl.reset(new Slice(ops_, shifted_, s, S_, st_));
        int64_t g = sl->nu - nuprev;
        if (g >= target * tuning::kGapLow && g <= target * tuning::kGapHigh + tuning::kGapSlack) break;
        double ratio = double(target) / std::max<int64_t>(g, 1);
        ratio = std::min(tuning::kRatioMax, std::max(tuning::kRatioMin, ratio));
        if (g > 0) rho_ = g / (sl->sigma - sprev);
        s = sprev + (sl->sigma - sprev) * ratio;
    }
    st_.slices++;
    return sl;
}

// The previous slice mis-counted its upper side: drop what it found above its shift, and let
// this slice re-cover the whole gap below its own shift.
void SlicingDriver::enter_repair(Job &job, const Slice &cur) {
    if (job.j == 0 || job.repair)
        throw Error(TF_ERR_NOCONV, "eigenvalue count below shift " + std::to_string(cur.sigma) +
                                       " does not match the inertia");
    job.repair = true;
    st_.repairs++;
    lo_ = sprev_;
    job.need = job.G;
    // Its pairs above its shift are the largest it wrote, so the output's last columns.
    found_total_ -= last_above_;
    written_ -= last_above_written_;
    top_ = written_ > 0 ? lam_[written_ - 1] : -INFINITY;
    last_above_ = last_above_written_ = 0;
}

// The deferred verification shift of a slice that takes all k pairs from below: once the k
// lowest Ritz values have converged, and the next one either has too or is already known to within
// kProbeLooseRel, a shift p is put in the widest gap among the k-th to (k + margin)-th values, and
// its inertia gives the exact count below p. A converged value bounds the gap as it is; the first
// unconverged one by the nearest an eigenvalue of its estimate can lie (its relative residual rel
// in the shift-invert problem puts an eigenvalue within (lambda - sigma) / (1 + rel) of sigma, and
// Ritz values of the shift-invert operator lie above the eigenvalues they approximate). So the
// (k + 1)-th need not converge before the count is known. A count larger than the converged values
// below p means pairs still to converge; the slice then goes on against [sigma, p) as any verified
// slice. Returns false while too few have converged.
bool SlicingDriver::place_probe(Slice &cur, const Slice::Ritz &r, double tol, Job &job, int &waited) {
    const int64_t want = S_.k - found_total_;
    struct Value {
        double lambda, rel;
        bool operator<(const Value &o) const { return lambda < o.lambda; }
    };
    std::vector<Value> v;
    for (int i = 0; i < cur.dim(); ++i)
        if (r.lambda[i] >= lo_) v.push_back({r.lambda[i], r.rel[i]});
    std::stable_sort(v.begin(), v.end());
    int64_t m = 0;
    while (m < int64_t(v.size()) && v[m].rel <= tol) ++m;
    S_.cancel.report(double(found_total_ + std::min(m, want)) / double(S_.k));
    // lower[i]: the lowest the eigenvalue behind v[i] can be, for the values that may bound a gap.
    std::vector<double> lower;
    for (int64_t i = 0; i < m; ++i) lower.push_back(v[i].lambda);
    if (m < int64_t(v.size()) && v[m].rel <= tuning::kProbeLooseRel && v[m].lambda > cur.sigma)
        lower.push_back(cur.sigma + (v[m].lambda - cur.sigma) / (1.0 + v[m].rel));
    // The k-th has converged but the next value not, for kProbeWaitChecks checks: it lies across
    // a wide gap (the top of a cluster of eigenvalues, e.g. a sphere's l(l+1) groups), and the
    // Krylov space keeps converging the cluster's other side first. The next value is then put
    // half the mean spacing above the k-th, so the verification shift goes a quarter of it above
    // the k-th: its inertia counts whatever lies below it, and the slice converges any pair it
    // did not know of there, as a verified slice.
    if (m >= want && int64_t(lower.size()) == want && ++waited >= tuning::kProbeWaitChecks)
        lower.push_back(v[size_t(want - 1)].lambda + 0.5 / rho_);
    const int64_t usable = int64_t(lower.size());
    if (usable < want + 1) return false;
    auto gap = [&](int64_t i) { return lower[i] - v[i - 1].lambda; };
    int64_t best = want;
    const int64_t top = std::min<int64_t>(usable - 1, want + margin(want));
    for (int64_t i = want; i <= top; ++i)
        if (gap(i) > gap(best)) best = i;
    // A gap of rounding size (inside a multiple eigenvalue, e.g. the zeros of a mesh with more
    // components than k) would put the shift on an eigenvalue: L - p M singular, its inertia
    // ambiguous. Such a gap is passed over for the widest among all usable values above the
    // k-th, and without one the Krylov space grows.
    const double kMinGap = 1e-6 / rho_;
    if (gap(best) <= kMinGap) {
        for (int64_t i = top + 1; i < usable; ++i)
            if (gap(i) > gap(best)) best = i;
        if (gap(best) <= kMinGap) return false;
    }
    const double p = 0.5 * (v[best - 1].lambda + lower[best]);
    std::unique_ptr<Slice> probe(new Slice(ops_, shifted_, p, S_, st_));
    st_.slices++;
    job.hi = probe->sigma;
    job.need_above = probe->nu - cur.nu;
    job.expected_above = job.need_above;
    job.defer_probe = false;
    if (debug_level() >= 1)
        std::fprintf(stderr, "  verification shift %g between Ritz values %lld and %lld: %lld below\n", job.hi,
                     (long long)best, (long long)best + 1, (long long)job.need_above);
    return true;
}

// Grows the Krylov space of `cur` until every eigenpair of [lo, hi) has converged and passed
// its residual check; returns them.
SliceOutput SlicingDriver::solve_slice(Slice &cur, Job &job) {
    using namespace tuning;
    const int64_t n = ops_.n, b = S_.b, k = S_.k;
    const bool last = job.last;
    double hi = job.hi;
    int64_t need_above = job.need_above;
    // The factorisation's and the previous slice's freed blocks go back to the system before the
    // Krylov basis grows (glibc keeps freed blocks below its mmap threshold, which rises to 32 MB,
    // in the heap; 187k vertices, k = 256: peak RSS 788,512 -> 744,912 KB).
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    const int64_t cap = std::max<int64_t>(b, (n - 2 * b) / b * b);
    int64_t expected = job.need + job.expected_above;
    int64_t dtarget = std::min(cap, round_up(int64_t(kCheckPerExpected * expected) + kCheckPerBlock * b, b));
    int64_t maxdim = std::min(cap, round_up(kSoftPerExpected * expected + kSoftPerBlock * b + kSoftExtra, b));
    const int64_t hardcap = std::min(cap, round_up(kHardPerExpected * expected + kHardPerBlock * b + kHardExtra, b));
    int stalled_checks = 0;
    int probe_waits = 0; // checks the deferred verification shift waited with the k-th converged
    int extract_rounds = 1;
    double tol_si = S_.tol;
    cur.start(seed_++, std::min(cap, round_up(int64_t(kStartPerExpected * expected) + kStartPerBlock * b, b)));
    int64_t last_ca = -1;
    SliceOutput out;
    // Thick restart: the basis never exceeds restart_dim columns (0: no restart).
    int64_t restart_dim = 0, keep_dim = 0;
    if (restart_) {
        // Sized by the eigenvalues as near the shift as the slice's farther edge (a one-sided
        // slice has as many on its other side, and Lanczos finds those as fast).
        const double w = std::max(std::isfinite(lo_) ? cur.sigma - lo_ : 0.0,
                                  std::isfinite(hi) ? std::max(hi, cur.sigma) - cur.sigma : 0.0);
        const double e = std::max(double(expected), std::min(double(n), 2 * w * rho_));
        restart_dim = std::min(cap, round_up(int64_t(kRestartPerExpected * e) + kRestartPerBlock * b, b));
        keep_dim = round_up(int64_t(kKeepPerExpected * e) + kKeepPerBlock * b, b);
        restart_dim = std::max(restart_dim, keep_dim + 4 * b);
        if (restart_dim >= cap) restart_dim = 0;
    }
    // Sets the next dimension to check at, dim + `extra`; with restarts, restarts first when that
    // would pass the limit, keeping the Ritz vectors nearest the shift (largest |theta|): at
    // least keep_dim, and at least up to the farthest one that lies in the slice or has converged
    // within the slice's reach (the refinement takes those). The limit is restart_dim, or 4
    // blocks above what a restart kept, so that every restart is followed by some steps.
    int64_t limit = restart_dim;
    auto advance = [&](const Slice::Ritz &r, int64_t extra) {
        if (cur.generated() > kRestartHardFactor * hardcap)
            throw Error(TF_ERR_NOCONV, "the eigensolver did not converge near shift " + std::to_string(cur.sigma) +
                                           " (" + std::to_string(cur.generated()) + " Krylov columns, restarted)");
        if (cur.dim() + extra > limit) {
            std::vector<int> order(cur.dim());
            for (int i = 0; i < cur.dim(); ++i) order[i] = i;
            std::stable_sort(order.begin(), order.end(),
                             [&](int x, int y) { return std::abs(r.theta[x]) > std::abs(r.theta[y]); });
            const double top = std::isfinite(hi) ? std::max(hi, cur.sigma) : cur.sigma;
            const double reach = kRefineReach * std::max(std::isfinite(lo_) ? cur.sigma - lo_ : 0.0, top - cur.sigma);
            int64_t m = keep_dim;
            for (int i = 0; i < cur.dim(); ++i) {
                const double l = r.lambda[order[i]];
                const bool inside = l >= lo_ && l < top;
                const bool near = r.rel[order[i]] <= tol_si && std::abs(l - cur.sigma) <= reach;
                if (inside || near) m = std::max<int64_t>(m, i + 1);
            }
            m = std::min<int64_t>(m, cur.dim() - b);
            order.resize(size_t(m));
            cur.restart(r, order);
            st_.restarts++;
            limit = std::max(restart_dim, cur.dim() + 4 * b);
        }
        dtarget = std::min(limit, cur.dim() + std::max<int64_t>(extra, b));
    };
    // The next Krylov dimension to check at: the soft cap grows by half up to the hard cap.
    auto grow = [&](const Slice::Ritz &r) {
        if (restart_dim > 0) {
            advance(r, std::max<int64_t>(b, round_up(cur.dim() / kGrowthDivisor, b)));
            return;
        }
        if (cur.dim() >= maxdim) {
            if (maxdim >= hardcap)
                throw Error(TF_ERR_NOCONV, "the eigensolver did not converge near shift " +
                                               std::to_string(cur.sigma) + " (Krylov dimension " +
                                               std::to_string(cur.dim()) + ")");
            maxdim = std::min(hardcap, maxdim * 3 / 2);
        }
        dtarget = std::min(maxdim, cur.dim() + std::max<int64_t>(b, round_up(cur.dim() / kGrowthDivisor, b)));
    };
    for (;;) {
        while (cur.dim() < dtarget) cur.step();
        Slice::Ritz r = cur.ritz();
        if (debug_level() >= 3) {
            int nc = 0;
            for (int i = 0; i < cur.dim(); ++i) nc += r.rel[i] <= tol_si;
            std::fprintf(stderr, "    check dim=%d generated=%lld converged=%d limit=%lld\n", cur.dim(),
                         (long long)cur.generated(), nc, (long long)limit);
        }
        if (job.defer_probe) {
            if (place_probe(cur, r, tol_si, job, probe_waits)) {
                hi = job.hi;
                need_above = job.need_above;
                last_ca = -1;
                continue; // classify this Ritz basis again against the verified top
            }
            grow(r);
            continue;
        }
        int64_t cb = 0, ub = 0, ca = 0, ua = 0;
        std::vector<int> sel;
        const double hi_guard = hi + kGuardZone * (hi - cur.sigma);
        for (int i = 0; i < cur.dim(); ++i) {
            double l = r.lambda[i];
            bool conv = r.rel[i] <= tol_si;
            if (l >= lo_ && l < cur.sigma) {
                conv ? ++cb : ++ub;
                if (conv) sel.push_back(i);
            } else if ((!last || need_above >= 0) && l >= cur.sigma && l < hi) {
                conv ? ++ca : ++ua;
                if (conv) sel.push_back(i);
            } else if (!last && need_above < 0 && l >= hi && l < hi_guard && !conv) {
                ++ua; // convergence must reach past hi before the upper side counts as complete
            }
        }
        S_.cancel.report(double(found_total_ + std::min(cb, job.need)) / double(k));
        if (debug_level() >= 1)
            std::fprintf(stderr, "  dim=%d cb=%lld ub=%lld ca=%lld ua=%lld\n", cur.dim(), (long long)cb,
                         (long long)ub, (long long)ca, (long long)ua);
        if (cb > job.need) {
            enter_repair(job, cur);
            continue;
        }
        bool below_ok = cb == job.need && ub == 0;
        bool above_ok = need_above >= 0 ? (ca == need_above && ua == 0)
                                        : (last || (ua == 0 && ca == last_ca));
        if (need_above >= 0 && ca > need_above)
            throw Error(TF_ERR_NOCONV, "more converged eigenpairs than the inertia allows below " +
                                           std::to_string(hi));
        last_ca = ca;
        if (below_ok && above_ok) {
            // The refinement subspace also holds the converged Ritz vectors just outside the
            // slice (as far from the shift as the slice's own edges, and the guard zone):
            // inverse iteration cannot separate those from the wanted ones, Rayleigh-Ritz can.
            const double reach = kRefineReach * std::max(std::isfinite(lo_) ? cur.sigma - lo_ : 0.0,
                                                         std::max(hi, cur.sigma) - cur.sigma);
            std::vector<int> all = sel;
            for (int i = 0; i < cur.dim(); ++i) {
                double l = r.lambda[i];
                bool inside = l >= lo_ && l < (last && need_above < 0 ? cur.sigma : hi);
                if (!inside && r.rel[i] <= tol_si && std::abs(l - cur.sigma) <= reach) all.push_back(i);
            }
            // The basis first shrinks to exactly these Ritz vectors and the residual block (a
            // thick restart that keeps them; the columns beyond go back to the system), and the
            // check runs again on it: the same Ritz pairs, so the extraction below then holds
            // them beside a basis of their own size instead of the whole Krylov basis. Should the
            // slice need more Krylov steps after all, they go on from there as after any restart.
            if (compact_ && !all.empty() && cur.dim() >= int64_t(all.size()) + 2 * b) {
                cur.restart(r, all);
                if (restart_dim > 0) limit = std::max(restart_dim, cur.dim() + 4 * b);
                dtarget = cur.dim();
                continue;
            }
            Vec refined;
            Mat Yall;
            cur.extract(r, all, refined, Yall, extract_rounds);
            const double top = last && need_above < 0 ? cur.sigma : hi;
            std::vector<int> keep;
            for (int i = 0; i < refined.size(); ++i)
                if (refined[i] >= lo_ && refined[i] < top) keep.push_back(i);
            // The kept columns moved to the front of Yall (keep is ascending), which is then cut
            // to them and becomes the output: no second n x c matrix.
            out.lambda.clear();
            out.above.clear();
            for (size_t q = 0; q < keep.size(); ++q) {
                if (int(q) != keep[q]) Yall.col(q) = Yall.col(keep[q]);
                out.lambda.push_back(refined[keep[q]]);
                out.above.push_back(refined[keep[q]] >= cur.sigma);
            }
            Yall.conservativeResize(n, Eigen::Index(keep.size()));
            out.vectors = std::move(Yall);
            if (keep.size() != sel.size()) {
                // A refined value crossed an edge of the slice: take more Krylov steps.
                if (debug_level() >= 1)
                    std::fprintf(stderr, "  refined count %zu != selected %zu\n", keep.size(), sel.size());
                last_ca = -1;
                if (restart_dim > 0)
                    advance(r, b);
                else
                    dtarget = std::min(maxdim, cur.dim() + b);
                continue;
            }
            Vec res;
            double ortho = 0;
            Vec lv = Eigen::Map<Vec>(out.lambda.data(), out.lambda.size());
            // A slice below the last one ends at hi, and the later slices' eigenvalues lie above it:
            // hi stands for the final check's reference scale (the largest eigenvalue of the result).
            check_pairs(ops_, out.vectors, lv, res, S_.threads,
                        !last && need_above < 0 && std::isfinite(hi) && hi > 0 ? hi : 0.0);
            if (debug_level() >= 1) {
                int worst = 0;
                for (int i = 0; i < res.size(); ++i) if (res[i] > res[worst]) worst = i;
                std::fprintf(stderr, "slice sigma=%g dim=%d sel=%zu maxres=%g at lambda=%g est=%g\n", cur.sigma,
                             cur.dim(), sel.size(), res.size() ? res.maxCoeff() : 0.0,
                             res.size() ? out.lambda[worst] : 0.0, 0.0);
                if (debug_level() >= 2)
                    for (int i = 0; i < res.size(); ++i)
                        std::fprintf(stderr, "      lambda %.12g res %.2e\n", out.lambda[i], res[i]);
            }
            if (res.size() == 0 || res.maxCoeff() <= S_.tol) break;
            // Residuals above the tolerance: first more inverse-iteration rounds (cheap; they
            // fix vectors far from the shift), then a tighter Lanczos tolerance.
            if (extract_rounds < kMaxExtractRounds) {
                extract_rounds++;
                out.vectors.resize(0, 0); // extracted again from the basis: not held beside the new ones
                continue;
            }
            // Still above: at this point the residuals sit on the floor that rounding sets for
            // this shift, and more Krylov steps do not lower it. Accept results within 100x
            // of the tolerance and say so in the statistics; go on otherwise.
            if (res.maxCoeff() <= kToleranceFloorFactor * S_.tol) {
                st_.tolerance_missed++;
                break;
            }
            tol_si *= 0.1; // estimates were optimistic: tighten and go on
            if (tol_si < 1e-15)
                throw Error(TF_ERR_NOCONV, "residuals did not reach the tolerance near shift " +
                                               std::to_string(cur.sigma));
        }
        // Missing eigenvalues below the shift with nothing left converging there: an earlier
        // slice mis-counted its upper side, so this slice re-covers the whole gap.
        bool stalled_below = cb < job.need && ub == 0;
        stalled_checks = stalled_below ? stalled_checks + 1 : 0;
        if (stalled_checks >= kStalledChecksBeforeRepair && job.j > 0 && !job.repair) {
            enter_repair(job, cur);
            stalled_checks = 0;
            continue;
        }
        grow(r);
    }
    if (debug_level() >= 1)
        std::fprintf(stderr, "  extra global passes: %lld of %d steps, %d restarts, %lld columns\n", (long long)cur.extra_passes_, cur.dim() / int(b), cur.restarts(), (long long)cur.generated());
    return out;
}

void SlicingDriver::run(Vec &lam, double *out) {
    const int64_t k = S_.k, c = S_.band;
    seed_ = S_.seed;
    out_ = out;
    lam_.resize(k);
    // The first shift sits inside the range of the first slice's pairs, at kOneSliceShift of
    // Weyl's estimate of the span-th eigenvalue (span: k when one slice takes all pairs, else a
    // band), so that its pairs lie on both sides of it and the unwanted ones are relatively
    // farther away (41k sphere, k = 64: 280 -> 200 Krylov columns; k = 256: 1440 -> 936 with the
    // last slice's shift inside too). A shift that finds more than kOneSliceMaxBelow span below
    // it (Weyl's law overestimated) is replaced by one scaled down to the count it found.
    // Otherwise, or when that count is still too high, the first shift sits just below zero (L
    // is PSD, so nothing lies below it), as every first shift did before.
    const double bottom = tuning::kFirstShift / rho_;
    const bool one_slice = k + margin(k) <= c * tuning::kLastBandNumerator / tuning::kLastBandDenominator;
    std::unique_ptr<Slice> cur;
    if (inside_shift_ && (one_slice || inside_first_)) {
        const int64_t span = one_slice ? k : c;
        double s0 = tuning::kOneSliceShift * double(span) / rho_;
        for (int attempt = 0; attempt < 2 && !cur; ++attempt) {
            std::unique_ptr<Slice> t(new Slice(ops_, shifted_, s0, S_, st_));
            st_.slices++;
            if (t->nu <= int64_t(tuning::kOneSliceMaxBelow * double(span)))
                cur = std::move(t);
            else
                s0 *= tuning::kOneSliceMaxBelow * 0.5 * double(span) / double(t->nu);
        }
    }
    if (!cur) {
        cur.reset(new Slice(ops_, shifted_, bottom, S_, st_));
        st_.slices++;
    }
    if (cur->sigma < 0 && cur->nu != 0)
        throw Error(TF_ERR_NUMERIC, "the stiffness matrix has negative eigenvalues (" +
                                        std::to_string(cur->nu) + " below " + std::to_string(cur->sigma) + ")");
    bool probe_only_next = false, last_inside = false;
    for (int j = 0;; ++j) {
        Job job;
        job.j = j;
        job.G = cur->nu - nuprev_;
        job.last = cur->nu >= k || probe_only_next || last_inside;
        job.hi = cur->sigma;
        if (last_inside && cur->nu < k) {
            // The last slice, its shift inside what remains: its top is verified by a shift
            // placed in a gap of its converged Ritz values (place_probe), as for one slice.
            const int64_t rem = k - cur->nu;
            job.defer_probe = true;
            job.hi = INFINITY;
            job.expected_above = rem + margin(rem);
            probe_only_next = true;
        }
        std::unique_ptr<Slice> next;
        if (!job.last) {
            int64_t rem = k - cur->nu;
            bool final_target = rem + margin(rem) <= c * tuning::kLastBandNumerator / tuning::kLastBandDenominator;
            int64_t target = final_target ? rem + margin(rem) : c;
            if (j == 0 && final_target) {
                // Few eigenpairs: the first slice takes them all, one-sidedly from below, and the
                // shift that verifies their count is placed in a gap of the converged Ritz values
                // just above the k-th (place_probe), not guessed beforehand with a margin: the
                // pairs of a margin, far from the shift, are the slowest to converge.
                job.last = true;
                job.defer_probe = true;
                job.hi = INFINITY;
                job.expected_above = target;
                probe_only_next = true;
            } else {
                // The next slice would be the last: with last_inside_, its shift goes to the
                // middle of what remains (two thirds of it above this shift: this slice takes
                // the first half of that gap, the next one the rest on both sides of its shift).
                const bool inside_next = final_target && inside_shift_ && last_inside_;
                next = place(cur->sigma, cur->nu, inside_next ? std::max<int64_t>(1, 2 * rem / 3) : target);
                if (inside_next && next->nu < k) last_inside = true;
                job.hi = 0.5 * (cur->sigma + next->sigma);
                job.expected_above = (next->nu - cur->nu) / 2;
                if (j == 0 && next->nu >= k) {
                    // Few eigenpairs: the first slice takes them all, one-sidedly from below; the
                    // next shift only verifies the count.
                    probe_only_next = true;
                    job.hi = next->sigma;
                    job.need_above = next->nu - cur->nu;
                    job.expected_above = job.need_above;
                }
                rho_ = std::max<int64_t>(1, next->nu - cur->nu) / (next->sigma - cur->sigma);
            }
        }
        // A large factor placed ahead keeps only its inertia while this slice runs, and is made
        // again when its turn comes (one more factorisation per slice, a factor less resident).
        // (The size comes from the shared analysis: `cur` itself may be a factor freed ahead.)
        if (next && int64_t(sizeof(double)) * shifted_.symbolic->factor_nonzeros() >= drop_factor_bytes_)
            next->drop_factor();
        cur->refactor(shifted_);
        job.need = job.G - prev_above_;
        if (debug_level() >= 1)
            std::fprintf(stderr, "slice %d sigma=%g nu=%lld G=%lld need=%lld lo=%g hi=%g last=%d need_above=%lld\n", j,
                         cur->sigma, (long long)cur->nu, (long long)job.G, (long long)job.need, lo_, job.hi,
                         int(job.last), (long long)job.need_above);
        if (job.need < 0) enter_repair(job, *cur);
        SliceOutput out = solve_slice(*cur, job);
        if (drop_above_ && !job.last && job.need_above < 0 && !out.lambda.empty()) {
            size_t top = 0;
            for (size_t i = 1; i < out.lambda.size(); ++i)
                if (out.lambda[i] > out.lambda[top]) top = i;
            if (out.above[top]) {
                const int64_t c = int64_t(out.lambda.size()) - 1;
                if (int64_t(top) != c) {
                    out.vectors.col(Eigen::Index(top)) = out.vectors.col(c);
                    std::swap(out.lambda[top], out.lambda[c]);
                    std::swap(out.above[top], out.above[c]);
                }
                out.lambda.pop_back();
                out.above.pop_back();
                out.vectors.conservativeResize(Eigen::NoChange, c);
                drop_above_ = false;
            }
        }
        cur->release();
        prev_above_ = 0;
        for (char a : out.above) prev_above_ += a;
        found_total_ += int64_t(out.lambda.size());
        flush(out);
        if (job.last || probe_only_next) break;
        lo_ = job.hi;
        sprev_ = cur->sigma;
        nuprev_ = cur->nu;
        cur = std::move(next);
    }
    if (written_ < k)
        throw Error(TF_ERR_NOCONV, "found " + std::to_string(written_) + " eigenpairs, wanted " + std::to_string(k));
    // A first shift inside the range cannot tell from its inertia that L is PSD; the eigenvalues
    // found below it can (all of them are found, and they come out ascending).
    if (k > 0 && lam_[0] < bottom)
        throw Error(TF_ERR_NUMERIC, "the stiffness matrix has negative eigenvalues (" + std::to_string(lam_[0]) + ")");
    lam = lam_;
}

// Copies an accepted slice's pairs, ascending, to the next columns of the output (up to k in
// all) and frees its vectors. Slices own disjoint, ascending ranges, so the columns come out
// sorted. Only the last accepted slice can still change (enter_repair drops its pairs above its
// shift): those are the last columns written, and a repair moves written_ back over them.
void SlicingDriver::flush(SliceOutput &o) {
    const int64_t n = ops_.n, k = S_.k;
    last_above_ = last_above_written_ = 0;
    for (char a : o.above) last_above_ += a;
    std::vector<int> order(o.lambda.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int x, int y) { return o.lambda[x] < o.lambda[y]; });
    std::vector<std::pair<int64_t, int>> cols; // (column of the output, column of the slice)
    for (int i : order) {
        if (written_ >= k) break;
        if (o.lambda[i] < top_)
            throw Error(TF_ERR_INTERNAL, "spectral slices overlap at " + std::to_string(o.lambda[i]));
        top_ = o.lambda[i];
        lam_[written_] = o.lambda[i];
        last_above_written_ += o.above[i];
        cols.push_back({written_++, i});
    }
    if (sink_) {
        for (const auto &c : cols) sink_->put(c.first, o.vectors.col(c.second).data());
    } else {
        for (int64_t r0 = 0; r0 < n; r0 += 64)
            for (const auto &c : cols)
                for (int64_t i = r0; i < std::min(n, r0 + 64); ++i) out_[i * k + c.first] = o.vectors(i, c.second);
    }
    o.vectors.resize(0, 0);
}

void solve_sliced(const tf_operators &ops, const Settings &S, Vec &lam, double *out, tf_eigs_stats &st,
                  ColumnSink *sink) {
    SlicingDriver(ops, S, st, sink).run(lam, out);
}

} // namespace eig
} // namespace tf
