/*
 * abgate.h - requirements on A/B results for CI gates, written like
 * "mean_time_per_session>0":
 *   >0   significantly better (the interval lies above 0)
 *   <0   significantly worse
 *   !=0  any significant change
 *   >=0  not significantly worse
 *   <=0  not significantly better
 * A requirement holds for a result row when the row satisfies it; a gate
 * holds when every requirement holds for every treatment's row of its
 * metric. Direction is the sign of treatment_mean - control_mean, so a zero
 * control mean (no effect in %) still gives an answer.
 */
#ifndef BOTIFY_ABGATE_H
#define BOTIFY_ABGATE_H

#include "ab.h"
#include "err.h"

enum botify_ab_op { BOTIFY_AB_GT, BOTIFY_AB_LT, BOTIFY_AB_NE, BOTIFY_AB_GE, BOTIFY_AB_LE };

typedef struct botify_ab_req {
	int metric;
	enum botify_ab_op op;
	char text[112];  /* as written, spaces removed, for messages */
} botify_ab_req;

/* Parses "METRIC OP 0" (spaces allowed). BOTIFY_EINVAL names the problem:
 * an unknown metric (listing them), an unknown operator, a bound other
 * than 0. */
int botify_ab_req_parse(botify_ab_req *r, const char *s, botify_err *err);

/* 1 when the row satisfies r, else 0. r->metric must be ef->metric. */
int botify_ab_req_holds(const botify_ab_req *r, const botify_ab_effect *ef);

#endif
