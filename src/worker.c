/*
 * A worker's state machine: one entry, worker_event, for every event.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "memory.h"
#include "parse.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"
#include "events.h"
#include "worker.h"

#define TREE_POLL_INTERVAL 0.05	/* checking that a stopped tree is gone */
#define READY_ESTIMATE_WEIGHT 0.25	/* of a new measurement */

enum worker_event {
	WEV_START,		/* arg: the restart reason */
	WEV_STOP,
	WEV_TIMER,		/* the worker's own timer */
	WEV_EXIT,		/* in exited */
	WEV_READY,		/* in is ready: startsecs passed, or READY=1 */
	WEV_READY_TIMEOUT,	/* in sent no READY=1 within ready_timeout */
	WEV_DRAIN_TIMER,	/* in, draining: deadline or tree poll */
	WEV_THRESHOLD,		/* in crossed memory_limit (kernel event) */
	WEV_REPLACE,		/* arg: the restart reason */
	WEV_MEMORY_MAX,		/* in is over memory_max */
};

static const char *const state_names[] = {
	[WORKER_STOPPED] = "STOPPED",
	[WORKER_STARTING] = "STARTING",
	[WORKER_RUNNING] = "RUNNING",
	[WORKER_BACKOFF] = "BACKOFF",
	[WORKER_STOPPING] = "STOPPING",
	[WORKER_EXITED] = "EXITED",
	[WORKER_FATAL] = "FATAL",
};

static void worker_hook(struct instance *, enum instance_event);
static int worker_event(struct worker *, enum worker_event, struct instance *,
    int arg);

const char *
worker_state_name(enum worker_state s)
{
	return state_names[s];
}

bool
worker_is_down(const struct worker *w)
{
	return w->state == WORKER_STOPPED || w->state == WORKER_EXITED ||
	    w->state == WORKER_FATAL;
}

bool
worker_replacing(const struct worker *w)
{
	return w->rep.candidate != NULL || w->rep.ndraining > 0;
}

pid_t
worker_pid(const struct worker *w)
{
	return w->main != NULL ? w->main->pid : 0;
}

const char *
worker_status_text(const struct worker *w)
{
	return w->main != NULL ? w->main->status_text : NULL;
}

unsigned long
worker_restarts(const struct worker *w)
{
	unsigned long n = 0;

	for (int r = 0; r < REASON_MAX; r++)
		n += w->restarts[r];
	return n;
}

void
worker_view(const struct worker *w, struct worker_view *v)
{
	const struct program_config *cfg = w->spec.cfg;
	const struct instance *m = w->main;
	int st = w->last_status;
	bool known;

	memset(v, 0, sizeof(*v));
	v->name = w->fullname;
	v->group = cfg->group;
	v->process = w->spec.pc->name;
	v->state = w->state;
	v->want_up = w->want == WANT_UP;
	v->pid = worker_pid(w);
	v->start = wall_of(v->pid > 0 ? m->start_time : w->last_start);
	v->stop = wall_of(w->last_stop);
	if (v->pid > 0)
		v->uptime = mono_now() - m->start_time;
	v->exited = w->last_pid > 0 && v->pid == 0 &&
	    (st == INSTANCE_STATUS_UNKNOWN || WIFEXITED(st) ||
	    WIFSIGNALED(st));
	known = st != INSTANCE_STATUS_UNKNOWN;
	v->exit_code = v->exited && known && WIFEXITED(st) ?
	    WEXITSTATUS(st) : -1;
	v->exit_signal = v->exited && known && WIFSIGNALED(st) ?
	    WTERMSIG(st) : 0;
	v->spawn_error = w->spawn_error;
	v->status_text = worker_status_text(w);
	v->stdout_log = w->outlog.path;
	v->stderr_log = w->errlog.path;
	v->memory_source = memory_source_name(w->spec.source);
	v->memory_limit = cfg->memory_limit;
	v->memory_max = cfg->memory_max;
	v->eta = -1;
	if (m != NULL && m->mem.n > 0) {
		v->memory_known = true;
		v->memory = m->mem.current;
		v->memory_peak = m->mem.peak;
		v->memory_rate = memory_rate(&m->mem);
		v->trend = memory_trend(&m->mem);
		v->eta = replace_eta(&m->mem, cfg->memory_limit,
		    cfg->memory_interval);
	}
	v->restarts = worker_restarts(w);
	v->restarts_by = w->restarts;
	v->last_reason = w->last_reason;
}

