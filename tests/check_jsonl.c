/* check_jsonl.c - JSON lines, plain and gzip: line numbers that count blank
 * lines, CRLF, long lines, broken gzip streams, and field helpers whose
 * messages name file, line and key. Fixtures: tests/data/jsonl, made by
 * tests/data/gen_io_fixtures.py; scratch files go to the test's scratch directory (tu_scratch). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonl.h"
#include "outfile.h"
#include "testutil.h"

#define JSONL_DIR DATA_DIR "/jsonl"

/* Writes bytes to tu_tmp/name (gzip when name ends in .gz); returns the path. */
static const char *put_file(const char *name, const void *buf, size_t n)
{
	static char path[256];
	botify_outfile f = {0};
	botify_err err = {0};
	tu_fmt(path, sizeof(path), "%s/%s", tu_tmp, name);
	ck_assert_int_eq(botify_outfile_open(&f, path, 1, &err), 0);
	ck_assert_int_eq(botify_outfile_write(&f, buf, n, &err), 0);
	ck_assert_int_eq(botify_outfile_commit(&f, &err), 0);
	return path;
}

static void assert_msg(const botify_err *err, enum botify_errcode code, const char *needle)
{
	ck_assert_int_eq(err->code, code);
	ck_assert_msg(strstr(err->msg, needle), "'%s' lacks '%s'", err->msg, needle);
}

/* Reads the next line, parses it and returns its "id". */
static int64_t next_id(botify_jsonl *r)
{
	botify_err err = {0};
	int64_t id = -1;
	ck_assert_int_eq(botify_jsonl_next(r, &err), 1);
	cJSON *v = botify_jsonl_parse(r, &err);
	ck_assert_msg(v != NULL, "%s", err.msg);
	ck_assert_int_eq(botify_jsonl_int(r, v, "id", 1, 0, 1000000, &id, &err), 0);
	cJSON_Delete(v);
	return id;
}

START_TEST(jsonl_plain_and_gzip_count_every_line)
{
	const char *paths[] = { JSONL_DIR "/lines.jsonl", JSONL_DIR "/lines.jsonl.gz" };
	for (int k = 0; k < 2; k++) {
		botify_jsonl r = {0};
		botify_err err = {0};
		ck_assert_int_eq(botify_jsonl_open(&r, paths[k], &err), 0);
		ck_assert_int_eq(next_id(&r), 1);
		ck_assert_uint_eq(r.lineno, 1);
		ck_assert_int_eq(next_id(&r), 2);
		ck_assert_uint_eq(r.lineno, 3); /* after a blank line */
		ck_assert_str_eq(r.line, "{\"id\": 2}"); /* CRLF stripped */
		ck_assert_uint_eq(r.len, 9);
		ck_assert_int_eq(next_id(&r), 3);
		ck_assert_uint_eq(r.lineno, 6); /* blank, spaces-only and CRLF-only lines counted */
		ck_assert_str_eq(r.line, "{\"id\": 3, \"x\": 1.5}"); /* no final newline */
		ck_assert_int_eq(botify_jsonl_next(&r, &err), 0);
		ck_assert_int_eq(botify_jsonl_next(&r, &err), 0);
		botify_jsonl_close(&r);
		botify_jsonl_close(&r);
	}
}
END_TEST

START_TEST(jsonl_reads_a_line_over_1mb)
{
	enum { S = 1500000 };
	const char *head = "{\"id\": 0}\n\n{\"id\": 1, \"s\": \"", *tail = "\"}\r\n{\"id\": 2}\n";
	size_t hn = strlen(head), tn = strlen(tail);
	char *buf = malloc(hn + S + tn);
	memcpy(buf, head, hn);
	memset(buf + hn, 'x', S);
	memcpy(buf + hn + S, tail, tn);
	const char *names[] = { "long.jsonl", "long.jsonl.gz" };
	for (int k = 0; k < 2; k++) {
		botify_jsonl r = {0};
		botify_err err = {0};
		ck_assert_int_eq(botify_jsonl_open(&r, put_file(names[k], buf, hn + S + tn), &err), 0);
		ck_assert_int_eq(next_id(&r), 0);
		ck_assert_int_eq(botify_jsonl_next(&r, &err), 1);
		ck_assert_uint_eq(r.lineno, 3);
		ck_assert_uint_eq(r.len, S + 18); /* {"id": 1, "s": " ... "} */
		cJSON *v = botify_jsonl_parse(&r, &err);
		ck_assert_ptr_nonnull(v);
		const char *s = NULL;
		ck_assert_int_eq(botify_jsonl_string(&r, v, "s", 1, &s, &err), 0);
		ck_assert_uint_eq(strlen(s), S);
		cJSON_Delete(v);
		ck_assert_int_eq(next_id(&r), 2);
		ck_assert_uint_eq(r.lineno, 4);
		ck_assert_int_eq(botify_jsonl_next(&r, &err), 0);
		botify_jsonl_close(&r);
	}
	free(buf);
}
END_TEST

