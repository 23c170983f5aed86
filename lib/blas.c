/*
 * blas.c - OpenBLAS's thread count, set in one place (see blas.h).
 */
#include "blas.h"

#include <cblas.h>

/* OpenBLAS's own (it stops its pool on fork with it); absent from other
 * BLAS builds, hence weak. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void botify_blas_init(void)
{
	openblas_set_num_threads(1);
	/* The pool, started while the program was loaded, busy-waits for
	 * about 2^28 cycles (0.1 s) before its threads sleep: one core lost
	 * by every command in its first tenth of a second (half of what `ab
	 * --threads 2` needs for a million rows), although no call will use
	 * the pool. Stopped here, after the count is 1, it is not started
	 * again. */
	if (blas_thread_shutdown_)
		blas_thread_shutdown_();
}

int botify_blas_threads(void)
{
	return openblas_get_num_threads();
}
