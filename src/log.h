/*
 * One log API for leashd (after OpenBSD ntpd's log.h, with lldpd's
 * subsystem tag).  The "x" forms do not append strerror(errno).
 * Lines go to stderr as "TIME LEVEL SUBSYSTEM: message", and to a log
 * file when one is set.
 */
#ifndef LEASH_LOG_H
#define LEASH_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#define PRINTF(f, a) __attribute__((format(printf, f, a)))

void log_setlevel(enum log_level);
/* Lines go to stderr unless turned off ([supervisord] silent). */
void log_stderr(bool);
/* Each line is also given to fn (leashd's logfile); NULL: no longer. */
void log_tee(void (*fn)(void *, const char *, size_t), void *arg);
/* Parses "error", "warn", "info", "debug" (supervisord's "critical",
 * "warning", "trace" and "blather" are accepted as aliases).  -1 if unknown. */
int log_parse_level(const char *);
const char *log_level_name(enum log_level);

void log_warn(const char *sub, const char *fmt, ...) PRINTF(2, 3);
void log_warnx(const char *sub, const char *fmt, ...) PRINTF(2, 3);
void log_info(const char *sub, const char *fmt, ...) PRINTF(2, 3);
void log_debug(const char *sub, const char *fmt, ...) PRINTF(2, 3);
void fatal(const char *sub, const char *fmt, ...) PRINTF(2, 3) __attribute__((noreturn));
void fatalx(const char *sub, const char *fmt, ...) PRINTF(2, 3) __attribute__((noreturn));

#endif
