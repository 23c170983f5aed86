/*
 * topk.c - blocked sgemm + k-heap selection.
 */
#include "topk.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

/* a ranks above b: higher score, then lower id */
static inline int better(float sa, int32_t ia, float sb, int32_t ib)
{
	return sa > sb || (sa == sb && ia < ib);
}

/* min-heap on "better": the root is the worst kept item */
static void sift_down(float *s, int32_t *id, int32_t n, int32_t i)
{
	for (;;) {
		int32_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < n && better(s[w], id[w], s[l], id[l]))
			w = l;
		if (r < n && better(s[w], id[w], s[r], id[r]))
			w = r;
		if (w == i)
			return;
		float ts = s[i];
		s[i] = s[w];
		s[w] = ts;
		int32_t ti = id[i];
		id[i] = id[w];
		id[w] = ti;
		i = w;
	}
}

void botify_topk_select(const float *scores, int32_t N, int32_t k, int32_t exclude, int32_t *ids,
			float *out_scores)
{
	float *s = out_scores; /* the heap lives in the caller's output */
	int32_t n = 0, t = 0;
	if (k <= 0)
		return; /* the scan below compares against s[0] */
	for (; t < N && n < k; t++)
		if (t != exclude) {
			s[n] = scores[t];
			ids[n] = t;
			n++;
		}
	for (int32_t i = n / 2 - 1; i >= 0; i--)
		sift_down(s, ids, n, i);
	/* ids only grow during the scan, so a tie with the root never wins and
	 * the hot test is one float compare */
	for (; t < N; t++)
		if (scores[t] > s[0] && t != exclude) {
			s[0] = scores[t];
			ids[0] = t;
			sift_down(s, ids, n, 0);
		}
	/* heap-sort in place: repeatedly move the worst to the end */
	for (int32_t m = n - 1; m > 0; m--) {
		float ts = s[0];
		s[0] = s[m];
		s[m] = ts;
		int32_t ti = ids[0];
		ids[0] = ids[m];
		ids[m] = ti;
		sift_down(s, ids, m, 0);
	}
}

struct topk_job {
	const float *queries; /* (Q, D) */
	int64_t Q;
	const float *E;       /* (N, D) */
	int32_t N, D, k;
	int32_t *ids;         /* (Q, k) */
	float *scores;        /* (Q, k) or NULL */
	int t, T;             /* this thread takes blocks t, t + T, ... */
	int failed;
};

enum { BLOCK_ROWS = 64, MAX_THREADS = 64 };

static void *topk_blocks(void *arg)
{
	struct topk_job *j = arg;
	float *S = malloc((size_t)BLOCK_ROWS * (size_t)j->N * sizeof(float));
	float *heap = malloc((size_t)j->k * sizeof(float));
	if (!S || !heap) {
		j->failed = 1;
		free(S);
		free(heap);
		return NULL;
	}
	for (int64_t q0 = (int64_t)j->t * BLOCK_ROWS; q0 < j->Q; q0 += (int64_t)j->T * BLOCK_ROWS) {
		int64_t rows = j->Q - q0 < BLOCK_ROWS ? j->Q - q0 : BLOCK_ROWS;
		/* S (rows, N) = queries (rows, D) . E^T;  M = rows, N = N, K = D */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, j->N, j->D, 1.0f,
			    j->queries + q0 * j->D, j->D, j->E, j->D, 0.0f, S, j->N);
		for (int64_t r = 0; r < rows; r++)
			botify_topk_select(S + r * j->N, j->N, j->k, -1, j->ids + (q0 + r) * j->k,
					   j->scores ? j->scores + (q0 + r) * j->k : heap);
	}
	free(S);
	free(heap);
	return NULL;
}

int botify_topk_inner(const float *queries, int64_t Q, const float *E, int32_t N, int32_t D,
		      int32_t k, int threads, int32_t *ids, float *scores, botify_err *err)
{
	if (k > N)
		BOTIFY_BUG("top %d of %d tracks", k, N);
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	int64_t blocks = (Q + BLOCK_ROWS - 1) / BLOCK_ROWS;
	if (threads > blocks)
		threads = blocks ? (int)blocks : 1;
	/* Our threads each run a single-threaded sgemm on their own blocks:
	 * OpenBLAS's own pool would busy-wait between calls and steal the
	 * cores the selection needs. */
	openblas_set_num_threads(1);
	struct topk_job jobs[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	char started[MAX_THREADS] = {0};
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct topk_job){ queries, Q, E, N, D, k, ids, scores, t, threads, 0 };
		if (t > 0)
			started[t] = pthread_create(&tid[t], NULL, topk_blocks, &jobs[t]) == 0;
	}
	topk_blocks(&jobs[0]);
	int failed = jobs[0].failed;
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			topk_blocks(&jobs[t]); /* a thread we could not start: do its share here */
		failed |= jobs[t].failed;
	}
	if (failed)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory scoring %d tracks", N);
	return 0;
}