static bool
exited_as_expected(const struct program_config *cfg, int status)
{
	return WIFEXITED(status) && exitcode_expected(cfg, WEXITSTATUS(status));
}

enum worker_state
worker_next_on_exit(const struct program_config *cfg, enum worker_state s,
    int status, long backoff, bool want_up)
{
	switch (s) {
	case WORKER_STARTING:
		if (!want_up)
			return WORKER_STOPPED;
		return backoff + 1 > cfg->startretries ? WORKER_FATAL :
		    WORKER_BACKOFF;
	case WORKER_RUNNING:
		if (!want_up)
			return WORKER_EXITED;
		if (cfg->autorestart == AUTORESTART_TRUE ||
		    (cfg->autorestart == AUTORESTART_UNEXPECTED &&
		    !exited_as_expected(cfg, status)))
			return WORKER_STARTING;
		return WORKER_EXITED;
	case WORKER_STOPPING:
		return WORKER_STOPPED;
	default:
		return s;
	}
}

/* The transitions' shared steps. */

/* supervisord's PROCESS_STATE_* event, with its fields for the state. */
static void
worker_state_event(struct worker *w, enum worker_state from)
{
	static const enum event_type types[] = {
		[WORKER_STOPPED] = EVENT_PROCESS_STATE_STOPPED,
		[WORKER_STARTING] = EVENT_PROCESS_STATE_STARTING,
		[WORKER_RUNNING] = EVENT_PROCESS_STATE_RUNNING,
		[WORKER_BACKOFF] = EVENT_PROCESS_STATE_BACKOFF,
		[WORKER_STOPPING] = EVENT_PROCESS_STATE_STOPPING,
		[WORKER_EXITED] = EVENT_PROCESS_STATE_EXITED,
		[WORKER_FATAL] = EVENT_PROCESS_STATE_FATAL,
	};
	enum event_type t = types[w->state];
	char extra[64] = "";

	if (!events_wanted(w->sv->events, t))
		return;
	switch (w->state) {
	case WORKER_STARTING:
	case WORKER_BACKOFF:
		snprintf(extra, sizeof(extra), " tries:%ld", w->backoff);
		break;
	case WORKER_EXITED:
		snprintf(extra, sizeof(extra), " expected:%d pid:%d",
		    exited_as_expected(w->spec.cfg, w->last_status),
		    (int)w->last_pid);
		break;
	case WORKER_RUNNING:
	case WORKER_STOPPING:
	case WORKER_STOPPED:
		snprintf(extra, sizeof(extra), " pid:%d", (int)w->last_pid);
		break;
	default:
		break;
	}
	events_emit(w->sv->events, t, "processname:%s groupname:%s "
	    "from_state:%s%s", w->spec.pc->name, w->spec.cfg->group,
	    state_names[from], extra);
}

static void
worker_set_state(struct worker *w, enum worker_state s)
{
	enum worker_state from = w->state;

	if (w->state == s)
		return;
	log_info("program", "%s %s -> %s", w->fullname, state_names[w->state],
	    state_names[s]);
	w->state = s;
	worker_state_event(w, from);
	/* A listener that was READY before it counted as RUNNING. */
	if (s == WORKER_RUNNING && w->spec.cfg->listener)
		events_dispatch(w->sv->events);
	supervisor_changed(w->sv);
}

static void
worker_arm(struct worker *w, double after)
{
	supervisor_timer(w->sv, &w->timer, after);
}

static void
worker_disarm(struct worker *w)
{
	ev_timer_stop(w->sv->loop, &w->timer);
}

static void
worker_count(struct worker *w, enum restart_reason r)
{
	if (r == REASON_NONE)
		return;
	w->restarts[r]++;
	w->last_reason = r;
	if (r == REASON_MEMORY || r == REASON_MEMORY_MAX)
		w->sv->memory_restarts++;
}

void
worker_look(struct worker *w, double after)
{
	if (w->spec.cfg->memory_limit == 0 && w->spec.cfg->memory_max == 0)
		return;
	supervisor_timer(w->sv, &w->look, after);
}

