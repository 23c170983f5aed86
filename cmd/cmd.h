/*
 * cmd.h - the subcommands and what they share: exit codes, error printing,
 * progress display, interruption.
 *
 * A subcommand is cmd_<name>(argc, argv) with argv[0] = "<name>"; it returns
 * the process exit code. New subcommand = a file, a prototype here, a row in
 * main.c's table, an e2e test.
 */
#ifndef BOTIFY_CMD_H
#define BOTIFY_CMD_H

#include <signal.h>
#include <stdio.h>
#include <stdint.h>

#include "err.h"

/* 130: interrupted, as a shell reports a process killed by SIGINT */
enum { BOTIFY_EXIT_OK = 0, BOTIFY_EXIT_CHECK = 1, BOTIFY_EXIT_USAGE = 2, BOTIFY_EXIT_INTERRUPTED = 130 };

#define BOTIFY_VERSION "0.1.0"

int cmd_datagen(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_ab(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Prints "botify: <msg>" on stderr; returns BOTIFY_EXIT_USAGE, or for an
 * interruption 128 + the signal (130 SIGINT, 143 SIGTERM). */
int report_error(const botify_err *err);

/* Set to the signal's number by SIGINT/SIGTERM once install_interrupt_handler()
 * ran; long work polls it and stops cleanly (outputs are removed or, for training, saved). */
extern volatile sig_atomic_t botify_interrupted;
void install_interrupt_handler(void);

/* Set by --quiet: notes (note()) and the automatic progress bar are
 * silenced; warnings and errors are not. */
extern int botify_quiet;
/* A diagnostic for the person at the terminal, on stderr (stdout is for data). */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress bar on stderr with rate and ETA, shown when stderr is a terminal
 * (and not --quiet), or when force (--progress). */
typedef struct progress {
	int enabled;
	const char *label;
	double start;      /* seconds, monotonic */
	double last_draw;
	int drawn;
	uint64_t last_total;  /* of the last update, for progress_complete */
} progress;

void progress_init(progress *p, const char *label, int force);
/* done of total units; redraws at most ~10 times a second. */
void progress_update(progress *p, uint64_t done, uint64_t total);
void progress_finish(progress *p);
/* Draws a bar that was shown at 100 % (the last updates may have been
 * skipped to keep to ~10 redraws a second). */
void progress_complete(progress *p);
/* Erases the bar's line (for a bar that a one-line summary replaces). */
void progress_clear(progress *p);

/* The recommender registry (lib/rec.c: each one's usage and summary): as
 * the --help of commands that take a SPEC prints it, and as the Markdown
 * table of the README (botify --help-recommenders-md). */
void print_recommenders(FILE *out);
void print_recommenders_md(FILE *out);

/* Monotonic clock in seconds. */
double now_seconds(void);

/* The caches' directory, $XDG_CACHE_HOME/botify or ~/.cache/botify, into
 * out (created); 0 when there is none to use (said on stderr when warn).
 * In simsetup.c. */
int cache_dir(char *out, size_t n, int warn);

/* The number of online CPUs (at least 1). */
int cpu_count(void);

/* "s" unless n is 1: "%lld thread%s", n, plural(n). */
static inline const char *plural(long long n)
{
	return n == 1 ? "" : "s";
}

/* Prints s on stdout as a JSON string, quotes included. */
void print_json_str(const char *s);
void fprint_json_str(FILE *f, const char *s);

#endif
