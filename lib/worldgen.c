/*
 * worldgen.c - generating a world in memory.
 *
 * Each phase draws from its own RNG stream (seed, GEN, phase) so that
 * changing, say, the user count leaves the catalog's vectors untouched.
 */
#include "worldgen.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncfg.h"
#include "rng.h"

enum { PHASE_ARTISTS = 1, PHASE_GENRES, PHASE_VECTORS, PHASE_POPULARITY, PHASE_USERS, PHASE_IDS };

void botify_worldgen_defaults(botify_worldgen_params *p)
{
	p->tracks = 50000;
	p->users = 10000;
	p->dim = 100;
	p->seed = 1;
	p->genres = 40;
	p->interests_per_user = 3;
	p->tracks_per_artist = 4.36;
	p->artist_size_decay = 0.087;
	p->genre_zipf = 0.8;
	p->popularity_zipf = 0.9;
	p->popularity_genre = 1.0;
	p->popularity_artist = 1.0;
	p->genre_scale = 0.2;
	p->artist_scale = 0.25;
	p->track_scale = 0.1;
	p->consume_bias_max = 10.0;
}

#define F(member, kind, lo, hi) \
	BOTIFY_JSONCFG_FIELD(botify_worldgen_params, member, kind, lo, hi, 0)
static const botify_jsoncfg_field fields[] = {
	F(tracks, INT64, 1, 50000000),
	F(users, INT64, 1, 50000000),
	F(dim, INT64, 1, 4096),
	F(seed, INT64, 0, 9007199254740992.0),
	F(genres, INT64, 1, 1000000),
	F(interests_per_user, INT64, 1, 1000),
	F(tracks_per_artist, DOUBLE, 1, 1e9),
	F(artist_size_decay, DOUBLE, 1e-6, 1e6),
	F(genre_zipf, DOUBLE, 0, 10),
	F(popularity_zipf, DOUBLE, 0, 10),
	F(popularity_genre, DOUBLE, 0, 100),
	F(popularity_artist, DOUBLE, 0, 100),
	F(genre_scale, DOUBLE, 0, 1e3),
	F(artist_scale, DOUBLE, 0, 1e3),
	F(track_scale, DOUBLE, 0, 1e3),
	F(consume_bias_max, DOUBLE, 0, 1e6),
};
#undef F
static const botify_jsoncfg preset_table = { "world parameter", fields,
					     sizeof(fields) / sizeof(fields[0]), 0 };

static int contains(const int32_t *a, int64_t n, int32_t x)
{
	for (int64_t j = 0; j < n; j++)
		if (a[j] == x)
			return 1;
	return 0;
}

int botify_worldgen_check(const botify_worldgen_params *p, botify_err *err)
{
	if (botify_jsoncfg_check(&preset_table, p, err) != 0)
		return -1;
	if (p->interests_per_user > p->tracks)
		return botify_fail(err, BOTIFY_ERANGE, "%lld interests per user need at least as many tracks",
				   (long long)p->interests_per_user);
	if ((double)p->users * (double)p->interests_per_user > (double)INT32_MAX)
		return botify_fail(err, BOTIFY_ERANGE, "%lld users x %lld interests exceed %d interests in all",
				   (long long)p->users, (long long)p->interests_per_user, INT32_MAX);
	return 0;
}

int botify_worldgen_load_preset(botify_worldgen_params *p, const char *path, botify_err *err)
{
	if (botify_jsoncfg_load(&preset_table, path, p, err) != 0)
		return -1;
	if (botify_worldgen_check(p, err) != 0)
		return botify_err_prefix(err, "%s", path);
	return 0;
}

struct remainder {
	double rem;
	int64_t idx;
};

/* An unsigned key whose ascending order is rem's descending order (-0.0
 * and 0.0 equal, as they compare; no NaN comes here). */
static uint64_t descending_key(double rem)
{
	uint64_t b;
	rem += 0.0; /* -0.0 becomes 0.0 */
	memcpy(&b, &rem, sizeof(b));
	b = b >> 63 ? ~b : b | (1ull << 63); /* ascending as unsigned */
	return ~b;
}

