/* check_rec.c - recommender specs, the registry's messages, each baseline
 * recommender's policy on a hand-made twelve-track world, and the checked
 * call that turns a bad track id into an error naming the recommender. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "rectest.h"
#include "testutil.h"
#include "world.h"

static botify_world W;

/* the world of tests/rectest.h */
static void setup(void)
{
	rt_world_setup(&W);
	ck_assert_int_eq(W.A, 4);
}

static void teardown(void)
{
	rt_world_teardown(&W);
}

static void create(botify_rec *r, const char *spec)
{
	botify_rec_env env = { .world = &W, .max_steps = 1000 };
	botify_err err = {0};
	ck_assert_msg(botify_rec_create(r, spec, &env, &err) == 0, "%s: %s", spec, err.msg);
	ck_assert_str_eq(r->spec, spec);
	ck_assert_ptr_eq(r->world, &W);
}

static void expect_create_fail(const char *spec, enum botify_errcode code, const char *needle)
{
	botify_rec_env env = { .world = &W, .max_steps = 1000 };
	botify_err err = {0};
	botify_rec r;
	ck_assert_msg(botify_rec_create(&r, spec, &env, &err) == -1, "'%s' was created", spec);
	ck_assert_msg(err.code == code, "%s: code %d, want %d: %s", spec, err.code, code, err.msg);
	tu_assert_has(err.msg, needle);
	ck_assert_ptr_null(r.ops);
	ck_assert_ptr_null(r.spec);
	botify_rec_free(&r);
}

/* Calls the recommender n times for (user, track); counts the picks per
 * track in seen[12]. Fails the test on an error or an id out of range. */
static void collect(const botify_rec *r, int64_t user, int32_t track, int n, int *seen)
{
	botify_rng rng;
	botify_rng_init(&rng, BOTIFY_RNG_TEST, 5, (uint64_t)user, (uint64_t)(track + 1), BOTIFY_STREAM_REC);
	void *worker;
	botify_err err = {0};
	ck_assert_int_eq(botify_rec_worker_init(r, &worker, &err), 0);
	char state[256] = {0};
	ck_assert_uint_le(r->state_size, sizeof(state));
	botify_rec_ctx ctx = { worker, state, &rng };
	botify_rec_call call = { user, track, 1.0 };
	memset(seen, 0, 12 * sizeof(int));
	for (int i = 0; i < n; i++) {
		int32_t out = -1;
		ck_assert_msg(botify_rec_next(r, &ctx, &call, &out, &err) == 0, "%s", err.msg);
		ck_assert(out >= 0 && out < 12);
		seen[out]++;
	}
	ck_assert_int_eq(botify_rec_last(r, &ctx, &call, &err), 0);
	botify_rec_worker_free(r, worker);
}

/* seen[] holds exactly the tracks of want (each picked at least once). */
static void expect_support(const int *seen, const int32_t *want, int n, const char *what)
{
	int in[12] = {0};
	for (int i = 0; i < n; i++)
		in[want[i]] = 1;
	for (int t = 0; t < 12; t++)
		ck_assert_msg(in[t] ? seen[t] > 0 : seen[t] == 0, "%s: track %d picked %d times", what,
			      t, seen[t]);
}

static const int32_t ALL[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };

