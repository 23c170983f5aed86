/*
 * nbcache.c - the interest-neighbour table on disk (see nbcache.h).
 */
#include "nbcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "hash128.h"

/* Bump when the search's definition of a neighbour changes. */
#define NB_VERSION 1u
#define NB_ORDER 0x01020304u
#define NB_SEARCH "botify-nb exact double inner product, ties to the lower id"

enum { HEADER = 8 + 4 + 4 + 16 + 4 * 3 + 8 };

void botify_nbcache_key(const botify_sim *s, char hex[33])
{
	const botify_world *w = s->world;
	botify_hash128 h;
	botify_hash128_init(&h);
	botify_hash128_bytes(&h, NB_SEARCH, sizeof(NB_SEARCH));
	botify_hash128_i64(&h, NB_VERSION);
	botify_hash128_i64(&h, w->N);
	botify_hash128_i64(&h, w->D);
	botify_hash128_bytes(&h, w->E, (size_t)w->N * (size_t)w->D * sizeof(float));
	botify_hash128_i64(&h, w->U);
	for (int32_t u = 0; u < w->U; u++) {
		const botify_user *bu = &w->users[u];
		botify_hash128_i64(&h, bu->n_interests);
		botify_hash128_i64(&h, bu->interest_neighbours);
		botify_hash128_bytes(&h, w->interests + bu->first_interest, (size_t)bu->n_interests * sizeof(int32_t));
	}
	botify_hash128_i64(&h, s->cfg.interest_neighbours);
	botify_hash128_i64(&h, s->K);
	uint64_t k[2];
	botify_hash128_final(&h, k);
	botify_hash128_hex(k, hex);
}

int botify_nbcache_path(const char *dir, const char *hex, char *out, size_t n, botify_err *err)
{
	int len = snprintf(out, n, "%s/nb-%s.bin", dir, hex);
	if (len < 0 || (size_t)len >= n)
		return botify_fail(err, BOTIFY_EINVAL, "cache directory name too long: %s", dir);
	return 0;
}

static void key_bytes(const char *hex, unsigned char key[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		sscanf(hex + 2 * i, "%2x", &v);
		key[i] = (unsigned char)v;
	}
}

static int invalid(int *status, char *why, size_t why_n, const char *msg)
{
	*status = BOTIFY_NBCACHE_INVALID;
	snprintf(why, why_n, "%s", msg);
	return 0;
}

