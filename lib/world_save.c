/*
 * world_save.c - writing a world directory in the formats world.c reads.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fs.h"
#include "jsonfmt.h"
#include "npy.h"
#include "outfile.h"
#include "world.h"

/* Writes one cJSON value as a line; frees it. */
static int put_line(botify_outfile *f, cJSON *o, botify_err *err)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!s)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory formatting JSON");
	int rc = botify_outfile_write(f, s, strlen(s), err);
	if (rc == 0)
		rc = botify_outfile_write(f, "\n", 1, err);
	free(s);
	return rc;
}

/* Adds a double that reads back bit for bit. cJSON prints 15 digits when they
 * come "close enough" (within an epsilon), which can lose the last bit of a
 * generated consume_bias; a saved world must simulate like the original. */
static void add_double(cJSON *o, const char *key, double v)
{
	char buf[BOTIFY_JSON_DOUBLE_MAX + 1];
	*botify_json_put_double(buf, v) = '\0';
	cJSON_AddRawToObject(o, key, buf);
}

static int save_tracks(const botify_world *w, botify_outfile *f, botify_err *err)
{
	for (int32_t t = 0; t < w->N; t++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "track", t);
		cJSON_AddStringToObject(o, "artist", botify_world_artist_name(w, w->artist[t]));
		cJSON_AddStringToObject(o, "title", botify_world_title(w, t));
		if (put_line(f, o, err) != 0)
			return -1;
	}
	return 0;
}

static int save_users(const botify_world *w, botify_outfile *f, botify_err *err)
{
	for (int32_t u = 0; u < w->U; u++) {
		const botify_user *p = &w->users[u];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "user", u);
		cJSON_AddItemToObject(o, "interests",
				      cJSON_CreateIntArray(w->interests + p->first_interest, p->n_interests));
		if (!isnan(p->consume_bias))
			add_double(o, "consume_bias", p->consume_bias);
		if (!isnan(p->consume_sharpness))
			add_double(o, "consume_sharpness", p->consume_sharpness);
		if (!isnan(p->artist_discount_gamma))
			add_double(o, "artist_discount_gamma", p->artist_discount_gamma);
		if (p->interest_neighbours)
			cJSON_AddNumberToObject(o, "interest_neighbours", p->interest_neighbours);
		if (p->session_budget)
			cJSON_AddNumberToObject(o, "session_budget", p->session_budget);
		if (put_line(f, o, err) != 0)
			return -1;
	}
	return 0;
}

static int save_top(const botify_world *w, botify_outfile *f, botify_err *err)
{
	return put_line(f, cJSON_CreateIntArray(w->top_tracks, w->n_top), err);
}

int botify_world_save(const botify_world *w, const char *dir, int force, botify_err *err)
{
	static const char *const names[] = { "tracks.json", "tracks.npy", "users.json", "top_tracks.json" };
	char path[4][4096];
	botify_outfile f[4] = {{0}};
	int want[4] = { 1, 1, w->U > 0, w->n_top > 0 };
	for (int i = 0; i < 4; i++) {
		if (snprintf(path[i], sizeof(path[i]), "%s/%s", dir, names[i]) >= (int)sizeof(path[i]))
			return botify_fail(err, BOTIFY_EINVAL, "directory name too long: '%s'", dir);
		/* refuse before writing anything, so a refused run changes nothing */
		if (!force && access(path[i], F_OK) == 0)
			return botify_fail(err, BOTIFY_EEXIST, "'%s' exists (use --force to replace it)",
					   path[i]);
	}
	struct stat st;
	int made = stat(dir, &st) != 0;
	if (botify_mkdir_p(dir, err) != 0)
		return -1;
	/* the files appear together or not at all: each goes to its temporary,
	 * all are finished, then all are renamed in a row */
	for (int i = 0; i < 4; i++)
		if (want[i] && botify_outfile_open(&f[i], path[i], force, err) != 0)
			goto fail;
	if (save_tracks(w, &f[0], err) != 0 ||
	    botify_npy_write_to(&f[1], w->E, 2, (size_t)w->N, (size_t)w->D, err) != 0 ||
	    (want[2] && save_users(w, &f[2], err) != 0) || (want[3] && save_top(w, &f[3], err) != 0))
		goto fail;
	for (int i = 0; i < 4; i++)
		if (want[i] && botify_outfile_finish(&f[i], err) != 0)
			goto fail;
	for (int i = 0; i < 4; i++)
		if (want[i] && botify_outfile_publish(&f[i], err) != 0) {
			for (int j = 0; j < i; j++) /* take back the ones renamed already */
				if (want[j])
					unlink(path[j]);
			goto fail;
		}
	/* with --force, a file this world has no content for must not survive
	 * from the world it replaces */
	for (int i = 2; i < 4; i++)
		if (!want[i] && unlink(path[i]) != 0 && errno != ENOENT)
			return botify_fail_errno(err, errno, "cannot remove a stale file in '%s'", dir);
	return 0;
fail:
	for (int i = 0; i < 4; i++)
		botify_outfile_abort(&f[i]);
	if (made)
		rmdir(dir); /* only when empty: what this run made, nothing else */
	return -1;
}
