#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "state.h"
#include "util.h"

#define STATE_FIELDS_MAX 12

static void
put_word(struct buf *b, const char *s)
{
	buf_puts(b, s != NULL && *s != '\0' ? s : "-");
}

char *
state_format(const struct state *st)
{
	struct buf b = { 0 };

	buf_printf(&b, "leash-state %d\nleashd %d %llu\n", STATE_VERSION,
	    (int)st->leashd, st->starttime);
	for (size_t i = 0; i < st->nsockets; i++)
		buf_printf(&b, "socket %s %lu %d %s\n", st->sockets[i].name,
		    st->sockets[i].inode, st->sockets[i].fd,
		    st->sockets[i].listen);
	for (size_t i = 0; i < st->nprocs; i++) {
		const struct state_process *p = &st->procs[i];

		buf_printf(&b, "process %d %d %llu %d %.3f %d %d %016llx %s ",
		    (int)p->pid, (int)p->pgid, p->starttime, p->role, p->started,
		    p->out_fd, p->err_fd, (unsigned long long)p->cmdhash,
		    p->token);
		put_word(&b, p->cgroup);
		buf_putc(&b, ' ');
		put_word(&b, p->fullname);
		buf_putc(&b, '\n');
	}
	for (size_t i = 0; i + 1 < st->carry.n; i += 2)
		buf_printf(&b, "carry %s %s\n", st->carry.v[i],
		    st->carry.v[i + 1]);
	return buf_take(&b);
}

/* Splits line (modified) at spaces; returns the number of words. */
static size_t
split(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t != NULL;
	    t = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		w[n++] = t;
	}
	return n;
}

