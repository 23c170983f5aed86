/*
 * twotower_io.c - the model directory: written atomically, read with every
 * shape and value checked; the catalog hash that ties a model to a world.
 */
#include "twotower_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "jsoncfg.h"
#include "jsonl.h"
#include "npy.h"
#include "outfile.h"
#include "tempreg.h"

uint64_t botify_tt_catalog_hash(const int32_t *artist, int32_t N, int32_t A)
{
	uint64_t h = 1469598103934665603ULL;
	uint32_t head[2] = { (uint32_t)N, (uint32_t)A };
	const unsigned char *p = (const unsigned char *)head;
	for (size_t i = 0; i < sizeof(head); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	for (int32_t t = 0; t < N; t++) {
		uint32_t v = (uint32_t)artist[t];
		for (int k = 0; k < 4; k++)
			h = (h ^ ((v >> (8 * k)) & 0xff)) * 1099511628211ULL;
	}
	return h;
}

int botify_tt_bind_catalog(botify_tt *m, const int32_t *artist, int32_t N, int32_t A,
			   const char *what, botify_err *err)
{
	if (N != m->cfg.N || A != m->cfg.A)
		return botify_fail(err, BOTIFY_EINVAL,
				   "%s was trained on a catalog of %d tracks and %d artists, the world has %d and %d",
				   what, m->cfg.N, m->cfg.A, N, A);
	if (botify_tt_catalog_hash(artist, N, A) != m->catalog_hash)
		return botify_fail(err, BOTIFY_EINVAL,
				   "%s was trained on another catalog (its tracks' artists differ from the world's)",
				   what);
	m->track_artist = artist;
	return 0;
}

/*
 * The model directory.
 */
static int path_join(char *out, size_t n, const char *dir, const char *name, botify_err *err)
{
	if ((size_t)snprintf(out, n, "%s/%s", dir, name) >= n)
		return botify_fail(err, BOTIFY_EINVAL, "path too long: '%s/%s'", dir, name);
	return 0;
}

static cJSON *config_json(const botify_tt *m, const cJSON *training)
{
	const botify_tt_config *c = &m->cfg;
	char hash[24];
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)m->catalog_hash);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "format_version", BOTIFY_TT_FORMAT_VERSION);
	cJSON_AddStringToObject(o, "arch", botify_tt_arch_name(c->arch));
	cJSON_AddNumberToObject(o, "users", c->U);
	cJSON_AddNumberToObject(o, "tracks", c->N);
	cJSON_AddNumberToObject(o, "artists", c->A);
	cJSON_AddNumberToObject(o, "emb", c->E);
	cJSON_AddNumberToObject(o, "hidden", c->H);
	cJSON_AddNumberToObject(o, "out", c->OUT);
	cJSON_AddBoolToObject(o, "context_artist", c->context_artist);
	cJSON_AddNumberToObject(o, "leaky_relu_slope", 0.01);
	cJSON_AddStringToObject(o, "catalog_hash", hash);
	cJSON *t = cJSON_AddObjectToObject(o, "tensors");
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++) {
		if (!m->rows[i])
			continue;
		int shape[2] = { (int)m->rows[i], (int)m->cols[i] };
		cJSON_AddItemToObject(t, botify_tt_tensor_name(i), cJSON_CreateIntArray(shape, botify_tt_tensor_is_bias(i) ? 1 : 2));
	}
	int us[2] = { c->U, c->OUT };
	cJSON_AddItemToObject(t, "user_pairs", cJSON_CreateIntArray(us, 1));
	cJSON_AddItemToObject(t, "user_context", cJSON_CreateIntArray(us, 2));
	if (training)
		cJSON_AddItemToObject(o, "training", cJSON_Duplicate(training, 1));
	return o;
}

/*
 * The files of a model being saved: named temporaries in the temporary
 * directory (tmp), or unnamed files in the model's parent directory, given
 * names in tmp only once all are written (see botify_tt_save).
 */
enum { MAX_FILES = BOTIFY_TT_NTENSORS + 4 };
struct saver {
	const char *dir, *tmp, *parent;
	int unnamed;
	int n;                      /* files finished, kept for linking when unnamed */
	botify_outfile f[MAX_FILES];
	char name[MAX_FILES][64];
};

static int unnamed_ok = 1;

void botify_tt_set_unnamed(int on)
{
	unnamed_ok = on;
}

