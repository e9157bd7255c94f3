/*
 * Programs, their workers, and the processes of a worker.
 *
 * A worker is one slot of a program (one per process_num).  Its state is
 * supervisord's and describes its main process; what was asked of it
 * (want) is kept apart; every change of state goes through
 * worker_set_state, which logs it once as "prog:proc OLD -> NEW".
 *
 * A worker usually has one process, its main instance.  During a
 * drain-then-replace it has more: a candidate (the replacement, starting)
 * and, once the candidate is ready and has become the main instance, the
 * old one draining.  Capacity never drops: the old instance serves until
 * the new one is ready.
 */
#ifndef LEASH_PROGRAM_H
#define LEASH_PROGRAM_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "memory.h"
#include "output.h"

struct leashd;
struct program;
struct worker;

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

/* Why a worker was (re)started; counted per worker. */
enum restart_reason {
	REASON_NONE,
	REASON_EXIT,
	REASON_MANUAL,
	REASON_RELOAD,
	REASON_MEMORY,
	REASON_MEMORY_MAX,
	REASON_WATCHDOG,
	REASON_MAX,
};

enum instance_role {
	ROLE_MAIN,
	ROLE_CANDIDATE,		/* a replacement, not ready yet */
	ROLE_DRAINING,		/* replaced, finishing its work */
};

/* One process of a worker, with everything that belongs to it. */
struct instance {
	struct worker *w;
	enum instance_role role;
	pid_t pid;		/* 0 once it has exited */
	pid_t pgid;		/* its process group outlives it */
	char token[48];		/* LEASH_WORKER_TOKEN in its environment */
	char *cgroup;		/* its own cgroup, or NULL */
	ev_child child;
	ev_timer timer;		/* candidate: ready; draining: deadline, polls */
	ev_io threshold;	/* cgroup v1 memory threshold event */
	ev_tstamp start_time;
	ev_tstamp deadline;	/* draining: SIGKILL at */
	struct output out, err;
	struct memory_history mem;
	unsigned over;		/* consecutive samples over memory_limit */
	bool sampled;
	bool judged;		/* its footprint was compared with the limit */
	bool threshold_armed;	/* the kernel's event was asked for */
	int drain_signal;	/* draining: what it was sent */
	int status;		/* wait status once exited */
	ev_tstamp last_ping;	/* WATCHDOG=1 (or when it became ready) */
	bool stopping;		/* sent STOPPING=1 */
	char *status_text;	/* its last STATUS= */
};

struct worker {
	struct program *prog;
	const struct process_config *pc;	/* inside prog->cfg */
	char *fullname;				/* "program:process" */

	enum worker_state state;
	enum worker_want want;
	struct instance *main;		/* NULL when no process */
	struct instance *candidate;
	struct instance **draining;
	size_t ndraining;

	ev_timer timer;		/* startsecs, backoff, stop deadline */
	ev_tstamp stop_deadline;
	long backoff;		/* failed starts in a row */
	int last_status;	/* wait status of the last exit */
	pid_t last_pid;
	char *spawn_error;

	struct logfile outlog, errlog;
	unsigned long restarts[REASON_MAX];
	enum restart_reason last_reason;
	enum restart_reason next_reason;	/* for the next spawn */
	bool force_restart;	/* restart after this exit whatever the policy */

	/* Drain-then-replace. */
	enum restart_reason replace_reason;
	long replace_failures;
	ev_tstamp replace_not_before;
	bool footprint_over;	/* main's footprint already exceeds the limit */
	uint64_t footprint;

	unsigned journal_warned;	/* bit per stream: said once */
};

struct program {
	struct leashd *d;
	struct program_config *cfg;
	struct worker *workers;
	size_t nworkers;
	/* Reload: a new config to apply once every worker is down, or removal. */
	struct program_config *next_cfg;
	bool removing;
	enum memory_source source;	/* memory_source with auto resolved */
	ev_timer sample_timer;
};

const char *worker_state_name(enum worker_state);
const char *restart_reason_name(enum restart_reason);

struct program *program_new(struct leashd *, struct program_config *);
void program_free(struct program *);
/* Applies a config that needs no restart (program_config_needs_restart
 * said so); returns the old one. */
struct program_config *program_set_config(struct program *,
    struct program_config *);
void program_start(struct program *);
void program_stop(struct program *);
bool program_is_down(const struct program *);
/* Reads every worker's memory now and acts on the limits. */
void program_sample(struct program *);

void worker_start(struct worker *, enum restart_reason);
void worker_stop(struct worker *);
bool worker_is_down(const struct worker *);
/* Applies a state change; the only place state is assigned. */
void worker_set_state(struct worker *, enum worker_state);
/*
 * Starts a drain-then-replace of a RUNNING worker.  Returns -1 when the
 * worker is not in a state to be replaced (not running, or already
 * replacing).
 */
int worker_replace(struct worker *, enum restart_reason);
/* A replace is under way (candidate starting or old one draining). */
bool worker_replacing(const struct worker *);
unsigned long worker_restarts(const struct worker *);
/* pid of the main instance, 0 if none. */
pid_t worker_pid(const struct worker *);

/* sd_notify messages from an instance's tree (notify.c). */
void instance_ready(struct instance *);
void instance_stopping(struct instance *);
void instance_watchdog(struct instance *);
void instance_set_status_text(struct instance *, const char *);
/* STATUS= of the main instance, or NULL. */
const char *worker_status_text(const struct worker *);

/*
 * The pure transition rules, apart from their side effects, so that unit
 * tests can check them: what follows an exit with the given wait status.
 */
enum worker_state worker_next_on_exit(const struct program_config *,
    enum worker_state, int status, long backoff, bool want_up);

#endif