/* in became ready: the program learns how long a start takes. */
static void
worker_measure_ready(struct worker *w, struct instance *in)
{
	ev_tstamp now = mono_now();
	double took = now - in->spawn_time, *est = &w->stats->ready_estimate;

	ev_timer_stop(w->sv->loop, &in->timer);
	in->ready_time = in->last_ping = now;
	*est = *est <= 0 ? took : (1 - READY_ESTIMATE_WEIGHT) * *est +
	    READY_ESTIMATE_WEIGHT * took;
	if (in->role == ROLE_CANDIDATE)
		histogram_observe(&w->stats->timing[TIMING_REPLACE], took);
}

/* The main process is ready. */
static void
worker_running(struct worker *w)
{
	w->backoff = 0;
	worker_set_state(w, WORKER_RUNNING);
}

static void
worker_give_up(struct worker *w)
{
	worker_set_state(w, WORKER_FATAL);
	log_warnx("program", "%s gave up: entered FATAL state, too many start "
	    "retries too quickly", w->fullname);
}

/* A start failed: BACKOFF and try again, or FATAL after startretries. */
static void
worker_failed_start(struct worker *w)
{
	w->backoff++;
	if (w->backoff > w->spec.cfg->startretries) {
		worker_give_up(w);
		return;
	}
	worker_set_state(w, WORKER_BACKOFF);
	worker_arm(w, (double)w->backoff);
}

/* Waiting for in to be ready: READY=1 within ready_timeout, or alive for
 * startsecs. */
static void
worker_await_ready(struct worker *w, struct instance *in)
{
	const struct program_config *cfg = w->spec.cfg;

	instance_arm(in, cfg->ready == READY_NOTIFY ? cfg->ready_timeout :
	    cfg->startsecs);
}

static void
worker_drain(struct worker *w, struct instance *in, int sig, double timeout)
{
	replace_add_draining(&w->rep, in);
	instance_drain(in, sig, timeout);
	supervisor_changed(w->sv);
}

/* The candidate is no longer one: it leaves like an old process. */
static void
worker_drain_candidate(struct worker *w, int sig, double timeout)
{
	struct instance *c = w->rep.candidate;

	w->rep.candidate = NULL;
	worker_drain(w, c, sig, timeout);
}

/* in is the slot's process now; its first look comes soon, and its pace
 * sets the next. */
static void
worker_set_main(struct worker *w, struct instance *in)
{
	in->role = ROLE_MAIN;
	supervisor_state_changed(w->sv);
	w->main = in;
	w->last_pid = in->pid;
	w->last_start = in->start_time;
	worker_look(w, REPLACE_CONFIRM_INTERVAL);
}

/* Starts the main process now. */
static void
worker_exec(struct worker *w)
{
	const struct program_config *cfg = w->spec.cfg;
	struct instance *in;
	char err[512];

	w->spawn_queued = false;
	if ((in = instance_spawn(w->sv, &w->spec, ROLE_MAIN, worker_hook, w,
	    err, sizeof(err))) == NULL) {
		w->spawn_error = xstrdup(err);
		w->last_status = 127 << 8;
		worker_failed_start(w);
		return;
	}
	worker_set_main(w, in);
	if (cfg->ready != READY_NOTIFY && cfg->startsecs <= 0) {
		worker_measure_ready(w, w->main);
		worker_running(w);
	} else
		worker_await_ready(w, w->main);
}

/* STARTING at once; the process now, or at its turn in the spawn queue
 * (STARTING without a pid meanwhile). */
static void
worker_spawn(struct worker *w)
{
	worker_disarm(w);
	worker_count(w, w->next_reason);
	w->next_reason = REASON_NONE;
	w->rep.footprint_over = false;
	free(w->spawn_error);
	w->spawn_error = NULL;
	worker_set_state(w, WORKER_STARTING);
	if (supervisor_spawn_turn(w->sv)) {
		worker_exec(w);
		return;
	}
	w->spawn_queued = true;
	supervisor_spawn_later(w->sv, &w->timer);
}

