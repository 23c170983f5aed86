/*
 * suggest.h - "did you mean": the known name closest to a mistyped one, for
 * commands, options, recommenders and their keys.
 */
#ifndef BOTIFY_SUGGEST_H
#define BOTIFY_SUGGEST_H

#include <stddef.h>

/* How far word is from name: the edit distance, or 1 when word (three
 * letters or more) is a prefix of name, a word cut short. */
size_t botify_name_distance(const char *word, const char *name);

/* The name among names closest to word (a typo at most two edits away, or a
 * prefix of three letters or more; ties to the first), or NULL. */
const char *botify_closest(const char *word, const char *const *names, size_t n);

#endif
