/*
 * tempreg.h - the temporaries this process has made, for a signal handler
 * to remove when the process is about to die without its usual clean-up.
 *
 * The normal paths (a failed write, a commit, an interrupt noticed by the
 * command) remove their own temporaries. This registry is for the cases
 * where nothing else will run: a second Ctrl-C (exit now), or an MPI rank
 * whose launcher is gone or about to kill it. Writers add a temporary right
 * after creating it and drop it once it is renamed or removed;
 * botify_tempreg_remove_all, which is async-signal-safe, removes what is
 * registered at that moment: files, and directories with the files in them
 * (one level, as the model directory is).
 */
#ifndef BOTIFY_TEMPREG_H
#define BOTIFY_TEMPREG_H

enum { BOTIFY_TEMPREG_FILE = 0, BOTIFY_TEMPREG_DIR = 1 };

/* Registers the temporary path (kind as above); returns a handle for
 * botify_tempreg_drop, or -1 when the registry is full or the path too long:
 * then only the normal paths remove it. Any thread. */
int botify_tempreg_add(const char *path, int kind);

/* Forgets handle (-1 is ignored): call after the temporary was renamed or
 * removed. Any thread. */
void botify_tempreg_drop(int handle);

/* Removes every registered temporary. Async-signal-safe: for a handler. */
void botify_tempreg_remove_all(void);

/* 1 when botify_tempreg_remove_all removed handle's temporary (or is
 * removing it): its rename into place must fail as interrupted, not put a
 * part of it in place. Later temporaries (a model saved after Ctrl-C) are
 * not affected. */
int botify_tempreg_removed(int handle);

#endif
