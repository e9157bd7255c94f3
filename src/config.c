/*
 * Reading the INI file.  inih gives us (section, key, value) but neither
 * line numbers nor empty sections, so our line reader feeds inih and keeps
 * both.  Every entry is first collected with its file and line; validation
 * then walks a table of keys so that parsing, defaults and comparison come
 * from the same data.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <ini.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "config.h"
#include "event_names.h"
#include "log.h"
#include "parse.h"
#include "spawn.h"
#include "util.h"

#define INCLUDE_DEPTH_MAX 8
#define CONFIG_FILE_MAX (16u << 20)	/* bytes, a file read ("16 MiB") */

struct entry {
	char *key, *value;
	int line;
	bool used;
};

struct section {
	char *name;
	char *file;
	int line;
	struct entry *entries;
	size_t nentries;
};

struct loader {
	struct config_diag *diag;
	struct section **sections;
	size_t nsections;
	/* The file being read. */
	FILE *fp;
	const char *file;
	int lineno;		/* line the reader is on */
	bool at_line_start;
	bool continuation;	/* current line starts with whitespace */
	bool in_section;	/* a header was seen in this file */
	bool have_key;		/* an indented line may continue a value */
	struct section *cur;	/* the section keys go to */
	size_t last;		/* cur's entry an indented line continues */
	char *stack[INCLUDE_DEPTH_MAX + 2];	/* files being read (realpath) */
	int nstack;
	struct strv read;	/* every file read so far (realpath) */
};

static void diag_add(char ***v, size_t *n, size_t *cap, char *msg)
{
	if (*n + 1 >= *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = msg;
	(*v)[*n] = NULL;
}

static void
diag_vadd(struct config_diag *d, bool error, const char *file, int line,
    const char *fmt, va_list ap)
{
	char *m = xvasprintf(fmt, ap), *full;

	full = xasprintf("%s:%d: %s", file, line, m);
	free(m);
	if (error)
		diag_add(&d->errors, &d->nerrors, &d->cap_e, full);
	else
		diag_add(&d->warnings, &d->nwarnings, &d->cap_w, full);
}

static void __attribute__((format(printf, 4, 5)))
diag_error(struct config_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, true, file, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
diag_warning(struct config_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, false, file, line, fmt, ap);
	va_end(ap);
}

void
config_diag_free(struct config_diag *d)
{
	for (size_t i = 0; i < d->nerrors; i++)
		free(d->errors[i]);
	for (size_t i = 0; i < d->nwarnings; i++)
		free(d->warnings[i]);
	free(d->errors);
	free(d->warnings);
	memset(d, 0, sizeof(*d));
}

/*
 * A section named again is the same section: its keys are merged and a
 * key set again keeps the last value, as supervisord's parser (Python's
 * configparser with strict=False) reads it.
 */
static struct section *
section_new(struct loader *l, const char *name)
{
	struct section *s;

	for (size_t i = 0; i < l->nsections; i++) {
		s = l->sections[i];
		if (strcmp(s->name, name) == 0) {
			diag_warning(l->diag, l->file, l->lineno, "[%s]: section "
			    "appears again (first at %s:%d); its keys are merged "
			    "and a key set twice keeps the last value", name,
			    s->file, s->line);
			return s;
		}
	}
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name);
	s->file = xstrdup(l->file);
	s->line = l->lineno;
	l->sections = xrealloc(l->sections,
	    (l->nsections + 1) * sizeof(*l->sections));
	l->sections[l->nsections++] = s;
	return s;
}

static void
section_free(struct section *s)
{
	for (size_t i = 0; i < s->nentries; i++) {
		free(s->entries[i].key);
		free(s->entries[i].value);
	}
	free(s->entries);
	free(s->name);
	free(s->file);
	free(s);
}

static struct entry *
section_get(struct section *s, const char *key)
{
	for (size_t i = 0; i < s->nentries; i++)
		if (strcasecmp(s->entries[i].key, key) == 0)
			return &s->entries[i];
	return NULL;
}

/*
 * Cuts an inline comment: ';' or '#' at the start of the line or after
 * whitespace, as supervisord reads its files ("command = x # y" runs x).
 * Returns true when the line was cut.
 */
static bool
cut_inline_comment(char *str, bool at_start)
{
	for (char *p = str; *p != '\0' && *p != '\n'; p++) {
		if ((*p == ';' || *p == '#') && ((p == str && at_start) ||
		    (p > str && (p[-1] == ' ' || p[-1] == '\t')))) {
			p[0] = '\n';
			p[1] = '\0';
			return true;
		}
	}
	return false;
}

/*
 * inih's line reader.  It numbers lines and records each "[name]" header
 * itself, so that sections without keys exist and every key has a line.
 */
static char *
loader_read(char *str, int num, void *arg)
{
	struct loader *l = arg;
	char *p, *end;
	bool start = l->at_line_start, had_newline;
	int ch;

	if (fgets(str, num, l->fp) == NULL)
		return NULL;
	had_newline = strchr(str, '\n') != NULL;
	if (cut_inline_comment(str, start) && !had_newline) {
		/* The rest of a long line is comment too. */
		while ((ch = getc(l->fp)) != EOF && ch != '\n')
			;
	}
	if (start) {
		l->lineno++;
		p = str;
		l->continuation = *p == ' ' || *p == '\t';
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '[' && !(l->continuation && l->have_key) &&
		    (end = strchr(p, ']')) != NULL) {
			*end = '\0';
			l->cur = section_new(l, p + 1);
			*end = ']';
			l->in_section = true;
			l->have_key = false;
		}
	}
	l->at_line_start = strchr(str, '\n') != NULL;
	return str;
}

static int
loader_handler(void *arg, const char *section, const char *key, const char *value)
{
	struct loader *l = arg;
	struct section *s;
	struct entry *e;
	char *joined;

	(void)section;
	l->have_key = true;
	if (!l->in_section) {
		diag_error(l->diag, l->file, l->lineno,
		    "%s: key outside of any [section]", key);
		return 1;
	}
	s = l->cur;
	e = section_get(s, key);
	if (e != NULL && l->continuation && e == &s->entries[l->last]) {
		/* An indented line continues the previous value. */
		joined = xasprintf("%s\n%s", e->value, value);
		free(e->value);
		e->value = joined;
		return 1;
	}
	if (e != NULL) {
		diag_warning(l->diag, l->file, l->lineno,
		    "[%s] %s: set again (first at line %d); the last value is "
		    "used", s->name, key, e->line);
		free(e->value);
		e->value = xstrdup(value);
		e->line = l->lineno;
		l->last = e - s->entries;
		return 1;
	}
	s->entries = xrealloc(s->entries, (s->nentries + 1) * sizeof(*e));
	e = &s->entries[s->nentries++];
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	e->line = l->lineno;
	e->used = false;
	l->last = s->nentries - 1;
	return 1;
}

/* What %(...) may name: in a program's values, and (p NULL) in [include]
 * and [supervisord]. */
struct expand_ctx {
	const struct program_config *p;	/* NULL: outside a program */
	const char *here;		/* the directory of the value's file */
	const char *num;		/* %(process_num)d; NULL: not per process */
	char numbuf[24], numprocs[24];
	char host[256];
	char *const *env;		/* the process's environment=, or NULL */
	char *const *global_env;	/* [supervisord] environment=, or NULL */
};

static void
expand_init(struct expand_ctx *x, const struct program_config *p,
    const char *file, char *const *global_env)
{
	char *copy = xstrdup(file);

	memset(x, 0, sizeof(*x));
	x->p = p;
	x->here = xstrdup(dirname(copy));
	free(copy);
	x->global_env = global_env;
	gethostname(x->host, sizeof(x->host) - 1);
}

static void
expand_done(struct expand_ctx *x)
{
	free((char *)x->here);
}

/* The value of KEY in a "KEY=value" vector, or NULL. */
static const char *
env_get(char *const *v, const char *key)
{
	size_t n = strlen(key);

	for (; v != NULL && *v != NULL; v++)
		if (strncmp(*v, key, n) == 0 && (*v)[n] == '=')
			return *v + n + 1;
	return NULL;
}

/*
 * supervisord's expansions: %(ENV_X)s sees the process's own environment=,
 * then [supervisord] environment=, then leashd's environment.
 */
static const char *
expand_name(const char *name, void *arg)
{
	struct expand_ctx *x = arg;
	const char *v;

	if (strcmp(name, "here") == 0)
		return x->here;
	if (strcmp(name, "host_node_name") == 0)
		return x->host;
	if (strncmp(name, "ENV_", 4) == 0) {
		if ((v = env_get(x->env, name + 4)) == NULL &&
		    (v = env_get(x->global_env, name + 4)) == NULL)
			v = getenv(name + 4);
		return v;
	}
	if (x->p == NULL)
		return NULL;
	if (strcmp(name, "program_name") == 0)
		return x->p->name;
	if (strcmp(name, "group_name") == 0)
		return x->p->group;
	if (x->num != NULL && strcmp(name, "process_num") == 0)
		return x->num;
	if (x->num != NULL && strcmp(name, "numprocs") == 0)
		return x->numprocs;
	return NULL;
}

static void loader_read_file(struct loader *, const char *path, int depth,
    const char *from_file, int from_line);

