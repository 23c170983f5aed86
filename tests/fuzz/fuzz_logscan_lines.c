/* libFuzzer entry point, differential: the lines of a log as the threads of
 * botify ab see them (pieces cut with botify_logscan_cut, each read with
 * botify_logscan_lines, numbered from the lines before it) against the
 * lines of the whole buffer and against the JSON-lines reader on a file of
 * the same bytes: the same lines, bytes and numbers, in the same order;
 * and the rows botify_logscan_lines_canon takes are those lines, read as
 * botify_logscan_row_exp reads them.
 * The first input byte picks how many pieces, the next ones where. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl.h"
#include "logscan.h"

struct line {
	size_t lineno, len;
	const char *text;
};

static struct line seen[4096];
static size_t n_seen;
static char path[64];

static void expect(size_t k, size_t lineno, const char *text, size_t len)
{
	if (k >= n_seen || seen[k].lineno != lineno || seen[k].len != len ||
	    memcmp(seen[k].text, text, len)) {
		fprintf(stderr, "line %zu (number %zu) differs\n", k, lineno);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	int parts = 1 + data[0] % 8;
	const uint8_t *pick = data + 1;
	data += 4;
	size -= 4;
	/* an exact-size copy: ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	/* the whole buffer */
	botify_logscan_lines c;
	botify_logscan_lines_init(&c, buf, size);
	const char *line;
	size_t len;
	n_seen = 0;
	while (botify_logscan_lines_next(&c, &line, &len) == 1) {
		if (n_seen == sizeof(seen) / sizeof(*seen)) {
			free(buf); /* more lines than kept: not this input */
			return 0;
		}
		seen[n_seen++] = (struct line){ c.lineno, len, line };
	}

	/* in pieces */
	size_t from = 0, base = 0, k = 0;
	for (int p = 0; p < parts; p++) {
		size_t target = p == parts - 1 ? size : size * pick[p % 3] / 255;
		size_t to = botify_logscan_cut(buf, size, from, target);
		if (to < from || to > size || (to < size && to > 0 && buf[to - 1] != '\n'))
			abort(); /* a cut is inside the buffer, after a newline */
		botify_logscan_lines_init(&c, buf + from, to - from);
		while (botify_logscan_lines_next(&c, &line, &len) == 1)
			expect(k++, base + c.lineno, line, len);
		base += c.lineno;
		from = to;
	}
	if (from != size || k != n_seen)
		abort();

	/* in the same pieces, each line first offered to the reader of the rows
	 * botify writes, as botify ab's threads do: it takes the expected line
	 * and reads it as the row scanner does */
	botify_logscan_exp x;
	botify_logscan_exp_init(&x, "AB");
	from = base = k = 0;
	for (int p = 0; p < parts; p++) {
		size_t target = p == parts - 1 ? size : size * pick[p % 3] / 255;
		size_t to = botify_logscan_cut(buf, size, from, target);
		botify_logscan_lines_init(&c, buf + from, to - from);
		for (;;) {
			const char *at = c.p;
			botify_event e, f;
			int arm, farm;
			memset(&e, 0, sizeof(e)); /* compared by their bytes below */
			memset(&f, 0, sizeof(f));
			if (botify_logscan_lines_canon(&c, &x, &e, &arm)) {
				botify_err err;
				expect(k, base + c.lineno, at, seen[k < n_seen ? k : 0].len);
				if (botify_logscan_row_exp(at, seen[k].len, &x, &f, &farm, "f", 1, &err) != 0 ||
				    farm != arm || memcmp(&e, &f, sizeof(e)))
					abort();
				k++;
				continue;
			}
			if (botify_logscan_lines_next(&c, &line, &len) != 1)
				break;
			expect(k++, base + c.lineno, line, len);
		}
		base += c.lineno;
		from = to;
	}
	if (from != size || k != n_seen)
		abort();

	/* the JSON-lines reader (plain files only: gzip is its own business) */
	if (!(size >= 2 && (uint8_t)buf[0] == 0x1f && (uint8_t)buf[1] == 0x8b)) {
		if (!path[0])
			snprintf(path, sizeof(path), "/tmp/botify-fuzz-lines.%ld", (long)getpid());
		FILE *fp = fopen(path, "wb");
		if (fp) {
			fwrite(buf, 1, size, fp);
			fclose(fp);
			botify_jsonl r;
			botify_err err = {0};
			k = 0;
			if (botify_jsonl_open(&r, path, &err) == 0) {
				while (botify_jsonl_next(&r, &err) == 1)
					expect(k++, r.lineno, r.line ? r.line : "", r.len);
				if (k != n_seen)
					abort();
				botify_jsonl_close(&r);
			}
			unlink(path);
		}
	}
	free(buf);
	return 0;
}