static bool
number(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool
unumber(const char *s, int base, unsigned long long *out)
{
	char *end;

	if (*s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoull(s, &end, base);
	return errno == 0 && end != s && *end == '\0';
}

void
state_add_socket(struct state *st, const char *name, const char *listen,
    unsigned long inode, int fd)
{
	struct state_socket *s;

	st->sockets = xrealloc(st->sockets, (st->nsockets + 1) *
	    sizeof(*st->sockets));
	s = &st->sockets[st->nsockets++];
	s->name = xstrdup(name);
	s->listen = xstrdup(listen);
	s->inode = inode;
	s->fd = fd;
}

struct state_process *
state_add_process(struct state *st)
{
	struct state_process *p;

	st->procs = xrealloc(st->procs, (st->nprocs + 1) * sizeof(*st->procs));
	p = &st->procs[st->nprocs++];
	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = -1;
	return p;
}

void
state_add_carry(struct state *st, const char *key, const char *value)
{
	strv_push(&st->carry, xstrdup(key));
	strv_push(&st->carry, xstrdup(value));
}

const char *
state_carry(const struct state *st, const char *key)
{
	for (size_t i = 0; i + 1 < st->carry.n; i += 2)
		if (strcmp(st->carry.v[i], key) == 0)
			return st->carry.v[i + 1];
	return NULL;
}

static bool
parse_socket(struct state *st, char **w, size_t n)
{
	unsigned long long inode;
	long long fd;

	if (n != 5 || !unumber(w[2], 10, &inode) || inode > ULONG_MAX ||
	    !number(w[3], -1, INT_MAX, &fd))
		return false;
	state_add_socket(st, w[1], w[4], (unsigned long)inode, (int)fd);
	return true;
}

static bool
parse_process(struct state *st, char **w, size_t n)
{
	long long pid, pgid, role, out, err;
	unsigned long long start, hash;
	struct state_process *p;
	char *end;
	double up;

	if (n != 12 || !number(w[1], 1, INT_MAX, &pid) ||
	    !number(w[2], 1, INT_MAX, &pgid) || !unumber(w[3], 10, &start) ||
	    !number(w[4], 0, 2, &role) || !number(w[6], -1, INT_MAX, &out) ||
	    !number(w[7], -1, INT_MAX, &err) || !unumber(w[8], 16, &hash) ||
	    strlen(w[9]) >= sizeof(p->token) || strcmp(w[11], "-") == 0)
		return false;
	errno = 0;
	up = strtod(w[5], &end);
	if (errno != 0 || *end != '\0' || !(up >= 0 && up < 1e12))
		return false;
	p = state_add_process(st);
	p->pid = (pid_t)pid;
	p->pgid = (pid_t)pgid;
	p->starttime = start;
	p->role = (int)role;
	p->started = up;
	p->out_fd = (int)out;
	p->err_fd = (int)err;
	p->cmdhash = hash;
	snprintf(p->token, sizeof(p->token), "%s", w[9]);
	p->cgroup = strcmp(w[10], "-") == 0 ? NULL : xstrdup(w[10]);
	p->fullname = xstrdup(w[11]);
	return true;
}

int
state_parse(const char *text, size_t len, struct state *st, size_t *skipped,
    char *err, size_t errlen)
{
	char *copy = xstrndup(text, len), *line, *save = NULL;
	char *w[STATE_FIELDS_MAX + 1];
	long long v;
	size_t n, lineno = 0;
	bool leashd = false;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	*skipped = 0;
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		n = split(line, w, STATE_FIELDS_MAX);
		if (lineno++ == 0) {
			if (n != 2 || strcmp(w[0], "leash-state") != 0 ||
			    !number(w[1], 0, INT_MAX, &v)) {
				snprintf(err, errlen, "not a leash state file");
				goto out;
			}
			if (v != STATE_VERSION) {
				snprintf(err, errlen, "state file version %lld, "
				    "this leashd reads %d", v, STATE_VERSION);
				goto out;
			}
			continue;
		}
		if (n == 3 && strcmp(w[0], "leashd") == 0 && !leashd &&
		    number(w[1], 1, INT_MAX, &v) &&
		    unumber(w[2], 10, &st->starttime)) {
			st->leashd = (pid_t)v;
			leashd = true;
		} else if (!(n > 0 && strcmp(w[0], "socket") == 0 &&
		    parse_socket(st, w, n)) &&
		    !(n > 0 && strcmp(w[0], "process") == 0 &&
		    parse_process(st, w, n))) {
			if (n == 3 && strcmp(w[0], "carry") == 0)
				state_add_carry(st, w[1], w[2]);
			else
				(*skipped)++;
		}
	}
	if (!leashd) {
		snprintf(err, errlen, lineno == 0 ? "empty state file" :
		    lineno == 1 ? "no leashd line (truncated?)" :
		    "no leashd line");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	if (rc != 0)
		state_free(st);
	return rc;
}

void
state_free(struct state *st)
{
	for (size_t i = 0; i < st->nsockets; i++) {
		free(st->sockets[i].name);
		free(st->sockets[i].listen);
	}
	for (size_t i = 0; i < st->nprocs; i++) {
		free(st->procs[i].fullname);
		free(st->procs[i].cgroup);
	}
	free(st->sockets);
	free(st->procs);
	strv_free(&st->carry);
	memset(st, 0, sizeof(*st));
}

unsigned long long
state_starttime(pid_t pid)
{
	char path[64], buf[1024], *p, *save = NULL;
	unsigned long long v;
	int field = 3;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0 ||
	    (p = strrchr(buf, ')')) == NULL)
		return 0;
	/* Field 3 (state) follows the name; the start time is field 22. */
	for (char *t = strtok_r(p + 1, " ", &save); t != NULL;
	    t = strtok_r(NULL, " ", &save), field++) {
		if (field == 3 && *t == 'Z')
			return 0;
		if (field == 22)
			return unumber(t, 10, &v) ? v : 0;
	}
	return 0;
}

bool
state_same_process(pid_t pid, unsigned long long starttime)
{
	return pid > 0 && starttime != 0 && state_starttime(pid) == starttime;
}

uint64_t
state_command_hash(char *const *argv)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; argv != NULL && *argv != NULL; argv++)
		for (const unsigned char *s = (const unsigned char *)*argv; ;
		    s++) {
			h = (h ^ *s) * 0x100000001b3ULL;
			if (*s == '\0')
				break;
		}
	return h;
}

unsigned long
state_socket_inode(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	return (unsigned long)st.st_ino;
}