/* Includes are globs relative to the including file, read in sorted order. */
static void
loader_include(struct loader *l, const char *from, struct entry *e, int depth)
{
	char *copy = xstrdup(from), *dir = dirname(copy), *save = NULL;
	char *pats, *pat, *full;
	struct expand_ctx x;
	const char *why;
	glob_t g;

	expand_init(&x, NULL, from, NULL);
	pats = parse_expand(e->value, expand_name, &x, &why);
	expand_done(&x);
	if (pats == NULL) {
		diag_error(l->diag, from, e->line, "include: %s", why);
		free(copy);
		return;
	}
	for (pat = strtok_r(pats, " \t\n", &save); pat != NULL;
	    pat = strtok_r(NULL, " \t\n", &save)) {
		full = pat[0] == '/' ? xstrdup(pat) : xasprintf("%s/%s", dir, pat);
		memset(&g, 0, sizeof(g));
		if (glob(full, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				loader_read_file(l, g.gl_pathv[i], depth + 1,
				    from, e->line);
		} else
			diag_warning(l->diag, from, e->line,
			    "include: no file matches %s", full);
		globfree(&g);
		free(full);
	}
	free(pats);
	free(copy);
}

/*
 * A configuration file, for reading: a regular file of at most
 * CONFIG_FILE_MAX bytes (an include of /dev/zero or a FIFO must not hang
 * a reload).  NULL with the reason in *why.
 */
static FILE *
config_open(const char *path, const char **why)
{
	struct stat st;
	FILE *fp;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
	} else if ((uint64_t)st.st_size > CONFIG_FILE_MAX) {
		*why = "larger than 16 MiB";
	} else if (fcntl(fd, F_SETFL, 0) == 0 &&
	    (fp = fdopen(fd, "r")) != NULL)
		return fp;
	else
		*why = strerror(errno);
	close(fd);
	return NULL;
}

static void
loader_read_file(struct loader *l, const char *path, int depth,
    const char *from_file, int from_line)
{
	size_t first = l->nsections, last;
	const char *saved_file = l->file;
	bool saved_have_key = l->have_key;
	char *real = NULL;
	FILE *saved_fp = l->fp;
	int saved_line = l->lineno;
	bool saved_start = l->at_line_start, saved_in = l->in_section;
	struct entry *e;
	const char *why;
	int rc;

	if (depth > INCLUDE_DEPTH_MAX) {
		diag_error(l->diag, from_file, from_line,
		    "include: nested more than %d deep at %s", INCLUDE_DEPTH_MAX,
		    path);
		return;
	}
	if ((real = realpath(path, NULL)) != NULL) {
		for (int i = 0; i < l->nstack; i++) {
			if (l->stack[i] != NULL && strcmp(l->stack[i], real) == 0) {
				diag_error(l->diag, from_file, from_line,
				    "include: %s is already being read (an "
				    "include loop)", path);
				free(real);
				return;
			}
		}
		/* Each file once: files that include each other (files =
		 * *.ini in each) would otherwise be read in every order. */
		for (size_t i = 0; i < l->read.n; i++) {
			if (strcmp(l->read.v[i], real) == 0) {
				diag_error(l->diag, from_file, from_line,
				    "include: %s was already read", path);
				free(real);
				return;
			}
		}
		strv_push(&l->read, xstrdup(real));
	}
	if ((l->fp = config_open(path, &why)) == NULL) {
		if (from_file != NULL)
			diag_error(l->diag, from_file, from_line,
			    "include: cannot open %s: %s", path, why);
		else
			diag_error(l->diag, path, 0, "cannot open: %s", why);
		l->fp = saved_fp;
		free(real);
		return;
	}
	l->file = path;
	l->lineno = 0;
	l->at_line_start = true;
	l->in_section = false;
	l->have_key = false;
	l->stack[l->nstack++] = real;
	rc = ini_parse_stream(loader_read, l, loader_handler, l);
	if (rc > 0)
		diag_error(l->diag, path, rc,
		    "syntax error (expected [section], key = value or a comment)");
	fclose(l->fp);

	/* Only this file's sections: includes add more as we go. */
	last = l->nsections;
	for (size_t i = first; i < last; i++) {
		struct section *s = l->sections[i];
		if (strcmp(s->name, "leashd") == 0 &&
		    (e = section_get(s, "include")) != NULL) {
			e->used = true;
			loader_include(l, s->file, e, depth);
		} else if (strcmp(s->name, "include") == 0) {
			if ((e = section_get(s, "files")) == NULL) {
				diag_error(l->diag, s->file, s->line, "[include] "
				    "files: missing (the files to include)");
				continue;
			}
			e->used = true;
			loader_include(l, s->file, e, depth);
		}
	}
	l->file = saved_file;
	l->fp = saved_fp;
	l->lineno = saved_line;
	l->at_line_start = saved_start;
	l->in_section = saved_in;
	l->have_key = saved_have_key;
	free(l->stack[--l->nstack]);
}

/* The keys of [program:NAME]. */
enum key_type {
	KEY_STRING,
	KEY_INT,
	KEY_BOOL,
	KEY_DURATION,
	KEY_SIZE,
	KEY_SIGNAL,
	KEY_UMASK,
	KEY_EXITCODES,
	KEY_AUTORESTART,
	KEY_MEMSIZE,		/* a size, or a percentage of the machine's memory */
	KEY_SOURCE,
	KEY_READY,
	KEY_EVENTS,		/* event type names: a bit set */
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	const char *def;	/* parsed like a value; NULL: unset */
	long min, max;		/* KEY_INT only */
	bool live;		/* a reload applies it without a restart */
	bool listener;		/* [eventlistener:x] only */
};

#define P(f) offsetof(struct program_config, f)
static const struct key_def program_keys[] = {
	{ "command", KEY_STRING, P(command), NULL, 0, 0, false, false },
	{ "process_name", KEY_STRING, P(process_name), "%(program_name)s", 0, 0, false, false },
	{ "numprocs", KEY_INT, P(numprocs), "1", 1, 100000, false, false },
	{ "numprocs_start", KEY_INT, P(numprocs_start), "0", 0, 1000000, false, false },
	{ "priority", KEY_INT, P(priority), "999", -1000000, 1000000, true, false },
	{ "autostart", KEY_BOOL, P(autostart), "true", 0, 0, true, false },
	{ "autorestart", KEY_AUTORESTART, P(autorestart), "unexpected", 0, 0, true, false },
	{ "exitcodes", KEY_EXITCODES, P(exitcodes), "0", 0, 0, true, false },
	{ "startsecs", KEY_DURATION, P(startsecs), "1", 0, 0, true, false },
	{ "startretries", KEY_INT, P(startretries), "3", 0, 1000000, true, false },
	{ "stopsignal", KEY_SIGNAL, P(stopsignal), "TERM", 0, 0, true, false },
	{ "stopwaitsecs", KEY_DURATION, P(stopwaitsecs), "10", 0, 0, true, false },
	{ "stopasgroup", KEY_BOOL, P(stopasgroup), "true", 0, 0, false, false },
	{ "killasgroup", KEY_BOOL, P(killasgroup), "true", 0, 0, false, false },
	{ "user", KEY_STRING, P(user), NULL, 0, 0, false, false },
	{ "directory", KEY_STRING, P(directory), NULL, 0, 0, false, false },
	{ "umask", KEY_UMASK, P(umask), NULL, 0, 0, false, false },
	{ "environment", KEY_STRING, P(environment), NULL, 0, 0, false, false },
	{ "redirect_stderr", KEY_BOOL, P(redirect_stderr), "false", 0, 0, false, false },
	{ "stdout_logfile", KEY_STRING, P(stdout_logfile), "AUTO", 0, 0, false, false },
	{ "stdout_logfile_maxbytes", KEY_SIZE, P(stdout_logfile_maxbytes), "50M", 0, 0, false, false },
	{ "stdout_logfile_backups", KEY_INT, P(stdout_logfile_backups), "10", 0, 1000, false, false },
	{ "stderr_logfile", KEY_STRING, P(stderr_logfile), "AUTO", 0, 0, false, false },
	{ "stderr_logfile_maxbytes", KEY_SIZE, P(stderr_logfile_maxbytes), "50M", 0, 0, false, false },
	{ "stderr_logfile_backups", KEY_INT, P(stderr_logfile_backups), "10", 0, 1000, false, false },
	{ "memory_limit", KEY_MEMSIZE, P(memory_limit), "0", 0, 0, true, false },
	{ "memory_max", KEY_MEMSIZE, P(memory_max), "0", 0, 0, true, false },
	{ "memory_source", KEY_SOURCE, P(memory_source), "auto", 0, 0, false, false },
	{ "memory_interval", KEY_DURATION, P(memory_interval), "1s", 0, 0, true, false },
	{ "memory_samples", KEY_INT, P(memory_samples), "2", 1, 1000, true, false },
	{ "drain_signal", KEY_SIGNAL, P(drain_signal), "TERM", 0, 0, true, false },
	{ "drain_timeout", KEY_DURATION, P(drain_timeout), "30s", 0, 0, true, false },
	{ "max_replacing", KEY_INT, P(max_replacing), "1", 1, 100000, true, false },
	{ "ready", KEY_READY, P(ready), "startsecs", 0, 0, false, false },
	{ "ready_timeout", KEY_DURATION, P(ready_timeout), "60s", 0, 0, true, false },
	{ "watchdog_sec", KEY_DURATION, P(watchdog_sec), "0", 0, 0, true, false },
	{ "sockets", KEY_STRING, P(sockets), NULL, 0, 0, false, false },
	{ "serverurl", KEY_STRING, P(serverurl), NULL, 0, 0, false, false },
	{ "stdout_capture_maxbytes", KEY_SIZE, P(stdout_capture_maxbytes), "0", 0, 0, false, false },
	{ "stderr_capture_maxbytes", KEY_SIZE, P(stderr_capture_maxbytes), "0", 0, 0, false, false },
	{ "stdout_syslog", KEY_BOOL, P(stdout_syslog), "false", 0, 0, false, false },
	{ "stderr_syslog", KEY_BOOL, P(stderr_syslog), "false", 0, 0, false, false },
	{ "stdout_events_enabled", KEY_BOOL, P(stdout_events_enabled), "false", 0, 0, false, false },
	{ "stderr_events_enabled", KEY_BOOL, P(stderr_events_enabled), "false", 0, 0, false, false },
	{ "events", KEY_EVENTS, P(events), NULL, 0, 0, false, true },
	{ "buffer_size", KEY_INT, P(buffer_size), "10", 1, 1000000, true, true },
	{ "result_handler", KEY_STRING, P(result_handler), NULL, 0, 0, false, true },
};
#undef P

