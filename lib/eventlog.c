/*
 * eventlog.c - reading event logs (plain or gzip) a row at a time.
 */
#include "eventlog.h"

#include <stdio.h>
#include <string.h>

#include "experiment.h"
#include "logscan.h"

int botify_eventlog_open(botify_eventlog_reader *r, const char *path, const char *experiment,
			 botify_err *err)
{
	memset(r, 0, sizeof(*r));
	r->experiment = experiment;
	return botify_jsonl_open_stream(&r->in, path, err);
}

int botify_eventlog_next(botify_eventlog_reader *r, botify_event *e, botify_err *err)
{
	int rc = botify_jsonl_next(&r->in, err);
	if (rc <= 0)
		return rc;
	int arm;
	if (botify_logscan_row(r->in.line, r->in.len, r->experiment, e, &arm, r->in.path,
			       r->in.lineno, err) != 0)
		return -1;
	r->rows++;
	r->rows_without_arm += arm == BOTIFY_LOGSCAN_NO_EXPERIMENT || arm == BOTIFY_LOGSCAN_OTHER_EXPERIMENTS;
	r->rows_other_experiment += arm == BOTIFY_LOGSCAN_OTHER_EXPERIMENTS;
	r->rows_other_arm += arm == BOTIFY_LOGSCAN_OTHER_ARM;
	return 1;
}

uint64_t botify_eventlog_offset(const botify_eventlog_reader *r)
{
	return botify_jsonl_offset(&r->in);
}

void botify_eventlog_close(botify_eventlog_reader *r)
{
	botify_jsonl_close(&r->in);
}

struct seen_experiment {
	char name[BOTIFY_MAX_EXPERIMENT_NAME + 1];
	unsigned arms;      /* bit per arm index */
	int other_arms;     /* values that are no arm name */
};

int botify_eventlog_experiments(const char *path, int64_t max_rows, char *buf, size_t cap,
				botify_err *err)
{
	struct seen_experiment seen[16];
	int n_seen = 0, more = 0;
	botify_jsonl in;
	buf[0] = '\0';
	if (botify_jsonl_open(&in, path, err) != 0)
		return -1;
	for (int64_t n = 0; n < max_rows && botify_jsonl_next(&in, err) == 1; n++) {
		cJSON *row = cJSON_ParseWithLength(in.line, in.len);
		const cJSON *ex = row ? cJSON_GetObjectItemCaseSensitive(row, "experiments") : NULL;
		/* bad rows are the real reader's to report; this only lists */
		for (const cJSON *it = cJSON_IsObject(ex) ? ex->child : NULL; it; it = it->next) {
			if (!it->string || strlen(it->string) > BOTIFY_MAX_EXPERIMENT_NAME)
				continue;
			int k = 0;
			while (k < n_seen && strcmp(seen[k].name, it->string))
				k++;
			if (k == n_seen) {
				if (n_seen == (int)(sizeof(seen) / sizeof(*seen))) {
					more = 1;
					continue;
				}
				memset(&seen[k], 0, sizeof(seen[k]));
				strcpy(seen[k].name, it->string);
				n_seen++;
			}
			int arm = cJSON_IsString(it) ? botify_arm_index(it->valuestring) : -1;
			if (arm >= 0)
				seen[k].arms |= 1u << arm;
			else
				seen[k].other_arms = 1;
		}
		cJSON_Delete(row);
	}
	botify_jsonl_close(&in);
	size_t len = 0;
	for (int k = 0; k < n_seen && len < cap; k++) {
		len += (size_t)snprintf(buf + len, cap - len, "%s%s:", k ? "; " : "", seen[k].name);
		const char *sep = "";
		for (int a = 0; a < BOTIFY_MAX_ARMS && len < cap; a++)
			if (seen[k].arms & (1u << a)) {
				len += (size_t)snprintf(buf + len, cap - len, "%s%s", sep, botify_arm_name(a));
				sep = ",";
			}
		if (seen[k].other_arms && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s(other)", sep);
	}
	if (more && len < cap)
		snprintf(buf + len, cap - len, "; ...");
	return 0;
}
