/*
 * fs.h - the file system as botify's readers and writers see it: which
 * files may be read, directories made and removed, temporary names.
 *
 * Inputs are regular files. A FIFO or a device would block or never end
 * (a symlink to /dev/zero), so they are refused, except where a reader
 * asks for a stream (event logs): then FIFOs, character devices and "-"
 * (stdin) are read too, under the reader's own bound on a line.
 *
 * Temporaries are "<final>.tmp.<pid>.<6 random characters>", created in the
 * final name's directory with O_EXCL|O_NOFOLLOW (files) or mkdir (dirs), so
 * a name planted in advance, symlink or not, is never followed or reused.
 * A run killed by SIGKILL leaves its temporary behind: readers that miss a
 * file say so when such a leftover of a dead process exists (they are never
 * deleted automatically: another host sharing the directory may own it).
 */
#ifndef BOTIFY_FS_H
#define BOTIFY_FS_H

#include <stddef.h>

#include "err.h"

enum { BOTIFY_IN_REGULAR = 0, BOTIFY_IN_STREAM = 1 };

/* Opens path for reading and returns the descriptor, or -1. Regular files
 * only unless mode is BOTIFY_IN_STREAM ("-" is then stdin, dup'ed). A FIFO is
 * never opened in a way that blocks when it is refused. A missing file's
 * message mentions a stale temporary of it, if one exists. */
int botify_open_input(const char *path, int mode, botify_err *err);

/* What the file type of st_mode is called in messages ("a FIFO"). */
const char *botify_file_kind(unsigned mode);

/* mkdir -p with mode 0777 (less the umask); an existing directory is fine. */
int botify_mkdir_p(const char *dir, botify_err *err);

/* Creates the missing directories above the file path. */
int botify_mkdir_parents(const char *path, botify_err *err);

/* Removes path and everything below it; symlinks are removed, never
 * followed. A missing path is not an error. */
int botify_remove_tree(const char *path, botify_err *err);

/* Exchanges two directories in one step where the kernel can
 * (renameat2 RENAME_EXCHANGE), else by two renames (dst aside to a, a to
 * dst's place): afterwards dst holds a's old content and a dst's. */
int botify_swap_dirs(const char *a, const char *dst, botify_err *err);

/* Writes "<path>.tmp.<pid>.<random>" into out (n bytes). */
int botify_temp_name(char *out, size_t n, const char *path, botify_err *err);

/* Finds a temporary of path left by a process that no longer runs; 1 with
 * its name in out, else 0. */
int botify_stale_temp(const char *path, char *out, size_t n);

/* Appends "; '<tmp>' is left over from an interrupted run" to err's message
 * when path is missing and such a temporary exists. Returns -1. */
int botify_note_stale(const char *path, botify_err *err);

/* A run of bytes, one of the parts of a file. */
typedef struct botify_bytes {
	const void *p;
	size_t n;
} botify_bytes;

/* Writes the n parts, in order, to a temporary next to path and renames it
 * over path (replacing any file there): for botify's caches, which replace
 * their files freely and check them when read. Not synced: a file torn by a
 * crash fails its reader's checksum and is rebuilt, and a cold run does not
 * wait for the disk (an fsync took 3-35 ms of every cold run here). Outputs
 * a user asked for go through outfile.h instead. */
int botify_write_cache_file(const char *path, const botify_bytes *parts, int n, botify_err *err);

#endif
