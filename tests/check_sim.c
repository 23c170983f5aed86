/* check_sim.c - the user simulator's exact semantics on hand-made worlds
 * (embeddings written by hand so inner products are known): listen times
 * against hand values and against numpy (tests/data/sim/listen_time.txt,
 * made by tests/data/sim/gen_listen_time.py), the first track, repeats,
 * artist discount, budget and cap, emitted rows, per-user parameters, and
 * a recommender returning a bad id. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gentest.h"
#include "sim.h"
#include "testutil.h"
#include "topk.h"

#define LISTEN_FIXTURE DATA_DIR "/sim/listen_time.txt"

/* A user of a hand-made world; NAN / 0 fields take the simcfg defaults. */
typedef struct uspec {
	int32_t in[4];
	int n_in;
	double bias, sharp, gamma;
	int32_t nb, budget;
} uspec;

static void build_world(botify_world *w, int32_t N, int32_t D, const float *E,
			const int32_t *artist, int U, const uspec *us)
{
	botify_err err = {0};
	memset(w, 0, sizeof(*w));
	w->N = N;
	w->D = D;
	w->E = malloc(sizeof(float) * (size_t)N * (size_t)D);
	memcpy(w->E, E, sizeof(float) * (size_t)N * (size_t)D);
	w->artist = malloc(sizeof(int32_t) * (size_t)N);
	for (int32_t t = 0; t < N; t++) {
		w->artist[t] = artist ? artist[t] : t;
		if (w->artist[t] >= w->A)
			w->A = w->artist[t] + 1;
	}
	ck_assert_int_eq(botify_world_index_artists(w, &err), 0);
	w->U = U;
	w->users = calloc((size_t)U, sizeof(botify_user));
	w->interests = malloc(sizeof(int32_t) * 4 * (size_t)U);
	for (int u = 0; u < U; u++) {
		botify_user *p = &w->users[u];
		p->first_interest = w->n_interests;
		p->n_interests = us[u].n_in;
		for (int i = 0; i < us[u].n_in; i++)
			w->interests[w->n_interests++] = us[u].in[i];
		p->consume_bias = us[u].bias;
		p->consume_sharpness = us[u].sharp;
		p->artist_discount_gamma = us[u].gamma;
		p->interest_neighbours = us[u].nb;
		p->session_budget = us[u].budget;
	}
	tu_fmt(w->source, sizeof(w->source), "hand-made world");
}

/* Fake recommenders. "repeat" returns the previous track, "next" the one
 * after it, "bad" an id past the catalog, "script" the session's i-th entry
 * of a list (its call counter lives in the per-session state, which the
 * simulator must zero at each session start). */
static int32_t script[16];
static int n_script;
static int end_calls;

static int rec_repeat(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		      int32_t *out, botify_err *err)
{
	(void)r, (void)ctx, (void)err;
	*out = c->track;
	return 0;
}

static int rec_next(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    int32_t *out, botify_err *err)
{
	(void)ctx, (void)err;
	*out = (c->track + 1) % r->world->N;
	return 0;
}

static int rec_bad(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		   int32_t *out, botify_err *err)
{
	(void)ctx, (void)c, (void)err;
	*out = r->world->N;
	return 0;
}

static int rec_script(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		      int32_t *out, botify_err *err)
{
	(void)r, (void)c, (void)err;
	int *calls = ctx->state;
	*out = script[*calls < n_script ? *calls : n_script - 1];
	++*calls;
	return 0;
}

static int rec_end(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		   botify_err *err)
{
	(void)r, (void)ctx, (void)c, (void)err;
	end_calls++;
	return 0;
}

static const botify_rec_ops ops_repeat = { .name = "repeat", .keys = "", .recommend = rec_repeat,
					   .end_session = rec_end };
static const botify_rec_ops ops_next = { .name = "next", .keys = "", .recommend = rec_next };
static const botify_rec_ops ops_bad = { .name = "bad", .keys = "", .recommend = rec_bad };
static const botify_rec_ops ops_script = { .name = "script", .keys = "", .recommend = rec_script };

/* "draw": a uniform track from the recommender's own stream */
static int rec_draw(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    int32_t *out, botify_err *err)
{
	(void)c, (void)err;
	*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
	return 0;
}

static const botify_rec_ops ops_draw = { .name = "draw", .keys = "", .recommend = rec_draw };

static botify_rec fake(const botify_rec_ops *ops, const botify_world *w, const char *spec)
{
	return (botify_rec){ .ops = ops, .world = w, .spec = (char *)spec,
			     .state_size = ops == &ops_script ? sizeof(int) : 0 };
}

/* A simulator over w with one arm (or an experiment) and its worker. */
typedef struct harness {
	botify_sim s;
	botify_sim_worker wk;
	botify_rec *recs[BOTIFY_MAX_ARMS];
	botify_event_buf rows;
} harness;

static void start(harness *h, const botify_world *w, const botify_simcfg *cfg, uint64_t seed,
		  int64_t episodes, const botify_experiment *exp, botify_rec *const *recs)
{
	botify_err err = {0};
	botify_simcfg def;
	botify_simcfg_defaults(&def);
	memset(h, 0, sizeof(*h));
	ck_assert_msg(botify_sim_init(&h->s, w, cfg ? cfg : &def, seed, 0, exp, &err) == 0, "%s",
		      err.msg);
	ck_assert_msg(botify_sim_prepare(&h->s, episodes, 2, &err) == 0, "%s", err.msg);
	for (int a = 0; a < h->s.n_arms; a++)
		h->recs[a] = recs[a];
	ck_assert_msg(botify_sim_worker_init(&h->wk, &h->s, h->recs, &err) == 0, "%s", err.msg);
}

static void stop(harness *h)
{
	botify_sim_worker_free(&h->wk);
	botify_sim_free(&h->s);
	free(h->rows.ev);
	memset(h, 0, sizeof(*h));
}

/* Runs episode i into fresh rows. */
static botify_episode episode(harness *h, int64_t i)
{
	botify_episode ep;
	botify_err err = {0};
	h->rows.n = 0;
	ck_assert_msg(botify_sim_episode(&h->s, &h->wk, i, -1, &h->rows, 0, &ep, &err) == 0, "%s",
		      err.msg);
	return ep;
}

static botify_sim_user suser(double bias, double sharp, double gamma)
{
	return (botify_sim_user){ .bias = bias, .sharpness = sharp, .gamma = gamma };
}

