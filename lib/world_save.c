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

#include "npy.h"
#include "outfile.h"
#include "worldgen.h"

static int mkdir_p(const char *dir, botify_err *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return botify_fail(err, BOTIFY_EINVAL, "directory name too long: '%s'", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0777) != 0 && errno != EEXIST)
			return botify_fail_errno(err, errno, "cannot create directory '%s'", path);
		*p = '/';
	}
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		return botify_fail_errno(err, errno, "cannot create directory '%s'", path);
	return 0;
}

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
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	cJSON_AddRawToObject(o, key, buf);
}

static int save_tracks(const botify_world *w, const char *path, int force, botify_err *err)
{
	botify_outfile f = {0};
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
	for (int32_t t = 0; t < w->N; t++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "track", t);
		cJSON_AddStringToObject(o, "artist", botify_world_artist_name(w, w->artist[t]));
		cJSON_AddStringToObject(o, "title", botify_world_title(w, t));
		if (put_line(&f, o, err) != 0)
			goto fail;
	}
	if (botify_outfile_commit(&f, err) == 0)
		return 0;
fail:
	botify_outfile_abort(&f);
	return -1;
}

static int save_users(const botify_world *w, const char *path, int force, botify_err *err)
{
	botify_outfile f = {0};
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
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
		if (put_line(&f, o, err) != 0)
			goto fail;
	}
	if (botify_outfile_commit(&f, err) == 0)
		return 0;
fail:
	botify_outfile_abort(&f);
	return -1;
}

static int save_top(const botify_world *w, const char *path, int force, botify_err *err)
{
	botify_outfile f = {0};
	if (botify_outfile_open(&f, path, force, err) != 0)
		return -1;
	if (put_line(&f, cJSON_CreateIntArray(w->top_tracks, w->n_top), err) == 0 &&
	    botify_outfile_commit(&f, err) == 0)
		return 0;
	botify_outfile_abort(&f);
	return -1;
}

int botify_world_save(const botify_world *w, const char *dir, int force, botify_err *err)
{
	static const char *const names[] = { "tracks.json", "tracks.npy", "users.json", "top_tracks.json" };
	char path[4][4096];
	for (int i = 0; i < 4; i++) {
		if (snprintf(path[i], sizeof(path[i]), "%s/%s", dir, names[i]) >= (int)sizeof(path[i]))
			return botify_fail(err, BOTIFY_EINVAL, "directory name too long: '%s'", dir);
		/* refuse before writing anything, so a refused run changes nothing */
		if (!force && access(path[i], F_OK) == 0)
			return botify_fail(err, BOTIFY_EEXIST, "'%s' exists (use --force to replace it)",
					   path[i]);
	}
	if (mkdir_p(dir, err) != 0)
		return -1;
	if (save_tracks(w, path[0], force, err) != 0 ||
	    botify_npy_write(path[1], w->E, 2, (size_t)w->N, (size_t)w->D, force, err) != 0 ||
	    (w->U > 0 && save_users(w, path[2], force, err) != 0) ||
	    (w->n_top > 0 && save_top(w, path[3], force, err) != 0))
		return -1;
	/* with --force, a file this world has no content for must not survive
	 * from the world it replaces */
	if ((w->U == 0 && unlink(path[2]) != 0 && errno != ENOENT) ||
	    (w->n_top == 0 && unlink(path[3]) != 0 && errno != ENOENT))
		return botify_fail_errno(err, errno, "cannot remove a stale file in '%s'", dir);
	return 0;
}
