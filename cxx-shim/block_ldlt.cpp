#include "block_ldlt.hpp"

#include <immintrin.h>
#include "par_dense.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <cmath>

namespace tf {

namespace {

// The elimination tree of the lower pattern given by rows (row r: the columns c < r with
// A(r, c) != 0), Liu's algorithm with path compression.
std::vector<int> elimination_tree(int n, const std::vector<int> &Rp, const std::vector<int> &Rc) {
    std::vector<int> parent(n, -1), ancestor(n, -1);
    for (int k = 0; k < n; ++k)
        for (int p = Rp[k]; p < Rp[k + 1]; ++p) {
            int i = Rc[p];
            while (i != -1 && i < k) {
                int next = ancestor[i];
                ancestor[i] = k;
                if (next == -1) parent[i] = k;
                i = next;
            }
        }
    return parent;
}

// A postorder of the forest given by parent: post[k] is the k-th node visited.
std::vector<int> postorder(const std::vector<int> &parent) {
    const int n = int(parent.size());
    std::vector<int> head(n, -1), next(n, -1), post, stack;
    post.reserve(n);
    // Children lists in descending order of insertion so that the smallest child is visited first.
    for (int j = n - 1; j >= 0; --j)
        if (parent[j] != -1) {
            next[j] = head[parent[j]];
            head[parent[j]] = j;
        }
    for (int root = 0; root < n; ++root) {
        if (parent[root] != -1) continue;
        stack.push_back(root);
        while (!stack.empty()) {
            int p = stack.back();
            int c = head[p];
            if (c == -1) {
                stack.pop_back();
                post.push_back(p);
            } else {
                head[p] = next[c];
                stack.push_back(c);
            }
        }
    }
    return post;
}

struct LowerPattern {
    std::vector<int> Ap, Ai;    // by columns (diagonal included)
    std::vector<int64_t> src;   // entry q comes from K's value src[q]
    std::vector<int> Rp, Rc;    // by rows, strictly lower
};

// The lower triangle of P K P^T (perm[i] = the new index of i), from the lower entries of K.
LowerPattern permuted_lower(const SpMat &K, const std::vector<int> &perm) {
    const int n = int(K.rows());
    LowerPattern out;
    out.Ap.assign(n + 1, 0);
    out.Rp.assign(n + 1, 0);
    for (int j = 0; j < n; ++j)
        for (int p = K.outerIndexPtr()[j]; p < K.outerIndexPtr()[j + 1]; ++p) {
            int i = K.innerIndexPtr()[p];
            if (i < j) continue;
            int r = std::max(perm[i], perm[j]), c = std::min(perm[i], perm[j]);
            out.Ap[c + 1]++;
            if (r != c) out.Rp[r + 1]++;
        }
    for (int j = 0; j < n; ++j) {
        out.Ap[j + 1] += out.Ap[j];
        out.Rp[j + 1] += out.Rp[j];
    }
    out.Ai.resize(out.Ap[n]);
    out.src.resize(out.Ap[n]);
    out.Rc.resize(out.Rp[n]);
    std::vector<int> fa(out.Ap.begin(), out.Ap.end() - 1), fr(out.Rp.begin(), out.Rp.end() - 1);
    for (int j = 0; j < n; ++j)
        for (int p = K.outerIndexPtr()[j]; p < K.outerIndexPtr()[j + 1]; ++p) {
            int i = K.innerIndexPtr()[p];
            if (i < j) continue;
            int r = std::max(perm[i], perm[j]), c = std::min(perm[i], perm[j]);
            int q = fa[c]++;
            out.Ai[q] = r;
            out.src[q] = p;
            if (r != c) out.Rc[fr[r]++] = c;
        }
    return out;
}

} // namespace

std::shared_ptr<const LDLTSymbolic> LDLTSymbolic::analyse(const SpMat &K) {
    auto s = std::make_shared<LDLTSymbolic>();
    const int n = int(K.rows());
    s->n = n;
    // 1. The fill-reducing ordering: AMD on the symmetric pattern, as Eigen's SimplicialLDLT.
    std::vector<int> amd(n);
    {
        Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> Pinv;
        SpMat C = K.selfadjointView<Eigen::Lower>();
        Eigen::AMDOrdering<int> ordering;
        ordering(C, Pinv);
        if (Pinv.size() == n) {
            Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> P = Pinv.inverse();
            for (int i = 0; i < n; ++i) amd[i] = P.indices()[i];
        } else {
            for (int i = 0; i < n; ++i) amd[i] = i;
        }
    }
    // 2. A postorder of its elimination tree (the same fill; subtrees become contiguous, so
    // the update matrices of the multifrontal method form a stack).
    {
        LowerPattern A0 = permuted_lower(K, amd);
        std::vector<int> post = postorder(elimination_tree(n, A0.Rp, A0.Rc));
        std::vector<int> where(n);
        for (int k = 0; k < n; ++k) where[post[k]] = k;
        s->perm.resize(n);
        for (int i = 0; i < n; ++i) s->perm[i] = where[amd[i]];
    }
    LowerPattern A = permuted_lower(K, s->perm);
    std::vector<int> parent = elimination_tree(n, A.Rp, A.Rc);
    // 3. The structure of L, row by row: row k's nonzeros are the nodes of the elimination tree
    // reached from the columns of A's row k (its row subtree). Rows arrive in ascending order,
    // so each column's rows come out sorted.
    std::vector<int64_t> count(n, 0);
    std::vector<int> mark(n, -1);
    auto row_subtree = [&](int k, auto &&visit) {
        mark[k] = k;
        for (int p = A.Rp[k]; p < A.Rp[k + 1]; ++p)
            for (int i = A.Rc[p]; i != -1 && mark[i] != k; i = parent[i]) {
                mark[i] = k;
                visit(i);
            }
    };
    for (int k = 0; k < n; ++k) row_subtree(k, [&](int j) { count[j]++; });
    s->Lp.assign(n + 1, 0);
    int64_t total = 0;
    for (int j = 0; j < n; ++j) {
        total += count[j];
        if (total > INT_MAX) throw Error(TF_ERR_NOMEM, "the LDL^T factor would have more than 2^31 entries");
        s->Lp[j + 1] = int(total);
    }
    s->Li.resize(size_t(total));
    {
        std::vector<int> fill(s->Lp.begin(), s->Lp.end() - 1);
        std::fill(mark.begin(), mark.end(), -1);
        for (int k = 0; k < n; ++k) row_subtree(k, [&](int j) { s->Li[fill[j]++] = k; });
    }
    // 4. Supernodes: column j joins j - 1's when it is j - 1's parent and their structures
    // below the diagonal differ by j alone.
    s->sfirst.push_back(0);
    for (int j = 1; j < n; ++j)
        if (!(parent[j - 1] == j && count[j - 1] == count[j] + 1)) s->sfirst.push_back(j);
    s->sfirst.push_back(n);
    const int ns = int(s->sfirst.size()) - 1;
    std::vector<int> snode(n);
    for (int t = 0; t < ns; ++t)
        for (int j = s->sfirst[t]; j < s->sfirst[t + 1]; ++j) snode[j] = t;
    s->schildren.assign(ns, 0);
    for (int t = 0; t < ns; ++t) {
        int last = s->sfirst[t + 1] - 1;
        if (parent[last] != -1) s->schildren[snode[parent[last]]]++;
        s->max_front = std::max<int64_t>(s->max_front, 1 + count[s->sfirst[t]]);
    }
    s->Ap = std::move(A.Ap);
    s->Ai = std::move(A.Ai);
    s->src = std::move(A.src);
    return s;
}

BlockLDLT::BlockLDLT(std::shared_ptr<const LDLTSymbolic> symbolic) : sym_(std::move(symbolic)) {}

namespace {

// Eliminates the first ns columns of the m x m front F (column-major, lower triangle used):
// F = [L11; L21] D1 [L11; L21]^T + [0 0; 0 U]. On return F's first ns columns hold L (unit
// diagonal not stored), D the pivots, and F's trailing block U. W: m x nb workspace.
// Returns false on a zero or non-finite pivot.
bool eliminate_front(double *F, int64_t m, int ns, double *D, double *W) {
    constexpr int nb = 32;
    for (int k0 = 0; k0 < ns; k0 += nb) {
        const int kb = std::min(nb, ns - k0);
        // The panel (columns k0 .. k0+kb, all rows below the diagonal), unblocked.
        for (int jj = 0; jj < kb; ++jj) {
            const int64_t j = k0 + jj;
            double *fj = F + j * m;
            const double d = fj[j];
            if (!(d != 0) || !std::isfinite(d)) return false;
            D[j] = d;
            double *wj = W + jj * m;
            const double dinv = 1.0 / d;
            for (int64_t i = j + 1; i < m; ++i) {
                wj[i] = fj[i];
                fj[i] *= dinv;
            }
            for (int64_t c = j + 1; c < k0 + kb; ++c) {
                const double lc = fj[c];
                double *fc = F + c * m;
                for (int64_t i = c; i < m; ++i) fc[i] -= wj[i] * lc;
            }
        }
        // The trailing columns: F[c0:, c0:c0+cw] -= W[c0:, :] L[c0:c0+cw, panel]^T, lower part.
        const int64_t t0 = k0 + kb;
        constexpr int64_t cwmax = 128;
        for (int64_t c0 = t0; c0 < m; c0 += cwmax) {
            const int64_t cw = std::min(cwmax, m - c0);
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, int(m - c0), int(cw), kb, -1.0, W + c0, int(m),
                        F + c0 + int64_t(k0) * m, int(m), 1.0, F + c0 + c0 * m, int(m));
        }
    }
    return true;
}

} // namespace