START_TEST(sim_listen_time_by_hand)
{
	botify_sim_user u = suser(0, 1, 0.5);
	/* sigmoid(0) = 0.5 */
	ck_assert(botify_sim_listen_time(&u, 0.0f, 0) == 0.5);
	ck_assert(botify_sim_listen_time(&u, 0.0f, 1) == 0.25);
	/* exact halves at the second decimal round half to even on x * 100 */
	ck_assert(botify_sim_listen_time(&u, 0.0f, 2) == 0.12);  /* 12.5 -> 12 */
	ck_assert(botify_sim_listen_time(&u, 0.0f, 3) == 0.06);  /* 6.25 -> 6 */
	u.gamma = 0.75;
	ck_assert(botify_sim_listen_time(&u, 0.0f, 1) == 0.38);  /* 37.5 -> 38 */
	u.gamma = 1.25;
	ck_assert(botify_sim_listen_time(&u, 0.0f, 1) == 0.62);  /* 62.5 -> 62 */
	/* sigmoid(0.5) = 0.6224593; times 0.5, 0.25, 0.0625 */
	u.gamma = 0.5;
	ck_assert(botify_sim_listen_time(&u, 0.5f, 0) == 0.62);
	ck_assert(botify_sim_listen_time(&u, 0.5f, 1) == 0.31);
	ck_assert(botify_sim_listen_time(&u, 0.5f, 2) == 0.16);
	ck_assert(botify_sim_listen_time(&u, 0.5f, 4) == 0.04);
	/* bias and sharpness: sigmoid((7 - 5) * 1.5) = sigmoid(3) = 0.9525741 */
	u = suser(5, 1.5, 0.8);
	ck_assert(botify_sim_listen_time(&u, 7.0f, 0) == 0.95);
	ck_assert(botify_sim_listen_time(&u, 7.0f, 1) == 0.76);  /* 0.7620593 */
	ck_assert(botify_sim_listen_time(&u, 3.0f, 0) == 0.05);  /* sigmoid(-3) = 0.0474259 */
	/* saturation, and gamma 0 */
	ck_assert(botify_sim_listen_time(&u, 1e4f, 0) == 1.0);
	ck_assert(botify_sim_listen_time(&u, -1e4f, 0) == 0.0);
	u.gamma = 0;
	ck_assert(botify_sim_listen_time(&u, 7.0f, 0) == 0.95);  /* 0^0 = 1 */
	ck_assert(botify_sim_listen_time(&u, 7.0f, 1) == 0.0);
}
END_TEST

/* The listen time bit for bit as the formula's plain C spelling gives it
 * (pow for every count, nearbyint for the rounding): random scores and
 * users, exact halves, gammas of either sign (-0.0 results), saturation. */
START_TEST(sim_listen_time_same_bits_as_formula)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 5, 0, 0, 0);
	const double gammas[] = { 0.8, 0.5, 1.0, 0.0, -0.5, -1.0, 1.25 };
	int n = 0;
	for (int i = 0; i < 20000; i++) {
		botify_sim_user u = suser((botify_rng_uniform(&r) - 0.5) * 4, botify_rng_uniform(&r) * 6 - 1,
					  gammas[i % 7]);
		float score = (float)((botify_rng_uniform(&r) - 0.5) * (i % 3 ? 8 : 2000));
		if (i % 11 == 0)
			score = 0.0f, u.bias = 0, u.sharpness = 1; /* 0.5 * gamma^k: exact halves */
		int k = (int)botify_rng_below(&r, 6);
		double raw = 1.0 / (1.0 + exp(-(((double)score - u.bias) * u.sharpness)));
		double want = nearbyint(raw * pow(u.gamma, k) * 100.0) / 100.0;
		double got = botify_sim_listen_time(&u, score, k);
		ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0, "score %a bias %a sharpness %a gamma %g k %d: %a, want %a",
			      (double)score, u.bias, u.sharpness, u.gamma, k, got, want);
		n += signbit(want) != 0;
	}
	ck_assert_int_gt(n, 0); /* some -0.0 among them */
}
END_TEST

/* ~200 random cases and the edge cases above, as numpy computes them. */
START_TEST(sim_listen_time_matches_numpy)
{
	FILE *fp = fopen(LISTEN_FIXTURE, "r");
	ck_assert_msg(fp != NULL, "missing %s", LISTEN_FIXTURE);
	char line[512];
	int n = 0, bad = 0;
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *end;
		double f[4];
		for (int i = 0; i < 4; i++) {
			f[i] = strtod(p, &end);
			ck_assert_msg(end != p, "bad fixture line %d", n + 1);
			p = end;
		}
		long k = strtol(p, &end, 10);
		p = end;
		double want = strtod(p, &end);
		ck_assert_msg(end != p, "bad fixture line %d", n + 1);
		botify_sim_user u = suser(f[1], f[2], f[3]);
		double got = botify_sim_listen_time(&u, (float)f[0], (int)k);
		if (got != want) {
			fprintf(stderr, "%s line %d: got %.17g, numpy %.17g\n", LISTEN_FIXTURE, n + 1,
				got, want);
			bad++;
		}
		n++;
	}
	fclose(fp);
	ck_assert_int_eq(n, 239);
	ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(sim_dot_products)
{
	/* small integers: exact, whatever the summation order */
	float a[37], b[37];
	for (int i = 0; i < 37; i++) {
		a[i] = (float)(i % 7 - 3);
		b[i] = (float)(i % 5 - 2);
	}
	for (int D = 0; D <= 37; D++) {
		double want = 0;
		for (int i = 0; i < D; i++)
			want += (double)a[i] * b[i];
		ck_assert_msg(botify_sim_dot(a, b, D) == (float)want, "D=%d", D);
	}
	/* real values: close to the double-precision sum */
	for (int i = 0; i < 37; i++) {
		a[i] = sinf((float)i);
		b[i] = cosf((float)i * 0.3f);
	}
	double want = 0;
	for (int i = 0; i < 37; i++)
		want += (double)a[i] * b[i];
	ck_assert_double_lt(fabs(botify_sim_dot(a, b, 37) - want), 1e-5);
}
END_TEST

/* The vector dot against the portable one, bit for bit: every length up to
 * four blocks and the world's 100, rows at every alignment, values of
 * mixed magnitude, and zeros of both signs. */
