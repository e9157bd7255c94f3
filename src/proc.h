/*
 * The process table from /proc, to find every process of a worker's tree:
 * its process group, its descendants, and orphans that were re-parented to
 * leashd (a child subreaper) but still carry the worker's token in their
 * environment (double-forked and setsid() daemons).
 */
#ifndef LEASH_PROC_H
#define LEASH_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct proc_entry {
	pid_t pid, ppid, pgid;
};

struct proc_table {
	struct proc_entry *p;
	size_t n, cap;
};

/* Reads ppid and pgid from /proc/PID/stat; -1 for a zombie or no process. */
int proc_read_stat(pid_t, struct proc_entry *);
int proc_scan(struct proc_table *);
void proc_table_free(struct proc_table *);
/* True when /proc/PID/environ contains the exact string "key=value". */
bool proc_environ_has(pid_t, const char *key, const char *value);
/*
 * The pids of one worker's tree: root's process group (root is the
 * worker's first pid, which leads its group), the children of self whose
 * environment holds token, and all descendants of those.  known (sorted,
 * may be NULL) lists children of self that are some worker's own pid, so
 * their environment need not be read.  Returns the number found; *out is
 * allocated.
 */
size_t proc_tree(const struct proc_table *, pid_t self, pid_t root,
    const char *token, const pid_t *known, size_t nknown, pid_t **out);
int pid_compare(const void *, const void *);

#endif
