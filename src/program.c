/*
 * The worker state machine, with supervisord's states and rules:
 *
 *   STOPPED/EXITED/FATAL/BACKOFF --start--> STARTING
 *   STARTING --alive startsecs--> RUNNING
 *   STARTING --exit--> BACKOFF (retry after 1 s, 2 s, 3 s ...) or FATAL
 *                      once startretries failed starts are exceeded
 *   RUNNING --exit--> EXITED, then STARTING again if autorestart says so
 *   STARTING/RUNNING --stop--> STOPPING --tree gone--> STOPPED
 *   STOPPING --stopwaitsecs--> SIGKILL to the whole tree
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leashd.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "program.h"
#include "spawn.h"
#include "util.h"

#define STOP_POLL_INTERVAL 0.05	/* checking that a stopped tree is gone */

static const char *const state_names[] = {
	[WORKER_STOPPED] = "STOPPED",
	[WORKER_STARTING] = "STARTING",
	[WORKER_RUNNING] = "RUNNING",
	[WORKER_BACKOFF] = "BACKOFF",
	[WORKER_STOPPING] = "STOPPING",
	[WORKER_EXITED] = "EXITED",
	[WORKER_FATAL] = "FATAL",
};

static const char *const reason_names[] = {
	[REASON_NONE] = "none",
	[REASON_EXIT] = "exit",
	[REASON_MANUAL] = "manual",
	[REASON_RELOAD] = "reload",
};

const char *
worker_state_name(enum worker_state s)
{
	return state_names[s];
}

const char *
restart_reason_name(enum restart_reason r)
{
	return reason_names[r];
}

static void worker_spawn(struct worker *);

void
worker_set_state(struct worker *w, enum worker_state s)
{
	if (w->state == s)
		return;
	log_info("program", "%s %s -> %s", w->fullname, state_names[w->state],
	    state_names[s]);
	w->state = s;
	leashd_worker_changed(w->prog->d, w);
}

bool
worker_is_down(const struct worker *w)
{
	return w->state == WORKER_STOPPED || w->state == WORKER_EXITED ||
	    w->state == WORKER_FATAL;
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

static void
describe_status(int status, char *buf, size_t len)
{
	char sb[16];

	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "terminated by SIG%s%s",
		    signal_name(WTERMSIG(status), sb),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "status 0x%x", status);
}

/* The pids of w's tree now; root is w->pid, or the group of a dead pid. */
static size_t
worker_tree(struct worker *w, pid_t root, pid_t **pids)
{
	struct proc_table t = { 0 };
	size_t n;

	proc_scan(&t);
	n = proc_tree(&t, w->prog->d->self, root, w->token, pids);
	proc_table_free(&t);
	return n;
}

static void
worker_arm(struct worker *w, double after)
{
	struct ev_loop *loop = w->prog->d->loop;

	ev_timer_stop(loop, &w->timer);
	ev_timer_set(&w->timer, after, 0.);
	ev_timer_start(loop, &w->timer);
}

static void
worker_disarm(struct worker *w)
{
	ev_timer_stop(w->prog->d->loop, &w->timer);
}

/* A set of variables applied in order: a later KEY= replaces an earlier. */
static void
env_set(struct strv *v, char *owned)
{
	size_t klen = strcspn(owned, "=");

	for (size_t i = 0; i < v->n; i++) {
		if (strncmp(v->v[i], owned, klen) == 0 && v->v[i][klen] == '=') {
			free(v->v[i]);
			v->v[i] = owned;
			return;
		}
	}
	strv_push(v, owned);
}

