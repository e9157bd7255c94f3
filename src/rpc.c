/*
 * supervisord's XML-RPC interface on leash's pool.
 *
 * A method answers at once with a value or a fault, or leaves a wait: the
 * workers it started or stopped, and what it waits for (supervisord's
 * deferred callbacks).  Waits are looked at again after every change of
 * worker state (rpc_update), and a group's results are appended in the
 * order the workers get there, as supervisord appends them.  A multicall
 * runs its calls in order, each waited for before the next, as
 * supervisord's does.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "parse.h"
#include "program.h"
#include "events.h"
#include "rpc.h"
#include "supervisor.h"
#include "web.h"
#include "xmlrpc.h"

/* supervisord's process state codes (states.py). */
static const int state_codes[] = {
	[WORKER_STOPPED] = 0,
	[WORKER_STARTING] = 10,
	[WORKER_RUNNING] = 20,
	[WORKER_BACKOFF] = 30,
	[WORKER_STOPPING] = 40,
	[WORKER_EXITED] = 100,
	[WORKER_FATAL] = 200,
};

enum wait_for { WAIT_RUNNING, WAIT_STOPPED, WAIT_REPLACED };

/* One worker a method waits for. */
struct wait {
	char *fullname;
	enum wait_for until;
	unsigned long base;	/* WAIT_REPLACED: reloads counted before */
	bool done;
};

/*
 * What a method returns: a value, a fault, or waits.  For waits of one
 * process (startProcess) the outcome is true or a fault; of a group, each
 * outcome is a result struct appended to results.
 */
struct outcome {
	struct xr_value *value;
	int fault;
	char *message;
	struct wait *waits;
	size_t nwaits;
	bool group;
	struct xr_value *results;	/* group: the array being filled */
	char *namespec;			/* one process: its name, for faults */
};

struct call {
	struct rpc *rpc;
	struct call *next;
	struct http_request *req;
	struct outcome now;		/* the method (or inner call) waiting */
	/* system.multicall */
	const struct xr_value *calls;
	struct xr_value *params;	/* owns calls */
	size_t next_call;
	struct xr_value *multi;		/* results so far */
};

struct follower {
	struct rpc *rpc;
	struct follower *next;
	struct http_request *req;
	struct logfile *log;
};

/* One socket: supervisord's (everything), or metrics = (GET /metrics). */
struct rpc_server {
	struct rpc *rpc;
	struct http_server *http;
	bool metrics_only;
};

struct rpc {
	struct control_daemon dm;
	struct rpc_server *servers;
	size_t nservers;
	struct call *calls;
	struct follower *followers;
};

struct method;
/* A method's handler gets its table entry, so that one handler serves
 * the entries that differ only in what it acts on. */
typedef void method_fn(struct rpc *, const struct method *,
    const struct xr_value *params, struct outcome *);

enum action { ACT_START, ACT_STOP, ACT_SIGNAL };
enum scope { SCOPE_ONE, SCOPE_GROUP, SCOPE_ALL };

struct method {
	const char *name;
	const char *signature;		/* return type, then parameter types */
	const char *help;
	method_fn *fn;
	enum action action;		/* m_act */
	enum scope scope;
	const char *channel;		/* m_read_log, m_tail_log */
};

static const struct method *method_find(const char *);
static void call_step(struct rpc *, struct call *);

static void __attribute__((format(printf, 3, 4)))
fault(struct outcome *o, int code, const char *fmt, ...)
{
	static const struct { int code; const char *name; } names[] = {
		{ FAULT_UNKNOWN_METHOD, "UNKNOWN_METHOD" },
		{ FAULT_INCORRECT_PARAMETERS, "INCORRECT_PARAMETERS" },
		{ FAULT_BAD_ARGUMENTS, "BAD_ARGUMENTS" },
		{ FAULT_SIGNATURE_UNSUPPORTED, "SIGNATURE_UNSUPPORTED" },
		{ FAULT_SHUTDOWN_STATE, "SHUTDOWN_STATE" },
		{ FAULT_BAD_NAME, "BAD_NAME" },
		{ FAULT_BAD_SIGNAL, "BAD_SIGNAL" },
		{ FAULT_NO_FILE, "NO_FILE" },
		{ FAULT_NOT_EXECUTABLE, "NOT_EXECUTABLE" },
		{ FAULT_FAILED, "FAILED" },
		{ FAULT_ABNORMAL_TERMINATION, "ABNORMAL_TERMINATION" },
		{ FAULT_SPAWN_ERROR, "SPAWN_ERROR" },
		{ FAULT_ALREADY_STARTED, "ALREADY_STARTED" },
		{ FAULT_NOT_RUNNING, "NOT_RUNNING" },
		{ FAULT_SUCCESS, "SUCCESS" },
		{ FAULT_ALREADY_ADDED, "ALREADY_ADDED" },
		{ FAULT_STILL_RUNNING, "STILL_RUNNING" },
		{ FAULT_CANT_REREAD, "CANT_REREAD" },
	};
	const char *name = "FAILED";
	char *text = NULL;
	va_list ap;

	for (size_t i = 0; i < nitems(names); i++)
		if (names[i].code == code)
			name = names[i].name;
	if (fmt != NULL) {
		va_start(ap, fmt);
		text = xvasprintf(fmt, ap);
		va_end(ap);
	}
	/* supervisord's RPCError: "NAME" or "NAME: text". */
	o->fault = code;
	free(o->message);
	o->message = text ? xasprintf("%s: %s", name, text) : xstrdup(name);
	free(text);
}

static void
outcome_free(struct outcome *o)
{
	xr_free(o->value);
	free(o->message);
	for (size_t i = 0; i < o->nwaits; i++)
		free(o->waits[i].fullname);
	free(o->waits);
	xr_free(o->results);
	free(o->namespec);
	memset(o, 0, sizeof(*o));
}

/* Parameters. */

static bool
params_check(struct outcome *o, const struct xr_value *p, size_t min,
    size_t max)
{
	if (p->n < min || p->n > max) {
		fault(o, FAULT_SIGNATURE_UNSUPPORTED, NULL);
		return false;
	}
	return true;
}

static const char *
param_string(struct outcome *o, const struct xr_value *p, size_t i)
{
	if (o->fault)
		return NULL;
	if (p->v[i]->type != XR_STRING) {
		fault(o, FAULT_INCORRECT_PARAMETERS, "parameter %zu must be a "
		    "string, not %s", i + 1, xr_type_name(p->v[i]->type));
		return NULL;
	}
	return p->v[i]->s;
}

static long long
param_int(struct outcome *o, const struct xr_value *p, size_t i)
{
	if (o->fault)
		return 0;
	if (p->v[i]->type != XR_INT) {
		fault(o, FAULT_INCORRECT_PARAMETERS, "parameter %zu must be an "
		    "int, not %s", i + 1, xr_type_name(p->v[i]->type));
		return 0;
	}
	return p->v[i]->i;
}

/* An optional boolean (wait=True), which Python clients may send as 0/1. */
static bool
param_bool(struct outcome *o, const struct xr_value *p, size_t i, bool dflt)
{
	if (o->fault || i >= p->n)
		return dflt;
	if (p->v[i]->type != XR_BOOL && p->v[i]->type != XR_INT) {
		fault(o, FAULT_INCORRECT_PARAMETERS, "parameter %zu must be a "
		    "boolean, not %s", i + 1, xr_type_name(p->v[i]->type));
		return dflt;
	}
	return p->v[i]->i != 0;
}

