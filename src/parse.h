/*
 * Parsers for the value types of leash's configuration, shared by every
 * key that takes them.  Each returns 0 on success and -1 on failure with a
 * short reason (no file or line: the caller knows those) in *why.
 */
#ifndef LEASH_PARSE_H
#define LEASH_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* "256M", "1G", "512K", "50MB", "4096", "25%" (of total: percentages need
 * total != 0).  K/M/G/T are powers of 1024; KB/KiB spellings accepted. */
int parse_size(const char *, uint64_t total, uint64_t *out, const char **why);
/* "500ms", "1.5s", "2m", "1h", or a bare number of seconds. */
int parse_duration(const char *, double *out, const char **why);
/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2". */
int parse_signal(const char *, int *out, const char **why);
/* Name of a signal without "SIG", or its number as text. */
const char *signal_name(int sig, char buf[16]);
/* true/false, yes/no, on/off, 1/0. */
int parse_bool(const char *, bool *out, const char **why);
/* A decimal integer in [min, max]. */
int parse_int(const char *, long min, long max, long *out, const char **why);
/* An octal file mode creation mask such as 022. */
int parse_umask(const char *, int *out, const char **why);
/* "0,2,3": exit codes in 0..255, stored as a 256-bit set. */
int parse_exitcodes(const char *, uint64_t set[4], const char **why);

/*
 * Splits a command line the way a POSIX shell splits words, without any
 * expansion: whitespace separates, '...' is literal, "..." allows \" \\ \$
 * \` escapes, a backslash outside quotes escapes the next character.
 * Returns a NULL-terminated vector (free with strv_free_array).
 */
int parse_command(const char *, char ***argv, const char **why);

/*
 * supervisord's environment syntax: KEY="value",KEY2='v2',KEY3=v3.  Commas
 * inside quotes do not separate.  Returns "KEY=value" strings.
 */
int parse_environment(const char *, char ***env, const char **why);

/*
 * Python-style %(name)s / %(name)d / %(name)02d expansion, as supervisord
 * does for process_name, command and friends.  lookup returns the value of
 * a name or NULL when it is unknown.  "%%" is a literal percent sign.
 * Returns a new string, or NULL with *why (and *bad naming the key).
 */
typedef const char *(*expand_lookup)(const char *name, void *arg);
char *parse_expand(const char *, expand_lookup, void *arg, const char **why);

#endif