/* The last step of a stop: is every process of the worker gone? */
static void
worker_check_stopped(struct worker *w)
{
	if (w->main != NULL) {
		if (w->main->pid > 0)
			return;		/* its exit brings us back here */
		if (!instance_tree_empty(w->main)) {
			worker_arm(w, TREE_POLL_INTERVAL);
			return;
		}
		instance_destroy(w->main);
		w->main = NULL;
	}
	if (w->rep.candidate != NULL || w->rep.ndraining > 0)
		return;		/* they report when they are gone */
	worker_disarm(w);
	worker_set_state(w, WORKER_STOPPED);
	if (w->want == WANT_UP)
		worker_spawn(w);
}

/* Replacing. */

/* The next replacement waits 1 s, 2 s ... after each failure in a row. */
static void
replace_backoff(struct worker *w)
{
	struct replace *r = &w->rep;

	r->failures++;
	r->not_before = mono_now() + replace_delay(r->failures);
	replace_set_state(r, w->fullname, REPLACE_BACKOFF);
}

/* leash's own events: LEASH_REPLACE_STARTING, _DONE, _FAILED. */
static void
replace_event(struct worker *w, enum event_type t, pid_t pid, const char *more)
{
	if (!events_wanted(w->sv->events, t))
		return;
	events_emit(w->sv->events, t, "processname:%s groupname:%s pid:%d "
	    "reason:%s%s", w->spec.pc->name, w->spec.cfg->group, (int)pid,
	    restart_reason_name(w->rep.reason), more);
}

static void
replace_failed(struct worker *w, const char *why)
{
	struct replace *r = &w->rep;
	char more[512];

	snprintf(more, sizeof(more), "\n%s", why);
	replace_event(w, EVENT_LEASH_REPLACE_FAILED, worker_pid(w), more);
	replace_backoff(w);
	log_warnx("program", "%s: replacement failed (%s); pid %d keeps "
	    "serving, next attempt in %.0f s", w->fullname, why,
	    (int)worker_pid(w), replace_delay(r->failures));
	supervisor_changed(w->sv);
}

static int
replace_begin(struct worker *w, enum restart_reason reason)
{
	struct replace *r = &w->rep;
	char err[512];

	if ((w->state != WORKER_RUNNING && w->state != WORKER_STARTING) ||
	    w->want != WANT_UP || w->main == NULL || w->main->pid <= 0 ||
	    r->candidate != NULL)
		return -1;
	log_info("program", "%s: replacing pid %d (%s): starting its "
	    "replacement first", w->fullname, (int)w->main->pid,
	    restart_reason_name(reason));
	r->reason = reason;
	if (reason == REASON_MEMORY && w->main->over_since > 0)
		histogram_observe(&w->stats->timing[TIMING_DETECT],
		    mono_now() - w->main->over_since);
	snprintf(err, sizeof(err), " memory:%llu limit:%llu",
	    (unsigned long long)w->main->mem.current, (unsigned long long)
	    program_config_nearest_limit(w->spec.cfg));
	replace_event(w, EVENT_LEASH_REPLACE_STARTING, w->main->pid, err);
	r->candidate = instance_spawn(w->sv, &w->spec, ROLE_CANDIDATE,
	    worker_hook, w, err, sizeof(err));
	if (r->candidate == NULL) {
		free(w->spawn_error);
		w->spawn_error = xstrdup(err);
		replace_failed(w, err);
		return 0;
	}
	replace_set_state(r, w->fullname, REPLACE_STARTING);
	worker_await_ready(w, r->candidate);
	supervisor_changed(w->sv);
	return 0;
}

/* The candidate is ready: it takes over, unless it is not smaller than the
 * process it replaces; either way nothing is killed for its size. */
