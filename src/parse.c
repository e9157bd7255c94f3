#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "util.h"

/* Reasons that name something from the input are built here; the caller
 * copies or prints them before the next parse call. */
static char whybuf[512];

static const char *
skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* A non-negative decimal number with an optional fraction, then a unit
 * ("50MB", or "50 MB" as supervisord reads it too). */
static int
number_unit(const char *s, double *num, const char **unit)
{
	char *end;

	s = skip_space(s);
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	*num = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(*num) || *num < 0)
		return -1;
	*unit = skip_space(end);
	return 0;
}

static bool
unit_is(const char *unit, const char *name)
{
	size_t n = strlen(unit);

	while (n > 0 && isspace((unsigned char)unit[n - 1]))
		n--;
	return n == strlen(name) && strncasecmp(unit, name, n) == 0;
}

int
parse_size(const char *s, uint64_t total, uint64_t *out, const char **why)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024.0 }, { "kb", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1048576.0 }, { "mb", 1048576.0 }, { "mib", 1048576.0 },
		{ "g", 1073741824.0 }, { "gb", 1073741824.0 }, { "gib", 1073741824.0 },
		{ "t", 1099511627776.0 }, { "tb", 1099511627776.0 },
		{ "tib", 1099511627776.0 },
	};
	const char *unit;
	double num, v;

	if (number_unit(s, &num, &unit) != 0) {
		*why = "not a size (expected a number with K, M, G or %)";
		return -1;
	}
	if (unit_is(unit, "%")) {
		if (total == 0) {
			*why = "a percentage is not allowed here";
			return -1;
		}
		if (num > 100) {
			*why = "a percentage must be at most 100%";
			return -1;
		}
		*out = (uint64_t)(total * num / 100.0);
		return 0;
	}
	for (size_t i = 0; i < nitems(units); i++) {
		if (!unit_is(unit, units[i].suffix))
			continue;
		v = num * units[i].mult;
		if (v >= 18446744073709551615.0) {
			*why = "size is too large";
			return -1;
		}
		*out = (uint64_t)v;
		return 0;
	}
	*why = "unknown size unit (use K, M, G, T or %)";
	return -1;
}

int
parse_duration(const char *s, double *out, const char **why)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "", 1 }, { "s", 1 }, { "sec", 1 }, { "ms", 0.001 },
		{ "m", 60 }, { "min", 60 }, { "h", 3600 },
	};
	const char *unit;
	double num;

	if (number_unit(s, &num, &unit) != 0) {
		*why = "not a duration (expected a number with ms, s, m or h)";
		return -1;
	}
	for (size_t i = 0; i < nitems(units); i++) {
		if (unit_is(unit, units[i].suffix)) {
			*out = num * units[i].mult;
			if (*out > 365.0 * 86400) {
				*why = "duration is too long";
				return -1;
			}
			return 0;
		}
	}
	*why = "unknown duration unit (use ms, s, m or h)";
	return -1;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGPOLL }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

int
parse_signal(const char *s, int *out, const char **why)
{
	char *end;
	long n;

	s = skip_space(s);
	if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
		if (*skip_space(end) == '\0' && n >= 1 && n < NSIG) {
			*out = (int)n;
			return 0;
		}
		*why = "not a valid signal number";
		return -1;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < nitems(signals); i++) {
		if (unit_is(s, signals[i].name)) {
			*out = signals[i].sig;
			return 0;
		}
	}
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		bool min = strncasecmp(s, "RTMIN", 5) == 0;
		long span;

		n = 0;
		s += 5;
		if (*s == '+' || *s == '-') {
			n = strtol(s, &end, 10);
			s = end;
		}
		/* An offset beyond the range is refused before the sum. */
		span = SIGRTMAX - SIGRTMIN;
		if (*skip_space(s) == '\0' && n >= -span && n <= span &&
		    (n += min ? SIGRTMIN : SIGRTMAX) >= SIGRTMIN &&
		    n <= SIGRTMAX) {
			*out = (int)n;
			return 0;
		}
	}
	*why = "unknown signal name";
	return -1;
}

