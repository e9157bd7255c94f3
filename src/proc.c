#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proc.h"
#include "state.h"
#include "util.h"

#define TOKEN_KEY "LEASH_WORKER_TOKEN"

/* The command name may contain spaces and parentheses, so fields are
 * counted from the last ')'. */
int
proc_read_stat(pid_t pid, struct proc_entry *e)
{
	char path[64], buf[1024], *p;
	char state;
	int ppid, pgid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %c %d %d", &state, &ppid, &pgid) != 3)
		return -1;
	if (state == 'Z')
		return -1;	/* a zombie is already dead; its parent reaps it */
	e->pid = pid;
	e->ppid = ppid;
	e->pgid = pgid;
	e->state = state;
	return 0;
}

static int
entry_compare(const void *a, const void *b)
{
	return pid_compare(&((const struct proc_entry *)a)->pid,
	    &((const struct proc_entry *)b)->pid);
}

static int
ppid_compare(const void *a, const void *b, void *table)
{
	const struct proc_table *t = table;

	return pid_compare(&t->p[*(const size_t *)a].ppid,
	    &t->p[*(const size_t *)b].ppid);
}

static int
pgid_compare(const void *a, const void *b, void *table)
{
	const struct proc_table *t = table;

	return pid_compare(&t->p[*(const size_t *)a].pgid,
	    &t->p[*(const size_t *)b].pgid);
}

static void
proc_index(struct proc_table *t)
{
	qsort(t->p, t->n, sizeof(*t->p), entry_compare);
	t->by_ppid = xrealloc(t->by_ppid, (t->n + 1) * sizeof(size_t));
	t->by_pgid = xrealloc(t->by_pgid, (t->n + 1) * sizeof(size_t));
	for (size_t i = 0; i < t->n; i++)
		t->by_ppid[i] = t->by_pgid[i] = i;
	qsort_r(t->by_ppid, t->n, sizeof(size_t), ppid_compare, t);
	qsort_r(t->by_pgid, t->n, sizeof(size_t), pgid_compare, t);
}

static const struct proc_entry *
proc_find(const struct proc_table *t, pid_t pid)
{
	struct proc_entry key = { .pid = pid };

	return t->n == 0 ? NULL :
	    bsearch(&key, t->p, t->n, sizeof(*t->p), entry_compare);
}

/* The entries whose field (ppid or pgid, through idx) is v: [*lo, *hi). */
static void
proc_range(const struct proc_table *t, const size_t *idx, bool ppid, pid_t v,
    size_t *lo, size_t *hi)
{
	size_t a = 0, b = t->n, m;

#define FIELD(i) (ppid ? t->p[idx[i]].ppid : t->p[idx[i]].pgid)
	while (a < b) {
		m = a + (b - a) / 2;
		if (FIELD(m) < v)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = a; b < t->n && FIELD(b) == v; b++)
		;
#undef FIELD
	*hi = b;
}

int
proc_scan(struct proc_table *t)
{
	struct dirent *de;
	struct proc_entry e;
	DIR *dir;
	char *end;
	long pid;

	t->n = t->nstrays = 0;
	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || proc_read_stat((pid_t)pid, &e) != 0)
			continue;	/* gone meanwhile: not an error */
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 256;
			t->p = xrealloc(t->p, t->cap * sizeof(*t->p));
		}
		t->p[t->n++] = e;
	}
	closedir(dir);
	proc_index(t);
	return 0;
}

void
proc_table_free(struct proc_table *t)
{
	free(t->p);
	free(t->by_ppid);
	free(t->by_pgid);
	free(t->strays);
	memset(t, 0, sizeof(*t));
}

