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

// The triangular solves, supernode by supernode. Y: n x w row-major, already permuted; solved
// in place for L D L^T. A supernode's columns [f, l) share their rows below l - 1 (R), so column
// j's rows are j + 1 .. l - 1 and then R, and within a tile of columns [j0, j1) (tiles of kTile
// from f) every column's rows from j1 on are those of column j1 - 1, at the same offsets
// relative to its start: the tile reads each of those rows of Y once for all its columns (one
// gathered row per column and factor entry before; 84 % of the entries at 41k vertices lie in
// supernodes of 4 columns or more). Lanes (the w columns of Y) never mix, and every width
// performs the same operations in the same order per lane, so a block solved in ranges of 4
// columns on two threads has the bits of the same block solved at once.
constexpr int kTile = 4;
constexpr int kMaxLanes = 8; // the solve's ranges have at most 8 columns

// Partial sums per column in the backward pass's dot products with the rows below the tile:
// four, as in the column-by-column kernel before. (Grid of 41k, relative residual of 8 solves:
// 1.7e-11 with four sums as before; in tiles of 8, 3.4e-11 with two sums per column, 5.9e-11
// with one running sum, and the eigensolver's residuals 2-3x larger.) Tiles of 4 columns keep
// the 16 sums in registers.
constexpr int kSums = 4;

