/*
 * jsonfmt.h - writing JSON text into caller-sized buffers: one string
 * escaper, and doubles as the shortest digits that read back bit for bit.
 *
 * Like pyfmt.h, each writer appends at p and returns the end; nothing is
 * NUL-terminated.
 */
#ifndef BOTIFY_JSONFMT_H
#define BOTIFY_JSONFMT_H

/* Longest botify_json_put_char output: \u001f. */
#define BOTIFY_JSON_CHAR_MAX 6
/* Longest botify_json_put_double output: sign, 17 digits, point, "e-308". */
#define BOTIFY_JSON_DOUBLE_MAX 26

/* Writes byte c as it stands inside a JSON string: '"' and '\' escaped with
 * a backslash, control bytes and DEL as \u00XX, anything else (UTF-8
 * included) as it is. */
char *botify_json_put_char(char *p, unsigned char c);

/* The shortest decimal significand that reads back as the finite x: its
 * digits (without sign or point, NUL-terminated, at most 17) go to digits,
 * and the decimal exponent of the first digit to *exp10. Returns the number
 * of digits. x = 0.00123 gives "123" and -3; the sign is the caller's. */
int botify_shortest_digits(double x, char digits[18], int *exp10);

/* A finite x as printf's %.15g writes it when 15 digits read back as x, and
 * as %.16g or %.17g otherwise: the shortest digits, plain for decimal
 * exponents -4 up to the precision, 1.5e+300 outside them, no trailing
 * zeros (5, 0.8, 1e-05). Non-finite x is the caller's to avoid. */
char *botify_json_put_double(char *p, double x);

#endif
