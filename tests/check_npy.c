/* check_npy.c - .npy read/write against files made by numpy, and every
 * format error naming the file and byte. Fixtures: tests/data/npy, made by
 * tests/data/gen_io_fixtures.py. */
#include <check.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "testutil.h"

#define NPY_DIR DATA_DIR "/npy"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	static unsigned char buf[1 << 16];
	*len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return buf;
}

/* Reads path, expecting failure with code and the file name in the message. */
static void expect_fail(const char *path, enum botify_errcode code, const char *needle)
{
	botify_npy a = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_npy_read(&a, path, &err), -1);
	ck_assert_int_eq(err.code, code);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
	ck_assert_ptr_null(a.data);
	botify_npy_free(&a);
}

/* Parses an in-memory image, expecting a format error mentioning needle. */
static void expect_parse_fail(const char *img, size_t len, const char *needle)
{
	botify_npy a = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_npy_parse(&a, img, len, "mem.npy", &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EFORMAT);
	ck_assert_msg(strstr(err.msg, "mem.npy: ") == err.msg, "'%s' lacks the name", err.msg);
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
}

START_TEST(npy_reads_numpy_f4_2d)
{
	botify_npy a = {0};
	botify_err err = {0};
	ck_assert_int_eq(botify_npy_read(&a, NPY_DIR "/f4_2x3.npy", &err), 0);
	ck_assert_uint_eq(a.ndim, 2);
	ck_assert_uint_eq(a.rows, 2);
	ck_assert_uint_eq(a.cols, 3);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(a.data[i], i * 0.5f - 1);
	botify_npy_free(&a);
	ck_assert_ptr_null(a.data);
	ck_assert_uint_eq(a.rows, 0);
	botify_npy_free(&a);
}
END_TEST

START_TEST(npy_reads_f8_v2_v3_and_scalar)
{
	botify_npy a = {0};
	botify_err err = {0};
	const double f8[6] = { 0.1, 1e-3, -7, 1e30, 2.5, 0 };
	ck_assert_int_eq(botify_npy_read(&a, NPY_DIR "/f8_2x3.npy", &err), 0);
	ck_assert_uint_eq(a.ndim, 2);
	ck_assert_uint_eq(a.rows * a.cols, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(a.data[i], (float)f8[i]);
	botify_npy_free(&a);

	const char *v[] = { NPY_DIR "/f4_v2.npy", NPY_DIR "/f4_v3.npy" };
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(botify_npy_read(&a, v[k], &err), 0);
		ck_assert_uint_eq(a.ndim, 1);
		ck_assert_uint_eq(a.rows, 4);
		ck_assert_uint_eq(a.cols, 1);
		ck_assert_float_eq(a.data[3], 4.0f);
		botify_npy_free(&a);
	}

	ck_assert_int_eq(botify_npy_read(&a, NPY_DIR "/scalar.npy", &err), 0);
	ck_assert_uint_eq(a.ndim, 0);
	ck_assert_uint_eq(a.rows, 1);
	ck_assert_uint_eq(a.cols, 1);
	ck_assert_float_eq(a.data[0], 2.5f);
	botify_npy_free(&a);
}
END_TEST

/* Our writer emits np.save's bytes, and reads back what it wrote. */
START_TEST(npy_write_matches_numpy_and_round_trips)
{
	const float m[6] = { -1, -0.5f, 0, 0.5f, 1, 1.5f };
	const float v[3] = { 1.5f, -2, 3.25f };
	const struct { const float *data; size_t ndim, rows, cols; const char *ref; } c[] = {
		{ m, 2, 2, 3, NPY_DIR "/f4_2x3.npy" },
		{ v, 1, 3, 1, NPY_DIR "/f4_1d.npy" },
	};
	botify_err err = {0};
	char path[128];
	tu_fmt(path, sizeof(path), "%s/out.npy", tu_tmp);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(botify_npy_write(path, c[k].data, c[k].ndim, c[k].rows, c[k].cols, 1,
						  &err), 0);
		size_t n_ref, n_out;
		unsigned char ref[256];
		unsigned char *p = slurp(c[k].ref, &n_ref);
		memcpy(ref, p, n_ref);
		p = slurp(path, &n_out);
		ck_assert_uint_eq(n_out, n_ref);
		ck_assert_int_eq(memcmp(p, ref, n_ref), 0);

		botify_npy a = {0};
		ck_assert_int_eq(botify_npy_read(&a, path, &err), 0);
		ck_assert_uint_eq(a.ndim, c[k].ndim);
		ck_assert_uint_eq(a.rows, c[k].rows);
		ck_assert_uint_eq(a.cols, c[k].cols);
		ck_assert_int_eq(memcmp(a.data, c[k].data, c[k].rows * c[k].cols * sizeof(float)), 0);
		botify_npy_free(&a);
	}
}
END_TEST

