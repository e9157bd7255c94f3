/*
 * A worker: one slot of a program (one per process_num), with
 * supervisord's states and rules:
 *
 *   STOPPED/EXITED/FATAL/BACKOFF --start--> STARTING
 *   STARTING --ready (alive startsecs, or READY=1)--> RUNNING
 *   STARTING --exit--> BACKOFF (retry after 1 s, 2 s, 3 s ...) or FATAL
 *                      once startretries failed starts are exceeded
 *   RUNNING --exit--> EXITED, then STARTING again if autorestart says so
 *   STARTING/RUNNING --stop--> STOPPING --tree gone--> STOPPED
 *   STOPPING --stopwaitsecs--> SIGKILL to the whole tree
 *
 * The state describes the slot's main process; what was asked (want) is
 * kept apart.  Beside it runs drain-then-replace (replace.h): a candidate
 * starts while the main process serves; once ready it becomes the main
 * process and the old one drains.  Every event of a worker -- an exit,
 * a timer, readiness, start, stop, replace, memory_max -- enters one
 * function, worker_event, and every transition is written once there.
 */
#ifndef LEASH_WORKER_H
#define LEASH_WORKER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "instance.h"
#include "metrics.h"
#include "output.h"
#include "replace.h"

struct state_process;
struct supervisor;

/* What a program's workers measure together (struct program holds it). */
struct program_stats {
	double ready_estimate;		/* seconds from spawn to ready */
	struct histogram timing[TIMING_MAX];
};

/* supervisord's process states, with its names. */
enum worker_state {
	WORKER_STOPPED,
	WORKER_STARTING,
	WORKER_RUNNING,
	WORKER_BACKOFF,
	WORKER_STOPPING,
	WORKER_EXITED,
	WORKER_FATAL,
};

enum worker_want {
	WANT_DOWN,
	WANT_UP,
};

struct worker {
	struct supervisor *sv;
	struct instance_spec spec;	/* what its processes are made from */
	char *fullname;			/* "program:process" */

	enum worker_state state;
	enum worker_want want;
	struct instance *main;		/* NULL when no process */
	struct replace rep;		/* drain-then-replace */

	ev_timer timer;		/* backoff, respawn, stop deadline, and its
				 * turn in the spawn queue */
	ev_timer look;		/* its next memory sample (program.c) */
	unsigned int sit_out;	/* sampler ticks it skips, far from its limit */
	ev_tstamp stop_deadline;
	long backoff;		/* failed starts in a row */
	int last_status;	/* wait status of the last exit */
	bool last_oom;		/* ... a SIGKILL from the kernel's OOM killer */
	pid_t last_pid;
	ev_tstamp last_start;	/* its main process's last spawn, 0: never */
	ev_tstamp last_stop;	/* and last exit */
	char *spawn_error;

	struct logfile outlog, errlog;
	unsigned long restarts[REASON_MAX];
	enum restart_reason last_reason;
	enum restart_reason next_reason;	/* for the next spawn */
	bool force_restart;	/* restart after this exit whatever the policy */
	bool spawn_queued;	/* STARTING, waiting for its turn to spawn */
	struct program_stats *stats;	/* its program's */
};

const char *worker_state_name(enum worker_state);

void worker_init(struct worker *, struct supervisor *,
    const struct program_config *, const struct process_config *,
    enum memory_source, struct program_stats *);
/* Only for a worker that is down with every process gone. */
void worker_free(struct worker *);
void worker_set_config(struct worker *, const struct program_config *,
    const struct process_config *);

void worker_start(struct worker *, enum restart_reason);
void worker_stop(struct worker *);
/*
 * Starts a drain-then-replace of a STARTING or RUNNING worker.  Returns -1
 * when the worker is not in a state to be replaced (no process, or a
 * replacement already starting).
 */
int worker_replace(struct worker *, enum restart_reason);
/* Asks program.c (w->look) for a sample of w after seconds: at once for
 * a kernel event, soon for a new main process, whose pace sets the next. */
void worker_look(struct worker *, double after);
/*
 * Takes over p (instance_adopt): as the slot's main process, RUNNING, or
 * as an old process draining, given drain_timeout from now.  -1 for a
 * candidate (never taken over: the caller stops it), when the slot has a
 * main process already, or when the kernel cannot watch p.
 */
int worker_adopt(struct worker *, const struct state_process *, bool child);
/* One of its processes is over memory_max: no queue, no drain. */
void worker_memory_max(struct worker *, struct instance *);

bool worker_is_down(const struct worker *);
/* A replacement is under way (candidate starting or old one draining). */
bool worker_replacing(const struct worker *);
unsigned long worker_restarts(const struct worker *);
/* pid of the main instance, 0 if none. */
pid_t worker_pid(const struct worker *);
/* STATUS= of the main instance, or NULL. */
const char *worker_status_text(const struct worker *);

/*
 * A worker as every front end shows it -- the control socket's text and
 * JSON (control.c), supervisord's XML-RPC (rpc.c), metrics to come --
 * taken at one instant, so that each renders the same facts.  Strings
 * point into the worker and live while it does, unchanged.
 */
struct worker_view {
	const char *name;		/* "program:process" */
	const char *group, *process;
	enum worker_state state;
	bool want_up;
	pid_t pid;			/* the main process, 0: none */
	ev_tstamp start;		/* its spawn, or the last one; 0: never */
	ev_tstamp stop;			/* the last exit; 0: never */
	ev_tstamp uptime;		/* while pid > 0 */
	bool exited;			/* no process, after one exited ... */
	int exit_code;			/* ... with this code, or -1 ... */
	int exit_signal;		/* ... ended by this signal, or 0 */
	const char *spawn_error;	/* NULL: none */
	const char *status_text;	/* STATUS=, or NULL */
	const char *stdout_log, *stderr_log;	/* NULL: not kept */
	const char *memory_source;
	uint64_t memory_limit, memory_max;
	bool memory_known;		/* the main process was sampled */
	uint64_t memory, memory_peak;
	double memory_rate;		/* bytes per second */
	enum memory_trend trend;
	double eta;			/* s to memory_limit; < 0: not heading */
	unsigned long restarts;
	const unsigned long *restarts_by;	/* [REASON_MAX] */
	enum restart_reason last_reason;
};
void worker_view(const struct worker *, struct worker_view *);

/*
 * The pure transition rule, apart from its side effects, so that unit
 * tests can check it: what follows an exit with the given wait status.
 */
enum worker_state worker_next_on_exit(const struct program_config *,
    enum worker_state, int status, long backoff, bool want_up);

#endif
