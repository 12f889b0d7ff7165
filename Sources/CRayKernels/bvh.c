/* Binned-SAH BVH and first-hit traversal. Nodes are 32 bytes (bounds + child or leaf range);
 * a node's two children are adjacent, so one index reaches both. Leaves hold up to 4
 * triangles, stored as v0, e1 = v1 − v0, e2 = v2 − v0 in traversal order. */
#include "texfield_bvh.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float lo[3];
    int32_t first;   /* leaf: first triangle; inner: left child (right = first + 1) */
    float hi[3];
    int32_t count;   /* leaf: triangle count (> 0); inner: 0 */
} node_t;

struct tfk_bvh {
    node_t *nodes;
    int64_t node_count;
    int32_t *ids;     /* traversal order → original triangle index */
    float *tri;       /* 9 floats per triangle in traversal order */
    int64_t count;
    int depth;
};

enum { BINS = 16, LEAF_MAX = 4, STACK = 128 };

typedef struct { float lo[3], hi[3]; } box_t;

static inline void box_empty(box_t *b) {
    for (int a = 0; a < 3; a++) { b->lo[a] = FLT_MAX; b->hi[a] = -FLT_MAX; }
}
static inline void box_grow_box(box_t *b, const box_t *o) {
    for (int a = 0; a < 3; a++) { b->lo[a] = fminf(b->lo[a], o->lo[a]); b->hi[a] = fmaxf(b->hi[a], o->hi[a]); }
}
static inline void box_grow_pt(box_t *b, const float *p) {
    for (int a = 0; a < 3; a++) { b->lo[a] = fminf(b->lo[a], p[a]); b->hi[a] = fmaxf(b->hi[a], p[a]); }
}
static inline float box_area(const box_t *b) {
    float dx = b->hi[0] - b->lo[0], dy = b->hi[1] - b->lo[1], dz = b->hi[2] - b->lo[2];
    if (dx < 0 || dy < 0 || dz < 0) return 0;
    return dx * dy + dy * dz + dz * dx;
}

typedef struct { int64_t node, begin, end, depth; } task_t;

