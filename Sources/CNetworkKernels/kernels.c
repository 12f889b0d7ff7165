#include "texfield_network_kernels.h"
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFK_X86 1
#endif

static inline void adam_one(const tfk_adam_constants *c, float *p, const float *g, float *m, float *v, size_t i) {
    float gi = g[i], pi = p[i];
    if (c->decoupled) pi = pi * c->decay; else if (c->l2 != 0.0f) gi = fmaf(c->l2, pi, gi);
    float mi = fmaf(c->w1, gi - m[i], m[i]);
    float vi = fmaf(c->w2 * gi, gi, v[i] * c->b2);
    float denom = sqrtf(vi) / c->bc2_sqrt + c->eps;
    p[i] = pi + (c->neg_step * mi) / denom;
    m[i] = mi;
    v[i] = vi;
}

static void adam_portable(const tfk_adam_constants *c, float *p, const float *g, float *m, float *v,
                          size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) adam_one(c, p, g, m, v, i);
}

#ifdef TFK_X86
__attribute__((target("avx2,fma")))
static void adam_avx2(const tfk_adam_constants *c, float *p, const float *g, float *m, float *v,
                      size_t begin, size_t end) {
    const __m256 w1 = _mm256_set1_ps(c->w1), b2 = _mm256_set1_ps(c->b2), w2 = _mm256_set1_ps(c->w2);
    const __m256 eps = _mm256_set1_ps(c->eps), bc2 = _mm256_set1_ps(c->bc2_sqrt), ns = _mm256_set1_ps(c->neg_step);
    const __m256 decay = _mm256_set1_ps(c->decay), l2 = _mm256_set1_ps(c->l2);
    size_t i = begin;
    for (; i + 8 <= end; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i), pv = _mm256_loadu_ps(p + i);
        if (c->decoupled) pv = _mm256_mul_ps(pv, decay);
        else if (c->l2 != 0.0f) gv = _mm256_fmadd_ps(l2, pv, gv);
        __m256 mv = _mm256_loadu_ps(m + i), vv = _mm256_loadu_ps(v + i);
        mv = _mm256_fmadd_ps(w1, _mm256_sub_ps(gv, mv), mv);
        vv = _mm256_fmadd_ps(_mm256_mul_ps(w2, gv), gv, _mm256_mul_ps(vv, b2));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
        pv = _mm256_add_ps(pv, _mm256_div_ps(_mm256_mul_ps(ns, mv), denom));
        _mm256_storeu_ps(p + i, pv);
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
    }
    for (; i < end; i++) adam_one(c, p, g, m, v, i);
}
#endif

int tfk_uses_avx2(void) {
#ifdef TFK_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
#else
    return 0;
#endif
}

void tfk_adam(const tfk_adam_constants *c, float *p, const float *g, float *m, float *v, size_t begin, size_t end) {
#ifdef TFK_X86
    if (tfk_uses_avx2()) { adam_avx2(c, p, g, m, v, begin, end); return; }
#endif
    adam_portable(c, p, g, m, v, begin, end);
}
