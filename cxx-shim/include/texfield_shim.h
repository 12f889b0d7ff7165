/*
 * texfield_shim.h — the pure C interface of texfield's C++ numerical core.
 *
 * Why a shim: the cotangent operators, the sparse LDL^T factorisations and the
 * spectrum-slicing eigensolver are written in C++17 on Eigen and OpenBLAS; Swift
 * reaches them through this header only (no C++ interop mode). Every symbol carries
 * the `tf_` prefix, every function returns a status code, and every C++ exception is
 * caught at this boundary and turned into a status plus a message.
 *
 * Thread safety:
 *  - A built tf_operators is read-only: any number of threads may call tf_eigs, tf_eigs_check
 *    and the accessors on it at once (each call allocates its own work space).
 *  - tf_eigs uses `threads` threads of its own and OpenBLAS, whose thread count is process-wide:
 *    callers that need bit-identical results serialise solves against other BLAS users
 *    (texfield's Spectral module does, through CBLASControl's tfk_blas_exclusive_begin/end).
 *  - The progress callback is called from the calling thread only.
 *  - No global state besides TF_DEBUG, read once.
 *
 * Conventions (docs/ARCHITECTURE.md in the repository):
 *  - positions: n x 3 doubles, row-major; faces: m x 3 int32 vertex indices, row-major.
 *  - L is the cotangent stiffness matrix, positive semi-definite, rows sum to zero:
 *    L_ij = -(cot a_ij + cot b_ij)/2 for i != j, L_ii = -sum_j L_ij.
 *  - The generalised problem is L phi = lambda M phi with M-orthonormal phi.
 *  - Dense outputs are row-major (C order): vectors[i*k + j] is vertex i, eigenvector j.
 */
#ifndef TEXFIELD_SHIM_H
#define TEXFIELD_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every tf_ function. */
typedef enum {
    TF_OK = 0,
    TF_ERR_INVALID = 1,     /* bad argument or bad mesh data; the message names it */
    TF_ERR_NOMEM = 2,       /* an allocation failed */
    TF_ERR_NUMERIC = 3,     /* a factorisation or dense solve failed */
    TF_ERR_NOCONV = 4,      /* the eigensolver did not reach the tolerance */
    TF_ERR_CANCELLED = 5,   /* the progress callback asked to stop */
    TF_ERR_INTERNAL = 6     /* an unexpected C++ exception */
} tf_status;

/* Mass matrix kinds. */
typedef enum {
    TF_MASS_VORONOI = 0,     /* mixed-Voronoi lumped (libigl's default), diagonal */
    TF_MASS_BARYCENTRIC = 1, /* area/3 per incident triangle, diagonal */
    TF_MASS_FULL = 2         /* consistent linear FEM mass (A/6 diagonal, A/12 off-diagonal) */
} tf_mass_kind;

/* Opaque: the stiffness matrix L and the mass matrix M of one mesh. */
typedef struct tf_operators tf_operators;

/* Builds L and M. Faces whose area is zero (or below 1e-14 of their squared edge
 * lengths) contribute nothing to either matrix and are counted in degenerate_faces.
 * On failure *out is NULL and err holds a message. */
tf_status tf_operators_build(const double *positions, int64_t n,
                             const int32_t *faces, int64_t m, int mass_kind,
                             tf_operators **out, char *err, size_t errlen);
void tf_operators_free(tf_operators *ops);

int64_t tf_operators_size(const tf_operators *ops);
int64_t tf_operators_degenerate_faces(const tf_operators *ops);
double tf_operators_area(const tf_operators *ops);
/* which: 0 = L, 1 = M. Number of stored entries (both triangles of the symmetric matrix). */
int64_t tf_operators_nnz(const tf_operators *ops, int which);
/* Copies a matrix in compressed sparse row form: rowptr (n+1), cols (nnz), vals (nnz),
 * column indices ascending within each row. */
tf_status tf_operators_copy_csr(const tf_operators *ops, int which, int64_t *rowptr,
                                int32_t *cols, double *vals);
/* Row sums of M (equal to its diagonal for the lumped kinds). */
void tf_operators_lumped_mass(const tf_operators *ops, double *out);

/* Laplacians built on an intrinsic triangulation (tf_operators_build_intrinsic). */
typedef enum {
    TF_LAPLACIAN_INTRINSIC_DELAUNAY = 1, /* edge flips on the mesh's own edge lengths; needs an
                                            edge-manifold, consistently oriented mesh */
    TF_LAPLACIAN_ROBUST = 2              /* Sharp & Crane 2020: intrinsic tufted cover of any
                                            (non-manifold) mesh, then intrinsic Delaunay flips */
} tf_laplacian_kind;

/* Builds L and M on the intrinsic Delaunay triangulation of the mesh (kind 1) or of its
 * intrinsic tufted cover (kind 2; L and M halved, as the cover holds every face twice), after
 * intrinsic mollification: every edge length grows by the smallest eps >= 0 that makes each
 * triangle satisfy l_c <= l_a + l_b - delta, delta = mollify_factor x the mean edge length
 * (0: none). Edges whose cotan weight is below -1e-6 are flipped (geometry-central's rule).
 * L and M are multiplied by `scale` (1 for meshes; 1/3 for the point-cloud union of local
 * triangulations). Faces with a repeated vertex are skipped and counted in degenerate_faces.
 * flips_out (may be NULL) receives the number of flips. The mass kind applies to the final
 * intrinsic triangles (robust_laplacian uses barycentric). */