/* Variables that describe leashd's own supervisor, not the worker's. */
static bool
env_is_private(const char *e)
{
	static const char *const names[] = {
		"NOTIFY_SOCKET=", "LISTEN_PID=", "LISTEN_FDS=",
		"LISTEN_FDNAMES=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
		"LEASH_", "SUPERVISOR_",
	};

	for (size_t i = 0; i < nitems(names); i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

static char **
worker_env(struct worker *w, const struct passwd *pw)
{
	extern char **environ;
	const struct program_config *cfg = w->prog->cfg;
	struct strv v = { 0 };

	for (char **e = environ; *e != NULL; e++)
		if (!env_is_private(*e))
			strv_push(&v, xstrdup(*e));
	if (pw != NULL) {
		env_set(&v, xasprintf("HOME=%s", pw->pw_dir));
		env_set(&v, xasprintf("USER=%s", pw->pw_name));
		env_set(&v, xasprintf("LOGNAME=%s", pw->pw_name));
		env_set(&v, xasprintf("SHELL=%s", pw->pw_shell));
	}
	strv_push(&v, xstrdup("SUPERVISOR_ENABLED=1"));
	strv_push(&v, xasprintf("SUPERVISOR_PROCESS_NAME=%s", w->pc->name));
	strv_push(&v, xasprintf("SUPERVISOR_GROUP_NAME=%s", cfg->name));
	strv_push(&v, xasprintf("LEASH_PROGRAM_NAME=%s", cfg->name));
	strv_push(&v, xasprintf("LEASH_PROCESS_NAME=%s", w->pc->name));
	strv_push(&v, xasprintf("LEASH_PROCESS_NUM=%ld", w->pc->num));
	strv_push(&v, xasprintf("LEASH_WORKER_TOKEN=%s", w->token));
	for (char **e = w->pc->env; e != NULL && *e != NULL; e++)
		env_set(&v, xstrdup(*e));
	return v.v;
}

static void worker_child_cb(struct ev_loop *, ev_child *, int);

/* Handles a start that failed before exec as an immediate exit. */
static void
worker_spawn_failed(struct worker *w, const char *err)
{
	free(w->spawn_error);
	w->spawn_error = xstrdup(err);
	log_warnx("program", "%s: spawn error: %s", w->fullname, err);
	w->last_status = 127 << 8;
	w->backoff++;
	if (w->backoff > w->prog->cfg->startretries) {
		worker_set_state(w, WORKER_FATAL);
		log_warnx("program", "%s gave up: entered FATAL state, too many "
		    "start retries too quickly", w->fullname);
	} else {
		worker_set_state(w, WORKER_BACKOFF);
		worker_arm(w, (double)w->backoff);
	}
}

static void
worker_spawn(struct worker *w)
{
	struct leashd *d = w->prog->d;
	const struct program_config *cfg = w->prog->cfg;
	struct spawn_request r = { .umask = cfg->umask, .stdout_fd = -1,
	    .stderr_fd = -1 };
	struct passwd *pw = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	char err[512], **envp;
	pid_t pid;

	worker_disarm(w);
	w->main_exited = false;
	snprintf(w->token, sizeof(w->token), "%d-%lu", (int)d->self, ++d->spawns);
	if (w->next_reason != REASON_NONE) {
		w->restarts[w->next_reason]++;
		w->last_reason = w->next_reason;
		w->next_reason = REASON_NONE;
	}
	worker_set_state(w, WORKER_STARTING);

	if (cfg->user != NULL) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, sizeof(err), "no such user %s", cfg->user);
			worker_spawn_failed(w, err);
			return;
		}
		if (geteuid() != 0 && pw->pw_uid != geteuid()) {
			snprintf(err, sizeof(err), "cannot run as user %s: "
			    "leashd is not running as root", cfg->user);
			worker_spawn_failed(w, err);
			return;
		}
		r.user = pw->pw_name;
		r.uid = pw->pw_uid;
		r.gid = pw->pw_gid;
	}
	if (w->out.log.path != NULL && pipe2(outp, O_CLOEXEC) != 0)
		log_warn("program", "%s: stdout pipe", w->fullname);
	if (!cfg->redirect_stderr && w->err.log.path != NULL &&
	    pipe2(errp, O_CLOEXEC) != 0)
		log_warn("program", "%s: stderr pipe", w->fullname);
	r.stdout_fd = outp[1];
	r.stderr_fd = cfg->redirect_stderr ? outp[1] : errp[1];
	r.argv = w->pc->argv;
	r.directory = w->pc->directory;
	r.envp = envp = worker_env(w, pw);

	pid = spawn(&r, err, sizeof(err));
	strv_free_array(envp);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (pid < 0) {
		if (outp[0] >= 0)
			close(outp[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		worker_spawn_failed(w, err);
		return;
	}
	free(w->spawn_error);
	w->spawn_error = NULL;
	w->pid = w->last_pid = pid;
	w->start_time = ev_now(d->loop);
	if (outp[0] >= 0)
		output_attach(&w->out, outp[0]);
	if (errp[0] >= 0)
		output_attach(&w->err, errp[0]);
	ev_child_set(&w->child, pid, 0);
	ev_child_start(d->loop, &w->child);
	log_info("program", "%s spawned with pid %d", w->fullname, (int)pid);
	if (cfg->startsecs <= 0) {
		w->backoff = 0;
		worker_set_state(w, WORKER_RUNNING);
	} else
		worker_arm(w, cfg->startsecs);
}

/* Sends sig to w's process group (or only to w when !group) and to the
 * members of its tree that left the group. */
static void
worker_signal_tree(struct worker *w, int sig, bool group)
{
	pid_t *pids;
	size_t n;

	if (w->pid > 0)
		kill(group ? -w->pid : w->pid, sig);
	if (!group)
		return;
	n = worker_tree(w, w->pid > 0 ? w->pid : w->last_pid, &pids);
	proc_kill_all(pids, n, sig);
	free(pids);
}

/* The last step of a stop: the pid is gone; is its tree gone too? */
static void
worker_check_stopped(struct worker *w)
{
	pid_t *pids;
	size_t n = worker_tree(w, w->last_pid, &pids);

	free(pids);
	if (n == 0) {
		worker_disarm(w);
		worker_set_state(w, WORKER_STOPPED);
		if (w->want == WANT_UP)
			worker_spawn(w);
		return;
	}
	worker_arm(w, STOP_POLL_INTERVAL);
}

static void
worker_child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	struct worker *w = container_of(c, struct worker, child);
	const struct program_config *cfg = w->prog->cfg;
	enum worker_state next;
	char how[96];
	pid_t *pids;
	size_t n;
	bool expected;

	(void)revents;
	ev_child_stop(loop, c);
	w->last_status = c->rstatus;
	w->pid = 0;
	output_detach(&w->out);
	output_detach(&w->err);
	describe_status(c->rstatus, how, sizeof(how));
	expected = exited_as_expected(cfg, c->rstatus);

	if (w->state == WORKER_STOPPING) {
		log_info("program", "%s stopped (%s)", w->fullname, how);
		w->main_exited = true;
		worker_check_stopped(w);
		return;
	}

	log_info("program", "%s exited: %s (%s)", w->fullname, how,
	    w->state == WORKER_RUNNING && expected ? "expected" : "not expected");
	/* What the worker left behind must not outlive it. */
	n = worker_tree(w, w->last_pid, &pids);
	if (n > 0)
		leashd_add_strays(w->prog->d, pids, n, cfg->stopsignal,
		    cfg->stopwaitsecs);
	free(pids);

	next = worker_next_on_exit(cfg, w->state, c->rstatus, w->backoff,
	    w->want == WANT_UP);
	worker_disarm(w);
	switch (next) {
	case WORKER_BACKOFF:
		w->backoff++;
		worker_set_state(w, WORKER_BACKOFF);
		worker_arm(w, (double)w->backoff);
		break;
	case WORKER_FATAL:
		w->backoff++;
		worker_set_state(w, WORKER_FATAL);
		log_warnx("program", "%s gave up: entered FATAL state, too many "
		    "start retries too quickly", w->fullname);
		break;
	case WORKER_STARTING:
		worker_set_state(w, WORKER_EXITED);
		w->next_reason = REASON_EXIT;
		w->backoff = 0;
		worker_spawn(w);
		break;
	default:
		worker_set_state(w, next);
		break;
	}
}