tfk_bvh *tfk_bvh_build(const float *pos, int64_t vertex_count, const int32_t *tris, int64_t triangle_count) {
    tfk_bvh *bvh = calloc(1, sizeof(tfk_bvh));
    if (!bvh) return NULL;
    box_t *boxes = malloc(sizeof(box_t) * (size_t)(triangle_count ? triangle_count : 1));
    float *cent = malloc(sizeof(float) * 3 * (size_t)(triangle_count ? triangle_count : 1));
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(triangle_count ? triangle_count : 1));
    node_t *nodes = malloc(sizeof(node_t) * (size_t)(2 * triangle_count + 1));
    task_t *stack = malloc(sizeof(task_t) * (size_t)(2 * triangle_count + 2));
    if (!boxes || !cent || !ids || !nodes || !stack) goto fail;
    int64_t n = 0;
    for (int64_t f = 0; f < triangle_count; f++) {
        const int32_t *t = tris + 3 * f;
        if (t[0] < 0 || t[1] < 0 || t[2] < 0 || t[0] >= vertex_count || t[1] >= vertex_count || t[2] >= vertex_count) goto fail;
        const float *a = pos + 3 * (int64_t)t[0], *b = pos + 3 * (int64_t)t[1], *c = pos + 3 * (int64_t)t[2];
        float e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
        float nx = e1[1] * e2[2] - e1[2] * e2[1], ny = e1[2] * e2[0] - e1[0] * e2[2], nz = e1[0] * e2[1] - e1[1] * e2[0];
        if (nx == 0 && ny == 0 && nz == 0) continue;  /* zero area: never hit */
        box_t bx; box_empty(&bx); box_grow_pt(&bx, a); box_grow_pt(&bx, b); box_grow_pt(&bx, c);
        boxes[f] = bx;
        for (int k = 0; k < 3; k++) cent[3 * f + k] = 0.5f * (bx.lo[k] + bx.hi[k]);
        ids[n++] = (int32_t)f;
    }
    int64_t used = 1, top = 0;
    nodes[0].count = 0;
    stack[top++] = (task_t){0, 0, n, 1};
    int depth = 0;
    while (top > 0) {
        task_t tk = stack[--top];
        if (tk.depth > depth) depth = (int)tk.depth;
        node_t *nd = &nodes[tk.node];
        box_t bounds, cb;
        box_empty(&bounds); box_empty(&cb);
        for (int64_t i = tk.begin; i < tk.end; i++) { box_grow_box(&bounds, &boxes[ids[i]]); box_grow_pt(&cb, cent + 3 * (int64_t)ids[i]); }
        if (tk.end == tk.begin) { for (int a = 0; a < 3; a++) { bounds.lo[a] = 0; bounds.hi[a] = 0; } }
        memcpy(nd->lo, bounds.lo, sizeof bounds.lo); memcpy(nd->hi, bounds.hi, sizeof bounds.hi);
        int64_t count = tk.end - tk.begin;
        int best_axis = -1, best_split = 0;
        float best_cost = FLT_MAX;
        if (count > LEAF_MAX || tk.depth >= STACK - 8) {
            for (int a = 0; a < 3 && count > LEAF_MAX && tk.depth < STACK - 8; a++) {
                float lo = cb.lo[a], ext = cb.hi[a] - cb.lo[a];
                if (!(ext > 0)) continue;
                box_t bb[BINS]; int64_t bc[BINS] = {0};
                for (int k = 0; k < BINS; k++) box_empty(&bb[k]);
                float scale = BINS / ext;
                for (int64_t i = tk.begin; i < tk.end; i++) {
                    int k = (int)((cent[3 * (int64_t)ids[i] + a] - lo) * scale);
                    if (k >= BINS) k = BINS - 1; if (k < 0) k = 0;
                    bc[k]++; box_grow_box(&bb[k], &boxes[ids[i]]);
                }
                float left_area[BINS]; int64_t left_count[BINS];
                box_t acc; box_empty(&acc); int64_t c = 0;
                for (int k = 0; k < BINS - 1; k++) { box_grow_box(&acc, &bb[k]); c += bc[k]; left_area[k] = box_area(&acc); left_count[k] = c; }
                box_empty(&acc); c = 0;
                for (int k = BINS - 1; k > 0; k--) {
                    box_grow_box(&acc, &bb[k]); c += bc[k];
                    float cost = left_area[k - 1] * (float)left_count[k - 1] + box_area(&acc) * (float)c;
                    if (left_count[k - 1] > 0 && c > 0 && cost < best_cost) { best_cost = cost; best_axis = a; best_split = k; }
                }
            }
        }
        float leaf_cost = box_area(&bounds) * (float)count;
        if (best_axis < 0 || (count <= 16 && best_cost >= leaf_cost) || count <= 1) {
            if (count > LEAF_MAX && best_axis < 0 && count > 1) {
                /* every centroid equal on all axes: split in the middle of the list */
                best_axis = 0; best_split = -1;
            } else {
                nd->first = (int32_t)tk.begin; nd->count = (int32_t)(count > 0 ? count : 0);
                if (count == 0) { nd->count = 1; nd->first = -1; }  /* empty root */
                continue;
            }
        }
        int64_t mid;
        if (best_split < 0) {
            mid = tk.begin + count / 2;
        } else {
            float lo = cb.lo[best_axis], scale = BINS / (cb.hi[best_axis] - cb.lo[best_axis]);
            int64_t i = tk.begin, j = tk.end - 1;
            while (i <= j) {
                int k = (int)((cent[3 * (int64_t)ids[i] + best_axis] - lo) * scale);
                if (k >= BINS) k = BINS - 1; if (k < 0) k = 0;
                if (k < best_split) i++; else { int32_t s = ids[i]; ids[i] = ids[j]; ids[j] = s; j--; }
            }
            mid = i;
            if (mid == tk.begin || mid == tk.end) mid = tk.begin + count / 2;
        }
        int64_t left = used; used += 2;
        nd->first = (int32_t)left; nd->count = 0;
        stack[top++] = (task_t){left, tk.begin, mid, tk.depth + 1};
        stack[top++] = (task_t){left + 1, mid, tk.end, tk.depth + 1};
    }
    free(stack); stack = NULL;
    float *tri = malloc(sizeof(float) * 9 * (size_t)(n ? n : 1));
    if (!tri) goto fail;
    for (int64_t i = 0; i < n; i++) {
        const int32_t *t = tris + 3 * (int64_t)ids[i];
        const float *a = pos + 3 * (int64_t)t[0], *b = pos + 3 * (int64_t)t[1], *c = pos + 3 * (int64_t)t[2];
        float *o = tri + 9 * i;
        for (int k = 0; k < 3; k++) { o[k] = a[k]; o[3 + k] = b[k] - a[k]; o[6 + k] = c[k] - a[k]; }
    }
    free(boxes); free(cent);
    bvh->nodes = realloc(nodes, sizeof(node_t) * (size_t)used);
    if (!bvh->nodes) bvh->nodes = nodes;
    bvh->node_count = used; bvh->ids = ids; bvh->tri = tri; bvh->count = n; bvh->depth = depth;
    return bvh;