static void
replace_ready(struct worker *w)
{
	const struct program_config *cfg = w->spec.cfg;
	struct replace *r = &w->rep;
	struct instance *c = r->candidate, *old = w->main;
	uint64_t cb = 0, ob = 0;
	enum takeover t = TAKEOVER_YES;
	char a[16], b[16], why[128];

	worker_measure_ready(w, c);
	if (cfg->memory_limit > 0 && r->reason == REASON_MEMORY) {
		instance_sample(c, NULL);
		if (old != NULL)
			instance_sample(old, NULL);
		cb = c->mem.current;
		ob = old != NULL ? old->mem.current : UINT64_MAX;
		t = replace_takeover(cfg, r->reason, ob, cb);
	}
	if (t == TAKEOVER_NO) {
		bool first = !r->footprint_over;
		char lim[16];
		r->footprint_over = true;
		r->footprint = ob;
		snprintf(why, sizeof(why), "its footprint %s is not smaller "
		    "than the %s of pid %d", memory_human(cb, a),
		    memory_human(ob, b), (int)worker_pid(w));
		worker_drain_candidate(w, cfg->drain_signal, cfg->drain_timeout);
		replace_failed(w, why);
		if (first)
			log_warnx("memory", "%s: pid %d's footprint %s exceeds "
			    "memory_limit %s, and so does its replacement's right "
			    "after start (%s): not replacing it for %.0f s (raise "
			    "memory_limit if this is its normal size)", w->fullname,
			    (int)worker_pid(w), memory_human(ob, b),
			    memory_human(cfg->memory_limit, lim),
			    memory_human(cb, a), replace_delay(r->failures));
		return;
	}
	r->candidate = NULL;
	c->over = 0;
	c->over_since = 0;
	worker_set_main(w, c);
	worker_count(w, r->reason);
	log_info("program", "%s: replacement pid %d is ready (%s)", w->fullname,
	    (int)c->pid, restart_reason_name(r->reason));
	snprintf(why, sizeof(why), " old_pid:%d", old ? (int)old->pid : 0);
	replace_event(w, EVENT_LEASH_REPLACE_DONE, c->pid, why);
	if (t == TAKEOVER_GUARDED) {
		replace_backoff(w);
		r->footprint_over = true;
		r->footprint = cb;
		log_warnx("memory", "%s: pid %d's footprint %s exceeds "
		    "memory_limit %s right after start: not replacing it for "
		    "%.0f s (raise memory_limit if this is its normal size)",
		    w->fullname, (int)c->pid, memory_human(cb, a),
		    memory_human(cfg->memory_limit, b),
		    replace_delay(r->failures));
	} else {
		r->failures = 0;
		r->footprint_over = false;
		replace_set_state(r, w->fullname, REPLACE_IDLE);
	}
	if (old != NULL)
		worker_drain(w, old, cfg->drain_signal, cfg->drain_timeout);
	if (w->state == WORKER_STARTING)
		worker_running(w);
	supervisor_changed(w->sv);
}

/* The main process exited while its replacement was starting: the
 * replacement becomes the main process, still starting. */
static void
replace_promote(struct worker *w)
{
	struct instance *c = w->rep.candidate;

	w->rep.candidate = NULL;
	worker_set_main(w, c);
	replace_set_state(&w->rep, w->fullname, REPLACE_IDLE);
	log_info("program", "%s: replacement pid %d takes over from the exited "
	    "process", w->fullname, (int)c->pid);
	worker_count(w, w->next_reason != REASON_NONE ? w->next_reason :
	    w->rep.reason);
	w->next_reason = REASON_NONE;
	worker_set_state(w, WORKER_STARTING);
}

/* The events. */

static void
worker_main_exited(struct worker *w, struct instance *in)
{
	const struct program_config *cfg = w->spec.cfg;
	enum worker_state next;
	char how[96];
	bool force = w->force_restart;

	w->last_status = in->exit_status;
	w->last_oom = in->oom_killed;
	w->last_stop = mono_now();
	instance_describe_exit(in, how, sizeof(how));
	if (w->state == WORKER_STOPPING) {
		log_info("program", "%s stopped (%s)", w->fullname, how);
		worker_check_stopped(w);
		return;
	}
	log_info("program", "%s exited: %s (%s)", w->fullname, how,
	    force ? "killed by leash" : w->state == WORKER_RUNNING &&
	    exited_as_expected(cfg, in->exit_status) ? "expected" :
	    "not expected");
	instance_leftovers(in);
	instance_destroy(in);
	w->main = NULL;
	w->force_restart = false;
	if (w->rep.candidate != NULL && w->want == WANT_UP) {
		replace_promote(w);
		return;
	}
	if (w->rep.candidate != NULL)
		worker_drain_candidate(w, cfg->stopsignal, cfg->stopwaitsecs);
	replace_set_state(&w->rep, w->fullname, REPLACE_IDLE);

	next = worker_next_on_exit(cfg, w->state, w->last_status, w->backoff,
	    w->want == WANT_UP);
	if (force && w->want == WANT_UP && w->state == WORKER_RUNNING)
		next = WORKER_STARTING;
	worker_disarm(w);
	switch (next) {
	case WORKER_BACKOFF:
	case WORKER_FATAL:
		worker_failed_start(w);
		break;
	case WORKER_STARTING:
		worker_set_state(w, WORKER_EXITED);
		if (w->next_reason == REASON_NONE)
			w->next_reason = REASON_EXIT;
		w->backoff = 0;
		/* From the loop, not from here: a worker that exits at once
		 * must not keep leashd inside its child handler. */
		worker_arm(w, 0.);
		break;
	default:
		worker_set_state(w, next);
		break;
	}
}