/*
 * Sorts a[0..n) by rem, largest first, ties by idx, lowest first: as qsort
 * with that comparison would, in a few passes of a radix sort (stable, so
 * ties keep their order: a must come in ascending idx). tmp: n entries.
 * qsort's call of a comparison per step was a twentieth of generating
 * the built-in world.
 */
static void sort_by_remainder(struct remainder *a, int64_t n, struct remainder *tmp)
{
	enum { BITS = 11, BUCKETS = 1 << BITS };
	static const int passes = (64 + BITS - 1) / BITS;
	uint32_t count[(64 + BITS - 1) / BITS][BUCKETS];
	memset(count, 0, sizeof(count));
	for (int64_t i = 0; i < n; i++) {
		uint64_t k = descending_key(a[i].rem);
		for (int p = 0; p < passes; p++)
			count[p][(k >> (p * BITS)) & (BUCKETS - 1)]++;
	}
	struct remainder *from = a, *to = tmp;
	for (int p = 0; p < passes; p++) {
		uint32_t *c = count[p];
		if (n == 0 || c[(descending_key(a[0].rem) >> (p * BITS)) & (BUCKETS - 1)] == (uint64_t)n)
			continue; /* one digit for all: the pass changes nothing */
		uint32_t sum = 0;
		for (int b = 0; b < BUCKETS; b++) {
			uint32_t k = c[b];
			c[b] = sum;
			sum += k;
		}
		for (int64_t i = 0; i < n; i++)
			to[c[(descending_key(from[i].rem) >> (p * BITS)) & (BUCKETS - 1)]++] = from[i];
		struct remainder *t = from;
		from = to;
		to = t;
	}
	if (from != a)
		memcpy(a, from, (size_t)n * sizeof(*a));
}

/* Largest-remainder split of `total` units by weights into out[0..n). */
static void apportion(int64_t *out, const double *w, int64_t n, int64_t total,
		      struct remainder *rem, struct remainder *tmp)
{
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += w[i];
	int64_t given = 0;
	for (int64_t i = 0; i < n; i++) {
		double x = sum > 0 ? (double)total * w[i] / sum : 0;
		out[i] = (int64_t)floor(x);
		rem[i].rem = x - (double)out[i];
		rem[i].idx = i;
		given += out[i];
	}
	/* the leftovers go to the largest remainders, lowest index on ties */
	sort_by_remainder(rem, n, tmp);
	for (int64_t i = 0; given < total; i++, given++)
		out[rem[i % n].idx]++;
}

static void shuffle(int32_t *a, int64_t n, botify_rng *r)
{
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)botify_rng_below(r, (uint64_t)i + 1);
		int32_t t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* Index of the first cumulative weight > u (binary search). */
