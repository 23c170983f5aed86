/*
 * fs.c - input kinds, directories, temporary names (see fs.h).
 */
#define _GNU_SOURCE /* renameat2 */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tempreg.h"

const char *botify_file_kind(unsigned mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode)
	       ? "a character device" : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode)
	       ? "a socket" : S_ISREG(mode) ? "a regular file" : "not a regular file";
}

int botify_open_input(const char *path, int mode, botify_err *err)
{
	if (mode == BOTIFY_IN_STREAM && strcmp(path, "-") == 0) {
		int fd = dup(STDIN_FILENO);
		return fd >= 0 ? fd : botify_fail_errno(err, errno, "cannot read stdin");
	}
	struct stat st;
	/* a FIFO that may be read is opened as cat opens it, waiting for its
	 * writer (opening it without blocking and reopening would let a writer
	 * that came in between meet no reader) */
	int fifo = mode == BOTIFY_IN_STREAM && stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
	/* O_NONBLOCK otherwise: opening a FIFO that is refused must not wait */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (fifo ? 0 : O_NONBLOCK));
	if (fd < 0) {
		int e = errno;
		botify_fail_errno(err, e, "cannot open '%s'", path);
		return e == ENOENT ? botify_note_stale(path, err) : -1;
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return botify_fail_errno(err, e, "cannot read '%s'", path);
	}
	if (S_ISREG(st.st_mode) || (mode == BOTIFY_IN_STREAM && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		return fd;
	}
	close(fd);
	int stream = S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
	return botify_fail(err, BOTIFY_EIO, "'%s' is %s, not a regular file%s", path,
			   botify_file_kind(st.st_mode),
			   stream ? " (only event logs may be read from a pipe or device)" : "");
}

int botify_mkdir_p(const char *dir, botify_err *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return botify_fail(err, BOTIFY_EINVAL, "directory name too long: '%s'", dir);
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		return botify_fail(err, BOTIFY_EIO, "cannot create directory '%s': it exists as %s", path,
				   botify_file_kind(st.st_mode));
	}
	for (char *p = path + 1; *p; p++) {
		if (*p != '/' || p[-1] == '/')
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

int botify_mkdir_parents(const char *path, botify_err *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char dir[4096];
	size_t n = (size_t)(slash - path);
	if (n >= sizeof(dir))
		return botify_fail(err, BOTIFY_EINVAL, "path too long: '%s'", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	return botify_mkdir_p(dir, err);
}

int botify_remove_tree(const char *path, botify_err *err)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : botify_fail_errno(err, errno, "cannot remove '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : botify_fail_errno(err, errno, "cannot remove '%s'", path);
	DIR *d = opendir(path);
	if (!d)
		return botify_fail_errno(err, errno, "cannot open directory '%s'", path);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t n = strlen(path) + strlen(e->d_name) + 2;
		char *sub = malloc(n);
		if (!sub) {
			rc = botify_fail(err, BOTIFY_ENOMEM, "out of memory");
			break;
		}
		snprintf(sub, n, "%s/%s", path, e->d_name);
		rc = botify_remove_tree(sub, err);
		free(sub);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0)
		return botify_fail_errno(err, errno, "cannot remove directory '%s'", path);
	return rc;
}

int botify_swap_dirs(const char *a, const char *dst, botify_err *err)
{
	if (renameat2(AT_FDCWD, a, AT_FDCWD, dst, RENAME_EXCHANGE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return botify_fail_errno(err, errno, "cannot put '%s' in place of '%s'", a, dst);
	/* no exchange on this file system: a short window without dst */
	char old[4096];
	if (botify_temp_name(old, sizeof(old), dst, err) != 0)
		return -1;
	if (rename(dst, old) != 0)
		return botify_fail_errno(err, errno, "cannot move the old '%s' aside", dst);
	if (rename(a, dst) != 0) {
		int e = errno;
		rename(old, dst);
		return botify_fail_errno(err, e, "cannot rename '%s' to '%s'", a, dst);
	}
	if (rename(old, a) != 0)
		return botify_fail_errno(err, errno, "cannot rename '%s' to '%s'", old, a);
	return 0;
}

int botify_temp_name(char *out, size_t n, const char *path, botify_err *err)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static unsigned counter;
	unsigned char r[6];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		/* no entropy yet (early boot): the clock still makes a guess unlikely,
		 * and O_EXCL makes a right guess harmless */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ++counter * 0x9e3779b97f4a7c15ULL;
		for (size_t i = 0; i < sizeof(r); i++, x >>= 8)
			r[i] = (unsigned char)x;
	}
	char suffix[7];
	for (size_t i = 0; i < 6; i++)
		suffix[i] = abc[r[i] % (sizeof(abc) - 1)];
	suffix[6] = '\0';
	int len = snprintf(out, n, "%s.tmp.%ld.%s", path, (long)getpid(), suffix);
	if (len < 0 || (size_t)len >= n)
		return botify_fail(err, BOTIFY_EINVAL, "path too long: '%s'", path);
	return 0;
}

int botify_stale_temp(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : path;
	if (slash) {
		size_t dn = slash == path ? 1 : (size_t)(slash - path);
		if (dn >= sizeof(dir))
			return 0;
		memcpy(dir, path, dn);
		dir[dn] = '\0';
	} else {
		strcpy(dir, ".");
	}
	size_t bn = strlen(base);
	if (!bn)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, base, bn) || strncmp(e->d_name + bn, ".tmp.", 5))
			continue;
		char *end;
		long pid = strtol(e->d_name + bn + 5, &end, 10);
		if (pid <= 0 || (*end != '.' && *end != '\0'))
			continue;
		/* ESRCH: no such process; EPERM means it lives under another user */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((size_t)snprintf(out, n, "%s%s%s", slash ? dir : "", slash && strcmp(dir, "/") ? "/" : "",
				     e->d_name) < n)
			found = 1;
	}
	closedir(d);
	return found;
}

int botify_note_stale(const char *path, botify_err *err)
{
	char stale[4096];
	struct stat st;
	if (err && stat(path, &st) != 0 && botify_stale_temp(path, stale, sizeof(stale))) {
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 " ('%s' is left over from a run that was killed before it finished: remove it and run again)",
			 stale);
	}
	return -1;
}

int botify_write_cache_file(const char *path, const botify_bytes *parts, int n, botify_err *err)
{
	char tmp[4200];
	if (botify_temp_name(tmp, sizeof(tmp), path, err) != 0)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return botify_fail_errno(err, errno, "cannot create %s", tmp);
	int reg = botify_tempreg_add(tmp, BOTIFY_TEMPREG_FILE);
	int ok = 1, saved = 0;
	for (int i = 0; ok && i < n; i++) {
		const char *c = parts[i].p;
		for (size_t left = parts[i].n; ok && left;) {
			ssize_t put = write(fd, c, left);
			if (put < 0 && errno == EINTR)
				continue;
			if (put <= 0) {
				ok = 0;
				saved = put < 0 ? errno : ENOSPC;
			} else {
				c += put;
				left -= (size_t)put;
			}
		}
	}
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok)
		unlink(tmp);
	botify_tempreg_drop(reg);
	return ok ? 0 : botify_fail_errno(err, saved, "cannot write %s", path);
}