static void
worker_exited(struct worker *w, struct instance *in)
{
	char how[96];

	instance_describe_exit(in, how, sizeof(how));
	switch (in->role) {
	case ROLE_MAIN:
		worker_main_exited(w, in);
		break;
	case ROLE_CANDIDATE:
		w->last_status = in->exit_status;
		w->rep.candidate = NULL;
		instance_leftovers(in);
		instance_destroy(in);
		replace_failed(w, how);
		break;
	case ROLE_DRAINING:
		log_info("program", "%s: old pid %d is gone (%s)", w->fullname,
		    (int)in->pgid, how);
		worker_event(w, WEV_DRAIN_TIMER, in, 0);
		break;
	}
}

static void
worker_ready_timeout(struct worker *w, struct instance *in)
{
	const struct program_config *cfg = w->spec.cfg;

	if (in == w->rep.candidate) {
		worker_drain_candidate(w, cfg->drain_signal, cfg->drain_timeout);
		replace_failed(w, "it did not send READY=1 within "
		    "ready_timeout");
		return;
	}
	if (in != w->main || w->state != WORKER_STARTING)
		return;
	/* A failed start; it leaves as any old process does, and the slot
	 * backs off meanwhile. */
	log_warnx("program", "%s: pid %d did not send READY=1 within "
	    "ready_timeout (%.1f s)", w->fullname, (int)in->pid,
	    cfg->ready_timeout);
	w->main = NULL;
	worker_drain(w, in, cfg->drain_signal, cfg->drain_timeout);
	if (w->rep.candidate != NULL && w->want == WANT_UP) {
		replace_promote(w);
		return;
	}
	worker_failed_start(w);
}

static void
worker_stop_timer(struct worker *w)
{
	ev_tstamp now = mono_now();

	if (w->stop_deadline > 0 && now >= w->stop_deadline) {
		w->stop_deadline = 0;
		if (w->main != NULL && !instance_tree_empty(w->main)) {
			log_warnx("program", "%s: %s still alive %.1f s after the "
			    "stop signal: SIGKILL to the whole tree", w->fullname,
			    w->main->pid > 0 ? "it is" :
			    "processes it started are", w->spec.cfg->stopwaitsecs);
			instance_signal(w->main, SIGKILL, true);
		}
	}
	if (w->main == NULL || w->main->pid == 0)
		worker_check_stopped(w);
	else if (w->stop_deadline > 0)
		worker_arm(w, w->stop_deadline - now);
}

static void
worker_do_stop(struct worker *w)
{
	const struct program_config *cfg = w->spec.cfg;
	char sb[16];

	w->want = WANT_DOWN;
	if (w->rep.candidate != NULL)
		worker_drain_candidate(w, cfg->stopsignal, cfg->stopwaitsecs);
	replace_set_state(&w->rep, w->fullname, REPLACE_IDLE);
	if (w->spawn_queued) {
		supervisor_spawn_forget(w->sv, &w->timer);
		w->spawn_queued = false;
		worker_set_state(w, WORKER_STOPPED);
		return;
	}
	switch (w->state) {
	case WORKER_STARTING:
	case WORKER_RUNNING:
		log_info("program", "%s: sending SIG%s (pid %d)", w->fullname,
		    signal_name(cfg->stopsignal, sb), (int)worker_pid(w));
		instance_signal(w->main, cfg->stopsignal, cfg->stopasgroup);
		ev_timer_stop(w->sv->loop, &w->main->timer);
		worker_set_state(w, WORKER_STOPPING);
		w->stop_deadline = mono_now() + cfg->stopwaitsecs;
		worker_arm(w, cfg->stopwaitsecs);
		break;
	case WORKER_BACKOFF:
		worker_disarm(w);
		worker_set_state(w, WORKER_STOPPED);
		break;
	default:
		break;
	}
}