static int64_t pick_cumulative(const double *cum, int64_t n, double u)
{
	int64_t lo = 0, hi = n - 1;
	while (lo < hi) {
		int64_t mid = (lo + hi) / 2;
		if (cum[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static const char *const syllables[32] = {
	"ka", "lo", "mi", "ra", "ven", "to", "sa", "ri", "el", "on", "da", "mu", "ne", "zo", "fi", "la",
	"bar", "cor", "dun", "es", "ga", "hel", "is", "jo", "ku", "mar", "no", "pe", "qui", "ros", "ti", "vy",
};

/* Copies syllables i and j, capitalised; returns the end. */
static char *put_word(char *o, uint64_t i, uint64_t j)
{
	char *start = o;
	for (const char *c = syllables[i]; *c; c++)
		*o++ = *c;
	for (const char *c = syllables[j]; *c; c++)
		*o++ = *c;
	*start = (char)(*start - 'a' + 'A');
	return o;
}

/* Two capitalised words that spell x in base 32; distinct x give distinct
 * names, so artist names (the artist's identity) never collide. out: 64
 * bytes at least. (Without printf: printing the 60 000 names of the
 * built-in world was a twentieth of generating it.) */
static void make_name(char *out, uint64_t x)
{
	char *o = put_word(out, x & 31, (x >> 5) & 31);
	*o++ = ' ';
	o = put_word(o, (x >> 10) & 31, (x >> 15) & 31);
	if (x >> 20)
		o += sprintf(o, "%llu", (unsigned long long)(x >> 20));
	*o = '\0';
}

/* The generator's scratch state, shared by its phases. */
struct gen {
	const botify_worldgen_params *p;
	int64_t N, U, D, G, A;
	double *weights;       /* (max(A, G)) the artists' weights, then their part of the scores */
	int64_t *sizes;        /* (A) tracks per artist */
	struct remainder *rem; /* (A) */
	int32_t *genre_of;     /* (A) */
	int32_t *order;        /* (N) */
	int32_t *renum;        /* (2A) new artist id, then old id of each new one */
	double *genre_cum;     /* (G) */
	double *centroids;     /* (G + A, D) */
	double *pop_cum;       /* (N) */
	double pop_total;      /* pop_cum's last entry */
	struct remainder *pop_score; /* (N) */
	struct remainder *pop_tmp;   /* (N) the sorts' scratch */
	double *zu, *zs;       /* a chunk's pairs (gen_vector_rows) */
	int names_rc;          /* gen_names's, when a vector thread made the names */
	botify_err names_err;
};

/* artist sizes: one track each, the rest by decaying weights, so a few
 * artists have dozens of tracks and most have one or two */
static void gen_artist_sizes(struct gen *g)
{
	double r0 = g->p->artist_size_decay * (double)g->A;
	for (int64_t a = 0; a < g->A; a++)
		g->weights[a] = exp(-(double)a / r0) + 0.5 * exp(-(double)a * 8.0 / r0);
	apportion(g->sizes, g->weights, g->A, g->N - g->A, g->rem, g->pop_tmp);
	for (int64_t a = 0; a < g->A; a++)
		g->sizes[a] += 1;
}

/* genres with Zipf weights; each artist picks one */
static void gen_genres(struct gen *g)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_WORLDGEN, (uint64_t)g->p->seed, PHASE_GENRES, 0, 0);
	double acc = 0;
	for (int64_t k = 0; k < g->G; k++)
		g->genre_cum[k] = acc += pow((double)k + 1, -g->p->genre_zipf);
	for (int64_t a = 0; a < g->A; a++)
		g->genre_of[a] = (int32_t)pick_cumulative(g->genre_cum, g->G, botify_rng_uniform(&r) * acc);
}

/* track ids carry no structure: a random permutation deals them out */
static void gen_track_artists(struct gen *g, botify_world *w)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_WORLDGEN, (uint64_t)g->p->seed, PHASE_IDS, 0, 0);
	for (int64_t t = 0; t < g->N; t++)
		g->order[t] = (int32_t)t;
	shuffle(g->order, g->N, &r);
	for (int64_t a = 0, k = 0; a < g->A; a++)
		for (int64_t j = 0; j < g->sizes[a]; j++)
			w->artist[g->order[k++]] = (int32_t)a;
}

/* vectors: genre centroid + artist offset + track offset */
static void gen_genre_vectors(struct gen *g, botify_rng *r)
{
	double *gc = g->centroids;
	for (int64_t i = 0; i < g->G * g->D; i++)
		gc[i] = g->p->genre_scale * botify_rng_normal(r);
}

/*
 * The vectors on several threads, the world of one thread bit for bit. The
 * stream is serial, so one thread, the walker, draws it: chunk by chunk of
 * rows (artist chunks first, then track chunks, which need every artist's
 * centroid) it keeps each deviate's accepted pair in a ring of slots, and
 * the others take the logarithms and make the rows from them. The words are
 * drawn once, and the walk (a fraction of the work) runs beside the rest.
 * A helper first draws popularity and users, which need no vectors; the
 * walker, when the ring is full, makes rows itself.
 */
