/*
 * rec_exec.c - a recommender in another process: `exec:cmd='python3 my_rec.py'`.
 *
 * Each worker (simulator thread, server slot) starts `/bin/sh -c CMD` once
 * and speaks JSON lines over the child's stdin/stdout (docs/PROTOCOL.md):
 * one request line per call, exactly one answer line back,
 *   {"message":"next","user":17,"track":4211,"time":1.0}  ->  {"track":981}
 *   {"message":"last","user":17,"track":310,"time":0.12}  ->  {}
 * The child's stderr is botify's.
 *
 * Failure handling, so that no run hangs and no process is left behind:
 * every exchange has a deadline (rec_timeout); a child that exits, hangs
 * past it, or answers anything but one JSON object line is killed with its
 * whole process group (it runs in a group of its own, so `sh -c` and what
 * it started go too) and reaped, and the call fails with a message naming
 * the call. A worker whose child died starts a new one at its next call (a
 * server keeps serving; the simulator stops at the first error anyway).
 * worker_free closes the child's stdin, gives it a moment to exit, then
 * kills and reaps it. Writing to a dead child must not kill botify with
 * SIGPIPE: the signal is blocked on the calling thread around each write
 * and a pending one is consumed.
 *
 * The session state lives in the child (state_size 0): a worker's sessions
 * come one after another, never interleaved.
 */
/* pipe2() and O_CLOEXEC pipes: a pipe made by one thread must not leak into
 * a child another thread starts at the same moment (a leaked write end
 * would keep that child's stdin open after we close ours); and
 * posix_spawn_file_actions_addclosefrom_np() for what others opened. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "rec.h"
#include "recproto.h"

enum { LINE_MAX_BYTES = 65536 };

struct exec_data {
	char *cmd;
	double timeout;
};

struct exec_worker {
	pid_t pid;          /* 0 when no child runs */
	int to;             /* the child's stdin */
	int from;           /* the child's stdout */
	size_t len;         /* bytes in buf */
	char buf[LINE_MAX_BYTES];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(double s)
{
	struct timespec ts = { 0, (long)(s * 1e9) };
	nanosleep(&ts, NULL);
}

static void exec_free(botify_rec *r)
{
	struct exec_data *d = r->data;
	if (!d)
		return;
	free(d->cmd);
	free(d);
	r->data = NULL;
}

static int exec_init(botify_rec *r, const botify_rec_args *args, const botify_rec_env *env,
		     botify_err *err)
{
	const char *cmd = botify_rec_arg(args, "cmd");
	if (!cmd || !*cmd)
		return botify_fail(err, BOTIFY_EINVAL, "exec: needs cmd='COMMAND ARGS' (run with /bin/sh -c)");
	struct exec_data *d = botify_calloc(1, sizeof(*d), "exec recommender", err);
	if (!d)
		return -1;
	r->data = d;
	d->timeout = env->rec_timeout > 0 ? env->rec_timeout : BOTIFY_REC_TIMEOUT;
	if (!(d->cmd = strdup(cmd))) {
		exec_free(r);
		return botify_fail(err, BOTIFY_ENOMEM, "out of memory");
	}
	r->state_size = 0;
	return 0;
}

static void describe_status(char *out, size_t n, int status)
{
	if (WIFEXITED(status))
		snprintf(out, n, "the child exited with status %d%s", WEXITSTATUS(status),
			 WEXITSTATUS(status) == 127 ? " (command not found?)" : "");
	else if (WIFSIGNALED(status))
		snprintf(out, n, "the child was killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, n, "the child stopped");
}

/* Ends the child: closes our ends of the pipes, waits up to grace seconds
 * for it to exit, then kills its process group; reaps it either way and
 * describes how it ended into why (may be NULL). */
static void stop_child(struct exec_worker *wk, double grace, char *why, size_t n)
{
	if (wk->to >= 0)
		close(wk->to);
	if (wk->from >= 0)
		close(wk->from);
	wk->to = wk->from = -1;
	wk->len = 0;
	if (wk->pid <= 0)
		return;
	pid_t pid = wk->pid;
	wk->pid = 0;
	double deadline = now() + grace, step = 0.0005;
	siginfo_t info;
	for (;;) {
		/* WNOWAIT: an exited leader stays a zombie, so its pid (the group's
		 * id) cannot be reused before the kill below */
		memset(&info, 0, sizeof(info));
		if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == pid)
			break;
		if (now() >= deadline)
			break;
		nap(step);
		if (step < 0.02)
			step *= 2;
	}
	kill(-pid, SIGKILL); /* the child's group: whatever it started */
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (why)
		describe_status(why, n, status);
}

