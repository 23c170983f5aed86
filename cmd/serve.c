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
		"  botify serve --recommender nn:model=models/nn --experiment AB \\\n"
		"      --arms C=random,T1=nn:model=models/nn --redis redis://127.0.0.1:6379/0\n"
		"  botify simulate --episodes 1000 --recommender remote:url=http://127.0.0.1:5000\n",
};

int cmd_serve(int argc, char **argv)
{
	const char *log_path = NULL, *redis_url = NULL, *redis_prefix = "botify", *host = "127.0.0.1";
	const char *password_file = NULL;
	int64_t port = 5000, max_body = 4096;
	double ttl = 3600, request_timeout = 30;
	int force = 0;
	struct arm_flags af;
	arm_flags_init(&af);
	struct flag flags[] = {
		ARM_FLAGS(&af),
		FLAG_LONG("port", &port, "P", "TCP port (0: any free port, printed at start)", 0, 65535),
		FLAG_STR("host", &host, "ADDR", "IPv4 address to listen on (0.0.0.0: every interface)"),
		FLAG_STR("log", &log_path, "FILE", "log every call here (gzip when FILE ends in .gz)"),
		FLAG_BOOL("force", &force, "replace an existing --log"),
		FLAG_STR("redis", &redis_url, "URL", "keep sessions in Redis: redis://HOST[:PORT][/DB]"),
		FLAG_STR("redis-prefix", &redis_prefix, "P", "prefix of the Redis keys"),
		FLAG_STR("redis-password-file", &password_file, "FILE",
			 "the Redis password: FILE's first line (or set " PASSWORD_ENV ")"),
		FLAG_DOUBLE("session-ttl", &ttl, "S", "seconds a session lives without a call", 0.001, 1e9),
		RUN_FLAGS(&af, ""),
		FLAG_LONG("max-body", &max_body, "BYTES", "largest request body accepted", 64, 1 << 24),
		FLAG_DOUBLE("request-timeout", &request_timeout, "S",
			    "seconds a request may take to arrive whole (slow clients are cut)", 0.1, 3600),
		FLAG_END,
	};
	int rc = flags_parse(flags, &doc, argc, argv, NULL, 0, NULL);
	if (rc != FLAGS_OK)
		return rc == FLAGS_HELP ? BOTIFY_EXIT_OK : BOTIFY_EXIT_USAGE;
	if (arm_flags_check("serve", &af, 1) != 0)
		return BOTIFY_EXIT_USAGE;
	const char *experiment = af.experiment, *rec_spec = af.recommender;
	/* "next" calls a session may make: the simulator's default cap */
	int64_t max_steps = af.seen_max_steps ? af.max_steps : 1000, threads = af.threads;
	double rec_timeout = af.rec_timeout;
	if (redis_url && strchr(redis_url, '@'))
		return usage_error("serve", "no password in --redis: the process list shows it to every "
				   "local user (use " PASSWORD_ENV " or --redis-password-file)");
	if (password_file && !redis_url)
		return usage_error("serve", "--redis-password-file needs --redis");

	botify_err err = {0};
	botify_world w = {0};
	botify_armset arms = {0};
	botify_sessions store = {0};
	botify_outfile log = {0};
	botify_service svc = {0};
	botify_http_server server = {0};
	int log_open = 0, exit_code = BOTIFY_EXIT_USAGE;

	/* before any thread of ours exists, so that they inherit the mask; a
	 * signal during start-up waits in the semaphore */
	sem_init(&stop_sem, 0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigset_t stop_set;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);

	const botify_armset_opts ao = arm_flags_armset(&af);
	if (botify_armset_init(&arms, &ao, &err) != 0)
		goto fail;
	char password[256];
	if (redis_url && read_password(password_file, password, sizeof(password), &err) != 0)
		goto fail;
	if (botify_world_open(&w, af.world, BOTIFY_WORLD_ALL, &err) != 0)
		goto fail;
	botify_rec_env env = { .world = &w, .max_steps = max_steps, .rec_timeout = rec_timeout };
	if (botify_armset_create(&arms, &env, &err) != 0)
		goto fail;
	const botify_sessions_opts so = {
		.redis_url = redis_url, .prefix = redis_prefix, .n_users = w.U, .ttl = ttl,
		.timeout = rec_timeout, .password = redis_url && password[0] ? password : NULL,
	};
	if (botify_sessions_init(&store, &so, &err) != 0)
		goto fail;
	if (log_path) {
		if (botify_outfile_open(&log, log_path, force, &err) != 0)
			goto fail;
		log_open = 1;
	}
	const botify_service_opts vo = {
		.world = &w, .arms = &arms, .sessions = &store, .log = log_path ? &log : NULL, .seed = (uint64_t)af.seed,
		.max_steps = max_steps, .workers = (int)threads,
	};
	if (botify_service_init(&svc, &vo, &err) != 0)
		goto fail;
	const botify_http_server_opts ho = {
		.host = host, .port = (int)port, .threads = (int)threads, .max_body = (size_t)max_body,
		.max_connections = connection_budget(), .request_timeout = request_timeout,
		.handler = botify_service_handle, .ctx = &svc,
	};
	if (botify_http_server_start(&server, &ho, &err) != 0)
		goto fail;
	char where[320] = "memory";
	if (redis_url) /* from the parsed URL: never a password */
		snprintf(where, sizeof(where), "redis %s:%d/%d%s", store.host, store.port, store.db,
			 store.password[0] ? " with a password" : "");
	fprintf(stderr, "botify serve: listening on http://%s:%d (%s, %lld threads, sessions in %s)\n",
		host, server.port, experiment ? experiment : rec_spec, (long long)threads, where);
	fflush(stderr);

	pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
	while (sem_wait(&stop_sem) != 0 && errno == EINTR)
		;
	int sig = stop_signal;
	fprintf(stderr, "botify serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
	botify_http_server_stop(&server);
	botify_service_stats st = botify_service_get_stats(&svc);
	if (log_open) {
		log_open = 0; /* committed or kept as .partial: done either way */
		if (botify_service_close_log(&svc, &err) != 0)
			goto fail;
	}
	char logged[96] = "";
	if (st.logged_failed)
		snprintf(logged, sizeof(logged), " (%lld of them logged: their session could not be stored)",
			 (long long)st.logged_failed);
	fprintf(stderr, "botify serve: answered %lld next and %lld last calls; %lld requests rejected, %lld failed%s%s%s\n",
		(long long)st.next, (long long)st.last, (long long)st.rejected, (long long)st.failed, logged,
		log_path ? "; log: " : "", log_path ? log_path : "");
	exit_code = BOTIFY_EXIT_OK;
	goto out;
fail:
	exit_code = report_error(&err);
out:
	botify_http_server_stop(&server);
	botify_service_free(&svc);
	if (log_open)
		botify_outfile_abort(&log);
	botify_sessions_free(&store);
	botify_armset_free(&arms);
	botify_world_free(&w);
	return exit_code;
}
