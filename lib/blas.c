/*
 * blas.c - OpenBLAS's thread count, set in one place (see blas.h).
 */
#include "blas.h"

#include <cblas.h>

/* The pthread build of OpenBLAS starts its pool when the library loads, and
 * an idle pool thread spins in sched_yield for about 2^28 cycles before it
 * sleeps: a core taken from the first tenth of a second of every run.
 * Other builds have no pool (weak: the symbol may be absent). */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void botify_blas_init(void)
{
	openblas_set_num_threads(1);
	if (blas_thread_shutdown_)
		blas_thread_shutdown_(); /* one thread per call needs no pool */
}

int botify_blas_threads(void)
{
	return openblas_get_num_threads();
}
