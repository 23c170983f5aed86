/*
 * blas.h - the one owner of OpenBLAS's thread count, a setting of the whole
 * process.
 *
 * botify runs its own threads wherever work is parallel: training's pool,
 * the top-K blocks of export and of the neighbour search, simulate's chunks,
 * serve's requests. Each of them calls BLAS on its own rows and needs that
 * call to run on the calling thread alone: OpenBLAS's pool would busy-wait
 * between the small products and take the cores our threads need (it made
 * training on 2 threads 1.7x slower than on 1), and several of our threads
 * calling into one pool at once queue behind each other. So main sets one
 * thread per BLAS call, once, before any command runs, and nothing else
 * changes it; code that relies on it says so in its header.
 */
#ifndef BOTIFY_BLAS_H
#define BOTIFY_BLAS_H

/* Makes every BLAS call of the process run on its calling thread alone
 * (overriding OPENBLAS_NUM_THREADS), and stops the pool OpenBLAS started
 * when the program was loaded (its idle threads busy-wait). main calls it before any command; a
 * program that uses lib/ on its own calls it once before its first BLAS
 * call (the unit tests' main does). */
void botify_blas_init(void);

/* OpenBLAS's current thread count per call: 1 after botify_blas_init. */
int botify_blas_threads(void);

#endif
