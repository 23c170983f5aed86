/*
 * recproto.h - the JSON messages botify exchanges with recommenders it did
 * not write and with clients of `botify serve` (docs/PROTOCOL.md):
 *
 *   exec: request line  {"message":"next","user":17,"track":4211,"time":1.0}
 *         answer line   {"track":981}         ("last": any object, e.g. {})
 *   HTTP: request body  {"track":4211,"time":1.0}   to POST /next|last/<user>
 *         answer body   {"user":17,"track":981}     ("last": {"user":17})
 *
 * Times are written as Python's repr writes them (shortest text that reads
 * back as the same double), so a listen time survives the trip to a remote
 * recommender and back into its log exactly. Parsers accept extra keys and
 * any key order, and return one-line messages fit to show a user or to send
 * back as a 400 reply.
 */
#ifndef BOTIFY_RECPROTO_H
#define BOTIFY_RECPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rec.h"

/* Longest line or body the formatters write, NUL included. */
#define BOTIFY_RECPROTO_MAX_LINE 128

/* The exec request line of a call, '\n' included; message is
 * BOTIFY_MSG_NEXT or BOTIFY_MSG_LAST. Returns the length. */
size_t botify_recproto_request(char *buf, int message, const botify_rec_call *c);

/* The HTTP request body of a call (no newline). Returns the length. */
size_t botify_recproto_body(char *buf, const botify_rec_call *c);

/* Writes x as Python's repr (1.0, 0.12, 1e-05) and returns the length;
 * buf needs 32 bytes and is NUL-terminated. Non-finite values are written
 * as null. */
size_t botify_recproto_double(char *buf, double x);

/* Parses an answer of len bytes: a JSON object, nothing but whitespace
 * after it. With track != NULL the object must hold an integer "track"
 * (any value: the caller checks the catalog); with user != NULL a "user"
 * key, when present, must equal *user. An object with a string "error" is
 * an error carrying that text. Messages quote the answer. */
int botify_recproto_parse_answer(const char *s, size_t len, const int64_t *user, int32_t *track,
				 botify_err *err);

/* Parses a request body {"track": int, "time": number}: track an integer
 * 0..2^31-1, time a finite number; extra keys are ignored. */
int botify_recproto_parse_body(const char *s, size_t len, int32_t *track, double *time,
			       botify_err *err);

/* Parses a URL path segment of len bytes as a decimal id, as Flask's <int:>
 * does: digits only (leading zeros allowed); more than 18 significant
 * digits give INT64_MAX, which no world holds. Returns 0 or -1. */
int botify_recproto_parse_id(const char *s, size_t len, int64_t *out);

/* Copies up to len bytes of s into out (n bytes) for a message: bytes
 * outside printable ASCII as '?' (a message may end up in a JSON reply, so
 * it must stay valid UTF-8), cut with "..." when longer than n allows.
 * Returns out. */
char *botify_recproto_quote(char *out, size_t n, const char *s, size_t len);

#endif