/* Total RAM, for sizes given as a percentage. */
static uint64_t
total_memory(void)
{
	struct sysinfo si;

	if (sysinfo(&si) != 0)
		return 0;
	return (uint64_t)si.totalram * si.mem_unit;
}

/* Parses one value into its field.  Returns -1 with *why on a bad value. */
static int
key_parse(const struct key_def *k, const char *v, void *base, const char **why)
{
	char *field = (char *)base + k->off;
	bool b;

	switch (k->type) {
	case KEY_STRING:
		*(char **)field = xstrdup(v);
		return 0;
	case KEY_INT:
		return parse_int(v, k->min, k->max, (long *)field, why);
	case KEY_BOOL:
		if (parse_bool(v, &b, why) != 0)
			return -1;
		*(bool *)field = b;
		return 0;
	case KEY_DURATION:
		return parse_duration(v, (double *)field, why);
	case KEY_SIZE:
		return parse_size(v, 0, (uint64_t *)field, why);
	case KEY_SIGNAL:
		return parse_signal(v, (int *)field, why);
	case KEY_UMASK:
		return parse_umask(v, (int *)field, why);
	case KEY_EXITCODES:
		return parse_exitcodes(v, (uint64_t *)field, why);
	case KEY_MEMSIZE:
		return parse_size(v, total_memory(), (uint64_t *)field, why);
	case KEY_SOURCE:
		if (memory_parse_source(v, (enum memory_source *)field) != 0) {
			*why = "must be auto, cgroup, rss, pss or uss";
			return -1;
		}
		return 0;
	case KEY_READY:
		if (strcasecmp(v, "startsecs") == 0) {
			*(enum ready_kind *)field = READY_STARTSECS;
			return 0;
		}
		if (strcasecmp(v, "notify") == 0) {
			*(enum ready_kind *)field = READY_NOTIFY;
			return 0;
		}
		*why = "must be startsecs or notify";
		return -1;
	case KEY_EVENTS: {
		static char msg[96];
		char bad[64];
		if (event_parse_names(v, (uint64_t *)field, bad, sizeof(bad)) != 0) {
			snprintf(msg, sizeof(msg), "unknown event type %s", bad);
			*why = msg;
			return -1;
		}
		return 0;
	}
	case KEY_AUTORESTART:
		if (strcasecmp(v, "unexpected") == 0) {
			*(enum autorestart *)field = AUTORESTART_UNEXPECTED;
			return 0;
		}
		if (parse_bool(v, &b, why) != 0) {
			*why = "must be true, false or unexpected";
			return -1;
		}
		*(enum autorestart *)field = b ? AUTORESTART_TRUE : AUTORESTART_FALSE;
		return 0;
	}
	return -1;
}

static bool
key_equal(const struct key_def *k, const void *a, const void *b)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
	const char *sa, *sb;

	switch (k->type) {
	case KEY_STRING:
		sa = *(char *const *)fa;
		sb = *(char *const *)fb;
		return (sa == NULL || sb == NULL) ? sa == sb : strcmp(sa, sb) == 0;
	case KEY_INT:
		return *(const long *)fa == *(const long *)fb;
	case KEY_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case KEY_DURATION:
		return *(const double *)fa == *(const double *)fb;
	case KEY_SIZE:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	case KEY_SIGNAL:
	case KEY_UMASK:
		return *(const int *)fa == *(const int *)fb;
	case KEY_EXITCODES:
		return memcmp(fa, fb, 4 * sizeof(uint64_t)) == 0;
	case KEY_AUTORESTART:
		return *(const enum autorestart *)fa == *(const enum autorestart *)fb;
	case KEY_MEMSIZE:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	case KEY_SOURCE:
		return *(const enum memory_source *)fa == *(const enum memory_source *)fb;
	case KEY_READY:
		return *(const enum ready_kind *)fa == *(const enum ready_kind *)fb;
	case KEY_EVENTS:
		return *(const uint64_t *)fa == *(const uint64_t *)fb;
	}
	return false;
}

static void
logfile_free(struct logfile_config *lf)
{
	free(lf->path);
}

void
program_config_free(struct program_config *p)
{
	if (p == NULL)
		return;
	for (size_t k = 0; k < nitems(program_keys); k++)
		if (program_keys[k].type == KEY_STRING)
			free(*(char **)((char *)p + program_keys[k].off));
	if (p->procs != NULL) {
		for (long i = 0; i < p->numprocs; i++) {
			struct process_config *pc = &p->procs[i];
			free(pc->name);
			strv_free_array(pc->argv);
			strv_free_array(pc->env);
			free(pc->directory);
			logfile_free(&pc->out);
			logfile_free(&pc->err);
		}
		free(p->procs);
	}
	strv_free_array(p->socket_names);
	free(p->name);
	free(p->group);
	free(p->file);
	free(p);
}

void
socket_config_free(struct socket_config *sc)
{
	if (sc == NULL)
		return;
	free(sc->name);
	free(sc->file);
	free(sc->listen);
	free(sc->owner);
	free(sc);
}

static void
rpc_server_config_free(struct rpc_server_config *rc)
{
	if (rc == NULL)
		return;
	free(rc->sock.name);
	free(rc->sock.file);
	free(rc->sock.listen);
	free(rc->sock.owner);
	free(rc->username);
	free(rc->password);
	free(rc);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nrpc; i++)
		rpc_server_config_free(c->rpc[i]);
	rpc_server_config_free(c->metrics);
	for (size_t i = 0; i < c->nprograms; i++)
		program_config_free(c->programs[i]);
	free(c->programs);
	for (size_t i = 0; i < c->nsockets; i++)
		socket_config_free(c->sockets[i]);
	free(c->sockets);
	free(c->file);
	free(c->control_socket);
	free(c->control_group);
	free(c->childlogdir);
	free(c->pidfile);
	free(c->logfile);
	free(c->identifier);
	free(c->user);
	free(c->directory);
	strv_free_array(c->environment);
	free(c);
}

/* The line of key in s, or of the section header when it is not set. */
static int
key_line(struct section *s, const char *key)
{
	struct entry *e = section_get(s, key);

	return e != NULL ? e->line : s->line;
}

static char *
expand_or_error(struct config_diag *d, struct section *s, const char *key,
    const char *value, struct expand_ctx *x)
{
	const char *why;
	char *r = parse_expand(value, expand_name, x, &why);

	if (r == NULL)
		diag_error(d, s->file, key_line(s, key), "[%s] %s: %s", s->name,
		    key, why);
	return r;
}

static bool
is_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A value that names a file as supervisord does: NONE/off, or a path
 * where "~/" is the home directory. */
static char *
path_value(const char *v)
{
	const char *home = getenv("HOME");

	if (strcasecmp(v, "none") == 0 || strcasecmp(v, "off") == 0 || *v == '\0')
		return NULL;
	if (strncmp(v, "~/", 2) == 0 && home != NULL)
		return xasprintf("%s/%s", home, v + 2);
	return xstrdup(v);
}

/*
 * Resolves a stdout_logfile/stderr_logfile value: NONE, AUTO (a file in
 * childlogdir named after the process) or a path.
 */
static int
logfile_resolve(struct config_diag *d, struct section *s, const char *key,
    const char *value, struct expand_ctx *x, const char *childlogdir,
    const char *procname, const char *stream, struct logfile_config *out)
{
	char *v;

	if (strcasecmp(value, "NONE") == 0 || strcasecmp(value, "off") == 0 ||
	    value[0] == '\0') {
		out->path = NULL;
		return 0;
	}
	if (strcasecmp(value, "AUTO") == 0) {
		if (strcmp(procname, x->p->name) == 0)
			out->path = xasprintf("%s/%s-%s.log", childlogdir,
			    procname, stream);
		else
			out->path = xasprintf("%s/%s-%s-%s.log", childlogdir,
			    x->p->name, procname, stream);
		return 0;
	}
	if (strcasecmp(value, "journal") == 0 || strcasecmp(value, "syslog") == 0) {
		/* The file AUTO would give is where output goes when there is
		 * no journal to write to; syslog (supervisord's) goes to the
		 * journal, which forwards it to syslog. */
		out->journal = true;
		return logfile_resolve(d, s, key, "AUTO", x, childlogdir,
		    procname, stream, out);
	}
	if ((v = expand_or_error(d, s, key, value, x)) == NULL)
		return -1;
	out->path = path_value(v);
	free(v);
	return 0;
}

/* Expands everything that may differ between the processes of p. */
static int
name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A process name used twice, or NULL (sorted: numprocs = 100000 is
 * checked at once). */
