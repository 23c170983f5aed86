/*
 * dynlib.c - open a library by soname and resolve its functions, once.
 */
#include "dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one lock of every load: a library is loaded once per process, like
 * the dynamic loader's own state, so this is the one global of its kind.
 * Loads are rare (a command's first client, server or Redis connection). */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function addresses fit a void *");

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

/* Whether soname is in the test list: whole names only, so that
 * "libcurl.so.4" does not also match "libcurl.so.40". */
static int listed_missing(const char *soname)
{
	const char *list = getenv(BOTIFY_DYNLIB_TEST_ENV);
	size_t n = strlen(soname);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",:");
		if (len == n && !strncmp(p, soname, n))
			return 1;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

static int load_locked(botify_dynlib *lib, botify_err *err)
{
	char path[300];
	const char *name = lib->soname;
	if (listed_missing(lib->soname)) {
		snprintf(path, sizeof(path), "/nonexistent-for-tests/%s", lib->soname);
		name = path;
	}
	dlerror();
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		return botify_fail(err, BOTIFY_ERUNTIME, "cannot load %s (needed by %s): %s", lib->soname,
				   lib->needed_by, why ? why : "unknown error");
	}
	for (size_t i = 0; i < lib->n_syms; i++) {
		dlerror();
		void *f = dlsym(h, lib->syms[i].name);
		if (!f) {
			botify_fail(err, BOTIFY_ERUNTIME, "cannot load %s (needed by %s): it has no %s "
				    "(another version than the one botify was built with?)", lib->soname,
				    lib->needed_by, lib->syms[i].name);
			dlclose(h);
			return -1;
		}
		/* POSIX guarantees a function's address survives the trip
		 * through void *; memcpy stores it in the pointer variable of
		 * the function's own type without an ISO C cast between them */
		memcpy(lib->syms[i].slot, &f, sizeof(f));
	}
	lib->handle = h;
	return 0;
}

int botify_dynlib_load(botify_dynlib *lib, botify_err *err)
{
	pthread_mutex_lock(&load_mu);
	if (lib->state == 0)
		lib->state = load_locked(lib, &lib->fail) == 0 ? 1 : -1;
	int ok = lib->state == 1;
	pthread_mutex_unlock(&load_mu);
	if (ok)
		return 0;
	if (err)
		*err = lib->fail;
	return -1;
}