START_TEST(sim_dot_vector_same_bits)
{
	enum { MAXD = 104 };
	float buf_a[MAXD + 8], buf_b[MAXD + 8];
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_TEST, 17, 0, 0, 0);
	int checked = 0;
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < MAXD + 8; i++) {
			double u = botify_rng_uniform(&r);
			float x = (float)((botify_rng_uniform(&r) - 0.5) * pow(10.0, (double)(int)(u * 8) - 4));
			buf_a[i] = round % 4 == 3 ? -0.0f : x;
			buf_b[i] = (float)(botify_rng_uniform(&r) - 0.5);
		}
		if (round % 4 == 2) /* positive times negative zeros: every product -0.0 */
			for (int i = 0; i < MAXD + 8; i++)
				buf_a[i] = 0.0f, buf_b[i] = -fabsf(buf_b[i]);
		int off = round % 8;
		for (int D = 0; D <= MAXD; D++) {
			if (D > 3 * 8 + 7 && D != 99 && D != 100 && D != 101 && D != MAXD)
				continue;
			float v = botify_sim_dot(buf_a + off, buf_b + off, D);
			float p = botify_sim_dot_portable(buf_a + off, buf_b + off, D);
			uint32_t bv, bp;
			memcpy(&bv, &v, 4);
			memcpy(&bp, &p, 4);
			ck_assert_msg(bv == bp, "D=%d round %d: %a vs portable %a", D, round, (double)v, (double)p);
			checked++;
		}
	}
	ck_assert_int_gt(checked, 1000);
}
END_TEST

/* Twenty tracks on a line: with s = E[4] = (1, 0) the inner products are the
 * x coordinates, so the three largest are tracks 7, 13 and 2 (not the
 * interest itself, whose x is 1). */
static const float X20[20] = { 0.5f, -1, 3, 0, 1, 2.5f, -2, 5, 0.25f, 2, -3, 1.5f, 0, 4, 2.75f,
			       -0.5f, 0.75f, 2.9f, -4, 1.25f };

static void world20(botify_world *w, int32_t nb, int n_users)
{
	float E[40];
	for (int t = 0; t < 20; t++) {
		E[2 * t] = X20[t];
		E[2 * t + 1] = (float)(t % 3) - 1; /* orthogonal to s */
	}
	E[2 * 4 + 1] = 0;
	uspec us[2] = { { { 4 }, 1, NAN, NAN, NAN, nb, 0 }, { { 4 }, 1, NAN, NAN, NAN, nb, 0 } };
	build_world(w, 20, 2, E, NULL, n_users, us);
}

START_TEST(sim_first_track_among_interest_neighbours)
{
	const struct { int32_t nb; int32_t want[20]; int n; } c[] = {
		{ 3, { 7, 13, 2 }, 3 },
		{ 1, { 7 }, 1 },
		{ 6, { 7, 13, 2, 17, 14, 5 }, 6 },
		{ 25, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 }, 20 },
	};
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		botify_world w;
		world20(&w, c[k].nb, 1);
		botify_rec rep = fake(&ops_repeat, &w, "repeat");
		botify_rec *recs[1] = { &rep };
		harness h;
		start(&h, &w, NULL, 42, 2000, NULL, recs);
		ck_assert_int_eq(h.s.users[0].neighbours, c[k].nb < 20 ? c[k].nb : 20);
		int count[20] = {0};
		for (int64_t i = 0; i < 2000; i++) {
			episode(&h, i);
			count[h.rows.ev[0].track]++;
		}
		int in[20] = {0};
		for (int i = 0; i < c[k].n; i++)
			in[c[k].want[i]] = 1;
		for (int t = 0; t < 20; t++) {
			/* uniform: 2000 / n each, give or take */
			double expect = 2000.0 / c[k].n;
			ck_assert_msg(in[t] ? fabs(count[t] - expect) < 5 * sqrt(expect) + 1 : count[t] == 0,
				      "neighbours %d: track %d first %d times", c[k].nb, t, count[t]);
		}
		stop(&h);
		botify_world_free(&w);
	}
}
END_TEST

/* Always repeating: every step is a 0.0 that costs budget, so a session is
 * exactly session_budget steps. */
START_TEST(sim_repeats_cost_budget)
{
	botify_world w;
	float E[40];
	for (int i = 0; i < 40; i++)
		E[i] = (float)(i % 4);
	uspec us[3] = {
		{ { 1, 2 }, 2, NAN, NAN, NAN, 0, 0 }, /* cfg budget */
		{ { 3 }, 1, NAN, NAN, NAN, 0, 3 },
		{ { 5, 6, 7 }, 3, NAN, NAN, NAN, 2, 11 },
	};
	build_world(&w, 20, 2, E, NULL, 3, us);
	botify_rec rep = fake(&ops_repeat, &w, "repeat");
	botify_rec *recs[1] = { &rep };
	for (int pass = 0; pass < 2; pass++) {
		botify_simcfg cfg;
		botify_simcfg_defaults(&cfg);
		if (pass)
			cfg.session_budget = 2;
		harness h;
		start(&h, &w, &cfg, 7, 300, NULL, recs);
		int seen_user[3] = {0};
		end_calls = 0;
		for (int64_t i = 0; i < 300; i++) {
			botify_episode ep = episode(&h, i);
			int32_t budget = ep.user == 0 ? (pass ? 2 : 5) : ep.user == 1 ? 3 : 11;
			seen_user[ep.user]++;
			ck_assert_int_eq(ep.steps, budget);
			ck_assert_int_eq(ep.capped, 0);
			ck_assert(ep.time == 1.0);
			ck_assert_uint_eq(h.rows.n, (size_t)budget + 1);
			int32_t first = h.rows.ev[0].track;
			for (size_t r = 0; r < h.rows.n; r++) {
				const botify_event *e = &h.rows.ev[r];
				ck_assert_int_eq(e->message, r + 1 < h.rows.n ? BOTIFY_MSG_NEXT : BOTIFY_MSG_LAST);
				ck_assert_int_eq(e->track, first);
				ck_assert(e->time == (r == 0 ? 1.0 : 0.0));
				ck_assert_int_eq(e->recommendation, r + 1 < h.rows.n ? first : -1);
				ck_assert_int_eq(e->user, ep.user);
			}
		}
		ck_assert_int_eq(end_calls, 300); /* one "last" call per session */
		for (int u = 0; u < 3; u++)
			ck_assert_int_gt(seen_user[u], 50);
		stop(&h);
	}
	botify_world_free(&w);
}
END_TEST

/* Artist discount: k counts every earlier play of the artist in the
 * session, the first track and repeats included (the original counts its
 * playback list). Tracks 0, 1, 2, 4 are artist 0, track 3 artist 1; with
 * s = E[0] = 1 the scores are 1 and 0.5. */