START_TEST(rec_parse_spec)
{
	char name[64];
	botify_rec_args a;
	botify_err err = {0};
	ck_assert_int_eq(botify_rec_parse_spec("random", name, sizeof(name), &a, &err), 0);
	ck_assert_str_eq(name, "random");
	ck_assert_int_eq(a.n, 0);
	botify_rec_args_free(&a);

	ck_assert_int_eq(botify_rec_parse_spec("toppop:", name, sizeof(name), &a, &err), 0);
	ck_assert_str_eq(name, "toppop");
	ck_assert_int_eq(a.n, 0);
	botify_rec_args_free(&a);

	ck_assert_int_eq(botify_rec_parse_spec("toppop:k=5,file=top tracks.json", name, sizeof(name), &a,
					       &err), 0);
	ck_assert_str_eq(name, "toppop");
	ck_assert_int_eq(a.n, 2);
	ck_assert_str_eq(a.key[0], "k");
	ck_assert_str_eq(a.value[0], "5");
	ck_assert_str_eq(a.key[1], "file");
	ck_assert_str_eq(a.value[1], "top tracks.json");
	ck_assert_str_eq(botify_rec_arg(&a, "file"), "top tracks.json");
	ck_assert_ptr_null(botify_rec_arg(&a, "log"));
	botify_rec_args_free(&a);
	ck_assert_int_eq(a.n, 0);

	/* quoted values keep their commas (and the other quote) */
	ck_assert_int_eq(botify_rec_parse_spec("x:cmd='a b,c',k=3,q=\"it's, ok\",e=", name,
					       sizeof(name), &a, &err), 0);
	ck_assert_int_eq(a.n, 4);
	ck_assert_str_eq(botify_rec_arg(&a, "cmd"), "a b,c");
	ck_assert_str_eq(botify_rec_arg(&a, "k"), "3");
	ck_assert_str_eq(botify_rec_arg(&a, "q"), "it's, ok");
	ck_assert_str_eq(botify_rec_arg(&a, "e"), "");
	botify_rec_args_free(&a);
}
END_TEST

static void expect_parse_fail(const char *spec, const char *needle)
{
	char name[64];
	botify_rec_args a;
	botify_err err = {0};
	ck_assert_msg(botify_rec_parse_spec(spec, name, sizeof(name), &a, &err) == -1, "'%s' parsed",
		      spec);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	tu_assert_has(err.msg, needle);
	ck_assert_int_eq(a.n, 0);
	botify_rec_args_free(&a);
}

START_TEST(rec_parse_spec_errors)
{
	expect_parse_fail("", "has no name");
	expect_parse_fail(":k=1", "has no name");
	expect_parse_fail("toppop:k", "toppop: expected key=value in 'toppop:k', got 'k'");
	expect_parse_fail("toppop:k=1,file", "got 'file'");
	expect_parse_fail("toppop:=5", "expected key=value");
	expect_parse_fail("toppop:k=1,,file=x", "expected key=value");
	expect_parse_fail("toppop:k=1,k=2", "toppop: key 'k' given twice");
	expect_parse_fail("x:cmd='a,b", "x: unterminated quote");
	expect_parse_fail("x:cmd='a'b", "x: expected ',' after the quoted value");
	char longname[100];
	memset(longname, 'n', 80);
	longname[80] = 0;
	expect_parse_fail(longname, "too long");
	char many[512] = "x:";
	for (int i = 0; i <= BOTIFY_REC_MAX_ARGS; i++)
		tu_fmt(many + strlen(many), sizeof(many) - strlen(many), "%sk%d=%d", i ? "," : "", i, i);
	expect_parse_fail(many, "x: too many arguments");
}
END_TEST