static int start_child(struct exec_worker *wk, const char *cmd, botify_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	wk->to = wk->from = -1;
	wk->len = 0;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		int e = errno;
		if (in[0] >= 0) {
			close(in[0]);
			close(in[1]);
		}
		return botify_fail_errno(err, e, "exec: cannot make pipes for '%s'", cmd);
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	/* nothing else of ours: Redis and HTTP sockets, the log, other
	 * children's pipes are not all opened close-on-exec by their libraries */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* a group of its own, so that killing it kills what it started; a clean
	 * signal state whatever the calling thread blocks or ignores */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	sigset_t none, dfl;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setsigdefault(&at, &dfl);
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		return botify_fail_errno(err, rc, "exec: cannot start '%s'", cmd);
	}
	wk->pid = pid;
	wk->to = in[1];
	wk->from = out[0];
	fcntl(wk->to, F_SETFL, fcntl(wk->to, F_GETFL) | O_NONBLOCK);
	fcntl(wk->from, F_SETFL, fcntl(wk->from, F_GETFL) | O_NONBLOCK);
	return 0;
}

static void exec_worker_free(const botify_rec *r, void *worker)
{
	const struct exec_data *d = r->data;
	struct exec_worker *wk = worker;
	/* a well-behaved child exits at the end of its input */
	stop_child(wk, d->timeout < 1.0 ? d->timeout : 1.0, NULL, 0);
	free(wk);
}

static int exec_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	const struct exec_data *d = r->data;
	struct exec_worker *wk = botify_malloc(1, sizeof(*wk), "exec worker", err);
	if (!wk)
		return -1;
	wk->pid = 0;
	if (start_child(wk, d->cmd, err) != 0) {
		free(wk);
		return -1;
	}
	*worker = wk;
	return 0;
}

/* A child that cannot run (command not found, a script that fails at
 * once) exits within moments of its start: a server looks before it
 * listens, rather than answering every call 500 while GET / says alive. */
static int exec_worker_check(const botify_rec *r, void *worker, double deadline, botify_err *err)
{
	(void)r;
	struct exec_worker *wk = worker;
	for (;;) {
		siginfo_t info;
		memset(&info, 0, sizeof(info));
		if (wk->pid <= 0 || (waitid(P_PID, (id_t)wk->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
				     info.si_pid == wk->pid)) {
			char why[128] = "the child is gone";
			stop_child(wk, 0, why, sizeof(why));
			return botify_fail(err, BOTIFY_EINVAL, "the command does not run: %s at start", why);
		}
		double left = deadline - now();
		if (left <= 0)
			return 0;
		nap(left < 0.01 ? left : 0.01);
	}
}

static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now();
		if (left <= 0)
			return 0;
		struct pollfd p = { fd, events, 0 };
		int rc = poll(&p, 1, (int)(left * 1000) + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		return rc < 0 ? -1 : rc;
	}
}

/* Writes the request; 0, or -1 with why set ("timeout", a dead child). */
static int send_line(struct exec_worker *wk, const char *line, size_t n, double deadline,
		     char *why, size_t wn)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	int rc = 0;
	while (n) {
		ssize_t w = write(wk->to, line, n);
		if (w > 0) {
			line += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(wk->to, POLLOUT, deadline) > 0)
				continue;
			snprintf(why, wn, "the child did not read its input");
			rc = -1;
			break;
		}
		if (w < 0 && errno == EPIPE) {
			/* the SIGPIPE this raised is pending on this thread: drop it */
			struct timespec zero = { 0, 0 };
			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
			snprintf(why, wn, "EPIPE");
		} else {
			snprintf(why, wn, "cannot write to the child: %s", strerror(errno));
		}
		rc = -1;
		break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Reads until buf holds a whole line: the line is buf[0..*len) (its newline
 * at buf[*len]; the caller consumes it). 0, or -1 with why: 1 timeout, 2 end
 * of output, 3 too long, 4 a read error. */
static int read_line(struct exec_worker *wk, double deadline, size_t *len, int *why)
{
	size_t scanned = 0;
	for (;;) {
		char *nl = memchr(wk->buf + scanned, '\n', wk->len - scanned);
		if (nl) {
			*len = (size_t)(nl - wk->buf);
			return 0;
		}
		scanned = wk->len;
		if (wk->len == sizeof(wk->buf)) {
			*why = 3;
			return -1;
		}
		ssize_t n = read(wk->from, wk->buf + wk->len, sizeof(wk->buf) - wk->len);
		if (n > 0) {
			wk->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			*why = 2;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*why = 4;
			return -1;
		}
		int rc = wait_fd(wk->from, POLLIN, deadline);
		if (rc == 0) {
			*why = 1;
			return -1;
		}
		if (rc < 0) {
			*why = 4;
			return -1;
		}
	}
}

/* Takes in whatever the child wrote since its last answer, without waiting.
 * The protocol has no request ids, so an extra line is caught once it has
 * arrived: before the next request, or at the end of the run. */