const char *
signal_name(int sig, char buf[16])
{
	for (size_t i = 0; i < nitems(signals); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	snprintf(buf, 16, "%d", sig);
	return buf;
}

int
parse_bool(const char *s, bool *out, const char **why)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };

	s = skip_space(s);
	for (size_t i = 0; i < nitems(yes); i++) {
		if (unit_is(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (unit_is(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	*why = "not a boolean (expected true or false)";
	return -1;
}

int
parse_int(const char *s, long min, long max, long *out, const char **why)
{
	char *end;
	long n;

	s = skip_space(s);
	errno = 0;
	n = strtol(s, &end, 10);
	if (end == s || *skip_space(end) != '\0' || errno != 0) {
		*why = "not an integer";
		return -1;
	}
	if (n < min || n > max) {
		snprintf(whybuf, sizeof(whybuf), "must be between %ld and %ld",
		    min, max);
		*why = whybuf;
		return -1;
	}
	*out = n;
	return 0;
}

int
parse_umask(const char *s, int *out, const char **why)
{
	char *end;
	long n;

	s = skip_space(s);
	errno = 0;
	n = strtol(s, &end, 8);
	if (end == s || *skip_space(end) != '\0' || errno != 0 || n < 0 ||
	    n > 0777) {
		*why = "not an octal umask such as 022";
		return -1;
	}
	*out = (int)n;
	return 0;
}

int
parse_exitcodes(const char *s, uint64_t set[4], const char **why)
{
	char *copy = xstrdup(s), *tok, *save = NULL;
	long code;
	int n = 0;

	memset(set, 0, 4 * sizeof(uint64_t));
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (parse_int(tok, 0, 255, &code, why) != 0) {
			*why = "exit codes must be integers from 0 to 255, "
			    "separated by commas";
			free(copy);
			return -1;
		}
		set[code / 64] |= UINT64_C(1) << (code % 64);
		n++;
	}
	free(copy);
	if (n == 0) {
		*why = "no exit codes given";
		return -1;
	}
	return 0;
}

/*
 * The shared word scanner of parse_command and parse_environment: reads
 * one word starting at *sp, stopping at unquoted whitespace or at an
 * unquoted character in stop.  Returns -1 on an unterminated quote.
 */
static int
scan_word(const char **sp, const char *stop, struct buf *w, const char **why)
{
	const char *s = *sp;
	char q = 0;

	for (; *s != '\0'; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				buf_putc(w, *s);
		} else if (q == '"') {
			if (*s == '"')
				q = 0;
			else if (*s == '\\' && s[1] != '\0' &&
			    strchr("\"\\$`", s[1]) != NULL)
				buf_putc(w, *++s);
			else
				buf_putc(w, *s);
		} else if (*s == '\'' || *s == '"') {
			q = *s;
			if (w->p == NULL)
				buf_putc(w, '\0'), w->n = 0;	/* "" is a word */
		} else if (*s == '\\') {
			if (s[1] == '\0') {
				*why = "trailing backslash";
				return -1;
			}
			if (s[1] != '\n')
				buf_putc(w, s[1]);
			s++;
		} else if (isspace((unsigned char)*s) ||
		    (stop != NULL && strchr(stop, *s) != NULL)) {
			break;
		} else
			buf_putc(w, *s);
	}
	if (q != 0) {
		*why = q == '\'' ? "unterminated single quote" :
		    "unterminated double quote";
		return -1;
	}
	*sp = s;
	return 0;
}

int
parse_command(const char *s, char ***argv, const char **why)
{
	struct strv v = { 0 };
	struct buf w = { 0 };

	for (;;) {
		s = skip_space(s);
		if (*s == '\0')
			break;
		if (scan_word(&s, NULL, &w, why) != 0) {
			free(w.p);
			strv_free(&v);
			return -1;
		}
		/* Nothing but a line continuation ("\\\n") is no word. */
		if (w.p != NULL)
			strv_push(&v, buf_take(&w));
	}
	if (v.n == 0) {
		*why = "empty command";
		return -1;
	}
	*argv = v.v;
	return 0;
}

int
parse_environment(const char *s, char ***env, const char **why)
{
	struct strv v = { 0 };
	struct buf w = { 0 };
	const char *eq;
	size_t klen;

	for (;;) {
		s = skip_space(s);
		while (*s == ',')
			s = skip_space(s + 1);
		if (*s == '\0')
			break;
		for (eq = s; isalnum((unsigned char)*eq) || *eq == '_'; eq++)
			;
		klen = eq - s;
		if (klen == 0 || isdigit((unsigned char)*s) || *eq != '=') {
			*why = "expected KEY=value pairs separated by commas";
			goto bad;
		}
		for (size_t i = 0; i < klen; i++)
			buf_putc(&w, s[i]);
		buf_putc(&w, '=');
		s = skip_space(eq + 1);
		/* A value may contain unquoted spaces: read words until a comma. */
		for (;;) {
			if (scan_word(&s, ",", &w, why) != 0)
				goto bad;
			if (*s == '\0' || *s == ',')
				break;
			while (isspace((unsigned char)*s) && *s != '\0')
				s++;
			if (*s != '\0' && *s != ',')
				buf_putc(&w, ' ');
		}
		strv_push(&v, buf_take(&w));
	}
	if (v.v == NULL)
		v.v = xcalloc(1, sizeof(char *));
	*env = v.v;
	return 0;
bad:
	free(w.p);
	strv_free(&v);
	return -1;
}

/* The width of a conversion [from, to) read as printf reads it: flags
 * (0 among them, any number of times), then digits.  -1 when anything
 * else follows (a flag after the width); widths past EXPAND_MAX_WIDTH (a
 * config value is not a way to ask for gigabytes) all read as
 * EXPAND_MAX_WIDTH + 1. */
#define EXPAND_MAX_WIDTH 4096

static long
expand_width(const char *from, const char *to)
{
	long w = 0;

	for (; from < to && strchr("-+ #0", *from) != NULL; from++)
		;
	for (; from < to && isdigit((unsigned char)*from); from++)
		if (w <= EXPAND_MAX_WIDTH)
			w = w * 10 + (*from - '0');
	if (from != to)
		return -1;
	return w > EXPAND_MAX_WIDTH ? EXPAND_MAX_WIDTH + 1 : w;
}

char *
parse_expand(const char *s, expand_lookup lookup, void *arg, const char **why)
{
	struct buf out = { 0 };
	char name[128], spec[32];
	const char *val, *close, *p;
	char *end, *f;
	size_t len;
	long num, width;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			buf_putc(&out, *s);
			continue;
		}
		if (s[1] == '%') {
			buf_putc(&out, '%');
			s++;
			continue;
		}
		if (s[1] != '(' || (close = strchr(s + 2, ')')) == NULL) {
			*why = "a '%' must start %(name)s or be written %%";
			goto bad;
		}
		len = close - (s + 2);
		if (len == 0 || len >= sizeof(name)) {
			*why = "bad %(name) expansion";
			goto bad;
		}
		memcpy(name, s + 2, len);
		name[len] = '\0';
		/* Flags and width, then the conversion letter. */
		for (p = close + 1; *p != '\0' && strchr("-+ #0123456789", *p); p++)
			;
		if ((*p != 's' && *p != 'd') || (size_t)(p - close) >= sizeof(spec) - 2) {
			snprintf(whybuf, sizeof(whybuf),
			    "%%(%s) must be followed by a conversion such as s or d",
			    name);
			*why = whybuf;
			goto bad;
		}
		if ((width = expand_width(close + 1, p)) < 0) {
			snprintf(whybuf, sizeof(whybuf), "%%(%s): flags, then a "
			    "width, then s or d", name);
			*why = whybuf;
			goto bad;
		}
		if (width > EXPAND_MAX_WIDTH) {
			snprintf(whybuf, sizeof(whybuf),
			    "%%(%s): a width over %d", name, EXPAND_MAX_WIDTH);
			*why = whybuf;
			goto bad;
		}
		if ((val = lookup(name, arg)) == NULL) {
			snprintf(whybuf, sizeof(whybuf),
			    "unknown expansion %%(%s)", name);
			*why = whybuf;
			goto bad;
		}
		spec[0] = '%';
		memcpy(spec + 1, close + 1, p - close);
		spec[p - close + 1] = '\0';
		if (*p == 'd') {
			errno = 0;
			num = strtol(val, &end, 10);
			if (*val == '\0' || *end != '\0' || errno != 0) {
				snprintf(whybuf, sizeof(whybuf),
				    "%%(%s)d: \"%.60s\" is not a number", name, val);
				*why = whybuf;
				goto bad;
			}
			spec[p - close] = 'l';
			spec[p - close + 1] = 'd';
			spec[p - close + 2] = '\0';
			f = xasprintf(spec, num);
		} else
			f = xasprintf(spec, val);
		for (const char *c = f; *c != '\0'; c++)
			buf_putc(&out, *c);
		free(f);
		s = p;
	}
	return buf_take(&out);
bad:
	free(out.p);
	return NULL;
}
