/* Logging to stderr with a timestamp, a level and a subsystem tag. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

static enum log_level current = LOG_LEVEL_INFO;
static bool to_stderr = true;
static void (*tee)(void *, const char *, size_t);
static void *tee_arg;

static const struct {
	const char *name;
	enum log_level level;
} level_names[] = {
	{ "error", LOG_LEVEL_ERROR },
	{ "critical", LOG_LEVEL_ERROR },
	{ "warn", LOG_LEVEL_WARN },
	{ "warning", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
	{ "trace", LOG_LEVEL_DEBUG },
	{ "blather", LOG_LEVEL_DEBUG },
};

void
log_setlevel(enum log_level l)
{
	current = l;
}

void
log_stderr(bool on)
{
	to_stderr = on;
}

void
log_tee(void (*fn)(void *, const char *, size_t), void *arg)
{
	tee = fn;
	tee_arg = arg;
}

int
log_parse_level(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i].name) == 0)
			return level_names[i].level;
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	switch (l) {
	case LOG_LEVEL_ERROR: return "error";
	case LOG_LEVEL_WARN: return "warn";
	case LOG_LEVEL_INFO: return "info";
	case LOG_LEVEL_DEBUG: return "debug";
	}
	return "?";
}

/* Formats one line and writes it with a single write so that lines from
 * leashd never interleave mid-line with each other. */
static void
vlog(enum log_level l, const char *sub, int errnum, const char *fmt, va_list ap)
{
	char line[2048], when[32];
	struct timeval tv;
	struct tm tm;
	int n;

	if (l > current)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ld %-5s %s: ", when,
	    (long)tv.tv_usec / 1000, log_level_name(l), sub);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (errnum != 0 && (size_t)n < sizeof(line) - 2)
		n += snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (to_stderr) {
		fwrite(line, 1, n, stderr);
		fflush(stderr);
	}
	if (tee != NULL) {
		/* The log file's own complaints go to stderr only. */
		void (*fn)(void *, const char *, size_t) = tee;
		tee = NULL;
		fn(tee_arg, line, n);
		tee = fn;
	}
}

#define LOGFN(fn, level, witherr)					\
void									\
fn(const char *sub, const char *fmt, ...)				\
{									\
	int saved = errno;						\
	va_list ap;							\
	va_start(ap, fmt);						\
	vlog(level, sub, witherr ? saved : 0, fmt, ap);			\
	va_end(ap);							\
	errno = saved;							\
}

LOGFN(log_warn, LOG_LEVEL_WARN, 1)
LOGFN(log_warnx, LOG_LEVEL_WARN, 0)
LOGFN(log_info, LOG_LEVEL_INFO, 0)
LOGFN(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *sub, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, sub, saved, fmt, ap);
	va_end(ap);
	abort();
}

void
fatalx(const char *sub, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, sub, 0, fmt, ap);
	va_end(ap);
	abort();
}
