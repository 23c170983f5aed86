/*
 * serve.c - botify serve: the original Flask service's HTTP API over any
 * botify recommender (or the arms of an experiment), logging every call in
 * the data.json format, with sessions in memory or in Redis (docs/serve.md).
 *
 * Signals: SIGINT and SIGTERM only post a semaphore that main waits on, so
 * shutdown is ordinary code: stop the server (running handlers finish),
 * write the buffered rows, commit the log. A handler rather than sigwait():
 * threads that libraries start themselves (OpenBLAS's pool, at load time)
 * do not inherit our mask, and a signal they took with the default action
 * would kill the process mid-shutdown. Our own threads start with the two
 * blocked so their syscalls are not interrupted. SIGPIPE is ignored: a
 * client or Redis that hangs up is an error on that socket, not the end of
 * the server.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "armflags.h"
#include "armset.h"
#include "cmd.h"
#include "experiment.h"
#include "flags.h"
#include "http_server.h"
#include "outfile.h"
#include "rec.h"
#include "service.h"
#include "sessions.h"
#include "world.h"

static sem_t stop_sem;
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
	sem_post(&stop_sem); /* async-signal-safe */
}

/* Raises the open-file limit to its ceiling and leaves room under it for
 * what is not a client: Redis connections, exec pipes, the log, the world. */
static unsigned connection_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (want > rl.rlim_cur) {
			struct rlimit up = { want, rl.rlim_max };
			if (setrlimit(RLIMIT_NOFILE, &up) == 0)
				rl.rlim_cur = want;
		}
	}
	return rl.rlim_cur > 256 ? (unsigned)(rl.rlim_cur - 128) : (unsigned)(rl.rlim_cur / 2);
}

#define PASSWORD_ENV "BOTIFY_REDIS_PASSWORD"

/* The Redis password from --redis-password-file or the environment, never
 * the command line (which every local user sees in ps): into buf, "" for
 * none. */
static int read_password(const char *file, char *buf, size_t n, botify_err *err)
{
	buf[0] = 0;
	if (!file) {
		const char *env = getenv(PASSWORD_ENV);
		if (env && strlen(env) >= n)
			return botify_fail(err, BOTIFY_EINVAL, "%s is longer than %zu characters", PASSWORD_ENV,
					   n - 1);
		if (env)
			snprintf(buf, n, "%s", env);
		return 0;
	}
	FILE *f = fopen(file, "r");
	if (!f)
		return botify_fail_errno(err, errno, "cannot read the redis password file '%s'", file);
	int ok = fgets(buf, (int)n, f) != NULL;
	fclose(f);
	size_t len = ok ? strcspn(buf, "\r\n") : 0;
	if (ok && buf[len] == 0 && len == n - 1)
		return botify_fail(err, BOTIFY_EINVAL, "'%s': the password is longer than %zu characters",
				   file, n - 2);
	buf[len] = 0;
	if (!len)
		return botify_fail(err, BOTIFY_EINVAL, "'%s': no password on its first line", file);
	return 0;
}

static const struct flag_doc doc = {
	.usage = "botify serve --recommender SPEC [--port 5000] [--log FILE] [--redis URL] [options]",
	.summary =
		"Serves a recommender (or the arms of an experiment) over the original botify\n"
		"service's HTTP API: GET /, GET /track/<id>, POST /next/<user> and POST\n"
		"/last/<user> with {\"track\": int, \"time\": float}. Every call is logged in the\n"
		"data.json format; the log appears under its name when the server stops (SIGINT\n"
		"or SIGTERM). Session state lives in memory, or in Redis with --redis so that\n"
		"several servers share sessions; --rec-timeout also bounds each Redis command.\n"
		"See docs/serve.md and docs/PROTOCOL.md.",
	.more = print_recommenders,
	.extra =
		"examples:\n"
		"  botify serve --port 5000 --recommender sticky_artist --log logs/served.jsonl\n"
		"  botify serve --experiment AB --arms C=random,T1=nn:model=models/nn \\\n"
		"      --redis redis://127.0.0.1:6379/0\n"
		"  botify simulate --episodes 1000 --recommender remote:url=http://127.0.0.1:5000\n",
	.interrupted = "and on SIGINT (Ctrl-C) or SIGTERM, 0 once the running calls have finished "
		       "and the log is committed under its name",
};