static void take_unasked(struct exec_worker *wk)
{
	while (wk->len < sizeof(wk->buf)) {
		ssize_t n = read(wk->from, wk->buf + wk->len, sizeof(wk->buf) - wk->len);
		if (n > 0)
			wk->len += (size_t)n;
		else if (!(n < 0 && errno == EINTR))
			return; /* EAGAIN: nothing yet; 0: gone, which the request finds out */
	}
}

static int exchange(const botify_rec *r, botify_rec_ctx *ctx, int message,
		    const botify_rec_call *c, int32_t *out, botify_err *err)
{
	const struct exec_data *d = r->data;
	struct exec_worker *wk = ctx->worker;
	char why[256] = "", q[128];
	if (wk->pid <= 0 && start_child(wk, d->cmd, err) != 0)
		goto fail_quiet;
	take_unasked(wk);
	if (wk->len) {
		botify_fail(err, BOTIFY_ERUNTIME,
			    "the child wrote '%s' before it was asked (one answer line per request)",
			    botify_recproto_quote(q, sizeof(q), wk->buf, wk->len));
		stop_child(wk, 0, NULL, 0);
		goto fail_quiet;
	}
	char req[BOTIFY_RECPROTO_MAX_LINE];
	size_t n = botify_recproto_request(req, message, c);
	double deadline = now() + d->timeout;
	if (send_line(wk, req, n, deadline, why, sizeof(why)) != 0) {
		if (!strcmp(why, "EPIPE")) { /* it closed its input: it is exiting or gone */
			stop_child(wk, 1.0, why, sizeof(why));
			botify_fail(err, BOTIFY_ERUNTIME, "%s before reading the request", why);
		} else {
			stop_child(wk, 0, NULL, 0);
			botify_fail(err, BOTIFY_ERUNTIME, "%s within %g s (rec timeout); the child was killed",
				    why, d->timeout);
		}
		goto fail_quiet;
	}
	size_t len;
	int reason = 0;
	if (read_line(wk, deadline, &len, &reason) != 0) {
		switch (reason) {
		case 1:
			stop_child(wk, 0, NULL, 0);
			botify_fail(err, BOTIFY_ERUNTIME, "no answer within %g s (rec timeout); the child was killed",
				    d->timeout);
			break;
		case 2: {
			size_t partial = wk->len;
			if (partial)
				botify_recproto_quote(q, sizeof(q), wk->buf, partial);
			stop_child(wk, 1.0, why, sizeof(why));
			if (partial)
				botify_fail(err, BOTIFY_ERUNTIME, "%s after writing '%s' without a newline", why, q);
			else
				botify_fail(err, BOTIFY_ERUNTIME, "%s without answering", why);
			break;
		}
		case 3:
			stop_child(wk, 0, NULL, 0);
			botify_fail(err, BOTIFY_ERUNTIME, "the answer is longer than %d bytes; the child was killed",
				    LINE_MAX_BYTES);
			break;
		default:
			botify_fail_errno(err, errno, "cannot read the child's answer");
			stop_child(wk, 0, NULL, 0);
			break;
		}
		goto fail_quiet;
	}
	int rc = botify_recproto_parse_answer(wk->buf, len, &c->user, out, err);
	/* consume the line; anything after it is an unasked-for line */
	memmove(wk->buf, wk->buf + len + 1, wk->len - len - 1);
	wk->len -= len + 1;
	if (rc != 0) {
		if (err->code != BOTIFY_ERUNTIME) /* garbage, not a reported error */
			stop_child(wk, 0, NULL, 0);
		goto fail_quiet;
	}
	return 0;
fail_quiet: {
	char tq[32];
	botify_recproto_double(tq, c->time);
	return botify_err_prefix(err, "%s call (user %lld, track %d, time %s)",
				 message == BOTIFY_MSG_LAST ? "last" : "next", (long long)c->user,
				 c->track, tq);
}
}

static int exec_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  int32_t *out, botify_err *err)
{
	return exchange(r, ctx, BOTIFY_MSG_NEXT, c, out, err);
}

static int exec_end_session(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			    botify_err *err)
{
	return exchange(r, ctx, BOTIFY_MSG_LAST, c, NULL, err);
}

const botify_rec_ops botify_rec_exec = {
	.name = "exec",
	.summary = "another program speaking JSON lines on stdin/stdout (docs/PROTOCOL.md), one per thread",
	.keys = "cmd",
	.usage = "exec:cmd='python3 my_rec.py'",
	.init = exec_init,
	.worker_init = exec_worker_init,
	.worker_free = exec_worker_free,
	.worker_check = exec_worker_check,
	.recommend = exec_recommend,
	.end_session = exec_end_session,
	.free = exec_free,
};
