/*
 * abgate.c - parsing and checking A/B requirements (see abgate.h).
 */
#include "abgate.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *text;
	enum botify_ab_op op;
} ops[] = { /* two-character operators first */
	{ ">=", BOTIFY_AB_GE }, { "<=", BOTIFY_AB_LE }, { "!=", BOTIFY_AB_NE },
	{ ">", BOTIFY_AB_GT }, { "<", BOTIFY_AB_LT },
};

int botify_ab_req_parse(botify_ab_req *r, const char *s, botify_err *err)
{
	char buf[96];
	size_t n = 0;
	memset(r, 0, sizeof(*r));
	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (n + 1 >= sizeof(buf))
			return botify_fail(err, BOTIFY_EINVAL, "--require '%s': too long", s);
		buf[n++] = *p;
	}
	buf[n] = '\0';
	size_t at = strcspn(buf, "<>!=");
	if (!buf[at])
		return botify_fail(err, BOTIFY_EINVAL,
				   "--require '%s': expected METRIC>0, <0, !=0, >=0 or <=0", s);
	size_t k = 0;
	while (k < sizeof(ops) / sizeof(ops[0]) && strncmp(buf + at, ops[k].text, strlen(ops[k].text)))
		k++;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return botify_fail(err, BOTIFY_EINVAL,
				   "--require '%s': unknown operator (use >0, <0, !=0, >=0 or <=0)", s);
	const char *rhs = buf + at + strlen(ops[k].text);
	if (strcmp(rhs, "0") && strcmp(rhs, "0%") && strcmp(rhs, "0.0"))
		return botify_fail(err, BOTIFY_EINVAL,
				   "--require '%s': the bound must be 0 (requirements are about "
				   "significance, e.g. mean_time_per_session>0)", s);
	buf[at] = '\0';
	r->metric = botify_ab_metric_index(buf);
	if (r->metric < 0)
		return botify_fail(err, BOTIFY_EINVAL,
				   "--require '%s': unknown metric '%s' (metrics: time, sessions, "
				   "mean_request_latency, mean_tracks_per_session, mean_time_per_session)",
				   s, buf);
	r->op = ops[k].op;
	snprintf(r->text, sizeof(r->text), "%s%s0", buf, ops[k].text);
	return 0;
}

int botify_ab_req_holds(const botify_ab_req *r, const botify_ab_effect *ef)
{
	double diff = ef->treatment_mean - ef->control_mean;
	int up = ef->significant && diff > 0, down = ef->significant && diff < 0;
	switch (r->op) {
	case BOTIFY_AB_GT: return up;
	case BOTIFY_AB_LT: return down;
	case BOTIFY_AB_NE: return ef->significant;
	case BOTIFY_AB_GE: return !down;
	default: return !up;
	}
}