/* Opens the next file, name; returns 1 (unnamed, nothing open) when the file
 * system has no unnamed files. */
static int file_open(struct saver *sv, const char *name, botify_err *err)
{
	char path[4096];
	botify_outfile *f = &sv->f[sv->n];
	if (sv->n >= MAX_FILES)
		BOTIFY_BUG("a model has more files than MAX_FILES");
	snprintf(sv->name[sv->n], sizeof(sv->name[0]), "%s", name);
	if (sv->unnamed) {
		if (path_join(path, sizeof(path), sv->dir, name, err) != 0)
			return -1;
		int rc = botify_outfile_open_unnamed(f, sv->parent, path, err);
		if (rc == 1 && sv->n > 0) /* the first file decides: a change now is a failure */
			return botify_fail(err, BOTIFY_EIO, "cannot create '%s': unnamed files no longer supported in '%s'",
					   path, sv->parent);
		return rc;
	}
	return path_join(path, sizeof(path), sv->tmp, name, err) != 0 ? -1 :
	       botify_outfile_open(f, path, 1, err);
}

/* Completes the open file: renamed into tmp, or fsynced and kept. */
static int file_close(struct saver *sv, botify_err *err)
{
	botify_outfile *f = &sv->f[sv->n];
	if (!sv->unnamed)
		return botify_outfile_commit(f, err);
	if (botify_outfile_finish(f, err) != 0)
		return -1;
	sv->n++;
	return 0;
}

static void saver_abort(struct saver *sv)
{
	for (int i = 0; i < sv->n; i++)
		botify_outfile_abort(&sv->f[i]);
	sv->n = 0;
}

static int save_npy(struct saver *sv, const char *name, const float *data, size_t ndim,
		    size_t rows, size_t cols, botify_err *err)
{
	int rc = file_open(sv, name, err);
	if (rc != 0)
		return rc;
	if (botify_npy_write_to(&sv->f[sv->n], data, ndim, rows, cols, err) != 0) {
		botify_outfile_abort(&sv->f[sv->n]);
		return -1;
	}
	return file_close(sv, err);
}

static int save_json(struct saver *sv, const char *name, const cJSON *o, botify_err *err)
{
	char *s = cJSON_Print(o);
	if (!s)
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory formatting %s/%s", sv->dir, name);
	int rc = file_open(sv, name, err);
	if (rc == 0) {
		botify_outfile *f = &sv->f[sv->n];
		if (botify_outfile_write(f, s, strlen(s), err) == 0 &&
		    botify_outfile_write(f, "\n", 1, err) == 0) {
			rc = file_close(sv, err);
		} else {
			botify_outfile_abort(f);
			rc = -1;
		}
	}
	free(s);
	return rc;
}

/* Returns 1 when the first file finds no unnamed files (nothing written). */
static int write_tensors(const botify_tt *m, struct saver *sv, const cJSON *training,
			 const cJSON *metrics, botify_err *err)
{
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++) {
		if (!m->rows[i])
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%s.npy", botify_tt_tensor_name(i));
		int rc = save_npy(sv, name, m->mem + m->off[i], botify_tt_tensor_is_bias(i) ? 1 : 2, m->rows[i],
				  botify_tt_tensor_is_bias(i) ? 1 : m->cols[i], err);
		if (rc != 0)
			return rc;
	}
	if (save_npy(sv, "user_pairs.npy", m->user_pairs, 1, (size_t)m->cfg.U, 1, err) != 0 ||
	    save_npy(sv, "user_context.npy", m->user_context, 2, (size_t)m->cfg.U, (size_t)m->cfg.OUT, err) != 0)
		return -1;
	if (metrics && save_json(sv, "metrics.json", metrics, err) != 0)
		return -1;
	/* config.json last: a directory with it is complete */
	cJSON *cfg = config_json(m, training);
	int rc = save_json(sv, "config.json", cfg, err) == 0 ? 0 : -1;
	cJSON_Delete(cfg);
	return rc;
}

