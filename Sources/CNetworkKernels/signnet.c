/* The texture field's scalar SignNet encoder φ(v) + φ(−v), forward and backward, vectorised
 * over eight columns at a time (AVX2+FMA when the CPU has it, portable C otherwise). */
#include "texfield_network_kernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFK_X86 1
#endif

static inline float relu(float x) { return x > 0.0f ? x : 0.0f; }

static void forward_portable(const float *v, int64_t k, int64_t row0, int64_t row1, int32_t H,
                             const float *w1, const float *c, const float *w2, float b2, float *out) {
    for (int64_t r = row0; r < row1; r++) {
        for (int64_t j = 0; j < k; j++) {
            float x = v[r * k + j], s = 2.0f * b2;
            for (int32_t h = 0; h < H; h++) {
                float a = w1[h] * x, cb = c[(int64_t)h * k + j];
                s += w2[h] * (relu(a + cb) + relu(cb - a));
            }
            out[r * k + j] = s;
        }
    }
}

/* Columns [j0, k) of rows [row0, row1). */
static void backward_portable(const float *v, const float *g, int64_t k, int64_t j0, int64_t row0, int64_t row1, int32_t H,
                              const float *w1, const float *c, const float *w2,
                              float *dw1, float *dc, float *dw2, float *db2) {
    double sb = 0;
    for (int64_t r = row0; r < row1; r++) {
        for (int64_t j = j0; j < k; j++) {
            float x = v[r * k + j], gg = g[r * k + j];
            sb += 2.0 * gg;
            for (int32_t h = 0; h < H; h++) {
                float a = w1[h] * x, cb = c[(int64_t)h * k + j];
                float p = a + cb, m = cb - a;
                float gp = p > 0.0f ? gg * w2[h] : 0.0f, gm = m > 0.0f ? gg * w2[h] : 0.0f;
                dw2[h] += gg * (relu(p) + relu(m));
                dw1[h] += (gp - gm) * x;
                dc[(int64_t)h * k + j] += gp + gm;
            }
        }
    }
    *db2 += (float)sb;
}

#ifdef TFK_X86
__attribute__((target("avx2,fma")))
static void forward_avx2(const float *v, int64_t k, int64_t row0, int64_t row1, int32_t H,
                         const float *w1, const float *c, const float *w2, float b2, float *out) {
    const __m256 zero = _mm256_setzero_ps(), bb = _mm256_set1_ps(2.0f * b2);
    for (int64_t r = row0; r < row1; r++) {
        int64_t j = 0;
        for (; j + 8 <= k; j += 8) {
            __m256 x = _mm256_loadu_ps(v + r * k + j), s = bb;
            for (int32_t h = 0; h < H; h++) {
                __m256 a = _mm256_mul_ps(_mm256_set1_ps(w1[h]), x), cb = _mm256_loadu_ps(c + (int64_t)h * k + j);
                __m256 e = _mm256_add_ps(_mm256_max_ps(_mm256_add_ps(cb, a), zero), _mm256_max_ps(_mm256_sub_ps(cb, a), zero));
                s = _mm256_fmadd_ps(_mm256_set1_ps(w2[h]), e, s);
            }
            _mm256_storeu_ps(out + r * k + j, s);
        }
        if (j < k) {
            for (int64_t jj = j; jj < k; jj++) {
                float x = v[r * k + jj], s = 2.0f * b2;
                for (int32_t h = 0; h < H; h++) {
                    float a = w1[h] * x, cb = c[(int64_t)h * k + jj];
                    s = fmaf(w2[h], relu(cb + a) + relu(cb - a), s);
                }
                out[r * k + jj] = s;
            }
        }
    }
}

__attribute__((target("avx2,fma")))
static void backward_avx2(const float *v, const float *g, int64_t k, int64_t row0, int64_t row1, int32_t H,
                          const float *w1, const float *c, const float *w2,
                          float *dw1, float *dc, float *dw2, float *db2) {
    enum { HMAX = 64 };
    __m256 aw1[HMAX], aw2[HMAX];
    for (int32_t h = 0; h < H; h++) { aw1[h] = _mm256_setzero_ps(); aw2[h] = _mm256_setzero_ps(); }
    __m256 ab = _mm256_setzero_ps();
    const __m256 zero = _mm256_setzero_ps();
    int64_t kv = k - k % 8;
    for (int64_t r = row0; r < row1; r++) {
        for (int64_t j = 0; j < kv; j += 8) {
            __m256 x = _mm256_loadu_ps(v + r * k + j), gg = _mm256_loadu_ps(g + r * k + j);
            ab = _mm256_add_ps(ab, gg);
            for (int32_t h = 0; h < H; h++) {
                __m256 a = _mm256_mul_ps(_mm256_set1_ps(w1[h]), x), cb = _mm256_loadu_ps(c + (int64_t)h * k + j);
                __m256 p = _mm256_add_ps(cb, a), m = _mm256_sub_ps(cb, a);
                __m256 gw = _mm256_mul_ps(gg, _mm256_set1_ps(w2[h]));
                __m256 gp = _mm256_and_ps(_mm256_cmp_ps(p, zero, _CMP_GT_OQ), gw);
                __m256 gm = _mm256_and_ps(_mm256_cmp_ps(m, zero, _CMP_GT_OQ), gw);
                aw2[h] = _mm256_fmadd_ps(gg, _mm256_add_ps(_mm256_max_ps(p, zero), _mm256_max_ps(m, zero)), aw2[h]);
                aw1[h] = _mm256_fmadd_ps(_mm256_sub_ps(gp, gm), x, aw1[h]);
                float *d = dc + (int64_t)h * k + j;
                _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), _mm256_add_ps(gp, gm)));
            }
        }
    }
    float t[8];
    for (int32_t h = 0; h < H; h++) {
        _mm256_storeu_ps(t, aw1[h]); for (int i = 0; i < 8; i++) dw1[h] += t[i];
        _mm256_storeu_ps(t, aw2[h]); for (int i = 0; i < 8; i++) dw2[h] += t[i];
    }
    _mm256_storeu_ps(t, ab);
    float sb = 0; for (int i = 0; i < 8; i++) sb += t[i];
    *db2 += 2.0f * sb;
    if (kv < k) backward_portable(v, g, k, kv, row0, row1, H, w1, c, w2, dw1, dc, dw2, db2);  /* the last columns */
}
#endif

void tfk_signnet_forward(const float *v, int64_t k, int64_t row0, int64_t row1, int32_t hidden,
                         const float *w1, const float *c, const float *w2, float b2, float *out) {
#ifdef TFK_X86
    if (tfk_uses_avx2()) { forward_avx2(v, k, row0, row1, hidden, w1, c, w2, b2, out); return; }
#endif
    forward_portable(v, k, row0, row1, hidden, w1, c, w2, b2, out);
}

void tfk_signnet_backward(const float *v, const float *gout, int64_t k, int64_t row0, int64_t row1,
                          int32_t hidden, const float *w1, const float *c, const float *w2,
                          float *dw1, float *dc, float *dw2, float *db2) {
#ifdef TFK_X86
    if (tfk_uses_avx2() && hidden <= 64) { backward_avx2(v, gout, k, row0, row1, hidden, w1, c, w2, dw1, dc, dw2, db2); return; }
#endif
    backward_portable(v, gout, k, 0, row0, row1, hidden, w1, c, w2, dw1, dc, dw2, db2);
}