START_TEST(jsonl_malformed_line_names_file_and_line)
{
	botify_jsonl r = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_jsonl_open(&r, JSONL_DIR "/bad.jsonl", &err), 0);
	ck_assert_int_eq(next_id(&r), 1);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), 1);
	ck_assert_ptr_null(botify_jsonl_parse(&r, &err));
	assert_msg(&err, BOTIFY_EFORMAT, JSONL_DIR "/bad.jsonl:3: malformed JSON near byte 11");
	botify_jsonl_close(&r);

	/* trailing garbage after a valid value */
	ck_assert_int_eq(botify_jsonl_open(&r, JSONL_DIR "/trailing.jsonl", &err), 0);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), 1);
	ck_assert_ptr_null(botify_jsonl_parse(&r, &err));
	assert_msg(&err, BOTIFY_EFORMAT, JSONL_DIR "/trailing.jsonl:1: malformed JSON near byte 11");
	botify_jsonl_close(&r);

	/* a NUL byte cannot hide the rest of a line */
	ck_assert_int_eq(botify_jsonl_open(&r, put_file("nul.jsonl", "{}\0 x\n", 6), &err), 0);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), 1);
	ck_assert_uint_eq(r.len, 5);
	ck_assert_ptr_null(botify_jsonl_parse(&r, &err));
	assert_msg(&err, BOTIFY_EFORMAT, "nul.jsonl:1: malformed JSON near byte 3");
	botify_jsonl_close(&r);
}
END_TEST

START_TEST(jsonl_missing_file_is_eio)
{
	botify_jsonl r = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_jsonl_open(&r, JSONL_DIR "/no-such.jsonl", &err), -1);
	assert_msg(&err, BOTIFY_EIO, "cannot open '" JSONL_DIR "/no-such.jsonl': ");
	botify_jsonl_close(&r);
	ck_assert_ptr_null(botify_json_read_file(JSONL_DIR "/no-such.json", &err));
	assert_msg(&err, BOTIFY_EIO, "no-such.json");
}
END_TEST

START_TEST(jsonl_truncated_gzip_is_an_error)
{
	botify_jsonl r = {0};
	botify_err err = {0};
	const char *path = JSONL_DIR "/truncated.jsonl.gz";
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	int rc;
	int64_t want = 0;
	while ((rc = botify_jsonl_next(&r, &err)) == 1) {
		cJSON *v = botify_jsonl_parse(&r, &err);
		if (!v)
			break; /* the cut may fall inside a line: then its end is missing */
		int64_t id;
		ck_assert_int_eq(botify_jsonl_int(&r, v, "id", 1, 0, 10000, &id, &err), 0);
		ck_assert_int_eq(id, want++);
		cJSON_Delete(v);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_gt(want, 100);
	char where[128];
	snprintf(where, sizeof(where), "%s:%zu: ", path, r.lineno + 1);
	assert_msg(&err, BOTIFY_EFORMAT, where);
	assert_msg(&err, BOTIFY_EFORMAT, "unexpected end of file");
	botify_jsonl_close(&r);

	ck_assert_ptr_null(botify_json_read_file(path, &err));
	assert_msg(&err, BOTIFY_EFORMAT, path);
}
END_TEST

START_TEST(jsonl_corrupt_gzip_is_an_error)
{
	unsigned char *gz = NULL;
	size_t len = 0, cap = 0;
	botify_err err = {0};
	const char *text = "{\"id\": 1}\n{\"id\": 2}\n";
	ck_assert_int_eq(botify_gzip_member(text, strlen(text), 6, &gz, &len, &cap, &err), 0);
	gz[len - 8] ^= 0xff; /* the CRC-32 in the trailer */
	char path[256];
	tu_fmt(path, sizeof(path), "%s/bad.jsonl.gz", tu_tmp);
	FILE *fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(gz, 1, len, fp), len);
	fclose(fp);
	free(gz);

	botify_jsonl r = {0};
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	int rc;
	while ((rc = botify_jsonl_next(&r, &err)) == 1)
		;
	ck_assert_int_eq(rc, -1);
	assert_msg(&err, BOTIFY_EFORMAT, path);
	assert_msg(&err, BOTIFY_EFORMAT, "corrupt or truncated gzip data");
	botify_jsonl_close(&r);
}
END_TEST