/* Names the unnamed files in tmp, in the order written (config.json last). */
static int link_files(struct saver *sv, botify_err *err)
{
	int dfd = open(sv->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return botify_fail_errno(err, errno, "cannot open directory '%s'", sv->tmp);
	int rc = 0;
	for (int i = 0; i < sv->n; i++)
		if (rc == 0)
			rc = botify_outfile_link(&sv->f[i], dfd, sv->name[i], err);
		else
			botify_outfile_abort(&sv->f[i]);
	sv->n = 0;
	close(dfd);
	return rc;
}

/* The names botify writes in a model directory: the model's files, and the
 * export outputs docs/train.md suggests keeping next to them. */
static int owned_name(const char *name)
{
	static const char *const extra[] = {
		"config.json", "metrics.json", "user_pairs.npy", "user_context.npy",
		"track_vectors.npy", "tracks_with_recs.json", "tracks_with_recs.json.gz",
		"recommendations.json", "recommendations.json.gz",
	};
	char base[96];
	size_t len = strlen(name);
	if (len >= sizeof(base))
		return 0;
	memcpy(base, name, len + 1);
	/* a temporary of one of them, left by a killed export */
	char *t = strstr(base, ".tmp.");
	if (t && t[5] >= '0' && t[5] <= '9')
		*t = '\0';
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (!strcmp(base, extra[i]))
			return 1;
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++) {
		size_t n = strlen(botify_tt_tensor_name(i));
		if (!strncmp(base, botify_tt_tensor_name(i), n) && !strcmp(base + n, ".npy"))
			return 1;
	}
	return 0;
}

int botify_tt_check_replaceable(const char *dir, botify_err *err)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? 0 : botify_fail_errno(err, errno, "cannot read '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return botify_fail(err, BOTIFY_EEXIST,
				   "'%s' exists and is %s, not a model directory: not replacing it", dir,
				   S_ISLNK(st.st_mode) ? "a symbolic link" : botify_file_kind(st.st_mode));
	char path[4096];
	if (path_join(path, sizeof(path), dir, "config.json", err) != 0)
		return -1;
	cJSON *o = lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? botify_json_read_file(path, err) : NULL;
	int ok = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "format_version")) &&
		 cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "arch"));
	cJSON_Delete(o);
	if (!ok)
		return botify_fail(err, BOTIFY_EEXIST,
				   "'%s' is not a botify model directory (no model config.json): --force replaces only models, not replacing it",
				   dir);
	DIR *d = opendir(dir);
	if (!d)
		return botify_fail_errno(err, errno, "cannot read directory '%s'", dir);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_join(path, sizeof(path), dir, e->d_name, err) != 0) {
			rc = -1;
			break;
		}
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || !owned_name(e->d_name))
			rc = botify_fail(err, BOTIFY_EEXIST,
					 "'%s' holds '%s', which botify did not write there: not replacing it (move it away or choose another --model)",
					 dir, e->d_name);
	}
	closedir(d);
	return rc;
}

/* A signal handler removed the temporaries (tempreg.h): the model in the
 * temporary directory may be gone in part, and must not be put in place. */
static int interrupted(int reg, botify_err *err)
{
	return botify_tempreg_removed(reg) ? botify_fail(err, BOTIFY_EINTR, "interrupted") : 0;
}

