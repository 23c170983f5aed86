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

struct select_job {
	const float *S;       /* (rows, N) scores */
	int64_t lo, hi;       /* rows of this job */
	int32_t N, k;
	int32_t *ids;         /* (rows, k) */
	float *scores;        /* (rows, k) */
};

static void *select_rows(void *arg)
{
	struct select_job *j = arg;
	for (int64_t r = j->lo; r < j->hi; r++)
		botify_topk_select(j->S + r * j->N, j->N, j->k, -1, j->ids + r * j->k,
				   j->scores + r * j->k);
	return NULL;
}

enum { BLOCK_ROWS = 128, MAX_THREADS = 64 };

int botify_topk_inner(const float *queries, int64_t Q, const float *E, int32_t N, int32_t D,
		      int32_t k, int threads, int32_t *ids, float *scores, botify_err *err)
{
	if (k > N)
		BOTIFY_BUG("top %d of %d tracks", k, N);
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	float *S = botify_malloc((size_t)BLOCK_ROWS * (size_t)N, sizeof(float), "scores", err);
	float *own = scores ? NULL : botify_malloc((size_t)BLOCK_ROWS * (size_t)k, sizeof(float), "scores", err);
	if (!S || (!scores && !own)) {
		free(S);
		return -1;
	}
	for (int64_t q0 = 0; q0 < Q; q0 += BLOCK_ROWS) {
		int64_t rows = Q - q0 < BLOCK_ROWS ? Q - q0 : BLOCK_ROWS;
		/* S (rows, N) = queries (rows, D) . E^T;  M = rows, N = N, K = D */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, N, D, 1.0f,
			    queries + q0 * D, D, E, D, 0.0f, S, N);
		struct select_job jobs[MAX_THREADS];
		pthread_t tid[MAX_THREADS];
		char started[MAX_THREADS] = {0};
		int nt = rows < threads ? (int)rows : threads;
		for (int t = 0; t < nt; t++) {
			jobs[t] = (struct select_job){ S, rows * t / nt, rows * (t + 1) / nt, N, k,
						       ids + q0 * k, scores ? scores + q0 * k : own };
			/* thread 0's share runs here, as does any share whose thread
			 * could not be created */
			if (t > 0)
				started[t] = pthread_create(&tid[t], NULL, select_rows, &jobs[t]) == 0;
		}
		select_rows(&jobs[0]);
		for (int t = 1; t < nt; t++) {
			if (started[t])
				pthread_join(tid[t], NULL);
			else
				select_rows(&jobs[t]);
		}
	}
	free(S);
	free(own);
	return 0;
}