static void
worker_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, timer);

	(void)revents;
	switch (w->state) {
	case WORKER_STARTING:
		w->backoff = 0;
		worker_set_state(w, WORKER_RUNNING);
		break;
	case WORKER_BACKOFF:
		worker_spawn(w);
		break;
	case WORKER_STOPPING:
		if (ev_now(loop) >= w->stop_deadline && w->stop_deadline > 0) {
			log_warnx("program", "%s: %s still alive %.1f s after "
			    "the stop signal: SIGKILL to the whole tree",
			    w->fullname, w->main_exited ? "processes it started "
			    "are" : "it is", w->prog->cfg->stopwaitsecs);
			w->stop_deadline = 0;
			worker_signal_tree(w, SIGKILL, true);
		}
		if (w->main_exited)
			worker_check_stopped(w);
		else if (w->stop_deadline > 0)
			worker_arm(w, w->stop_deadline - ev_now(loop));
		break;
	default:
		break;
	}
}

void
worker_start(struct worker *w, enum restart_reason reason)
{
	w->want = WANT_UP;
	switch (w->state) {
	case WORKER_BACKOFF:
	case WORKER_STOPPED:
	case WORKER_EXITED:
	case WORKER_FATAL:
		w->backoff = 0;
		w->next_reason = reason;
		worker_spawn(w);
		break;
	case WORKER_STOPPING:
		/* Started again once the stop completes. */
		w->next_reason = reason;
		break;
	default:
		break;
	}
}