void
proc_token(pid_t pid, char *token, size_t len)
{
	char path[64], *buf, *p;
	size_t n, klen = strlen(TOKEN_KEY "=");

	token[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if ((buf = read_file_text(path, &n)) == NULL)
		return;
	for (p = buf; p < buf + n; p += strlen(p) + 1) {
		if (strncmp(p, TOKEN_KEY "=", klen) == 0) {
			snprintf(token, len, "%s", p + klen);
			break;
		}
	}
	free(buf);
}

static bool
pid_in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* Whether e's chain of parents reaches self: only leashd's own
 * descendants can belong to a worker, whatever their pid or group. */
static bool
descends_from(const struct proc_table *t, const struct proc_entry *e,
    pid_t self)
{
	for (size_t depth = 0; depth < t->n && e != NULL; depth++) {
		if (e->ppid == self)
			return true;
		e = proc_find(t, e->ppid);
	}
	return false;
}

int
pid_compare(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

void
proc_read_strays(struct proc_table *t, pid_t self, const pid_t *known,
    size_t nknown)
{
	size_t lo, hi;

	proc_range(t, t->by_ppid, true, self, &lo, &hi);
	t->strays = xrealloc(t->strays, (hi - lo + 1) * sizeof(*t->strays));
	t->nstrays = 0;
	for (size_t i = lo; i < hi; i++) {
		struct proc_stray *s = &t->strays[t->nstrays];
		s->pid = t->p[t->by_ppid[i]].pid;
		if (known != NULL && bsearch(&s->pid, known, nknown,
		    sizeof(pid_t), pid_compare) != NULL)
			continue;
		proc_token(s->pid, s->token, sizeof(s->token));
		t->nstrays++;
	}
}

/* Adds pid to v (of n, room for cap) unless it is there already. */
static void
tree_add(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (pid_in(*v, *n, pid))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = pid;
}

size_t
proc_tree(const struct proc_table *t, pid_t self, pid_t root,
    const char *token, pid_t **out)
{
	const struct proc_entry *e;
	pid_t *v = NULL;
	size_t n = 0, cap = 0, lo, hi;

	if (root > 0 && root != self) {
		if ((e = proc_find(t, root)) != NULL && descends_from(t, e, self))
			tree_add(&v, &n, &cap, root);
		proc_range(t, t->by_pgid, false, root, &lo, &hi);
		for (size_t i = lo; i < hi; i++) {
			e = &t->p[t->by_pgid[i]];
			if (e->pid != self && descends_from(t, e, self))
				tree_add(&v, &n, &cap, e->pid);
		}
	}
	for (size_t i = 0; token != NULL && *token != '\0' && i < t->nstrays;
	    i++)
		if (strcmp(t->strays[i].token, token) == 0)
			tree_add(&v, &n, &cap, t->strays[i].pid);
	/* Then the descendants of every member, found by the member. */
	for (size_t k = 0; k < n; k++) {
		proc_range(t, t->by_ppid, true, v[k], &lo, &hi);
		for (size_t i = lo; i < hi; i++)
			if (t->p[t->by_ppid[i]].pid != self)
				tree_add(&v, &n, &cap, t->p[t->by_ppid[i]].pid);
	}
	if (v == NULL)
		v = xcalloc(1, sizeof(*v));
	*out = v;
	return n;
}

void
proc_self_usage(struct self_usage *u)
{
	struct rusage ru;
	struct rlimit rl;
	struct dirent *de;
	unsigned long long size, resident, ticks, btime = 0;
	char buf[256];
	DIR *dir;
	FILE *f;

	memset(u, 0, sizeof(*u));
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		u->cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	if (read_small_file("/proc/self/statm", buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%llu %llu", &size, &resident) == 2)
		u->rss = resident * (uint64_t)sysconf(_SC_PAGESIZE);
	u->fds = -1;
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		u->fds = 0;
		while ((de = readdir(dir)) != NULL)
			u->fds += de->d_name[0] != '.';
		u->fds--;	/* the directory's own */
		closedir(dir);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		u->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
	/* Its per-CPU lines come first: longer than a page on big machines. */
	if ((f = fopen("/proc/stat", "re")) != NULL) {
		while (btime == 0 && fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "btime ", 6) == 0)
				btime = strtoull(buf + 6, NULL, 10);
		fclose(f);
	}
	if (btime > 0 && (ticks = state_starttime(getpid())) > 0)
		u->start = (double)btime + (double)ticks /
		    (double)sysconf(_SC_CLK_TCK);
}
