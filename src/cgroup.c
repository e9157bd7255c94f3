#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

static int
write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -1;
	close(fd);
	return rc;
}

static char *
join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* mountinfo writes a space, tab, newline and backslash in a path as \040,
 * \011, \012 and \134: back to the bytes, in place. */
static void
mountinfo_unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));
			s += 3;
		} else
			*out++ = *s;
	}
	*out = '\0';
}

/*
 * The mount point of the hierarchy (v1: the one with the memory option;
 * v2: fstype cgroup2) and the root of that mount within the hierarchy.
 */
static int
find_mount(const char *mountinfo, bool v2, char **mnt, char **mroot)
{
	char *text = read_file_text(mountinfo, NULL), *line, *save = NULL;
	char root[4096], point[4096], *sep, fstype[64], super[1024];
	int found = -1;

	if (text == NULL)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL && found != 0;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2)
			continue;
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (v2 ? strcmp(fstype, "cgroup2") != 0 :
		    (strcmp(fstype, "cgroup") != 0 ||
		    strstr(super, "memory") == NULL))
			continue;
		if (!v2) {
			/* "memory" must be a whole option, not "memory_x". */
			bool whole = false;
			char *o, *osave = NULL;
			for (o = strtok_r(super, ",", &osave); o != NULL;
			    o = strtok_r(NULL, ",", &osave))
				whole |= strcmp(o, "memory") == 0;
			if (!whole)
				continue;
		}
		mountinfo_unescape(point);
		mountinfo_unescape(root);
		*mnt = xstrdup(point);
		*mroot = xstrdup(root);
		found = 0;
	}
	free(text);
	return found;
}

int
cgroup_detect(const char *proc_cgroup, const char *mountinfo,
    struct cgroup_root *root, char *why, size_t whylen)
{
	char *text = read_file_text(proc_cgroup, NULL), *line, *save = NULL;
	char *v1path = NULL, *v2path = NULL, *mnt = NULL, *mroot = NULL, *ctl;
	const char *rel;
	bool v2;

	memset(root, 0, sizeof(*root));
	if (text == NULL) {
		snprintf(why, whylen, "cannot read %s", proc_cgroup);
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		if (strcmp(line, "0") == 0 && c1[1] == '\0') {
			free(v2path);
			v2path = xstrdup(c2 + 1);
		} else {
			char *o, *osave = NULL;
			for (o = strtok_r(c1 + 1, ",", &osave); o != NULL;
			    o = strtok_r(NULL, ",", &osave))
				if (strcmp(o, "memory") == 0) {
					free(v1path);
					v1path = xstrdup(c2 + 1);
				}
		}
	}
	free(text);

	/* A memory controller bound to v1 wins: v2 then has no memory. */
	v2 = v1path == NULL;
	if (v2 && v2path == NULL) {
		snprintf(why, whylen, "no memory cgroup in %s", proc_cgroup);
		return -1;
	}
	if (find_mount(mountinfo, v2, &mnt, &mroot) != 0) {
		snprintf(why, whylen, "no cgroup%s memory hierarchy is mounted",
		    v2 ? "2" : " v1");
		free(v1path);
		free(v2path);
		return -1;
	}
	rel = v2 ? v2path : v1path;
	/* The mount may show only a subtree (a container's namespace). */
	if (strcmp(mroot, "/") != 0) {
		size_t ml = strlen(mroot);
		if (strncmp(rel, mroot, ml) != 0 ||
		    (rel[ml] != '\0' && rel[ml] != '/')) {
			snprintf(why, whylen, "our cgroup %s is outside the mounted "
			    "subtree %s", rel, mroot);
			free(mnt);
			free(mroot);
			free(v1path);
			free(v2path);
			return -1;
		}
		rel += ml;
	}
	root->version = v2 ? CGROUP_V2 : CGROUP_V1;
	root->own = strcmp(rel, "/") == 0 || rel[0] == '\0' ? xstrdup(mnt) :
	    xasprintf("%s%s", mnt, rel);
	root->base = xstrdup(root->own);
	free(mnt);
	free(mroot);
	free(v1path);
	free(v2path);

	if (root->version == CGROUP_V2) {
		char *file = join(root->own, "cgroup.controllers");
		ctl = read_file_text(file, NULL);
		free(file);
		if (ctl == NULL || strstr(ctl, "memory") == NULL) {
			snprintf(why, whylen, "the memory controller is not "
			    "available in %s (not delegated?)", root->own);
			free(ctl);
			cgroup_root_free(root);
			return -1;
		}
		free(ctl);
	}
	return 0;
}

int
cgroup_prepare(struct cgroup_root *root, char *why, size_t whylen)
{
	char *dir, *file, buf[32];

	if (root->version == CGROUP_V2) {
		/* Move leashd out of the way of its workers' cgroups. */
		dir = join(root->own, "leashd");
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(why, whylen, "mkdir %s: %s", dir, strerror(errno));
			free(dir);
			return -1;
		}
		file = join(dir, "cgroup.procs");
		snprintf(buf, sizeof(buf), "%d", (int)getpid());
		if (write_text(file, buf) != 0) {
			snprintf(why, whylen, "cannot move leashd to %s: %s", dir,
			    strerror(errno));
			free(file);
			free(dir);
			return -1;
		}
		free(file);
		free(dir);
		file = join(root->own, "cgroup.subtree_control");
		if (write_text(file, "+memory") != 0) {
			snprintf(why, whylen, "cannot enable memory in %s: %s",
			    file, strerror(errno));
			free(file);
			return -1;
		}
		free(file);
	}
	/* Prove that leaves can be made here. */
	snprintf(buf, sizeof(buf), "leash-probe-%d", (int)getpid());
	if ((dir = cgroup_create(root, buf)) == NULL) {
		snprintf(why, whylen, "cannot create cgroups in %s: %s",
		    root->base, strerror(errno));
		return -1;
	}
	cgroup_remove(dir);
	free(dir);
	return 0;
}

