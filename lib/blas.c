/*
 * blas.c - OpenBLAS's thread count, set in one place (see blas.h).
 */
#include "blas.h"

#include <cblas.h>

void botify_blas_init(void)
{
	openblas_set_num_threads(1);
}

int botify_blas_threads(void)
{
	return openblas_get_num_threads();
}
