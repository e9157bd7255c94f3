/*
 * Drain-then-replace: a slot's replacement has a named state of its own,
 * beside the worker's supervisord state, and every decision about it is a
 * pure function of the config, the sample history and the time, so the
 * whole policy is unit-tested without processes (tests/unit/test_replace.c).
 *
 *   IDLE -> QUEUED (judged due, waiting for max_replacing)
 *        -> STARTING (the candidate runs; the old process serves)
 *        -> IDLE (ready: the candidate took over, the old one drains)
 *           or BACKOFF (failed, or the loop guard: not before not_before)
 *
 * Old processes drain on their own (drain_signal, SIGKILL after
 * drain_timeout) on the slot's draining list, whatever the state.
 */
#ifndef LEASH_REPLACE_H
#define LEASH_REPLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "memory.h"

struct instance;

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

enum replace_state {
	REPLACE_IDLE,
	REPLACE_QUEUED,
	REPLACE_STARTING,
	REPLACE_BACKOFF,
};

/* Confirmation samples, once a worker is over (or heading over) its
 * limit, are this far apart. */
#define REPLACE_CONFIRM_INTERVAL 0.025
/* The loop guard: a replacement over memory_limit that saves less than
 * this share of memory_limit shows the program's own footprint. */
#define REPLACE_GUARD_SAVING 0.10
/* A queued worker this far over memory_limit (share of it) starts
 * whatever max_replacing says: waiting would only make it bigger. */
#define REPLACE_BYPASS_OVER 0.25
#define REPLACE_BACKOFF_MAX 60.0

struct replace {
	enum replace_state state;
	enum restart_reason reason;
	struct instance *candidate;
	struct instance **draining;
	size_t ndraining;
	long failures;			/* failed attempts in a row */
	double not_before;		/* BACKOFF: until then */
	double ratio;			/* QUEUED: memory / memory_limit */
	double lead;			/* seconds ahead of the limit it needs */
	double ahead;			/* the last one started this far ahead */
	bool footprint_over;		/* the loop guard tripped */
	uint64_t footprint;
};

const char *replace_state_name(enum replace_state);
const char *restart_reason_name(enum restart_reason);
/* Logs "prog:proc replace OLD -> NEW" once per change. */
void replace_set_state(struct replace *, const char *fullname,
    enum replace_state);
void replace_add_draining(struct replace *, struct instance *);
void replace_remove_draining(struct replace *, struct instance *);
/* 1 s, 2 s, 3 s ... after each failure in a row, at most a minute. */
double replace_delay(long failures);

/* What the judge looks at: one process of a slot at one moment. */
struct judge_input {
	const struct program_config *cfg;
	const struct memory_history *mem;
	unsigned over;		/* its count of samples over, before this one */
	double now;
	double last_ping;	/* its last WATCHDOG=1 (or its start) */
	double lead;		/* seconds its replacement needs; 0: never early */
	double rate_prior;	/* its program's recent leak pace, bytes/s, for
				 * a process too new to have its own; 0: none */
	bool ready;		/* it is RUNNING (a watchdog applies) */
	bool replacing;		/* its replacement is already starting */
	double not_before;	/* backing off until then */
};

enum verdict_kind {
	VERDICT_NONE,		/* nothing to do */
	VERDICT_CONFIRM,	/* over or heading over: look again soon */
	VERDICT_REPLACE,	/* drain-then-replace it, in queue order */
	VERDICT_HOLD,		/* it would be replaced, but backs off */
	VERDICT_MEMORY_MAX,	/* over memory_max: kill and restart at once */
	VERDICT_WATCHDOG,	/* no WATCHDOG=1 in watchdog_sec: replace it */
};

struct verdict {
	enum verdict_kind kind;
	unsigned over;		/* the new count */
	bool early;		/* REPLACE ahead of the limit, by projection */
	double eta;		/* seconds to memory_limit; 0 over it; -1 never */
	double next;		/* > 0: look again this much later */
};

/*
 * The judgement.  memory_max first, at the first sample over it; then the
 * watchdog; then memory_limit: a sample over the limit, or one whose
 * growth (over the last few intervals, and not levelled off) reaches the
 * limit within lead, counts; memory_samples of them in a row, taken
 * REPLACE_CONFIRM_INTERVAL apart once the first is seen, make a REPLACE.
 */
struct verdict replace_judge(const struct judge_input *);
/* The recent growth rate, bytes per second; -1 when not growing. */
double replace_rate(const struct memory_history *, double interval);
/*
 * A program's recent leak pace, for its processes that have none of their
 * own yet: the fastest recent growth of any of them (the newest samples of
 * the window; two will do), halved every two intervals in which none grew
 * that fast again (traffic slowed down).
 */
struct pace {
	double rate;		/* bytes per second; 0: none known */
	double at;		/* when it was last raised or halved */
};
void replace_pace(struct pace *, const struct memory_history *,
    double interval, double now);
/* Seconds to limit at the recent growth rate; -1 when not growing. */
double replace_eta(const struct memory_history *, uint64_t limit,
    double interval);

enum takeover {
	TAKEOVER_YES,		/* the candidate takes over */
	TAKEOVER_GUARDED,	/* it takes over, but its own replacement
				 * backs off: the program's footprint is
				 * over the limit (loop guard) */
	TAKEOVER_NO,		/* it is not smaller (by more than noise: 1 MiB
				 * and 1%): it drains, the old one keeps
				 * serving, and the slot backs off */
};
/* A ready candidate is never killed for its size; whether it takes over. */
enum takeover replace_takeover(const struct program_config *,
    enum restart_reason, uint64_t old_bytes, uint64_t new_bytes);

/*
 * Spreading replacements out ahead of time: eta[] (ascending) are the
 * seconds until each growing worker of a program reaches its limit;
 * lead[i] is how early worker i's replacement must start so that at most
 * max_replacing are in flight, each taking ready seconds, and each is
 * ready before its worker's crossing.
 */
void replace_schedule(const double *eta, size_t n, long max_replacing,
    double ready, double *lead);
/* How long before the limit a replacement must start: the measured time
 * to ready, with a margin, plus the confirmation samples. */
double replace_lead(const struct program_config *, double ready);
/*
 * The queue: of n queued workers, each ratio[i] of memory to memory_limit,
 * the one to start now with inflight replacements starting, or -1 to
 * wait.  Furthest over first, max_replacing at once; one at least
 * REPLACE_BYPASS_OVER past its limit starts at once, so a leak faster
 * than the queue is not made worse by it (a slot has one replacement at
 * a time, so never more than numprocs are in flight).
 */
long replace_pick(const double *ratio, size_t n, size_t inflight,
    long max_replacing);

#endif
