/* check_dist.c - the job of several ranks as far as one process can test
 * it: the job of one (rank 0 of 1) and its refusals, and the interest
 * neighbours of a rank's share of the episodes (simulate's split over
 * ranks is tested end to end under mpirun by t800-mpi.sh). */
#include <check.h>
#include <string.h>

#include "dist.h"
#include "sim.h"
#include "simcfg.h"
#include "worldgen.h"

START_TEST(dist_job_of_one)
{
	/* without botify_dist_init, as in a plain start */
	ck_assert_int_eq(botify_dist_rank(), 0);
	ck_assert_int_eq(botify_dist_size(), 1);
	botify_err err = {0};
	int v = 42;
	ck_assert_int_eq(botify_dist_bcast_int(&v, &err), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(botify_dist_handed_over(), 0);
	/* the end of a set-up: a job of one agrees with itself, its own
	 * failure left as it is and not handed over (it reports it) */
	ck_assert_int_eq(botify_dist_agree(0, NULL, &err), 0);
	botify_fail(&err, BOTIFY_EIO, "x.npy: truncated");
	ck_assert_int_eq(botify_dist_agree(1, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	ck_assert_str_eq(err.msg, "x.npy: truncated");
	ck_assert_int_eq(botify_dist_handed_over(), 0);
	botify_dist_abort(2);            /* a job of one: returns */
	botify_dist_await_abort(2, 60);  /* at once */
#ifdef BOTIFY_MPI
	ck_assert_ptr_nonnull(botify_dist_library());
#else
	ck_assert_ptr_null(botify_dist_library());
	char buf[4] = "abc";
	ck_assert_int_eq(botify_dist_send(1, buf, 3, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "without MPI"));
	ck_assert_int_eq(botify_dist_recv(1, buf, 3, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
#endif
}
END_TEST

/* The parts of a split prepare each an interest only where one of their
 * chunks needs it; together exactly the interests of the whole run, with
 * the same neighbours. */
START_TEST(dist_prepare_parts)
{
	botify_worldgen_params p;
	botify_worldgen_defaults(&p);
	p.tracks = 400;
	p.users = 300;
	p.dim = 8;
	p.genres = 5;
	p.seed = 5;
	botify_world w;
	botify_err err = {0};
	ck_assert_int_eq(botify_worldgen_generate(&w, &p, &err), 0);
	botify_simcfg cfg;
	botify_simcfg_defaults(&cfg);
	enum { EP = 1000, CHUNK = 64, PARTS = 3 };
	botify_sim all, part[PARTS];
	ck_assert_int_eq(botify_sim_init(&all, &w, &cfg, 9, 0, NULL, &err), 0);
	ck_assert_int_eq(botify_sim_prepare(&all, EP, 2, &err), 0);
	for (int k = 0; k < PARTS; k++) {
		ck_assert_int_eq(botify_sim_init(&part[k], &w, &cfg, 9, 0, NULL, &err), 0);
		ck_assert_int_eq(botify_sim_prepare_part(&part[k], EP, CHUNK, k, PARTS, 2, NULL, &err), 0);
		ck_assert_int_lt(part[k].nb_rows, all.nb_rows);
		ck_assert_int_gt(part[k].nb_rows, 0);
	}
	int64_t covered = 0;
	for (int32_t t = 0; t < w.N; t++) {
		int any = 0;
		for (int k = 0; k < PARTS; k++) {
			int32_t row = part[k].nb_row[t];
			if (row < 0)
				continue;
			any = 1;
			ck_assert_int_ge(all.nb_row[t], 0);
			ck_assert_mem_eq(part[k].nb + (size_t)row * (size_t)part[k].K,
					 all.nb + (size_t)all.nb_row[t] * (size_t)all.K,
					 (size_t)all.K * sizeof(int32_t));
		}
		ck_assert_int_eq(any, all.nb_row[t] >= 0);
		covered += any;
	}
	ck_assert_int_eq(covered, all.nb_rows);
	for (int k = 0; k < PARTS; k++)
		botify_sim_free(&part[k]);
	botify_sim_free(&all);
	botify_world_free(&w);
}
END_TEST

Suite *dist_suite(void)
{
	Suite *s = suite_create("dist");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dist_job_of_one);
	tcase_add_test(tc, dist_prepare_parts);
	suite_add_tcase(s, tc);
	return s;
}