static void
worker_do_memory_max(struct worker *w, struct instance *in)
{
	const struct program_config *cfg = w->spec.cfg;
	char a[16], b[16];

	log_warnx("memory", "%s: pid %d uses %s, over memory_max %s: killing "
	    "it%s", w->fullname, (int)in->pid, memory_human(in->mem.current, a),
	    memory_human(cfg->memory_max, b), in == w->main ?
	    " and replacing it at once" : "");
	if (in == w->rep.candidate) {
		worker_drain_candidate(w, SIGKILL, 0);
		replace_failed(w, "over memory_max");
	} else if (in == w->main) {
		if (w->force_restart)
			return;
		w->force_restart = true;
		w->next_reason = REASON_MEMORY_MAX;
		instance_signal(in, SIGKILL, true);
	} else
		instance_signal(in, SIGKILL, true);
}

static int
worker_event(struct worker *w, enum worker_event ev, struct instance *in,
    int arg)
{
	switch (ev) {
	case WEV_START:
		w->want = WANT_UP;
		switch (w->state) {
		case WORKER_BACKOFF:
		case WORKER_STOPPED:
		case WORKER_EXITED:
		case WORKER_FATAL:
			w->backoff = 0;
			w->next_reason = (enum restart_reason)arg;
			worker_spawn(w);
			break;
		case WORKER_STOPPING:
			/* Started again once the stop completes. */
			w->next_reason = (enum restart_reason)arg;
			break;
		default:
			break;
		}
		break;
	case WEV_STOP:
		worker_do_stop(w);
		break;
	case WEV_TIMER:
		if (w->spawn_queued)
			worker_exec(w);		/* its turn in the spawn queue */
		else if (w->state == WORKER_BACKOFF ||
		    (w->state == WORKER_EXITED && w->want == WANT_UP))
			worker_spawn(w);
		else if (w->state == WORKER_STOPPING)
			worker_stop_timer(w);
		break;
	case WEV_EXIT:
		worker_exited(w, in);
		break;
	case WEV_READY:
		if (in == w->rep.candidate)
			replace_ready(w);
		else if (in == w->main && w->state == WORKER_STARTING) {
			worker_measure_ready(w, in);
			worker_running(w);
		}
		break;
	case WEV_READY_TIMEOUT:
		worker_ready_timeout(w, in);
		break;
	case WEV_DRAIN_TIMER:
		if (!instance_drained(in))
			break;
		replace_remove_draining(&w->rep, in);
		if (in->drain_time > 0)
			histogram_observe(&w->stats->timing[TIMING_DRAIN],
			    mono_now() - in->drain_time);
		instance_destroy(in);
		supervisor_changed(w->sv);
		if (w->state == WORKER_STOPPING)
			worker_check_stopped(w);
		break;
	case WEV_THRESHOLD:
		/* program.c samples it at once: a sample like any other. */
		worker_look(w, 0);
		break;
	case WEV_REPLACE:
		return replace_begin(w, (enum restart_reason)arg);
	case WEV_MEMORY_MAX:
		worker_do_memory_max(w, in);
		break;
	}
	return 0;
}

/* Every event of an instance comes here, named for the worker. */
static void
worker_hook(struct instance *in, enum instance_event e)
{
	struct worker *w = in->owner;
	const struct program_config *cfg = w->spec.cfg;

	switch (e) {
	case INSTANCE_EXIT:
		worker_event(w, WEV_EXIT, in, 0);
		break;
	case INSTANCE_TIMER:
		if (in->role == ROLE_DRAINING)
			worker_event(w, WEV_DRAIN_TIMER, in, 0);
		else if (in->ready_time == 0)
			worker_event(w, cfg->ready == READY_NOTIFY ?
			    WEV_READY_TIMEOUT : WEV_READY, in, 0);
		break;
	case INSTANCE_THRESHOLD:
		worker_event(w, WEV_THRESHOLD, in, 0);
		break;
	case INSTANCE_READY:
		if (cfg->ready != READY_NOTIFY) {
			log_debug("notify", "%s: READY=1 (ready = startsecs: "
			    "noted only)", w->fullname);
			break;
		}
		if (in->role == ROLE_DRAINING || in->ready_time > 0)
			break;
		log_info("notify", "%s: %spid %d sent READY=1", w->fullname,
		    in->role == ROLE_CANDIDATE ? "replacement " : "",
		    (int)in->pid);
		worker_event(w, WEV_READY, in, 0);
		break;
	}
}

