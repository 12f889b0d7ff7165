// Dense symmetric eigenproblems through the LAPACK that OpenBLAS carries (dsyevd).
#include "texfield_blas_control.h"
#include <stdlib.h>

// Fortran LAPACK entry point exported by libopenblas (no lapack.h on a plain OpenBLAS install).
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

int tfk_symmetric_eigen(int n, double *a, double *w, int upper) {
    if (n < 0 || (n > 0 && (a == NULL || w == NULL))) return TFK_BAD_ARGUMENT;
    if (n == 0) return TFK_OK;
    const char jobz = 'V', uplo = upper ? 'U' : 'L';
    int info = 0, lwork = -1, liwork = -1, iwq = 0;
    double wq = 0;
    dsyevd_(&jobz, &uplo, &n, a, &n, w, &wq, &lwork, &iwq, &liwork, &info);  // workspace query
    if (info != 0) return TFK_FAILED;
    lwork = (int)wq + 1; liwork = iwq + 1;
    double *work = malloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1));
    int *iwork = malloc(sizeof(int) * (size_t)(liwork > 1 ? liwork : 1));
    if (!work || !iwork) { free(work); free(iwork); return TFK_OUT_OF_MEMORY; }
    dsyevd_(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, &info);
    free(work); free(iwork);
    return info == 0 ? TFK_OK : TFK_FAILED;
}
