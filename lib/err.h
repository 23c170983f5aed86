/*
 * err.h - the one error type of the botify library.
 *
 * Every fallible lib function returns 0 on success or -1 on failure and fills
 * a caller-owned botify_err. Messages are one line, lower case, no final
 * period, and name the user's file and line (or byte offset) and the bad
 * value: "users.json:17: track 50013 out of range (catalog has 50000)".
 * lib/ never prints: cmd/ prints "botify: <msg>" once and picks the exit code.
 */
#ifndef BOTIFY_ERR_H
#define BOTIFY_ERR_H

#include <stddef.h>

enum botify_errcode {
	BOTIFY_OK = 0,
	BOTIFY_EIO,      /* a file could not be opened, read or written */
	BOTIFY_EFORMAT,  /* the content of a file is malformed */
	BOTIFY_ERANGE,   /* a value is out of its allowed range (ids, sizes) */
	BOTIFY_EINVAL,   /* a bad argument: spec string, option, parameter */
	BOTIFY_ENOMEM,   /* out of memory, or a size that would overflow */
	BOTIFY_EEXIST,   /* an output exists and overwriting was not allowed */
	BOTIFY_EINTR,    /* the work was interrupted on request (Ctrl-C) */
	BOTIFY_ERUNTIME, /* a component failed at run time (recommender, child) */
};

typedef struct botify_err {
	enum botify_errcode code;
	char msg[512];
} botify_err;

/* Sets err's code and message (printf-style) and returns -1, so callers can
 * write `return botify_fail(err, ...)`. err may be NULL. */
int botify_fail(botify_err *err, enum botify_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like botify_fail, appending ": strerror(errno_value)". */
int botify_fail_errno(botify_err *err, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes an existing message: "ctx: old message". Returns -1. */
int botify_err_prefix(botify_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A short name of an error code, e.g. "format error". */
const char *botify_errcode_name(enum botify_errcode code);

/* Broken invariants only (never bad input): prints file:line and aborts. */
#define BOTIFY_BUG(...) botify_bug(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void botify_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Overflow-checked size arithmetic: return 0 and set *out, or -1. */
int botify_size_mul(size_t a, size_t b, size_t *out);
int botify_size_add(size_t a, size_t b, size_t *out);

/* malloc/calloc/realloc that report BOTIFY_ENOMEM with what was asked for.
 * what names the buffer for the message ("track embeddings"). */
void *botify_malloc(size_t n, size_t size, const char *what, botify_err *err);
void *botify_calloc(size_t n, size_t size, const char *what, botify_err *err);
void *botify_realloc(void *p, size_t n, size_t size, const char *what, botify_err *err);
/* botify_malloc for a large table read at random (a world's embeddings):
 * from 2 MB on, aligned to 2 MB and its whole 2 MB pages offered
 * transparent huge pages, so that looking up a row costs no page walk (the
 * 20 MB catalog spans 5 000 small pages, more than the TLB holds); the
 * tail past the last whole one stays in small pages. Freed with free(). */
void *botify_malloc_large(size_t n, size_t size, const char *what, botify_err *err);

/* Makes room for at least need elements in the array ptr of capacity cap
 * (a size_t lvalue): grows to half again plus 16, or to need if that is more,
 * so n appends cost O(n) copies (git's ALLOC_GROW). Evaluates to 0, or to -1
 * with ptr and cap unchanged (still owned by the caller) and err set. ptr must
 * be an lvalue of object-pointer type; it and cap are evaluated more than
 * once. */
#define BOTIFY_ALLOC_GROW(ptr, need, cap, what, err)                                        \
	((size_t)(need) <= (cap) ? 0                                                        \
				 : botify_grow_array((void *)&(ptr), &(cap), (size_t)(need),        \
						     sizeof(*(ptr)), (what), (err)))
int botify_grow_array(void *ptr_addr, size_t *cap, size_t need, size_t size, const char *what,
		      botify_err *err);

#endif
