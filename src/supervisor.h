/*
 * What every worker needs from the daemon, below the core: the loop, the
 * cgroup root, the /proc cache, processes left behind by workers (strays),
 * cgroups awaiting removal, the pace of spawns, the listening sockets, the
 * NOTIFY_SOCKET path workers get, counters, and a "something changed" flag.
 *
 * The core (instance, replace, worker, program) calls down into this file
 * and never up into leashd.c or the front ends: what the daemon must learn
 * from a worker is left here, as a flag or a counter, for the loop to read.
 */
#ifndef LEASH_SUPERVISOR_H
#define LEASH_SUPERVISOR_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "proc.h"
#include "sockets.h"
#include "util.h"

/* A process left behind by a worker that exited on its own. */
struct stray {
	pid_t pid;
	ev_tstamp kill_at;
};

/*
 * Spawns are paced: one pass of the loop spends at most SPAWN_SLICE
 * seconds starting processes, and those that must wait are queued (their
 * own timer watchers, invoked in order from later passes), so that a pool
 * of 10,000 starting at once, or a thousand restarting, leaves the control
 * socket and the children's events served between slices.
 */
#define SPAWN_SLICE 0.01

struct spawn_queue {
	ev_timer **v;
	size_t head, n, cap;
	ev_timer kick;
	unsigned int iteration;		/* of the slice under way */
	ev_tstamp slice_end;
};

struct supervisor {
	struct ev_loop *loop;
	pid_t self;
	unsigned long spawns;		/* for worker tokens */

	struct cgroup_root cg;
	bool cg_usable;
	char cg_why[256];
	struct strv cg_pending;		/* cgroups to remove when empty */
	ev_timer cg_timer;

	struct proc_table procs;	/* /proc, as scanned at procs_at */
	ev_tstamp procs_at;
	unsigned int procs_iteration;

	struct stray *strays;
	size_t nstrays;
	ev_timer stray_timer;

	struct spawn_queue spawnq;

	struct listeners listeners;	/* [socket:NAME] */
	char notify_socket[108];	/* NOTIFY_SOCKET for workers, or "" */

	struct events *events;		/* supervisord's events, or NULL */
	unsigned long memory_restarts;	/* memory and memory_max, ever */
	bool changed;			/* the loop should look at the pool */
	bool state_changed;		/* a process came or went: the state
					 * file (state.h) is due */
	size_t state_procs;		/* processes it named last time */
};

void supervisor_init(struct supervisor *, struct ev_loop *);
/* Frees what is left; waits a moment for cgroups still being released. */
void supervisor_free(struct supervisor *);
/* Per-worker cgroups, when use is true and the kernel and leashd's place
 * in it allow. */
void supervisor_cgroups(struct supervisor *, bool use);
/*
 * Worker cgroups of a leashd that died without cleaning up (SIGKILL),
 * but those in keep (taken over, takeover.h): the empty ones are removed,
 * the processes of the others killed first.
 */
void supervisor_cgroups_leftover(struct supervisor *, const struct strv *keep);
/* Removes a worker's cgroup in a later pass of the loop, a slice at a time,
 * once its last member is gone. */
void supervisor_remove_cgroup(struct supervisor *, const char *dir);
/* /proc as scanned in this iteration of the loop (scanned on first use). */
const struct proc_table *supervisor_proc_table(struct supervisor *);
/* Adopts pids left behind by a worker: sig now, SIGKILL after wait. */
void supervisor_add_strays(struct supervisor *, const pid_t *, size_t,
    int sig, double wait);
/* A child was reaped: forget it if it was a stray. */
void supervisor_reaped(struct supervisor *, pid_t);

/* Whether a process may be spawned now, in this pass's slice; never while
 * others are queued, so that they start in the order they asked. */
bool supervisor_spawn_turn(struct supervisor *);
/* Queues t, whose callback is invoked (EV_TIMER) when the turn comes. */
void supervisor_spawn_later(struct supervisor *, ev_timer *t);
/* Drops t from the queue (its owner stopped, or is freed). */
void supervisor_spawn_forget(struct supervisor *, ev_timer *t);

/* (Re)arms a one-shot timer of the loop: after <= 0 means at once. */
static inline void
supervisor_timer(struct supervisor *sv, ev_timer *t, double after)
{
	ev_timer_stop(sv->loop, t);
	ev_timer_set(t, after > 0 ? after : 0., 0.);
	ev_timer_start(sv->loop, t);
}

static inline void
supervisor_changed(struct supervisor *sv)
{
	sv->changed = true;
}

static inline void
supervisor_state_changed(struct supervisor *sv)
{
	sv->state_changed = sv->changed = true;
}

#endif
