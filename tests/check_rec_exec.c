/* check_rec_exec.c - the exec: recommender against tiny /bin/sh children:
 * the request lines it writes and the answers it reads, a child that hangs
 * (killed at the deadline, with what it started; the next call starts a
 * new child), one that exits or is killed, one that answers garbage, more
 * than one line or a track outside the catalog, and one that cannot start. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rec.h"
#include "rectest.h"
#include "testutil.h"
#include "world.h"

static botify_world W;

static void setup(void)
{
	rt_world_setup(&W);
}

static void teardown(void)
{
	rt_world_teardown(&W);
}

/* A recommender running script (a /bin/sh script written to the scratch
 * directory), with a worker and an empty state. */
struct child {
	botify_rec r;
	void *worker;
	botify_rec_ctx ctx;
	botify_rng rng;
};

static void start(struct child *c, const char *script, double timeout)
{
	char path[4096], spec[8192];
	tu_write(tu_path(path, tu_tmp, "rec.sh"), script, 0);
	tu_fmt(spec, sizeof(spec), "exec:cmd='/bin/sh %s'", path);
	botify_rec_env env = { .world = &W, .max_steps = 100, .rec_timeout = timeout };
	botify_err err = {0};
	ck_assert_msg(botify_rec_create(&c->r, spec, &env, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(c->r.state_size, 0);
	ck_assert_msg(botify_rec_worker_init(&c->r, &c->worker, &err) == 0, "%s", err.msg);
	botify_rng_init(&c->rng, BOTIFY_RNG_TEST, 1, 2, 3, 4);
	c->ctx = (botify_rec_ctx){ c->worker, NULL, &c->rng };
}

static void stop(struct child *c)
{
	botify_rec_worker_free(&c->r, c->worker);
	botify_rec_free(&c->r);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One request line per call, one answer back; "last" gets {} and no track. */
START_TEST(exec_speaks_one_line_each_way)
{
	char reqs[4096], script[8192];
	tu_path(reqs, tu_tmp, "requests");
	tu_fmt(script, sizeof(script),
	       "n=0\n"
	       "while IFS= read -r l; do\n"
	       "  printf '%%s\\n' \"$l\" >> '%s'\n"
	       "  case \"$l\" in *'\"last\"'*) echo '{}' ;; *) n=$((n + 3)); echo \"{\\\"track\\\": $n}\" ;; esac\n"
	       "done\n", reqs);
	struct child c;
	start(&c, script, 5);
	botify_err err = {0};
	int32_t out = -1;
	botify_rec_call call = { 2, 4, 1.0 };
	ck_assert_msg(botify_rec_next(&c.r, &c.ctx, &call, &out, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(out, 3);
	call = (botify_rec_call){ 2, 3, 0.25 };
	ck_assert_msg(botify_rec_next(&c.r, &c.ctx, &call, &out, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(out, 6);
	call = (botify_rec_call){ 2, 6, 0.5 };
	ck_assert_msg(botify_rec_last(&c.r, &c.ctx, &call, &err) == 0, "%s", err.msg);
	stop(&c); /* closes the child's stdin: it ends, the file is complete */
	char *got = tu_slurp(reqs, NULL);
	ck_assert_str_eq(got, "{\"message\":\"next\",\"user\":2,\"track\":4,\"time\":1.0}\n"
			      "{\"message\":\"next\",\"user\":2,\"track\":3,\"time\":0.25}\n"
			      "{\"message\":\"last\",\"user\":2,\"track\":6,\"time\":0.5}\n");
	free(got);
}
END_TEST

/* A child that hangs is killed at the deadline with what it started (a
 * grandchild holding the pipe would otherwise keep the read waiting); the
 * next call starts a fresh child. */
START_TEST(exec_kills_a_hanging_child_and_starts_a_new_one)
{
	char mark[4096], script[8192];
	tu_path(mark, tu_tmp, "started-once");
	tu_fmt(script, sizeof(script),
	       "if [ ! -e '%s' ]; then : > '%s'; sleep 30 & wait; fi\n"
	       "while IFS= read -r l; do echo '{\"track\": 5}'; done\n", mark, mark);
	struct child c;
	start(&c, script, 0.3);
	botify_err err = {0};
	int32_t out = -1;
	botify_rec_call call = { 1, 0, 1.0 };
	double t0 = now();
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	double took = now() - t0;
	tu_assert_has(err.msg, "no answer within 0.3 s (rec timeout); the child was killed");
	tu_assert_has(err.msg, "exec:");
	ck_assert_msg(took < 3.0, "the call took %.2f s", took);
	ck_assert_msg(botify_rec_next(&c.r, &c.ctx, &call, &out, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(out, 5);
	stop(&c);
}
END_TEST

/* A child that exits or is killed: the message says how, and a worker
 * reaps it (no zombie left: waitpid finds no child of ours). */
START_TEST(exec_names_how_the_child_ended)
{
	struct child c;
	botify_err err = {0};
	int32_t out = -1;
	botify_rec_call call = { 0, 1, 1.0 };
	start(&c, "read l; exit 3\n", 5);
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	tu_assert_has(err.msg, "the child exited with status 3 without answering");
	stop(&c);
	start(&c, "read l; kill -9 $$\n", 5);
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	/* the script's shell is killed; sh -c reports it as 128 + 9 unless it
	 * exec'd the script */
	ck_assert_msg(strstr(err.msg, "killed by signal 9") || strstr(err.msg, "status 137"), "%s",
		      err.msg);
	stop(&c);
	start(&c, "read l; printf '{\"track\": 1'; exit 0\n", 5);
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	tu_assert_has(err.msg, "after writing '{\"track\": 1' without a newline");
	stop(&c);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* ECHILD: every child reaped */
}
END_TEST

/* What a child answers must be one JSON object line with a catalog track. */
START_TEST(exec_refuses_bad_answers)
{
	struct child c;
	botify_err err = {0};
	int32_t out = -1;
	botify_rec_call call = { 0, 1, 1.0 };
	start(&c, "while read l; do echo 'hello'; done\n", 5);
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	tu_assert_has(err.msg, "hello");
	stop(&c);
	start(&c, "while read l; do echo '{\"track\": 12}'; done\n", 5);
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	tu_assert_has(err.msg, "12");
	stop(&c);
	/* two lines for one request: the second is refused at the next call */
	start(&c, "while read l; do echo '{\"track\": 2}'; echo '{\"track\": 3}'; done\n", 5);
	ck_assert_msg(botify_rec_next(&c.r, &c.ctx, &call, &out, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(out, 2);
	struct timespec nap = { 0, 100 * 1000000L }; /* let the second line arrive */
	nanosleep(&nap, NULL);
	ck_assert_int_eq(botify_rec_next(&c.r, &c.ctx, &call, &out, &err), -1);
	tu_assert_has(err.msg, "before it was asked");
	stop(&c);
}
END_TEST

START_TEST(exec_spec_and_start_errors)
{
	botify_rec r;
	botify_rec_env env = { .world = &W, .max_steps = 100 };
	botify_err err = {0};
	ck_assert_int_eq(botify_rec_create(&r, "exec", &env, &err), -1);
	tu_assert_has(err.msg, "needs cmd=");
	/* a command that cannot run is found by the worker check */
	ck_assert_msg(botify_rec_create(&r, "exec:cmd='/nonexistent/botify-rec'", &env, &err) == 0, "%s",
		      err.msg);
	void *worker = NULL;
	int rc = botify_rec_worker_init(&r, &worker, &err);
	if (rc == 0) {
		rc = botify_rec_worker_check(&r, worker, botify_rec_now() + 2.0, &err);
		botify_rec_worker_free(&r, worker);
	}
	ck_assert_int_eq(rc, -1);
	tu_assert_has(err.msg, "status 127");
	botify_rec_free(&r);
}
END_TEST

Suite *rec_exec_suite(void)
{
	Suite *s = suite_create("rec_exec");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exec_speaks_one_line_each_way);
	tcase_add_test(tc, exec_kills_a_hanging_child_and_starts_a_new_one);
	tcase_add_test(tc, exec_names_how_the_child_ended);
	tcase_add_test(tc, exec_refuses_bad_answers);
	tcase_add_test(tc, exec_spec_and_start_errors);
	suite_add_tcase(s, tc);
	return s;
}
