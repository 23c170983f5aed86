/*
 * jsonl.h - JSON-lines files, plain or gzip (detected from the content, not
 * the name), read a line at a time with line numbers for error messages.
 *
 * Blank lines are skipped (but counted). A line may hold up to
 * BOTIFY_JSONL_MAX_LINE bytes; a longer one is an error naming file:line.
 * Only regular files are opened, except by botify_jsonl_open_stream (event
 * logs), which also reads FIFOs, character devices and "-" (stdin). Data
 * after the end of a gzip stream is an error. Field
 * helpers turn a missing or mistyped field into one message naming the file,
 * line and key: "users.json:17: 'interests' must be an array of integers".
 */
#ifndef BOTIFY_JSONL_H
#define BOTIFY_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"

/* Longest line (64 MiB): lists of a million ids fit with room to spare. */
#define BOTIFY_JSONL_MAX_LINE (64 << 20)
/* Largest file botify_json_read_file reads, decompressed (1 GiB). */
#define BOTIFY_JSON_MAX_FILE ((uint64_t)1 << 30)

typedef struct botify_jsonl {
	char *path;       /* copy of the path, for messages */
	void *src;        /* the decoder (private) */
	char *line;       /* current line, NUL-terminated, newline stripped */
	size_t len;       /* its length in bytes */
	size_t cap;
	size_t lineno;    /* 1-based number of the current line */
	int eof;
	cJSON *obj;       /* the current line's object (botify_jsonl_next_object);
			     owned by the reader, freed by the next call or close */
} botify_jsonl;

/* Opens path for reading (plain or gzip). BOTIFY_EIO names the path; a path
 * that is not a regular file is refused. */
int botify_jsonl_open(botify_jsonl *r, const char *path, botify_err *err);

/* The same for a stream: a FIFO, a character device or "-" (stdin) too. */
int botify_jsonl_open_stream(botify_jsonl *r, const char *path, botify_err *err);

/* Bytes of the file consumed so far (compressed bytes for gzip). */
uint64_t botify_jsonl_offset(const botify_jsonl *r);

/* Reads the next non-blank line into r->line. Returns 1 when a line was read,
 * 0 at end of file, -1 on a read error (a corrupt gzip stream, say). */
int botify_jsonl_next(botify_jsonl *r, botify_err *err);

/* Parses the current line. Returns a cJSON tree the caller frees with
 * cJSON_Delete, or NULL with "path:line: malformed JSON near byte K". */
cJSON *botify_jsonl_parse(botify_jsonl *r, botify_err *err);

/* Reads the next non-blank line and parses it as a JSON object into r->obj,
 * which the reader owns: it lives until the next call or botify_jsonl_close,
 * so a loop can leave at any point without freeing it. Returns 1, 0 at end
 * of file, or -1 with "path:line: malformed JSON near byte K" or
 * "path:line: expected a JSON object". */
int botify_jsonl_next_object(botify_jsonl *r, botify_err *err);

/* Closes the file and frees the buffers and r->obj; safe to call twice. */
void botify_jsonl_close(botify_jsonl *r);

/*
 * Field helpers for an object parsed from the current line. They return 0 and
 * store the value, 1 when the key is absent and !required (out untouched), or
 * -1 with "path:line: 'key' must be ..." (BOTIFY_EFORMAT, or BOTIFY_ERANGE
 * for a value outside [min, max]).
 */
int botify_jsonl_int(const botify_jsonl *r, const cJSON *obj, const char *key, int required,
		     int64_t min, int64_t max, int64_t *out, botify_err *err);
int botify_jsonl_double(const botify_jsonl *r, const cJSON *obj, const char *key,
			int required, double *out, botify_err *err); /* finite only */
int botify_jsonl_string(const botify_jsonl *r, const cJSON *obj, const char *key,
			int required, const char **out, botify_err *err); /* points into obj */

/* A value as "got ..." in messages names it: "1.5", "a string", "null", "an
 * array". Numbers are written into buf (32 bytes are enough). */
const char *botify_json_describe(const cJSON *v, char *buf, size_t cap);

/* Reads a whole regular file (plain or gzip, at most BOTIFY_JSON_MAX_FILE
 * bytes decompressed) that holds one JSON value, e.g. a JSON array on one or
 * many lines. Returns the tree or NULL with an error. */
cJSON *botify_json_read_file(const char *path, botify_err *err);

#endif