enum { VEC_CHUNK_DEVIATES = 8192, VEC_RING = 8 };

struct vec_par {
	struct gen *g;
	botify_world *w;
	int64_t rows_per_chunk, n_chunks, artist_chunks, slot_cap;
	double *u, *s;        /* (VEC_RING, slot_cap): chunk c's pairs in slot c % VEC_RING */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t filled;       /* chunks whose pairs are in their slot */
	int64_t next;         /* the next chunk to take */
	char *made;           /* (n_chunks) chunks made (in any order), their slots free again */
	int64_t artists_done; /* artist chunks made */
	int rest_taken;       /* the helper's popularity, users and names taken */
};

static void chunk_rows(const struct vec_par *v, int64_t c, int64_t *r0, int64_t *r1)
{
	int64_t A = v->g->A, N = v->g->N, k = v->rows_per_chunk;
	if (c < v->artist_chunks) {
		*r0 = c * k;
		*r1 = *r0 + k < A ? *r0 + k : A;
	} else {
		*r0 = A + (c - v->artist_chunks) * k;
		*r1 = *r0 + k < A + N ? *r0 + k : A + N;
	}
}

/* out[d] = m[d] + scale * z[d], in double (as floats for the tracks). */
static void row_scalar(double *a, float *e, const double *m, double scale, const double *z, int64_t D)
{
	for (int64_t d = 0; d < D; d++) {
		double x = m[d] + scale * z[d];
		if (a)
			a[d] = x;
		else
			e[d] = (float)x;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* the same operations four at a time (no FMA: a multiply, then an add) */
__attribute__((target("avx"))) static void row_avx(double *a, float *e, const double *m, double scale,
						    const double *z, int64_t D)
{
	__m256d sc = _mm256_set1_pd(scale);
	int64_t d = 0;
	for (; d + 4 <= D; d += 4) {
		__m256d x = _mm256_add_pd(_mm256_loadu_pd(m + d), _mm256_mul_pd(sc, _mm256_loadu_pd(z + d)));
		if (a)
			_mm256_storeu_pd(a + d, x);
		else
			_mm_storeu_ps(e + d, _mm256_cvtpd_ps(x));
	}
	row_scalar(a ? a + d : NULL, e ? e + d : NULL, m + d, scale, z + d, D - d);
}
#endif

/* Rows [r0, r1) from their deviates z (D each). */
static void vec_rows_from(struct gen *g, botify_world *w, int64_t r0, int64_t r1, const double *z)
{
	const botify_worldgen_params *p = g->p;
	const int64_t D = g->D, A = g->A;
	const double *gc = g->centroids;
	double *ac = g->centroids + (size_t)g->G * (size_t)D;
	void (*row)(double *, float *, const double *, double, const double *, int64_t) = row_scalar;
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx"))
		row = row_avx;
#endif
	for (int64_t r = r0; r < r1; r++, z += D) {
		if (r < A)
			row(ac + (size_t)r * (size_t)D, NULL, gc + (size_t)g->genre_of[r] * (size_t)D,
			    p->artist_scale, z, D);
		else
			row(NULL, w->E + (size_t)(r - A) * (size_t)D, ac + (size_t)w->artist[r - A] * (size_t)D,
			    p->track_scale, z, D);
	}
}

/* Rows [0, A + N) of the vector stream after the genres on one thread:
 * artists 0..A-1, then tracks 0..N-1, D deviates each, drawn from r in
 * that order, a chunk of rows at a time (the same deviates as one at a
 * time; u and s hold a chunk's pairs, VEC_CHUNK_DEVIATES or one row). */
static void gen_vector_rows(struct gen *g, botify_world *w, botify_rng *r)
{
	const int64_t D = g->D, rows = g->A + g->N;
	int64_t k = D < VEC_CHUNK_DEVIATES ? VEC_CHUNK_DEVIATES / D : 1;
	for (int64_t r0 = 0; r0 < rows; r0 += k) {
		int64_t r1 = rows - r0 < k ? rows : r0 + k;
		botify_rng_polar_pairs(r, g->zu, g->zs, (r1 - r0) * D);
		botify_rng_polar_finish(g->zu, g->zs, (r1 - r0) * D, g->zu);
		vec_rows_from(g, w, r0, r1, g->zu);
	}
}

/* With the lock held: whether chunk c (filled) can be made now. */
static int vec_ready(const struct vec_par *v, int64_t c)
{
	return c < v->filled && (c < v->artist_chunks || v->artists_done == v->artist_chunks);
}

/* With the lock held: makes chunk c (taken, ready) without it. */
static void vec_make(struct vec_par *v, int64_t c)
{
	pthread_mutex_unlock(&v->mu);
	int64_t r0, r1;
	chunk_rows(v, c, &r0, &r1);
	size_t off = (size_t)(c % VEC_RING) * (size_t)v->slot_cap;
	double *z = v->u + off;
	botify_rng_polar_finish(z, v->s + off, (r1 - r0) * v->g->D, z);
	vec_rows_from(v->g, v->w, r0, r1, z);
	pthread_mutex_lock(&v->mu);
	v->made[c] = 1;
	if (c < v->artist_chunks)
		v->artists_done++;
	pthread_cond_broadcast(&v->cv);
}

static void gen_popularity(struct gen *g, botify_world *w);
static void gen_users(struct gen *g, botify_world *w);
static int gen_names(struct gen *g, botify_world *w, botify_err *err);
static void gen_renumber_map(struct gen *g, const botify_world *w);

/* What does not need the vectors: popularity, users, the artists' new
 * numbers and the names (their result in g->names_rc, g->names_err). */
static void gen_rest(struct gen *g, botify_world *w)
{
	gen_popularity(g, w);
	gen_users(g, w);
	gen_renumber_map(g, w);
	g->names_rc = gen_names(g, w, &g->names_err);
}

static void *vec_helper(void *arg)
{
	struct vec_par *v = arg;
	pthread_mutex_lock(&v->mu);
	if (!v->rest_taken) {
		v->rest_taken = 1;
		pthread_mutex_unlock(&v->mu);
		gen_rest(v->g, v->w);
		pthread_mutex_lock(&v->mu);
	}
	for (;;) {
		int64_t c = v->next;
		if (c >= v->n_chunks)
			break;
		if (!vec_ready(v, c)) {
			pthread_cond_wait(&v->cv, &v->mu);
			continue;
		}
		v->next++;
		vec_make(v, c);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

/* 0, or -1 when no thread could be started (nothing drawn then). */
static int gen_vectors_parallel(struct gen *g, botify_world *w, botify_rng *r, int threads)
{
	struct vec_par v = { .g = g, .w = w };
	v.rows_per_chunk = g->D < VEC_CHUNK_DEVIATES ? VEC_CHUNK_DEVIATES / g->D : 1;
	v.slot_cap = v.rows_per_chunk * g->D;
	v.artist_chunks = (g->A + v.rows_per_chunk - 1) / v.rows_per_chunk;
	v.n_chunks = v.artist_chunks + (g->N + v.rows_per_chunk - 1) / v.rows_per_chunk;
	v.u = malloc((size_t)VEC_RING * (size_t)v.slot_cap * 2 * sizeof(double));
	v.made = calloc((size_t)v.n_chunks, 1);
	if (!v.u || !v.made) {
		free(v.u);
		free(v.made);
		return -1;
	}
	v.s = v.u + (size_t)VEC_RING * (size_t)v.slot_cap;
	pthread_mutex_init(&v.mu, NULL);
	pthread_cond_init(&v.cv, NULL);
	pthread_t tid[BOTIFY_WORLDGEN_MAX_THREADS];
	int started = 0;
	for (int t = 1; t < threads; t++) {
		if (pthread_create(&tid[started], NULL, vec_helper, &v) != 0)
			break; /* fewer threads is slower, not wrong */
		started++;
	}
	if (started == 0) {
		pthread_mutex_destroy(&v.mu);
		pthread_cond_destroy(&v.cv);
		free(v.u);
		free(v.made);
		return -1;
	}
	pthread_mutex_lock(&v.mu);
	for (int64_t c = 0; c < v.n_chunks; c++) {
		/* the slot is free once the chunk VEC_RING before is made; till
		 * then, make what is ready */
		while (c >= VEC_RING && !v.made[c - VEC_RING]) {
			int64_t k = v.next;
			if (k < v.n_chunks && vec_ready(&v, k)) {
				v.next++;
				vec_make(&v, k);
			} else {
				pthread_cond_wait(&v.cv, &v.mu);
			}
		}
		pthread_mutex_unlock(&v.mu);
		int64_t r0, r1;
		chunk_rows(&v, c, &r0, &r1);
		size_t off = (size_t)(c % VEC_RING) * (size_t)v.slot_cap;
		botify_rng_polar_pairs(r, v.u + off, v.s + off, (r1 - r0) * g->D);
		pthread_mutex_lock(&v.mu);
		v.filled = c + 1;
		pthread_cond_broadcast(&v.cv);
	}
	pthread_mutex_unlock(&v.mu);
	vec_helper(&v); /* the rest, if no helper took it yet, and the last chunks */
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&v.mu);
	pthread_cond_destroy(&v.cv);
	free(v.u);
	free(v.made);
	return 0;
}

/* The vectors, and with more than one thread popularity, users, the
 * artists' new numbers and the names too (*rest set then; the names' result
 * in g->names_rc, g->names_err). */
static void gen_vectors(struct gen *g, botify_world *w, int threads, int *rest)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_WORLDGEN, (uint64_t)g->p->seed, PHASE_VECTORS, 0, 0);
	gen_genre_vectors(g, &r);
	*rest = 0;
	if (threads > 1 && gen_vectors_parallel(g, w, &r, threads) == 0) {
		*rest = 1;
		return;
	}
	gen_vector_rows(g, w, &r);
}

/* popularity: tracks are ranked by a noisy score in which popular genres
 * and prolific artists rank higher; Zipf weights on that ranking give
 * top_tracks and the users' interests */
static void gen_popularity(struct gen *g, botify_world *w)
{
	const botify_worldgen_params *p = g->p;
	const int64_t N = g->N;
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_WORLDGEN, (uint64_t)p->seed, PHASE_POPULARITY, 0, 0);
	/* the artist's part of its tracks' scores, once per artist (weights
	 * is free again): the same operations on the same values */
	double *base = g->weights;
	for (int64_t a = 0; a < g->A; a++) {
		double gw = pow((double)g->genre_of[a] + 1, -p->genre_zipf);
		base[a] = p->popularity_genre * log(gw) + p->popularity_artist * log((double)g->sizes[a]);
	}
	for (int64_t t = 0; t < N; t++) {
		double gumbel = -log(-log(botify_rng_uniform(&r) * (1 - 0x1p-53) + 0x1p-54));
		g->pop_score[t] = (struct remainder){ base[w->artist[t]] + gumbel, t };
	}
	sort_by_remainder(g->pop_score, N, g->pop_tmp);
	for (int64_t t = 0; t < N; t++)
		w->top_tracks[t] = (int32_t)g->pop_score[t].idx;
	w->n_top = (int32_t)N;
	double acc = 0;
	for (int64_t k = 0; k < N; k++)
		g->pop_cum[k] = acc += pow((double)k + 1, -p->popularity_zipf);
	g->pop_total = acc;
}

