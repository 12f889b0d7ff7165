/* Vectorised sin/cos (Cephes sinf/cosf: octant reduction by π/4 in three parts, degree-7/8
 * minimax polynomials), for the random Fourier features of the xyz baseline. */
#include "texfield_network_kernels.h"
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFK_X86 1
#endif

static const float DP1 = 0.78515625f, DP2 = 2.4187564849853515625e-4f, DP3 = 3.77489497744594108e-8f;
static const float FOPI = 1.27323954473516f; /* 4/π */
static const float S1 = -1.9515295891e-4f, S2 = 8.3321608736e-3f, S3 = -1.6666654611e-1f;
static const float C1 = 2.443315711809948e-5f, C2 = -1.388731625493765e-3f, C3 = 4.166664568298827e-2f;

static inline void sincos_one(float x, float *s, float *c) {
    float ax = fabsf(x);
    int j = (int)(ax * FOPI);
    j = (j + 1) & ~1;
    float y = (float)j;
    float r = ((ax - y * DP1) - y * DP2) - y * DP3;
    float z = r * r;
    float pc = ((C1 * z + C2) * z + C3) * z * z - 0.5f * z + 1.0f;
    float ps = ((S1 * z + S2) * z + S3) * z * r + r;
    /* octant j: sin(r + jπ/4) and cos(r + jπ/4) from the two polynomials */
    float sv = (j & 2) ? pc : ps;
    float cv = (j & 2) ? -ps : pc;
    if (j & 4) { sv = -sv; cv = -cv; }
    if (x < 0) sv = -sv;
    *s = sv; *c = cv;
}

#ifdef TFK_X86
__attribute__((target("avx2,fma")))
static void sincos_avx2(const float *x, int64_t n, float *os, float *oc) {
    const __m256 signmask = _mm256_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        __m256 sx = _mm256_and_ps(xv, signmask);
        __m256 ax = _mm256_andnot_ps(signmask, xv);
        __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(ax, _mm256_set1_ps(FOPI)));
        j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
        __m256 y = _mm256_cvtepi32_ps(j);
        __m256 r = _mm256_sub_ps(_mm256_sub_ps(_mm256_sub_ps(ax, _mm256_mul_ps(y, _mm256_set1_ps(DP1))),
                                               _mm256_mul_ps(y, _mm256_set1_ps(DP2))), _mm256_mul_ps(y, _mm256_set1_ps(DP3)));
        __m256 z = _mm256_mul_ps(r, r);
        __m256 pc = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(C1), z), _mm256_set1_ps(C2)), z), _mm256_set1_ps(C3)), z), z),
                                  _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(_mm256_set1_ps(0.5f), z)));
        __m256 ps = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(S1), z), _mm256_set1_ps(S2)), z), _mm256_set1_ps(S3)), z), r), r);
        __m256 swap = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, _mm256_set1_epi32(2)), _mm256_set1_epi32(2)));
        __m256 neg4 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, _mm256_set1_epi32(4)), 29));
        __m256 sv = _mm256_blendv_ps(ps, pc, swap);
        __m256 cv = _mm256_blendv_ps(pc, _mm256_xor_ps(ps, signmask), swap);
        sv = _mm256_xor_ps(_mm256_xor_ps(sv, neg4), sx);
        cv = _mm256_xor_ps(cv, neg4);
        _mm256_storeu_ps(os + i, sv);
        _mm256_storeu_ps(oc + i, cv);
    }
    for (; i < n; i++) sincos_one(x[i], os + i, oc + i);
}
#endif

void tfk_sincos(const float *x, int64_t n, float *os, float *oc) {
#ifdef TFK_X86
    if (tfk_uses_avx2()) { sincos_avx2(x, n, os, oc); return; }
#endif
    for (int64_t i = 0; i < n; i++) sincos_one(x[i], os + i, oc + i);
}
