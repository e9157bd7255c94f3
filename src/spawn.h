/*
 * fork and exec of one worker, with the child set up the way a daemon's
 * children must be: own session and process group, signal mask and
 * dispositions reset (ev.pod: otherwise a race), no inherited fds, umask,
 * directory, credentials.  A failure in the child before exec is reported
 * back through a close-on-exec pipe as the spawn error, never as a crash.
 */
#ifndef LEASH_SPAWN_H
#define LEASH_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SPAWN_FDS_MAX 64	/* listening sockets passed to one worker */

struct spawn_request {
	char *const *argv;
	char *const *envp;
	const char *directory;	/* NULL: leave as is */
	int umask;		/* -1: leave as is */
	const char *user;	/* NULL: do not change credentials */
	uid_t uid;
	gid_t gid;
	const char *cgroup_procs;	/* cgroup.procs to join first, or NULL */
	const int *fds;		/* passed as 3, 4, ... (LISTEN_FDS) */
	size_t nfds;		/* at most SPAWN_FDS_MAX */
	bool pid_vars;		/* LISTEN_PID=, WATCHDOG_PID= get the child's pid */
	int stdin_fd;		/* child's ends; -1 for /dev/null */
	int stdout_fd;
	int stderr_fd;
};

/*
 * leashd holds a few fds per worker (output pipes, the kernel's memory
 * event): raises its own soft RLIMIT_NOFILE to the hard limit, while
 * every worker is started with the limit leashd was given (programs that
 * use select(2) expect 1024).  Returns -1 when setrlimit fails.
 */
int spawn_raise_nofile(void);

/*
 * Whether fd, just opened for something leashd can do without (a usage
 * file kept open, a threshold event), may be kept.  The kernel hands out
 * the lowest free number, so keeping only those numbered below the limit
 * less a reserve (an eighth of it, at least 256) leaves the reserve to
 * what cannot do without: spawns' pipes, output, control clients.
 */
bool spawn_fd_keepable(int fd);

/*
 * Returns the child's pid once it has exec'd.  On failure returns -1 with
 * a message in err (the failed child, if any, has been reaped).  The child
 * is started by the spawner (spawn.c) when it can be, by a fork of the
 * caller otherwise; either way it is the caller's child.
 */
pid_t spawn(const struct spawn_request *, char *err, size_t errlen);

/*
 * Registers a cgroup v1 threshold event (cgroup_threshold_register) in a
 * short-lived child, so the caller never waits for the kernel's RCU grace
 * period: efd becomes readable once the event works and usage crosses
 * bytes.  The caller keeps its fds and may close them at once.
 */
void spawn_threshold(const char *dir, int efd, int ufd, uint64_t bytes);

/* Stops the spawner (before a last sweep of leftover children). */
void spawn_stop_spawner(void);

#endif
