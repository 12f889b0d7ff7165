/* texfield's network kernels: loops that need fused multiply-add or AVX2 and that Swift,
 * compiled for baseline x86-64 without unsafe flags, cannot vectorise. Each function picks an
 * AVX2+FMA version at run time when the CPU has it and a portable one otherwise; both give
 * the same bits (every multiply-add below is an explicit fmaf, never a contraction).
 * Thread safety: every function is reentrant; callers split rows or elements between threads. */
#ifndef TEXFIELD_NETWORK_KERNELS_H
#define TEXFIELD_NETWORK_KERNELS_H
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

/* 1 when the AVX2+FMA versions are in use. */
int tfk_uses_avx2(void);

#ifdef __cplusplus
}
#endif
#endif