fail:
    free(boxes); free(cent); free(ids); free(nodes); free(stack); free(bvh);
    return NULL;
}

void tfk_bvh_free(tfk_bvh *bvh) {
    if (!bvh) return;
    free(bvh->nodes); free(bvh->ids); free(bvh->tri); free(bvh);
}
int64_t tfk_bvh_node_count(const tfk_bvh *bvh) { return bvh ? bvh->node_count : 0; }
int tfk_bvh_depth(const tfk_bvh *bvh) { return bvh ? bvh->depth : 0; }

/* Möller–Trumbore with a tolerance of 1e-6 on the barycentric bounds, so that rays through a
 * shared edge hit one of its two triangles instead of slipping between them. */
static inline int hit_triangle(const float *tri, const float o[3], const float d[3], float t_min, float t_best,
                               float *t, float *u, float *v) {
    const float *e1 = tri + 3, *e2 = tri + 6;
    float p0 = d[1] * e2[2] - d[2] * e2[1], p1 = d[2] * e2[0] - d[0] * e2[2], p2 = d[0] * e2[1] - d[1] * e2[0];
    float det = e1[0] * p0 + e1[1] * p1 + e1[2] * p2;
    if (det == 0.0f) return 0;
    float inv = 1.0f / det;
    float s0 = o[0] - tri[0], s1 = o[1] - tri[1], s2 = o[2] - tri[2];
    float uu = (s0 * p0 + s1 * p1 + s2 * p2) * inv;
    const float tol = 1e-6f;
    if (uu < -tol || uu > 1.0f + tol) return 0;
    float q0 = s1 * e1[2] - s2 * e1[1], q1 = s2 * e1[0] - s0 * e1[2], q2 = s0 * e1[1] - s1 * e1[0];
    float vv = (d[0] * q0 + d[1] * q1 + d[2] * q2) * inv;
    if (vv < -tol || uu + vv > 1.0f + tol) return 0;
    float tt = (e2[0] * q0 + e2[1] * q1 + e2[2] * q2) * inv;
    if (!(tt > t_min && tt < t_best)) return 0;
    *t = tt; *u = uu; *v = vv;
    return 1;
}

static inline float slab(const node_t *nd, const float o[3], const float inv[3], float t_min, float t_max) {
    float t0 = t_min, t1 = t_max;
    for (int a = 0; a < 3; a++) {
        float ta = (nd->lo[a] - o[a]) * inv[a], tb = (nd->hi[a] - o[a]) * inv[a];
        float lo = fminf(ta, tb), hi = fmaxf(ta, tb);
        t0 = fmaxf(t0, lo); t1 = fminf(t1, hi);
    }
    return t0 <= t1 ? t0 : FLT_MAX;
}

int32_t tfk_bvh_intersect(const tfk_bvh *bvh, const float o[3], const float d[3], float t_min, float t_max,
                          float *t, float *b1, float *b2) {
    if (!bvh || bvh->count == 0) return -1;
    float inv[3];
    for (int a = 0; a < 3; a++) inv[a] = d[a] != 0.0f ? 1.0f / d[a] : copysignf(FLT_MAX, d[a]);
    float best = t_max, bu = 0, bv = 0;
    int64_t hit = -1;
    int32_t stack[STACK];
    float stack_t[STACK];
    int sp = 0;
    const node_t *nodes = bvh->nodes;
    if (slab(&nodes[0], o, inv, t_min, best) == FLT_MAX) return -1;
    int32_t cur = 0;
    for (;;) {
        const node_t *nd = &nodes[cur];
        if (nd->count > 0) {
            for (int32_t i = 0; i < nd->count; i++) {
                int64_t k = (int64_t)nd->first + i;
                float tt, uu, vv;
                if (hit_triangle(bvh->tri + 9 * k, o, d, t_min, best, &tt, &uu, &vv)) { best = tt; bu = uu; bv = vv; hit = k; }
            }
        } else {
            int32_t l = nd->first, r = l + 1;
            float tl = slab(&nodes[l], o, inv, t_min, best), tr = slab(&nodes[r], o, inv, t_min, best);
            if (tl != FLT_MAX || tr != FLT_MAX) {
                if (tl > tr) { int32_t s = l; l = r; r = s; float f = tl; tl = tr; tr = f; }
                if (tr != FLT_MAX && sp < STACK) { stack_t[sp] = tr; stack[sp++] = r; }
                cur = l;
                continue;
            }
        }
        /* pop the next node still closer than the best hit */
        for (;;) {
            if (sp == 0) goto done;
            --sp;
            if (stack_t[sp] <= best) { cur = stack[sp]; break; }
        }
    }
done:
    if (hit < 0) return -1;
    *t = best; *b1 = bu; *b2 = bv;
    return bvh->ids[hit];
}

