/* texfield's small C kernels: loops that need fused multiply-add or AVX2 and that Swift,
 * compiled for baseline x86-64 without unsafe flags, cannot vectorise. Each function picks an
 * AVX2+FMA version at run time when the CPU has it and a portable one otherwise; both give
 * the same bits (every multiply-add below is an explicit fmaf, never a contraction). */
#ifndef TEXFIELD_KERNELS_H
#define TEXFIELD_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Scalars of one Adam step, rounded to float as PyTorch rounds them. */
typedef struct {
    float w1;        /* 1 − β1 (the lerp weight) */
    float b2;        /* β2 */
    float w2;        /* 1 − β2 */
    float eps;
    float bc2_sqrt;  /* √(1 − β2ᵗ) */
    float neg_step;  /* −η / (1 − β1ᵗ) */
    float decay;     /* 1 − ηλ (decoupled weight decay) */
    float l2;        /* λ (L2 form) */
    int decoupled;
} tfk_adam_constants;

/* Elements [begin, end) of one Adam/AdamW step:
 *   g' = decoupled ? g : fma(λ, p, g);  p = decoupled ? p·(1 − ηλ) : p
 *   m = fma(1 − β1, g' − m, m);  v = fma((1 − β2)·g', g', v·β2)
 *   p = p + (neg_step · m) / (√v / bc2_sqrt + ε) */
void tfk_adam(const tfk_adam_constants *c, float *p, const float *g, float *m, float *v,
              size_t begin, size_t end);

/* The sign-invariant scalar encoder of the texture field, applied to every entry v of a
 * rows × k matrix (row-major, leading dimension k):
 *   out = 2·b2 + Σ_h w2[h] · (relu(w1[h]·v + c[h][j]) + relu(−w1[h]·v + c[h][j]))
 * i.e. φ(v) + φ(−v) for φ(x) = w2ᵀ relu(w1 x + c_j) + b2, one hidden layer of `hidden` units
 * whose bias c may depend on the column j (c is hidden × k, row-major).
 * Rows [row0, row1) only (callers split the rows over threads). */
void tfk_signnet_forward(const float *v, int64_t k, int64_t row0, int64_t row1, int32_t hidden,
                         const float *w1, const float *c, const float *w2, float b2, float *out);

/* The gradients of Σ gout ⊙ out with respect to w1 (hidden), c (hidden × k), w2 (hidden) and b2,
 * over rows [row0, row1), ADDED to dw1, dc, dw2, db2 (which the caller zeroes). */
void tfk_signnet_backward(const float *v, const float *gout, int64_t k, int64_t row0, int64_t row1,
                          int32_t hidden, const float *w1, const float *c, const float *w2,
                          float *dw1, float *dc, float *dw2, float *db2);

/* sin and cos of n angles (|x| < 8192), to a few float ulps: out_sin[i] = sin(x[i]),
 * out_cos[i] = cos(x[i]). Cephes' single-precision reduction and polynomials, eight lanes
 * at a time under AVX2; the same arithmetic one at a time otherwise. */
void tfk_sincos(const float *x, int64_t n, float *out_sin, float *out_cos);

/* OpenBLAS's thread count is global. Sections that run BLAS on one thread per caller (several
 * at once) bracket themselves with single_begin/end: the count is 1 while any runs. Sections
 * whose results must not depend on the count (the eigensolver) bracket themselves with
 * exclusive_begin/end: they wait for the others and run alone at the configured count. */
/* Status codes of the functions below that can fail. */
enum { TFK_OK = 0, TFK_BAD_ARGUMENT = 1, TFK_FAILED = 2, TFK_OUT_OF_MEMORY = 3 };

/* All eigenpairs of a symmetric n × n matrix (LAPACK dsyevd from OpenBLAS). `a` holds the matrix
 * (column-major; only the lower triangle is read) and receives the orthonormal eigenvectors as
 * columns; `w` receives the eigenvalues in ascending order. Returns a TFK_ status. */
int tfk_symmetric_eigen(int n, double *a, double *w);

/* glibc serves blocks of 128 KiB or more by mmap and unmaps them on free, so a training loop that
 * allocates the same few-MB matrices every step pays a page fault per 4 KiB, every step. This
 * raises the mmap threshold to 64 MiB and the trim threshold to 128 MiB (a no-op elsewhere). */
void tfk_keep_large_blocks_in_heap(void);

void tfk_blas_single_begin(void);
void tfk_blas_single_end(void);
void tfk_blas_exclusive_begin(void);
void tfk_blas_exclusive_end(void);

/* 1 when the AVX2+FMA versions are in use. */
int tfk_uses_avx2(void);

#ifdef __cplusplus
}
#endif
#endif

#ifndef TEXFIELD_KERNELS_BVH_H
#define TEXFIELD_KERNELS_BVH_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* A bounding-volume hierarchy over triangles (binned surface-area heuristic), for first-hit
 * ray casting. Opaque; built once, then read-only (safe to query from several threads). */
typedef struct tfk_bvh tfk_bvh;

/* Builds the hierarchy over `triangle_count` triangles (`triangles`: 3 vertex indices each,
 * into `positions`: 3 floats per vertex). Triangles with zero area are kept out (never hit).
 * Returns NULL when memory runs out or an index is outside [0, vertex_count). */
tfk_bvh *tfk_bvh_build(const float *positions, int64_t vertex_count, const int32_t *triangles,
                       int64_t triangle_count);
void tfk_bvh_free(tfk_bvh *bvh);
int64_t tfk_bvh_node_count(const tfk_bvh *bvh);
int tfk_bvh_depth(const tfk_bvh *bvh);

/* First hit of the ray origin + t·direction with t in (t_min, t_max). Returns the triangle's
 * index (as given to tfk_bvh_build) or −1; on a hit writes t and the barycentric weights of
 * the triangle's 2nd and 3rd vertices (the 1st gets 1 − b1 − b2). */
int32_t tfk_bvh_intersect(const tfk_bvh *bvh, const float origin[3], const float direction[3],
                          float t_min, float t_max, float *t, float *b1, float *b2);

/* Casts the rays of pixel rows [row0, row1) of a pinhole camera (OpenCV convention: pixel
 * centres at +0.5, direction R·((c + .5 − cx)/fx, (r + .5 − cy)/fy, 1), normalised, from
 * `center`). Per pixel writes the triangle (−1: none), 3 barycentric weights and t (INFINITY
 * when nothing is hit) at index r·width + c. Returns the number of hits. */
int64_t tfk_bvh_cast_rows(const tfk_bvh *bvh, int32_t width, int32_t row0, int32_t row1,
                          const double intrinsics[4] /* fx fy cx cy */, const double rotation[9],
                          const double center[3], int32_t *face, float *barycentric, float *depth);

/* The same by testing every triangle (the reference the hierarchy is checked against). */
int32_t tfk_brute_intersect(const float *positions, const int32_t *triangles, int64_t triangle_count,
                            const float origin[3], const float direction[3], float t_min, float t_max,
                            float *t, float *b1, float *b2);

#ifdef __cplusplus
}
#endif
#endif
