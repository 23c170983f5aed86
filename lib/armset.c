/*
 * armset.c - the arms of a run (see armset.h).
 */
#include "armset.h"

#include <string.h>

int botify_armset_init(botify_armset *s, const botify_armset_opts *o, botify_err *err)
{
	memset(s, 0, sizeof(*s));
	s->n = 1;
	if (!o->experiment) {
		if (!o->recommender)
			return botify_fail(err, BOTIFY_EINVAL, "no recommender given");
		s->spec[0] = o->recommender;
		return 0;
	}
	if (o->arms) {
		if (botify_arms_parse(&s->list, o->arms, err) != 0)
			return -1;
		s->n = s->list.n;
		for (int a = 0; a < s->n; a++)
			s->spec[a] = s->list.spec[a];
	} else {
		s->n = o->n_specs;
	}
	/* checks the arm count (1..16) before specs[] is read */
	if (botify_experiment_init(&s->exp, o->experiment, s->n, err) != 0)
		return -1;
	if (!o->arms)
		for (int a = 0; a < s->n; a++)
			s->spec[a] = o->specs[a];
	s->exp.design = o->design;
	if (o->fresh_split)
		botify_experiment_salt(&s->exp, o->seed);
	s->has_experiment = 1;
	return 0;
}

int botify_armset_create(botify_armset *s, const botify_rec_env *env, botify_err *err)
{
	for (int a = s->n_recs; a < s->n; a++) {
		if (botify_rec_create(&s->rec[a], s->spec[a], env, err) != 0) {
			if (s->has_experiment)
				botify_err_prefix(err, "arm %s", botify_arm_name(a));
			return -1;
		}
		s->recs[a] = &s->rec[a];
		s->n_recs++;
	}
	return 0;
}

const botify_experiment *botify_armset_experiment(const botify_armset *s)
{
	return s->has_experiment ? &s->exp : NULL;
}

int botify_armset_assign(const botify_armset *s, int64_t user)
{
	return s->has_experiment ? botify_experiment_assign(&s->exp, user) : 0;
}

void botify_armset_free(botify_armset *s)
{
	for (int a = 0; a < s->n_recs; a++)
		botify_rec_free(&s->rec[a]);
	s->n_recs = 0;
	botify_arms_free(&s->list);
}
