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
#include "log.h"
#include "parse.h"
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

static struct section *
section_new(struct loader *l, const char *name)
{
	struct section *s = xcalloc(1, sizeof(*s));

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
 * inih's line reader.  It numbers lines and records each "[name]" header
 * itself, so that sections without keys exist and every key has a line.
 */
static char *
loader_read(char *str, int num, void *arg)
{
	struct loader *l = arg;
	char *p, *end;

	if (fgets(str, num, l->fp) == NULL)
		return NULL;
	if (l->at_line_start) {
		l->lineno++;
		p = str;
		l->continuation = *p == ' ' || *p == '\t';
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '[' && !(l->continuation && l->have_key) &&
		    (end = strchr(p, ']')) != NULL) {
			*end = '\0';
			section_new(l, p + 1);
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
	s = l->sections[l->nsections - 1];
	e = section_get(s, key);
	if (e != NULL && l->continuation && e == &s->entries[s->nentries - 1]) {
		/* An indented line continues the previous value. */
		joined = xasprintf("%s\n%s", e->value, value);
		free(e->value);
		e->value = joined;
		return 1;
	}
	if (e != NULL) {
		diag_error(l->diag, l->file, l->lineno,
		    "[%s] %s: duplicate key (first set at line %d)", s->name,
		    key, e->line);
		return 1;
	}
	s->entries = xrealloc(s->entries, (s->nentries + 1) * sizeof(*e));
	e = &s->entries[s->nentries++];
	e->key = xstrdup(key);
	e->value = xstrdup(value);
	e->line = l->lineno;
	e->used = false;
	return 1;
}

static void loader_read_file(struct loader *, const char *path, int depth,
    const char *from_file, int from_line);

/* Includes are globs relative to the including file, read in sorted order. */
static void
loader_include(struct loader *l, const char *from, struct entry *e, int depth)
{
	char *copy = xstrdup(from), *dir = dirname(copy), *save = NULL;
	char *pats = xstrdup(e->value), *pat, *full;
	glob_t g;

	for (pat = strtok_r(pats, " \t\n", &save); pat != NULL;
	    pat = strtok_r(NULL, " \t\n", &save)) {
		full = pat[0] == '/' ? xstrdup(pat) : xasprintf("%s/%s", dir, pat);
		memset(&g, 0, sizeof(g));
		if (glob(full, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				loader_read_file(l, g.gl_pathv[i], depth + 1,
				    from, e->line);
		}
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
		} else if (strcmp(s->name, "include") == 0 &&
		    (e = section_get(s, "files")) != NULL) {
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
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	const char *def;	/* parsed like a value; NULL: unset */
	long min, max;		/* KEY_INT only */
	bool live;		/* a reload applies it without a restart */
};

#define P(f) offsetof(struct program_config, f)
static const struct key_def program_keys[] = {
	{ "command", KEY_STRING, P(command), NULL, 0, 0, false },
	{ "process_name", KEY_STRING, P(process_name), "%(program_name)s", 0, 0, false },
	{ "numprocs", KEY_INT, P(numprocs), "1", 1, 100000, false },
	{ "numprocs_start", KEY_INT, P(numprocs_start), "0", 0, 1000000, false },
	{ "priority", KEY_INT, P(priority), "999", -1000000, 1000000, true },
	{ "autostart", KEY_BOOL, P(autostart), "true", 0, 0, true },
	{ "autorestart", KEY_AUTORESTART, P(autorestart), "unexpected", 0, 0, true },
	{ "exitcodes", KEY_EXITCODES, P(exitcodes), "0", 0, 0, true },
	{ "startsecs", KEY_DURATION, P(startsecs), "1", 0, 0, true },
	{ "startretries", KEY_INT, P(startretries), "3", 0, 1000000, true },
	{ "stopsignal", KEY_SIGNAL, P(stopsignal), "TERM", 0, 0, true },
	{ "stopwaitsecs", KEY_DURATION, P(stopwaitsecs), "10", 0, 0, true },
	{ "stopasgroup", KEY_BOOL, P(stopasgroup), "true", 0, 0, false },
	{ "killasgroup", KEY_BOOL, P(killasgroup), "true", 0, 0, false },
	{ "user", KEY_STRING, P(user), NULL, 0, 0, false },
	{ "directory", KEY_STRING, P(directory), NULL, 0, 0, false },
	{ "umask", KEY_UMASK, P(umask), NULL, 0, 0, false },
	{ "environment", KEY_STRING, P(environment), NULL, 0, 0, false },
	{ "redirect_stderr", KEY_BOOL, P(redirect_stderr), "false", 0, 0, false },
	{ "stdout_logfile", KEY_STRING, P(stdout_logfile), "AUTO", 0, 0, false },
	{ "stdout_logfile_maxbytes", KEY_SIZE, P(stdout_logfile_maxbytes), "50M", 0, 0, false },
	{ "stdout_logfile_backups", KEY_INT, P(stdout_logfile_backups), "10", 0, 1000, false },
	{ "stderr_logfile", KEY_STRING, P(stderr_logfile), "AUTO", 0, 0, false },
	{ "stderr_logfile_maxbytes", KEY_SIZE, P(stderr_logfile_maxbytes), "50M", 0, 0, false },
	{ "stderr_logfile_backups", KEY_INT, P(stderr_logfile_backups), "10", 0, 1000, false },
	{ "memory_limit", KEY_MEMSIZE, P(memory_limit), "0", 0, 0, true },
	{ "memory_max", KEY_MEMSIZE, P(memory_max), "0", 0, 0, true },
	{ "memory_source", KEY_SOURCE, P(memory_source), "auto", 0, 0, false },
	{ "memory_interval", KEY_DURATION, P(memory_interval), "1s", 0, 0, true },
	{ "memory_samples", KEY_INT, P(memory_samples), "2", 1, 1000, true },
	{ "drain_signal", KEY_SIGNAL, P(drain_signal), "TERM", 0, 0, true },
	{ "drain_timeout", KEY_DURATION, P(drain_timeout), "30s", 0, 0, true },
	{ "max_replacing", KEY_INT, P(max_replacing), "1", 1, 100000, true },
	{ "ready", KEY_READY, P(ready), "startsecs", 0, 0, false },
	{ "ready_timeout", KEY_DURATION, P(ready_timeout), "60s", 0, 0, true },
	{ "watchdog_sec", KEY_DURATION, P(watchdog_sec), "0", 0, 0, true },
	{ "sockets", KEY_STRING, P(sockets), NULL, 0, 0, false },
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
	}
	return false;
}

/* What %(...) may name in a program's values. */
struct expand_ctx {
	const struct program_config *p;
	const char *here;
	char num[24];
	char host[256];
};

static const char *
expand_name(const char *name, void *arg)
{
	struct expand_ctx *x = arg;

	if (strcmp(name, "program_name") == 0 || strcmp(name, "group_name") == 0)
		return x->p->name;
	if (strcmp(name, "process_num") == 0)
		return x->num;
	if (strcmp(name, "here") == 0)
		return x->here;
	if (strcmp(name, "host_node_name") == 0)
		return x->host;
	if (strncmp(name, "ENV_", 4) == 0)
		return getenv(name + 4);
	return NULL;
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

/*
 * Resolves a stdout_logfile/stderr_logfile value: NONE, AUTO (a file in
 * childlogdir named after the process) or a path.
 */
static int
logfile_resolve(struct config_diag *d, struct section *s, const char *key,
    const char *value, struct expand_ctx *x, const char *childlogdir,
    const char *procname, const char *stream, struct logfile_config *out)
{
	if (strcasecmp(value, "NONE") == 0 || value[0] == '\0') {
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
	if (strcasecmp(value, "journal") == 0) {
		/* The file AUTO would give is where output goes when there is
		 * no journal to write to. */
		out->journal = true;
		return logfile_resolve(d, s, key, "AUTO", x, childlogdir,
		    procname, stream, out);
	}
	if (strcasecmp(value, "syslog") == 0) {
		diag_error(d, s->file, key_line(s, key),
		    "[%s] %s: syslog is not supported (use a path, AUTO or NONE)",
		    s->name, key);
		return -1;
	}
	out->path = expand_or_error(d, s, key, value, x);
	return out->path == NULL ? -1 : 0;
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

static int
program_expand(struct config_diag *d, struct section *s,
    struct program_config *p, const char *childlogdir)
{
	char *copy = xstrdup(s->file), *cmd;
	struct expand_ctx x = { .p = p, .here = dirname(copy) };
	const char *why, *dup;
	int errors = 0;

	gethostname(x.host, sizeof(x.host) - 1);
	p->procs = xcalloc(p->numprocs, sizeof(*p->procs));
	for (long i = 0; i < p->numprocs && errors == 0; i++) {
		struct process_config *pc = &p->procs[i];

		pc->num = p->numprocs_start + i;
		snprintf(x.num, sizeof(x.num), "%ld", pc->num);
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
		if (p->directory != NULL && (pc->directory = expand_or_error(d,
		    s, "directory", p->directory, &x)) == NULL)
			errors++;
		pc->out.maxbytes = p->stdout_logfile_maxbytes;
		pc->out.backups = p->stdout_logfile_backups;
		pc->err.maxbytes = p->stderr_logfile_maxbytes;
		pc->err.backups = p->stderr_logfile_backups;
		if (logfile_resolve(d, s, "stdout_logfile", p->stdout_logfile,
		    &x, childlogdir, pc->name, "stdout", &pc->out) != 0)
			errors++;
		if (!p->redirect_stderr && logfile_resolve(d, s, "stderr_logfile",
		    p->stderr_logfile, &x, childlogdir, pc->name, "stderr",
		    &pc->err) != 0)
			errors++;
	}
	free(copy);
	if (errors == 0 && (dup = duplicate_name(p)) != NULL) {
		diag_error(d, s->file, key_line(s, "process_name"),
		    "[%s] process_name: \"%s\" is used by two processes; "
		    "include %%(process_num)d", s->name, dup);
		errors++;
	}
	return errors == 0 ? 0 : -1;
}

static struct program_config *
program_load(struct config_diag *d, struct section *s, const char *name,
    const char *childlogdir)
{
	struct program_config *p = xcalloc(1, sizeof(*p));
	const struct key_def *k;
	struct entry *e;
	const char *why;
	int errors = 0;

	p->name = xstrdup(name);
	p->file = xstrdup(s->file);
	p->line = s->line;
	p->umask = -1;
	for (size_t i = 0; i < nitems(program_keys); i++) {
		k = &program_keys[i];
		e = section_get(s, k->name);
		if (e != NULL) {
			e->used = true;
			if (key_parse(k, e->value, p, &why) != 0) {
				diag_error(d, s->file, e->line,
				    "[%s] %s: \"%s\": %s", s->name, k->name,
				    e->value, why);
				errors++;
			}
		} else if (k->def != NULL && key_parse(k, k->def, p, &why) != 0)
			fatalx("config", "default of %s: %s", k->name, why);
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
	if (p->numprocs > 1 && strstr(p->process_name, "%(process_num)") == NULL) {
		diag_error(d, s->file, key_line(s, "process_name"),
		    "[%s] process_name: numprocs is %ld but process_name \"%s\" "
		    "does not contain %%(process_num)", s->name, p->numprocs,
		    p->process_name);
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
	if (program_expand(d, s, p, childlogdir) != 0)
		goto bad;
	return p;
bad:
	program_config_free(p);
	return NULL;
}

static void
leashd_section_load(struct config_diag *d, struct section *s, struct config *c)
{
	struct entry *e;
	int level;

	for (size_t i = 0; i < s->nentries; i++) {
		e = &s->entries[i];
		if (strcasecmp(e->key, "include") == 0)
			continue;
		if (strcasecmp(e->key, "control_socket") == 0) {
			free(c->control_socket);
			c->control_socket = xstrdup(e->value);
		} else if (strcasecmp(e->key, "control_group") == 0) {
			if (getgrnam(e->value) == NULL) {
				diag_error(d, s->file, e->line,
				    "[leashd] control_group: no such group \"%s\"",
				    e->value);
				continue;
			}
			free(c->control_group);
			c->control_group = xstrdup(e->value);
		} else if (strcasecmp(e->key, "loglevel") == 0) {
			if ((level = log_parse_level(e->value)) < 0) {
				diag_error(d, s->file, e->line,
				    "[leashd] loglevel: \"%s\": expected error, "
				    "warn, info or debug", e->value);
				continue;
			}
			c->loglevel = level;
		} else if (strcasecmp(e->key, "use_cgroups") == 0) {
			const char *why;
			if (parse_bool(e->value, &c->use_cgroups, &why) != 0)
				diag_error(d, s->file, e->line,
				    "[leashd] use_cgroups: \"%s\": %s", e->value,
				    why);
		} else if (strcasecmp(e->key, "childlogdir") == 0) {
			free(c->childlogdir);
			c->childlogdir = xstrdup(e->value);
		} else
			diag_warning(d, s->file, e->line,
			    "[leashd] %s: unknown key, ignored", e->key);
	}
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
			if (strncmp(e->value, "{SHA}", 5) == 0) {
				diag_error(d, s->file, e->line, "[%s] password: "
				    "{SHA} hashes are not supported; give the "
				    "password itself", s->name);
				errors++;
			}
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
		rc->sock.mode = mode;
		rc->sock.listen = xasprintf("unix:%s", where);
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
	p->socket_names = v.v ? v.v : xcalloc(1, sizeof(char *));
	return 0;
}

static int
program_cmp(const void *a, const void *b)
{
	const struct program_config *pa = *(struct program_config *const *)a;
	const struct program_config *pb = *(struct program_config *const *)b;

	if (pa->priority != pb->priority)
		return pa->priority < pb->priority ? -1 : 1;
	return strcmp(pa->name, pb->name);
}


struct config *
config_load(const char *path, struct config_diag *diag)
{
	struct loader l = { .diag = diag };
	struct config *c = xcalloc(1, sizeof(*c));
	struct program_config *p;
	struct section *s, *leashd = NULL;
	const char *name;

	memset(diag, 0, sizeof(*diag));
	/* Long command lines are normal; let inih grow its line buffer. */
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 1 << 20;

	c->file = xstrdup(path);
	c->loglevel = LOG_LEVEL_INFO;
	c->use_cgroups = true;
	loader_read_file(&l, path, 0, NULL, 0);

	for (size_t i = 0; i < l.nsections; i++) {
		s = l.sections[i];
		if (strcmp(s->name, "leashd") != 0)
			continue;
		if (leashd != NULL) {
			diag_error(diag, s->file, s->line,
			    "[leashd]: duplicate section (first at %s:%d)",
			    leashd->file, leashd->line);
			continue;
		}
		leashd = s;
		leashd_section_load(diag, s, c);
	}
	c->childlogdir = c->childlogdir ? c->childlogdir : default_childlogdir();

	for (size_t i = 0; i < l.nsections; i++) {
		s = l.sections[i];
		if (strncmp(s->name, "socket:", 7) == 0)
			socket_section_load(diag, s, c);
		else if (strcmp(s->name, "unix_http_server") == 0 ||
		    strcmp(s->name, "inet_http_server") == 0)
			rpc_section_load(diag, s, c, s->name[0] == 'i');
	}
	for (size_t i = 0; i < l.nsections; i++) {
		s = l.sections[i];
		if (strcmp(s->name, "leashd") == 0 ||
		    strcmp(s->name, "include") == 0 ||
		    strncmp(s->name, "socket:", 7) == 0 ||
		    strcmp(s->name, "unix_http_server") == 0 ||
		    strcmp(s->name, "inet_http_server") == 0 ||
		    /* supervisorctl's own section, and the interface leash
		     * serves in supervisord's place */
		    strcmp(s->name, "supervisorctl") == 0 ||
		    strcmp(s->name, "rpcinterface:supervisor") == 0)
			continue;
		if (strncmp(s->name, "program:", 8) != 0) {
			diag_warning(diag, s->file, s->line,
			    "[%s]: section not used by leash, ignored", s->name);
			continue;
		}
		name = s->name + 8;
		if (!valid_program_name(name)) {
			diag_error(diag, s->file, s->line,
			    "[%s]: \"%s\" is not a valid program name (no spaces, "
			    "':', '/' or '*')", s->name, name);
			continue;
		}
		if ((p = (struct program_config *)config_find_program(c, name)) != NULL) {
			diag_error(diag, s->file, s->line,
			    "[%s]: duplicate program (first defined at %s:%d)",
			    s->name, p->file, p->line);
			continue;
		}
		if ((p = program_load(diag, s, name, c->childlogdir)) == NULL)
			continue;
		if (program_sockets(diag, s, p, c) != 0) {
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
	if (strcmp(a->name, b->name) != 0)
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
