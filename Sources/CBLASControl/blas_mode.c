/* Coordination of OpenBLAS's global thread count between texfield's users of BLAS:
 * data-parallel sections (the network kernels: one block of rows per core, BLAS on one thread)
 * and exclusive sections (the eigensolver, whose reductions must always see the same thread
 * count so that its results are the same to the bit). Single-threaded sections may overlap each
 * other; an exclusive section waits for them to end and runs alone. The thread count is changed
 * only inside the mutex. */
#include "texfield_blas_control.h"
#include <cblas.h>
#include <pthread.h>

static pthread_mutex_t mode_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mode_changed = PTHREAD_COND_INITIALIZER;
static int singles = 0, exclusive = 0, saved = 0;

void tfk_blas_single_begin(void) {
    pthread_mutex_lock(&mode_lock);
    while (exclusive) pthread_cond_wait(&mode_changed, &mode_lock);
    if (singles++ == 0) { saved = openblas_get_num_threads(); openblas_set_num_threads(1); }
    pthread_mutex_unlock(&mode_lock);
}

void tfk_blas_single_end(void) {
    pthread_mutex_lock(&mode_lock);
    if (--singles == 0) { openblas_set_num_threads(saved); pthread_cond_broadcast(&mode_changed); }
    pthread_mutex_unlock(&mode_lock);
}

void tfk_blas_exclusive_begin(void) {
    pthread_mutex_lock(&mode_lock);
    while (exclusive || singles > 0) pthread_cond_wait(&mode_changed, &mode_lock);
    exclusive = 1;
    pthread_mutex_unlock(&mode_lock);
}

void tfk_blas_exclusive_end(void) {
    pthread_mutex_lock(&mode_lock);
    exclusive = 0;
    pthread_cond_broadcast(&mode_changed);
    pthread_mutex_unlock(&mode_lock);
}

#include <malloc.h>

void tfk_keep_large_blocks_in_heap(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
#endif
}

const char *tfk_blas_core_name(void) {
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}