int botify_nbcache_load(botify_sim *s, const char *path, const char *hex, int *status,
			int64_t *rows_out, char *why, size_t why_n, botify_err *err)
{
	const botify_world *w = s->world;
	*status = BOTIFY_NBCACHE_ABSENT;
	*rows_out = 0;
	if (why_n)
		why[0] = '\0';
	if (s->nb_rows)
		BOTIFY_BUG("cache loaded into a prepared simulator");
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		if (errno == ENOENT)
			return 0;
		return botify_fail_errno(err, errno, "cannot read the neighbour cache %s", path);
	}
	struct stat st;
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(fp);
		return invalid(status, why, why_n, "not a regular file");
	}
	unsigned char *buf = NULL;
	int rc = 0;
	/* the size a table of this world can have at most: every track a row */
	size_t max = HEADER + 8 + (size_t)w->N * (1 + (size_t)s->K) * 4;
	if ((uint64_t)st.st_size < HEADER + 8 || (uint64_t)st.st_size > max) {
		invalid(status, why, why_n, "wrong size");
		goto out;
	}
	size_t size = (size_t)st.st_size;
	buf = botify_malloc(size, 1, "neighbour cache", err);
	if (!buf) {
		rc = -1;
		goto out;
	}
	if (fread(buf, 1, size, fp) != size) {
		rc = botify_fail(err, BOTIFY_EIO, "cannot read the neighbour cache %s", path);
		goto out;
	}
	uint32_t version, order;
	int32_t N, D, K;
	int64_t rows;
	unsigned char key[16];
	memcpy(&version, buf + 8, 4);
	memcpy(&order, buf + 12, 4);
	memcpy(&N, buf + 32, 4);
	memcpy(&D, buf + 36, 4);
	memcpy(&K, buf + 40, 4);
	memcpy(&rows, buf + 44, 8);
	key_bytes(hex, key);
	if (memcmp(buf, "BOTIFYNB", 8) != 0) {
		invalid(status, why, why_n, "not a botify neighbour cache");
		goto out;
	}
	if (version != NB_VERSION || order != NB_ORDER) {
		invalid(status, why, why_n, "another version or byte order");
		goto out;
	}
	if (memcmp(buf + 16, key, 16) != 0 || N != w->N || D != w->D || K != s->K) {
		invalid(status, why, why_n, "made for another world or user model");
		goto out;
	}
	if (rows < 0 || rows > w->N || size != HEADER + 8 + (size_t)rows * (1 + (size_t)K) * 4) {
		invalid(status, why, why_n, "truncated or padded");
		goto out;
	}
	botify_hash128 h;
	botify_hash128_init(&h);
	botify_hash128_bytes(&h, buf, size - 8);
	uint64_t sum[2], stored;
	botify_hash128_final(&h, sum);
	memcpy(&stored, buf + size - 8, 8);
	if (stored != sum[0]) {
		invalid(status, why, why_n, "bad checksum");
		goto out;
	}
	const unsigned char *p = buf + HEADER;
	/* huge pages where the system gives them, as the search's table */
	int32_t *nb = botify_malloc_large((size_t)rows ? (size_t)rows : 1, (size_t)K * sizeof(int32_t),
					  "interest neighbours", err);
	if (!nb) {
		rc = -1;
		goto out;
	}
	for (int64_t r = 0; r < rows; r++, p += (1 + (size_t)K) * 4) {
		int32_t t;
		memcpy(&t, p, 4);
		memcpy(nb + (size_t)r * K, p + 4, (size_t)K * 4);
		int ok = t >= 0 && t < w->N && s->nb_row[t] < 0;
		for (int32_t i = 0; ok && i < K; i++)
			ok = nb[(size_t)r * K + i] >= 0 && nb[(size_t)r * K + i] < w->N;
		if (!ok) {
			for (int32_t u = 0; u < w->N; u++)
				s->nb_row[u] = -1;
			free(nb);
			invalid(status, why, why_n, "track ids out of range");
			goto out;
		}
		s->nb_row[t] = (int32_t)r;
	}
	free(s->nb);
	s->nb = nb;
	s->nb_rows = rows;
	*rows_out = rows;
	*status = BOTIFY_NBCACHE_LOADED;
out:
	free(buf);
	fclose(fp);
	return rc;
}

int botify_nbcache_save(const botify_sim *s, const char *path, const char *hex, botify_err *err)
{
	const botify_world *w = s->world;
	int32_t K = s->K;
	size_t size = HEADER + 8 + (size_t)s->nb_rows * (1 + (size_t)K) * 4;
	unsigned char *buf = botify_malloc(size, 1, "neighbour cache", err);
	if (!buf)
		return -1;
	uint32_t version = NB_VERSION, order = NB_ORDER;
	int32_t N = w->N, D = w->D;
	int64_t rows = s->nb_rows;
	memcpy(buf, "BOTIFYNB", 8);
	memcpy(buf + 8, &version, 4);
	memcpy(buf + 12, &order, 4);
	key_bytes(hex, buf + 16);
	memcpy(buf + 32, &N, 4);
	memcpy(buf + 36, &D, 4);
	memcpy(buf + 40, &K, 4);
	memcpy(buf + 44, &rows, 8);
	unsigned char *p = buf + HEADER;
	for (int32_t t = 0; t < w->N; t++) {
		int32_t r = s->nb_row[t];
		if (r < 0)
			continue;
		memcpy(p, &t, 4);
		memcpy(p + 4, s->nb + (size_t)r * K, (size_t)K * 4);
		p += (1 + (size_t)K) * 4;
	}
	botify_hash128 h;
	botify_hash128_init(&h);
	botify_hash128_bytes(&h, buf, size - 8);
	uint64_t sum[2];
	botify_hash128_final(&h, sum);
	memcpy(buf + size - 8, &sum[0], 8);
	int rc = botify_write_cache_file(path, &(botify_bytes){ buf, size }, 1, err);
	free(buf);
	return rc;
}
