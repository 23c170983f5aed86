/*
 * completion.h - what main.c's subcommand table shares with the packaging
 * outputs: the man pages and the shell completions, both rendered from the
 * flag tables that parse the options (see flags_set_hook), so they cannot
 * drift from --help.
 */
#ifndef BOTIFY_COMPLETION_H
#define BOTIFY_COMPLETION_H

#include <stddef.h>

struct botify_cmd {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
};

/* botify completion bash|zsh|commands: prints a completion script, or the
 * subcommand names one per line (for the Makefile's man page loop). */
int cmd_completion(int argc, char **argv, const struct botify_cmd *cmds, size_t n);

/* botify COMMAND --help-man: the command's man page (troff) on stdout. */
int man_command_page(const struct botify_cmd *c);

/* botify --help-man: botify(1), the overview page. */
int man_main_page(const struct botify_cmd *cmds, size_t n);

#endif