/* Makes the temporary directory next to dir, registered in tempreg.h. */
static int make_tmp_dir(char *tmp, size_t n, const char *dir, int *reg, botify_err *err)
{
	for (int tries = 0; tries < 100; tries++) {
		if (botify_temp_name(tmp, n, dir, err) != 0)
			return -1;
		if (mkdir(tmp, 0777) == 0) {
			*reg = botify_tempreg_add(tmp, BOTIFY_TEMPREG_DIR);
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	return botify_fail_errno(err, errno, "cannot create directory '%s'", tmp);
}

/* Removes the old model, swapped into tmp. Unlinking a large file frees its
 * blocks, which takes milliseconds per file: with each file held open, the
 * names go at once and the blocks at the close, so that a kill (SIGKILL)
 * meanwhile rarely finds the directory still there. */
static void remove_old(const char *tmp)
{
	int fds[64], n = 0;
	DIR *d = opendir(tmp);
	struct dirent *e;
	while (d && n < 64 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0)
				fds[n++] = fd;
		}
	if (d)
		closedir(d);
	botify_err ignored = {0};
	botify_remove_tree(tmp, &ignored);
	while (n > 0)
		close(fds[--n]);
}

int botify_tt_save(const botify_tt *m, const char *dir_arg, int force, const cJSON *training,
		   const cJSON *metrics, botify_err *err)
{
	char tmp[4096], dir[4096], parent[4096];
	struct stat st;
	/* "models/nn/" names models/nn: its temporary goes beside it, not in it */
	size_t dn = strlen(dir_arg);
	while (dn > 1 && dir_arg[dn - 1] == '/')
		dn--;
	if (dn >= sizeof(dir))
		return botify_fail(err, BOTIFY_EINVAL, "model directory name too long: '%s'", dir_arg);
	memcpy(dir, dir_arg, dn);
	dir[dn] = '\0';
	memcpy(parent, dir, dn + 1);
	char *slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else
		slash[slash == parent] = '\0'; /* "/m" has "/" for parent */
	int exists = lstat(dir, &st) == 0;
	if (exists && !force)
		return botify_fail(err, BOTIFY_EEXIST, "'%s' exists (use --force to replace it)", dir);
	if (exists && botify_tt_check_replaceable(dir, err) != 0)
		return -1;
	if (botify_mkdir_parents(dir, err) != 0)
		return -1;
	struct saver sv = { .dir = dir, .tmp = tmp, .parent = parent, .unnamed = unnamed_ok };
	int reg = -1, rc = 1;
	/* unnamed first: the directory appears only once the files are complete */
	if (sv.unnamed) {
		rc = write_tensors(m, &sv, training, metrics, err);
		if (rc < 0) {
			saver_abort(&sv);
			return -1;
		}
		if (rc == 0 && make_tmp_dir(tmp, sizeof(tmp), dir, &reg, err) != 0) {
			saver_abort(&sv);
			return -1;
		}
		if (rc == 0 && link_files(&sv, err) != 0)
			goto fail;
	}
	if (rc == 1) { /* no unnamed files here: named ones in the temporary directory */
		sv.unnamed = 0;
		if (make_tmp_dir(tmp, sizeof(tmp), dir, &reg, err) != 0)
			return -1;
		if (write_tensors(m, &sv, training, metrics, err) != 0)
			goto fail;
	}
	/* check again: the directory may have changed during the writes */
	if (lstat(dir, &st) == 0) {
		if (botify_tt_check_replaceable(dir, err) != 0)
			goto fail;
		/* the old model becomes tmp in one step, then goes */
		if (interrupted(reg, err) || botify_swap_dirs(tmp, dir, err) != 0)
			goto fail;
		remove_old(tmp); /* best effort: the new model is in place */
		botify_tempreg_drop(reg);
		return 0;
	}
	if (interrupted(reg, err))
		goto fail;
	if (rename(tmp, dir) != 0) {
		if (!interrupted(reg, err))
			botify_fail_errno(err, errno, "cannot rename '%s' to '%s'", tmp, dir);
		goto fail;
	}
	botify_tempreg_drop(reg);
	return 0;
fail:;
	botify_err ignored = {0};
	botify_remove_tree(tmp, &ignored);
	botify_tempreg_drop(reg);
	return -1;
}

/* Reads dir/name.npy into dst, which must have the given shape. */
static int read_tensor(const char *dir, const char *name, float *dst, size_t ndim, size_t rows,
		       size_t cols, botify_err *err)
{
	char path[4096], file[96];
	snprintf(file, sizeof(file), "%s.npy", name);
	if (path_join(path, sizeof(path), dir, file, err) != 0)
		return -1;
	botify_npy a = {0};
	if (botify_npy_read(&a, path, err) != 0)
		return -1;
	int rc = -1;
	if (a.ndim != ndim || a.rows != rows || a.cols != cols) {
		if (ndim == 1)
			botify_fail(err, BOTIFY_EFORMAT, "%s: shape (%zu, %zu) of %zu dims, expected (%zu,) for this config.json",
				    path, a.rows, a.cols, a.ndim, rows);
		else
			botify_fail(err, BOTIFY_EFORMAT, "%s: shape (%zu, %zu) of %zu dims, expected (%zu, %zu) for this config.json",
				    path, a.rows, a.cols, a.ndim, rows, cols);
		goto out;
	}
	size_t n = rows * cols;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(a.data[i])) {
			botify_fail(err, BOTIFY_EFORMAT, "%s: element %zu is not a finite number", path, i);
			goto out;
		}
	memcpy(dst, a.data, n * sizeof(float));
	rc = 0;
out:
	botify_npy_free(&a);
	return rc;
}

/* config.json's fields besides format_version (checked first, with its own
 * message) and the tensors (read from their files): the sizes through the
 * one config table, then the arch name and the catalog hash, which are
 * strings with a meaning. */
