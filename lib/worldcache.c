/*
 * worldcache.c - generated worlds on disk (see worldcache.h).
 */
#include "worldcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "hash128.h"

/* Bump when the file's layout changes. */
#define WC_VERSION 1u
#define WC_ORDER 0x01020304u

enum { HEADER = 8 + 4 + 4 + 16 + 6 * 4 + 4 + 4 + 8, SOURCE = 256 };

struct header {
	int32_t N, D, U, A, n_interests, n_top;
	uint32_t user_size;
	uint64_t strings_len;
};

/* The parts of a world the file holds, in file order. */
struct part {
	void *p;
	size_t n;
};

static int parts_of(const botify_world *w, struct part parts[8])
{
	parts[0] = (struct part){ w->E, (size_t)w->N * (size_t)w->D * sizeof(float) };
	parts[1] = (struct part){ w->artist, (size_t)w->N * sizeof(int32_t) };
	parts[2] = (struct part){ w->artist_name, (size_t)w->A * sizeof(uint32_t) };
	parts[3] = (struct part){ w->title, (size_t)w->N * sizeof(uint32_t) };
	parts[4] = (struct part){ w->users, (size_t)w->U * sizeof(botify_user) };
	parts[5] = (struct part){ w->interests, (size_t)w->n_interests * sizeof(int32_t) };
	parts[6] = (struct part){ w->top_tracks, (size_t)w->n_top * sizeof(int32_t) };
	parts[7] = (struct part){ w->strings, w->strings_len };
	return 8;
}

static void key_of(const botify_worldgen_params *p, unsigned char key[16], char hex[33])
{
	botify_hash128 h;
	botify_hash128_init(&h);
	static const char what[] = "botify world cache: generator " BOTIFY_WORLDCACHE_GENERATOR;
	botify_hash128_bytes(&h, what, sizeof(what));
	botify_hash128_i64(&h, WC_VERSION);
	/* every field: the struct is 8-byte fields only, so no padding is hashed */
	botify_hash128_bytes(&h, p, sizeof(*p));
	uint64_t k[2];
	botify_hash128_final(&h, k);
	memcpy(key, k, 16);
	if (hex)
		botify_hash128_hex(k, hex);
}

int botify_worldcache_path(const botify_worldgen_params *p, const char *dir, char *out, size_t n,
			   botify_err *err)
{
	unsigned char key[16];
	char hex[33];
	key_of(p, key, hex);
	int len = snprintf(out, n, "%s/world-%s.bin", dir, hex);
	if (len < 0 || (size_t)len >= n)
		return botify_fail(err, BOTIFY_EINVAL, "cache directory name too long: %s", dir);
	return 0;
}

static void put_header(unsigned char *b, const unsigned char key[16], const struct header *hd)
{
	uint32_t version = WC_VERSION, order = WC_ORDER, zero = 0;
	memcpy(b, "BOTIFYWC", 8);
	memcpy(b + 8, &version, 4);
	memcpy(b + 12, &order, 4);
	memcpy(b + 16, key, 16);
	memcpy(b + 32, &hd->N, 4);
	memcpy(b + 36, &hd->D, 4);
	memcpy(b + 40, &hd->U, 4);
	memcpy(b + 44, &hd->A, 4);
	memcpy(b + 48, &hd->n_interests, 4);
	memcpy(b + 52, &hd->n_top, 4);
	memcpy(b + 56, &hd->user_size, 4);
	memcpy(b + 60, &zero, 4);
	memcpy(b + 64, &hd->strings_len, 8);
}