void
cgroup_root_free(struct cgroup_root *root)
{
	free(root->base);
	free(root->own);
	memset(root, 0, sizeof(*root));
}

char *
cgroup_create(const struct cgroup_root *root, const char *name)
{
	char *dir = join(root->base, name);

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		free(dir);
		return NULL;
	}
	return dir;
}

char *
cgroup_procs_file(const char *dir)
{
	return join(dir, "cgroup.procs");
}

ssize_t
cgroup_pids(const char *dir, pid_t **pids)
{
	char *file = cgroup_procs_file(dir), *text, *p, *end;
	size_t n = 0, cap = 0;
	long v;

	text = read_file_text(file, NULL);
	free(file);
	*pids = NULL;
	if (text == NULL)
		return -1;
	for (p = text; *p != '\0'; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*pids = xrealloc(*pids, cap * sizeof(**pids));
		}
		(*pids)[n++] = (pid_t)v;
	}
	free(text);
	return (ssize_t)n;
}

int
cgroup_stat_value(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			*out = strtoull(p + klen + 1, NULL, 10);
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

int
cgroup_usage_open(const struct cgroup_root *root, const char *dir)
{
	char *file = join(dir, root->version == CGROUP_V2 ? "memory.current" :
	    "memory.usage_in_bytes");
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	free(file);
	return fd;
}

static int
usage_read(int fd, uint64_t *usage)
{
	char buf[32];

	if (pread_small(fd, buf, sizeof(buf)) <= 0)
		return -1;
	*usage = strtoull(buf, NULL, 10);
	return 0;
}

static uint64_t
inactive_read(const struct cgroup_root *root, const char *dir)
{
	bool v2 = root->version == CGROUP_V2;
	char *file = join(dir, "memory.stat"), *text;
	uint64_t inactive = 0;

	text = read_file_text(file, NULL);
	free(file);
	if (text == NULL)
		return 0;
	/* v1's total_ figure includes children; the leaf has none. */
	if (cgroup_stat_value(text, v2 ? "inactive_file" :
	    "total_inactive_file", &inactive) != 0)
		cgroup_stat_value(text, "inactive_file", &inactive);
	free(text);
	return inactive;
}

uint64_t
cgroup_oom_kills(const struct cgroup_root *root, const char *dir)
{
	char *file = join(dir, root->version == CGROUP_V2 ? "memory.events" :
	    "memory.oom_control"), *text;
	uint64_t n = 0;

	text = read_file_text(file, NULL);
	free(file);
	if (text != NULL && cgroup_stat_value(text, "oom_kill", &n) != 0)
		n = 0;
	free(text);
	return n;
}

int
cgroup_memory(const struct cgroup_root *root, const char *dir,
    struct cgroup_meter *m, uint64_t stat_at, uint64_t *working_set,
    uint64_t *usage)
{
	int fd = m != NULL && m->usage_fd >= 0 ? m->usage_fd :
	    cgroup_usage_open(root, dir), rc;
	uint64_t inactive;

	if (fd < 0)
		return -1;
	rc = usage_read(fd, usage);
	if (m == NULL || fd != m->usage_fd)
		close(fd);
	if (rc != 0)
		return -1;
	if (m == NULL || *usage >= stat_at)
		inactive = inactive_read(root, dir);
	else
		inactive = m->inactive;
	if (m != NULL)
		m->inactive = inactive;
	*working_set = inactive < *usage ? *usage - inactive : 0;
	return 0;
}

int
cgroup_kill(const struct cgroup_root *root, const char *dir)
{
	char *file;
	pid_t *pids;
	ssize_t n;

	if (root->version == CGROUP_V2) {
		file = join(dir, "cgroup.kill");
		if (write_text(file, "1") == 0) {
			free(file);
			return 0;
		}
		free(file);
	}
	/* v1: members can fork meanwhile, so go round until none is left
	 * that we have not signalled (bounded: SIGKILL cannot be caught). */
	for (int round = 0; round < 16; round++) {
		if ((n = cgroup_pids(dir, &pids)) <= 0) {
			free(pids);
			return n < 0 ? -1 : 0;
		}
		for (ssize_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		free(pids);
	}
	return 0;
}

int
cgroup_set_limit(const struct cgroup_root *root, const char *dir,
    uint64_t bytes)
{
	char *file = join(dir, root->version == CGROUP_V2 ? "memory.max" :
	    "memory.limit_in_bytes");
	char buf[32];
	int rc;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
	rc = write_text(file, buf);
	free(file);
	return rc;
}

int
cgroup_threshold_register(const char *dir, int efd, int ufd, uint64_t bytes)
{
	char *file = join(dir, "cgroup.event_control"), line[96];
	int rc;

	snprintf(line, sizeof(line), "%d %d %llu", efd, ufd,
	    (unsigned long long)bytes);
	rc = write_text(file, line);
	free(file);
	return rc;
}

int
cgroup_remove(const char *dir)
{
	return rmdir(dir);
}