START_TEST(sim_artist_discount_counts_first_track)
{
	botify_world w;
	const float E[5] = { 1, 0.5f, 0.5f, 0.5f, 0.5f };
	const int32_t artist[5] = { 0, 0, 0, 1, 0 };
	uspec us[1] = { { { 0 }, 1, 0.0, 1.0, 0.5, 1, 1000 } };
	build_world(&w, 5, 1, E, artist, 1, us);
	botify_rec scr = fake(&ops_script, &w, "script");
	botify_rec *recs[1] = { &scr };
	const int32_t seq[5] = { 1, 2, 3, 2, 4 };
	memcpy(script, seq, sizeof(seq));
	n_script = 5;
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	cfg.max_steps = 5;
	harness h;
	start(&h, &w, &cfg, 1, 3, NULL, recs);
	for (int64_t i = 0; i < 3; i++) { /* the script restarts each session */
		botify_episode ep = episode(&h, i);
		ck_assert_int_eq(ep.steps, 5);
		ck_assert_int_eq(ep.capped, 1);
		const struct { int msg; int32_t track; double time; int32_t rec; } want[6] = {
			{ BOTIFY_MSG_NEXT, 0, 1.0, 1 },
			{ BOTIFY_MSG_NEXT, 1, 0.31, 2 },  /* sigmoid(0.5) * 0.5^1 */
			{ BOTIFY_MSG_NEXT, 2, 0.16, 3 },  /* * 0.5^2 */
			{ BOTIFY_MSG_NEXT, 3, 0.62, 2 },  /* another artist */
			{ BOTIFY_MSG_NEXT, 2, 0.0, 4 },   /* a repeat */
			{ BOTIFY_MSG_LAST, 4, 0.04, -1 }, /* * 0.5^4: 0, 1, 2 and 2 again */
		};
		ck_assert_uint_eq(h.rows.n, 6);
		for (int r = 0; r < 6; r++) {
			const botify_event *e = &h.rows.ev[r];
			ck_assert_int_eq(e->message, want[r].msg);
			ck_assert_int_eq(e->track, want[r].track);
			ck_assert_msg(e->time == want[r].time, "row %d: time %g, want %g", r, e->time,
				      want[r].time);
			ck_assert_int_eq(e->recommendation, want[r].rec);
			ck_assert_int_eq(e->user, 0);
			ck_assert_int_eq(e->arm, -1);
			ck_assert_int_eq(e->timestamp, 0);
			ck_assert(e->latency == 0);
		}
		ck_assert(ep.time == ((((1.0 + 0.31) + 0.16) + 0.62) + 0.0) + 0.04);
	}
	stop(&h);
	botify_world_free(&w);
}
END_TEST

/* Everything liked with time 1.0: the budget never drops, the cap ends the
 * session after exactly max_steps calls, and the last row is still there. */
START_TEST(sim_max_steps_caps_sessions)
{
	botify_world w;
	float E[64];
	for (int i = 0; i < 64; i++)
		E[i] = 10;
	uspec us[1] = { { { 0 }, 1, 0.0, 1.0, 1.0, 1, 0 } };
	build_world(&w, 64, 1, E, NULL, 1, us);
	botify_rec nx = fake(&ops_next, &w, "next");
	botify_rec *recs[1] = { &nx };
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	cfg.max_steps = 50;
	harness h;
	start(&h, &w, &cfg, 3, 20, NULL, recs);
	for (int64_t i = 0; i < 20; i++) {
		botify_episode ep = episode(&h, i);
		ck_assert_int_eq(ep.steps, 50);
		ck_assert_int_eq(ep.capped, 1);
		ck_assert(ep.time == 51.0);
		ck_assert_uint_eq(h.rows.n, 51);
		ck_assert_int_eq(h.rows.ev[0].track, 0); /* all tie: the lowest id */
		for (int r = 0; r < 50; r++) {
			ck_assert_int_eq(h.rows.ev[r].message, BOTIFY_MSG_NEXT);
			ck_assert_int_eq(h.rows.ev[r].track, r);
			ck_assert_int_eq(h.rows.ev[r].recommendation, r + 1);
			ck_assert(h.rows.ev[r].time == 1.0);
		}
		ck_assert_int_eq(h.rows.ev[50].message, BOTIFY_MSG_LAST);
		ck_assert_int_eq(h.rows.ev[50].track, 50);
		ck_assert(h.rows.ev[50].time == 1.0);
	}
	stop(&h);
	/* cap 1: one call */
	cfg.max_steps = 1;
	start(&h, &w, &cfg, 3, 1, NULL, recs);
	botify_episode ep = episode(&h, 0);
	ck_assert_int_eq(ep.steps, 1);
	ck_assert_int_eq(ep.capped, 1);
	ck_assert_uint_eq(h.rows.n, 2);
	stop(&h);
	botify_world_free(&w);
}
END_TEST

/* A time of 0.5 on every step drops the budget with probability 0.5: the
 * mean session has 2 * budget steps. */
START_TEST(sim_budget_drops_with_probability_one_minus_time)
{
	botify_world w;
	float E[200];
	for (int i = 0; i < 200; i++)
		E[i] = 1;
	uspec us[1] = { { { 0 }, 1, 1.0, 1.0, 1.0, 1, 5 } }; /* score 1 = bias: 0.5 */
	build_world(&w, 200, 1, E, NULL, 1, us);
	botify_rec nx = fake(&ops_next, &w, "next");
	botify_rec *recs[1] = { &nx };
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	cfg.max_steps = 150;
	harness h;
	start(&h, &w, &cfg, 11, 4000, NULL, recs);
	double sum = 0;
	for (int64_t i = 0; i < 4000; i++) {
		botify_episode ep = episode(&h, i);
		ck_assert_int_ge(ep.steps, 5);
		ck_assert_int_eq(ep.capped, 0);
		ck_assert(h.rows.ev[1].time == 0.5);
		sum += (double)ep.steps;
	}
	/* negative binomial: mean 10, variance 10; 4000 sessions: sd 0.05 */
	ck_assert_double_lt(fabs(sum / 4000 - 10), 0.3);
	stop(&h);
	botify_world_free(&w);
}
END_TEST

/* On a generated world with a real recommender: rows chain up, times follow
 * the formula, and the first track is a neighbour of one of the interests. */
