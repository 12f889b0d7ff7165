/* texfield's ray-casting kernel: a BVH over triangles and first-hit queries.
 * Thread safety: a built tfk_bvh is read-only; any number of threads may query it at once. */
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

/* The point of the (non-degenerate) triangles nearest to `point`, within squared distance
 * `max_dist2` (INFINITY: any). Returns the triangle's index or −1; writes the squared distance
 * and the barycentric weights of the triangle's 2nd and 3rd vertices (Ericson's regions). */
int32_t tfk_bvh_closest(const tfk_bvh *bvh, const float point[3], float max_dist2, float *dist2,
                        float *b1, float *b2);

/* The same by testing every triangle. */
int32_t tfk_brute_closest(const float *positions, const int32_t *triangles, int64_t triangle_count,
                          const float point[3], float *dist2, float *b1, float *b2);

/* The same by testing every triangle (the reference the hierarchy is checked against). */
int32_t tfk_brute_intersect(const float *positions, const int32_t *triangles, int64_t triangle_count,
                            const float origin[3], const float direction[3], float t_min, float t_max,
                            float *t, float *b1, float *b2);

#ifdef __cplusplus
}
#endif
#endif
