/*
 * Programs and their workers.  A worker is one process slot of a program
 * (one per process_num).  What a worker *is* (state) is kept apart from
 * what was asked of it (want); every change of state goes through
 * worker_set_state, which logs it once as "prog:proc OLD -> NEW".
 */
#ifndef LEASH_PROGRAM_H
#define LEASH_PROGRAM_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "output.h"

struct leashd;

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
	REASON_MAX,
};

struct program;

struct worker {
	struct program *prog;
	const struct process_config *pc;	/* inside prog->cfg */
	char *fullname;				/* "program:process" */

	enum worker_state state;
	enum worker_want want;
	pid_t pid;				/* 0 when none */
	pid_t last_pid;				/* its group outlives it */
	char token[48];				/* LEASH_WORKER_TOKEN of pid */
	ev_child child;
	ev_timer timer;		/* startsecs, backoff, stop deadline */
	ev_tstamp start_time;	/* when pid was spawned */
	ev_tstamp stop_deadline;
	long backoff;		/* failed starts in a row */
	int last_status;	/* wait status of the last exit */
	bool main_exited;	/* in STOPPING: pid is gone, its tree may not be */
	char *spawn_error;

	struct output out, err;
	unsigned long restarts[REASON_MAX];
	enum restart_reason last_reason;
	enum restart_reason next_reason;	/* for the next spawn */
};

struct program {
	struct leashd *d;
	struct program_config *cfg;
	struct worker *workers;
	size_t nworkers;
	/* Reload: a new config to apply once every worker is down, or removal. */
	struct program_config *next_cfg;
	bool removing;
};

const char *worker_state_name(enum worker_state);
const char *restart_reason_name(enum restart_reason);

struct program *program_new(struct leashd *, struct program_config *);
void program_free(struct program *);
void program_start(struct program *);
void program_stop(struct program *);
bool program_is_down(const struct program *);

void worker_start(struct worker *, enum restart_reason);
void worker_stop(struct worker *);
bool worker_is_down(const struct worker *);
/* Applies a state change; the only place state is assigned. */
void worker_set_state(struct worker *, enum worker_state);

/*
 * The pure transition rules, apart from their side effects, so that unit
 * tests can check them: what follows an exit with the given wait status.
 */
enum worker_state worker_next_on_exit(const struct program_config *,
    enum worker_state, int status, long backoff, bool want_up);

#endif