/* users: distinct interests drawn by popularity, and the consumption model's
 * parameters */
static void gen_users(struct gen *g, botify_world *w)
{
	const botify_worldgen_params *p = g->p;
	const int64_t N = g->N, K = p->interests_per_user;
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_WORLDGEN, (uint64_t)p->seed, PHASE_USERS, 0, 0);
	for (int64_t u = 0; u < g->U; u++) {
		botify_user *us = &w->users[u];
		us->first_interest = (int32_t)(u * K);
		us->n_interests = (int32_t)K;
		int32_t *in = w->interests + u * K;
		for (int64_t i = 0; i < K; i++) {
			int dup, tries = 0;
			do { /* distinct interests: redraw a repeat */
				in[i] = w->top_tracks[pick_cumulative(g->pop_cum, N,
								      botify_rng_uniform(&r) * g->pop_total)];
				dup = contains(in, i, in[i]);
			} while (dup && ++tries < 64);
			/* a steep popularity curve with K near N can make the rarest
			 * tracks (nearly) impossible to draw: take the most popular
			 * one not yet chosen */
			for (int64_t k = 0; dup && k < N; k++) {
				in[i] = w->top_tracks[k];
				dup = contains(in, i, in[i]);
			}
		}
		us->consume_bias = p->consume_bias_max * botify_rng_uniform(&r);
		double s = 1.0 + botify_rng_uniform(&r);
		us->consume_sharpness = botify_rng_uniform(&r) < 0.5 ? s : 1.0 / s;
		us->artist_discount_gamma = NAN;
		us->interest_neighbours = 0;
		us->session_budget = 0;
	}
	w->n_interests = (int32_t)(g->U * K);
}

