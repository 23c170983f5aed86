/*
 * experiment.c - murmur3 user bucketing and --arms lists.
 */
#include "experiment.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "murmur3.h"
#include "rng.h"

static const char *const arm_names[BOTIFY_MAX_ARMS] = {
	"C", "T1", "T2", "T3", "T4", "T5", "T6", "T7",
	"T8", "T9", "T10", "T11", "T12", "T13", "T14", "T15",
};

int botify_experiment_init(botify_experiment *e, const char *name, int n_arms,
			   botify_err *err)
{
	size_t len = strlen(name);
	if (len == 0 || len > BOTIFY_MAX_EXPERIMENT_NAME)
		return botify_fail(err, BOTIFY_EINVAL,
				   "experiment name '%s' must have 1 to %d characters", name,
				   BOTIFY_MAX_EXPERIMENT_NAME);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return botify_fail(err, BOTIFY_EINVAL,
					   "experiment name '%s' may only hold letters, digits, '_', '.' and '-'",
					   name);
	if (n_arms < 1 || n_arms > BOTIFY_MAX_ARMS)
		return botify_fail(err, BOTIFY_EINVAL, "an experiment has 1 to %d arms, not %d",
				   BOTIFY_MAX_ARMS, n_arms);
	memcpy(e->name, name, len + 1);
	e->seed = (int32_t)botify_murmur3_32(name, len, 0);
	e->n_arms = n_arms;
	e->design = BOTIFY_DESIGN_SPLIT;
	e->salted = 0;
	return 0;
}

void botify_experiment_salt(botify_experiment *e, uint64_t run_seed)
{
	botify_rng r;
	botify_rng_init(&r, BOTIFY_RNG_SALT, run_seed, 0, 0, 0);
	e->seed = (int32_t)(uint32_t)(botify_rng_u64(&r) >> 32);
	e->salted = 1;
}

static const char *const design_names[] = { "split", "paired" };

int botify_design_parse(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(name, design_names[i]))
			return i;
	return -1;
}

const char *botify_design_name(int design)
{
	return design >= 0 && design < 2 ? design_names[design] : NULL;
}

int botify_experiment_assign(const botify_experiment *e, int64_t user)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)user);
	uint32_t h = botify_murmur3_32(buf, (size_t)n, (uint32_t)e->seed);
	return (int)(h % (uint32_t)e->n_arms);
}

const char *botify_arm_name(int arm)
{
	return arm >= 0 && arm < BOTIFY_MAX_ARMS ? arm_names[arm] : NULL;
}

int botify_arm_index(const char *name)
{
	for (int i = 0; i < BOTIFY_MAX_ARMS; i++)
		if (!strcmp(name, arm_names[i]))
			return i;
	return -1;
}

/* Length of an arm label at s ("C" or "T<digits>") followed by '=', else 0. */
static size_t arm_label_len(const char *s)
{
	size_t n = 0;
	if (s[0] == 'C')
		n = 1;
	else if (s[0] == 'T' && isdigit((unsigned char)s[1]))
		for (n = 1; isdigit((unsigned char)s[n]); n++)
			;
	return n && s[n] == '=' ? n : 0;
}

int botify_arms_parse(botify_arms *a, const char *list, botify_err *err)
{
	memset(a, 0, sizeof(*a));
	const char *p = list;
	while (*p) {
		size_t lab = arm_label_len(p);
		if (!lab) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_EINVAL,
					   "--arms: expected C=SPEC or T<n>=SPEC at '%s'", p);
		}
		char label[8] = {0};
		if (lab >= sizeof(label)) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_EINVAL, "--arms: arm name '%.*s' is too long",
					   (int)lab, p);
		}
		memcpy(label, p, lab);
		int idx = botify_arm_index(label);
		if (idx < 0) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_EINVAL,
					   "--arms: unknown arm '%s' (arms are C, T1, ... T%d)", label,
					   BOTIFY_MAX_ARMS - 1);
		}
		if (a->spec[idx]) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_EINVAL, "--arms: arm '%s' given twice", label);
		}
		const char *spec = p + lab + 1, *end = spec;
		while (*end && !(*end == ',' && arm_label_len(end + 1)))
			end++;
		if (end == spec) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_EINVAL, "--arms: arm '%s' has no recommender",
					   label);
		}
		a->spec[idx] = strndup(spec, (size_t)(end - spec));
		if (!a->spec[idx]) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_ENOMEM, "out of memory parsing --arms");
		}
		p = *end ? end + 1 : end;
	}
	int n = 0;
	while (n < BOTIFY_MAX_ARMS && a->spec[n])
		n++;
	for (int i = n; i < BOTIFY_MAX_ARMS; i++)
		if (a->spec[i]) {
			botify_arms_free(a);
			return botify_fail(err, BOTIFY_EINVAL,
					   "--arms: arm '%s' given but '%s' missing (arms are C, T1, T2, ... in sequence)",
					   arm_names[i], arm_names[n]);
		}
	if (n == 0)
		return botify_fail(err, BOTIFY_EINVAL, "--arms: no arms given");
	a->n = n;
	return 0;
}

void botify_arms_free(botify_arms *a)
{
	for (int i = 0; i < BOTIFY_MAX_ARMS; i++)
		free(a->spec[i]);
	memset(a, 0, sizeof(*a));
}