struct config_file {
	botify_tt_config c;
	const char *arch, *catalog_hash;
};
#define KEY(key, member, kind, lo, hi, req) \
	BOTIFY_JSONCFG_KEY(struct config_file, key, member, kind, lo, hi, req)
static const botify_jsoncfg_field config_fields[] = {
	KEY("users", c.U, INT32, 1, INT32_MAX, 1),
	KEY("tracks", c.N, INT32, 1, INT32_MAX, 1),
	KEY("artists", c.A, INT32, 1, INT32_MAX, 1),
	KEY("emb", c.E, INT, 1, 4096, 1),
	KEY("hidden", c.H, INT, 1, 16384, 1),
	KEY("out", c.OUT, INT, 1, 4096, 1),
	KEY("context_artist", c.context_artist, BOOL, 0, 0, 0),
	KEY("arch", arch, STRING, 0, 0, 1),
	KEY("catalog_hash", catalog_hash, STRING, 0, 0, 1),
};
#undef KEY
static const botify_jsoncfg config_table = {
	NULL, config_fields, sizeof(config_fields) / sizeof(config_fields[0]),
	1, /* format_version, tensors and the training's records are not sizes */
};

/* The model's config.json (parsed as o, read from path) into c and the
 * catalog hash: every field checked, errors naming the file. */
static int read_config(const cJSON *o, const char *path, botify_tt_config *c, uint64_t *hash,
		       botify_err *err)
{
	if (!cJSON_IsObject(o))
		return botify_fail(err, BOTIFY_EFORMAT, "%s: expected a JSON object", path);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "format_version");
	if (!cJSON_IsNumber(v))
		return botify_fail(err, BOTIFY_EFORMAT, "%s: 'format_version' is missing", path);
	if (v->valuedouble != BOTIFY_TT_FORMAT_VERSION)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: format_version %g is not supported (this botify reads %d)",
				   path, v->valuedouble, BOTIFY_TT_FORMAT_VERSION);
	struct config_file f = {0};
	if (botify_jsoncfg_apply(&config_table, o, path, &f, err) != 0)
		return -1;
	if ((f.c.arch = botify_tt_arch_parse(f.arch)) < 0)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: 'arch' must be \"two-tower\", \"dot\", \"sum\" or \"hybrid\"", path);
	char *end = NULL;
	unsigned long long h16 = strtoull(f.catalog_hash, &end, 16);
	if (end == f.catalog_hash || *end)
		return botify_fail(err, BOTIFY_EFORMAT, "%s: 'catalog_hash' must be a hex string", path);
	*c = f.c;
	*hash = h16;
	return 0;
}

int botify_tt_load(botify_tt *m, const char *dir, botify_err *err)
{
	char path[4096];
	memset(m, 0, sizeof(*m));
	if (path_join(path, sizeof(path), dir, "config.json", err) != 0)
		return -1;
	struct stat st;
	if (stat(dir, &st) != 0) {
		int e = errno;
		botify_fail_errno(err, e, "cannot open model directory '%s'", dir);
		return e == ENOENT ? botify_note_stale(dir, err) : -1;
	}
	if (stat(path, &st) != 0)
		return botify_fail(err, BOTIFY_EIO, "%s: not a botify model directory (no config.json)", dir);
	cJSON *o = botify_json_read_file(path, err);
	if (!o)
		return -1;
	int rc = -1;
	botify_tt_config c = {0};
	uint64_t hash = 0;
	if (read_config(o, path, &c, &hash, err) != 0)
		goto out;
	if (botify_tt_alloc(m, &c, err) != 0) {
		botify_err_prefix(err, "%s", path);
		goto out;
	}
	m->catalog_hash = hash;
	for (int i = 0; i < BOTIFY_TT_NTENSORS; i++)
		if (m->rows[i] && read_tensor(dir, botify_tt_tensor_name(i), m->mem + m->off[i], botify_tt_tensor_is_bias(i) ? 1 : 2,
					      m->rows[i], botify_tt_tensor_is_bias(i) ? 1 : m->cols[i], err) != 0)
			goto out;
	if (read_tensor(dir, "user_pairs", m->user_pairs, 1, (size_t)c.U, 1, err) != 0 ||
	    read_tensor(dir, "user_context", m->user_context, 2, (size_t)c.U, (size_t)c.OUT, err) != 0)
		goto out;
	botify_tt_update_user_mean(m);
	rc = 0;
out:
	cJSON_Delete(o);
	if (rc != 0)
		botify_tt_free(m);
	return rc;
}