/* number artists by their first track, as botify_world_load does, so a
 * saved world reloads with the same artist ids; a name stays with its
 * artist's tracks (renum's second half: the old id of each new one). The
 * map is made while the vectors, which read the old ids, are drawn; it is
 * applied after them. */
static void gen_renumber_map(struct gen *g, const botify_world *w)
{
	int32_t *renum = g->renum, *old_of = g->renum + g->A, na = 0;
	for (int64_t a = 0; a < g->A; a++)
		renum[a] = -1;
	for (int64_t t = 0; t < g->N; t++) {
		int32_t a = w->artist[t];
		if (renum[a] < 0) {
			old_of[na] = a;
			renum[a] = na++;
		}
	}
}

static void gen_renumber_apply(struct gen *g, botify_world *w)
{
	for (int64_t t = 0; t < g->N; t++)
		w->artist[t] = g->renum[w->artist[t]];
}

static int gen_names(struct gen *g, botify_world *w, botify_err *err)
{
	const int32_t *old_of = g->renum + g->A;
	char name[96];
	for (int64_t a = 0; a < g->A; a++) {
		/* an odd multiplier scrambles the digits so neighbours don't rhyme */
		uint64_t x = (uint64_t)old_of[a];
		make_name(name, ((x * 0x9E3779B1u) & 0xFFFFF) | ((x >> 20) << 20));
		if (botify_world_intern_string(w, name, &w->artist_name[a], err) != 0)
			return -1;
	}
	for (int64_t t = 0; t < g->N; t++) {
		make_name(name, ((uint64_t)t * 0x85EBCA77u) & 0xFFFFF);
		if (botify_world_intern_string(w, name, &w->title[t], err) != 0)
			return -1;
	}
	return 0;
}