static int read_all(int fd, void *buf, size_t n)
{
	char *c = buf;
	while (n) {
		ssize_t got = read(fd, c, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		c += got;
		n -= (size_t)got;
	}
	return 0;
}

/* The file's total size for a header, or 0 when it overflows. */
static uint64_t file_size(const struct header *hd)
{
	uint64_t n = HEADER + 8 + SOURCE;
	n += (uint64_t)hd->N * (uint64_t)hd->D * 4 + (uint64_t)hd->N * 8 + (uint64_t)hd->A * 4;
	n += (uint64_t)hd->U * hd->user_size + (uint64_t)hd->n_interests * 4 + (uint64_t)hd->n_top * 4;
	if (hd->strings_len > UINT64_MAX - n)
		return 0;
	return n + hd->strings_len;
}

/* Ranges a valid world of this header keeps: the checksum catches damage,
 * these keep a forged file from sending the simulator out of bounds. */
static const char *check_world(const botify_world *w)
{
	for (int32_t t = 0; t < w->N; t++)
		if (w->artist[t] < 0 || w->artist[t] >= w->A || w->title[t] >= w->strings_len)
			return "track fields out of range";
	for (int32_t a = 0; a < w->A; a++)
		if (w->artist_name[a] >= w->strings_len)
			return "artist names out of range";
	if (w->strings_len == 0 || w->strings[w->strings_len - 1] != '\0' ||
	    memchr(w->source, '\0', sizeof(w->source)) == NULL)
		return "names not terminated";
	for (int32_t u = 0; u < w->U; u++) {
		const botify_user *us = &w->users[u];
		if (us->first_interest < 0 || us->n_interests < 0 ||
		    (int64_t)us->first_interest + us->n_interests > w->n_interests)
			return "user fields out of range";
	}
	for (int32_t i = 0; i < w->n_interests; i++)
		if (w->interests[i] < 0 || w->interests[i] >= w->N)
			return "interests out of range";
	for (int32_t i = 0; i < w->n_top; i++)
		if (w->top_tracks[i] < 0 || w->top_tracks[i] >= w->N)
			return "top tracks out of range";
	return NULL;
}

/* 1: w loaded; 0: no valid file (*bad set when one exists but is not
 * valid); -1: out of memory. */
static int load(botify_world *w, const botify_worldgen_params *p, const char *path,
		const char **bad, botify_err *err)
{
	*bad = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			*bad = "unreadable";
		return 0;
	}
	int rc = 0;
	struct stat st;
	unsigned char head[HEADER];
	struct header hd;
	unsigned char key[16];
	key_of(p, key, NULL);
	memset(w, 0, sizeof(*w));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*bad = "not a regular file";
		goto out;
	}
	if (st.st_size < HEADER + 8 + SOURCE || read_all(fd, head, HEADER) != 0) {
		*bad = "wrong size";
		goto out;
	}
	uint32_t version, order;
	memcpy(&version, head + 8, 4);
	memcpy(&order, head + 12, 4);
	memcpy(&hd.N, head + 32, 4);
	memcpy(&hd.D, head + 36, 4);
	memcpy(&hd.U, head + 40, 4);
	memcpy(&hd.A, head + 44, 4);
	memcpy(&hd.n_interests, head + 48, 4);
	memcpy(&hd.n_top, head + 52, 4);
	memcpy(&hd.user_size, head + 56, 4);
	memcpy(&hd.strings_len, head + 64, 8);
	if (memcmp(head, "BOTIFYWC", 8) != 0) {
		*bad = "not a botify world cache";
		goto out;
	}
	if (version != WC_VERSION || order != WC_ORDER || hd.user_size != sizeof(botify_user)) {
		*bad = "another version or byte order";
		goto out;
	}
	if (memcmp(head + 16, key, 16) != 0 || hd.N != p->tracks || hd.D != p->dim || hd.U != p->users ||
	    hd.A < 1 || hd.A > hd.N || hd.n_interests != p->users * p->interests_per_user ||
	    hd.n_top != hd.N) {
		*bad = "made for another world";
		goto out;
	}
	if (hd.strings_len > UINT32_MAX || file_size(&hd) != (uint64_t)st.st_size) {
		*bad = "truncated or padded";
		goto out;
	}
	w->N = hd.N;
	w->D = hd.D;
	w->U = hd.U;
	w->A = hd.A;
	w->n_interests = hd.n_interests;
	w->n_top = hd.n_top;
	w->strings_len = w->strings_cap = (size_t)hd.strings_len;
	w->E = botify_malloc_large((size_t)hd.N * (size_t)hd.D, sizeof(float), "track embeddings", err);
	w->artist = botify_malloc((size_t)hd.N, sizeof(int32_t), "artists", err);
	w->artist_name = botify_malloc((size_t)hd.A, sizeof(uint32_t), "artists", err);
	w->title = botify_malloc((size_t)hd.N, sizeof(uint32_t), "titles", err);
	w->users = botify_malloc((size_t)hd.U, sizeof(botify_user), "users", err);
	w->interests = botify_malloc((size_t)hd.n_interests, sizeof(int32_t), "interests", err);
	w->top_tracks = botify_malloc((size_t)hd.n_top, sizeof(int32_t), "top tracks", err);
	w->strings = botify_malloc(w->strings_len, 1, "names", err);
	if (!w->E || !w->artist || !w->artist_name || !w->title || !w->users || !w->interests ||
	    !w->top_tracks || !w->strings) {
		rc = -1;
		goto out;
	}
	botify_hash128 h;
	botify_hash128_init(&h);
	botify_hash128_bytes(&h, head, HEADER);
	struct part parts[8];
	int np = parts_of(w, parts);
	uint64_t stored, sum[2];
	for (int i = 0; i < np; i++) {
		if (read_all(fd, parts[i].p, parts[i].n) != 0) {
			*bad = "truncated or padded";
			goto out;
		}
		botify_hash128_bytes(&h, parts[i].p, parts[i].n);
	}
	if (read_all(fd, w->source, SOURCE) != 0 || read_all(fd, &stored, 8) != 0) {
		*bad = "truncated or padded";
		goto out;
	}
	botify_hash128_bytes(&h, w->source, SOURCE);
	botify_hash128_final(&h, sum);
	if (stored != sum[0]) {
		*bad = "bad checksum";
		goto out;
	}
	if ((*bad = check_world(w)) != NULL)
		goto out;
	botify_err e = {0};
	if (botify_world_index_artists(w, &e) != 0) {
		if (e.code == BOTIFY_ENOMEM) {
			*err = e;
			rc = -1;
		} else {
			*bad = "artists out of range";
		}
		goto out;
	}
	rc = 1;