/* Names, as supervisord splits them: "GROUP:PROCESS", "GROUP:*" (the
 * group), or "NAME" (group NAME, process NAME). */

static struct program *
group_find(struct rpc *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->dm.pool->n; i++) {
		struct program *p = r->dm.pool->v[i];
		if (!p->removing && strlen(p->cfg->group) == len &&
		    strncmp(p->cfg->group, name, len) == 0)
			return p;
	}
	return NULL;
}

/* 0 with the group and, unless "GROUP:*", the worker; -1 with BAD_NAME. */
static int
lookup(struct rpc *r, struct outcome *o, const char *name, struct program **pp,
    struct worker **wp)
{
	const char *colon = strchr(name, ':'), *proc = colon ? colon + 1 : name;
	size_t len = colon ? (size_t)(colon - name) : strlen(name);
	struct program *p = group_find(r, name, len);

	*wp = NULL;
	*pp = p;
	if (p != NULL && colon != NULL && strcmp(proc, "*") == 0)
		return 0;
	/* A [group:x] holds several programs. */
	for (size_t i = 0; p != NULL && i < r->dm.pool->n; i++) {
		struct program *q = r->dm.pool->v[i];
		if (q->removing || strcmp(q->cfg->group, p->cfg->group) != 0)
			continue;
		for (size_t j = 0; j < q->nworkers; j++) {
			if (strcmp(q->workers[j].spec.pc->name, proc) == 0) {
				*wp = &q->workers[j];
				*pp = q;
			}
		}
	}
	if (*wp == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return -1;
	}
	return 0;
}

/* "GROUP:PROCESS", or "NAME" when both are the same. */
static char *
namespec(const struct worker *w)
{
	if (strcmp(w->spec.cfg->group, w->spec.pc->name) == 0)
		return xstrdup(w->spec.pc->name);
	return xstrdup(w->fullname);
}

static bool
is_running(const struct worker *w)
{
	return w->state == WORKER_RUNNING || w->state == WORKER_STARTING ||
	    w->state == WORKER_BACKOFF;
}

static bool
is_stopped(const struct worker *w)
{
	return (w->state == WORKER_STOPPED || w->state == WORKER_EXITED ||
	    w->state == WORKER_FATAL) && !worker_replacing(w);
}

/* Process info. */

/* Python's str(timedelta): "H:MM:SS" or "N day(s), H:MM:SS". */
static void
format_uptime(long s, char *buf, size_t len)
{
	long days = s / 86400;

	if (days > 0)
		snprintf(buf, len, "%ld day%s, %ld:%02ld:%02ld", days,
		    days == 1 ? "" : "s", s % 86400 / 3600, s % 3600 / 60, s % 60);
	else
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s % 3600 / 60,
		    s % 60);
}

/* supervisord's spawnerr: why a start failed. */
static const char *
spawnerr(const struct worker_view *v)
{
	if (v->spawn_error != NULL)
		return v->spawn_error;
	if (v->state == WORKER_BACKOFF || v->state == WORKER_FATAL)
		return "Exited too quickly (process log may have details)";
	return "";
}

/* supervisord's process info struct, with its description. */
static struct xr_value *
process_info(const struct worker_view *w)
{
	struct xr_value *v = xr_new(XR_STRUCT);
	long start = (long)w->start, stop = (long)w->stop;
	long now = (long)ev_time();
	const char *out = w->stdout_log ? w->stdout_log : "";
	const char *err = w->stderr_log ? w->stderr_log : "";
	char desc[128], up[48];
	struct tm tm;
	time_t t = stop;

	desc[0] = '\0';
	switch (w->state) {
	case WORKER_RUNNING:
		format_uptime(now - start > 0 ? now - start : 0, up, sizeof(up));
		snprintf(desc, sizeof(desc), "pid %d, uptime %s", (int)w->pid, up);
		break;
	case WORKER_FATAL:
	case WORKER_BACKOFF:
		snprintf(desc, sizeof(desc), "%s", spawnerr(w));
		break;
	case WORKER_STOPPED:
	case WORKER_EXITED:
		if (start != 0 && localtime_r(&t, &tm) != NULL)
			strftime(desc, sizeof(desc), "%b %d %I:%M %p", &tm);
		else if (start == 0)
			snprintf(desc, sizeof(desc), "Not started");
		break;
	default:
		break;
	}
	xr_set(v, "name", xr_string(w->process));
	xr_set(v, "group", xr_string(w->group));
	xr_set(v, "start", xr_int(start));
	xr_set(v, "stop", xr_int(stop));
	xr_set(v, "now", xr_int(now));
	xr_set(v, "state", xr_int(state_codes[w->state]));
	xr_set(v, "statename", xr_string(worker_state_name(w->state)));
	xr_set(v, "spawnerr", xr_string(spawnerr(w)));
	/* supervisord: the exit code, -1 for a signal. */
	xr_set(v, "exitstatus", xr_int(w->exit_code >= 0 ? w->exit_code :
	    w->exit_signal > 0 ? -1 : 0));
	xr_set(v, "logfile", xr_string(out));
	xr_set(v, "stdout_logfile", xr_string(out));
	xr_set(v, "stderr_logfile", xr_string(err));
	xr_set(v, "pid", xr_int(w->pid));
	xr_set(v, "description", xr_string(desc));
	return v;
}

static struct xr_value *
worker_info(const struct worker *w)
{
	struct worker_view v;

	worker_view(w, &v);
	return process_info(&v);
}

static struct xr_value *
group_result(const struct worker *w, int status, const char *description)
{
	struct xr_value *v = xr_new(XR_STRUCT);

	xr_set(v, "name", xr_string(w->spec.pc->name));
	xr_set(v, "group", xr_string(w->spec.cfg->group));
	xr_set(v, "status", xr_int(status));
	xr_set(v, "description", xr_string(description));
	return v;
}

/* Waits. */

static void
wait_add(struct outcome *o, const struct worker *w, enum wait_for until)
{
	o->waits = xrealloc(o->waits, (o->nwaits + 1) * sizeof(*o->waits));
	o->waits[o->nwaits].fullname = xstrdup(w->fullname);
	o->waits[o->nwaits].until = until;
	o->waits[o->nwaits].base = w->restarts[REASON_RELOAD];
	o->waits[o->nwaits].done = false;
	o->nwaits++;
}

/*
 * Where a waited-for worker stands: 0 not there yet, 1 there, or a
 * fault code (its start failed; supervisord's onwait).
 */
static int
wait_check(struct rpc *r, const struct wait *wt, const struct worker **wp)
{
	const struct worker *w = pool_find_worker(r->dm.pool, wt->fullname);

	*wp = w;
	if (w == NULL)
		return FAULT_BAD_NAME;
	if (wt->until == WAIT_STOPPED)
		return is_stopped(w) ? 1 : 0;
	if (wt->until == WAIT_REPLACED) {
		if (w->rep.candidate != NULL)
			return 0;
		return w->restarts[REASON_RELOAD] > wt->base ? 1 : FAULT_FAILED;
	}
	/* supervisord's spawnerr: a failed exec or an exit too quickly. */
	if ((w->spawn_error != NULL && !w->spawn_queued) ||
	    w->state == WORKER_BACKOFF || w->state == WORKER_FATAL)
		return FAULT_SPAWN_ERROR;
	if (w->state == WORKER_RUNNING)
		return 1;
	if (w->state != WORKER_STARTING)
		return FAULT_ABNORMAL_TERMINATION;
	return 0;
}