static void gen_free(struct gen *g)
{
	free(g->weights);
	free(g->rem);
	free(g->sizes);
	free(g->order);
	free(g->genre_of);
	free(g->renum);
	free(g->genre_cum);
	free(g->centroids);
	free(g->pop_cum);
	free(g->pop_score);
	free(g->pop_tmp);
	free(g->zu);
	free(g->zs);
}

static int gen_alloc(struct gen *g, botify_world *w, size_t nd, botify_err *err)
{
	const int64_t N = g->N, U = g->U, G = g->G, A = g->A;
	g->weights = botify_malloc((size_t)(A > G ? A : G), sizeof(double), "generator", err);
	g->rem = botify_malloc((size_t)A, sizeof(*g->rem), "generator", err);
	g->sizes = botify_malloc((size_t)A, sizeof(int64_t), "generator", err);
	g->order = botify_malloc((size_t)N, sizeof(int32_t), "generator", err);
	g->genre_of = botify_malloc((size_t)A, sizeof(int32_t), "generator", err);
	g->renum = botify_malloc((size_t)A, 2 * sizeof(int32_t), "generator", err);
	g->genre_cum = botify_malloc((size_t)G, sizeof(double), "generator", err);
	g->centroids = botify_malloc_large((size_t)(G + A), (size_t)g->D * sizeof(double), "generator", err);
	g->pop_cum = botify_malloc((size_t)N, sizeof(double), "generator", err);
	g->pop_score = botify_malloc((size_t)N, sizeof(*g->pop_score), "generator", err);
	g->pop_tmp = botify_malloc((size_t)N, sizeof(*g->pop_tmp), "generator", err);
	size_t chunk = g->D < VEC_CHUNK_DEVIATES ? VEC_CHUNK_DEVIATES / g->D * g->D : g->D;
	g->zu = botify_malloc(chunk, sizeof(double), "generator", err);
	g->zs = botify_malloc(chunk, sizeof(double), "generator", err);
	w->E = botify_malloc_large(nd, sizeof(float), "track embeddings", err);
	w->artist = botify_malloc((size_t)N, sizeof(int32_t), "artists", err);
	w->artist_name = botify_malloc((size_t)A, sizeof(uint32_t), "artists", err);
	w->title = botify_malloc((size_t)N, sizeof(uint32_t), "titles", err);
	w->users = botify_malloc((size_t)U, sizeof(botify_user), "users", err);
	w->interests = botify_malloc((size_t)U, (size_t)g->p->interests_per_user * sizeof(int32_t),
				     "interests", err);
	w->top_tracks = botify_malloc((size_t)N, sizeof(int32_t), "top tracks", err);
	if (!g->weights || !g->rem || !g->sizes || !g->order || !g->genre_of || !g->renum ||
	    !g->genre_cum || !g->centroids || !g->pop_cum || !g->pop_score || !g->pop_tmp || !g->zu || !g->zs || !w->E || !w->artist ||
	    !w->artist_name || !w->title || !w->users || !w->interests || !w->top_tracks)
		return -1;
	return 0;
}