int32_t tfk_brute_intersect(const float *pos, const int32_t *tris, int64_t triangle_count, const float o[3],
                            const float d[3], float t_min, float t_max, float *t, float *b1, float *b2) {
    float best = t_max, bu = 0, bv = 0;
    int32_t hit = -1;
    for (int64_t f = 0; f < triangle_count; f++) {
        const int32_t *tr = tris + 3 * f;
        const float *a = pos + 3 * (int64_t)tr[0], *b = pos + 3 * (int64_t)tr[1], *c = pos + 3 * (int64_t)tr[2];
        float tri[9];
        for (int k = 0; k < 3; k++) { tri[k] = a[k]; tri[3 + k] = b[k] - a[k]; tri[6 + k] = c[k] - a[k]; }
        float nx = tri[4] * tri[8] - tri[5] * tri[7], ny = tri[5] * tri[6] - tri[3] * tri[8], nz = tri[3] * tri[7] - tri[4] * tri[6];
        if (nx == 0 && ny == 0 && nz == 0) continue;
        float tt, uu, vv;
        if (hit_triangle(tri, o, d, t_min, best, &tt, &uu, &vv)) { best = tt; bu = uu; bv = vv; hit = (int32_t)f; }
    }
    if (hit >= 0) { *t = best; *b1 = bu; *b2 = bv; }
    return hit;
}

int64_t tfk_bvh_cast_rows(const tfk_bvh *bvh, int32_t width, int32_t row0, int32_t row1, const double k[4],
                          const double R[9], const double center[3], int32_t *face, float *bary, float *depth) {
    int64_t hits = 0;
    const float o[3] = {(float)center[0], (float)center[1], (float)center[2]};
    for (int32_t r = row0; r < row1; r++) {
        double y = (r + 0.5 - k[3]) / k[1];
        for (int32_t c = 0; c < width; c++) {
            double x = (c + 0.5 - k[2]) / k[0];
            double dx = R[0] * x + R[1] * y + R[2], dy = R[3] * x + R[4] * y + R[5], dz = R[6] * x + R[7] * y + R[8];
            double nrm = 1.0 / sqrt(dx * dx + dy * dy + dz * dz);
            float d[3] = {(float)(dx * nrm), (float)(dy * nrm), (float)(dz * nrm)};
            float t, b1, b2;
            int64_t i = (int64_t)r * width + c;
            int32_t f = tfk_bvh_intersect(bvh, o, d, 0.0f, INFINITY, &t, &b1, &b2);
            face[i] = f;
            if (f >= 0) {
                bary[3 * i] = 1.0f - b1 - b2; bary[3 * i + 1] = b1; bary[3 * i + 2] = b2; depth[i] = t; hits++;
            } else {
                bary[3 * i] = bary[3 * i + 1] = bary[3 * i + 2] = 0.0f; depth[i] = INFINITY;
            }
        }
    }
    return hits;
}

/* Closest point of triangle (a, a + e1, a + e2) to p (Ericson, Real-Time Collision Detection,
 * 5.1.5): squared distance, and the weights of the 2nd and 3rd vertices. */
static inline float closest_on_triangle(const float *tri, const float p[3], float *w1, float *w2) {
    const float *a = tri, *ab = tri + 3, *ac = tri + 6;
    float ap[3] = {p[0] - a[0], p[1] - a[1], p[2] - a[2]};
    float d1 = ab[0] * ap[0] + ab[1] * ap[1] + ab[2] * ap[2];
    float d2 = ac[0] * ap[0] + ac[1] * ap[1] + ac[2] * ap[2];
    float v, w;
    if (d1 <= 0 && d2 <= 0) { v = 0; w = 0; goto out; }
    float bp[3] = {ap[0] - ab[0], ap[1] - ab[1], ap[2] - ab[2]};
    float d3 = ab[0] * bp[0] + ab[1] * bp[1] + ab[2] * bp[2];
    float d4 = ac[0] * bp[0] + ac[1] * bp[1] + ac[2] * bp[2];
    if (d3 >= 0 && d4 <= d3) { v = 1; w = 0; goto out; }
    float vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) { v = d1 / (d1 - d3); w = 0; goto out; }
    float cp[3] = {ap[0] - ac[0], ap[1] - ac[1], ap[2] - ac[2]};
    float d5 = ab[0] * cp[0] + ab[1] * cp[1] + ab[2] * cp[2];
    float d6 = ac[0] * cp[0] + ac[1] * cp[1] + ac[2] * cp[2];
    if (d6 >= 0 && d5 <= d6) { v = 0; w = 1; goto out; }
    float vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) { v = 0; w = d2 / (d2 - d6); goto out; }
    float va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6)); v = 1 - w; goto out;
    }
    {
        float denom = 1.0f / (va + vb + vc);
        v = vb * denom; w = vc * denom;
    }
