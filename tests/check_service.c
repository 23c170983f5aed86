/* check_service.c - the service's request handler called directly (no
 * HTTP): every endpoint and error status, a session's calls and the
 * max_steps limit, the log rows with their arms, and the rule that a
 * session's recommendations depend on the seed, the user and the user's
 * earlier sessions, not on other users' traffic in between. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "armset.h"
#include "experiment.h"
#include "outfile.h"
#include "rec.h"
#include "rectest.h"
#include "service.h"
#include "sessions.h"
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

struct svc {
	botify_armset arms;
	botify_sessions store;
	botify_outfile log;
	botify_service s;
	char log_path[4096];
};

/* A service over n_arms arms (random, then toppop), memory sessions, a log
 * in the scratch directory when log_name is set. */
static void svc_start(struct svc *v, int n_arms, uint64_t seed, int64_t max_steps, const char *log_name)
{
	botify_err err = {0};
	memset(v, 0, sizeof(*v));
	botify_rec_env env = { .world = &W, .max_steps = max_steps };
	const char *specs[2] = { "random", "toppop:k=3" };
	botify_armset_opts ao = { .recommender = specs[0] };
	if (n_arms > 1)
		ao = (botify_armset_opts){ .experiment = "exp", .specs = specs, .n_specs = n_arms };
	ck_assert_msg(botify_armset_init(&v->arms, &ao, &err) == 0, "%s", err.msg);
	ck_assert_msg(botify_armset_create(&v->arms, &env, &err) == 0, "%s", err.msg);
	botify_sessions_opts so = { .n_users = W.U, .ttl = 3600 };
	ck_assert_msg(botify_sessions_init(&v->store, &so, &err) == 0, "%s", err.msg);
	if (log_name)
		ck_assert_msg(botify_outfile_open(&v->log, tu_path(v->log_path, tu_tmp, log_name), 0, &err) == 0,
			      "%s", err.msg);
	botify_service_opts o = { .world = &W, .arms = &v->arms, .sessions = &v->store,
				  .log = log_name ? &v->log : NULL, .seed = seed, .max_steps = max_steps,
				  .workers = 2 };
	ck_assert_msg(botify_service_init(&v->s, &o, &err) == 0, "%s", err.msg);
}

static void svc_stop(struct svc *v)
{
	botify_err err = {0};
	if (v->log_path[0])
		ck_assert_msg(botify_service_close_log(&v->s, &err) == 0, "%s", err.msg);
	botify_service_free(&v->s);
	botify_sessions_free(&v->store);
	botify_armset_free(&v->arms);
}

/* Calls the handler; returns the status, the body in out (size n). */
static int call(struct svc *v, const char *method, const char *path, const char *body, char *out, size_t n)
{
	botify_http_request req = { method, path, body ? body : "", body ? strlen(body) : 0 };
	botify_http_reply reply;
	memset(&reply, 0, sizeof(reply));
	botify_service_handle(&v->s, &req, &reply);
	ck_assert_ptr_nonnull(reply.body);
	tu_fmt(out, n, "%.*s", (int)reply.len, reply.body);
	free(reply.heap);
	return reply.status;
}

/* The "track" of a /next answer for user. */
static int next_track(struct svc *v, int user, int track, double time)
{
	char path[64], body[128], out[1024];
	tu_fmt(path, sizeof(path), "/next/%d", user);
	tu_fmt(body, sizeof(body), "{\"track\": %d, \"time\": %g}", track, time);
	int st = call(v, "POST", path, body, out, sizeof(out));
	ck_assert_msg(st == 200, "%d %s", st, out);
	cJSON *j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "user")->valueint, user);
	int t = cJSON_GetObjectItem(j, "track")->valueint;
	cJSON_Delete(j);
	ck_assert(t >= 0 && t < W.N);
	return t;
}

static void last(struct svc *v, int user, int track, double time)
{
	char path[64], body[128], out[1024];
	tu_fmt(path, sizeof(path), "/last/%d", user);
	tu_fmt(body, sizeof(body), "{\"track\": %d, \"time\": %g}", track, time);
	int st = call(v, "POST", path, body, out, sizeof(out));
	ck_assert_msg(st == 200, "%d %s", st, out);
	char want[64];
	ck_assert_str_eq(out, tu_fmt(want, sizeof(want), "{\"user\": %d}", user));
}