static const char *
duplicate_name(const struct program_config *p)
{
	const char **v = xcalloc(p->numprocs, sizeof(*v)), *dup = NULL;

	for (long i = 0; i < p->numprocs; i++)
		v[i] = p->procs[i].name;
	qsort(v, p->numprocs, sizeof(*v), name_order);
	for (long i = 1; i < p->numprocs && dup == NULL; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			dup = v[i];
	free(v);
	return dup;
}

/*
 * stdout_syslog = true: the output goes to the journal (which forwards to
 * syslog) when no file is named; leash does not write both.
 */
static const char *
syslog_value(struct config_diag *d, struct section *s, const char *stream,
    bool syslog, const char *value, bool say)
{
	if (!syslog)
		return value;
	if (strcasecmp(value, "AUTO") == 0 || strcasecmp(value, "NONE") == 0 ||
	    strcasecmp(value, "off") == 0 || strcasecmp(value, "syslog") == 0)
		return "journal";
	if (say)
		diag_warning(d, s->file, key_line(s, stream[3] == 'o' ?
		    "stdout_syslog" : "stderr_syslog"), "[%s] %s_syslog: leash "
		    "writes output to a file or to the journal, not both: it "
		    "goes to %s only", s->name, stream, value);
	return value;
}

/* [supervisord] environment= under a process's own, as supervisord
 * merges them. */
static void
env_merge(char ***env, char *const *global)
{
	struct strv v = { 0 };

	if (global == NULL)
		return;
	for (char *const *g = global; *g != NULL; g++) {
		char *key = xstrdup(*g);
		*strchr(key, '=') = '\0';
		if (env_get(*env, key) == NULL)
			strv_push(&v, xstrdup(*g));
		free(key);
	}
	for (char **e = *env; e != NULL && *e != NULL; e++)
		strv_push(&v, xstrdup(*e));
	strv_free_array(*env);
	*env = v.v ? v.v : xcalloc(1, sizeof(char *));
}

static int
program_expand(struct config_diag *d, struct section *s,
    struct program_config *p, const struct config *c)
{
	struct expand_ctx x;
	const char *why, *dup;
	char *cmd;
	int errors = 0;

	expand_init(&x, p, s->file, c->environment);
	snprintf(x.numprocs, sizeof(x.numprocs), "%ld", p->numprocs);
	x.num = x.numbuf;
	p->procs = xcalloc(p->numprocs, sizeof(*p->procs));
	for (long i = 0; i < p->numprocs && errors == 0; i++) {
		struct process_config *pc = &p->procs[i];

		pc->num = p->numprocs_start + i;
		snprintf(x.numbuf, sizeof(x.numbuf), "%ld", pc->num);
		x.env = NULL;
		if (p->environment != NULL) {
			char *env = expand_or_error(d, s, "environment",
			    p->environment, &x);
			if (env == NULL) {
				errors++;
				break;
			}
			if (parse_environment(env, &pc->env, &why) != 0) {
				diag_error(d, s->file, key_line(s, "environment"),
				    "[%s] environment: %s", s->name, why);
				errors++;
			}
			free(env);
		}
		env_merge(&pc->env, c->environment);
		x.env = pc->env;
		if ((pc->name = expand_or_error(d, s, "process_name",
		    p->process_name, &x)) == NULL) {
			errors++;
			break;
		}
		if (pc->name[0] == '\0' || strpbrk(pc->name, ": \t\n/") != NULL) {
			diag_error(d, s->file, key_line(s, "process_name"),
			    "[%s] process_name: \"%s\" is not a valid name (no "
			    "spaces, ':' or '/')", s->name, pc->name);
			errors++;
			break;
		}
		if ((cmd = expand_or_error(d, s, "command", p->command, &x)) == NULL) {
			errors++;
			break;
		}
		if (parse_command(cmd, &pc->argv, &why) != 0) {
			diag_error(d, s->file, key_line(s, "command"),
			    "[%s] command: %s", s->name, why);
			errors++;
		}
		free(cmd);
		if (p->directory != NULL && (pc->directory = expand_or_error(d,
		    s, "directory", p->directory, &x)) == NULL)
			errors++;
		pc->out.strip_ansi = pc->err.strip_ansi = c->strip_ansi;
		pc->out.maxbytes = p->stdout_logfile_maxbytes;
		pc->out.backups = p->stdout_logfile_backups;
		pc->err.maxbytes = p->stderr_logfile_maxbytes;
		pc->err.backups = p->stderr_logfile_backups;
		if (logfile_resolve(d, s, "stdout_logfile", syslog_value(d, s,
		    "stdout", p->stdout_syslog, p->stdout_logfile, i == 0), &x,
		    c->childlogdir, pc->name, "stdout", &pc->out) != 0)
			errors++;
		if (!p->redirect_stderr && logfile_resolve(d, s, "stderr_logfile",
		    syslog_value(d, s, "stderr", p->stderr_syslog,
		    p->stderr_logfile, i == 0), &x, c->childlogdir, pc->name,
		    "stderr", &pc->err) != 0)
			errors++;
	}
	expand_done(&x);
	if (errors == 0 && (dup = duplicate_name(p)) != NULL) {
		diag_error(d, s->file, key_line(s, "process_name"),
		    "[%s] process_name: \"%s\" is used by two processes; "
		    "include %%(process_num)d", s->name, dup);
		errors++;
	}
	return errors == 0 ? 0 : -1;
}

/* [group:NAME]: programs= (required) and priority. */
struct group_def {
	char *name;
	long priority;
	char **programs;
};

/* Keys expanded for each process (with %(process_num)d), kept as written. */
static bool
per_process_key(const char *key)
{
	static const char *const keys[] = { "command", "process_name",
	    "environment", "directory", "stdout_logfile", "stderr_logfile" };

	for (size_t i = 0; i < nitems(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/*
 * Every other value is expanded once for the program, as supervisord does
 * (numprocs = %(ENV_WORKERS)s), then parsed.
 */
static int
program_key_load(struct config_diag *d, struct section *s,
    const struct key_def *k, struct entry *e, struct expand_ctx *x,
    struct program_config *p)
{
	const char *why;
	char *v;
	int rc;

	/* "50%" is a leash size, not an expansion. */
	if (per_process_key(k->name) || (strstr(e->value, "%(") == NULL &&
	    strstr(e->value, "%%") == NULL))
		v = xstrdup(e->value);
	else if ((v = expand_or_error(d, s, k->name, e->value, x)) == NULL)
		return -1;
	if ((rc = key_parse(k, v, p, &why)) != 0) {
		if (strcmp(v, e->value) != 0)
			diag_error(d, s->file, e->line, "[%s] %s: \"%s\" (from "
			    "\"%s\"): %s", s->name, k->name, v, e->value, why);
		else
			diag_error(d, s->file, e->line, "[%s] %s: \"%s\": %s",
			    s->name, k->name, v, why);
	}
	free(v);
	return rc;
}

/* SUPERVISOR_SERVER_URL: the program's serverurl, else the UNIX server's,
 * else the inet one's, as supervisord picks it; NULL without a server. */
static char *
default_serverurl(const struct config *c)
{
	for (int unix_first = 1; unix_first >= 0; unix_first--) {
		for (size_t i = 0; i < c->nrpc; i++) {
			const char *l = c->rpc[i]->sock.listen;
			if (unix_first && strncmp(l, "unix:", 5) == 0)
				return xasprintf("unix://%s", l + 5);
			if (!unix_first && strncmp(l, "tcp:", 4) == 0) {
				const char *port = strrchr(l, ':');
				int hostlen = (int)(port - (l + 4));
				bool any = hostlen == 0 ||
				    (hostlen == 1 && l[4] == '*');
				return xasprintf("http://%.*s:%s", any ? 9 : hostlen,
				    any ? "localhost" : l + 4, port + 1);
			}
		}
	}
	return NULL;
}

static struct program_config *
program_load(struct config_diag *d, struct section *s, const char *name,
    const struct group_def *g, const struct config *c)
{
	struct program_config *p = xcalloc(1, sizeof(*p));
	const struct key_def *k;
	struct expand_ctx x;
	struct entry *e;
	const char *why;
	int errors = 0;

	p->name = xstrdup(name);
	p->group = xstrdup(g != NULL ? g->name : name);
	p->file = xstrdup(s->file);
	p->line = s->line;
	p->umask = -1;
	p->listener = strncmp(s->name, "eventlistener:", 14) == 0;
	p->fcgi = strncmp(s->name, "fcgi-program:", 13) == 0;
	expand_init(&x, p, s->file, c->environment);
	for (size_t i = 0; i < nitems(program_keys); i++) {
		k = &program_keys[i];
		e = k->listener && !p->listener ? NULL : section_get(s, k->name);
		if (e != NULL) {
			e->used = true;
			if (program_key_load(d, s, k, e, &x, p) != 0)
				errors++;
		} else if (k->def != NULL && key_parse(k, k->def, p, &why) != 0)
			fatalx("config", "default of %s: %s", k->name, why);
	}
	expand_done(&x);
	/* A listener pool starts first and stops last (supervisord's -1). */
	p->group_priority = g != NULL ? g->priority :
	    p->listener && section_get(s, "priority") == NULL ? -1 : p->priority;
	if (p->serverurl == NULL || strcasecmp(p->serverurl, "AUTO") == 0) {
		free(p->serverurl);
		p->serverurl = default_serverurl(c);
	}
	for (size_t i = 0; i < s->nentries; i++) {
		if (!s->entries[i].used)
			diag_warning(d, s->file, s->entries[i].line,
			    "[%s] %s: unknown key, ignored", s->name,
			    s->entries[i].key);
	}
	if (errors != 0)
		goto bad;
	if (p->command == NULL) {
		diag_error(d, s->file, s->line,
		    "[%s] command: missing (every program needs a command)",
		    s->name);
		goto bad;
	}
	if (p->listener && p->events == 0) {
		diag_error(d, s->file, key_line(s, "events"), "[%s] events: "
		    "missing (the event types the listener takes)", s->name);
		goto bad;
	}
	if (p->listener && p->redirect_stderr) {
		diag_error(d, s->file, key_line(s, "redirect_stderr"), "[%s] "
		    "redirect_stderr: not for a listener: its stdout is the "
		    "event protocol", s->name);
		goto bad;
	}
	if (p->result_handler != NULL &&
	    strcmp(p->result_handler, "supervisor.dispatchers:default_handler") != 0) {
		diag_error(d, s->file, key_line(s, "result_handler"), "[%s] "
		    "result_handler: only supervisord's default (OK accepts an "
		    "event, anything else rejects it) is built in", s->name);
		goto bad;
	}
	if (p->numprocs > 1 && strstr(p->process_name, "%(process_num)") == NULL) {
		diag_error(d, s->file, key_line(s, "process_name"),
		    "[%s] process_name: numprocs is %ld but process_name \"%s\" "
		    "does not contain %%(process_num)", s->name, p->numprocs,
		    p->process_name);
		goto bad;
	}
	if (section_get(s, "stopasgroup") != NULL &&
	    section_get(s, "killasgroup") == NULL)
		p->killasgroup = p->stopasgroup;	/* supervisord's default */
	if (p->stopasgroup && !p->killasgroup) {
		diag_error(d, s->file, key_line(s, "killasgroup"),
		    "[%s] killasgroup: cannot be false when stopasgroup is true",
		    s->name);
		goto bad;
	}
	if (p->memory_max != 0 && p->memory_limit != 0 &&
	    p->memory_max <= p->memory_limit) {
		diag_error(d, s->file, key_line(s, "memory_max"),
		    "[%s] memory_max: must be above memory_limit", s->name);
		goto bad;
	}
	if (p->memory_interval < 0.01) {
		diag_error(d, s->file, key_line(s, "memory_interval"),
		    "[%s] memory_interval: must be at least 10ms", s->name);
		goto bad;
	}
	if (p->user != NULL && getpwnam(p->user) == NULL) {
		diag_error(d, s->file, key_line(s, "user"),
		    "[%s] user: no such user \"%s\"", s->name, p->user);
		goto bad;
	}
	if (program_expand(d, s, p, c) != 0)
		goto bad;
	return p;
bad:
	program_config_free(p);
	return NULL;
}

/*
 * [leashd] and [supervisord]: the daemon's own keys, supervisord's with
 * their meaning.  Both sections may be present; [leashd] is read last.
 */
#define C(f) offsetof(struct config, f)
static const struct key_def daemon_keys[] = {
	{ "control_socket", KEY_STRING, C(control_socket), NULL, 0, 0, false, false },
	{ "control_group", KEY_STRING, C(control_group), NULL, 0, 0, false, false },
	{ "use_cgroups", KEY_BOOL, C(use_cgroups), "true", 0, 0, false, false },
	{ "childlogdir", KEY_STRING, C(childlogdir), NULL, 0, 0, false, false },
	{ "pidfile", KEY_STRING, C(pidfile), NULL, 0, 0, false, false },
	{ "logfile", KEY_STRING, C(logfile), NULL, 0, 0, false, false },
	{ "logfile_maxbytes", KEY_SIZE, C(logfile_maxbytes), "50M", 0, 0, false, false },
	{ "logfile_backups", KEY_INT, C(logfile_backups), "10", 0, 1000, false, false },
	{ "identifier", KEY_STRING, C(identifier), "supervisor", 0, 0, false, false },
	{ "umask", KEY_UMASK, C(umask), NULL, 0, 0, false, false },
	{ "user", KEY_STRING, C(user), NULL, 0, 0, false, false },
	{ "directory", KEY_STRING, C(directory), NULL, 0, 0, false, false },
	/* supervisord requires 1024 and 200 unless told otherwise; leashd
	 * requires what it is told. */
	{ "minfds", KEY_INT, C(minfds), "0", 0, 1 << 24, false, false },
	{ "minprocs", KEY_INT, C(minprocs), "0", 0, 1 << 24, false, false },
	{ "nodaemon", KEY_BOOL, C(nodaemon), "false", 0, 0, false, false },
	{ "silent", KEY_BOOL, C(silent), "false", 0, 0, false, false },
	{ "strip_ansi", KEY_BOOL, C(strip_ansi), "false", 0, 0, false, false },
};
#undef C

static void
daemon_defaults(struct config *c)
{
	const char *why;

	c->loglevel = LOG_LEVEL_INFO;
	c->umask = -1;
	for (size_t i = 0; i < nitems(daemon_keys); i++)
		if (daemon_keys[i].def != NULL &&
		    key_parse(&daemon_keys[i], daemon_keys[i].def, c, &why) != 0)
			fatalx("config", "default of %s: %s", daemon_keys[i].name,
			    why);
}

/* metrics = tcp:HOST:PORT or unix:PATH, a server of GET /metrics. */
static int
metrics_load(struct config *c, const struct section *s, int line,
    const char *v, const char **why)
{
	struct rpc_server_config *rc;
	const char *port;
	long n;

	if (strncmp(v, "unix:", 5) == 0 && v[5] == '/') {
		rc = xcalloc(1, sizeof(*rc));
		rc->sock.listen = xasprintf("unix:%s", v + 5);
		rc->sock.mode = 0660;
	} else if (strncmp(v, "tcp:", 4) == 0 &&
	    (port = strrchr(v + 4, ':')) != NULL &&
	    parse_int(port + 1, 1, 65535, &n, why) == 0) {
		rc = xcalloc(1, sizeof(*rc));
		rc->sock.listen = xstrdup(v);
	} else {
		*why = "expected tcp:HOST:PORT or unix:/PATH";
		return -1;
	}
	rc->sock.name = xstrdup(s->name);
	rc->sock.file = xstrdup(s->file);
	rc->sock.line = line;
	rc->sock.backlog = 128;
	rpc_server_config_free(c->metrics);
	c->metrics = rc;
	return 0;
}

static void
daemon_section_load(struct config_diag *d, struct section *s, struct config *c)
{
	const struct key_def *k;
	struct expand_ctx x;
	struct entry *e;
	const char *why;
	char *v, **field;
	int level;
	bool b;

	expand_init(&x, NULL, s->file, NULL);
	/* environment= first: the other values may name %(ENV_X)s from it. */
	if ((e = section_get(s, "environment")) != NULL) {
		e->used = true;
		if ((v = expand_or_error(d, s, e->key, e->value, &x)) != NULL) {
			strv_free_array(c->environment);
			c->environment = NULL;
			if (parse_environment(v, &c->environment, &why) != 0)
				diag_error(d, s->file, e->line, "[%s] environment: "
				    "%s", s->name, why);
			free(v);
		}
	}
	x.global_env = c->environment;
	for (size_t i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if (e->used || (strcmp(s->name, "leashd") == 0 &&
		    strcasecmp(e->key, "include") == 0))
			continue;
		e->used = true;
		if ((v = expand_or_error(d, s, e->key, e->value, &x)) == NULL)
			continue;
		k = NULL;
		for (size_t j = 0; j < nitems(daemon_keys) && k == NULL; j++)
			if (strcasecmp(e->key, daemon_keys[j].name) == 0)
				k = &daemon_keys[j];
		if (k != NULL) {
			field = (char **)((char *)c + k->off);
			if (k->type == KEY_STRING) {
				free(*field);
				*field = NULL;
			}
			if (key_parse(k, v, c, &why) != 0)
				diag_error(d, s->file, e->line, "[%s] %s: \"%s\": "
				    "%s", s->name, k->name, v, why);
		} else if (strcasecmp(e->key, "loglevel") == 0) {
			if ((level = log_parse_level(v)) < 0)
				diag_error(d, s->file, e->line, "[%s] loglevel: "
				    "\"%s\": expected error, warn, info or debug",
				    s->name, v);
			else
				c->loglevel = level;
		} else if (strcasecmp(e->key, "metrics") == 0) {
			if (metrics_load(c, s, e->line, v, &why) != 0)
				diag_error(d, s->file, e->line, "[%s] metrics: "
				    "\"%s\": %s", s->name, v, why);
		} else if (strcasecmp(e->key, "nocleanup") == 0) {
			/* supervisord removes old AUTO logs at start unless
			 * set; leash's AUTO names are stable, so nothing is
			 * left to clean either way. */
			if (parse_bool(v, &b, &why) != 0)
				diag_error(d, s->file, e->line, "[%s] nocleanup: "
				    "\"%s\": %s", s->name, v, why);
		} else
			diag_warning(d, s->file, e->line,
			    "[%s] %s: unknown key, ignored", s->name, e->key);
		free(v);
	}
	expand_done(&x);
	if (c->control_group != NULL && getgrnam(c->control_group) == NULL)
		diag_error(d, s->file, key_line(s, "control_group"),
		    "[%s] control_group: no such group \"%s\"", s->name,
		    c->control_group);
	if (c->user != NULL && getpwnam(c->user) == NULL)
		diag_error(d, s->file, key_line(s, "user"),
		    "[%s] user: no such user \"%s\"", s->name, c->user);
	if (c->directory != NULL && !is_directory(c->directory))
		diag_error(d, s->file, key_line(s, "directory"),
		    "[%s] directory: %s is not a directory", s->name,
		    c->directory);
	if (c->logfile != NULL && section_get(s, "logfile") != NULL) {
		v = c->logfile;
		c->logfile = strcasecmp(v, "syslog") == 0 ? NULL : path_value(v);
		if (c->logfile == NULL && strcasecmp(v, "syslog") == 0)
			diag_warning(d, s->file, key_line(s, "logfile"),
			    "[%s] logfile = syslog: leashd logs to stderr, which "
			    "systemd sends to the journal and syslog", s->name);
		free(v);
	}
}

static bool valid_program_name(const char *);

static void
group_load(struct config_diag *d, struct section *s, const struct config *c,
    struct group_def **v, size_t *n)
{
	struct group_def g = { .priority = 999 };
	struct expand_ctx x;
	struct entry *e;
	const char *why;
	char *val, *tok, *save = NULL;
	struct strv progs = { 0 };
	int errors = 0;

	g.name = s->name + 6;
	if (!valid_program_name(g.name)) {
		diag_error(d, s->file, s->line, "[%s]: \"%s\" is not a valid "
		    "group name (no spaces, ':', '/' or '*')", s->name, g.name);
		return;
	}
	expand_init(&x, NULL, s->file, c->environment);
	for (size_t i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if ((val = expand_or_error(d, s, e->key, e->value, &x)) == NULL) {
			errors++;
			continue;
		}
		if (strcasecmp(e->key, "programs") == 0) {
			for (tok = strtok_r(val, ", \t\n", &save); tok != NULL;
			    tok = strtok_r(NULL, ", \t\n", &save))
				strv_push(&progs, xstrdup(tok));
		} else if (strcasecmp(e->key, "priority") == 0) {
			if (parse_int(val, -1000000, 1000000, &g.priority,
			    &why) != 0) {
				diag_error(d, s->file, e->line, "[%s] priority: "
				    "\"%s\": %s", s->name, val, why);
				errors++;
			}
		} else
			diag_warning(d, s->file, e->line,
			    "[%s] %s: unknown key, ignored", s->name, e->key);
		free(val);
	}
	expand_done(&x);
	if (progs.n == 0 && errors == 0) {
		diag_error(d, s->file, key_line(s, "programs"), "[%s] programs: "
		    "missing (the [program:x] sections of the group)", s->name);
		errors++;
	}
	if (errors != 0) {
		strv_free(&progs);
		return;
	}
	g.name = xstrdup(g.name);
	g.programs = progs.v;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = g;
}

/* The group that names program, or NULL. */
static const struct group_def *
group_of(const struct group_def *v, size_t n, const char *program)
{
	for (size_t i = 0; i < n; i++)
		for (char **p = v[i].programs; *p != NULL; p++)
			if (strcmp(*p, program) == 0)
				return &v[i];
	return NULL;
}

/* supervisord's default is the temporary directory; as root we prefer the
 * system log directory, and systemd's LogsDirectory= when it is set. */
static char *
default_childlogdir(void)
{
	const char *d;

	if ((d = getenv("LOGS_DIRECTORY")) != NULL && *d != '\0')
		return xstrdup(d);
	if (geteuid() == 0)
		return xstrdup("/var/log/leash");
	if ((d = getenv("TMPDIR")) != NULL && *d != '\0')
		return xstrdup(d);
	return xstrdup("/tmp");
}

static bool
valid_program_name(const char *n)
{
	if (*n == '\0')
		return false;
	for (; *n != '\0'; n++)
		if (isspace((unsigned char)*n) || *n == ':' || *n == '/' ||
		    *n == '*')
			return false;
	return true;
}

/* Every value of s (with prefix: of the keys that start with it) expanded
 * in place (%(here)s, %(ENV_X)s), as supervisord expands its server
 * sections.  Returns the number of errors. */
static int
section_expand(struct config_diag *d, struct section *s, const struct config *c,
    const char *prefix)
{
	struct expand_ctx x;
	int errors = 0;
	char *v;

	expand_init(&x, NULL, s->file, c->environment);
	for (size_t i = 0; i < s->nentries; i++) {
		struct entry *e = &s->entries[i];
		if (strchr(e->value, '%') == NULL || (prefix != NULL &&
		    strncmp(e->key, prefix, strlen(prefix)) != 0))
			continue;
		if ((v = expand_or_error(d, s, e->key, e->value, &x)) == NULL) {
			errors++;
			continue;
		}
		free(e->value);
		e->value = v;
	}
	expand_done(&x);
	return errors;
}

/* [socket:NAME]: listen (required), backlog, mode, owner. */
static void
socket_section_load(struct config_diag *d, struct section *s, struct config *c)
{
	struct socket_config *sc;
	const char *name = s->name + 7, *why;
	struct entry *e;
	long n;
	int errors = 0;

	if (!valid_program_name(name)) {
		diag_error(d, s->file, s->line, "[%s]: \"%s\" is not a valid "
		    "socket name", s->name, name);
		return;
	}
	if (section_expand(d, s, c, NULL) != 0)
		return;
	if ((sc = (struct socket_config *)config_find_socket(c, name)) != NULL) {
		diag_error(d, s->file, s->line, "[%s]: duplicate socket (first "
		    "defined at %s:%d)", s->name, sc->file, sc->line);
		return;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->name = xstrdup(name);
	sc->file = xstrdup(s->file);
	sc->line = s->line;
	sc->backlog = 1024;
	sc->mode = -1;
	for (size_t i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if (strcasecmp(e->key, "listen") == 0) {
			if (strncmp(e->value, "tcp:", 4) != 0 &&
			    strncmp(e->value, "tcp6:", 5) != 0 &&
			    strncmp(e->value, "unix:", 5) != 0) {
				diag_error(d, s->file, e->line, "[%s] listen: "
				    "\"%s\": expected tcp:HOST:PORT, "
				    "tcp6:[ADDRESS]:PORT or unix:PATH", s->name,
				    e->value);
				errors++;
			}
			sc->listen = xstrdup(e->value);
		} else if (strcasecmp(e->key, "backlog") == 0) {
			if (parse_int(e->value, 1, 65535, &n, &why) != 0) {
				diag_error(d, s->file, e->line, "[%s] backlog: "
				    "\"%s\": %s", s->name, e->value, why);
				errors++;
			} else
				sc->backlog = n;
		} else if (strcasecmp(e->key, "mode") == 0) {
			if (parse_umask(e->value, &sc->mode, &why) != 0) {
				diag_error(d, s->file, e->line, "[%s] mode: "
				    "\"%s\": an octal mode such as 0660",
				    s->name, e->value);
				errors++;
			}
		} else if (strcasecmp(e->key, "owner") == 0) {
			free(sc->owner);
			sc->owner = xstrdup(e->value);
		} else
			diag_warning(d, s->file, e->line,
			    "[%s] %s: unknown key, ignored", s->name, e->key);
	}
	if (sc->listen == NULL && errors == 0) {
		diag_error(d, s->file, s->line, "[%s] listen: missing", s->name);
		errors++;
	}
	if (errors != 0) {
		socket_config_free(sc);
		return;
	}
	c->sockets = xrealloc(c->sockets, (c->nsockets + 1) * sizeof(*c->sockets));
	c->sockets[c->nsockets++] = sc;
}

/* "a/./b/../c" as "a/c", as Python's os.path.normpath (supervisord's
 * normalize_path for socket files).  Returns a new string. */
static char *
path_normalize(const char *path)
{
	char *copy = xstrdup(path), *tok, *save = NULL;
	struct strv parts = { 0 };
	struct buf b = { 0 };

	for (tok = strtok_r(copy, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0 && parts.n > 0 &&
		    strcmp(parts.v[parts.n - 1], "..") != 0) {
			free(parts.v[--parts.n]);
			parts.v[parts.n] = NULL;
			continue;
		}
		if (strcmp(tok, "..") == 0 && path[0] == '/')
			continue;
		strv_push(&parts, xstrdup(tok));
	}
	if (path[0] == '/')
		buf_putc(&b, '/');
	for (size_t i = 0; i < parts.n; i++) {
		buf_puts(&b, i ? "/" : "");
		buf_puts(&b, parts.v[i]);
	}
	if (b.n == 0)
		buf_putc(&b, '.');
	strv_free(&parts);
	free(copy);
	return buf_take(&b);
}

/* Where only this machine can connect. */
static bool
loopback_host(const char *h, size_t n)
{
	return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
	    (n >= 4 && strncmp(h, "127.", 4) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

/*
 * [unix_http_server] (file, chmod, chown) and [inet_http_server] (port),
 * each with username and password: supervisord's XML-RPC servers, with
 * its defaults (chmod 0700) and its rules (both credentials or neither).
 */
static void
rpc_section_load(struct config_diag *d, struct section *s, struct config *c,
    bool inet)
{
	struct rpc_server_config *rc;
	const char *where = NULL, *why;
	struct entry *e;
	int errors = 0, mode = 0700;
	size_t hostlen;

	if (section_expand(d, s, c, NULL) != 0)
		return;
	for (size_t i = 0; i < c->nrpc; i++) {
		if (strcmp(c->rpc[i]->sock.name, s->name) == 0) {
			diag_error(d, s->file, s->line, "[%s]: duplicate section "
			    "(first at %s:%d)", s->name, c->rpc[i]->sock.file,
			    c->rpc[i]->sock.line);
			return;
		}
	}
	rc = xcalloc(1, sizeof(*rc));
	rc->sock.name = xstrdup(s->name);
	rc->sock.file = xstrdup(s->file);
	rc->sock.line = s->line;
	rc->sock.backlog = 128;
	rc->sock.mode = -1;
	for (size_t i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if (strcasecmp(e->key, inet ? "port" : "file") == 0)
			where = e->value;
		else if (!inet && strcasecmp(e->key, "chmod") == 0) {
			if (parse_umask(e->value, &mode, &why) != 0) {
				diag_error(d, s->file, e->line, "[%s] chmod: "
				    "\"%s\": an octal mode such as 0700", s->name,
				    e->value);
				errors++;
			}
		} else if (!inet && strcasecmp(e->key, "chown") == 0) {
			free(rc->sock.owner);
			rc->sock.owner = xstrdup(e->value);
		} else if (strcasecmp(e->key, "username") == 0) {
			free(rc->username);
			rc->username = xstrdup(e->value);
		} else if (strcasecmp(e->key, "password") == 0) {
			free(rc->password);
			rc->password = xstrdup(e->value);
		} else
			diag_warning(d, s->file, e->line,
			    "[%s] %s: unknown key, ignored", s->name, e->key);
	}
	if (where == NULL || *where == '\0') {
		diag_error(d, s->file, s->line, "[%s] %s: missing", s->name,
		    inet ? "port" : "file");
		errors++;
	}
	if ((rc->username == NULL) != (rc->password == NULL)) {
		diag_error(d, s->file, s->line, "[%s]: username and password "
		    "go together: set both or neither", s->name);
		errors++;
	}
	if (errors != 0) {
		rpc_server_config_free(rc);
		return;
	}
	if (!inet) {
		char *norm = path_normalize(where);
		rc->sock.mode = mode;
		rc->sock.listen = xasprintf("unix:%s", norm);
		free(norm);
	} else {
		/* supervisord's "PORT", ":PORT", "*:PORT", "HOST:PORT". */
		const char *colon = strrchr(where, ':');
		hostlen = colon ? (size_t)(colon - where) : 0;
		rc->sock.listen = xasprintf("tcp:%.*s:%s", (int)hostlen, where,
		    colon ? colon + 1 : where);
		if (!loopback_host(where, hostlen) && rc->username == NULL)
			diag_warning(d, s->file, s->line, "[%s] port = %s: "
			    "anyone who can reach this address controls every "
			    "process, with no password (set username and "
			    "password, or listen on 127.0.0.1)", s->name, where);
	}
	c->rpc[c->nrpc++] = rc;
}

/*
 * [fcgi-program:NAME]'s socket (tcp://HOST:PORT or unix:///PATH, with
 * socket_owner, socket_mode and socket_backlog) is bound by leashd like a
 * [socket:] of its own, named "fcgi-program:NAME", and passed as stdin.
 */
static int
fcgi_socket_load(struct config_diag *d, struct section *s, struct config *c,
    const char *name)
{
	struct socket_config *sc;
	struct entry *e;
	const char *v, *why;
	long n;
	int errors = 0;

	if (section_expand(d, s, c, "socket") != 0)
		return -1;
	sc = xcalloc(1, sizeof(*sc));
	sc->name = xasprintf("fcgi-program:%s", name);
	sc->file = xstrdup(s->file);
	sc->line = s->line;
	sc->backlog = 1024;
	sc->mode = -1;
	if ((e = section_get(s, "socket")) == NULL) {
		diag_error(d, s->file, s->line, "[%s] socket: missing (tcp://HOST:"
		    "PORT or unix:///PATH)", s->name);
		errors++;
	} else if (e->used = true, v = e->value, strncmp(v, "tcp://", 6) == 0 &&
	    strchr(v + 6, ':') != NULL)
		sc->listen = xasprintf("tcp:%s", v + 6);
	else if (strncmp(v, "unix://", 7) == 0 && v[7] == '/') {
		char *norm = path_normalize(v + 7);
		sc->listen = xasprintf("unix:%s", norm);
		sc->mode = 0700;	/* supervisord's default */
		free(norm);
	} else {
		diag_error(d, s->file, e->line, "[%s] socket: \"%s\": expected "
		    "tcp://HOST:PORT or unix:///PATH", s->name, v);
		errors++;
	}
	if ((e = section_get(s, "socket_backlog")) != NULL) {
		e->used = true;
		if (parse_int(e->value, 1, 65535, &n, &why) != 0) {
			diag_error(d, s->file, e->line, "[%s] socket_backlog: "
			    "\"%s\": %s", s->name, e->value, why);
			errors++;
		} else
			sc->backlog = n;
	}
	if ((e = section_get(s, "socket_mode")) != NULL) {
		e->used = true;
		if (parse_umask(e->value, &sc->mode, &why) != 0) {
			diag_error(d, s->file, e->line, "[%s] socket_mode: \"%s\": "
			    "an octal mode such as 0660", s->name, e->value);
			errors++;
		}
	}
	if ((e = section_get(s, "socket_owner")) != NULL) {
		e->used = true;
		sc->owner = xstrdup(e->value);
	}
	if ((section_get(s, "socket_owner") != NULL ||
	    section_get(s, "socket_mode") != NULL) && sc->listen != NULL &&
	    strncmp(sc->listen, "unix:", 5) != 0) {
		diag_error(d, s->file, s->line, "[%s]: socket_owner and "
		    "socket_mode are for a UNIX socket only", s->name);
		errors++;
	}
	if (errors != 0) {
		socket_config_free(sc);
		return -1;
	}
	c->sockets = xrealloc(c->sockets, (c->nsockets + 1) * sizeof(*c->sockets));
	c->sockets[c->nsockets++] = sc;
	return 0;
}

/* sockets = a,b: each must be a [socket:NAME]. */
static int
program_sockets(struct config_diag *d, struct section *s,
    struct program_config *p, const struct config *c)
{
	struct strv v = { 0 };
	char *copy, *tok, *save = NULL;

	if (p->sockets == NULL)
		return 0;
	copy = xstrdup(p->sockets);
	for (tok = strtok_r(copy, ", \t\n", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t\n", &save)) {
		if (config_find_socket(c, tok) == NULL) {
			diag_error(d, s->file, key_line(s, "sockets"),
			    "[%s] sockets: no [socket:%s] section", s->name, tok);
			free(copy);
			strv_free(&v);
			return -1;
		}
		strv_push(&v, xstrdup(tok));
	}
	free(copy);
	if (v.n > SPAWN_FDS_MAX) {
		diag_error(d, s->file, key_line(s, "sockets"), "[%s] sockets: "
		    "%zu sockets; at most %d are passed to a process", s->name,
		    v.n, SPAWN_FDS_MAX);
		strv_free(&v);
		return -1;
	}
	p->socket_names = v.v ? v.v : xcalloc(1, sizeof(char *));
	return 0;
}

int
program_config_order(const struct program_config *pa,
    const struct program_config *pb)
{
	int r;

	if (pa->group_priority != pb->group_priority)
		return pa->group_priority < pb->group_priority ? -1 : 1;
	if ((r = strcmp(pa->group, pb->group)) != 0)
		return r;
	if (pa->priority != pb->priority)
		return pa->priority < pb->priority ? -1 : 1;
	return strcmp(pa->name, pb->name);
}

static int
program_cmp(const void *a, const void *b)
{
	return program_config_order(*(struct program_config *const *)a,
	    *(struct program_config *const *)b);
}

/* Sections read by their own loaders, or accepted as they are. */
static bool
known_section(const char *name)
{
	static const char *const names[] = { "leashd", "supervisord",
	    "include", "unix_http_server", "inet_http_server",
	    /* supervisorctl's own section, and the interface leash serves
	     * in supervisord's place */
	    "supervisorctl", "rpcinterface:supervisor" };

	for (size_t i = 0; i < nitems(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	/* ctlplugin: supervisorctl's plugins */
	return strncmp(name, "socket:", 7) == 0 ||
	    strncmp(name, "group:", 6) == 0 ||
	    strncmp(name, "ctlplugin:", 10) == 0;
}

/*
 * Names a group shares: two processes of one group with the same name,
 * or a group named like a program outside it.
 */
static void
groups_check(struct config_diag *d, struct config *c)
{
	for (size_t i = 0; i < c->nprograms; i++) {
		struct program_config *a = c->programs[i];
		for (size_t j = i + 1; j < c->nprograms; j++) {
			struct program_config *b = c->programs[j];
			if (strcmp(a->group, b->group) != 0)
				continue;
			if (strcmp(a->group, a->name) == 0 ||
			    strcmp(b->group, b->name) == 0) {
				diag_error(d, b->file, b->line, "[program:%s]: "
				    "group \"%s\" is also the name of [program:%s], "
				    "which is not in it", b->name, b->group,
				    strcmp(a->group, a->name) == 0 ? a->name :
				    b->name);
				continue;
			}
			for (long k = 0; k < a->numprocs; k++)
				for (long l = 0; l < b->numprocs; l++)
					if (strcmp(a->procs[k].name,
					    b->procs[l].name) == 0)
						diag_error(d, b->file, b->line,
						    "[program:%s]: process \"%s:%s\""
						    " is also [program:%s]'s",
						    b->name, b->group,
						    b->procs[l].name, a->name);
		}
	}
}

struct config *
config_load(const char *path, struct config_diag *diag)
{
	return config_load_settings(path, NULL, diag);
}

/* The command line's settings, as a [supervisord] section read last. */
static void
settings_load(struct config_diag *d, char *const *settings, struct config *c)
{
	struct section s = { .name = "supervisord", .file = "command line" };
	const char *eq;

	for (; settings != NULL && *settings != NULL; settings++) {
		eq = strchr(*settings, '=');
		s.entries = xrealloc(s.entries, (s.nentries + 1) *
		    sizeof(*s.entries));
		s.entries[s.nentries++] = (struct entry){
			.key = xasprintf("%.*s", (int)(eq - *settings), *settings),
			.value = xstrdup(eq + 1),
		};
	}
	daemon_section_load(d, &s, c);
	for (size_t i = 0; i < s.nentries; i++) {
		free(s.entries[i].key);
		free(s.entries[i].value);
	}
	free(s.entries);
}

struct config *
config_load_settings(const char *path, char *const *settings,
    struct config_diag *diag)
{
	struct loader l = { .diag = diag };
	struct config *c = xcalloc(1, sizeof(*c));
	struct program_config *p;
	struct group_def *groups = NULL;
	size_t ngroups = 0;
	struct section *s;
	const char *name;

	memset(diag, 0, sizeof(*diag));
	/* Long command lines are normal; let inih grow its line buffer. */
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 1 << 20;

	c->file = xstrdup(path);
	daemon_defaults(c);
	loader_read_file(&l, path, 0, NULL, 0);

	/* [supervisord], then [leashd]: either may hold the daemon's keys. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l.nsections; i++)
			if (strcmp(l.sections[i]->name,
			    pass == 0 ? "supervisord" : "leashd") == 0)
				daemon_section_load(diag, l.sections[i], c);
	if (settings != NULL)
		settings_load(diag, settings, c);
	c->childlogdir = c->childlogdir ? c->childlogdir : default_childlogdir();

	for (size_t i = 0; i < l.nsections; i++) {
		s = l.sections[i];
		if (strncmp(s->name, "socket:", 7) == 0)
			socket_section_load(diag, s, c);
		else if (strcmp(s->name, "unix_http_server") == 0 ||
		    strcmp(s->name, "inet_http_server") == 0)
			rpc_section_load(diag, s, c, s->name[0] == 'i');
		else if (strncmp(s->name, "group:", 6) == 0)
			group_load(diag, s, c, &groups, &ngroups);
	}
	for (size_t i = 0; i < ngroups; i++) {
		for (char **g = groups[i].programs; *g != NULL; g++) {
			char *sect = xasprintf("program:%s", *g);
			char *fcgi = xasprintf("fcgi-program:%s", *g);
			bool found = false;
			for (size_t j = 0; j < l.nsections && !found; j++)
				found = strcmp(l.sections[j]->name, sect) == 0 ||
				    strcmp(l.sections[j]->name, fcgi) == 0;
			free(fcgi);
			if (!found)
				diag_error(diag, c->file, 0, "[group:%s] programs: "
				    "no [program:%s] section", groups[i].name, *g);
			else if (group_of(groups, i, *g) != NULL)
				diag_error(diag, c->file, 0, "[group:%s] programs: "
				    "[program:%s] is already in [group:%s]",
				    groups[i].name, *g, group_of(groups, i, *g)->name);
			free(sect);
		}
	}
	for (size_t i = 0; i < l.nsections; i++) {
		s = l.sections[i];
		if (known_section(s->name))
			continue;
		if (strncmp(s->name, "program:", 8) != 0 &&
		    strncmp(s->name, "fcgi-program:", 13) != 0 &&
		    strncmp(s->name, "eventlistener:", 14) != 0) {
			diag_warning(diag, s->file, s->line,
			    "[%s]: section not used by leash, ignored", s->name);
			continue;
		}
		name = strchr(s->name, ':') + 1;
		if ((p = (struct program_config *)config_find_program(c,
		    name)) != NULL) {
			diag_error(diag, s->file, s->line, "[%s]: the name of "
			    "[%s:%s] at %s:%d too", s->name, p->listener ?
			    "eventlistener" : "program", name, p->file, p->line);
			continue;
		}
		if (!valid_program_name(name)) {
			diag_error(diag, s->file, s->line,
			    "[%s]: \"%s\" is not a valid program name (no spaces, "
			    "':', '/' or '*')", s->name, name);
			continue;
		}
		if (strncmp(s->name, "fcgi-program:", 13) == 0 &&
		    fcgi_socket_load(diag, s, c, name) != 0)
			continue;
		if ((p = program_load(diag, s, name, group_of(groups, ngroups,
		    name), c)) == NULL)
			continue;
		if (p->fcgi) {
			p->socket_names = xcalloc(2, sizeof(char *));
			p->socket_names[0] = xasprintf("fcgi-program:%s", name);
		} else if (program_sockets(diag, s, p, c) != 0) {
			program_config_free(p);
			continue;
		}
		c->programs = xrealloc(c->programs,
		    (c->nprograms + 1) * sizeof(*c->programs));
		c->programs[c->nprograms++] = p;
	}
	if (c->nprograms > 1)
		qsort(c->programs, c->nprograms, sizeof(*c->programs),
		    program_cmp);
	groups_check(diag, c);

	for (size_t i = 0; i < ngroups; i++) {
		free(groups[i].name);
		strv_free_array(groups[i].programs);
	}
	free(groups);
	for (size_t i = 0; i < l.nsections; i++)
		section_free(l.sections[i]);
	free(l.sections);
	strv_free(&l.read);
	if (diag->nerrors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

const struct program_config *
config_find_program(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nprograms; i++)
		if (c->programs[i] != NULL &&
		    strcmp(c->programs[i]->name, name) == 0)
			return c->programs[i];
	return NULL;
}

/* Values that matter to a running worker, so changing any of them
 * restarts it; values equal as written may still expand differently
 * (%(ENV_X)s), so the expanded processes are compared too. */
static bool
program_config_compare(const struct program_config *a,
    const struct program_config *b, bool with_live)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->group, b->group) != 0 ||
	    (with_live && a->group_priority != b->group_priority))
		return false;
	for (size_t i = 0; i < nitems(program_keys); i++)
		if ((with_live || !program_keys[i].live) &&
		    !key_equal(&program_keys[i], a, b))
			return false;
	for (long i = 0; i < a->numprocs; i++) {
		const struct process_config *pa = &a->procs[i], *pb = &b->procs[i];
		if (strcmp(pa->name, pb->name) != 0 ||
		    !strv_equal(pa->argv, pb->argv) ||
		    !strv_equal(pa->env, pb->env) ||
		    (pa->directory == NULL) != (pb->directory == NULL) ||
		    (pa->directory && strcmp(pa->directory, pb->directory) != 0) ||
		    (pa->out.path == NULL) != (pb->out.path == NULL) ||
		    (pa->out.path && strcmp(pa->out.path, pb->out.path) != 0) ||
		    (pa->err.path == NULL) != (pb->err.path == NULL) ||
		    (pa->err.path && strcmp(pa->err.path, pb->err.path) != 0) ||
		    pa->out.journal != pb->out.journal ||
		    pa->err.journal != pb->err.journal)
			return false;
	}
	return true;
}

bool
program_config_equal(const struct program_config *a,
    const struct program_config *b)
{
	return program_config_compare(a, b, true);
}

bool
program_config_needs_restart(const struct program_config *a,
    const struct program_config *b)
{
	return !program_config_compare(a, b, false);
}

const struct socket_config *
config_find_socket(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nsockets; i++)
		if (c->sockets[i] != NULL && strcmp(c->sockets[i]->name, name) == 0)
			return c->sockets[i];
	return NULL;
}

static bool
str_equal(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* Equal sockets are kept bound across a reload. */
bool
socket_config_equal(const struct socket_config *a,
    const struct socket_config *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->listen, b->listen) == 0 &&
	    a->backlog == b->backlog && a->mode == b->mode &&
	    str_equal(a->owner, b->owner);
}

bool
rpc_server_config_equal(const struct rpc_server_config *a,
    const struct rpc_server_config *b)
{
	return socket_config_equal(&a->sock, &b->sock) &&
	    str_equal(a->username, b->username) &&
	    str_equal(a->password, b->password);
}

int
exitcode_expected(const struct program_config *p, int code)
{
	if (code < 0 || code > 255)
		return 0;
	return (p->exitcodes[code / 64] >> (code % 64)) & 1;
}

char *
config_control_socket(const struct config *c)
{
	const char *d;
	size_t len;

	if (c != NULL && c->control_socket != NULL)
		return xstrdup(c->control_socket);
	if ((d = getenv("RUNTIME_DIRECTORY")) != NULL && *d != '\0') {
		len = strcspn(d, ":");	/* systemd lists several with ':' */
		return xasprintf("%.*s/leash.sock", (int)len, d);
	}
	if (geteuid() == 0)
		return xstrdup("/run/leash/leash.sock");
	if ((d = getenv("XDG_RUNTIME_DIR")) != NULL && *d != '\0')
		return xasprintf("%s/leash/leash.sock", d);
	return xasprintf("/tmp/leash-%u/leash.sock", (unsigned)geteuid());
}

uint64_t
program_config_nearest_limit(const struct program_config *cfg)
{
	uint64_t near = cfg->memory_limit;

	if (cfg->memory_max > 0 && (near == 0 || cfg->memory_max < near))
		near = cfg->memory_max;
	return near;
}