void
worker_stop(struct worker *w)
{
	const struct program_config *cfg = w->prog->cfg;
	char sb[16];

	w->want = WANT_DOWN;
	switch (w->state) {
	case WORKER_STARTING:
	case WORKER_RUNNING:
		log_info("program", "%s: sending SIG%s (pid %d)", w->fullname,
		    signal_name(cfg->stopsignal, sb), (int)w->pid);
		worker_signal_tree(w, cfg->stopsignal, cfg->stopasgroup);
		worker_set_state(w, WORKER_STOPPING);
		w->stop_deadline = ev_now(w->prog->d->loop) + cfg->stopwaitsecs;
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

struct program *
program_new(struct leashd *d, struct program_config *cfg)
{
	struct program *p = xcalloc(1, sizeof(*p));

	p->d = d;
	p->cfg = cfg;
	p->nworkers = cfg->numprocs;
	p->workers = xcalloc(p->nworkers, sizeof(*p->workers));
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		w->prog = p;
		w->pc = &cfg->procs[i];
		w->fullname = xasprintf("%s:%s", cfg->name, w->pc->name);
		w->state = WORKER_STOPPED;
		w->want = WANT_DOWN;
		output_init(&w->out, w->fullname, w->pc->out.path,
		    w->pc->out.maxbytes, w->pc->out.backups);
		output_init(&w->err, w->fullname, w->pc->err.path,
		    w->pc->err.maxbytes, w->pc->err.backups);
		ev_timer_init(&w->timer, worker_timer_cb, 0., 0.);
		ev_child_init(&w->child, worker_child_cb, 0, 0);
	}
	return p;
}

void
program_free(struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		ev_timer_stop(p->d->loop, &w->timer);
		ev_child_stop(p->d->loop, &w->child);
		output_free(&w->out);
		output_free(&w->err);
		free(w->spawn_error);
		free(w->fullname);
	}
	free(p->workers);
	free(p);
}

void
program_start(struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++)
		worker_start(&p->workers[i], REASON_NONE);
}

void
program_stop(struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++)
		worker_stop(&p->workers[i]);
}

bool
program_is_down(const struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++)
		if (!worker_is_down(&p->workers[i]))
			return false;
	return true;
}