START_TEST(service_endpoints_and_errors)
{
	struct svc v;
	svc_start(&v, 1, 1, 3, NULL);
	char out[1024];
	ck_assert_int_eq(call(&v, "GET", "/", NULL, out, sizeof(out)), 200);
	tu_assert_has(out, "alive");
	ck_assert_int_eq(call(&v, "GET", "/track/3", NULL, out, sizeof(out)), 200);
	tu_assert_has(out, "\"track\":3");
	tu_assert_has(out, "\"artist\":\"A\"");
	ck_assert_int_eq(call(&v, "GET", "/track/12", NULL, out, sizeof(out)), 404);
	ck_assert_int_eq(call(&v, "GET", "/track/x", NULL, out, sizeof(out)), 400);
	ck_assert_int_eq(call(&v, "GET", "/nope", NULL, out, sizeof(out)), 404);
	ck_assert_int_eq(call(&v, "GET", "/next/1", NULL, out, sizeof(out)), 405);
	ck_assert_int_eq(call(&v, "POST", "/", NULL, out, sizeof(out)), 405);
	ck_assert_int_eq(call(&v, "POST", "/next/9", "{\"track\": 1, \"time\": 1.0}", out, sizeof(out)), 404);
	tu_assert_has(out, "unknown user 9");
	ck_assert_int_eq(call(&v, "POST", "/next/-1", "{\"track\": 1, \"time\": 1.0}", out, sizeof(out)), 400);
	ck_assert_int_eq(call(&v, "POST", "/next/1", "{\"track\": 1", out, sizeof(out)), 400);
	ck_assert_int_eq(call(&v, "POST", "/next/1", "{\"track\": 1, \"time\": 1.5}", out, sizeof(out)), 400);
	ck_assert_int_eq(call(&v, "POST", "/next/1", "{\"track\": 12, \"time\": 1.0}", out, sizeof(out)), 404);
	tu_assert_has(out, "\"error\"");
	botify_service_stats st = botify_service_get_stats(&v.s);
	ck_assert_int_eq(st.next, 0);
	ck_assert_int_eq(st.rejected, 10);
	/* max_steps 3: the fourth "next" of a session is refused, "last" ends it */
	for (int i = 0; i < 3; i++)
		next_track(&v, 1, 0, 1.0);
	ck_assert_int_eq(call(&v, "POST", "/next/1", "{\"track\": 0, \"time\": 1.0}", out, sizeof(out)), 409);
	ck_assert_int_eq(call(&v, "POST", "/last/1", "{\"track\": 0, \"time\": 0.5}", out, sizeof(out)), 200);
	tu_assert_has(out, "\"user\": 1");
	next_track(&v, 1, 0, 1.0); /* a new session */
	st = botify_service_get_stats(&v.s);
	ck_assert_int_eq(st.next, 4);
	ck_assert_int_eq(st.last, 1);
	ck_assert_int_eq(st.rejected, 11);
	ck_assert_int_eq(st.failed, 0);
	svc_stop(&v);
}
END_TEST

/* User 1's sessions are the same whether or not user 2 calls in between;
 * a second session of the same user draws afresh. */
START_TEST(service_sessions_do_not_depend_on_other_traffic)
{
	struct svc a, b;
	svc_start(&a, 1, 7, 100, NULL);
	svc_start(&b, 1, 7, 100, NULL);
	int first[2][8];
	for (int sess = 0; sess < 2; sess++) {
		int ta = 0, tb = 0;
		for (int i = 0; i < 8; i++) {
			first[sess][i] = ta = next_track(&a, 1, ta, 0.5);
			if (sess == 0)
				next_track(&b, 2, i, 0.5); /* traffic in between */
			tb = next_track(&b, 1, tb, 0.5);
			ck_assert_int_eq(ta, tb);
		}
		last(&a, 1, ta, 0.5);
		last(&b, 1, tb, 0.5);
	}
	ck_assert_msg(memcmp(first[0], first[1], sizeof(first[0])), "two sessions drew the same tracks");
	/* another seed, another session */
	struct svc c;
	svc_start(&c, 1, 8, 100, NULL);
	int same = 1, t = 0;
	for (int i = 0; i < 8; i++) {
		t = next_track(&c, 1, i ? t : 0, 0.5);
		same &= t == first[0][i];
	}
	ck_assert(!same);
	svc_stop(&c);
	svc_stop(&a);
	svc_stop(&b);
}
END_TEST

/* Every answered call is one log row; with an experiment, the row carries
 * the user's arm, which decides the recommender (toppop:k=3 answers from
 * the top three tracks only). */
START_TEST(service_logs_calls_with_their_arms)
{
	struct svc v;
	svc_start(&v, 2, 3, 100, "data.json");
	int calls = 0;
	for (int u = 0; u < 3; u++) {
		int t = 0;
		for (int i = 0; i < 4; i++, calls++)
			t = next_track(&v, u, t, 0.25);
		last(&v, u, t, 0.75);
		calls++;
	}
	char out[1024];
	ck_assert_int_eq(call(&v, "POST", "/next/1", "{}", out, sizeof(out)), 400); /* not logged */
	svc_stop(&v);
	size_t len;
	char *text = tu_slurp(v.log_path, &len);
	int rows = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), rows++) {
		cJSON *j = cJSON_Parse(line);
		ck_assert_msg(j != NULL, "%s", line);
		int user = cJSON_GetObjectItem(j, "user")->valueint;
		const char *arm = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "experiments"), "exp")->valuestring;
		ck_assert_str_eq(arm, botify_arm_name(botify_experiment_assign(&v.arms.exp, user)));
		const char *msg = cJSON_GetObjectItem(j, "message")->valuestring;
		if (!strcmp(msg, "next") && !strcmp(arm, "T1")) {
			int rec = cJSON_GetObjectItem(j, "recommendation")->valueint;
			ck_assert_msg(rec == 5 || rec == 3 || rec == 9, "toppop:k=3 recommended %d", rec);
		}
		cJSON_Delete(j);
	}
	ck_assert_int_eq(rows, calls);
	free(text);
}
END_TEST

Suite *service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, service_endpoints_and_errors);
	tcase_add_test(tc, service_sessions_do_not_depend_on_other_traffic);
	tcase_add_test(tc, service_logs_calls_with_their_arms);
	suite_add_tcase(s, tc);
	return s;
}
