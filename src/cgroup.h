/*
 * Per-worker cgroups under leashd's own cgroup: exact membership of a
 * worker's tree, whole-tree kill, and the kernel's memory figures.
 *
 * cgroup v2 (unified) and v1 (the memory hierarchy, also on hybrid hosts)
 * are both handled.  Every path is derived from a root directory and the
 * /proc files given to cgroup_detect, so tests can point it at a tree
 * shaped like cgroupfs.
 */
#ifndef LEASH_CGROUP_H
#define LEASH_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cgroup_version {
	CGROUP_NONE,
	CGROUP_V1,
	CGROUP_V2,
};

struct cgroup_root {
	enum cgroup_version version;
	char *base;		/* the directory leaf cgroups are made in */
	char *own;		/* leashd's own cgroup directory */
};

/*
 * Finds the memory controller's directory for this process from a
 * /proc/PID/cgroup and a /proc/PID/mountinfo file.  Returns 0 with root
 * filled in, or -1 with a reason in why (no memory controller, ...).
 * Creates nothing.
 */
int cgroup_detect(const char *proc_cgroup, const char *mountinfo,
    struct cgroup_root *root, char *why, size_t whylen);
/*
 * Makes root->base usable for leaf cgroups.  On v1 that is leashd's own
 * cgroup.  On v2 a cgroup with processes cannot have children with
 * controllers, so leashd moves itself to <own>/leashd and enables memory
 * in <own>/cgroup.subtree_control (what Delegate=yes allows).
 */
int cgroup_prepare(struct cgroup_root *, char *why, size_t whylen);
void cgroup_root_free(struct cgroup_root *);

/* Creates <base>/<name>; returns its path (free it) or NULL. */
char *cgroup_create(const struct cgroup_root *, const char *name);
/* The file a child writes its pid to before exec. */
char *cgroup_procs_file(const char *dir);
/* The pids in the cgroup; returns how many, -1 on error. */
ssize_t cgroup_pids(const char *dir, pid_t **pids);
/*
 * What a worker's sampler keeps of its cgroup: the usage file
 * (memory.current, memory.usage_in_bytes) opened once and read with
 * pread, and the inactive file cache from the last memory.stat.
 */
struct cgroup_meter {
	int usage_fd;		/* cgroup_usage_open, or -1 */
	uint64_t inactive;
};
int cgroup_usage_open(const struct cgroup_root *, const char *dir);
/*
 * Working set: usage - inactive file cache (kubelet's figure).  With a
 * meter, usage comes from its open file (or one opened for this read) and
 * memory.stat is read only when usage is at least stat_at, the meter
 * keeping the inactive figure between; without one, both are read now.
 */
int cgroup_memory(const struct cgroup_root *, const char *dir,
    struct cgroup_meter *, uint64_t stat_at, uint64_t *working_set,
    uint64_t *usage);
/*
 * How many of the cgroup's processes the kernel's OOM killer has killed
 * (oom_kill in memory.events, or in v1's memory.oom_control); 0 when it
 * cannot be read.  The count is the victim's cgroup's, whichever limit
 * (its own, or one above it) was reached.
 */
uint64_t cgroup_oom_kills(const struct cgroup_root *, const char *dir);
/* Parses "key value" lines of memory.stat for key. */
int cgroup_stat_value(const char *text, const char *key, uint64_t *out);
/* SIGKILL to every member (cgroup.kill on v2 when there is one). */
int cgroup_kill(const struct cgroup_root *, const char *dir);
/* The kernel's hard limit: memory.max or memory.limit_in_bytes. */
int cgroup_set_limit(const struct cgroup_root *, const char *dir, uint64_t);
/*
 * v1 only: asks for efd (an eventfd) to become readable when the usage
 * read through ufd (cgroup_usage_open) crosses bytes, by a write to
 * cgroup.event_control.  The write waits for an RCU grace period (15-20
 * ms here): leashd has it done by a child (spawn_threshold).
 */
int cgroup_threshold_register(const char *dir, int efd, int ufd,
    uint64_t bytes);
/* rmdir; fails while members remain. */
int cgroup_remove(const char *dir);

/* Each worker's cgroup is CGROUP_WORKER_PREFIX + its token, and a token
 * begins with the pid of the leashd that made it ("leash-4711-12"). */
#define CGROUP_WORKER_PREFIX "leash-"

#endif