out:
	close(fd);
	if (rc != 1)
		botify_world_free(w);
	return rc;
}

static int save(const botify_world *w, const botify_worldgen_params *p, const char *path,
		botify_err *err)
{
	unsigned char head[HEADER], key[16];
	key_of(p, key, NULL);
	struct header hd = { w->N, w->D, w->U, w->A, w->n_interests, w->n_top,
			     (uint32_t)sizeof(botify_user), (uint64_t)w->strings_len };
	put_header(head, key, &hd);
	char source[SOURCE] = {0};
	snprintf(source, sizeof(source), "%s", w->source);
	struct part parts[8];
	int np = parts_of(w, parts);
	/* the file: header, parts, source, then the checksum of all of them */
	botify_bytes file[11];
	int nf = 0;
	file[nf++] = (botify_bytes){ head, HEADER };
	for (int i = 0; i < np; i++)
		file[nf++] = (botify_bytes){ parts[i].p, parts[i].n };
	file[nf++] = (botify_bytes){ source, SOURCE };
	botify_hash128 h;
	botify_hash128_init(&h);
	for (int i = 0; i < nf; i++)
		botify_hash128_bytes(&h, file[i].p, file[i].n);
	uint64_t sum[2];
	botify_hash128_final(&h, sum);
	file[nf++] = (botify_bytes){ &sum[0], 8 };
	return botify_write_cache_file(path, file, nf, err);
}

/* The generation both entry points share; save: the world is to be
 * written (no valid file was there). */
static int load_or_generate(botify_world *w, const botify_worldgen_params *p, const char *path,
			    int threads, int *status, int *save_it, char *why, size_t why_n, botify_err *err)
{
	const char *bad;
	*status = BOTIFY_WORLDCACHE_GENERATED;
	*save_it = 0;
	if (why_n)
		why[0] = '\0';
	if (botify_worldgen_check(p, err) != 0)
		return -1;
	int got = load(w, p, path, &bad, err);
	if (got < 0)
		return -1;
	if (got) {
		*status = BOTIFY_WORLDCACHE_LOADED;
		return 0;
	}
	if (bad)
		snprintf(why, why_n, "ignoring the world cache %s (%s); rebuilding it", path, bad);
	if (botify_worldgen_generate_threads(w, p, threads, err) != 0)
		return -1;
	*save_it = 1;
	return 0;
}