static void
worker_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	worker_event(container_of(t, struct worker, timer), WEV_TIMER, NULL, 0);
}

/* The entries from the pool and the front ends. */

void
worker_start(struct worker *w, enum restart_reason reason)
{
	worker_event(w, WEV_START, NULL, reason);
}

void
worker_stop(struct worker *w)
{
	worker_event(w, WEV_STOP, NULL, 0);
}

int
worker_replace(struct worker *w, enum restart_reason reason)
{
	return worker_event(w, WEV_REPLACE, NULL, reason);
}

int
worker_adopt(struct worker *w, const struct state_process *p, bool child)
{
	const struct program_config *cfg = w->spec.cfg;
	struct instance *in;
	char err[256];

	if (p->role == ROLE_CANDIDATE || (p->role == ROLE_MAIN &&
	    w->main != NULL))
		return -1;
	if ((in = instance_adopt(w->sv, &w->spec, p, child, worker_hook, w,
	    err, sizeof(err))) == NULL) {
		log_warnx("program", "%s: cannot take over pid %d: %s",
		    w->fullname, (int)p->pid, err);
		return -1;
	}
	if (in->role == ROLE_DRAINING) {
		/* Told to leave already: not told twice (a second SIGTERM
		 * means "quit now" to many servers). */
		replace_add_draining(&w->rep, in);
		in->drain_signal = cfg->drain_signal;
		in->deadline = mono_now() + cfg->drain_timeout;
		instance_arm(in, cfg->drain_timeout);
		return 0;
	}
	w->want = WANT_UP;
	worker_disarm(w);
	worker_set_main(w, in);
	worker_running(w);
	return 0;
}

void
worker_memory_max(struct worker *w, struct instance *in)
{
	worker_event(w, WEV_MEMORY_MAX, in, 0);
}

void
worker_init(struct worker *w, struct supervisor *sv,
    const struct program_config *cfg, const struct process_config *pc,
    enum memory_source source, struct program_stats *stats)
{
	w->sv = sv;
	w->fullname = xasprintf("%s:%s", cfg->group, pc->name);
	w->state = WORKER_STOPPED;
	w->want = WANT_DOWN;
	w->stats = stats;
	logfile_init(&w->outlog, pc->out.path, pc->out.maxbytes,
	    pc->out.backups);
	logfile_init(&w->errlog, pc->err.path, pc->err.maxbytes,
	    pc->err.backups);
	w->outlog.strip_ansi = pc->out.strip_ansi;
	w->errlog.strip_ansi = pc->err.strip_ansi;
	w->spec.fullname = w->fullname;
	w->spec.cfg = cfg;
	w->spec.pc = pc;
	w->spec.source = source;
	w->spec.outlog = &w->outlog;
	w->spec.errlog = &w->errlog;
	ev_timer_init(&w->timer, worker_timer_cb, 0., 0.);
}

void
worker_set_config(struct worker *w, const struct program_config *cfg,
    const struct process_config *pc)
{
	w->spec.cfg = cfg;
	w->spec.pc = pc;
}

void
worker_free(struct worker *w)
{
	if (w->spawn_queued)
		supervisor_spawn_forget(w->sv, &w->timer);
	ev_timer_stop(w->sv->loop, &w->timer);
	ev_timer_stop(w->sv->loop, &w->look);
	if (w->main != NULL)
		instance_destroy(w->main);
	if (w->rep.candidate != NULL)
		instance_destroy(w->rep.candidate);
	for (size_t j = 0; j < w->rep.ndraining; j++)
		instance_destroy(w->rep.draining[j]);
	free(w->rep.draining);
	logfile_free(&w->outlog);
	logfile_free(&w->errlog);
	free(w->spawn_error);
	free(w->fullname);
}