bool BlockLDLT::factorize(const SpMat &K) {
    const LDLTSymbolic &s = *sym_;
    const int n = s.n;
    const int nsup = int(s.sfirst.size()) - 1;
    const double *Kx = K.valuePtr();
    Lx_.resize(s.Li.size()); // every entry is written by its supernode's front
    std::vector<double> D(n);
    std::vector<int> relpos(n, -1);
    std::vector<double> F, W(size_t(s.max_front) * 32);
    // The stack of update matrices: offset in `stack`, order, and the supernode whose rows below
    // its columns index it.
    struct Update {
        size_t offset;
        int64_t m2;
        int snode;
    };
    std::vector<double> stack;
    std::vector<Update> updates;
    for (int t = 0; t < nsup; ++t) {
        const int f = s.sfirst[t], ns = s.sfirst[t + 1] - f;
        // The front's rows: the supernode's columns, then the rows below them.
        const int *below = s.Li.data() + s.Lp[f + ns - 1];
        const int64_t nbelow = s.Lp[f + ns] - s.Lp[f + ns - 1];
        const int64_t m = ns + nbelow;
        for (int c = 0; c < ns; ++c) relpos[f + c] = c;
        for (int64_t i = 0; i < nbelow; ++i) relpos[below[i]] = int(ns + i);
        F.resize(size_t(m * m));
        for (int64_t c = 0; c < m; ++c) std::fill(F.begin() + c * m + c, F.begin() + (c + 1) * m, 0.0);
        // Assemble K's entries of the supernode's columns.
        for (int c = 0; c < ns; ++c)
            for (int q = s.Ap[f + c]; q < s.Ap[f + c + 1]; ++q) F[relpos[s.Ai[q]] + int64_t(c) * m] += Kx[s.src[q]];
        // Extend-add the children's update matrices (the top of the stack).
        for (int ch = 0; ch < s.schildren[t]; ++ch) {
            const Update u = updates.back();
            updates.pop_back();
            const int cf = s.sfirst[u.snode], cns = s.sfirst[u.snode + 1] - cf;
            const int *crow = s.Li.data() + s.Lp[cf + cns - 1];
            const double *U = stack.data() + u.offset;
            for (int64_t b = 0; b < u.m2; ++b) {
                double *fc = F.data() + int64_t(relpos[crow[b]]) * m;
                const double *uc = U + b * u.m2;
                for (int64_t a = b; a < u.m2; ++a) fc[relpos[crow[a]]] += uc[a];
            }
            stack.resize(u.offset);
        }
        if (!eliminate_front(F.data(), m, ns, D.data() + f, W.data())) return false;
        // The supernode's columns of L.
        for (int c = 0; c < ns; ++c) {
            const double *fc = F.data() + int64_t(c) * m;
            double *lx = Lx_.data() + s.Lp[f + c];
            for (int64_t i = c + 1; i < m; ++i) *lx++ = fc[i];
        }
        // The update matrix for the parent.
        if (nbelow > 0) {
            Update u{stack.size(), nbelow, t};
            stack.resize(u.offset + size_t(nbelow * nbelow));
            double *U = stack.data() + u.offset;
            for (int64_t b = 0; b < nbelow; ++b)
                std::copy(F.data() + (ns + b) * m + ns + b, F.data() + (ns + b + 1) * m, U + b * nbelow + b);
            updates.push_back(u);
        }
    }
    if (!updates.empty()) throw Error(TF_ERR_INTERNAL, "LDL^T: update matrices left on the stack");
    Dinv_.resize(n);
    negatives_ = 0;
    for (int i = 0; i < n; ++i) {
        if (D[i] < 0) negatives_++;
        Dinv_[i] = 1.0 / D[i];
    }
    return true;
}