struct serve_cli {
	const char *log_path, *redis_url, *redis_prefix, *host, *password_file;
	int64_t port, max_body, max_steps;
	double ttl, request_timeout;
	int force;
	struct arm_flags af;
};

/* Parses and checks the options: -1 to go on, else the exit code. */
static int parse_options(struct serve_cli *c, int argc, char **argv)
{
	*c = (struct serve_cli){ .redis_prefix = "botify", .host = "127.0.0.1", .port = 5000,
				 .max_body = 4096, .ttl = 3600, .request_timeout = 30 };
	arm_flags_init(&c->af);
	struct flag flags[] = {
		ARM_FLAGS(&c->af),
		FLAG_LONG("port", &c->port, "P", "TCP port (0: any free port, printed at start)", 0, 65535),
		FLAG_STR("host", &c->host, "ADDR", "IPv4 address to listen on (0.0.0.0: every interface)"),
		FLAG_STR("log", &c->log_path, "FILE", "log every call here (gzip when FILE ends in .gz)"),
		FLAG_BOOL("force", &c->force, "replace an existing --log"),
		FLAG_STR("redis", &c->redis_url, "URL", "keep sessions in Redis: redis://HOST[:PORT][/DB]"),
		FLAG_STR("redis-prefix", &c->redis_prefix, "P", "prefix of the Redis keys"),
		FLAG_STR("redis-password-file", &c->password_file, "FILE",
			 "the Redis password: FILE's first line (or set " PASSWORD_ENV ")"),
		FLAG_DOUBLE("session-ttl", &c->ttl, "S", "seconds a session lives without a call", 0.001, 1e9),
		RUN_FLAGS(&c->af, ""),
		FLAG_LONG("max-body", &c->max_body, "BYTES", "largest request body accepted", 64, 1 << 24),
		FLAG_DOUBLE("request-timeout", &c->request_timeout, "S",
			    "seconds a request may take to arrive whole (slow clients are cut)", 0.1, 3600),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (arm_flags_check("serve", &c->af, 1) != 0)
		return BOTIFY_EXIT_USAGE;
	/* "next" calls a session may make: the simulator's default cap */
	c->max_steps = c->af.seen_max_steps ? c->af.max_steps : 1000;
	if (c->redis_url && strchr(c->redis_url, '@'))
		return usage_error("serve", "no password in --redis: the process list shows it to every "
				   "local user (use " PASSWORD_ENV " or --redis-password-file)");
	if (c->password_file && !c->redis_url)
		return usage_error("serve", "--redis-password-file needs --redis");
	return -1;
}

/* Routes SIGINT and SIGTERM to the semaphore and blocks them (stop_set) in
 * this thread: before any thread of ours exists, so that they inherit the
 * mask; a signal during start-up waits in the semaphore. */
static void catch_stop_signals(sigset_t *stop_set)
{
	sem_init(&stop_sem, 0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(stop_set);
	sigaddset(stop_set, SIGINT);
	sigaddset(stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* What a running server holds, freed in reverse by server_free. */
struct server {
	botify_world w;
	botify_armset arms;
	botify_sessions store;
	botify_outfile log;
	int log_open;
	botify_service svc;
	botify_http_server http;
};

/* The arms, the world, the recommenders, the session store, the log, the
 * service and its HTTP server, in that order: the cheap checks first, the
 * port opened last. */
static int server_start(struct server *s, const struct serve_cli *c, botify_err *err)
{
	const botify_armset_opts ao = arm_flags_armset(&c->af);
	if (botify_armset_init(&s->arms, &ao, err) != 0)
		return -1;
	char password[256];
	if (c->redis_url && read_password(c->password_file, password, sizeof(password), err) != 0)
		return -1;
	if (botify_world_open(&s->w, c->af.world, BOTIFY_WORLD_ALL, err) != 0)
		return -1;
	botify_rec_env env = { .world = &s->w, .max_steps = c->max_steps, .rec_timeout = c->af.rec_timeout };
	if (botify_armset_create(&s->arms, &env, err) != 0)
		return -1;
	const botify_sessions_opts so = {
		.redis_url = c->redis_url, .prefix = c->redis_prefix, .n_users = s->w.U, .ttl = c->ttl,
		.timeout = c->af.rec_timeout, .password = c->redis_url && password[0] ? password : NULL,
	};
	if (botify_sessions_init(&s->store, &so, err) != 0)
		return -1;
	if (c->log_path) {
		if (botify_outfile_open(&s->log, c->log_path, c->force, err) != 0)
			return -1;
		s->log_open = 1;
	}
	const botify_service_opts vo = {
		.world = &s->w, .arms = &s->arms, .sessions = &s->store, .log = c->log_path ? &s->log : NULL,
		.seed = (uint64_t)c->af.seed, .max_steps = c->max_steps, .workers = (int)c->af.threads,
	};
	if (botify_service_init(&s->svc, &vo, err) != 0)
		return -1;
	const botify_http_server_opts ho = {
		.host = c->host, .port = (int)c->port, .threads = (int)c->af.threads,
		.max_body = (size_t)c->max_body, .max_connections = connection_budget(),
		.request_timeout = c->request_timeout, .handler = botify_service_handle, .ctx = &s->svc,
	};
	return botify_http_server_start(&s->http, &ho, err);
}

/* Stops taking requests (running handlers finish) and closes the log:
 * committed, or kept as .partial and an error. */
static int server_stop(struct server *s, botify_service_stats *st, botify_err *err)
{
	botify_http_server_stop(&s->http);
	*st = botify_service_get_stats(&s->svc);
	if (!s->log_open)
		return 0;
	s->log_open = 0; /* committed or kept as .partial: done either way */
	return botify_service_close_log(&s->svc, err);
}

static void server_free(struct server *s)
{
	botify_http_server_stop(&s->http);
	botify_service_free(&s->svc);
	if (s->log_open)
		botify_outfile_abort(&s->log);
	botify_sessions_free(&s->store);
	botify_armset_free(&s->arms);
	botify_world_free(&s->w);
}

static void report_listening(const struct serve_cli *c, const struct server *s)
{
	char where[320] = "memory";
	if (c->redis_url) /* from the parsed URL: never a password */
		snprintf(where, sizeof(where), "redis %s:%d/%d%s", s->store.host, s->store.port, s->store.db,
			 s->store.password[0] ? " with a password" : "");
	fprintf(stderr, "botify serve: listening on http://%s:%d (%s, %lld thread%s, sessions in %s)\n",
		c->host, s->http.port, c->af.experiment ? c->af.experiment : c->af.recommender,
		(long long)c->af.threads, plural(c->af.threads), where);
	fflush(stderr);
}

static void report_stats(const struct serve_cli *c, const botify_service_stats *st)
{
	char logged[96] = "";
	if (st->logged_failed)
		snprintf(logged, sizeof(logged), " (%lld of them logged: their session could not be stored)",
			 (long long)st->logged_failed);
	fprintf(stderr, "botify serve: answered %lld next and %lld last calls; %lld requests rejected, %lld failed%s%s%s\n",
		(long long)st->next, (long long)st->last, (long long)st->rejected, (long long)st->failed, logged,
		c->log_path ? "; log: " : "", c->log_path ? c->log_path : "");
}

int cmd_serve(int argc, char **argv)
{
	struct serve_cli c;
	int rc = parse_options(&c, argc, argv);
	if (rc >= 0)
		return rc;
	botify_err err = {0};
	struct server s;
	memset(&s, 0, sizeof(s));
	int exit_code = BOTIFY_EXIT_USAGE;
	sigset_t stop_set;
	catch_stop_signals(&stop_set);
	if (server_start(&s, &c, &err) != 0)
		goto fail;
	report_listening(&c, &s);

	pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
	while (sem_wait(&stop_sem) != 0 && errno == EINTR)
		;
	int sig = stop_signal;
	fprintf(stderr, "botify serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
	botify_service_stats st;
	if (server_stop(&s, &st, &err) != 0)
		goto fail;
	report_stats(&c, &st);
	exit_code = BOTIFY_EXIT_OK;
	goto out;
fail:
	exit_code = report_error(&err);
out:
	server_free(&s);
	return exit_code;
}
