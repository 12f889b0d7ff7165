/* texfield's small C kernels: loops that need fused multiply-add or AVX2 and that Swift,
 * compiled for baseline x86-64 without unsafe flags, cannot vectorise. Each function picks an
 * AVX2+FMA version at run time when the CPU has it and a portable one otherwise; both give
 * the same bits (every multiply-add below is an explicit fmaf, never a contraction). */
#ifndef TEXFIELD_KERNELS_H
#define TEXFIELD_KERNELS_H
#include <stddef.h>
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

/* 1 when the AVX2+FMA versions are in use. */
int tfk_uses_avx2(void);

#ifdef __cplusplus
}
#endif
#endif
