/*
 * jsoncfg.h - JSON config files read through a table: one row per key
 * ({key, type, offset into the caller's struct, range, required}), so a
 * config reader is a table and one call, and every reader refuses the same
 * things with the same messages:
 *
 *   sim.json: unknown key 'session_budjet' (known: interest_neighbours, ...)
 *   sim.json: 'max_steps' must be an integer, got 2.5
 *   sim.json: 'max_steps' is 0, out of range (1 to 1e+09)
 *   tiny.json: world parameter 'dim' is 0, out of range (1 to 4096)
 *   config.json: 'users' is missing
 *
 * Keys that start with '_' ("_comment") are documentation and skipped. A key
 * given twice takes its last value, as cJSON reads it.
 */
#ifndef BOTIFY_JSONCFG_H
#define BOTIFY_JSONCFG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"

enum botify_jsoncfg_type {
	BOTIFY_JSONCFG_INT,    /* int: an integral number in [lo, hi] */
	BOTIFY_JSONCFG_INT32,  /* int32_t: the same */
	BOTIFY_JSONCFG_INT64,  /* int64_t: the same (|x| <= 2^53: exact in a double) */
	BOTIFY_JSONCFG_DOUBLE, /* double: a finite number in [lo, hi] */
	BOTIFY_JSONCFG_BOOL,   /* int: true or false, stored as 1 or 0 */
	BOTIFY_JSONCFG_STRING, /* const char *: points into the tree (botify_jsoncfg_apply only) */
};

typedef struct botify_jsoncfg_field {
	const char *key;
	enum botify_jsoncfg_type type;
	size_t offset;       /* offsetof(the caller's struct, member) */
	double lo, hi;       /* numbers only; for integers within the type's range */
	int required;        /* 1: a missing key is an error */
} botify_jsoncfg_field;

/* A row: BOTIFY_JSONCFG_FIELD(struct botify_simcfg, max_steps, INT64, 1, 1e9, 0). */
#define BOTIFY_JSONCFG_FIELD(type_, member, kind, lo, hi, required)                              \
	{ #member, BOTIFY_JSONCFG_##kind, offsetof(type_, member), (lo), (hi), (required) }
/* A row whose key is not the member's name ("users" into cfg.U). */
#define BOTIFY_JSONCFG_KEY(type_, key, member, kind, lo, hi, required)                           \
	{ (key), BOTIFY_JSONCFG_##kind, offsetof(type_, member), (lo), (hi), (required) }

typedef struct botify_jsoncfg {
	const char *what;    /* names a key in messages: "world parameter"; NULL: "key" */
	const botify_jsoncfg_field *fields;
	size_t n_fields;
	int allow_unknown;   /* 1: keys not in the table are the caller's (a model's
				config.json has tensors and training records) */
} botify_jsoncfg;

/* Stores the keys of obj that the table names into out (others untouched, so
 * out may hold defaults). Returns 0, or -1 with "path: ..." (BOTIFY_EFORMAT
 * for a missing, unknown or mistyped key, BOTIFY_ERANGE for a number out of
 * its range); out may then be half-written. obj must be an object. */
int botify_jsoncfg_apply(const botify_jsoncfg *t, const cJSON *obj, const char *path, void *out,
			 botify_err *err);

/* Reads path (a JSON object, plain or gzip) and applies it; the table may not
 * hold strings, which would outlive the tree. */
int botify_jsoncfg_load(const botify_jsoncfg *t, const char *path, void *out, botify_err *err);

/* Checks the numbers of in against the table's ranges, for values that did
 * not come from a file (flags): "world parameter 'tracks' is 0, out of range
 * (1 to 5e+07)", BOTIFY_ERANGE. */
int botify_jsoncfg_check(const botify_jsoncfg *t, const void *in, botify_err *err);

#endif
