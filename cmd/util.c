/*
 * util.c - what subcommands share: error printing, Ctrl-C, progress bars.
 */
#include "cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dist.h"
#include "jsonfmt.h"
#include "rec.h"
#include "tempreg.h"

volatile sig_atomic_t botify_interrupted;
int botify_quiet;

void note(const char *fmt, ...)
{
	if (botify_quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int report_error(const botify_err *err)
{
	fprintf(stderr, "botify: %s\n", err->msg[0] ? err->msg : botify_errcode_name(err->code));
	if (err->code != BOTIFY_EINTR)
		return BOTIFY_EXIT_USAGE;
	/* as a shell reports the signal: 130 for SIGINT, 143 for SIGTERM */
	return botify_interrupted > 0 ? 128 + botify_interrupted : BOTIFY_EXIT_INTERRUPTED;
}

/* The temporaries go here, in the handler, whenever nothing else may run
 * after it: a second Ctrl-C means now; the launcher's death is the end of
 * the job (Open MPI _exits the rank soon after); and a rank of several is
 * SIGKILLed 1 s after mpirun passes on a Ctrl-C, maybe before the command
 * gets to remove them. Otherwise the command's own path does it. */
static void on_signal(int sig)
{
	int now = botify_interrupted || (sig == botify_dist_parent_signal());
	if (now || botify_dist_size() > 1)
		botify_tempreg_remove_all();
	if (now)
		_exit(128 + sig);
	botify_interrupted = sig;
}

void install_interrupt_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (botify_dist_parent_signal())
		sigaction(botify_dist_parent_signal(), &sa, NULL);
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

void progress_init(progress *p, const char *label, int force)
{
	memset(p, 0, sizeof(*p));
	/* --progress wins over --quiet: asking for the bar off a terminal is explicit */
	p->enabled = force || (!botify_quiet && isatty(STDERR_FILENO));
	p->label = label;
	p->start = now_seconds();
}

void progress_update(progress *p, uint64_t done, uint64_t total)
{
	if (!p->enabled || !total)
		return;
	p->last_total = total;
	double t = now_seconds();
	if (p->drawn && t - p->last_draw < 0.1 && done < total)
		return;
	p->last_draw = t;
	p->drawn = 1;
	double frac = (double)done / (double)total, el = t - p->start;
	int width = 30, fill = (int)(frac * width);
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = 0;
	double rate = el > 0 ? (double)done / el : 0;
	double eta = rate > 0 ? (double)(total - done) / rate : 0;
	fprintf(stderr, "\r%s [%s] %3.0f%% %llu/%llu %.0f/s eta %.0fs ", p->label, bar, frac * 100,
		(unsigned long long)done, (unsigned long long)total, rate, eta);
	fflush(stderr);
}

void progress_clear(progress *p)
{
	if (p->enabled && p->drawn) {
		fprintf(stderr, "\r%*s\r", 110, "");
		fflush(stderr);
		p->drawn = 0;
	}
}

void progress_complete(progress *p)
{
	if (p->drawn)
		progress_update(p, p->last_total, p->last_total);
}

void progress_finish(progress *p)
{
	if (p->enabled && p->drawn) {
		fputc('\n', stderr);
		fflush(stderr);
	}
}

void fprint_json_str(FILE *f, const char *s)
{
	char esc[BOTIFY_JSON_CHAR_MAX];
	fputc('"', f);
	for (; *s; s++)
		fwrite(esc, 1, (size_t)(botify_json_put_char(esc, (unsigned char)*s) - esc), f);
	fputc('"', f);
}

void print_json_str(const char *s)
{
	fprint_json_str(stdout, s);
}

void print_recommenders(FILE *out)
{
	fprintf(out, "recommenders (SPEC is NAME[:key=value,...]):\n");
	for (const botify_rec_ops *const *r = botify_recommenders; *r; r++)
		fprintf(out, "  %s\n      %s\n", (*r)->usage, (*r)->summary);
	fprintf(out, "details: docs/recommenders.md\n");
}

/* s in a Markdown table cell: '|' would end the cell and, outside a code
 * span, "<user>" would read as an HTML tag */
static void md_cell(FILE *out, const char *s, int code)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '<' && !code)
			fputs("&lt;", out);
		else
			fputc(*s, out);
	}
}

void print_recommenders_md(FILE *out)
{
	fprintf(out, "| spec | behaviour |\n|---|---|\n");
	for (const botify_rec_ops *const *r = botify_recommenders; *r; r++) {
		fputs("| `", out);
		md_cell(out, (*r)->usage, 1);
		fputs("` | ", out);
		md_cell(out, (*r)->summary, 0);
		fputs(" |\n", out);
	}
}
