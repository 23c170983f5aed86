/*
 * dynlib.h - shared libraries loaded when a command first needs them.
 *
 * libcurl (remote recommenders), libmicrohttpd (`botify serve`) and hiredis
 * (`serve --redis`) are not linked: linked, the dynamic loader maps them
 * and their ~30 dependencies (GnuTLS, Kerberos, LDAP, ...) and relocates
 * their symbols in every process, about 10 ms of CPU that simulate, ab,
 * train and export, which never call them, paid at each start. Instead the
 * module that wraps each (http_client.c, http_server.c, sessions.c) opens it
 * by soname and resolves its functions once, the first time it is used.
 *
 * The sonames are those of the libraries the build was configured with (the
 * Makefile reads them from the .so files it finds), or the Debian ones.
 */
#ifndef BOTIFY_DYNLIB_H
#define BOTIFY_DYNLIB_H

#include <stddef.h>

#include "err.h"

#ifndef BOTIFY_SONAME_CURL
#define BOTIFY_SONAME_CURL "libcurl.so.4"
#endif
#ifndef BOTIFY_SONAME_MICROHTTPD
#define BOTIFY_SONAME_MICROHTTPD "libmicrohttpd.so.12"
#endif
#ifndef BOTIFY_SONAME_HIREDIS
#define BOTIFY_SONAME_HIREDIS "libhiredis.so.0.14"
#endif

/* Tests only: sonames (separated by ',' or ':') that botify_dynlib_load
 * treats as absent -- it tries to open them from a directory that does not
 * exist, so the failure is the real one of a missing library. */
#define BOTIFY_DYNLIB_TEST_ENV "BOTIFY_TEST_MISSING_LIBS"

/* One function to resolve: its name and the function-pointer variable that
 * receives its address (any function-pointer type). */
typedef struct botify_dynsym {
	const char *name;
	void *slot;
} botify_dynsym;

/* A library and its functions. Static storage, zero beyond the first four
 * fields until loaded; botify_dynlib_load fills the rest. */
typedef struct botify_dynlib {
	const char *soname;          /* "libcurl.so.4" */
	const char *needed_by;       /* "the remote recommender", for the message */
	const botify_dynsym *syms;
	size_t n_syms;
	int state;                   /* 0: not tried; 1: loaded; -1: failed */
	void *handle;
	botify_err fail;             /* why it failed, for every later caller */
} botify_dynlib;

#define BOTIFY_DYNSYM(fn, var) { #fn, (void *)&(var) }

/* Opens lib and resolves all its functions, the first time; later calls
 * return the first call's outcome. Thread-safe. A missing library, or one
 * without a function, fails with one line naming it and what needs it:
 * "cannot load libcurl.so.4 (needed by the remote recommender): <why>".
 * The library stays loaded until the process ends. */
int botify_dynlib_load(botify_dynlib *lib, botify_err *err);

#endif