// Y: n x w row-major, already permuted. Solves L D L^T y = y in place. W > 0 fixes the
// width at compile time so that the row updates become single vector operations.
template <int W>
__attribute__((always_inline)) static inline void ldlt_rows(int n, const int *Lp, const int *Li, const double *Lx,
                             const double *Dinv, double *Y, int wdyn) {
    // No fused multiply-add: the AVX2 builds below and the generic one (used for the narrower
    // column chunks of a multi-threaded solve) must round alike, so that the eigenpairs are the
    // same to the bit at any thread count.
#pragma clang fp contract(off)
    const int w = W > 0 ? W : wdyn;
    // Forward: L unit lower, stored by columns (rows below the diagonal).
    for (int j = 0; j < n; ++j) {
        const double *yj = Y + size_t(j) * w;
        for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
            double *yi = Y + size_t(Li[p]) * w;
            const double l = Lx[p];
            for (int c = 0; c < w; ++c) yi[c] -= l * yj[c];
        }
    }
    for (int j = 0; j < n; ++j) {
        double *yj = Y + size_t(j) * w;
        const double d = Dinv[j];
        for (int c = 0; c < w; ++c) yj[c] *= d;
    }
    // Backward: L^T, row j of L^T is column j of L. The dot product of row j with the solved
    // rows in four partial sums (entries p, p+1, p+2, p+3 of each group of four; the last
    // entries into the first sum), y_j -= (s0 + s1) + (s2 + s3): one running sum made each
    // entry wait for the addition before it (about three cycles per entry). Every width
    // sums in this order.
    for (int j = n - 1; j >= 0; --j) {
        double *yj = Y + size_t(j) * w;
        const int p0 = Lp[j], pe = Lp[j + 1], p4 = p0 + (pe - p0) / 4 * 4;
        if (W > 0) {
            double s0[W > 0 ? W : 1] = {}, s1[W > 0 ? W : 1] = {}, s2[W > 0 ? W : 1] = {}, s3[W > 0 ? W : 1] = {};
            for (int p = p0; p < p4; p += 4) {
                const double *y0 = Y + size_t(Li[p]) * w, *y1 = Y + size_t(Li[p + 1]) * w,
                             *y2 = Y + size_t(Li[p + 2]) * w, *y3 = Y + size_t(Li[p + 3]) * w;
                const double l0 = Lx[p], l1 = Lx[p + 1], l2 = Lx[p + 2], l3 = Lx[p + 3];
                for (int c = 0; c < W; ++c) {
                    s0[c] += l0 * y0[c];
                    s1[c] += l1 * y1[c];
                    s2[c] += l2 * y2[c];
                    s3[c] += l3 * y3[c];
                }
            }
            for (int p = p4; p < pe; ++p) {
                const double *yi = Y + size_t(Li[p]) * w;
                const double l = Lx[p];
                for (int c = 0; c < W; ++c) s0[c] += l * yi[c];
            }
            for (int c = 0; c < W; ++c) yj[c] -= (s0[c] + s1[c]) + (s2[c] + s3[c]);
        } else {
            for (int c = 0; c < w; ++c) {
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int p = p0; p < p4; p += 4) {
                    s0 += Lx[p] * Y[size_t(Li[p]) * w + c];
                    s1 += Lx[p + 1] * Y[size_t(Li[p + 1]) * w + c];
                    s2 += Lx[p + 2] * Y[size_t(Li[p + 2]) * w + c];
                    s3 += Lx[p + 3] * Y[size_t(Li[p + 3]) * w + c];
                }
                for (int p = p4; p < pe; ++p) s0 += Lx[p] * Y[size_t(Li[p]) * w + c];
                yj[c] -= (s0 + s1) + (s2 + s3);
            }
        }
    }
}