START_TEST(jsonl_field_helpers)
{
	const botify_jsonl r = { .path = "users.jsonl", .lineno = 17 };
	botify_err err = {0};
	cJSON *v = cJSON_Parse("{\"i\": 5, \"f\": 1.5, \"s\": \"str\", \"neg\": -3, \"t\": true,"
			       " \"n\": null, \"huge\": 1e20, \"inf\": 1e999, \"sn\": \"3\", \"a\": [1]}");
	ck_assert_ptr_nonnull(v);
	int64_t i = 42;
	ck_assert_int_eq(botify_jsonl_int(&r, v, "i", 1, 0, 10, &i, &err), 0);
	ck_assert_int_eq(i, 5);
	i = 42;
	ck_assert_int_eq(botify_jsonl_int(&r, v, "zz", 0, 0, 10, &i, &err), 1);
	ck_assert_int_eq(i, 42); /* untouched */
	ck_assert_int_eq(botify_jsonl_int(&r, v, "zz", 1, 0, 10, &i, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "users.jsonl:17: 'zz' is missing (expected an integer)");
	ck_assert_int_eq(botify_jsonl_int(&r, v, "f", 1, 0, 10, &i, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "users.jsonl:17: 'f' must be an integer, got 1.5");
	ck_assert_int_eq(botify_jsonl_int(&r, v, "sn", 1, 0, 10, &i, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "users.jsonl:17: 'sn' must be an integer, got a string");
	ck_assert_int_eq(botify_jsonl_int(&r, v, "t", 1, 0, 10, &i, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "'t' must be an integer, got true");
	ck_assert_int_eq(botify_jsonl_int(&r, v, "n", 1, 0, 10, &i, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "'n' must be an integer, got null");
	ck_assert_int_eq(botify_jsonl_int(&r, v, "neg", 1, 0, 10, &i, &err), -1);
	assert_msg(&err, BOTIFY_ERANGE, "users.jsonl:17: 'neg' must be between 0 and 10, got -3");
	ck_assert_int_eq(botify_jsonl_int(&r, v, "neg", 1, -3, -3, &i, &err), 0);
	ck_assert_int_eq(i, -3);
	ck_assert_int_eq(botify_jsonl_int(&r, v, "huge", 1, INT64_MIN, INT64_MAX, &i, &err), -1);
	assert_msg(&err, BOTIFY_ERANGE, "'huge' is 1e+20, too large to be read exactly");

	double d = 0;
	ck_assert_int_eq(botify_jsonl_double(&r, v, "f", 1, &d, &err), 0);
	ck_assert_double_eq(d, 1.5);
	ck_assert_int_eq(botify_jsonl_double(&r, v, "i", 1, &d, &err), 0);
	ck_assert_double_eq(d, 5.0);
	ck_assert_int_eq(botify_jsonl_double(&r, v, "zz", 0, &d, &err), 1);
	ck_assert_int_eq(botify_jsonl_double(&r, v, "inf", 1, &d, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "users.jsonl:17: 'inf' must be a finite number, got inf");
	ck_assert_int_eq(botify_jsonl_double(&r, v, "a", 1, &d, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "'a' must be a finite number, got an array");

	const char *s = NULL;
	ck_assert_int_eq(botify_jsonl_string(&r, v, "s", 1, &s, &err), 0);
	ck_assert_str_eq(s, "str");
	ck_assert_int_eq(botify_jsonl_string(&r, v, "i", 1, &s, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "users.jsonl:17: 'i' must be a string, got 5");
	ck_assert_int_eq(botify_jsonl_string(&r, v, "zz", 1, &s, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "'zz' is missing (expected a string)");

	ck_assert_int_eq(botify_jsonl_int(&r, cJSON_GetObjectItem(v, "a"), "x", 1, 0, 1, &i, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "users.jsonl:17: expected a JSON object, got an array");
	cJSON_Delete(v);
}
END_TEST

START_TEST(json_read_file_plain_gzip_and_errors)
{
	botify_err err = {0};
	cJSON *v = botify_json_read_file(JSONL_DIR "/multi.json", &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(cJSON_GetArraySize(v), 2);
	cJSON_Delete(v);

	const char *text = "[\n{\"id\": 1},\n\n{\"id\": 2}]";
	v = botify_json_read_file(put_file("m.json.gz", text, strlen(text)), &err);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(cJSON_GetArraySize(v), 2);
	cJSON_Delete(v);

	ck_assert_ptr_null(botify_json_read_file(JSONL_DIR "/bad.json", &err));
	assert_msg(&err, BOTIFY_EFORMAT, JSONL_DIR "/bad.json: malformed JSON at line 4");

	ck_assert_ptr_null(botify_json_read_file(put_file("e.json", " \n", 2), &err));
	assert_msg(&err, BOTIFY_EFORMAT, "e.json: empty file");
	ck_assert_ptr_null(botify_json_read_file(put_file("t.json", "[1] [2]", 7), &err));
	assert_msg(&err, BOTIFY_EFORMAT, "t.json: malformed JSON at line 1, column 5");
}
END_TEST

/* A FIFO, a character device or a symlink to one is refused at once by
 * the readers of regular files (it used to block or grow without bound). */
START_TEST(jsonl_refuses_special_files)
{
	botify_jsonl r = {0};
	botify_err err = {0};
	char fifo[256], link[256];
	tu_fmt(fifo, sizeof(fifo), "%s/tracks.json", tu_tmp);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(botify_jsonl_open(&r, fifo, &err), -1);
	assert_msg(&err, BOTIFY_EIO, "is a FIFO, not a regular file");
	ck_assert_ptr_null(botify_json_read_file(fifo, &err));
	assert_msg(&err, BOTIFY_EIO, "is a FIFO");
	tu_fmt(link, sizeof(link), "%s/zero.json", tu_tmp);
	ck_assert_int_eq(symlink("/dev/zero", link), 0);
	ck_assert_int_eq(botify_jsonl_open(&r, link, &err), -1);
	assert_msg(&err, BOTIFY_EIO, "is a character device");
	ck_assert_ptr_null(botify_json_read_file(link, &err));
	assert_msg(&err, BOTIFY_EIO, "is a character device");
	ck_assert_int_eq(botify_jsonl_open(&r, tu_tmp, &err), -1);
	assert_msg(&err, BOTIFY_EIO, "is a directory");
}
END_TEST

/* Streams (event logs): a FIFO is read as it comes; a stream without
 * newlines ends in an error at the line bound, not in exhausted memory. */
START_TEST(jsonl_streams_are_read_with_a_bounded_line)
{
	botify_jsonl r = {0};
	botify_err err = {0};
	char fifo[256];
	tu_fmt(fifo, sizeof(fifo), "%s/log.jsonl", tu_tmp);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		FILE *fp = fopen(fifo, "w");
		fputs("{\"id\": 1}\n\n{\"id\": 2}\n", fp);
		fclose(fp);
		_exit(0);
	}
	ck_assert_int_eq(botify_jsonl_open_stream(&r, fifo, &err), 0);
	ck_assert_int_eq(next_id(&r), 1);
	ck_assert_int_eq(next_id(&r), 2);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), 0);
	botify_jsonl_close(&r);
	waitpid(pid, NULL, 0);

	ck_assert_int_eq(botify_jsonl_open_stream(&r, "/dev/zero", &err), 0);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "/dev/zero:1: line longer than 64 MiB");
	botify_jsonl_close(&r);
}
END_TEST

/* Data after the last gzip member is refused (gzread dropped it silently);
 * members that follow each other are one stream. */
START_TEST(jsonl_data_after_gzip_is_an_error)
{
	unsigned char *gz = NULL;
	size_t len = 0, cap = 0;
	botify_err err = {0};
	ck_assert_int_eq(botify_gzip_member("{\"id\": 1}\n", 10, 6, &gz, &len, &cap, &err), 0);
	ck_assert_int_eq(botify_gzip_member("{\"id\": 2}\n", 10, 6, &gz, &len, &cap, &err), 0);
	size_t two = len;
	botify_jsonl r = {0};
	const char *path = put_file("two.bin", gz, two);
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	ck_assert_int_eq(next_id(&r), 1);
	ck_assert_int_eq(next_id(&r), 2);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), 0);
	botify_jsonl_close(&r);

	unsigned char *more = realloc(gz, two + 7);
	ck_assert_ptr_nonnull(more);
	memcpy(more + two, "garbage", 7);
	path = put_file("tail.bin", more, two + 7);
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	ck_assert_int_eq(next_id(&r), 1);
	ck_assert_int_eq(next_id(&r), 2);
	ck_assert_int_eq(botify_jsonl_next(&r, &err), -1);
	char want[64];
	snprintf(want, sizeof(want), "not gzip follows the gzip stream at byte %zu", two);
	assert_msg(&err, BOTIFY_EFORMAT, want);
	botify_jsonl_close(&r);
	more[two + 1] = 0x8b; /* "g\x8b": one byte of magic is not a member either */
	path = put_file("t2.bin", more, two + 7);
	ck_assert_ptr_null(botify_json_read_file(path, &err));
	assert_msg(&err, BOTIFY_EFORMAT, "not gzip follows");
	free(more);
}
END_TEST

/* A missing file whose temporary a killed run left behind says so. */
START_TEST(jsonl_missing_file_names_a_stale_temporary)
{
	botify_jsonl r = {0};
	botify_err err = {0};
	char path[256], stale[300];
	tu_fmt(path, sizeof(path), "%s/log.jsonl", tu_tmp);
	/* pid 2^22 + 1 is above Linux's largest pid: no such process */
	snprintf(stale, sizeof(stale), "%s.tmp.4194305.abcdef", path);
	put_file("log.jsonl.tmp.4194305.abcdef", "x", 1);
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), -1);
	assert_msg(&err, BOTIFY_EIO, "cannot open");
	assert_msg(&err, BOTIFY_EIO, "log.jsonl.tmp.4194305.abcdef' is left over from a run that was killed");
	/* a temporary of a live process (this one) is not stale */
	unlink(stale);
	snprintf(stale, sizeof(stale), "log.jsonl.tmp.%ld.abcdef", (long)getpid());
	put_file(stale, "x", 1);
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), -1);
	ck_assert_ptr_null(strstr(err.msg, "left over"));
}
END_TEST

/* The iterator owns each line's object: a loop may stop at any line without
 * freeing it (ASan's leak check covers the early exits), and a line that is
 * not an object, or not JSON, names file and line. */
START_TEST(jsonl_next_object_owns_the_object)
{
	const char *text = "{\"id\": 1}\n\n{\"id\": 2}\n[3]\n{\"id\": 4}\n";
	const char *path = put_file("objs.jsonl", text, strlen(text));
	botify_jsonl r;
	botify_err err = {0};
	int64_t id = -1;
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), 1);
	ck_assert_int_eq(botify_jsonl_int(&r, r.obj, "id", 1, 0, 9, &id, &err), 0);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), 1);
	ck_assert_uint_eq(r.lineno, 3);
	ck_assert_int_eq(botify_jsonl_int(&r, r.obj, "id", 1, 0, 9, &id, &err), 0);
	ck_assert_int_eq(id, 2);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "objs.jsonl:4: expected a JSON object");
	botify_jsonl_close(&r);
	ck_assert_ptr_null(r.obj);
	botify_jsonl_close(&r); /* twice is safe */

	/* stopping with an object in hand, then the end of the file */
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), 1);
	ck_assert_ptr_nonnull(r.obj);
	botify_jsonl_close(&r);
	path = put_file("one.jsonl", "{}\n", 3);
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), 1);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), 0);
	ck_assert_ptr_null(r.obj);
	botify_jsonl_close(&r);

	text = "{}\n{\"id\": }\n";
	path = put_file("bad.jsonl.gz", text, strlen(text));
	ck_assert_int_eq(botify_jsonl_open(&r, path, &err), 0);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), 1);
	ck_assert_int_eq(botify_jsonl_next_object(&r, &err), -1);
	assert_msg(&err, BOTIFY_EFORMAT, "bad.jsonl.gz:2: malformed JSON near byte 8");
	botify_jsonl_close(&r);
}
END_TEST

Suite *jsonl_suite(void)
{
	Suite *s = suite_create("jsonl");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60); /* 64 MiB of /dev/zero under sanitizers */
	tu_scratch(tc);
	tcase_add_test(tc, jsonl_plain_and_gzip_count_every_line);
	tcase_add_test(tc, jsonl_reads_a_line_over_1mb);
	tcase_add_test(tc, jsonl_malformed_line_names_file_and_line);
	tcase_add_test(tc, jsonl_missing_file_is_eio);
	tcase_add_test(tc, jsonl_truncated_gzip_is_an_error);
	tcase_add_test(tc, jsonl_corrupt_gzip_is_an_error);
	tcase_add_test(tc, jsonl_field_helpers);
	tcase_add_test(tc, json_read_file_plain_gzip_and_errors);
	tcase_add_test(tc, jsonl_refuses_special_files);
	tcase_add_test(tc, jsonl_streams_are_read_with_a_bounded_line);
	tcase_add_test(tc, jsonl_data_after_gzip_is_an_error);
	tcase_add_test(tc, jsonl_missing_file_names_a_stale_temporary);
	tcase_add_test(tc, jsonl_next_object_owns_the_object);
	suite_add_tcase(s, tc);
	return s;
}