/* Advances o's waits; true when every one has its outcome. */
static bool
outcome_poll(struct rpc *r, struct outcome *o)
{
	const struct worker *w;
	size_t left = 0;
	int rc;

	for (size_t i = 0; i < o->nwaits; i++) {
		struct wait *wt = &o->waits[i];
		if (wt->done)
			continue;
		if ((rc = wait_check(r, wt, &w)) == 0) {
			left++;
			continue;
		}
		wt->done = true;
		if (!o->group) {
			if (rc == 1)
				o->value = xr_bool(true);
			else
				fault(o, rc, "%s", o->namespec);
			continue;
		}
		if (w == NULL)
			continue;
		if (rc == 1)
			xr_push(o->results, group_result(w, FAULT_SUCCESS, "OK"));
		else {
			struct outcome f = { 0 };
			char *name = namespec(w);
			fault(&f, rc, "%s", name);
			xr_push(o->results, group_result(w, rc, f.message));
			free(name);
			outcome_free(&f);
		}
	}
	if (left > 0)
		return false;
	if (o->group && o->results != NULL) {
		o->value = o->results;
		o->results = NULL;
	}
	return true;
}

/* supervisor.* */

static bool
not_shutting_down(struct rpc *r, struct outcome *o)
{
	if (r->dm.shutting_down(r->dm.arg)) {
		fault(o, FAULT_SHUTDOWN_STATE, NULL);
		return false;
	}
	return true;
}

static void
m_api_version(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	(void)r;
	if (params_check(o, p, 0, 0))
		o->value = xr_string(RPC_API_VERSION);
}

static void
m_supervisor_version(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	(void)r;
	if (params_check(o, p, 0, 0))
		o->value = xr_string(PACKAGE_VERSION);
}

static void
m_identification(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	if (params_check(o, p, 0, 0))
		o->value = xr_string(r->dm.identifier(r->dm.arg));
}

static void
m_state(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	bool down = r->dm.shutting_down(r->dm.arg);

	(void)m;
	if (!params_check(o, p, 0, 0))
		return;
	/* SupervisorStates: RUNNING 1, SHUTDOWN -1. */
	o->value = xr_new(XR_STRUCT);
	xr_set(o->value, "statecode", xr_int(down ? -1 : 1));
	xr_set(o->value, "statename", xr_string(down ? "SHUTDOWN" : "RUNNING"));
}

static void
m_pid(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	if (params_check(o, p, 0, 0))
		o->value = xr_int(r->dm.sv->self);
}

/* supervisord's readFile: offset < 0 is the last -offset bytes (length
 * must then be 0); length 0 reads to the end. */
static void
read_file(const char *path, long long off, long long len, struct outcome *o)
{
	struct stat st;
	char *data;
	ssize_t got;
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fault(o, FAULT_NO_FILE, "%s", path ? path : "None");
		return;
	}
	if (fstat(fd, &st) != 0 || (off < 0 && len != 0) || len < 0) {
		close(fd);
		fault(o, st.st_size >= 0 && (off < 0 ? len != 0 : len < 0) ?
		    FAULT_BAD_ARGUMENTS : FAULT_FAILED, NULL);
		return;
	}
	if (off < 0) {
		len = -off;
		off = st.st_size + off > 0 ? st.st_size + off : 0;
	} else if (len == 0)
		len = st.st_size > off ? st.st_size - off : 0;
	if (len > HTTP_BODY_MAX)
		len = HTTP_BODY_MAX;
	data = xmalloc(len + 1);
	got = pread(fd, data, len, off);
	close(fd);
	o->value = xr_stringn(data, got > 0 ? (size_t)got : 0);
	free(data);
}

/* [supervisord] logfile, or NULL when leashd logs to stderr or the
 * journal only. */
static struct logfile *
main_log(struct rpc *r, struct outcome *o)
{
	struct logfile *log = r->dm.logfile(r->dm.arg);

	if (log == NULL || log->path == NULL) {
		fault(o, FAULT_NO_FILE, "leashd logs to stderr or the journal "
		    "([supervisord] logfile is not set)");
		return NULL;
	}
	return log;
}

static void
m_read_log(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct logfile *log;
	long long off, len;

	(void)m;
	if (!params_check(o, p, 2, 2))
		return;
	off = param_int(o, p, 0);
	len = param_int(o, p, 1);
	if (!o->fault && (log = main_log(r, o)) != NULL)
		read_file(log->path, off, len, o);
}

static void
m_clear_log(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct logfile *log;

	(void)m;
	if (params_check(o, p, 0, 0) && (log = main_log(r, o)) != NULL) {
		logfile_clear(log);
		o->value = xr_bool(true);
	}
}

static void
m_shutdown(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	if (!params_check(o, p, 0, 0) || !not_shutting_down(r, o))
		return;
	r->dm.shutdown(r->dm.arg, false);
	o->value = xr_bool(true);
}

static void
m_restart(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	if (!params_check(o, p, 0, 0) || !not_shutting_down(r, o))
		return;
	r->dm.shutdown(r->dm.arg, true);
	o->value = xr_bool(true);
}

static struct xr_value *
strv_array(const struct strv *s)
{
	struct xr_value *a = xr_new(XR_ARRAY);

	for (size_t i = 0; i < s->n; i++)
		xr_push(a, xr_string(s->v[i]));
	return a;
}

static void
m_reload_config(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct strv added = { 0 }, changed = { 0 }, removed = { 0 }, errs = { 0 };
	struct xr_value *three;

	(void)m;
	if (!params_check(o, p, 0, 0) || !not_shutting_down(r, o))
		return;
	if (r->dm.reread(r->dm.arg, &added, &changed, &removed, &errs) != 0)
		fault(o, FAULT_CANT_REREAD, "%s", errs.n ? errs.v[0] :
		    "the configuration file has errors");
	else {
		three = xr_new(XR_ARRAY);
		xr_push(three, strv_array(&added));
		xr_push(three, strv_array(&changed));
		xr_push(three, strv_array(&removed));
		o->value = xr_new(XR_ARRAY);
		xr_push(o->value, three);
	}
	strv_free(&added);
	strv_free(&changed);
	strv_free(&removed);
	strv_free(&errs);
}

/* addProcessGroup, removeProcessGroup: the daemon's answer 0, 1 (busy:
 * already added, still running) or -1 (no such group) as supervisord's. */
static void
group_change(struct rpc *r, const struct xr_value *p, struct outcome *o,
    int (*change)(void *, const char *), int busy)
{
	const char *name;

	if (!params_check(o, p, 1, 1) || (name = param_string(o, p, 0)) == NULL ||
	    !not_shutting_down(r, o))
		return;
	switch (change(r->dm.arg, name)) {
	case 0:
		o->value = xr_bool(true);
		break;
	case 1:
		fault(o, busy, "%s", name);
		break;
	default:
		fault(o, FAULT_BAD_NAME, "%s", name);
		break;
	}
}

static void
m_add_group(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	group_change(r, p, o, r->dm.add_group, FAULT_ALREADY_ADDED);
}

static void
m_remove_group(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	group_change(r, p, o, r->dm.remove_group, FAULT_STILL_RUNNING);
}

/* start, stop, signal: one process, a group, or every process. */

/*
 * Acts on one worker.  0: done at once; 1: o waits for it; -1: a fault
 * in o.
 */
