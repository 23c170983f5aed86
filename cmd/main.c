/*
 * main.c - the subcommand table, top-level help, --version, and the hidden
 * --help-man that renders the man pages and --help-recommenders-md that
 * renders the README's table of recommenders.
 *
 * Exit codes: 0 ok, 1 a requested check failed (an A/B gate), 2 bad usage or
 * bad input. After the subcommand returns, stdout is flushed and closed; a
 * failed write (a full disk, a closed pipe) turns into exit 2, so a truncated
 * table is never reported as success.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ab.h"
#include "blas.h"
#include "cmd.h"
#include "completion.h"
#include "dist.h"
#include "flags.h"

#ifndef BOTIFY_COMMIT
#define BOTIFY_COMMIT "unknown"
#endif

static const struct botify_cmd commands[] = {
	{ "datagen",  cmd_datagen,  "write a synthetic world to files" },
	{ "simulate", cmd_simulate, "simulate users against a recommender" },
	{ "train",    cmd_train,    "train a two-tower model on logged sessions" },
	{ "export",   cmd_export,   "write track embeddings and top-K lists" },
	{ "ab",       cmd_ab,       "A/B metrics with confidence intervals" },
	{ "serve",    cmd_serve,    "serve a recommender over the original service's HTTP API" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void list_commands(FILE *out)
{
	fprintf(out, "usage: botify COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "  %-10s %s\n", "help", "show help of botify or of a command");
	fprintf(out, "  %-10s %s\n", "completion", "print the bash or zsh completion script");
	fprintf(out, "\n'botify COMMAND --help' shows a command's options; 'botify --version' the version.\n");
}

/* "botify: unknown command 'simualte' (did you mean 'simulate'?)" */
static int unknown_command(const char *prefix, const char *name)
{
	const char *names[N_COMMANDS + 2];
	for (size_t i = 0; i < N_COMMANDS; i++)
		names[i] = commands[i].name;
	names[N_COMMANDS] = "help";
	names[N_COMMANDS + 1] = "completion";
	const char *s = flags_closest(name, names, N_COMMANDS + 2);
	if (s)
		fprintf(stderr, "botify: %sunknown command '%s' (did you mean '%s'?)\n", prefix, name, s);
	else
		fprintf(stderr, "botify: %sunknown command '%s'\n", prefix, name);
	fprintf(stderr, "see 'botify help'\n");
	return BOTIFY_EXIT_USAGE;
}

static const struct botify_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int finish_stdout(int rc)
{
	/* a write error may only surface at fflush or fclose */
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		if (errno != EPIPE)
			fprintf(stderr, "botify: error writing standard output: %s\n", strerror(errno));
		return BOTIFY_EXIT_USAGE;
	}
	return rc;
}

static int run(int argc, char **argv);

/* Under mpirun every rank runs the command; rank 0 alone prints results.
 * A rank that fails ends the whole job, which could otherwise wait forever
 * for it; a requested check that failed (exit 1) is a result, not a failure. */
int main(int argc, char **argv)
{
	botify_err err = {0};
	if (botify_dist_init(&argc, &argv, &err) != 0) {
		fprintf(stderr, "botify: %s\n", err.msg);
		botify_dist_abort(BOTIFY_EXIT_USAGE);
		return BOTIFY_EXIT_USAGE;
	}
	if (botify_dist_rank() != 0 && !freopen("/dev/null", "w", stdout)) {
		fprintf(stderr, "botify: rank %d: /dev/null: %s\n", botify_dist_rank(), strerror(errno));
		botify_dist_abort(BOTIFY_EXIT_USAGE);
	}
	botify_blas_init();
	int rc = run(argc, argv);
	if (rc != BOTIFY_EXIT_OK && rc != BOTIFY_EXIT_CHECK) {
		/* rank 0 reports it, removes its temporary files and ends the job:
		 * ending it from here could kill rank 0 before it has cleaned up.
		 * Ctrl-C of mpirun interrupts every rank alike. */
		if (botify_dist_handed_over() || (botify_dist_rank() != 0 && rc >= 128))
			botify_dist_await_abort(rc, 60);
		botify_dist_abort(rc);
	}
	botify_dist_finalize();
	return rc;
}

static int run(int argc, char **argv)
{
	if (argc < 2) {
		list_commands(stderr);
		return BOTIFY_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("botify %s (commit %s)\n", BOTIFY_VERSION, BOTIFY_COMMIT);
		printf("MPI: %s\n", botify_dist_library() ? botify_dist_library() : "not compiled in");
		printf("gzip logs read with: %s\n", botify_ab_inflater());
		return finish_stdout(BOTIFY_EXIT_OK);
	}
	if (!strcmp(name, "--help-man") && argc == 2)
		return finish_stdout(man_main_page(commands, N_COMMANDS));
	if (!strcmp(name, "--help-recommenders-md") && argc == 2) { /* the README's table */
		print_recommenders_md(stdout);
		return finish_stdout(BOTIFY_EXIT_OK);
	}
	if (!strcmp(name, "completion"))
		return finish_stdout(cmd_completion(argc - 1, argv + 1, commands, N_COMMANDS));
	if (!strcmp(name, "--help") || !strcmp(name, "-h") ||
	    (!strcmp(name, "help") && argc == 2)) {
		list_commands(stdout);
		return finish_stdout(BOTIFY_EXIT_OK);
	}
	if (!strcmp(name, "help")) {
		if (!strcmp(argv[2], "help")) {
			list_commands(stdout);
			return finish_stdout(BOTIFY_EXIT_OK);
		}
		if (!strcmp(argv[2], "completion")) {
			char *help_argv[] = { "completion", "--help", NULL };
			return finish_stdout(cmd_completion(2, help_argv, commands, N_COMMANDS));
		}
		const struct botify_cmd *c = find_command(argv[2]);
		if (!c)
			return unknown_command("help: ", argv[2]);
		char *help_argv[] = { (char *)c->name, "--help", NULL };
		return finish_stdout(c->fn(2, help_argv));
	}
	const struct botify_cmd *c = find_command(name);
	if (!c)
		return unknown_command("", name);
	if (argc == 3 && !strcmp(argv[2], "--help-man"))
		return finish_stdout(man_command_page(c));
	if (botify_dist_size() > 1 && strcmp(c->name, "simulate") && strcmp(c->name, "ab") &&
	    strcmp(c->name, "train") && strcmp(c->name, "export")) {
		fprintf(stderr, "botify %s: runs as one process, not %d MPI ranks (simulate, ab, train "
			"and export use several; see docs/scale.md)\n", c->name, botify_dist_size());
		return BOTIFY_EXIT_USAGE;
	}
	return finish_stdout(c->fn(argc - 1, argv + 1));
}
