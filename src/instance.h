/*
 * One process of a worker, with everything that belongs to it: its spawn
 * (environment, sockets, cgroup, output pipes), its process tree, signals
 * to that tree, and its memory samples.  An instance does not decide
 * anything: each of its events (exit, timer, the kernel's threshold event,
 * sd_notify messages) goes to its owner's hook, worker.c's one entry.
 */
#ifndef LEASH_INSTANCE_H
#define LEASH_INSTANCE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "config.h"
#include "memory.h"
#include "output.h"
#include "proc.h"

struct supervisor;
struct instance;
struct state_process;

/* The exit of a process leashd did not start: its parent saw the status. */
#define INSTANCE_STATUS_UNKNOWN (-1)

enum instance_role {
	ROLE_MAIN,
	ROLE_CANDIDATE,		/* a replacement, not ready yet */
	ROLE_DRAINING,		/* replaced or stopped, finishing its work */
};

enum instance_event {
	INSTANCE_EXIT,		/* the process exited: exit_status says how */
	INSTANCE_TIMER,		/* its timer (readiness, drain deadline) fired */
	INSTANCE_THRESHOLD,	/* the kernel says it crossed memory_limit */
	INSTANCE_READY,		/* READY=1 from its tree */
};

/* What a worker's processes are made from; owned by the worker, which
 * points it at new settings when a reload applies them in place. */
struct instance_spec {
	const char *fullname;			/* "program:process" */
	const struct program_config *cfg;
	const struct process_config *pc;
	enum memory_source source;		/* auto resolved */
	struct logfile *outlog, *errlog;
	unsigned journal_warned;		/* bit per stream: said once */
};

struct instance {
	struct supervisor *sv;
	struct instance_spec *spec;
	void (*hook)(struct instance *, enum instance_event);
	void *owner;
	enum instance_role role;
	pid_t pid;		/* 0 once it has exited */
	pid_t pgid;		/* its process group outlives it */
	pid_t anchor;		/* its tree descends from this: leashd, or
				 * for an orphan taken over, its new parent */
	int exit_status;	/* wait status, once pid is 0, or
				 * INSTANCE_STATUS_UNKNOWN */
	bool oom_killed;	/* that SIGKILL came from the kernel's OOM
				 * killer (its cgroup counted a kill) */
	char token[48];		/* LEASH_WORKER_TOKEN in its environment */
	char *cgroup;		/* its own cgroup, or NULL */
	ev_child child;
	ev_io pidfd;		/* an orphan taken over: readable at its exit */
	ev_timer timer;		/* readiness, drain deadline, tree polls */
	ev_io threshold;	/* cgroup v1 memory threshold event */
	unsigned long long kernel_start;	/* /proc/PID/stat's start time,
					 * read once (state.h); 0: not yet */
	ev_tstamp spawn_time;	/* its spawn began (fork, exec: tens of ms) */
	ev_tstamp start_time;	/* it runs: uptime and startsecs count here */
	ev_tstamp ready_time;	/* 0 until it is ready */
	ev_tstamp drain_time;	/* draining: since */
	ev_tstamp deadline;	/* draining: SIGKILL at */
	int drain_signal;	/* draining: what it was sent */
	struct output out, err;
	struct memory_history mem;
	struct cgroup_meter meter; /* its cgroup's memory files */
	unsigned stat_age;	/* samples since memory.stat was read */
	int statm_fd;		/* rss: its own /proc/PID/statm, or -1 */
	pid_t *tree;		/* without a cgroup: its tree at the last scan */
	size_t ntree;
	unsigned over;		/* consecutive samples over (or heading over) */
	ev_tstamp over_since;	/* the first of them; 0: none */
	ev_tstamp last_ping;	/* WATCHDOG=1 (or when it became ready) */
	bool stopping;		/* sent STOPPING=1 */
	char *status_text;	/* its last STATUS= */
	struct event_listener *listener;	/* [eventlistener:x]'s, or NULL */
};

/*
 * Starts one process.  Returns the instance, or NULL with the reason in
 * err.  hook receives every event of the instance.
 */
struct instance *instance_spawn(struct supervisor *, struct instance_spec *,
    enum instance_role, void (*hook)(struct instance *, enum instance_event),
    void *owner, char *err, size_t errlen);
/*
 * Takes over a process of a leashd that is gone, or of this one before an
 * upgrade executed it again (child: it is leashd's own child, whose status
 * waitpid reports; otherwise its exit is seen through a pidfd, its status
 * unknown).  Its output pipes are the descriptors in p, or reopened from
 * the process when those are gone.  Returns NULL with err when the kernel
 * cannot watch it.
 */
struct instance *instance_adopt(struct supervisor *, struct instance_spec *,
    const struct state_process *p, bool child,
    void (*hook)(struct instance *, enum instance_event), void *owner,
    char *err, size_t errlen);
/* Everything but the process: watchers, pipes, cgroup.  The tree must be
 * gone (or left to the strays) before this. */
void instance_destroy(struct instance *);
/* sig to its process group (or only its pid when !group) and to every
 * member of its tree that left the group, once each (a second SIGTERM
 * means "quit now" to many servers); SIGKILL empties its cgroup. */
void instance_signal(struct instance *, int sig, bool group);
bool instance_tree_empty(struct instance *);
/* Leftovers of an instance that exited on its own become strays. */
void instance_leftovers(struct instance *);
/* Arms its one-shot timer (after <= 0: at once). */
void instance_arm(struct instance *, double after);
/*
 * Asks it to finish and exit with sig, then SIGKILL to its tree after
 * timeout: the role becomes DRAINING and the timer the deadline.
 */
void instance_drain(struct instance *, int sig, double timeout);
/* After its exit or a drain deadline: true once its whole tree is gone;
 * else the timer is armed to look again soon. */
bool instance_drained(struct instance *);
/*
 * Reads its memory and records the sample.  table: a sampling tick's one
 * scan of /proc (with its strays), shared by the instances of a program.  NULL
 * between ticks (a worker's own look, a takeover): an instance without a
 * cgroup is then measured over the tree found at its last tick, its own
 * pid before the first, so that a look costs no scan of /proc.  Returns
 * -1 when it could not be read (it is gone meanwhile: no news).
 */
int instance_sample(struct instance *, const struct proc_table *table);
/* How it exited: "exit status 1", "terminated by SIGKILL", "terminated
 * by SIGKILL from the kernel's OOM killer". */
void instance_describe_exit(const struct instance *, char *buf, size_t len);
/* sd_notify messages from its tree (notify.c). */
void instance_ready(struct instance *);
void instance_stopping(struct instance *);
void instance_watchdog(struct instance *);
void instance_set_status_text(struct instance *, const char *);

#endif
