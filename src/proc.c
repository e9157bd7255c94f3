#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
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
	return 0;
}

int
proc_scan(struct proc_table *t)
{
	struct dirent *de;
	struct proc_entry e;
	DIR *dir;
	char *end;
	long pid;

	t->n = 0;
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
	return 0;
}

void
proc_table_free(struct proc_table *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

bool
proc_environ_has(pid_t pid, const char *key, const char *value)
{
	char path[64], *buf, *p, *want;
	size_t len, wlen;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if ((buf = read_file_text(path, &len)) == NULL)
		return false;
	want = xasprintf("%s=%s", key, value);
	wlen = strlen(want);
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		if (strlen(p) == wlen && memcmp(p, want, wlen) == 0) {
			found = true;
			break;
		}
	}
	free(want);
	free(buf);
	return found;
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
		const struct proc_entry *up = NULL;
		for (size_t i = 0; i < t->n; i++)
			if (t->p[i].pid == e->ppid)
				up = &t->p[i];
		e = up;
	}
	return false;
}

int
pid_compare(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

size_t
proc_tree(const struct proc_table *t, pid_t self, pid_t root,
    const char *token, const pid_t *known, size_t nknown, pid_t **out)
{
	pid_t *v = xcalloc(t->n + 1, sizeof(*v));
	size_t n = 0, before;

	for (size_t i = 0; i < t->n; i++) {
		const struct proc_entry *e = &t->p[i];
		if (e->pid == self)
			continue;
		if ((root > 0 && (e->pid == root || e->pgid == root) &&
		    descends_from(t, e, self)) ||
		    (e->ppid == self && token != NULL && (known == NULL ||
		    bsearch(&e->pid, known, nknown, sizeof(pid_t),
		    pid_compare) == NULL) &&
		    proc_environ_has(e->pid, TOKEN_KEY, token)))
			v[n++] = e->pid;
	}
	/* Close over descendants until nothing new is found. */
	do {
		before = n;
		for (size_t i = 0; i < t->n; i++) {
			const struct proc_entry *e = &t->p[i];
			if (e->pid != self && pid_in(v, n, e->ppid) &&
			    !pid_in(v, n, e->pid))
				v[n++] = e->pid;
		}
	} while (n != before);
	*out = v;
	return n;
}
