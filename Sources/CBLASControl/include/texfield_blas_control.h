/* Control of OpenBLAS from texfield: its global thread count shared between callers, LAPACK's
 * symmetric eigensolver, and glibc's large-block policy.
 * Thread safety: the begin/end functions are safe from any thread (one mutex and condition
 * variable inside); tfk_symmetric_eigen is reentrant. */
#ifndef TEXFIELD_BLAS_CONTROL_H
#define TEXFIELD_BLAS_CONTROL_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Status codes of the functions below that can fail. */
enum { TFK_OK = 0, TFK_BAD_ARGUMENT = 1, TFK_FAILED = 2, TFK_OUT_OF_MEMORY = 3 };

/* All eigenpairs of a symmetric n × n matrix (LAPACK dsyevd from OpenBLAS). `a` holds the matrix
 * (column-major; only the upper triangle is read when `upper` is non-zero, else the lower) and
 * receives the orthonormal eigenvectors as columns; `w` receives the eigenvalues in ascending
 * order. Returns a TFK_ status. The one dsyevd wrapper of texfield (the C++ shim calls it too). */
int tfk_symmetric_eigen(int n, double *a, double *w, int upper);

/* glibc serves blocks of 128 KiB or more by mmap and unmaps them on free, so a training loop that
 * allocates the same few-MB matrices every step pays a page fault per 4 KiB, every step. This
 * raises the mmap threshold to 64 MiB and the trim threshold to 128 MiB (a no-op elsewhere). */
void tfk_keep_large_blocks_in_heap(void);

/* The name of the kernel family OpenBLAS chose for this CPU (or was told by OPENBLAS_CORETYPE),
 * e.g. "Zen", "Haswell", "SkylakeX": results summed by BLAS are reproducible per family. */
const char *tfk_blas_core_name(void);

/* OpenBLAS's thread count is global. Sections that run BLAS on one thread per caller (several
 * at once) bracket themselves with single_begin/end: the count is 1 while any runs. Sections
 * whose results must not depend on the count (the eigensolver) bracket themselves with
 * exclusive_begin/end: they wait for the others and run alone at the configured count. */
void tfk_blas_single_begin(void);
void tfk_blas_single_end(void);
void tfk_blas_exclusive_begin(void);
void tfk_blas_exclusive_end(void);

#ifdef __cplusplus
}
#endif
#endif
