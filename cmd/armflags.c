/*
 * armflags.c - the options simulate, ab and serve share (see armflags.h).
 */
#include "armflags.h"

#include "cmd.h"

void arm_flags_init(struct arm_flags *f)
{
	*f = (struct arm_flags){ .seed = 1, .threads = cpu_count(), .rec_timeout = BOTIFY_REC_TIMEOUT };
}

int arm_flags_check(const char *cmd, const struct arm_flags *f, int required)
{
	if (required && !f->recommender && !f->experiment)
		return usage_error(cmd, "give --recommender SPEC, or --experiment NAME with --arms");
	if (f->recommender && (f->experiment || f->arms))
		return usage_error(cmd, "--recommender and --experiment/--arms are exclusive");
	if (f->experiment && !f->arms)
		return usage_error(cmd, "--experiment needs --arms C=SPEC,T1=SPEC,...");
	if (f->arms && !f->experiment)
		return usage_error(cmd, "--arms needs --experiment NAME");
	return 0;
}

botify_armset_opts arm_flags_armset(const struct arm_flags *f)
{
	return (botify_armset_opts){ .recommender = f->recommender, .experiment = f->experiment,
				     .arms = f->arms, .seed = (uint64_t)f->seed };
}