START_TEST(sim_rows_are_consistent)
{
	botify_world w;
	gt_small_world(&w, 5, 1, 0);
	botify_err err = {0};
	botify_rec_env env = { .world = &w, .max_steps = 1000 };
	botify_rec sticky;
	ck_assert_int_eq(botify_rec_create(&sticky, "sticky_artist", &env, &err), 0);
	botify_rec *recs[1] = { &sticky };
	harness h;
	start(&h, &w, NULL, 5, 500, NULL, recs);
	int32_t *nb = malloc(sizeof(int32_t) * 10);
	long steps = 0;
	for (int64_t i = 0; i < 500; i++) {
		botify_episode ep = episode(&h, i);
		const botify_sim_user *u = &h.s.users[ep.user];
		ck_assert_uint_eq(h.rows.n, (size_t)ep.steps + 1);
		steps += ep.steps;
		/* the first track is among the 10 nearest of an interest */
		const botify_user *bu = &w.users[ep.user];
		int found = 0;
		for (int k = 0; k < bu->n_interests; k++) {
			int32_t in = w.interests[bu->first_interest + k];
			ck_assert_int_eq(botify_topk_inner(botify_world_embedding(&w, in), 1, w.E, w.N,
							   w.D, 10, 1, nb, NULL, &err), 0);
			for (int j = 0; j < 10; j++)
				found |= nb[j] == h.rows.ev[0].track;
		}
		ck_assert(found);
		/* replay the session: repeats are 0.0, other times follow the
		 * formula for s = one of the user's interests (the same one on
		 * every row) */
		int32_t hist[1100];
		int n_hist = 0, consistent = 0;
		double total = 0;
		for (size_t r = 0; r < h.rows.n; r++) {
			const botify_event *e = &h.rows.ev[r];
			ck_assert_int_eq(e->user, ep.user);
			ck_assert_int_eq(e->message, r + 1 < h.rows.n ? BOTIFY_MSG_NEXT : BOTIFY_MSG_LAST);
			if (r + 1 < h.rows.n)
				ck_assert(e->recommendation >= 0 && e->recommendation < w.N);
			if (r == 0)
				ck_assert(e->time == 1.0);
			else
				ck_assert_int_eq(e->track, h.rows.ev[r - 1].recommendation);
			hist[n_hist++] = e->track;
			total += e->time;
		}
		for (int q = 0; q < bu->n_interests; q++) {
			const float *sq = botify_world_embedding(&w, w.interests[bu->first_interest + q]);
			int ok = 1;
			for (int r = 1; r < n_hist; r++) {
				int repeat = 0, k = 0;
				for (int j = 0; j < r; j++) {
					repeat |= hist[j] == hist[r];
					k += w.artist[hist[j]] == w.artist[hist[r]];
				}
				double want = repeat ? 0.0
						     : botify_sim_listen_time(u, botify_sim_dot(botify_world_embedding(&w, hist[r]), sq, w.D), k);
				ok &= h.rows.ev[r].time == want;
			}
			consistent |= ok;
		}
		ck_assert_msg(consistent, "episode %lld: times do not follow the formula", (long long)i);
		ck_assert(ep.time == total);
		ck_assert(ep.steps >= u->budget);
	}
	ck_assert_int_gt(steps, 500 * 5); /* some sessions went past the budget */
	free(nb);
	stop(&h);
	botify_rec_free(&sticky);
	botify_world_free(&w);
}
END_TEST