START_TEST(npy_write_large_and_empty_round_trip)
{
	enum { R = 1000, C = 37 }; /* more than one write block */
	float *m = malloc(R * C * sizeof(float));
	for (int i = 0; i < R * C; i++)
		m[i] = (float)i / 7;
	botify_err err = {0};
	char path[128];
	tu_fmt(path, sizeof(path), "%s/big.npy", tu_tmp);
	ck_assert_int_eq(botify_npy_write(path, m, 2, R, C, 0, &err), 0);
	botify_npy a = {0};
	ck_assert_int_eq(botify_npy_read(&a, path, &err), 0);
	ck_assert_uint_eq(a.rows, R);
	ck_assert_uint_eq(a.cols, C);
	ck_assert_int_eq(memcmp(a.data, m, sizeof(float) * R * C), 0);
	botify_npy_free(&a);
	free(m);

	tu_fmt(path, sizeof(path), "%s/empty.npy", tu_tmp);
	ck_assert_int_eq(botify_npy_write(path, NULL, 2, 0, 8, 0, &err), 0);
	ck_assert_int_eq(botify_npy_read(&a, path, &err), 0);
	ck_assert_uint_eq(a.rows, 0);
	ck_assert_uint_eq(a.cols, 8);
	ck_assert_ptr_nonnull(a.data);
	botify_npy_free(&a);
}
END_TEST