START_TEST(rec_arg_helpers)
{
	char name[64];
	botify_rec_args a;
	botify_err err = {0};
	ck_assert_int_eq(botify_rec_parse_spec("r:k=12,bad=12x,big=99,t=0.25,nan=nan,e=", name,
					       sizeof(name), &a, &err), 0);
	int64_t v = -7;
	double d = -7;
	ck_assert_int_eq(botify_rec_arg_long(&a, "r", "k", 1, 50, &v, &err), 0);
	ck_assert_int_eq(v, 12);
	v = -7;
	ck_assert_int_eq(botify_rec_arg_long(&a, "r", "absent", 1, 50, &v, &err), 1);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(botify_rec_arg_long(&a, "r", "bad", 1, 50, &v, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_str_eq(err.msg, "r: bad=12x: expected an integer");
	ck_assert_int_eq(botify_rec_arg_long(&a, "r", "e", 1, 50, &v, &err), -1);
	ck_assert_str_eq(err.msg, "r: e=: expected an integer");
	ck_assert_int_eq(botify_rec_arg_long(&a, "r", "big", 1, 50, &v, &err), -1);
	ck_assert_str_eq(err.msg, "r: big=99: out of range (1 to 50)");
	ck_assert_int_eq(botify_rec_arg_double(&a, "r", "t", 0, 1, &d, &err), 0);
	ck_assert(d == 0.25);
	ck_assert_int_eq(botify_rec_arg_double(&a, "r", "nan", 0, 1, &d, &err), -1);
	ck_assert_str_eq(err.msg, "r: nan=nan: expected a number");
	ck_assert_int_eq(botify_rec_arg_double(&a, "r", "big", 0, 1, &d, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	tu_assert_has(err.msg, "r: big=99: out of range");
	ck_assert_int_eq(botify_rec_arg_double(&a, "r", "absent", 0, 1, &d, &err), 1);
	botify_rec_args_free(&a);
}
END_TEST

START_TEST(rec_registry_and_create_errors)
{
	/* every registered recommender is complete and named once */
	int n = 0;
	for (int i = 0; botify_recommenders[i]; i++, n++) {
		const botify_rec_ops *o = botify_recommenders[i];
		ck_assert(o->name && *o->name && o->summary && o->usage && o->keys);
		ck_assert(o->init && o->recommend);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(o->name, botify_recommenders[j]->name);
	}
	ck_assert_int_ge(n, 5);

	expect_create_fail("nope", BOTIFY_EINVAL, "unknown recommender 'nope' (known: random, toppop, ");
	expect_create_fail("nope:k=1", BOTIFY_EINVAL, "unknown recommender 'nope'");
	expect_create_fail("toppop:fiel=x", BOTIFY_EINVAL,
			   "toppop: unknown key 'fiel' (did you mean 'file'? known: file");
	expect_create_fail("toppop:zzz=x", BOTIFY_EINVAL, "toppop: unknown key 'zzz' (known: file");
	expect_create_fail("stiky_artist", BOTIFY_EINVAL,
			   "unknown recommender 'stiky_artist' (did you mean 'sticky_artist'? known: random, ");
	expect_create_fail("contextul:file=x", BOTIFY_EINVAL,
			   "unknown recommender 'contextul' (did you mean 'contextual'? known: ");
	expect_create_fail("random:k=1", BOTIFY_EINVAL, "random: unknown key 'k' (it takes no keys)");
	expect_create_fail("sticky_artist:x=1", BOTIFY_EINVAL, "sticky_artist: unknown key 'x'");
	expect_create_fail("indexed", BOTIFY_EINVAL, "indexed: needs file=");
	expect_create_fail("contextual", BOTIFY_EINVAL, "contextual: needs file=");
	expect_create_fail("toppop:k=0", BOTIFY_EINVAL, "toppop: k=0: out of range");
	expect_create_fail("toppop:k=ten", BOTIFY_EINVAL, "toppop: k=ten: expected an integer");
	expect_create_fail("toppop:file=a.json,log=b.json", BOTIFY_EINVAL, "not both");
	expect_create_fail("toppop:k", BOTIFY_EINVAL, "expected key=value");

	/* free is safe on a zeroed and on a freed recommender */
	botify_rec r = {0};
	botify_rec_free(&r);
	create(&r, "random");
	ck_assert_uint_eq(r.state_size, 0);
	botify_rec_free(&r);
	ck_assert_ptr_null(r.ops);
	botify_rec_free(&r);
}
END_TEST

/* Missing or bad files: the error names the recommender and the file. */
START_TEST(rec_file_errors)
{
	char p[4096], spec[4200];
	const char *kinds[] = { "toppop:file", "toppop:log", "indexed:file", "contextual:file" };
	for (int i = 0; i < 4; i++) {
		tu_fmt(spec, sizeof(spec), "%s=%s", kinds[i], tu_path(p, tu_tmp, "missing.json"));
		expect_create_fail(spec, BOTIFY_EIO, p);
		char rec[32];
		tu_fmt(rec, sizeof(rec), "%.*s: ", (int)strcspn(kinds[i], ":"), kinds[i]);
		expect_create_fail(spec, BOTIFY_EIO, rec);
	}
	/* content errors name file and line */
	tu_write(tu_path(p, tu_tmp, "recs.json"), "{\"user\": 0, \"tracks\": [1]}\n{\"user\": 1, \"tracks\": [12]}\n", 0);
	tu_fmt(spec, sizeof(spec), "indexed:file=%s", p);
	char want[4200];
	expect_create_fail(spec, BOTIFY_ERANGE, tu_fmt(want, sizeof(want), "indexed: %s:2: track 12 out of range (catalog has 12)", p));
	tu_write(tu_path(p, tu_tmp, "twr.json"), "{\"track\": 12, \"recommendations\": [1]}\n", 0);
	tu_fmt(spec, sizeof(spec), "contextual:file=%s", p);
	expect_create_fail(spec, BOTIFY_ERANGE, tu_fmt(want, sizeof(want), "contextual: %s:1: 'track'", p));
	tu_write(tu_path(p, tu_tmp, "top.json"), "[1, 2, 40]", 0);
	tu_fmt(spec, sizeof(spec), "toppop:file=%s", p);
	expect_create_fail(spec, BOTIFY_ERANGE, tu_fmt(want, sizeof(want), "toppop: %s: element 2: track 40 out of range", p));
	tu_write(tu_path(p, tu_tmp, "top2.json"), "{\"tracks\": [1]}", 0);
	tu_fmt(spec, sizeof(spec), "toppop:file=%s", p);
	expect_create_fail(spec, BOTIFY_EFORMAT, "expected a JSON array");
	tu_write(tu_path(p, tu_tmp, "top3.json"), "[]", 0);
	tu_fmt(spec, sizeof(spec), "toppop:file=%s", p);
	expect_create_fail(spec, BOTIFY_EINVAL, "toppop: the popularity list is empty");
	tu_write(tu_path(p, tu_tmp, "bad.log"),
		 "{\"message\": \"next\", \"timestamp\": 1, \"user\": 0, \"track\": 3, \"time\": 1.0, "
		 "\"latency\": 0, \"recommendation\": 1}\n"
		 "{\"message\": \"last\", \"timestamp\": 2, \"user\": 0, \"track\": 99, \"time\": 1.0, "
		 "\"latency\": 0}\n",
		 0);
	tu_fmt(spec, sizeof(spec), "toppop:log=%s", p);
	expect_create_fail(spec, BOTIFY_ERANGE, tu_fmt(want, sizeof(want), "toppop: %s:2: track 99 out of range", p));
	tu_write(tu_path(p, tu_tmp, "empty.log"), "", 0);
	tu_fmt(spec, sizeof(spec), "toppop:log=%s", p);
	expect_create_fail(spec, BOTIFY_EFORMAT, "the log has no plays to rank");
}
END_TEST

START_TEST(rec_random_policy)
{
	botify_rec r;
	int seen[12];
	create(&r, "random");
	collect(&r, 0, 3, 600, seen);
	expect_support(seen, ALL, 12, "random");
	for (int t = 0; t < 12; t++) /* roughly uniform: 50 expected each */
		ck_assert_msg(seen[t] > 20 && seen[t] < 90, "track %d: %d", t, seen[t]);
	botify_rec_free(&r);
}
END_TEST

START_TEST(rec_sticky_artist_policy)
{
	botify_rec r;
	int seen[12];
	create(&r, "sticky_artist");
	collect(&r, 0, 3, 300, seen);
	expect_support(seen, (const int32_t[]){ 0, 3, 7 }, 3, "artist A"); /* 3 itself too */
	collect(&r, 1, 10, 300, seen);
	expect_support(seen, (const int32_t[]){ 4, 5, 6, 8, 10, 11 }, 6, "artist C");
	collect(&r, 1, 9, 50, seen);
	expect_support(seen, (const int32_t[]){ 9 }, 1, "artist D");
	collect(&r, 2, 1, 100, seen);
	expect_support(seen, (const int32_t[]){ 1, 2 }, 2, "artist B");
	/* a track it does not know: anything */
	collect(&r, 2, -1, 600, seen);
	expect_support(seen, ALL, 12, "unknown track");
	collect(&r, 2, 12, 600, seen);
	expect_support(seen, ALL, 12, "unknown track");
	botify_rec_free(&r);
}
END_TEST

START_TEST(rec_indexed_policy)
{
	char p[4096], spec[4200];
	tu_write(tu_path(p, tu_tmp, "recommendations.json"),
		 "{\"user\": 0, \"tracks\": [4, 5]}\n{\"user\": 2, \"tracks\": [11]}\n", 0);
	tu_fmt(spec, sizeof(spec), "indexed:file=%s", p);
	botify_rec r;
	int seen[12];
	create(&r, spec);
	collect(&r, 0, 3, 100, seen);
	expect_support(seen, (const int32_t[]){ 4, 5 }, 2, "user 0");
	collect(&r, 2, 3, 100, seen);
	expect_support(seen, (const int32_t[]){ 11 }, 1, "user 2");
	/* the key is the user alone: another previous track changes nothing */
	collect(&r, 0, 11, 100, seen);
	expect_support(seen, (const int32_t[]){ 4, 5 }, 2, "user 0 after track 11");
	/* no list: fallback to any track */
	collect(&r, 1, 3, 600, seen);
	expect_support(seen, ALL, 12, "user 1");
	collect(&r, 77, 3, 600, seen);
	expect_support(seen, ALL, 12, "user 77");
	botify_rec_free(&r);
}
END_TEST

START_TEST(rec_contextual_policy)
{
	char p[4096], spec[4200];
	tu_write(tu_path(p, tu_tmp, "tracks_with_recs.json.gz"),
		 "{\"track\": 0, \"artist\": \"A\", \"title\": \"t0\", \"recommendations\": [1, 2]}\n"
		 "{\"track\": 5, \"artist\": \"C\", \"title\": \"t5\", \"recommendations\": []}\n"
		 "{\"track\": 7, \"artist\": \"A\", \"title\": \"t7\", \"recommendations\": [7]}\n",
		 1);
	tu_fmt(spec, sizeof(spec), "contextual:file=%s", p);
	botify_rec r;
	int seen[12];
	create(&r, spec);
	collect(&r, 0, 0, 100, seen);
	expect_support(seen, (const int32_t[]){ 1, 2 }, 2, "track 0");
	collect(&r, 1, 7, 20, seen);
	expect_support(seen, (const int32_t[]){ 7 }, 1, "track 7");
	/* the key is the previous track alone: another user changes nothing */
	collect(&r, 2, 0, 100, seen);
	expect_support(seen, (const int32_t[]){ 1, 2 }, 2, "track 0, user 2");
	collect(&r, 1, 5, 600, seen);
	expect_support(seen, ALL, 12, "track 5 (empty list)");
	collect(&r, 1, 11, 600, seen);
	expect_support(seen, ALL, 12, "track 11 (no line)");
	botify_rec_free(&r);
}
END_TEST

START_TEST(rec_toppop_file_and_world)
{
	char p[4096], spec[4200];
	botify_rec r;
	int seen[12];
	tu_write(tu_path(p, tu_tmp, "top.json"), "[9, 8, 7, 6, 5]", 0);
	tu_fmt(spec, sizeof(spec), "toppop:file=%s,k=3", p);
	create(&r, spec);
	collect(&r, 0, 0, 200, seen);
	expect_support(seen, (const int32_t[]){ 9, 8, 7 }, 3, "file, k=3");
	botify_rec_free(&r);
	tu_fmt(spec, sizeof(spec), "toppop:file=%s", p); /* k=100 > list */
	create(&r, spec);
	collect(&r, 0, 0, 300, seen);
	expect_support(seen, (const int32_t[]){ 9, 8, 7, 6, 5 }, 5, "file, default k");
	botify_rec_free(&r);

	/* the world's own top_tracks.json: [5, 3, 9, 0, 11] */
	create(&r, "toppop:k=2");
	collect(&r, 0, 0, 100, seen);
	expect_support(seen, (const int32_t[]){ 5, 3 }, 2, "world, k=2");
	botify_rec_free(&r);
	create(&r, "toppop");
	collect(&r, 0, 0, 300, seen);
	expect_support(seen, (const int32_t[]){ 5, 3, 9, 0, 11 }, 5, "world");
	botify_rec_free(&r);

	/* a world without one needs file= or log= */
	char dir[4096];
	tu_fmt(dir, sizeof(dir), "%s/notop", tu_tmp);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	rt_write_world(dir);
	char top[4096];
	ck_assert_int_eq(unlink(tu_path(top, dir, "top_tracks.json")), 0);
	botify_world w2 = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_world_load(&w2, dir, &err), 0);
	botify_rec_env env = { .world = &w2, .max_steps = 1000 };
	ck_assert_int_eq(botify_rec_create(&r, "toppop", &env, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	tu_assert_has(err.msg, "has no top_tracks.json; give file= or log=");
	tu_assert_has(err.msg, dir);
	botify_world_free(&w2);
}
END_TEST

/* Popularity from a log: total listen time, then plays, then id. */
START_TEST(rec_toppop_log_ranking)
{
	struct { int track; double time; } rows[] = {
		{ 1, 1.0 }, { 1, 1.0 },              /* 2.0 */
		{ 6, 0.5 }, { 6, 0.25 }, { 6, 0.25 }, /* 1.0, 3 plays */
		{ 3, 0.5 }, { 3, 0.5 },              /* 1.0, 2 plays, id 3 */
		{ 2, 0.25 }, { 2, 0.75 },            /* 1.0, 2 plays, id 2 */
		{ 4, 1.0 },                          /* 1.0, 1 play */
		{ 9, 0.0 },                          /* 0.0, 1 play */
	};
	const int32_t order[] = { 1, 6, 2, 3, 4, 9 };
	char text[4096] = "", line[256], p[4096], spec[4200];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		tu_fmt(line, sizeof(line),
		       "{\"message\": \"%s\", \"timestamp\": %zu, \"user\": 0, \"track\": %d, "
		       "\"time\": %g, \"latency\": 0%s}\n",
		       i % 2 ? "last" : "next", i, rows[i].track, rows[i].time,
		       i % 2 ? "" : ", \"recommendation\": 0");
		strcat(text, line);
	}
	tu_write(tu_path(p, tu_tmp, "data.json.gz"), text, 1);
	for (int k = 1; k <= 7; k++) {
		tu_fmt(spec, sizeof(spec), "toppop:log=%s,k=%d", p, k);
		botify_rec r;
		int seen[12];
		create(&r, spec);
		collect(&r, 0, 0, 400, seen);
		int n = k < 6 ? k : 6; /* unplayed tracks never rank */
		expect_support(seen, order, n, spec);
		botify_rec_free(&r);
	}
}
END_TEST

/* A fake recommender answering from a script, to test the checked calls. */
static int fake_out;
static int fake_fail;
static int fake_recommend(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
			  int32_t *out, botify_err *err)
{
	(void)r, (void)ctx, (void)c;
	if (fake_fail)
		return botify_fail(err, BOTIFY_ERUNTIME, "the model is on fire");
	*out = fake_out;
	return 0;
}

static int fake_end(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    botify_err *err)
{
	(void)r, (void)ctx, (void)c;
	return fake_fail ? botify_fail(err, BOTIFY_ERUNTIME, "cannot drop state") : 0;
}

static const botify_rec_ops fake_ops = {
	.name = "fake", .summary = "", .keys = "", .usage = "fake",
	.recommend = fake_recommend, .end_session = fake_end,
};

START_TEST(rec_next_rejects_bad_ids)
{
	botify_rec r = { .ops = &fake_ops, .world = &W, .spec = "fake:mode=x" };
	botify_rng rng;
	botify_rng_init(&rng, BOTIFY_RNG_TEST, 1, 0, 0, 0);
	botify_rec_ctx ctx = { NULL, NULL, &rng };
	botify_rec_call call = { 7, 3, 0.5 };
	botify_err err = {0};
	int32_t out = 99;
	const int bad[] = { 12, -1, 1 << 30, INT32_MIN };
	for (int i = 0; i < 4; i++) {
		fake_out = bad[i];
		ck_assert_int_eq(botify_rec_next(&r, &ctx, &call, &out, &err), -1);
		ck_assert_int_eq(err.code, BOTIFY_ERUNTIME);
		char want[256];
		tu_fmt(want, sizeof(want),
		       "recommender 'fake:mode=x' returned track %d for user 7 (catalog has 12 tracks)",
		       bad[i]);
		ck_assert_str_eq(err.msg, want);
		ck_assert_int_eq(out, 99); /* untouched */
	}
	fake_out = 11;
	ck_assert_int_eq(botify_rec_next(&r, &ctx, &call, &out, &err), 0);
	ck_assert_int_eq(out, 11);
	fake_out = 0;
	ck_assert_int_eq(botify_rec_next(&r, &ctx, &call, &out, &err), 0);
	ck_assert_int_eq(out, 0);
	ck_assert_int_eq(botify_rec_last(&r, &ctx, &call, &err), 0);

	/* the recommender's own failures get its name in front */
	fake_fail = 1;
	ck_assert_int_eq(botify_rec_next(&r, &ctx, &call, &out, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERUNTIME);
	ck_assert_str_eq(err.msg, "recommender 'fake:mode=x': the model is on fire");
	ck_assert_int_eq(botify_rec_last(&r, &ctx, &call, &err), -1);
	ck_assert_str_eq(err.msg, "recommender 'fake:mode=x': cannot drop state");
	fake_fail = 0;

	/* without worker hooks: a NULL worker; without end_session: last is fine */
	void *worker = &r;
	ck_assert_int_eq(botify_rec_worker_init(&r, &worker, &err), 0);
	ck_assert_ptr_null(worker);
	botify_rec_worker_free(&r, worker);
	botify_rec_ops no_end = fake_ops;
	no_end.end_session = NULL;
	r.ops = &no_end;
	ck_assert_int_eq(botify_rec_last(&r, &ctx, &call, &err), 0);
}
END_TEST

START_TEST(rec_pick_fallback)
{
	botify_rng rng;
	botify_rng_init(&rng, BOTIFY_RNG_TEST, 3, 0, 0, 0);
	const int32_t list[3] = { 40, 41, 42 };
	int hits[3] = {0}, out_of_list = 0;
	for (int i = 0; i < 300; i++) {
		int32_t t = botify_rec_pick(list, 3, &rng, 100);
		if (t >= 40 && t <= 42)
			hits[t - 40]++;
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_gt(hits[i], 50);
	ck_assert_int_eq(hits[0] + hits[1] + hits[2], 300);
	for (int i = 0; i < 300; i++) {
		int32_t t = botify_rec_pick(NULL, 0, &rng, 100);
		ck_assert(t >= 0 && t < 100);
		out_of_list += t < 40 || t > 42;
	}
	ck_assert_int_gt(out_of_list, 250);
}
END_TEST

Suite *rec_suite(void)
{
	Suite *s = suite_create("rec");
	TCase *tc = tcase_create("spec");
	tcase_add_test(tc, rec_parse_spec);
	tcase_add_test(tc, rec_parse_spec_errors);
	tcase_add_test(tc, rec_arg_helpers);
	tcase_add_test(tc, rec_pick_fallback);
	suite_add_tcase(s, tc);
	tc = tcase_create("recommenders");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rec_registry_and_create_errors);
	tcase_add_test(tc, rec_file_errors);
	tcase_add_test(tc, rec_random_policy);
	tcase_add_test(tc, rec_sticky_artist_policy);
	tcase_add_test(tc, rec_indexed_policy);
	tcase_add_test(tc, rec_contextual_policy);
	tcase_add_test(tc, rec_toppop_file_and_world);
	tcase_add_test(tc, rec_toppop_log_ranking);
	tcase_add_test(tc, rec_next_rejects_bad_ids);
	suite_add_tcase(s, tc);
	return s;
}