// W lanes as one value for W = 4 and 8: the compiler's vectors (element-wise IEEE operations,
// so every lane rounds as the scalar code for other widths does). Written with them because
// the loop vectoriser, given the tile's loops over lanes, vectorised across the tile's columns
// instead (gathers of the factor, the sums on the stack: 3x slower).
// (-Wpsabi: these helpers take and return vectors wider than the default target's, but they are
// always inlined into the functions compiled for AVX2 or AVX-512, never called across the ABI.)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"
template <int W> struct Lanes;
template <> struct Lanes<4> { typedef double V __attribute__((vector_size(32))); };
template <> struct Lanes<8> { typedef double V __attribute__((vector_size(64))); };
template <class V> __attribute__((always_inline)) static inline V vload(const double *p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <class V> __attribute__((always_inline)) static inline void vstore(double *p, V v) {
    std::memcpy(p, &v, sizeof v);
}

// Forward, rows outside the tile: y_r -= L(r, j0 + jj) a_jj for jj = 0 .. TW - 1 in order (the
// order of the column-by-column solve). a: TW x w, the tile's solved rows.
template <int W, int TW>
__attribute__((always_inline)) static inline void tile_forward(int o, const int *rows, const double *const *lc,
                                                               const double *a, double *Y, int wdyn) {
#pragma clang fp contract(off)
    // Local copies: stores into Y could alias lc and a for the compiler, which then reloaded them.
    const double *L[TW];
    for (int jj = 0; jj < TW; ++jj) L[jj] = lc[jj];
    if constexpr (W > 0) {
        using V = typename Lanes<W>::V;
        V av[TW];
        for (int jj = 0; jj < TW; ++jj) av[jj] = vload<V>(a + jj * W);
        for (int k = 0; k < o; ++k) {
            double *yr = Y + size_t(rows[k]) * W;
            V acc = vload<V>(yr);
            for (int jj = 0; jj < TW; ++jj) acc = acc - L[jj][k] * av[jj];
            vstore(yr, acc);
        }
    } else {
        const int w = wdyn;
        for (int k = 0; k < o; ++k) {
            double *yr = Y + size_t(rows[k]) * w;
            for (int jj = 0; jj < TW; ++jj) {
                const double l = L[jj][k];
                for (int c = 0; c < w; ++c) yr[c] -= l * a[jj * w + c];
            }
        }
    }
}

// Backward, rows outside the tile: out_jj = sum_k L(rows[k], j0 + jj) y_rows[k], entry k into
// partial sum k mod P, the sums added as (s0 + s1) + (s2 + s3) or s0 + s1. out: TW x w.
template <int W, int TW>
__attribute__((always_inline)) static inline void tile_backward(int o, const int *rows, const double *const *lc,
                                                                const double *Y, double *out, int wdyn) {
#pragma clang fp contract(off)
    constexpr int P = kSums;
    const double *L[TW];
    for (int jj = 0; jj < TW; ++jj) L[jj] = lc[jj];
    if constexpr (W > 0) {
        using V = typename Lanes<W>::V;
        V s[TW][P];
        for (int jj = 0; jj < TW; ++jj)
            for (int q = 0; q < P; ++q) s[jj][q] = V{};
        int k = 0;
        for (; k + P <= o; k += P)
            for (int q = 0; q < P; ++q) {
                const V y = vload<V>(Y + size_t(rows[k + q]) * W);
                for (int jj = 0; jj < TW; ++jj) s[jj][q] = s[jj][q] + L[jj][k + q] * y;
            }
        // The last o mod P entries, each into its sum (q a constant: a variable index into s
        // would put the sums on the stack).
        for (int q = 0; q < P - 1; ++q)
            if (k + q < o) {
                const V y = vload<V>(Y + size_t(rows[k + q]) * W);
                for (int jj = 0; jj < TW; ++jj) s[jj][q] = s[jj][q] + L[jj][k + q] * y;
            }
        for (int jj = 0; jj < TW; ++jj) {
            V r;
            if constexpr (P == 4) r = (s[jj][0] + s[jj][1]) + (s[jj][2] + s[jj][3]);
            else if constexpr (P == 2) r = s[jj][0] + s[jj][1];
            else r = s[jj][0];
            vstore(out + jj * W, r);
        }
    } else {
        const int w = wdyn; // at most kMaxLanes
        double s[TW][P][kMaxLanes] = {};
        for (int k = 0; k < o; ++k) {
            const double *yr = Y + size_t(rows[k]) * w;
            for (int jj = 0; jj < TW; ++jj) {
                const double l = L[jj][k];
                for (int c = 0; c < w; ++c) s[jj][k % P][c] += l * yr[c];
            }
        }
        for (int jj = 0; jj < TW; ++jj)
            for (int c = 0; c < w; ++c) {
                if constexpr (P == 4) out[jj * w + c] = (s[jj][0][c] + s[jj][1][c]) + (s[jj][2][c] + s[jj][3][c]);
                else if constexpr (P == 2) out[jj * w + c] = s[jj][0][c] + s[jj][1][c];
                else out[jj * w + c] = s[jj][0][c];
            }
    }
}

template <int W, int TW>
__attribute__((always_inline)) static inline void tile_solve(bool forward, int o, const int *rows,
                                                             const double *const *lc, double *tile, double *Y,
                                                             int w) {
    if (forward) tile_forward<W, TW>(o, rows, lc, tile, Y, w);
    else tile_backward<W, TW>(o, rows, lc, Y, tile, w);
}

// Inside a tile, forward: y_i -= L(i, j) y_j for the tile's rows i > j, columns in order.
template <int W>
__attribute__((always_inline)) static inline void tile_inside_forward(int j0, int j1, const int *Lp,
                                                                      const double *Lx, double *Y, int wdyn) {
#pragma clang fp contract(off)
    for (int j = j0; j < j1; ++j) {
        const double *lj = Lx + Lp[j];
        if constexpr (W > 0) {
            using V = typename Lanes<W>::V;
            const V yj = vload<V>(Y + size_t(j) * W);
            for (int i = j + 1; i < j1; ++i) {
                double *yi = Y + size_t(i) * W;
                vstore(yi, vload<V>(yi) - lj[i - j - 1] * yj);
            }
        } else {
            const int w = wdyn;
            const double *yj = Y + size_t(j) * w;
            for (int i = j + 1; i < j1; ++i) {
                double *yi = Y + size_t(i) * w;
                const double li = lj[i - j - 1];
                for (int c = 0; c < w; ++c) yi[c] -= li * yj[c];
            }
        }
    }
}

// Inside a tile, backward, columns from the last: y_j -= (outside_j + inside_j), inside_j the
// running sum of L(i, j) y_i over the tile's rows i = j + 1 .. j1 - 1 in ascending order.
template <int W>
__attribute__((always_inline)) static inline void tile_inside_backward(int j0, int j1, const int *Lp,
                                                                       const double *Lx, const double *outside,
                                                                       double *Y, int wdyn) {
#pragma clang fp contract(off)
    for (int j = j1 - 1; j >= j0; --j) {
        const double *lj = Lx + Lp[j];
        if constexpr (W > 0) {
            using V = typename Lanes<W>::V;
            V inside = V{};
            for (int i = j + 1; i < j1; ++i) inside = inside + lj[i - j - 1] * vload<V>(Y + size_t(i) * W);
            double *yj = Y + size_t(j) * W;
            vstore(yj, vload<V>(yj) - (vload<V>(outside + size_t(j - j0) * W) + inside));
        } else {
            const int w = wdyn;
            double *yj = Y + size_t(j) * w;
            const double *oj = outside + size_t(j - j0) * w;
            for (int c = 0; c < w; ++c) {
                double inside = 0;
                for (int i = j + 1; i < j1; ++i) inside += lj[i - j - 1] * Y[size_t(i) * w + c];
                yj[c] -= oj[c] + inside;
            }
        }
    }
}

// Y: n x w row-major, already permuted. Solves L D L^T y = y in place. W > 0 fixes the width at
// compile time (the lanes one vector).
template <int W>
__attribute__((always_inline)) static inline void ldlt_supernodal(int nsup, const int *sfirst, const int *Lp,
                                                                  const int *Li, const double *Lx,
                                                                  const double *Dinv, double *Y, int wdyn) {
#pragma clang fp contract(off)
    const int w = W > 0 ? W : wdyn;
    double tb[kTile * kMaxLanes];
    const double *lc[kTile];
    // (Inlined like everything here: a lambda is compiled apart, without the target's vector
    // instructions.)
    // The rows below tile [j0, j1): forward, updated from the tile's rows `tile` (its rows of
    // Y); backward, their dot products with each tile column into `tile`. With no rows below
    // (a root's last columns) forward does nothing and backward writes zeros.
    auto outside = [&](bool forward, int j0, int j1, double *tile) __attribute__((always_inline)) {
        const int pb = Lp[j1 - 1], o = Lp[j1] - pb;
        for (int j = j0; j < j1; ++j) lc[j - j0] = Lx + Lp[j] + (j1 - 1 - j);
        static_assert(kTile == 4, "one case per tile width");
        switch (j1 - j0) {
        case 1: return tile_solve<W, 1>(forward, o, Li + pb, lc, tile, Y, w);
        case 2: return tile_solve<W, 2>(forward, o, Li + pb, lc, tile, Y, w);
        case 3: return tile_solve<W, 3>(forward, o, Li + pb, lc, tile, Y, w);
        default: return tile_solve<W, 4>(forward, o, Li + pb, lc, tile, Y, w);
        }
    };
    // Forward: L unit lower; in a tile the rows inside it, then those below.
    for (int t = 0; t < nsup; ++t)
        for (int j0 = sfirst[t], l = sfirst[t + 1]; j0 < l; j0 += kTile) {
            const int j1 = std::min(l, j0 + kTile);
            tile_inside_forward<W>(j0, j1, Lp, Lx, Y, w);
            outside(true, j0, j1, Y + size_t(j0) * w);
            // The tile's rows are final for L: D^{-1} now, while they are in cache (a pass of
            // its own over Y took 7 % of the solve).
            for (int j = j0; j < j1; ++j) {
                double *yj = Y + size_t(j) * w;
                const double d = Dinv[j];
                for (int c = 0; c < w; ++c) yj[c] *= d;
            }
        }
    // Backward: L^T; the tiles from the last, in a tile the dot products with the rows below it
    // (all solved), then the rows inside it.
    for (int t = nsup - 1; t >= 0; --t) {
        const int f = sfirst[t], l = sfirst[t + 1];
        for (int j0 = f + (l - 1 - f) / kTile * kTile; j0 >= f; j0 -= kTile) {
            const int j1 = std::min(l, j0 + kTile);
            outside(false, j0, j1, tb);
            tile_inside_backward<W>(j0, j1, Lp, Lx, tb, Y, w);
        }
    }
}

// The kernel compiled for AVX2/FMA, AVX-512VL (4 lanes: 32 vector registers for the 16 sums of
// a tile) and AVX-512 (8 lanes), chosen at run time where the processor has them (no build flags
// needed: the attribute applies to these functions only; everything above is inlined into them).
__attribute__((target("avx2,fma"))) static void ldlt_supernodal4_avx2(int nsup, const int *sfirst, const int *Lp,
                                                                      const int *Li, const double *Lx,
                                                                      const double *Dinv, double *Y) {
    ldlt_supernodal<4>(nsup, sfirst, Lp, Li, Lx, Dinv, Y, 4);
}
__attribute__((target("avx512f,avx512vl"))) static void ldlt_supernodal4_avx512vl(int nsup, const int *sfirst,
                                                                                 const int *Lp, const int *Li,
                                                                                 const double *Lx, const double *Dinv,
                                                                                 double *Y) {
    ldlt_supernodal<4>(nsup, sfirst, Lp, Li, Lx, Dinv, Y, 4);
}
__attribute__((target("avx2,fma"))) static void ldlt_supernodal8_avx2(int nsup, const int *sfirst, const int *Lp,
                                                                      const int *Li, const double *Lx,
                                                                      const double *Dinv, double *Y) {
    ldlt_supernodal<8>(nsup, sfirst, Lp, Li, Lx, Dinv, Y, 8);
}
__attribute__((target("avx512f"))) static void ldlt_supernodal8_avx512(int nsup, const int *sfirst, const int *Lp,
                                                                       const int *Li, const double *Lx,
                                                                       const double *Dinv, double *Y) {
    ldlt_supernodal<8>(nsup, sfirst, Lp, Li, Lx, Dinv, Y, 8);
}

#pragma clang diagnostic pop

// Whether the vector kernels of 4 and 8 lanes run here (AVX2 with FMA, the least of them).
static bool vector_kernels() {
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return avx2;
}

void BlockLDLT::solve_rows(double *Y, int w, bool loops) const {
    if (w < 1 || w > kMaxLanes) throw Error(TF_ERR_INTERNAL, "LDL^T solve of " + std::to_string(w) + " lanes");
    const bool avx2 = vector_kernels();
    static const bool avx512 = __builtin_cpu_supports("avx512f");
    static const bool avx512vl = avx512 && __builtin_cpu_supports("avx512vl");
    const int nsup = int(sym_->sfirst.size()) - 1;
    const int *sf = sym_->sfirst.data(), *Lp = sym_->Lp.data(), *Li = sym_->Li.data();
    const double *Lx = Lx_.data(), *Di = Dinv_.data();
    if (loops) return ldlt_supernodal<0>(nsup, sf, Lp, Li, Lx, Di, Y, w);
    if (w == 8 && avx512) return ldlt_supernodal8_avx512(nsup, sf, Lp, Li, Lx, Di, Y);
    if (w == 4 && avx512vl) return ldlt_supernodal4_avx512vl(nsup, sf, Lp, Li, Lx, Di, Y);
    if (w == 4 && avx2) return ldlt_supernodal4_avx2(nsup, sf, Lp, Li, Lx, Di, Y);
    if (w == 8 && avx2) return ldlt_supernodal8_avx2(nsup, sf, Lp, Li, Lx, Di, Y);
    // Without AVX2 (or at other widths, which solve() pads to 4 or 8 where it has AVX2) the
    // lanes as loops: the same operations per lane.
    ldlt_supernodal<0>(nsup, sf, Lp, Li, Lx, Di, Y, w);
}

void BlockLDLT::solve(const double *B, double *X, int b, int threads, bool loops) const {
    const int n_ = sym_->n;
    const int *perm = sym_->perm.data();
    if (threads < 1) threads = 1;
    if (threads > b) threads = b;
    // Columns [c0, c1) in chunks of at most 8, the widest kernel. Where the vector kernels run,
    // a chunk of 1-3 or 5-7 columns is solved as 4 or 8 lanes, the others zero (lanes never
    // mix, so its columns' bits are unchanged; the lanes-as-loops kernel took 1.1-1.3x as long
    // for 3 and 5 columns as for 4 and 8).
    const bool vector_lanes = !loops && vector_kernels();
    auto lanes = [&](int w) { return !vector_lanes || w == 4 || w == 8 ? w : w < 4 ? 4 : 8; };
    auto work = [&](int c0, int c1) {
        // Every used entry is written before it is read: no zero fill but for padding lanes
        // (1.3 MB per range of 4 at 41k).
        std::unique_ptr<double[]> Yp(new double[size_t(n_) * size_t(lanes(std::min(8, c1 - c0)))]);
        double *const Y = Yp.get();
        for (int s0 = c0; s0 < c1; s0 += 8) {
            const int w = std::min(8, c1 - s0), wl = lanes(w);
            // Row by row: each permuted row of Y (wl doubles, one cache line at 8) is written or
            // read whole, where column by column touched its line w times.
            const double *Bs = B + size_t(s0) * n_;
            double *Xs = X + size_t(s0) * n_;
            for (int i = 0; i < n_; ++i) {
                double *yi = Y + size_t(perm[i]) * wl;
                for (int c = 0; c < w; ++c) yi[c] = Bs[size_t(c) * n_ + i];
                for (int c = w; c < wl; ++c) yi[c] = 0;
            }
            solve_rows(Y, wl, loops);
            for (int i = 0; i < n_; ++i) {
                const double *yi = Y + size_t(perm[i]) * wl;
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
    // Each way kFirst times first, the split first, and the best of those kept: the first
    // solves of a run pay for page faults and for waking the other thread. Measured once each,
    // 41k k = 64 once found the split slower and solved 14 of its 25 blocks on one thread
    // before the next probe (solves 0.16-0.20 s in three runs, 0.15-0.16 s always split).
    if (i < kFirst) return false;
    if (i < 2 * kFirst) return true;
    const double par = e.cost[0].load(std::memory_order_relaxed), ser = e.cost[1].load(std::memory_order_relaxed);
    const bool better = ser < par;
    return (i % kProbe == kProbe - 1) ? !better : better; // now and then the other way, in case the load changed
}

void SolvePace::record(int b, bool serial, double cost) {
    Entry &e = entries_[b];
    std::atomic<double> &c = e.cost[serial ? 1 : 0];
    const uint32_t n = e.samples[serial ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
    const double old = c.load(std::memory_order_relaxed);
    c.store(n == 0 ? cost : n < kFirst ? std::min(old, cost) : 0.75 * old + 0.25 * cost, std::memory_order_relaxed);
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
