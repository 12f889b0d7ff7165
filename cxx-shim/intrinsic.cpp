// Laplacians on intrinsic triangulations: the intrinsic Delaunay triangulation of a manifold
// mesh, and the robust Laplacian of Sharp & Crane ("A Laplacian for Nonmanifold Triangle
// Meshes", SGP 2020): intrinsic mollification, the intrinsic tufted cover, Delaunay flips.
//
// Written from the paper and from the definitions of geometry-central (tufted_laplacian.cpp,
// simple_idt.cpp, intrinsic_mollification.cpp), whose results robust_laplacian returns; the
// tests compare with that package's matrices (Tests/SpectralTests/Fixtures).
//
// Representation: faces with three vertices, three side lengths (side s runs from vertex s
// to vertex s+1) and, per side, the side of another (or the same) face it is glued to
// (3*g + d), or -1 on a boundary. Intrinsic triangulations may glue a face to itself or
// join a vertex to itself; nothing here assumes otherwise.
#include "common.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <vector>

namespace {

struct Triangulation {
    std::vector<std::array<int32_t, 3>> v;
    std::vector<std::array<double, 3>> len;
    std::vector<std::array<int64_t, 3>> adj;

    size_t faces() const { return v.size(); }
    double &length(int64_t side) { return len[size_t(side / 3)][size_t(side % 3)]; }
    int64_t &partner(int64_t side) { return adj[size_t(side / 3)][size_t(side % 3)]; }
};

// Heron's formula as geometry-central's triangleArea.
double triangle_area(double a, double b, double c) {
    double s = 0.5 * (a + b + c);
    double arg = s * (s - a) * (s - b) * (s - c);
    return std::sqrt(std::fmax(0.0, arg));
}

// Half the cotangent of the angle opposite side s of face f.
double half_cot(const Triangulation &t, size_t f, int s) {
    const auto &l = t.len[f];
    double lij = l[size_t(s)], ljk = l[size_t((s + 1) % 3)], lki = l[size_t((s + 2) % 3)];
    double area = triangle_area(lij, ljk, lki);
    return (-lij * lij + ljk * ljk + lki * lki) / (4.0 * area) / 2.0;
}

double edge_weight(const Triangulation &t, int64_t side) {
    double w = half_cot(t, size_t(side / 3), int(side % 3));
    int64_t p = t.adj[size_t(side / 3)][size_t(side % 3)];
    if (p >= 0) w += half_cot(t, size_t(p / 3), int(p % 3));
    return w;
}

// Flips the edge at `side` (glued to another face); returns false when it cannot be flipped.
bool flip(Triangulation &t, int64_t side) {
    const int64_t f = side / 3, s = side % 3;
    const int64_t other = t.partner(side);
    if (other < 0) return false;
    const int64_t g = other / 3, d = other % 3;
    if (g == f) return false;
    auto sf = [&](int64_t k) { return 3 * f + (s + k) % 3; };
    auto sg = [&](int64_t k) { return 3 * g + (d + k) % 3; };
    const int32_t a = t.v[size_t(f)][size_t(s)], b = t.v[size_t(f)][size_t((s + 1) % 3)];
    const int32_t x = t.v[size_t(f)][size_t((s + 2) % 3)], y = t.v[size_t(g)][size_t((d + 2) % 3)];
    const double lab = t.length(side), lbx = t.length(sf(1)), lxa = t.length(sf(2));
    const double lay = t.length(sg(1)), lyb = t.length(sg(2));
    // Lay the two triangles out in the plane: a at the origin, b on the x axis, x above, y below.
    const double ax = (lab * lab + lxa * lxa - lbx * lbx) / (2 * lab);
    const double hx = 2 * triangle_area(lab, lbx, lxa) / lab;
    const double ay = (lab * lab + lay * lay - lyb * lyb) / (2 * lab);
    const double hy = 2 * triangle_area(lab, lay, lyb) / lab;
    const double lxy = std::hypot(ax - ay, hx + hy);
    if (!std::isfinite(lxy) || lxy <= 0) return false;

    // Old outer sides, their new places: new f = (x, a, y), new g = (y, b, x).
    const int64_t oldSide[4] = {sf(2), sg(1), sg(2), sf(1)};            // x→a, a→y, y→b, b→x
    const int64_t newSide[4] = {3 * f + 0, 3 * f + 1, 3 * g + 0, 3 * g + 1};
    int64_t partnerOf[4];
    double lengthOf[4];
    for (int k = 0; k < 4; ++k) { partnerOf[k] = t.partner(oldSide[k]); lengthOf[k] = t.length(oldSide[k]); }
    auto moved = [&](int64_t p) {
        for (int k = 0; k < 4; ++k)
            if (p == oldSide[k]) return newSide[k];
        return p;
    };
    t.v[size_t(f)] = {x, a, y};
    t.v[size_t(g)] = {y, b, x};
    for (int k = 0; k < 4; ++k) t.length(newSide[k]) = lengthOf[k];
    t.length(3 * f + 2) = lxy;
    t.length(3 * g + 2) = lxy;
    t.partner(3 * f + 2) = 3 * g + 2;
    t.partner(3 * g + 2) = 3 * f + 2;
    for (int k = 0; k < 4; ++k) {
        int64_t p = partnerOf[k] < 0 ? -1 : moved(partnerOf[k]);
        t.partner(newSide[k]) = p;
        if (p >= 0) t.partner(p) = newSide[k];
    }
    return true;
}

// Flips every edge whose cotan weight is below -eps until none is; returns the flip count.
int64_t flip_to_delaunay(Triangulation &t, double eps) {
    const int64_t sides = int64_t(3 * t.faces());
    std::deque<int64_t> queue;
    std::vector<char> queued(size_t(sides), 1);
    for (int64_t i = 0; i < sides; ++i) queue.push_back(i);
    int64_t flips = 0;
    const int64_t limit = 1000 * sides + 1000;
    while (!queue.empty()) {
        int64_t side = queue.front();
        queue.pop_front();
        queued[size_t(side)] = 0;
        if (t.partner(side) < 0 || !(edge_weight(t, side) < -eps)) continue;
        const int64_t f = side / 3, g = t.partner(side) / 3;
        if (!flip(t, side)) continue;
        if (++flips > limit)
            throw tf::Error(TF_ERR_NUMERIC, "intrinsic Delaunay flips did not terminate (" +
                                                std::to_string(flips) + " flips)");
        for (int64_t n : {3 * f, 3 * f + 1, 3 * g, 3 * g + 1})
            if (!queued[size_t(n)]) { queued[size_t(n)] = 1; queue.push_back(n); }
    }
    return flips;
}

struct Vec3 {
    double x, y, z;
};
Vec3 sub(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
double dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
Vec3 cross(Vec3 a, Vec3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
Vec3 unit(Vec3 a) {
    double n = std::sqrt(dot(a, a));
    return {a.x / n, a.y / n, a.z / n};
}

} // namespace

extern "C" tf_status tf_operators_build_intrinsic(const double *V, int64_t n, const int32_t *F,
                                                  int64_t m, int kind, int mass_kind,
                                                  double mollify_factor, double scale,
                                                  int64_t *flips_out, tf_operators **out,
                                                  char *err, size_t errlen) {
    if (out) *out = nullptr;
    return tf::guarded(err, errlen, [&] {
        using tf::Error;
        if (!out) throw Error(TF_ERR_INVALID, "output pointer is NULL");
        if (n <= 0) throw Error(TF_ERR_INVALID, "the mesh has no vertices");
        if (m <= 0) throw Error(TF_ERR_INVALID, "the mesh has no faces");
        if (n > INT32_MAX - 1 || m > (INT64_MAX / 8) / 3) throw Error(TF_ERR_INVALID, "mesh too large");
        if (kind != TF_LAPLACIAN_INTRINSIC_DELAUNAY && kind != TF_LAPLACIAN_ROBUST)
            throw Error(TF_ERR_INVALID, "unknown Laplacian kind " + std::to_string(kind));
        if (mass_kind < 0 || mass_kind > 2)
            throw Error(TF_ERR_INVALID, "unknown mass kind " + std::to_string(mass_kind));
        if (!(std::isfinite(mollify_factor) && mollify_factor >= 0))
            throw Error(TF_ERR_INVALID, "mollify factor " + std::to_string(mollify_factor) +
                                            " must be finite and >= 0");
        if (!(std::isfinite(scale) && scale > 0)) throw Error(TF_ERR_INVALID, "scale must be positive");
        for (int64_t i = 0; i < 3 * n; ++i)
            if (!std::isfinite(V[i]))
                throw Error(TF_ERR_INVALID, "vertex index " + std::to_string(i / 3) +
                                                " (0-based) has a non-finite coordinate");
        for (int64_t f = 0; f < 3 * m; ++f)
            if (F[f] < 0 || F[f] >= n)
                throw Error(TF_ERR_INVALID, "face index " + std::to_string(f / 3) +
                                                " (0-based) refers to vertex index " +
                                                std::to_string(F[f]) + ", outside 0..<" +
                                                std::to_string(n));
        auto pos = [&](int32_t i) { return Vec3{V[3 * i], V[3 * i + 1], V[3 * i + 2]}; };

        // The faces kept (no repeated vertex) and their edge lengths.
        Triangulation t;
        int64_t skipped = 0;
        for (int64_t f = 0; f < m; ++f) {
            int32_t a = F[3 * f], b = F[3 * f + 1], c = F[3 * f + 2];
            if (a == b || b == c || a == c) { skipped++; continue; }
            t.v.push_back({a, b, c});
            std::array<double, 3> l;
            for (int s = 0; s < 3; ++s) {
                Vec3 d = sub(pos(t.v.back()[size_t((s + 1) % 3)]), pos(t.v.back()[size_t(s)]));
                l[size_t(s)] = std::sqrt(dot(d, d));
            }
            t.len.push_back(l);
        }
        const int64_t mf = int64_t(t.faces());
        if (mf == 0) throw Error(TF_ERR_INVALID, "every face of the mesh repeats a vertex");

        // Undirected edges: (min, max, side), sorted so that each edge's sides are adjacent and
        // in face order.
        struct EdgeSide { int32_t lo, hi; int64_t side; };
        std::vector<EdgeSide> sides;
        sides.reserve(size_t(3 * mf));
        for (int64_t f = 0; f < mf; ++f)
            for (int s = 0; s < 3; ++s) {
                int32_t a = t.v[size_t(f)][size_t(s)], b = t.v[size_t(f)][size_t((s + 1) % 3)];
                sides.push_back({std::min(a, b), std::max(a, b), 3 * f + s});
            }
        std::sort(sides.begin(), sides.end(), [](const EdgeSide &p, const EdgeSide &q) {
            return p.lo != q.lo ? p.lo < q.lo : p.hi != q.hi ? p.hi < q.hi : p.side < q.side;
        });

        // Mollification on the input's edges (geometry-central's mollifyIntrinsic).
        if (mollify_factor > 0) {
            double sum = 0;
            int64_t edges = 0;
            for (size_t i = 0; i < sides.size(); ++i)
                if (i == 0 || sides[i].lo != sides[i - 1].lo || sides[i].hi != sides[i - 1].hi) {
                    sum += t.length(sides[i].side);
                    edges++;
                }
            const double delta = mollify_factor * sum / double(edges);
            double eps = 0;
            for (const auto &l : t.len)
                for (int s = 0; s < 3; ++s)
                    eps = std::fmax(eps, l[size_t((s + 2) % 3)] - l[size_t(s)] - l[size_t((s + 1) % 3)] + delta);
            for (auto &l : t.len)
                for (auto &x : l) x += eps;
        }

        int64_t flips = 0;
        t.adj.assign(size_t(mf), {-1, -1, -1});
        auto tail = [&](int64_t side) { return t.v[size_t(side / 3)][size_t(side % 3)]; };
        if (kind == TF_LAPLACIAN_INTRINSIC_DELAUNAY) {
            for (size_t i = 0; i < sides.size();) {
                size_t j = i;
                while (j < sides.size() && sides[j].lo == sides[i].lo && sides[j].hi == sides[i].hi) ++j;
                if (j - i > 2)
                    throw Error(TF_ERR_INVALID, "the edge between vertex indices " + std::to_string(sides[i].lo) +
                                                    " and " + std::to_string(sides[i].hi) + " (0-based) has " +
                                                    std::to_string(j - i) +
                                                    " faces (non-manifold); the robust Laplacian handles it");
                if (j - i == 2) {
                    int64_t p = sides[i].side, q = sides[i + 1].side;
                    if (tail(p) == tail(q))
                        throw Error(TF_ERR_INVALID, "faces " + std::to_string(p / 3) + " and " + std::to_string(q / 3) +
                                                        " (0-based, among faces without a repeated vertex) run the same way along "
                                                        "their common edge (inconsistent orientation); the robust Laplacian handles it");
                    t.partner(p) = q;
                    t.partner(q) = p;
                }
                i = j;
            }
        } else {
            // The intrinsic tufted cover: every face twice (the copy reversed: (a, c, b), whose
            // side 2 - s runs along side s of the original, the other way), glued around each
            // edge in angular order, each sheet to the next.
            t.v.resize(size_t(2 * mf));
            t.len.resize(size_t(2 * mf));
            t.adj.assign(size_t(2 * mf), {-1, -1, -1});
            for (int64_t f = 0; f < mf; ++f) {
                auto fv = t.v[size_t(f)];
                auto fl = t.len[size_t(f)];
                t.v[size_t(mf + f)] = {fv[0], fv[2], fv[1]};
                t.len[size_t(mf + f)] = {fl[2], fl[1], fl[0]};
            }
            auto other_sheet = [&](int64_t side) {
                int64_t f = side / 3, s = side % 3;
                return f < mf ? 3 * (mf + f) + (2 - s) : 3 * (f - mf) + (2 - s);
            };
            std::vector<std::pair<double, int64_t>> around;
            for (size_t i = 0; i < sides.size();) {
                size_t j = i;
                while (j < sides.size() && sides[j].lo == sides[i].lo && sides[j].hi == sides[i].hi) ++j;
                // The edge's direction: that of its first side (in face order).
                const int32_t from = tail(sides[i].side);
                // geometry-central's order around an edge before its sort: the first side, then
                // the others latest first (its sibling cycle); with the (stable, for up to 16
                // faces) sort it decides between exactly repeated faces, as in a point cloud's
                // union of local triangulations.
                around.clear();
                around.push_back({0.0, sides[i].side});
                for (size_t k = j; k > i + 1; --k) around.push_back({0.0, sides[k - 1].side});
                if (j - i > 2) {
                    const int32_t to = from == sides[i].lo ? sides[i].hi : sides[i].lo;
                    Vec3 pTail = pos(from), dir = unit(sub(pos(to), pTail));
                    Vec3 test{1, 0, 0};
                    if (std::fabs(dot(test, dir)) > 0.9) test = Vec3{0, 1, 0};
                    Vec3 bx = unit(cross(test, dir)), by = unit(cross(dir, bx));
                    for (auto &e : around) {
                        int64_t f = e.second / 3, s = e.second % 3;
                        Vec3 out = unit(sub(pos(t.v[size_t(f)][size_t((s + 2) % 3)]), pTail));
                        e.first = std::atan2(dot(by, out), dot(bx, out));
                    }
                    std::stable_sort(around.begin(), around.end(),
                                     [](const auto &p, const auto &q) { return p.first > q.first; });
                }
                auto along = [&](int64_t side) { return tail(side) == from; };
                int64_t curr = around[0].second;
                if (along(curr)) curr = other_sheet(curr);
                for (size_t k = 0; k < around.size(); ++k) {
                    int64_t next = around[(k + 1) % around.size()].second;
                    if (along(curr) == along(next)) next = other_sheet(next);
                    t.partner(curr) = next;
                    t.partner(next) = curr;
                    curr = other_sheet(next);
                }
                i = j;
            }
        }
        flips = flip_to_delaunay(t, 1e-6);
        if (flips_out) *flips_out = flips;

        // The matrices of the final triangulation.
        const double factor = scale * (kind == TF_LAPLACIAN_ROBUST ? 0.5 : 1.0);
        auto ops = std::make_unique<tf_operators>();
        ops->n = n;
        ops->degenerate = skipped;
        std::vector<Eigen::Triplet<double, int>> lt, mt;
        lt.reserve(4 * 3 * t.faces());
        mt.reserve((mass_kind == TF_MASS_FULL ? 9 : 3) * t.faces());
        for (size_t f = 0; f < t.faces(); ++f) {
            const auto &l = t.len[f];
            const auto &v = t.v[f];
            double A = triangle_area(l[0], l[1], l[2]);
            if (!(A > 0) || !std::isfinite(A))
                throw Error(TF_ERR_NUMERIC, "an intrinsic triangle has zero area (vertex indices " + std::to_string(v[0]) +
                                                ", " + std::to_string(v[1]) + ", " + std::to_string(v[2]) +
                                                "); use a positive mollify factor");
            ops->area += factor * A;
            for (int s = 0; s < 3; ++s) {
                double w = factor * half_cot(t, f, s);
                int i = v[size_t(s)], j = v[size_t((s + 1) % 3)];
                lt.emplace_back(i, j, -w);
                lt.emplace_back(j, i, -w);
                lt.emplace_back(i, i, w);
                lt.emplace_back(j, j, w);
            }
            if (mass_kind == TF_MASS_BARYCENTRIC) {
                for (int c = 0; c < 3; ++c) mt.emplace_back(v[size_t(c)], v[size_t(c)], factor * A / 3.0);
            } else if (mass_kind == TF_MASS_FULL) {
                for (int a = 0; a < 3; ++a)
                    for (int b = 0; b < 3; ++b)
                        mt.emplace_back(v[size_t(a)], v[size_t(b)], factor * (a == b ? A / 6.0 : A / 12.0));
            } else {
                // Mixed Voronoi from lengths; corner c sits opposite side (c + 1) % 3.
                double opp[3], opp2[3], quad[3];
                for (int c = 0; c < 3; ++c) { opp[c] = l[size_t((c + 1) % 3)]; opp2[c] = opp[c] * opp[c]; }
                tf::mixed_voronoi_areas(opp2, opp, A, quad);
                for (int c = 0; c < 3; ++c) mt.emplace_back(v[size_t(c)], v[size_t(c)], factor * quad[c]);
            }
        }
        if (kind == TF_LAPLACIAN_ROBUST) {
            // A vertex in no face gets L_ii = 1 and M_ii = 1e-3 times the smallest entry of M,
            // as robust_laplacian does (its stripUnusedVertices and re-indexing).
            std::vector<char> used(size_t(n), 0);
            for (int64_t f = 0; f < mf; ++f)
                for (int c = 0; c < 3; ++c) used[size_t(t.v[size_t(f)][size_t(c)])] = 1;
            if (std::find(used.begin(), used.end(), 0) != used.end()) {
                Eigen::SparseMatrix<double> M(n, n);
                M.setFromTriplets(mt.begin(), mt.end());
                double smallest = std::numeric_limits<double>::infinity();
                for (int64_t k = 0; k < M.nonZeros(); ++k) smallest = std::fmin(smallest, std::fabs(M.valuePtr()[k]));
                for (int64_t i = 0; i < n; ++i)
                    if (!used[size_t(i)]) {
                        lt.emplace_back(int(i), int(i), 1.0);
                        mt.emplace_back(int(i), int(i), 1e-3 * smallest);
                    }
            }
        }
        tf::set_matrices(*ops, n, lt, mt, mass_kind != TF_MASS_FULL, true);
        *out = ops.release();
    });
}

extern "C" tf_status tf_neighbourhood_normal(const double *offsets, int64_t k, double *normal) {
    return tf::guarded(nullptr, 0, [&] {
        if (k < 1 || !offsets || !normal) throw tf::Error(TF_ERR_INVALID, "bad arguments");
        Eigen::MatrixXd local(3, k);
        for (int64_t j = 0; j < k; ++j)
            for (int r = 0; r < 3; ++r) local(r, j) = offsets[3 * j + r];
        // Full U: with fewer than 3 neighbours the thin U has fewer than 3 columns (for k >= 3
        // the two are the same matrix).
        Eigen::JacobiSVD<Eigen::MatrixXd> svd(local, Eigen::ComputeFullU);
        Eigen::Vector3d n = svd.matrixU().col(2);
        n /= n.norm();
        for (int r = 0; r < 3; ++r) normal[r] = n(r);
    });
}