out:;
    float q[3];
    for (int k = 0; k < 3; k++) q[k] = a[k] + v * ab[k] + w * ac[k] - p[k];
    *w1 = v; *w2 = w;
    return q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
}

static inline float box_dist2(const node_t *nd, const float p[3]) {
    float s = 0;
    for (int a = 0; a < 3; a++) {
        float d = fmaxf(fmaxf(nd->lo[a] - p[a], 0.0f), p[a] - nd->hi[a]);
        s += d * d;
    }
    return s;
}

int32_t tfk_bvh_closest(const tfk_bvh *bvh, const float p[3], float max_dist2, float *dist2, float *b1, float *b2) {
    if (!bvh || bvh->count == 0) return -1;
    float best = max_dist2, bu = 0, bv = 0;
    int64_t hit = -1;
    int32_t stack[STACK];
    float stack_d[STACK];
    int sp = 0;
    const node_t *nodes = bvh->nodes;
    if (box_dist2(&nodes[0], p) > best) return -1;
    int32_t cur = 0;
    for (;;) {
        const node_t *nd = &nodes[cur];
        if (nd->count > 0) {
            for (int32_t i = 0; i < nd->count; i++) {
                int64_t k = (int64_t)nd->first + i;
                float uu, vv, dd = closest_on_triangle(bvh->tri + 9 * k, p, &uu, &vv);
                if (dd < best || (dd == best && hit >= 0 && bvh->ids[k] < bvh->ids[hit])) { best = dd; bu = uu; bv = vv; hit = k; }
            }
        } else {
            int32_t l = nd->first, r = l + 1;
            float dl = box_dist2(&nodes[l], p), dr = box_dist2(&nodes[r], p);
            if (dl > dr) { int32_t s = l; l = r; r = s; float f = dl; dl = dr; dr = f; }
            if (dl <= best) {
                if (dr <= best && sp < STACK) { stack_d[sp] = dr; stack[sp++] = r; }
                cur = l;
                continue;
            }
        }
        for (;;) {
            if (sp == 0) goto done;
            --sp;
            if (stack_d[sp] <= best) { cur = stack[sp]; break; }
        }
    }
done:
    if (hit < 0) return -1;
    *dist2 = best; *b1 = bu; *b2 = bv;
    return bvh->ids[hit];
}

int32_t tfk_brute_closest(const float *pos, const int32_t *tris, int64_t triangle_count, const float p[3],
                          float *dist2, float *b1, float *b2) {
    float best = INFINITY, bu = 0, bv = 0;
    int32_t hit = -1;
    for (int64_t f = 0; f < triangle_count; f++) {
        const float *a = pos + 3 * (int64_t)tris[3 * f], *b = pos + 3 * (int64_t)tris[3 * f + 1], *c = pos + 3 * (int64_t)tris[3 * f + 2];
        float tri[9] = {a[0], a[1], a[2], b[0] - a[0], b[1] - a[1], b[2] - a[2], c[0] - a[0], c[1] - a[1], c[2] - a[2]};
        float cr[3] = {tri[4] * tri[8] - tri[5] * tri[7], tri[5] * tri[6] - tri[3] * tri[8], tri[3] * tri[7] - tri[4] * tri[6]};
        if (cr[0] == 0 && cr[1] == 0 && cr[2] == 0) continue; /* zero area: not in the hierarchy either */
        float uu, vv, dd = closest_on_triangle(tri, p, &uu, &vv);
        if (dd < best) { best = dd; bu = uu; bv = vv; hit = (int32_t)f; }
    }
    if (hit < 0) return -1;
    *dist2 = best; *b1 = bu; *b2 = bv;
    return hit;
}