tf_status tf_operators_build_intrinsic(const double *positions, int64_t n,
                                       const int32_t *faces, int64_t m, int laplacian_kind,
                                       int mass_kind, double mollify_factor, double scale,
                                       int64_t *flips_out, tf_operators **out, char *err,
                                       size_t errlen);

/* The unit normal of a point's neighbourhood as robust_laplacian computes it: the third left
 * singular vector of the 3 x k matrix of neighbour offsets (columns), by Eigen's JacobiSVD, so
 * that its sign (which orients the local triangles) is the same. offsets: k x 3, row-major. */
tf_status tf_neighbourhood_normal(const double *offsets, int64_t k, double *normal_out);

/* As-Rigid-As-Possible deformation (Sorkine & Alexa 2007) with cotangent weights: the h handle
 * vertices `handles` go to `handle_positions` (h x 3) and stay there; `iterations` local/global
 * steps from the input with the handles moved. out: n x 3 positions. energy_out: NULL or
 * `iterations` doubles, the ARAP energy after each step. Every connected piece of the mesh needs
 * a handle (the error names a vertex of a piece without one). */
tf_status tf_arap_deform(const double *positions, int64_t n, const int32_t *faces, int64_t m,
                         const int32_t *handles, const double *handle_positions, int64_t h,
                         int32_t iterations, double *out, double *energy_out, char *err, size_t errlen);

/* Progress: fraction in [0, 1]; return non-zero to cancel the solve. */
typedef int (*tf_progress_fn)(void *context, double fraction);

typedef struct {
    int64_t k;               /* number of smallest eigenpairs wanted (1 <= k <= n) */
    double tolerance;        /* target relative residual; 0 = 1e-9 */
    int64_t band;            /* eigenpairs per spectral slice; 0 = automatic */
    int64_t block;           /* Lanczos block size; 0 = automatic (8) */
    int method;              /* 0 = automatic, 1 = dense, 2 = spectrum slicing */
    int threads;             /* threads for block solves; 0 = 2 */
    uint64_t seed;           /* seed of the start vectors */
    tf_progress_fn progress; /* may be NULL */
    void *progress_context;
} tf_eigs_options;

typedef struct {
    double max_residual;         /* max_i |L phi_i - lambda_i M phi_i| / (lambda_ref |M phi_i|) */
    double orthonormality_error; /* max |Phi^T M Phi - I| */
    int64_t method;              /* 1 = dense, 2 = spectrum slicing */
    int64_t slices;              /* shifts used */
    int64_t factorizations;      /* LDL^T factorisations done */
    int64_t solves;              /* right-hand sides solved */
    int64_t repairs;             /* slices that had to re-cover a whole gap */
    int64_t tolerance_missed;    /* slices accepted within 100x of the tolerance (rounding floor) */
    double seconds_factor;       /* ordering, symbolic analysis and numeric factorisation */
    double seconds_solve;
    double seconds_orthogonalize;
    double seconds_ritz;
    double seconds_check;        /* residuals and orthonormality of the result */
    double seconds_total;
    int64_t restarts;            /* thick restarts of the Lanczos bases */
} tf_eigs_stats;

/* The k smallest eigenpairs of L phi = lambda M phi, ascending. values: k; vectors: n*k
 * row-major; residuals: k (may be NULL). Each eigenvector is M-normalised and its sign
 * fixed so that its first entry of largest magnitude (within 1e-6 relative) is positive.
 * Spectrum slicing with a result of 64 MB or more keeps the finished slices' vectors in an
 * unlinked temporary file in $TMPDIR (default /tmp) until it writes `vectors` (untouched before;
 * in memory when no file can be made or a write fails). */
tf_status tf_eigs(const tf_operators *ops, const tf_eigs_options *options, double *values,
                  double *vectors, double *residuals, tf_eigs_stats *stats, char *err,
                  size_t errlen);

/* Relative residuals of given eigenpairs (vectors n*k row-major), same definition as
 * tf_eigs, and the M-orthonormality error. */
tf_status tf_eigs_check(const tf_operators *ops, int64_t k, const double *values,
                        const double *vectors, double *residuals, double *orthonormality_error,
                        char *err, size_t errlen);

/* Test hook: factorises L - sigma M, solves nrhs random right-hand sides with the blocked
 * solver and with Eigen's column-by-column reference, and reports the largest difference
 * relative to the largest entry, and the number of negative pivots (eigenvalues below sigma). */
tf_status tf_selftest_block_solve(const tf_operators *ops, double sigma, int nrhs, uint64_t seed,
                                  double *max_relative_difference, int64_t *negative_pivots,
                                  char *err, size_t errlen);

/* Test hook: `calls` block solves of 8 columns whose split-across-threads solve costs
 * split_cost and whose one-thread solve costs serial_cost (per column and factor entry); how
 * many of them the solve pace does on one thread. */
tf_status tf_selftest_solve_pace(double split_cost, double serial_cost, int calls, int *serial_choices,
                                 char *err, size_t errlen);

/* Test hook: the block Lanczos projections C = Q^T B and W += -Q C (Q n x m, B and W n x 8,
 * random) and the triangular solve W U^-1 (U 8 x 8 upper) with the projection kernels against
 * OpenBLAS: the largest differences relative to the largest entry of each result. Fails when
 * the kernels' bits depend on the thread count. *kernels_used is 0 where the processor lacks
 * them (both sides are then OpenBLAS). */
tf_status tf_selftest_projection(int64_t n, int m, uint64_t seed, double *tn_difference, double *nn_difference,
                                 double *trsm_difference, int *kernels_used, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* TEXFIELD_SHIM_H */