int botify_worldcache_generate(botify_world *w, const botify_worldgen_params *p, const char *path,
			       int threads, int *status, char *why, size_t why_n, botify_err *err)
{
	int save_it;
	if (load_or_generate(w, p, path, threads, status, &save_it, why, why_n, err) != 0)
		return -1;
	botify_err e = {0};
	if (save_it && save(w, p, path, &e) != 0 && !why[0])
		snprintf(why, why_n, "world cache not written: %s", e.msg);
	return 0;
}

static void *save_thread(void *arg)
{
	botify_worldcache_writer *wr = arg;
	wr->failed = save(wr->w, &wr->p, wr->path, &wr->err) != 0;
	return NULL;
}

int botify_worldcache_generate_bg(botify_world *w, const botify_worldgen_params *p, const char *path,
				  int threads, int *status, char *why, size_t why_n,
				  botify_worldcache_writer *wr, botify_err *err)
{
	int save_it;
	memset(wr, 0, sizeof(*wr));
	if (load_or_generate(w, p, path, threads, status, &save_it, why, why_n, err) != 0)
		return -1;
	if (!save_it)
		return 0;
	wr->w = w;
	wr->p = *p;
	wr->why_taken = why[0] != '\0';
	if (snprintf(wr->path, sizeof(wr->path), "%s", path) >= (int)sizeof(wr->path) ||
	    pthread_create(&wr->tid, NULL, save_thread, wr) != 0) {
		/* no thread (or a path too long for it): write it now */
		wr->failed = save(w, p, path, &wr->err) != 0;
		wr->done = 1;
		return 0;
	}
	wr->running = 1;
	return 0;
}

void botify_worldcache_writer_finish(botify_worldcache_writer *wr, char *why, size_t why_n)
{
	if (why_n)
		why[0] = '\0';
	if (wr->running) {
		pthread_join(wr->tid, NULL);
		wr->running = 0;
		wr->done = 1;
	}
	if (wr->done && wr->failed && !wr->why_taken)
		snprintf(why, why_n, "world cache not written: %s", wr->err.msg);
	wr->done = 0;
}

static void digest_world(botify_hash128 *h, const botify_world *w)
{
	struct part parts[8];
	int np = parts_of(w, parts);
	int32_t dims[6] = { w->N, w->D, w->U, w->A, w->n_interests, w->n_top };
	botify_hash128_bytes(h, dims, sizeof(dims));
	for (int i = 0; i < np; i++)
		botify_hash128_bytes(h, parts[i].p, parts[i].n);
	botify_hash128_bytes(h, w->source, strlen(w->source));
}

int botify_worldcache_generator_digest(char hex[33], botify_err *err)
{
	botify_worldgen_params sets[3];
	botify_worldgen_defaults(&sets[0]);
	botify_worldgen_defaults(&sets[1]);
	sets[1].tracks = 500;
	sets[1].users = 100;
	sets[1].dim = 16;
	sets[1].seed = 7;
	/* a steep popularity curve with as many interests as tracks: the
	 * generator's fallback for interests it cannot draw */
	botify_worldgen_defaults(&sets[2]);
	sets[2].tracks = 30;
	sets[2].users = 7;
	sets[2].dim = 4;
	sets[2].seed = 3;
	sets[2].interests_per_user = 25;
	sets[2].popularity_zipf = 8;
	botify_hash128 h;
	botify_hash128_init(&h);
	for (int i = 0; i < 3; i++) {
		botify_world w;
		if (botify_worldgen_generate(&w, &sets[i], err) != 0)
			return -1;
		digest_world(&h, &w);
		botify_world_free(&w);
	}
	uint64_t k[2];
	botify_hash128_final(&h, k);
	botify_hash128_hex(k, hex);
	return 0;
}