int botify_worldgen_generate(botify_world *w, const botify_worldgen_params *p, botify_err *err)
{
	return botify_worldgen_generate_threads(w, p, 1, err);
}

int botify_worldgen_generate_threads(botify_world *w, const botify_worldgen_params *p, int threads,
				     botify_err *err)
{
	if (threads > BOTIFY_WORLDGEN_MAX_THREADS)
		threads = BOTIFY_WORLDGEN_MAX_THREADS;
	struct gen g = { .p = p, .N = p->tracks, .U = p->users, .D = p->dim, .G = p->genres };
	g.A = llround((double)g.N / p->tracks_per_artist);
	if (g.A < 1)
		g.A = 1;
	if (g.A > g.N)
		g.A = g.N;
	memset(w, 0, sizeof(*w));
	if (botify_worldgen_check(p, err) != 0)
		return -1;
	size_t nd;
	if (botify_size_mul((size_t)g.N, (size_t)g.D, &nd) != 0)
		return botify_fail(err, BOTIFY_ENOMEM, "world of %lld x %lld is too large",
				   (long long)g.N, (long long)g.D);
	w->N = (int32_t)g.N;
	w->D = (int32_t)g.D;
	w->U = (int32_t)g.U;
	w->A = (int32_t)g.A;
	int rc = -1;
	if (gen_alloc(&g, w, nd, err) != 0)
		goto out;
	gen_artist_sizes(&g);
	gen_genres(&g);
	gen_track_artists(&g, w);
	int rest;
	gen_vectors(&g, w, threads, &rest);
	if (!rest)
		gen_rest(&g, w);
	if (g.names_rc != 0) {
		*err = g.names_err;
		goto out;
	}
	gen_renumber_apply(&g, w);
	if (botify_world_index_artists(w, err) != 0)
		goto out;
	snprintf(w->source, sizeof(w->source), "built-in world (seed %lld)", (long long)p->seed);
	rc = 0;
out:
	gen_free(&g);
	if (rc)
		botify_world_free(w);
	return rc;
}
