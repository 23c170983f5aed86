/*
 * err.c - error reporting helpers and overflow-checked allocation.
 */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#include "err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int botify_fail(botify_err *err, enum botify_errcode code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return -1;
}

int botify_fail_errno(botify_err *err, int errno_value, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errno_value));
	err->code = BOTIFY_EIO;
	return -1;
}

int botify_err_prefix(botify_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t pl = strlen(prefix), cap = sizeof(err->msg) - 1;
	if (pl + 2 > cap)
		pl = cap - 2;
	memcpy(err->msg, prefix, pl);
	memcpy(err->msg + pl, ": ", 2);
	size_t ol = strnlen(old, cap - pl - 2);
	memcpy(err->msg + pl + 2, old, ol);
	err->msg[pl + 2 + ol] = 0;
	return -1;
}

const char *botify_errcode_name(enum botify_errcode code)
{
	switch (code) {
	case BOTIFY_OK: return "ok";
	case BOTIFY_EIO: return "i/o error";
	case BOTIFY_EFORMAT: return "format error";
	case BOTIFY_ERANGE: return "out of range";
	case BOTIFY_EINVAL: return "invalid argument";
	case BOTIFY_ENOMEM: return "out of memory";
	case BOTIFY_EEXIST: return "file exists";
	case BOTIFY_EINTR: return "interrupted";
	case BOTIFY_ERUNTIME: return "runtime error";
	}
	return "unknown error";
}

void botify_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int botify_size_mul(size_t a, size_t b, size_t *out)
{
	if (b && a > SIZE_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}

int botify_size_add(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b)
		return -1;
	*out = a + b;
	return 0;
}

void *botify_malloc(size_t n, size_t size, const char *what, botify_err *err)
{
	size_t bytes;
	if (botify_size_mul(n, size, &bytes) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "%s: %zu x %zu bytes overflows", what, n, size);
		return NULL;
	}
	void *p = malloc(bytes ? bytes : 1);
	if (!p)
		botify_fail(err, BOTIFY_ENOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
	return p;
}

void *botify_malloc_large(size_t n, size_t size, const char *what, botify_err *err)
{
	enum { HUGE = 2 << 20 }; /* x86-64's huge page */
	size_t bytes;
	if (botify_size_mul(n, size, &bytes) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "%s: %zu x %zu bytes overflows", what, n, size);
		return NULL;
	}
	if (bytes < HUGE || bytes > SIZE_MAX - HUGE)
		return botify_malloc(bytes, 1, what, err);
	void *p;
	if (posix_memalign(&p, HUGE, bytes) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	/* a hint: small pages if refused. The whole huge pages only: a huge
	 * page is cleared whole when first touched, and a table's tail past
	 * the last one (up to 2 MB, a few hundred bytes for some) would cost
	 * the clearing of a page mostly unused */
	madvise(p, bytes / HUGE * HUGE, MADV_HUGEPAGE);
#endif
	return p;
}

void *botify_calloc(size_t n, size_t size, const char *what, botify_err *err)
{
	size_t bytes;
	if (botify_size_mul(n, size, &bytes) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "%s: %zu x %zu bytes overflows", what, n, size);
		return NULL;
	}
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		botify_fail(err, BOTIFY_ENOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
	return p;
}

void *botify_realloc(void *old, size_t n, size_t size, const char *what, botify_err *err)
{
	size_t bytes;
	if (botify_size_mul(n, size, &bytes) != 0) {
		botify_fail(err, BOTIFY_ENOMEM, "%s: %zu x %zu bytes overflows", what, n, size);
		return NULL;
	}
	void *p = realloc(old, bytes ? bytes : 1);
	if (!p)
		botify_fail(err, BOTIFY_ENOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
	return p;
}

int botify_grow_array(void *ptr_addr, size_t *cap, size_t need, size_t size, const char *what,
		      botify_err *err)
{
	/* the pointer travels by its bytes, so one function serves every element
	 * type without aliasing an int32_t * as a void * */
	void *old;
	memcpy(&old, ptr_addr, sizeof(old));
	size_t ncap = *cap / 2 < SIZE_MAX - *cap - 16 ? *cap + *cap / 2 + 16 : SIZE_MAX;
	if (ncap < need)
		ncap = need;
	void *p = botify_realloc(old, ncap, size, what, err);
	if (!p)
		return -1;
	memcpy(ptr_addr, &p, sizeof(p));
	*cap = ncap;
	return 0;
}