START_TEST(npy_write_refuses_existing_and_bad_shape)
{
	const float v[2] = { 1, 2 };
	botify_err err = {0};
	char path[128];
	tu_fmt(path, sizeof(path), "%s/x.npy", tu_tmp);
	ck_assert_int_eq(botify_npy_write(path, v, 1, 2, 1, 0, &err), 0);
	ck_assert_int_eq(botify_npy_write(path, v, 1, 2, 1, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_int_eq(botify_npy_write(path, v, 1, 1, 2, 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_npy_write(path, v, 3, 1, 2, 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	ck_assert_int_eq(botify_npy_write(path, v, 2, SIZE_MAX / 2, 3, 1, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EINVAL);
	/* a parent that cannot be created (it is a file) */
	tu_fmt(path, sizeof(path), "%s/x.npy/x.npy", tu_tmp);
	ck_assert_int_eq(botify_npy_write(path, v, 1, 2, 1, 0, &err), -1);
	ck_assert_int_eq(err.code, BOTIFY_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
}
END_TEST

START_TEST(npy_missing_file_is_eio)
{
	expect_fail(NPY_DIR "/no-such.npy", BOTIFY_EIO, "cannot open");
}
END_TEST

/* A FIFO would block for ever and /dev/zero never end: refused at once. */
START_TEST(npy_special_files_are_refused)
{
	char fifo[128], link[128];
	tu_fmt(fifo, sizeof(fifo), "%s/tracks.npy", tu_tmp);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	expect_fail(fifo, BOTIFY_EIO, "is a FIFO, not a regular file");
	unlink(fifo);
	tu_fmt(link, sizeof(link), "%s/zero.npy", tu_tmp);
	ck_assert_int_eq(symlink("/dev/zero", link), 0);
	expect_fail(link, BOTIFY_EIO, "is a character device, not a regular file");
	unlink(link);
}
END_TEST

START_TEST(npy_truncated_file_names_the_file)
{
	expect_fail(NPY_DIR "/truncated.npy", BOTIFY_EFORMAT,
		    "truncated: expected 400 data bytes at byte 128, found 37");
}
END_TEST

START_TEST(npy_extra_bytes_are_an_error)
{
	expect_fail(NPY_DIR "/extra.npy", BOTIFY_EFORMAT, "3 extra bytes after the data at byte 528");
}
END_TEST

START_TEST(npy_foreign_file_is_not_npy)
{
	expect_fail(NPY_DIR "/not_npy.json", BOTIFY_EFORMAT, "byte 0: not a .npy file");
}
END_TEST

START_TEST(npy_unsupported_dtypes_say_what_was_found)
{
	expect_fail(NPY_DIR "/big_endian.npy", BOTIFY_EFORMAT, "dtype '>f4' (big-endian) not supported");
	expect_fail(NPY_DIR "/int64.npy", BOTIFY_EFORMAT, "byte 20: dtype '<i8' not supported");
}
END_TEST

START_TEST(npy_fortran_order_and_rank3_are_refused)
{
	expect_fail(NPY_DIR "/fortran.npy", BOTIFY_EFORMAT, "fortran_order True not supported");
	expect_fail(NPY_DIR "/rank3.npy", BOTIFY_EFORMAT, "shape (2, 2, 2) has more than 2 dimensions");
}
END_TEST

START_TEST(npy_f8_too_big_for_float32_is_erange)
{
	expect_fail(NPY_DIR "/f8_overflow.npy", BOTIFY_ERANGE, "byte 136: value 1e+300 does not fit");
}
END_TEST

/* Header errors that numpy never writes, in a version 1.0 image built here;
 * the dict starts at byte 10. Returns the image's length. */
static size_t build(char *img, const char *dict, const void *data, size_t n)
{
	size_t h = strlen(dict);
	memcpy(img, "\x93NUMPY\x01\x00", 8);
	img[8] = (char)h;
	img[9] = 0;
	memcpy(img + 10, dict, h);
	memcpy(img + 10 + h, data, n);
	return 10 + h + n;
}

static void expect_header_fail(const char *dict, const char *needle)
{
	char img[256];
	expect_parse_fail(img, build(img, dict, "", 0), needle);
}

START_TEST(npy_parse_reports_header_errors_with_offsets)
{
	expect_parse_fail("\x93NUMPY\x04\x00\x00\x00", 10, "byte 6: unsupported .npy version 4.0");
	expect_parse_fail("\x93NUMPY\x01\x00", 8, "truncated: header ends at byte 8");
	expect_parse_fail("\x93NUMPY\x01\x00\x40\x00{}", 12,
			  "truncated: expected a 64-byte header at byte 10, found 2");
	expect_header_fail("[1]\n", "byte 10: header is not a python dict");
	expect_header_fail("{'descr': '<f4'}\n", "byte 10: header has no 'fortran_order' key");
	expect_header_fail("{'descr': '<f4', 'x': 1}", "byte 27: unexpected key 'x' in header");
	expect_header_fail("{'descr': '<f4', 'descr': '<f4'}", "byte 27: duplicate key 'descr'");
	expect_header_fail("{'descr':'<f4','fortran_order':False,'shape':(-1,)}",
			   "byte 55: shape (-1,) has a negative dimension");
	expect_header_fail("{'descr':'<f4','fortran_order':False,'shape':(99999999999999999999,)}",
			   "shape (99999999999999999999,) has a dimension too large");
	expect_header_fail("{'descr':'<f4','fortran_order':False,'shape':(4294967296,4294967296)}",
			   "byte 10: shape (4294967296, 4294967296) is too large");
	expect_header_fail("{'descr':'<f4','fortran_order':False,'shape':(1,)} junk",
			   "byte 61: unexpected text after the header dict");
	expect_header_fail("{'descr':'<f4','fortran_order':False,'shape':[1]}",
			   "byte 55: shape [1] is not a tuple");
	expect_header_fail("{'descr':['<f4'],'fortran_order':False,'shape':(1,)}",
			   "byte 19: expected a quoted string");
}
END_TEST

/* double quotes, any key order, no padding: what other writers may emit */
START_TEST(npy_parse_accepts_minimal_header)
{
	botify_npy a = {0};
	botify_err err = {0};
	char img[256];
	const float v[2] = { 1, 2 }; /* little-endian host assumed here only */
	size_t n = build(img, "{\"shape\":(2,),\"fortran_order\":False,\"descr\":\"<f4\"}", v,
			 sizeof(v));
	ck_assert_int_eq(botify_npy_parse(&a, img, n, "mem.npy", &err), 0);
	ck_assert_uint_eq(a.ndim, 1);
	ck_assert_uint_eq(a.rows, 2);
	ck_assert_float_eq(a.data[0], 1.0f);
	ck_assert_float_eq(a.data[1], 2.0f);
	botify_npy_free(&a);
}
END_TEST

Suite *npy_suite(void)
{
	Suite *s = suite_create("npy");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tu_scratch(tc);
	tcase_add_test(tc, npy_reads_numpy_f4_2d);
	tcase_add_test(tc, npy_reads_f8_v2_v3_and_scalar);
	tcase_add_test(tc, npy_write_matches_numpy_and_round_trips);
	tcase_add_test(tc, npy_write_large_and_empty_round_trip);
	tcase_add_test(tc, npy_write_refuses_existing_and_bad_shape);
	tcase_add_test(tc, npy_missing_file_is_eio);
	tcase_add_test(tc, npy_special_files_are_refused);
	tcase_add_test(tc, npy_truncated_file_names_the_file);
	tcase_add_test(tc, npy_extra_bytes_are_an_error);
	tcase_add_test(tc, npy_foreign_file_is_not_npy);
	tcase_add_test(tc, npy_unsupported_dtypes_say_what_was_found);
	tcase_add_test(tc, npy_fortran_order_and_rank3_are_refused);
	tcase_add_test(tc, npy_f8_too_big_for_float32_is_erange);
	tcase_add_test(tc, npy_parse_reports_header_errors_with_offsets);
	tcase_add_test(tc, npy_parse_accepts_minimal_header);
	suite_add_tcase(s, tc);
	return s;
}