// The same kernels compiled for AVX2/FMA, chosen at run time where the processor has them
// (no build flags needed: the attribute applies to these functions only). ldlt_rows must be
// inlined into them (always_inline): called out of line it ran as the SSE2 build, and the
// solves were 10-15% slower.
__attribute__((target("avx2,fma"))) static void ldlt_rows4_avx2(int n, const int *Lp, const int *Li,
                                                                const double *Lx, const double *Dinv,
                                                                double *Y) {
    ldlt_rows<4>(n, Lp, Li, Lx, Dinv, Y, 4);
}
__attribute__((target("avx2,fma"))) static void ldlt_rows8_avx2(int n, const int *Lp, const int *Li,
                                                                const double *Lx, const double *Dinv,
                                                                double *Y) {
    ldlt_rows<8>(n, Lp, Li, Lx, Dinv, Y, 8);
}

// Width 8 with AVX-512: one register per row of 8 columns, the same operations in the same
// order as ldlt_rows (multiplications and additions rounded apart, the four partial sums of the
// backward pass), so its bits are those of the narrower kernels that a split solve runs.
// (Grid of 41k, one thread, 8 columns, best of 10 interleaved: 4.65-5.29 ms, as fast as the
// former single running sum, 4.74-4.96 ms; ldlt_rows<8> for AVX2 with the four sums in eight
// registers took 5.07-5.52 ms. Split in two ranges of 4 the four sums gain: 2.70-3.17 ms
// against 3.21-3.80 ms.)
__attribute__((target("avx512f"))) static void ldlt_rows8_avx512(int n, const int *Lp, const int *Li,
                                                                const double *Lx, const double *Dinv,
                                                                double *Y) {
#pragma clang fp contract(off)
    for (int j = 0; j < n; ++j) {
        const __m512d yj = _mm512_loadu_pd(Y + size_t(j) * 8);
        for (int p = Lp[j]; p < Lp[j + 1]; ++p) {
            double *yi = Y + size_t(Li[p]) * 8;
            _mm512_storeu_pd(yi, _mm512_sub_pd(_mm512_loadu_pd(yi), _mm512_mul_pd(_mm512_set1_pd(Lx[p]), yj)));
        }
    }
    for (int j = 0; j < n; ++j) {
        double *yj = Y + size_t(j) * 8;
        _mm512_storeu_pd(yj, _mm512_mul_pd(_mm512_loadu_pd(yj), _mm512_set1_pd(Dinv[j])));
    }
    for (int j = n - 1; j >= 0; --j) {
        double *yj = Y + size_t(j) * 8;
        const int p0 = Lp[j], pe = Lp[j + 1], p4 = p0 + (pe - p0) / 4 * 4;
        __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        for (int p = p0; p < p4; p += 4) {
            s0 = _mm512_add_pd(s0, _mm512_mul_pd(_mm512_set1_pd(Lx[p]), _mm512_loadu_pd(Y + size_t(Li[p]) * 8)));
            s1 = _mm512_add_pd(s1, _mm512_mul_pd(_mm512_set1_pd(Lx[p + 1]), _mm512_loadu_pd(Y + size_t(Li[p + 1]) * 8)));
            s2 = _mm512_add_pd(s2, _mm512_mul_pd(_mm512_set1_pd(Lx[p + 2]), _mm512_loadu_pd(Y + size_t(Li[p + 2]) * 8)));
            s3 = _mm512_add_pd(s3, _mm512_mul_pd(_mm512_set1_pd(Lx[p + 3]), _mm512_loadu_pd(Y + size_t(Li[p + 3]) * 8)));
        }
        for (int p = p4; p < pe; ++p)
            s0 = _mm512_add_pd(s0, _mm512_mul_pd(_mm512_set1_pd(Lx[p]), _mm512_loadu_pd(Y + size_t(Li[p]) * 8)));
        _mm512_storeu_pd(yj, _mm512_sub_pd(_mm512_loadu_pd(yj), _mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3))));
    }
}