static int
act_one(struct rpc *r, struct outcome *o, struct worker *w, enum action a,
    bool wait, int sig, const char *name)
{
	(void)r;
	switch (a) {
	case ACT_START:
		if (is_running(w)) {
			fault(o, FAULT_ALREADY_STARTED, "%s", name);
			return -1;
		}
		worker_start(w, REASON_NONE);
		if ((w->spawn_error != NULL && !w->spawn_queued) ||
		    w->state == WORKER_BACKOFF || w->state == WORKER_FATAL) {
			fault(o, FAULT_SPAWN_ERROR, "%s", name);
			return -1;
		}
		if (!wait || w->state == WORKER_RUNNING)
			return 0;
		wait_add(o, w, WAIT_RUNNING);
		return 1;
	case ACT_STOP:
		if (!is_running(w)) {
			fault(o, FAULT_NOT_RUNNING, "%s", name);
			return -1;
		}
		worker_stop(w);
		if (!wait || is_stopped(w))
			return 0;
		wait_add(o, w, WAIT_STOPPED);
		return 1;
	case ACT_SIGNAL:
		if (worker_pid(w) <= 0 || !(w->state == WORKER_RUNNING ||
		    w->state == WORKER_STARTING || w->state == WORKER_STOPPING)) {
			fault(o, FAULT_NOT_RUNNING, "%s", name);
			return -1;
		}
		if (kill(worker_pid(w), sig) != 0) {
			fault(o, FAULT_FAILED, "%s", strerror(errno));
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Which workers of a group or of all an action takes (make_allfunc's
 * predicates). */
static bool
act_applies(const struct worker *w, enum action a)
{
	switch (a) {
	case ACT_START:
		return !is_running(w);
	case ACT_STOP:
		return is_running(w);
	default:
		return w->state == WORKER_RUNNING || w->state == WORKER_STARTING ||
		    w->state == WORKER_STOPPING;
	}
}

/* The pool's programs by priority, in the order they joined where
 * priorities are equal (supervisord's stable sort of its groups). */
static struct program **
by_priority(struct rpc *r, size_t *n)
{
	struct program **v = xcalloc(r->dm.pool->n + 1, sizeof(*v)), *p;
	size_t k = 0;

	for (size_t i = 0; i < r->dm.pool->n; i++) {
		if ((p = r->dm.pool->v[i])->removing)
			continue;
		size_t j = k++;
		for (; j > 0 && (v[j - 1]->cfg->group_priority >
		    p->cfg->group_priority ||
		    (v[j - 1]->cfg->group_priority == p->cfg->group_priority &&
		    v[j - 1]->seq > p->seq)); j--)
			v[j] = v[j - 1];
		v[j] = p;
	}
	*n = k;
	return v;
}

static void
act_group(struct rpc *r, struct outcome *o, const char *only,
    enum action a, bool wait, int sig)
{
	size_t n;
	struct program **order = by_priority(r, &n);

	o->group = true;
	o->results = xr_new(XR_ARRAY);
	for (size_t i = 0; i < n; i++) {
		struct program *p = order[i];
		if (only != NULL && strcmp(p->cfg->group, only) != 0)
			continue;
		for (size_t j = 0; j < p->nworkers; j++) {
			struct worker *w = &p->workers[j];
			struct outcome f = { 0 };
			char *name;
			int rc;

			if (!act_applies(w, a))
				continue;
			name = namespec(w);
			rc = act_one(r, a == ACT_SIGNAL ? &f : o, w, a, wait, sig,
			    name);
			if (rc == 0)
				xr_push(o->results, group_result(w, FAULT_SUCCESS,
				    "OK"));
			else if (rc < 0) {
				struct outcome *from = a == ACT_SIGNAL ? &f : o;
				xr_push(o->results, group_result(w, from->fault,
				    from->message));
				from->fault = 0;
				free(from->message);
				from->message = NULL;
			}
			free(name);
			outcome_free(&f);
		}
	}
	free(order);
	supervisor_changed(r->dm.sv);
	if (o->nwaits == 0) {
		o->value = o->results;
		o->results = NULL;
	}
}

/*
 * The parameters: a name (not for all), then the signal (signal) or an
 * optional wait (start, stop).
 */
static void
act(struct rpc *r, const struct xr_value *p, struct outcome *o, enum action a,
    enum scope scope)
{
	size_t named = scope == SCOPE_ALL ? 0 : 1;	/* the name's there */
	struct program *g = NULL;
	struct worker *w = NULL;
	const char *name = NULL, *sigtext = NULL, *why;
	char num[24];
	bool wait = false;
	int sig = 0, rc = 0;

	if (!params_check(o, p, named + (a == ACT_SIGNAL), named + 1))
		return;
	if (named)
		name = param_string(o, p, 0);
	if (a != ACT_SIGNAL)
		wait = param_bool(o, p, named, true);
	else if (p->v[named]->type == XR_INT) {
		snprintf(num, sizeof(num), "%lld", p->v[named]->i);
		rc = parse_signal(sigtext = num, &sig, &why);
	} else if ((sigtext = param_string(o, p, named)) != NULL)
		rc = parse_signal(sigtext, &sig, &why);
	if (o->fault || !not_shutting_down(r, o))
		return;
	if (scope == SCOPE_GROUP &&
	    (g = group_find(r, name, strlen(name))) == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return;
	}
	if (scope == SCOPE_ONE && lookup(r, o, name, &g, &w) != 0)
		return;
	if (rc != 0) {
		fault(o, FAULT_BAD_SIGNAL, "%s", sigtext);
		return;
	}
	if (w == NULL) {
		/* "GROUP:*", a group, or all. */
		act_group(r, o, g ? g->cfg->group : NULL, a, wait, sig);
		return;
	}
	o->namespec = xstrdup(name);
	rc = act_one(r, o, w, a, wait, sig, name);
	supervisor_changed(r->dm.sv);
	if (rc == 0)
		o->value = xr_bool(true);
}

/* start, stop and signal: of one process, of a group, of all. */
static void
m_act(struct rpc *r, const struct method *m, const struct xr_value *p,
    struct outcome *o)
{
	act(r, p, o, m->action, m->scope);
}

static void
m_process_info(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct program *g;
	struct worker *w;
	const char *name;

	(void)m;
	if (!params_check(o, p, 1, 1) || (name = param_string(o, p, 0)) == NULL)
		return;
	if (lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return;
	}
	o->value = worker_info(w);
}

static int
worker_lexical(const void *a, const void *b)
{
	const struct worker *x = *(struct worker *const *)a;
	const struct worker *y = *(struct worker *const *)b;
	int c = strcmp(x->spec.cfg->group, y->spec.cfg->group);

	return c ? c : strcmp(x->spec.pc->name, y->spec.pc->name);
}

static void
m_all_process_info(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct worker **v = NULL;
	size_t n = 0;

	(void)m;
	if (!params_check(o, p, 0, 0))
		return;
	for (size_t i = 0; i < r->dm.pool->n; i++) {
		struct program *g = r->dm.pool->v[i];
		if (g->removing)
			continue;
		v = xrealloc(v, (n + g->nworkers + 1) * sizeof(*v));
		for (size_t j = 0; j < g->nworkers; j++)
			v[n++] = &g->workers[j];
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), worker_lexical);
	o->value = xr_new(XR_ARRAY);
	for (size_t i = 0; i < n; i++)
		xr_push(o->value, worker_info(v[i]));
	free(v);
}

static struct xr_value *
path_or_none(const char *path)
{
	return xr_string(path ? path : "none");
}

static struct xr_value *
config_info(const struct program_config *cfg, const struct process_config *pc,
    bool inuse)
{
	struct xr_value *v = xr_new(XR_STRUCT), *codes = xr_new(XR_ARRAY);
	long uid = -1;

	if (cfg->user != NULL) {
		long n;
		const char *why;
		if (parse_int(cfg->user, 0, 0x7fffffff, &n, &why) == 0)
			uid = n;
		else {
			struct passwd *pw = getpwnam(cfg->user);
			uid = pw ? (long)pw->pw_uid : -1;
		}
	}
	xr_set(v, "autostart", xr_bool(cfg->autostart));
	xr_set(v, "directory", path_or_none(pc->directory));
	xr_set(v, "uid", uid >= 0 ? xr_int(uid) : xr_string("none"));
	xr_set(v, "command", xr_string(cfg->command));
	for (int c = 0; c < 256; c++)
		if (exitcode_expected(cfg, c))
			xr_push(codes, xr_int(c));
	xr_set(v, "exitcodes", codes);
	xr_set(v, "group", xr_string(cfg->group));
	xr_set(v, "group_prio", xr_int(cfg->group_priority));
	xr_set(v, "inuse", xr_bool(inuse));
	xr_set(v, "killasgroup", xr_bool(cfg->killasgroup));
	xr_set(v, "name", xr_string(pc->name));
	xr_set(v, "process_prio", xr_int(cfg->priority));
	xr_set(v, "redirect_stderr", xr_bool(cfg->redirect_stderr));
	xr_set(v, "startretries", xr_int(cfg->startretries));
	xr_set(v, "startsecs", xr_int((long long)cfg->startsecs));
	xr_set(v, "stdout_capture_maxbytes", xr_int(0));
	xr_set(v, "stdout_events_enabled", xr_bool(false));
	xr_set(v, "stdout_logfile", path_or_none(pc->out.path));
	xr_set(v, "stdout_logfile_backups", xr_int(cfg->stdout_logfile_backups));
	xr_set(v, "stdout_logfile_maxbytes",
	    xr_int((long long)cfg->stdout_logfile_maxbytes));
	xr_set(v, "stdout_syslog", xr_bool(pc->out.journal));
	xr_set(v, "stopsignal", xr_int(cfg->stopsignal));
	xr_set(v, "stopwaitsecs", xr_int((long long)cfg->stopwaitsecs));
	xr_set(v, "stderr_capture_maxbytes", xr_int(0));
	xr_set(v, "stderr_events_enabled", xr_bool(false));
	xr_set(v, "stderr_logfile", path_or_none(pc->err.path));
	xr_set(v, "stderr_logfile_backups", xr_int(cfg->stderr_logfile_backups));
	xr_set(v, "stderr_logfile_maxbytes",
	    xr_int((long long)cfg->stderr_logfile_maxbytes));
	xr_set(v, "stderr_syslog", xr_bool(pc->err.journal));
	xr_set(v, "serverurl", xr_string("AUTO"));
	return v;
}

static int
config_info_order(const void *a, const void *b)
{
	const struct xr_value *x = *(struct xr_value *const *)a;
	const struct xr_value *y = *(struct xr_value *const *)b;

	return strcmp(xr_get(x, "name")->s, xr_get(y, "name")->s);
}

static void
m_all_config_info(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	const struct program_config **cfgs;
	size_t n;

	(void)m;
	if (!params_check(o, p, 0, 0))
		return;
	cfgs = r->dm.configured(r->dm.arg, &n);
	o->value = xr_new(XR_ARRAY);
	for (size_t i = 0; i < n; i++) {
		const struct program_config *pc = cfgs[i];
		bool inuse = group_find(r, pc->group, strlen(pc->group)) != NULL;
		for (long j = 0; j < pc->numprocs; j++)
			xr_push(o->value, config_info(pc, &pc->procs[j], inuse));
	}
	free(cfgs);
	if (o->value->n > 1)
		qsort(o->value->v, o->value->n, sizeof(*o->value->v),
		    config_info_order);
}

/* Logs. */

static struct logfile *
channel_log(struct worker *w, const char *channel)
{
	if (strcmp(channel, "stderr") == 0)
		return &w->errlog;
	return &w->outlog;
}

static void
read_log(struct rpc *r, const struct xr_value *p, struct outcome *o,
    const char *channel)
{
	struct program *g;
	struct worker *w;
	const char *name;
	long long off, len;

	if (!params_check(o, p, 3, 3) || (name = param_string(o, p, 0)) == NULL)
		return;
	off = param_int(o, p, 1);
	len = param_int(o, p, 2);
	if (o->fault || lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL)
		fault(o, FAULT_BAD_NAME, "%s", name);
	else
		read_file(channel_log(w, channel)->path, off, len, o);
}

static void
m_read_process_log(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	read_log(r, p, o, m->channel);
}

/* supervisord's tailFile: [bytes, offset, overflow]. */
static void
tail_log(struct rpc *r, const struct xr_value *p, struct outcome *o,
    const char *channel)
{
	struct program *g;
	struct worker *w;
	const char *name, *path;
	long long off, len, sz;
	bool overflow = false;
	struct stat st;
	char *data = NULL;
	ssize_t got = 0;
	int fd;

	if (!params_check(o, p, 3, 3) || (name = param_string(o, p, 0)) == NULL)
		return;
	off = param_int(o, p, 1);
	len = param_int(o, p, 2);
	if (o->fault || lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return;
	}
	path = channel_log(w, channel)->path;
	o->value = xr_new(XR_ARRAY);
	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (fstat(fd, &st) != 0 && (close(fd), true))) {
		xr_push(o->value, xr_string(""));
		xr_push(o->value, xr_int(off));
		xr_push(o->value, xr_bool(false));
		return;
	}
	sz = st.st_size;
	if (sz > off + len) {
		overflow = true;
		off = sz - 1;
	}
	if (off + len > sz) {
		if (off > sz - 1)
			len = 0;
		off = sz - len;
	}
	if (off < 0)
		off = 0;
	if (len < 0)
		len = 0;
	if (len > HTTP_BODY_MAX)
		len = HTTP_BODY_MAX;
	if (len > 0) {
		data = xmalloc(len);
		got = pread(fd, data, len, off);
	}
	close(fd);
	xr_push(o->value, xr_stringn(data ? data : "", got > 0 ? got : 0));
	xr_push(o->value, xr_int(sz));
	xr_push(o->value, xr_bool(overflow));
	free(data);
}

static void
m_tail_process_log(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	tail_log(r, p, o, m->channel);
}

static void
m_clear_process_logs(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct program *g;
	struct worker *w;
	const char *name;

	(void)m;
	if (!params_check(o, p, 1, 1) || (name = param_string(o, p, 0)) == NULL ||
	    lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return;
	}
	logfile_clear(&w->outlog);
	logfile_clear(&w->errlog);
	o->value = xr_bool(true);
}

static void
m_clear_all_logs(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	if (!params_check(o, p, 0, 0))
		return;
	o->value = xr_new(XR_ARRAY);
	for (size_t i = 0; i < r->dm.pool->n; i++) {
		struct program *g = r->dm.pool->v[i];
		for (size_t j = 0; !g->removing && j < g->nworkers; j++) {
			struct worker *w = &g->workers[j];
			logfile_clear(&w->outlog);
			logfile_clear(&w->errlog);
			xr_push(o->value, group_result(w, FAULT_SUCCESS, "OK"));
		}
	}
}

static void
m_send_stdin(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct program *g;
	struct worker *w;
	const char *name;

	(void)m;
	if (!params_check(o, p, 2, 2) || (name = param_string(o, p, 0)) == NULL ||
	    param_string(o, p, 1) == NULL || lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL)
		fault(o, FAULT_BAD_NAME, "%s", name);
	else if (worker_pid(w) <= 0)
		fault(o, FAULT_NOT_RUNNING, "%s", name);
	else
		fault(o, FAULT_NO_FILE, "%s: leash gives workers /dev/null "
		    "as stdin", name);
}

static void
m_remote_comm_event(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	const char *type, *data;

	(void)m;
	if (!params_check(o, p, 2, 2) || (type = param_string(o, p, 0)) == NULL ||
	    (data = param_string(o, p, 1)) == NULL)
		return;
	events_emit(r->dm.sv->events, EVENT_REMOTE_COMMUNICATION,
	    "type:%s\n%s", type, data);
	o->value = xr_bool(true);
}

/* leash.* */

static void
m_leash_process_info(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct program *g;
	struct worker *w;
	struct worker_view v;
	struct xr_value *info, *reasons, *rate;
	const char *name;

	(void)m;
	if (!params_check(o, p, 1, 1) || (name = param_string(o, p, 0)) == NULL ||
	    lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return;
	}
	worker_view(w, &v);
	info = process_info(&v);
	xr_set(info, "memory_source", xr_string(v.memory_source));
	xr_set(info, "memory_limit", xr_int((long long)v.memory_limit));
	xr_set(info, "memory_max", xr_int((long long)v.memory_max));
	xr_set(info, "memory", xr_int((long long)v.memory));
	xr_set(info, "memory_peak", xr_int((long long)v.memory_peak));
	rate = xr_new(XR_DOUBLE);
	rate->d = v.memory_rate;
	xr_set(info, "memory_rate", rate);
	xr_set(info, "memory_trend", xr_string(v.memory_known ?
	    memory_trend_name(v.trend) : ""));
	xr_set(info, "replace_state", xr_string(replace_state_name(w->rep.state)));
	xr_set(info, "replacement_pid", xr_int(w->rep.candidate ?
	    w->rep.candidate->pid : 0));
	reasons = xr_new(XR_STRUCT);
	for (int k = REASON_EXIT; k < REASON_MAX; k++)
		xr_set(reasons, restart_reason_name(k), xr_int(v.restarts_by[k]));
	xr_set(info, "restarts", reasons);
	xr_set(info, "last_reason", xr_string(v.last_reason == REASON_NONE ? "" :
	    restart_reason_name(v.last_reason)));
	o->value = info;
}

/* Drain-then-replace of one process: its replacement starts, and once it
 * is ready the old one drains.  True once replaced; FAILED when the
 * replacement did not become ready (the old process keeps serving). */
static void
m_leash_reload(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	struct program *g;
	struct worker *w;
	const char *name;

	(void)m;
	if (!params_check(o, p, 1, 1) || (name = param_string(o, p, 0)) == NULL ||
	    !not_shutting_down(r, o) || lookup(r, o, name, &g, &w) != 0)
		return;
	if (w == NULL) {
		fault(o, FAULT_BAD_NAME, "%s", name);
		return;
	}
	if (w->state != WORKER_RUNNING && w->state != WORKER_STARTING) {
		fault(o, FAULT_NOT_RUNNING, "%s", name);
		return;
	}
	/* The reload count, before: it grows when a replacement is ready. */
	wait_add(o, w, WAIT_REPLACED);
	if (worker_replace(w, REASON_RELOAD) != 0) {
		outcome_free(o);
		fault(o, FAULT_FAILED, "%s: a replacement is already under way",
		    name);
		return;
	}
	o->namespec = xstrdup(name);
	supervisor_changed(r->dm.sv);
}

/* system.* */

static method_fn m_list_methods;
static method_fn m_method_help;
static method_fn m_method_signature;
static method_fn m_multicall;

static const struct method methods[] = {
	{ "leash.getProcessInfo", "struct string", "A process's supervisord info with leash's memory, replacement state and restarts by reason", m_leash_process_info, 0, 0, NULL },
	{ "leash.reloadProcess", "boolean string", "Drain-then-replace a process: True once its replacement is ready and the old one drains", m_leash_reload, 0, 0, NULL },
	{ "supervisor.addProcessGroup", "boolean string", "Start the re-read configuration's program NAME", m_add_group, 0, 0, NULL },
	{ "supervisor.clearAllProcessLogs", "array", "Clear every process's log files", m_clear_all_logs, 0, 0, NULL },
	{ "supervisor.clearLog", "boolean", "Clear the main log ([supervisord] logfile)", m_clear_log, 0, 0, NULL },
	{ "supervisor.clearProcessLogs", "boolean string", "Clear a process's stdout and stderr logs", m_clear_process_logs, 0, 0, NULL },
	{ "supervisor.getAPIVersion", "string", "The version of this API", m_api_version, 0, 0, NULL },
	{ "supervisor.getAllConfigInfo", "array", "Every configured process's settings", m_all_config_info, 0, 0, NULL },
	{ "supervisor.getAllProcessInfo", "array", "Info about every process", m_all_process_info, 0, 0, NULL },
	{ "supervisor.getIdentification", "string", "The identifying string", m_identification, 0, 0, NULL },
	{ "supervisor.getPID", "int", "leashd's pid", m_pid, 0, 0, NULL },
	{ "supervisor.getProcessInfo", "struct string", "Info about a process named NAME or GROUP:NAME", m_process_info, 0, 0, NULL },
	{ "supervisor.getState", "struct", "leashd's state: statecode and statename", m_state, 0, 0, NULL },
	{ "supervisor.getSupervisorVersion", "string", "leashd's version", m_supervisor_version, 0, 0, NULL },
	{ "supervisor.getVersion", "string", "The version of this API (deprecated: getAPIVersion)", m_api_version, 0, 0, NULL },
	{ "supervisor.readLog", "string int int", "Read the main log ([supervisord] logfile)", m_read_log, 0, 0, NULL },
	{ "supervisor.readMainLog", "string int int", "Read the main log ([supervisord] logfile)", m_read_log, 0, 0, NULL },
	{ "supervisor.readProcessLog", "string string int int", "Read a process's stdout log (deprecated)", m_read_process_log, 0, 0, "stdout" },
	{ "supervisor.readProcessStderrLog", "string string int int", "Read length bytes of a process's stderr log from offset", m_read_process_log, 0, 0, "stderr" },
	{ "supervisor.readProcessStdoutLog", "string string int int", "Read length bytes of a process's stdout log from offset", m_read_process_log, 0, 0, "stdout" },
	{ "supervisor.reloadConfig", "array", "Re-read the configuration file: [[added, changed, removed]]", m_reload_config, 0, 0, NULL },
	{ "supervisor.removeProcessGroup", "boolean string", "Remove a stopped program", m_remove_group, 0, 0, NULL },
	{ "supervisor.restart", "boolean", "Stop every process and start leashd again", m_restart, 0, 0, NULL },
	{ "supervisor.sendProcessStdin", "boolean string string", "Send characters to a process's stdin", m_send_stdin, 0, 0, NULL },
	{ "supervisor.sendRemoteCommEvent", "boolean string string", "Emit a REMOTE_COMMUNICATION event", m_remote_comm_event, 0, 0, NULL },
	{ "supervisor.shutdown", "boolean", "Stop every process and exit leashd", m_shutdown, 0, 0, NULL },
	{ "supervisor.signalAllProcesses", "array string", "Send a signal to every process", m_act, ACT_SIGNAL, SCOPE_ALL, NULL },
	{ "supervisor.signalProcess", "boolean string string", "Send a signal to a process", m_act, ACT_SIGNAL, SCOPE_ONE, NULL },
	{ "supervisor.signalProcessGroup", "array string string", "Send a signal to every process of a group", m_act, ACT_SIGNAL, SCOPE_GROUP, NULL },
	{ "supervisor.startAllProcesses", "array boolean", "Start every process", m_act, ACT_START, SCOPE_ALL, NULL },
	{ "supervisor.startProcess", "boolean string boolean", "Start a process (and wait until RUNNING)", m_act, ACT_START, SCOPE_ONE, NULL },
	{ "supervisor.startProcessGroup", "array string boolean", "Start every process of a group", m_act, ACT_START, SCOPE_GROUP, NULL },
	{ "supervisor.stopAllProcesses", "array boolean", "Stop every process", m_act, ACT_STOP, SCOPE_ALL, NULL },
	{ "supervisor.stopProcess", "boolean string boolean", "Stop a process (and wait until it is gone)", m_act, ACT_STOP, SCOPE_ONE, NULL },
	{ "supervisor.stopProcessGroup", "array string boolean", "Stop every process of a group", m_act, ACT_STOP, SCOPE_GROUP, NULL },
	{ "supervisor.tailProcessLog", "array string int int", "Tail a process's stdout log (deprecated)", m_tail_process_log, 0, 0, "stdout" },
	{ "supervisor.tailProcessStderrLog", "array string int int", "Tail a process's stderr log: [bytes, offset, overflow]", m_tail_process_log, 0, 0, "stderr" },
	{ "supervisor.tailProcessStdoutLog", "array string int int", "Tail a process's stdout log: [bytes, offset, overflow]", m_tail_process_log, 0, 0, "stdout" },
	{ "system.listMethods", "array", "Every method's name", m_list_methods, 0, 0, NULL },
	{ "system.methodHelp", "string string", "A method's help", m_method_help, 0, 0, NULL },
	{ "system.methodSignature", "array string", "A method's signature: its return type, then its parameters' types", m_method_signature, 0, 0, NULL },
	{ "system.multicall", "array array", "Call each {methodName, params} in order: an array of results or faults", m_multicall, 0, 0, NULL },
};

static const struct method *
method_find(const char *name)
{
	for (size_t i = 0; i < nitems(methods); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

static void
m_list_methods(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	(void)r;
	if (!params_check(o, p, 0, 0))
		return;
	o->value = xr_new(XR_ARRAY);
	for (size_t i = 0; i < nitems(methods); i++)
		xr_push(o->value, xr_string(methods[i].name));
}

static const struct method *
method_param(struct outcome *o, const struct xr_value *p)
{
	const struct method *m;
	const char *name;

	if (!params_check(o, p, 1, 1) || (name = param_string(o, p, 0)) == NULL)
		return NULL;
	if ((m = method_find(name)) == NULL)
		fault(o, FAULT_SIGNATURE_UNSUPPORTED, NULL);
	return m;
}

static void
m_method_help(struct rpc *r, const struct method *self,
    const struct xr_value *p, struct outcome *o)
{
	const struct method *m = method_param(o, p);

	(void)self;
	(void)r;
	if (m != NULL)
		o->value = xr_string(m->help);
}

static void
m_method_signature(struct rpc *r, const struct method *self,
    const struct xr_value *p, struct outcome *o)
{
	const struct method *m = method_param(o, p);
	const char *s, *e;

	(void)self;
	(void)r;
	if (m == NULL)
		return;
	o->value = xr_new(XR_ARRAY);
	for (s = m->signature; *s != '\0'; s = *e ? e + 1 : e) {
		e = strchrnul(s, ' ');
		xr_push(o->value, xr_stringn(s, e - s));
	}
}

/* Handled by call_step; here only so that it is listed and described. */
static void
m_multicall(struct rpc *r, const struct method *m,
    const struct xr_value *p, struct outcome *o)
{
	(void)m;
	(void)r;
	(void)p;
	fault(o, FAULT_INCORRECT_PARAMETERS, "Recursive system.multicall "
	    "forbidden");
}

static void
dispatch(struct rpc *r, const char *name, const struct xr_value *params,
    struct outcome *o)
{
	const struct method *m = method_find(name);

	if (m == NULL) {
		fault(o, FAULT_UNKNOWN_METHOD, NULL);
		return;
	}
	log_debug("rpc", "%s", name);
	m->fn(r, m, params, o);
}

/* Requests. */

static void
call_unlink(struct rpc *r, struct call *c)
{
	for (struct call **pp = &r->calls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void
call_free(struct call *c)
{
	outcome_free(&c->now);
	xr_free(c->params);
	xr_free(c->multi);
	free(c);
}

static void
call_gone(void *arg)
{
	struct call *c = arg;

	call_unlink(c->rpc, c);
	call_free(c);
}

/* A finished outcome as a multicall's result: the value, or a fault struct. */
static struct xr_value *
outcome_take(struct outcome *o)
{
	struct xr_value *v;

	if (o->fault) {
		v = xr_new(XR_STRUCT);
		xr_set(v, "faultCode", xr_int(o->fault));
		xr_set(v, "faultString", xr_string(o->message));
	} else {
		v = o->value;
		o->value = NULL;
	}
	outcome_free(o);
	return v;
}

static void
call_reply(struct call *c)
{
	struct buf b = { 0 };

	if (c->multi != NULL)
		xmlrpc_response(&b, c->multi);
	else if (c->now.fault)
		xmlrpc_fault(&b, c->now.fault, c->now.message);
	else
		xmlrpc_response(&b, c->now.value);
	http_reply(c->req, 200, "text/xml", b.p, b.n);
	buf_reset(&b);
}

/* Runs c as far as it goes now; replies, or leaves it waiting. */
static void
call_step(struct rpc *r, struct call *c)
{
	if (c->now.nwaits > 0 && !outcome_poll(r, &c->now))
		return;
	while (c->multi != NULL) {
		const struct xr_value *one, *name, *params;

		if (c->now.nwaits > 0 || c->now.value != NULL || c->now.fault)
			xr_push(c->multi, outcome_take(&c->now));
		if (c->next_call >= c->calls->n)
			break;
		one = c->calls->v[c->next_call++];
		name = xr_get(one, "methodName");
		params = xr_get(one, "params");
		if (name == NULL || name->type != XR_STRING)
			fault(&c->now, FAULT_INCORRECT_PARAMETERS, "No methodName");
		else if (strcmp(name->s, "system.multicall") == 0)
			fault(&c->now, FAULT_INCORRECT_PARAMETERS,
			    "Recursive system.multicall forbidden");
		else if (params != NULL && params->type != XR_ARRAY)
			fault(&c->now, FAULT_INCORRECT_PARAMETERS, "params must "
			    "be an array");
		else {
			struct xr_value none = { .type = XR_ARRAY };
			dispatch(r, name->s, params ? params : &none, &c->now);
		}
		if (c->now.nwaits > 0 && !outcome_poll(r, &c->now))
			return;
	}
	call_unlink(r, c);
	call_reply(c);
	call_free(c);
}

static void
rpc_call(struct rpc *r, struct http_request *req)
{
	struct call *c = xcalloc(1, sizeof(*c));
	char err[256], *method;
	const char *body;
	size_t len;

	c->rpc = r;
	c->req = req;
	body = http_body(req, &len);
	if (xmlrpc_parse_call(body, len, &method, &c->params, err,
	    sizeof(err)) != 0) {
		struct buf b = { 0 };
		log_debug("rpc", "bad request: %s", err);
		xmlrpc_fault(&b, FAULT_INCORRECT_PARAMETERS, err);
		http_reply(req, 200, "text/xml", b.p, b.n);
		buf_reset(&b);
		call_free(c);
		return;
	}
	if (strcmp(method, "system.multicall") == 0) {
		if (c->params->n != 1 || c->params->v[0]->type != XR_ARRAY)
			fault(&c->now, FAULT_INCORRECT_PARAMETERS, "expected an "
			    "array of calls");
		else {
			c->calls = c->params->v[0];
			c->multi = xr_new(XR_ARRAY);
		}
	} else
		dispatch(r, method, c->params, &c->now);
	free(method);
	c->next = r->calls;
	r->calls = c;
	call_step(r, c);
	/* Still here: it waits for workers. */
	for (struct call *w = r->calls; w != NULL; w = w->next)
		if (w == c)
			http_wait(req, call_gone, c);
}

/* GET /logtail/NAME[/CHANNEL]: the last 1024 bytes, then what follows. */

static void
follower_gone(void *arg)
{
	struct follower *f = arg;
	struct rpc *r = f->rpc;

	for (struct follower **pp = &r->followers; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	free(f);
}

static void
rpc_logtail(struct rpc *r, struct http_request *req, const char *what)
{
	char *name = xstrdup(what), *channel = strchr(name, '/');
	struct outcome o = { 0 };
	struct program *g;
	struct worker *w;
	struct logfile *log;
	struct follower *f;
	struct stat st;
	char data[1024];
	ssize_t got = 0;
	int fd;

	if (channel != NULL)
		*channel++ = '\0';
	if (lookup(r, &o, name, &g, &w) != 0 || w == NULL ||
	    (log = channel_log(w, channel ? channel : "stdout"))->path == NULL ||
	    (fd = open(log->path, O_RDONLY | O_CLOEXEC)) < 0) {
		http_reply(req, 404, "text/plain", "Not Found\n", 10);
		outcome_free(&o);
		free(name);
		return;
	}
	if (fstat(fd, &st) == 0)
		got = pread(fd, data, sizeof(data), st.st_size > (off_t)sizeof(data) ?
		    st.st_size - (off_t)sizeof(data) : 0);
	close(fd);
	http_stream_begin(req, "text/plain;charset=utf-8");
	if (got > 0)
		http_stream_write(req, data, got);
	f = xcalloc(1, sizeof(*f));
	f->rpc = r;
	f->req = req;
	f->log = log;
	f->next = r->followers;
	r->followers = f;
	http_wait(req, follower_gone, f);
	free(name);
}

static void
rpc_output_cb(void *arg, struct logfile *log, const char *data, size_t len)
{
	struct rpc *r = arg;

	for (struct follower *f = r->followers; f != NULL; f = f->next)
		if (f->log == log)
			http_stream_write(f->req, data, len);
}

static void
rpc_output_gone_cb(void *arg, struct logfile *log)
{
	struct rpc *r = arg;

	for (struct follower *f = r->followers; f != NULL; f = f->next) {
		if (f->log == log) {
			f->log = NULL;
			http_stream_end(f->req);
		}
	}
}

static void
rpc_metrics(struct rpc *r, struct http_request *req)
{
	struct buf b = { 0 };

	metrics_render(&r->dm, &b);
	http_reply(req, 200, METRICS_CONTENT_TYPE, b.p, b.n);
	buf_reset(&b);
}

static void
rpc_request(void *arg, struct http_request *req)
{
	struct rpc_server *srv = arg;
	struct rpc *r = srv->rpc;
	const char *m = http_method(req), *path = http_path(req);

	if (strcmp(path, "/metrics") == 0 && strcmp(m, "GET") == 0)
		rpc_metrics(r, req);
	else if (srv->metrics_only)
		http_reply(req, 404, "text/plain", "Not Found\n", 10);
	else if (web_request(&r->dm, req))
		return;		/* the web page (web.c) */
	else if (strcmp(path, "/RPC2") == 0 && strcmp(m, "POST") == 0)
		rpc_call(r, req);
	else if (strncmp(path, "/logtail/", 9) == 0 && strcmp(m, "GET") == 0)
		rpc_logtail(r, req, path + 9);
	else if (strcmp(path, "/RPC2") == 0 || strncmp(path, "/logtail/", 9) == 0)
		http_reply(req, 405, "text/plain", "Method Not Allowed\n", 19);
	else
		http_reply(req, 404, "text/plain", "Not Found\n", 10);
}

/* Opens c as server i of r; -1 with a reason in err. */
static int
rpc_server_open(struct rpc *r, const struct rpc_server_config *c,
    bool metrics_only, char *err, size_t errlen)
{
	struct rpc_server *srv = &r->servers[r->nservers];
	struct http_listen l = {
		.mode = c->sock.mode,
		.owner = c->sock.owner,
		.username = c->username,
		.password = c->password,
	};
	char why[256];

	if (strncmp(c->sock.listen, "unix:", 5) == 0)
		l.unix_path = c->sock.listen + 5;
	else
		l.inet = c->sock.listen + 4;
	srv->rpc = r;
	srv->metrics_only = metrics_only;
	srv->http = http_open(r->dm.sv->loop, &l, rpc_request, srv, why,
	    sizeof(why));
	if (srv->http == NULL) {
		snprintf(err, errlen, "%s:%d: [%s] %s%s", c->sock.file,
		    c->sock.line, c->sock.name, metrics_only ? "metrics: " : "",
		    why);
		return -1;
	}
	r->nservers++;
	if (metrics_only)
		log_info("rpc", "Prometheus metrics on %s/metrics",
		    http_name(srv->http));
	else
		log_info("rpc", "supervisord's XML-RPC on %s%s",
		    http_name(srv->http), c->username ? " (with a password)" : "");
	return 0;
}

int
rpc_open(const struct control_daemon *d, const struct config *cfg,
    struct rpc **out, char *err, size_t errlen)
{
	struct rpc *r;
	struct output_hooks h;

	*out = NULL;
	if (cfg->nrpc == 0 && cfg->metrics == NULL)
		return 0;
	r = xcalloc(1, sizeof(*r));
	r->dm = *d;
	r->servers = xcalloc(cfg->nrpc + 1, sizeof(*r->servers));
	for (size_t i = 0; i < cfg->nrpc; i++)
		if (rpc_server_open(r, cfg->rpc[i], false, err, errlen) != 0) {
			rpc_close(r);
			return -1;
		}
	if (cfg->metrics != NULL &&
	    rpc_server_open(r, cfg->metrics, true, err, errlen) != 0) {
		rpc_close(r);
		return -1;
	}
	h.data = rpc_output_cb;
	h.gone = rpc_output_gone_cb;
	h.arg = r;
	output_add_hooks(&h);
	*out = r;
	return 0;
}

void
rpc_update(struct rpc *r)
{
	struct call *c, *next;

	if (r == NULL)
		return;
	for (c = r->calls; c != NULL; c = next) {
		next = c->next;
		call_step(r, c);
	}
}

void
rpc_close(struct rpc *r)
{
	if (r == NULL)
		return;
	output_remove_hooks(r);
	for (size_t i = 0; i < r->nservers; i++)
		http_close(r->servers[i].http);
	/* Closing the servers said goodbye to every waiting request. */
	while (r->calls != NULL)
		call_gone(r->calls);
	while (r->followers != NULL)
		follower_gone(r->followers);
	free(r->servers);
	free(r);
}
