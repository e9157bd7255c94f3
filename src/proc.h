/*
 * The process table from /proc, to find every process of a worker's tree:
 * its process group, its descendants, and orphans that were re-parented to
 * leashd (a child subreaper) but still carry the worker's token in their
 * environment (double-forked and setsid() daemons).
 */
#ifndef LEASH_PROC_H
#define LEASH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_entry {
	pid_t pid, ppid, pgid;
	char state;		/* the kernel's letter: R, S, T (stopped) ... */
};

/*
 * A child of leashd that is not a worker's own process (a double-forked
 * daemon re-parented to leashd, the spawner), with the token in its
 * environment ("" when it has none), read once per scan.
 */
struct proc_stray {
	pid_t pid;
	char token[48];
};

struct proc_table {
	struct proc_entry *p;	/* sorted by pid */
	size_t n, cap;
	size_t *by_ppid, *by_pgid;	/* indices into p, by ppid, by pgid */
	struct proc_stray *strays;	/* proc_read_strays */
	size_t nstrays;
};

/* Reads ppid and pgid from /proc/PID/stat; -1 for a zombie or no process. */
int proc_read_stat(pid_t, struct proc_entry *);
/* Reads /proc into the table, indexed for proc_tree. */
int proc_scan(struct proc_table *);
void proc_table_free(struct proc_table *);
/*
 * Reads the token of each child of self that is not in known (sorted: the
 * pids of the workers' own processes; NULL: none known), once per scan,
 * for proc_tree; without it proc_tree finds no orphans.
 */
void proc_read_strays(struct proc_table *, pid_t self, const pid_t *known,
    size_t nknown);
/*
 * The pids of one worker's tree: root's process group (root is the
 * worker's first pid, which leads its group) as far as it descends from
 * self, the strays that carry token, and all descendants of those.  The
 * cost is that of the tree, not of the table.  Returns the number found;
 * *out is allocated.
 */
size_t proc_tree(const struct proc_table *, pid_t self, pid_t root,
    const char *token, pid_t **out);
int pid_compare(const void *, const void *);
/* leashd's own cost, for metrics and leashctl top. */
struct self_usage {
	double cpu;		/* user + system seconds */
	uint64_t rss;		/* bytes */
	long fds;		/* open, -1: unknown (out of fds) */
	long max_fds;		/* RLIMIT_NOFILE */
	double start;		/* wall-clock seconds of the process's start,
				 * 0: unknown (an upgrade keeps it) */
};
void proc_self_usage(struct self_usage *);
/* The worker token in /proc/PID/environ, or "" (truncated to len). */
void proc_token(pid_t, char *token, size_t len);

#endif
