/*
 * tempreg.c - the temporaries this process has made, removable from a
 * signal handler (see tempreg.h).
 *
 * A fixed table, no allocation, no locks: a handler may interrupt any
 * thread, the one adding or dropping an entry included. Each slot is a
 * small seqlock: a handler copies the name and uses the copy only if the
 * slot's generation did not change meanwhile, so it never acts on a name
 * half overwritten by another thread reusing the slot.
 */
#define _GNU_SOURCE /* getdents64 */
#include "tempreg.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { SLOTS = 32, NAME_MAX_BYTES = 4096 };
enum { FREE, FILLING, READY };

struct slot {
	atomic_int state;
	atomic_uint gen; /* bumped whenever the name may change */
	atomic_int removed; /* by botify_tempreg_remove_all */
	int kind;
	char path[NAME_MAX_BYTES];
};

static struct slot slots[SLOTS];

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler needs lock-free atomics");

int botify_tempreg_add(const char *path, int kind)
{
	size_t n = strlen(path);
	if (n >= NAME_MAX_BYTES)
		return -1;
	for (int i = 0; i < SLOTS; i++) {
		int want = FREE;
		if (!atomic_compare_exchange_strong(&slots[i].state, &want, FILLING))
			continue;
		atomic_fetch_add(&slots[i].gen, 1);
		memcpy(slots[i].path, path, n + 1);
		slots[i].kind = kind;
		atomic_store(&slots[i].removed, 0);
		atomic_store(&slots[i].state, READY);
		return i;
	}
	return -1;
}

void botify_tempreg_drop(int handle)
{
	if (handle < 0 || handle >= SLOTS)
		return;
	atomic_fetch_add(&slots[handle].gen, 1);
	atomic_store(&slots[handle].state, FREE);
}

/* Removes the files in the directory dir, then dir; what is not a file
 * (a directory someone put there) stays, and so does dir then. */
static void remove_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[4096];
	/* deleting while reading: read again from the start until a pass
	 * removes nothing, bounded in case an entry cannot be removed */
	for (int pass = 0; pass < 64; pass++) {
		int gone = 0;
		lseek(fd, 0, SEEK_SET);
		ssize_t got;
		while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
			for (ssize_t off = 0; off < got;) {
				struct dirent64 *e = (struct dirent64 *)(buf + off);
				off += e->d_reclen;
				const char *nm = e->d_name;
				if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
					continue;
				if (unlinkat(fd, nm, 0) == 0)
					gone++;
			}
		}
		if (!gone)
			break;
	}
	close(fd);
	rmdir(dir);
}

void botify_tempreg_remove_all(void)
{
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];
		unsigned g = atomic_load(&s->gen);
		if (atomic_load(&s->state) != READY)
			continue;
		char path[NAME_MAX_BYTES];
		int kind = s->kind;
		size_t n = 0;
		while (n < sizeof(path) - 1 && s->path[n]) {
			path[n] = s->path[n];
			n++;
		}
		path[n] = '\0';
		if (atomic_load(&s->state) != READY || atomic_load(&s->gen) != g)
			continue; /* dropped or reused while copied */
		/* marked first: a rename racing with the removal must fail */
		atomic_store(&s->removed, 1);
		if (kind == BOTIFY_TEMPREG_DIR)
			remove_dir(path);
		else
			unlink(path);
	}
}

int botify_tempreg_removed(int handle)
{
	return handle >= 0 && handle < SLOTS && atomic_load(&slots[handle].removed);
}