START_TEST(sim_user_parameters_resolve)
{
	botify_world w;
	float E[40] = {0};
	uspec us[3] = {
		{ { 0 }, 1, NAN, NAN, NAN, 0, 0 },
		{ { 1 }, 1, 2.0, 0.7, 0.5, 3, 7 },
		{ { 2 }, 1, -1.0, NAN, 0.0, 50, 0 },
	};
	build_world(&w, 20, 2, E, NULL, 3, us);
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	cfg.interest_neighbours = 4;
	cfg.session_budget = 6;
	cfg.artist_discount_gamma = 0.9;
	cfg.consume_bias = 1.5;
	cfg.consume_sharpness = 1.1;
	botify_sim s;
	botify_err err = {0};
	ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 1, 0, NULL, &err), 0);
	const botify_sim_user *u = s.users;
	ck_assert(u[0].bias == 1.5 && u[0].sharpness == 1.1 && u[0].gamma == 0.9);
	ck_assert_int_eq(u[0].neighbours, 4);
	ck_assert_int_eq(u[0].budget, 6);
	ck_assert(u[1].bias == 2.0 && u[1].sharpness == 0.7 && u[1].gamma == 0.5);
	ck_assert_int_eq(u[1].neighbours, 3);
	ck_assert_int_eq(u[1].budget, 7);
	ck_assert(u[2].bias == -1.0 && u[2].sharpness == 1.1 && u[2].gamma == 0.0);
	ck_assert_int_eq(u[2].neighbours, 20); /* clamped to the catalog */
	ck_assert_int_eq(u[2].budget, 6);
	ck_assert_int_eq(s.K, 20);
	ck_assert_int_eq(s.n_arms, 1);
	ck_assert_ptr_null(s.arm_of_user);
	botify_sim_free(&s);
	botify_sim_free(&s);

	/* the config file's defaults are the original's */
	botify_simcfg_defaults(&cfg);
	ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 1, 0, NULL, &err), 0);
	ck_assert(s.users[0].bias == 5.0 && s.users[0].sharpness == 1.0 && s.users[0].gamma == 0.8);
	ck_assert_int_eq(s.users[0].neighbours, 10);
	ck_assert_int_eq(s.users[0].budget, 5);
	botify_sim_free(&s);
	botify_world_free(&w);

	/* a world without users cannot be simulated */
	botify_world none;
	build_world(&none, 20, 2, E, NULL, 0, us);
	ck_assert_int_eq(botify_sim_init(&s, &none, &cfg, 1, 0, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	tu_assert_has(err.msg, "hand-made world");
	botify_world_free(&none);
}
END_TEST

START_TEST(sim_bad_track_is_an_error)
{
	botify_world w;
	world20(&w, 3, 1);
	botify_rec bad = fake(&ops_bad, &w, "bad:k=1");
	botify_rec *recs[1] = { &bad };
	harness h;
	start(&h, &w, NULL, 1, 10, NULL, recs);
	botify_episode ep;
	botify_err err = {0};
	ck_assert_int_eq(botify_sim_episode(&h.s, &h.wk, 3, -1, &h.rows, 0, &ep, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_ERUNTIME);
	tu_assert_has(err.msg, "episode 3");
	tu_assert_has(err.msg, "recommender 'bad:k=1' returned track 20");
	stop(&h);
	botify_world_free(&w);
}
END_TEST

/* An episode is a function of (seed, day, index): not of what ran before. */
START_TEST(sim_episodes_reproducible)
{
	botify_world w;
	gt_small_world(&w, 0, 1, 0);
	botify_err err = {0};
	botify_rec_env env = { .world = &w, .max_steps = 1000 };
	botify_rec rnd;
	ck_assert_int_eq(botify_rec_create(&rnd, "random", &env, &err), 0);
	botify_rec *recs[1] = { &rnd };
	harness a, b;
	start(&a, &w, NULL, 9, 100, NULL, recs);
	start(&b, &w, NULL, 9, 100, NULL, recs);
	for (int64_t i = 99; i >= 0; i -= 3) { /* another order */
		episode(&b, i);
		episode(&b, (i * 7) % 100);
	}
	int differ = 0;
	for (int64_t i = 0; i < 100; i++) {
		botify_episode ea = episode(&a, i), eb = episode(&b, i);
		ck_assert_int_eq(ea.user, eb.user);
		ck_assert_int_eq(ea.steps, eb.steps);
		ck_assert(ea.time == eb.time);
		ck_assert_uint_eq(a.rows.n, b.rows.n);
		ck_assert(!memcmp(a.rows.ev, b.rows.ev, a.rows.n * sizeof(botify_event)));
		botify_episode e2 = episode(&a, i + 1 < 100 ? i + 1 : 0);
		differ += e2.user != ea.user || e2.steps != ea.steps;
	}
	ck_assert_int_gt(differ, 50);
	stop(&b);
	/* another seed, another day: other sessions */
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	botify_sim s2;
	ck_assert_int_eq(botify_sim_init(&s2, &w, &cfg, 9, 1, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_prepare(&s2, 100, 1, &err), 0);
	botify_sim_worker wk;
	ck_assert_int_eq(botify_sim_worker_init(&wk, &s2, recs, &err), 0);
	int same = 0;
	for (int64_t i = 0; i < 100; i++) {
		botify_episode e1 = episode(&a, i), e2;
		ck_assert_int_eq(botify_sim_episode(&s2, &wk, i, -1, NULL, 0, &e2, &err), 0);
		same += e1.user == e2.user && e1.steps == e2.steps && e1.time == e2.time;
	}
	ck_assert_int_lt(same, 20);
	botify_sim_worker_free(&wk);
	botify_sim_free(&s2);
	stop(&a);
	botify_rec_free(&rnd);
	botify_world_free(&w);
}
END_TEST

/* The look-ahead on several threads numbers the interests as one thread
 * does (the order the episodes first need them), whole or one part of a
 * split run: a world of many users, whose rarer interests first turn up
 * far into the run. */
START_TEST(sim_prepare_same_rows_for_any_thread_count)
{
	botify_world w;
	gt_sized_world(&w, 20000, 20000, 4);
	botify_err err = {0};
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	const int64_t episodes = 300000;
	for (int part = 0; part < 2; part++) {
		int parts = part ? 3 : 1;
		botify_sim one;
		ck_assert_int_eq(botify_sim_init(&one, &w, &cfg, 4, 0, NULL, &err), 0);
		ck_assert_int_eq(botify_sim_prepare_part(&one, episodes, 256, part, parts, 1, NULL, &err), 0);
		const int threads[] = { 2, 3, 5 };
		for (int i = 0; i < 3; i++) {
			botify_sim s;
			ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 4, 0, NULL, &err), 0);
			ck_assert_int_eq(botify_sim_prepare_part(&s, episodes, 256, part, parts, threads[i], NULL, &err), 0);
			ck_assert_int_eq(s.nb_rows, one.nb_rows);
			ck_assert(!memcmp(s.nb_row, one.nb_row, sizeof(int32_t) * (size_t)w.N));
			ck_assert(!memcmp(s.nb, one.nb, sizeof(int32_t) * (size_t)one.nb_rows * (size_t)one.K));
			botify_sim_free(&s);
		}
		/* and the rarest interests came late: the threads' runs mattered */
		ck_assert_int_gt(one.nb_rows, 5000);
		botify_sim_free(&one);
	}
	volatile sig_atomic_t stop = 1;
	botify_sim s;
	ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 4, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_prepare_until(&s, episodes, 3, &stop, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
	ck_assert_int_eq(s.nb_rows, 0);
	for (int32_t t = 0; t < w.N; t++)
		ck_assert_int_eq(s.nb_row[t], -1);
	botify_sim_free(&s);
	botify_world_free(&w);
}
END_TEST

/* An index built beside the caller gives the neighbours prepare's own
 * does, and goes with the first prepare (a second one builds its own);
 * one never taken is waited for by botify_sim_free, as is one whose
 * prepare was stopped. */
START_TEST(sim_index_built_beside_the_caller)
{
	botify_world w;
	gt_sized_world(&w, 3000, 2000, 8);
	botify_err err = {0};
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	botify_sim one, s;
	ck_assert_int_eq(botify_sim_init(&one, &w, &cfg, 9, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_prepare(&one, 300, 1, &err), 0);
	ck_assert_int_eq(botify_sim_prepare(&one, 3000, 1, &err), 0);
	ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 9, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_index_start(&s, 2), 0);
	ck_assert_ptr_nonnull(s.index_job);
	ck_assert_int_eq(botify_sim_prepare(&s, 300, 2, &err), 0);
	ck_assert_ptr_null(s.index_job);
	ck_assert_int_eq(botify_sim_prepare(&s, 3000, 2, &err), 0);
	ck_assert_int_eq(s.nb_rows, one.nb_rows);
	ck_assert(!memcmp(s.nb_row, one.nb_row, sizeof(int32_t) * (size_t)w.N));
	ck_assert(!memcmp(s.nb, one.nb, sizeof(int32_t) * (size_t)one.nb_rows * (size_t)one.K));
	botify_sim_free(&s);
	ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 9, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_index_start(&s, 1), 0);
	botify_sim_free(&s);
	volatile sig_atomic_t stop = 1;
	ck_assert_int_eq(botify_sim_init(&s, &w, &cfg, 9, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_index_start(&s, 2), 0);
	ck_assert_int_eq(botify_sim_prepare_until(&s, 300, 2, &stop, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINTR);
	ck_assert_int_eq(s.nb_rows, 0);
	ck_assert_ptr_null(s.index_job);
	botify_sim_free(&s);
	botify_sim_free(&one);
	botify_world_free(&w);
}
END_TEST

/* With an experiment, each user's arm picks the recommender and tags rows. */
START_TEST(sim_experiment_arms)
{
	botify_world w;
	float E[40];
	for (int i = 0; i < 40; i++)
		E[i] = 1;
	uspec us[40];
	for (int u = 0; u < 40; u++)
		us[u] = (uspec){ { u % 20 }, 1, 100.0, 1.0, 1.0, 1, 3 }; /* times ~0: budget steps */
	build_world(&w, 20, 2, E, NULL, 40, us);
	botify_experiment exp;
	botify_err err = {0};
	ck_assert_int_eq(botify_experiment_init(&exp, "AB", 2, &err), 0);
	botify_rec rep = fake(&ops_repeat, &w, "repeat"), nx = fake(&ops_next, &w, "next");
	botify_rec *recs[2] = { &rep, &nx };
	harness h;
	start(&h, &w, NULL, 2, 400, &exp, recs);
	ck_assert_int_eq(h.s.n_arms, 2);
	int per_arm[2] = {0};
	for (int u = 0; u < 40; u++)
		ck_assert_int_eq(h.s.arm_of_user[u], botify_experiment_assign(&exp, u));
	for (int64_t i = 0; i < 400; i++) {
		botify_episode ep = episode(&h, i);
		ck_assert_int_eq(ep.arm, botify_experiment_assign(&exp, ep.user));
		per_arm[ep.arm]++;
		for (size_t r = 0; r < h.rows.n; r++)
			ck_assert_int_eq(h.rows.ev[r].arm, ep.arm);
		/* control repeats the first track, treatment moves on */
		int32_t first = h.rows.ev[0].track;
		ck_assert_int_eq(h.rows.ev[0].recommendation, ep.arm ? (first + 1) % 20 : first);
	}
	ck_assert_int_gt(per_arm[0], 100);
	ck_assert_int_gt(per_arm[1], 100);
	stop(&h);
	botify_world_free(&w);
}
END_TEST

/* "late": draws like "draw" but fails at the session's fifth call for
 * users 1 mod 4, at its second for users 3 mod 4 (so a later session can
 * fail before an earlier one); "held": draws, with a per-thread resource
 * (none really), so botify_sim_episodes runs its episodes one at a time. */
static int rec_late(const botify_rec *r, botify_rec_ctx *ctx, const botify_rec_call *c,
		    int32_t *out, botify_err *err)
{
	int *calls = ctx->state;
	++*calls;
	if ((*calls == 5 && c->user % 4 == 1) || (*calls == 2 && c->user % 4 == 3))
		return botify_fail(err, BOTIFY_ERUNTIME, "late fails user %lld", (long long)c->user);
	*out = (int32_t)botify_rng_below(ctx->rng, (uint64_t)r->world->N);
	return 0;
}

static int held_worker_init(const botify_rec *r, void **worker, botify_err *err)
{
	(void)r, (void)err;
	*worker = NULL;
	return 0;
}

static const botify_rec_ops ops_late = { .name = "late", .keys = "", .recommend = rec_late };
static const botify_rec_ops ops_held = { .name = "held", .keys = "", .recommend = rec_draw,
					 .worker_init = held_worker_init };

/* botify_sim_episodes against botify_sim_episode on each job in turn: the
 * same summaries and the same rows in job order, or the same error (the
 * first failing job's). lanes: whether episodes run several at a time. */
static void check_in_flight(const botify_world *w, const botify_simcfg *cfg,
			    const botify_experiment *exp, botify_rec *const *recs,
			    const botify_sim_job *jobs, int64_t n, int lanes)
{
	harness a, b;
	start(&a, w, cfg, 5, 400, exp, recs);
	start(&b, w, cfg, 5, 400, exp, recs);
	ck_assert_int_eq(b.wk.lanes != NULL, lanes);
	botify_episode *seq = calloc((size_t)n, sizeof(*seq)), *par = calloc((size_t)n, sizeof(*par));
	botify_err e1 = {0}, e2 = {0};
	int failed = 0;
	for (int64_t j = 0; j < n && !failed; j++)
		failed = botify_sim_episode(&a.s, &a.wk, jobs[j].index, jobs[j].arm, &a.rows, 0, &seq[j],
					    &e1) != 0;
	int rc = botify_sim_episodes(&b.s, &b.wk, jobs, n, &b.rows, 0, par, &e2);
	if (failed) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(e2.msg, e1.msg);
	} else {
		ck_assert_msg(rc == 0, "%s", e2.msg);
		for (int64_t j = 0; j < n; j++) {
			ck_assert_int_eq(par[j].user, seq[j].user);
			ck_assert_int_eq(par[j].arm, seq[j].arm);
			ck_assert_int_eq(par[j].steps, seq[j].steps);
			ck_assert(par[j].time == seq[j].time);
			ck_assert_int_eq(par[j].capped, seq[j].capped);
		}
		ck_assert_uint_eq(b.rows.n, a.rows.n);
		for (size_t i = 0; i < a.rows.n; i++) {
			const botify_event *x = &a.rows.ev[i], *y = &b.rows.ev[i];
			ck_assert_msg(x->user == y->user && x->track == y->track &&
				      x->recommendation == y->recommendation && x->time == y->time &&
				      x->message == y->message && x->arm == y->arm,
				      "row %zu differs", i);
		}
		/* without rows: the same summaries */
		ck_assert_int_eq(botify_sim_episodes(&b.s, &b.wk, jobs, n, NULL, 0, par, &e2), 0);
		for (int64_t j = 0; j < n; j++)
			ck_assert(par[j].steps == seq[j].steps && par[j].time == seq[j].time);
	}
	free(seq);
	free(par);
	stop(&a);
	stop(&b);
}

START_TEST(sim_episodes_in_flight_as_one_at_a_time)
{
	botify_world w;
	gt_small_world(&w, 0, 1, 0);
	botify_err err = {0};
	botify_rec_env env = { .world = &w, .max_steps = 1000 };
	botify_rec rnd, sticky;
	ck_assert_int_eq(botify_rec_create(&rnd, "random", &env, &err), 0);
	ck_assert_int_eq(botify_rec_create(&sticky, "sticky_artist", &env, &err), 0);
	botify_rec late = fake(&ops_late, &w, "late"), held = fake(&ops_held, &w, "held");
	late.state_size = sizeof(int);
	enum { JOBS = 300 };
	botify_sim_job jobs[JOBS], shuffled[JOBS];
	for (int j = 0; j < JOBS; j++) {
		jobs[j] = (botify_sim_job){ j, -1 };
		shuffled[j] = (botify_sim_job){ (j * 37) % 250, -1 }; /* out of order, some twice */
	}
	botify_simcfg cfg, capped, none;
	botify_simcfg_defaults(&cfg);
	capped = none = cfg;
	capped.max_steps = 2;
	none.max_steps = 0;
	botify_rec *r1[1] = { &rnd }, *r2[1] = { &sticky }, *r3[1] = { &late }, *r4[1] = { &held };
	check_in_flight(&w, &cfg, NULL, r1, jobs, JOBS, 1);
	check_in_flight(&w, &cfg, NULL, r2, shuffled, JOBS, 1);
	check_in_flight(&w, &capped, NULL, r2, jobs, JOBS, 1);
	check_in_flight(&w, &none, NULL, r1, jobs, JOBS, 1);
	check_in_flight(&w, &cfg, NULL, r1, jobs, 1, 1);
	check_in_flight(&w, &cfg, NULL, r4, jobs, JOBS, 0);
	/* the error of the first job that fails, though later ones fail first */
	check_in_flight(&w, &cfg, NULL, r3, shuffled, JOBS, 1);
	/* paired: every episode under both arms, each job its arm */
	botify_experiment exp;
	ck_assert_int_eq(botify_experiment_init(&exp, "AB", 2, &err), 0);
	exp.design = BOTIFY_DESIGN_PAIRED;
	botify_rec *two[2] = { &rnd, &sticky };
	for (int j = 0; j < JOBS; j++)
		jobs[j] = (botify_sim_job){ j / 2, (j / 2 + j) % 2 };
	check_in_flight(&w, &capped, &exp, two, jobs, JOBS, 1);
	check_in_flight(&w, &cfg, &exp, two, jobs, JOBS, 1);
	botify_rec_free(&rnd);
	botify_rec_free(&sticky);
	botify_world_free(&w);
}
END_TEST

/* Rows of one episode without the arm, to compare runs of different arms. */
static int same_rows(const botify_event_buf *a, const botify_event_buf *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		botify_event x = a->ev[i], y = b->ev[i];
		x.arm = y.arm = 0;
		if (memcmp(&x, &y, sizeof(x)))
			return 0;
	}
	return 1;
}

START_TEST(sim_paired_arms_share_the_user_draws)
{
	/* listen times between 0 and 1 so the budget draws matter */
	botify_world w;
	float E[40];
	for (int i = 0; i < 40; i++)
		E[i] = (float)((i * 7) % 11) / 10.0f;
	uspec us[12];
	for (int u = 0; u < 12; u++)
		us[u] = (uspec){ { u % 20, (u + 5) % 20 }, 2, 0.5, 2.0, 0.9, 3, 4 };
	build_world(&w, 20, 2, E, NULL, 12, us);
	botify_experiment exp;
	botify_err err = {0};
	ck_assert_int_eq(botify_experiment_init(&exp, "AB", 2, &err), 0);
	exp.design = BOTIFY_DESIGN_PAIRED;
	botify_rec nx = fake(&ops_next, &w, "next"), dr = fake(&ops_draw, &w, "draw");
	botify_rec *same[2] = { &nx, &nx }, *draws[2] = { &dr, &dr }, *one[1] = { &dr };
	harness p, q, solo;
	start(&p, &w, NULL, 9, 200, &exp, same);
	start(&q, &w, NULL, 9, 200, &exp, draws);
	start(&solo, &w, NULL, 9, 200, NULL, one);
	ck_assert(p.s.paired && !p.s.arm_of_user);
	botify_event_buf a = {0}, b = {0};
	int differ = 0;
	for (int64_t i = 0; i < 200; i++) {
		botify_episode e0, e1;
		/* the same deterministic recommender in both arms: identical sessions */
		a.n = b.n = 0;
		ck_assert_int_eq(botify_sim_episode(&p.s, &p.wk, i, 0, &a, 0, &e0, &err), 0);
		ck_assert_int_eq(botify_sim_episode(&p.s, &p.wk, i, 1, &b, 0, &e1, &err), 0);
		ck_assert_int_eq(e0.arm, 0);
		ck_assert_int_eq(e1.arm, 1);
		ck_assert_int_eq(b.ev[0].arm, 1);
		ck_assert_msg(same_rows(&a, &b), "episode %lld differs between arms", (long long)i);
		/* a recommender that draws: arm 0 replays the unpaired run, arm 1
		 * has its own stream, so only the user, interest and first track agree */
		a.n = b.n = 0;
		ck_assert_int_eq(botify_sim_episode(&q.s, &q.wk, i, 0, &a, 0, &e0, &err), 0);
		ck_assert_int_eq(botify_sim_episode(&q.s, &q.wk, i, 1, &b, 0, &e1, &err), 0);
		botify_episode es = episode(&solo, i);
		ck_assert(same_rows(&a, &solo.rows));
		ck_assert_int_eq(es.user, e1.user);
		ck_assert_int_eq(a.ev[0].track, b.ev[0].track);
		differ += !same_rows(&a, &b);
	}
	ck_assert_int_gt(differ, 150);
	free(a.ev);
	free(b.ev);
	stop(&p);
	stop(&q);
	stop(&solo);
	botify_world_free(&w);
}
END_TEST

Suite *sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("listen");
	tcase_add_test(tc, sim_listen_time_by_hand);
	tcase_add_test(tc, sim_listen_time_matches_numpy);
	tcase_add_test(tc, sim_listen_time_same_bits_as_formula);
	tcase_add_test(tc, sim_dot_products);
	tcase_add_test(tc, sim_dot_vector_same_bits);
	suite_add_tcase(s, tc);
	tc = tcase_create("episode");
	tcase_add_test(tc, sim_first_track_among_interest_neighbours);
	tcase_add_test(tc, sim_repeats_cost_budget);
	tcase_add_test(tc, sim_artist_discount_counts_first_track);
	tcase_add_test(tc, sim_max_steps_caps_sessions);
	tcase_add_test(tc, sim_budget_drops_with_probability_one_minus_time);
	tcase_add_test(tc, sim_rows_are_consistent);
	tcase_add_test(tc, sim_user_parameters_resolve);
	tcase_add_test(tc, sim_bad_track_is_an_error);
	tcase_add_test(tc, sim_episodes_reproducible);
	tcase_add_test(tc, sim_prepare_same_rows_for_any_thread_count);
	tcase_add_test(tc, sim_index_built_beside_the_caller);
	tcase_add_test(tc, sim_experiment_arms);
	tcase_add_test(tc, sim_paired_arms_share_the_user_draws);
	tcase_add_test(tc, sim_episodes_in_flight_as_one_at_a_time);
	suite_add_tcase(s, tc);
	return s;
}