void BlockLDLT::solve_rows(double *Y, int w) const {
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    static const bool avx512 = __builtin_cpu_supports("avx512f");
    if (w == 8 && avx512) return ldlt_rows8_avx512(sym_->n, sym_->Lp.data(), sym_->Li.data(), Lx_.data(), Dinv_.data(), Y);
    const int n = sym_->n;
    const int *Lp = sym_->Lp.data(), *Li = sym_->Li.data();
    const double *Lx = Lx_.data(), *Di = Dinv_.data();
    if (w == 4 && avx2) return ldlt_rows4_avx2(n, Lp, Li, Lx, Di, Y);
    if (w == 8 && avx2) return ldlt_rows8_avx2(n, Lp, Li, Lx, Di, Y);
    if (w == 4) return ldlt_rows<4>(n, Lp, Li, Lx, Di, Y, 4);
    if (w == 8) return ldlt_rows<8>(n, Lp, Li, Lx, Di, Y, 8);
    ldlt_rows<0>(n, Lp, Li, Lx, Di, Y, w);
}

void BlockLDLT::solve(const double *B, double *X, int b, int threads) const {
    const int n_ = sym_->n;
    const int *perm = sym_->perm.data();
    if (threads < 1) threads = 1;
    if (threads > b) threads = b;
    // Columns [c0, c1) in chunks of at most 8, the widest kernel (8 doubles = two AVX2
    // registers per factor entry).
    auto work = [&](int c0, int c1) {
        // Every entry is written before it is read: no zero fill (1.3 MB per range of 4 at 41k).
        std::unique_ptr<double[]> Yp(new double[size_t(n_) * size_t(std::min(8, c1 - c0))]);
        double *const Y = Yp.get();
        for (int s0 = c0; s0 < c1; s0 += 8) {
            const int w = std::min(8, c1 - s0);
            // Row by row: each permuted row of Y (w doubles, one cache line at w = 8) is written
            // or read whole, where column by column touched its line w times.
            const double *Bs = B + size_t(s0) * n_;
            double *Xs = X + size_t(s0) * n_;
            for (int i = 0; i < n_; ++i) {
                double *yi = Y + size_t(perm[i]) * w;
                for (int c = 0; c < w; ++c) yi[c] = Bs[size_t(c) * n_ + i];
            }
            solve_rows(Y, w);
            for (int i = 0; i < n_; ++i) {
                const double *yi = Y + size_t(perm[i]) * w;
                for (int c = 0; c < w; ++c) Xs[size_t(c) * n_ + i] = yi[c];
            }
        }
    };
    // Column ranges of at most 8 as items of the shared pool, handed out one at a time: a thread
    // slowed by another process takes fewer, and a range no worker took in time is solved by
    // the caller (the results are the same whichever thread solves a range). A block of 8 is
    // cut in two ranges of 4 (one per thread).
    const int per = std::min(8, (b + threads - 1) / threads), ranges = (b + per - 1) / per;
    // TF_SOLVE_PACE=0 in the environment: always split (for benchmarks).
    static const bool paced = [] {
        const char *e = std::getenv("TF_SOLVE_PACE");
        return !(e && std::strcmp(e, "0") == 0);
    }();
    if (!paced || threads == 1 || ranges > threads || b > SolvePace::kWidths) {
        par::for_each(ranges, threads, [&](int64_t r) { work(int(r) * per, std::min(b, int(r + 1) * per)); });
        return;
    }
    // As many ranges as threads: the block waits for its slowest thread. Beside a busy process
    // one of them may run at half speed, and the block then takes twice as long, while one
    // thread solving the whole block at full width (the factor read once) takes ~1.35x. The
    // faster of the two ways is chosen from the measured times of blocks of this width.
    const bool serial = sym_->pace.choose_serial(b);
    const auto t0 = std::chrono::steady_clock::now();
    if (serial)
        work(0, b);
    else
        par::for_each(ranges, threads, [&](int64_t r) { work(int(r) * per, std::min(b, int(r + 1) * per)); });
    sym_->pace.record(b, serial, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

bool SolvePace::choose_serial(int b) {
    Entry &e = entries_[b];
    const uint32_t i = e.calls.fetch_add(1, std::memory_order_relaxed);
    const double par = e.cost[0].load(std::memory_order_relaxed), ser = e.cost[1].load(std::memory_order_relaxed);
    if (par == 0) return false; // measure each way once, the parallel one first
    if (ser == 0) return true;
    const bool better = ser < par;
    return (i % kProbe == kProbe - 1) ? !better : better; // now and then the other way, in case the load changed
}

void SolvePace::record(int b, bool serial, double cost) {
    std::atomic<double> &c = entries_[b].cost[serial ? 1 : 0];
    const double old = c.load(std::memory_order_relaxed);
    c.store(old == 0 ? cost : 0.75 * old + 0.25 * cost, std::memory_order_relaxed);
}

bool ReferenceLDLT::factorize(const SpMat &K) {
    ldlt.compute(K);
    return ldlt.info() == Eigen::Success;
}

int64_t ReferenceLDLT::negative_pivots() const {
    int64_t neg = 0;
    Vec D = ldlt.vectorD();
    for (Eigen::Index i = 0; i < D.size(); ++i)
        if (D[i] < 0) neg++;
    return neg;
}

void ReferenceLDLT::solve(const double *B, double *X, int b) const {
    const Eigen::Index n = ldlt.rows();
    for (int c = 0; c < b; ++c) {
        Eigen::Map<const Vec> bc(B + size_t(c) * n, n);
        Vec x = ldlt.solve(bc);
        std::memcpy(X + size_t(c) * n, x.data(), sizeof(double) * n);
    }
}

} // namespace tf
