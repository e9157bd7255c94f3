/*
 * The worker state machine, with supervisord's states and rules:
 *
 *   STOPPED/EXITED/FATAL/BACKOFF --start--> STARTING
 *   STARTING --ready (alive startsecs)--> RUNNING
 *   STARTING --exit--> BACKOFF (retry after 1 s, 2 s, 3 s ...) or FATAL
 *                      once startretries failed starts are exceeded
 *   RUNNING --exit--> EXITED, then STARTING again if autorestart says so
 *   STARTING/RUNNING --stop--> STOPPING --tree gone--> STOPPED
 *   STOPPING --stopwaitsecs--> SIGKILL to the whole tree
 *
 * and, beside it, drain-then-replace of a RUNNING worker: a candidate
 * instance starts; once it is ready it becomes the main instance and the
 * old one is sent drain_signal, then SIGKILL after drain_timeout.  A
 * candidate that fails leaves the old one serving; the slot backs off.
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

#include "cgroup.h"
#include "leashd.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "program.h"
#include "sockets.h"
#include "spawn.h"
#include "notify.h"
#include "systemd.h"
#include <systemd/sd-journal.h>
#include <syslog.h>
#include "util.h"

#define TREE_POLL_INTERVAL 0.05	/* checking that a stopped tree is gone */
#define REPLACE_BACKOFF_MAX 60.0
#define HARD_LIMIT_MARGIN (16u << 20)
#define THRESHOLD_ARM 50	/* % of memory_limit: then watch for the crossing */

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
	[REASON_MEMORY] = "memory",
	[REASON_MEMORY_MAX] = "memory_max",
	[REASON_WATCHDOG] = "watchdog",
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
static void worker_check_stopped(struct worker *);
static void instance_child_cb(struct ev_loop *, ev_child *, int);
static void instance_timer_cb(struct ev_loop *, ev_timer *, int);

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

bool
worker_replacing(const struct worker *w)
{
	return w->candidate != NULL || w->ndraining > 0;
}

pid_t
worker_pid(const struct worker *w)
{
	return w->main != NULL ? w->main->pid : 0;
}

unsigned long
worker_restarts(const struct worker *w)
{
	unsigned long n = 0;

	for (int r = 0; r < REASON_MAX; r++)
		n += w->restarts[r];
	return n;
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

static void
timer_arm(struct ev_loop *loop, ev_timer *t, double after)
{
	ev_timer_stop(loop, t);
	ev_timer_set(t, after > 0 ? after : 0., 0.);
	ev_timer_start(loop, t);
}

static void
worker_arm(struct worker *w, double after)
{
	timer_arm(w->prog->d->loop, &w->timer, after);
}

static void
worker_disarm(struct worker *w)
{
	ev_timer_stop(w->prog->d->loop, &w->timer);
}

/* Instances. */

/*
 * Every process of an instance's tree: its cgroup's members when it has
 * one (exact), else its process group, descendants and the orphans that
 * carry its token.  table may be NULL: then this loop iteration's scan
 * of /proc is used (stopping a thousand workers scans /proc once).
 */
static size_t
instance_tree(struct instance *in, const struct proc_table *table,
    const pid_t *known, size_t nknown, pid_t **pids)
{
	ssize_t n;

	if (in->cgroup != NULL) {
		n = cgroup_pids(in->cgroup, pids);
		if (n >= 0)
			return (size_t)n;
		free(*pids);
	}
	if (table == NULL)
		table = leashd_proc_table(in->w->prog->d);
	n = proc_tree(table, in->w->prog->d->self, in->pgid, in->token, known,
	    nknown, pids);
	return (size_t)n;
}

/* sig to the instance's process group (or only its pid when !group) and
 * to every member of its tree that left the group. */
static void
instance_signal(struct instance *in, int sig, bool group)
{
	pid_t *pids;
	size_t n;

	if (in->pid > 0)
		kill(group ? -in->pid : in->pid, sig);
	if (!group)
		return;
	if (sig == SIGKILL && in->cgroup != NULL)
		cgroup_kill(&in->w->prog->d->cg, in->cgroup);
	n = instance_tree(in, NULL, NULL, 0, &pids);
	proc_kill_all(pids, n, sig);
	free(pids);
}

static bool
instance_tree_empty(struct instance *in)
{
	pid_t *pids;
	size_t n = instance_tree(in, NULL, NULL, 0, &pids);

	free(pids);
	return n == 0;
}

static void worker_sample_now(struct worker *);

static void
threshold_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct instance *in = container_of(io, struct instance, threshold);
	uint64_t count;

	(void)revents;
	if (read(io->fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		ev_io_stop(loop, io);
		return;
	}
	log_debug("memory", "%s: pid %d crossed memory_limit (kernel event)",
	    in->w->fullname, (int)in->pid);
	worker_sample_now(in->w);
}

/* Everything but the process: watchers, pipes, cgroup.  The tree must be
 * gone (or left to the strays list) before this. */
static void
instance_destroy(struct instance *in)
{
	struct leashd *d = in->w->prog->d;

	ev_child_stop(d->loop, &in->child);
	ev_timer_stop(d->loop, &in->timer);
	if (ev_is_active(&in->threshold) || in->threshold.fd >= 0) {
		ev_io_stop(d->loop, &in->threshold);
		if (in->threshold.fd >= 0)
			close(in->threshold.fd);
	}
	output_detach(&in->out);
	output_detach(&in->err);
	if (in->cgroup != NULL) {
		leashd_remove_cgroup(d, in->cgroup);
		free(in->cgroup);
	}
	free(in->status_text);
	free(in);
}

/* A variable set applied in order: a later KEY= replaces an earlier. */
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
instance_env(struct instance *in, const struct passwd *pw)
{
	extern char **environ;
	struct worker *w = in->w;
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
	strv_push(&v, xasprintf("LEASH_WORKER_TOKEN=%s", in->token));
	if (w->prog->d->notify != NULL)
		strv_push(&v, xasprintf("NOTIFY_SOCKET=%s",
		    notify_socket_name(w->prog->d->notify)));
	if (cfg->watchdog_sec > 0) {
		strv_push(&v, xasprintf("WATCHDOG_USEC=%llu",
		    (unsigned long long)(cfg->watchdog_sec * 1e6)));
		strv_push(&v, xstrdup("WATCHDOG_PID=0"));	/* set in the child */
	}
	if (cfg->socket_names != NULL && cfg->socket_names[0] != NULL) {
		struct buf names = { 0 };
		size_t n = 0;
		for (char **s = cfg->socket_names; *s != NULL; s++, n++)
			buf_printf(&names, "%s%s", n ? ":" : "", *s);
		strv_push(&v, xasprintf("LISTEN_FDS=%zu", n));
		strv_push(&v, xstrdup("LISTEN_PID=0"));		/* set in the child */
		strv_push(&v, xasprintf("LISTEN_FDNAMES=%s", names.p));
		buf_reset(&names);
	}
	for (char **e = w->pc->env; e != NULL && *e != NULL; e++)
		env_set(&v, xstrdup(*e));
	return v.v;
}

/* Puts a fresh instance in its own cgroup, with the kernel's help for
 * memory_limit (threshold event) and memory_max (hard limit). */
static void
instance_cgroup(struct instance *in)
{
	struct leashd *d = in->w->prog->d;
	const struct program_config *cfg = in->w->prog->cfg;
	char name[64];
	uint64_t hard;

	if (!d->cg_usable)
		return;
	snprintf(name, sizeof(name), "leash-%s", in->token);
	if ((in->cgroup = cgroup_create(&d->cg, name)) == NULL) {
		log_warn("cgroup", "%s: cannot create cgroup %s in %s",
		    in->w->fullname, name, d->cg.base);
		return;
	}
	if (cfg->memory_max > 0) {
		/* A backstop only: leash acts first, at memory_max. */
		hard = cfg->memory_max + (cfg->memory_max / 8 > HARD_LIMIT_MARGIN ?
		    cfg->memory_max / 8 : HARD_LIMIT_MARGIN);
		if (cgroup_set_limit(&d->cg, in->cgroup, hard) != 0)
			log_warn("cgroup", "%s: cannot set the hard limit",
			    in->w->fullname);
	}
}

/*
 * Asks the kernel (cgroup v1) to say when the instance crosses
 * memory_limit.  Registering costs the kernel an RCU grace period (tens of
 * milliseconds, with the loop blocked), so it is done only for a process
 * that has come within THRESHOLD_ARM of its limit: the idle majority
 * never pays, and a leak is still seen the moment it crosses.
 */
static void
instance_arm_threshold(struct instance *in, uint64_t bytes)
{
	struct leashd *d = in->w->prog->d;
	uint64_t limit = in->w->prog->cfg->memory_limit;
	int efd;

	if (in->threshold_armed || in->cgroup == NULL || limit == 0 ||
	    d->cg.version != CGROUP_V1 || bytes < limit / 100 * THRESHOLD_ARM)
		return;
	in->threshold_armed = true;
	if ((efd = cgroup_threshold_eventfd(&d->cg, in->cgroup, limit)) < 0)
		return;
	ev_io_set(&in->threshold, efd, EV_READ);
	ev_io_start(d->loop, &in->threshold);
}

/* A journal stream named after the program, or -1 (then its log file). */
static int
worker_journal(struct worker *w, int priority)
{
	int fd = sd_journal_stream_fd(w->prog->cfg->name, priority, 0);

	unsigned bit = priority == LOG_INFO ? 1 : 2;

	if (fd < 0) {
		if (!(w->journal_warned & bit))
			log_warnx("program", "%s: no journal to write to (%s); "
			    "output goes to %s", w->fullname, strerror(-fd),
			    priority == LOG_INFO ? w->outlog.path : w->errlog.path);
		w->journal_warned |= bit;
		return -1;
	}
	return fd;
}

/*
 * Starts one process for w.  Returns the instance, or NULL with the
 * reason in w->spawn_error.
 */
static struct instance *
instance_spawn(struct worker *w, enum instance_role role)
{
	struct leashd *d = w->prog->d;
	const struct program_config *cfg = w->prog->cfg;
	struct spawn_request r = { .umask = cfg->umask, .stdout_fd = -1,
	    .stderr_fd = -1 };
	struct instance *in = xcalloc(1, sizeof(*in));
	struct passwd *pw = NULL;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, fds[64];
	int jout = -1, jerr = -1;
	char err[512], **envp, *procs = NULL;
	size_t nfds = 0;
	pid_t pid;

	in->w = w;
	in->role = role;
	in->out.fd = in->err.fd = -1;
	snprintf(in->token, sizeof(in->token), "%d-%lu", (int)d->self,
	    ++d->spawns);
	ev_child_init(&in->child, instance_child_cb, 0, 0);
	ev_timer_init(&in->timer, instance_timer_cb, 0., 0.);
	ev_io_init(&in->threshold, threshold_cb, -1, EV_READ);

	free(w->spawn_error);
	w->spawn_error = NULL;
	if (cfg->user != NULL) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, sizeof(err), "no such user %s", cfg->user);
			goto fail;
		}
		if (geteuid() != 0 && pw->pw_uid != geteuid()) {
			snprintf(err, sizeof(err), "cannot run as user %s: "
			    "leashd is not running as root", cfg->user);
			goto fail;
		}
		r.user = pw->pw_name;
		r.uid = pw->pw_uid;
		r.gid = pw->pw_gid;
	}
	instance_cgroup(in);
	if (in->cgroup != NULL)
		r.cgroup_procs = procs = cgroup_procs_file(in->cgroup);
	for (char **n = cfg->socket_names; n != NULL && *n != NULL &&
	    nfds < nitems(fds); n++) {
		if ((fds[nfds] = listeners_fd(&d->listeners, *n)) < 0) {
			snprintf(err, sizeof(err), "socket %s is not bound", *n);
			goto fail;
		}
		nfds++;
	}
	r.fds = fds;
	r.nfds = nfds;
	r.pid_vars = nfds > 0 || cfg->watchdog_sec > 0;
	if (w->pc->out.journal)
		jout = worker_journal(w, LOG_INFO);
	if (w->pc->err.journal && !cfg->redirect_stderr)
		jerr = worker_journal(w, LOG_ERR);
	if (jout < 0 && w->outlog.path != NULL && pipe2(outp, O_CLOEXEC) != 0)
		log_warn("program", "%s: stdout pipe", w->fullname);
	if (jerr < 0 && !cfg->redirect_stderr && w->errlog.path != NULL &&
	    pipe2(errp, O_CLOEXEC) != 0)
		log_warn("program", "%s: stderr pipe", w->fullname);
	r.stdout_fd = jout >= 0 ? jout : outp[1];
	r.stderr_fd = cfg->redirect_stderr ? r.stdout_fd :
	    jerr >= 0 ? jerr : errp[1];
	r.argv = w->pc->argv;
	r.directory = w->pc->directory;
	r.envp = envp = instance_env(in, pw);

	pid = spawn(&r, err, sizeof(err));
	/* A spawn waits for the child's exec; the loop's cached time would
	 * otherwise lag through a pass that starts a thousand of them. */
	ev_now_update(d->loop);
	strv_free_array(envp);
	free(procs);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (jout >= 0)
		close(jout);
	if (jerr >= 0)
		close(jerr);
	if (pid < 0) {
		if (outp[0] >= 0)
			close(outp[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		goto fail;
	}
	in->pid = in->pgid = w->last_pid = pid;
	in->start_time = in->last_ping = ev_now(d->loop);
	if (outp[0] >= 0)
		output_attach(&in->out, &w->outlog, outp[0]);
	if (errp[0] >= 0)
		output_attach(&in->err, &w->errlog, errp[0]);
	ev_child_set(&in->child, pid, 0);
	ev_child_start(d->loop, &in->child);
	log_info("program", "%s spawned with pid %d%s", w->fullname, (int)pid,
	    role == ROLE_CANDIDATE ? " (replacement)" : "");
	return in;
fail:
	w->spawn_error = xstrdup(err);
	log_warnx("program", "%s: spawn error: %s", w->fullname, err);
	instance_destroy(in);
	return NULL;
}

/*
 * Asks an instance to finish and exit with sig; SIGKILL to its whole tree
 * after timeout.  It is tracked on the worker's draining list until its
 * tree is gone.
 */
static void
instance_drain(struct instance *in, int sig, double timeout)
{
	struct worker *w = in->w;
	char sb[16];

	in->role = ROLE_DRAINING;
	w->draining = xrealloc(w->draining,
	    (w->ndraining + 1) * sizeof(*w->draining));
	w->draining[w->ndraining++] = in;
	in->drain_signal = sig;
	if (in->pid > 0 && sig == SIGKILL)
		log_info("program", "%s: killing pid %d", w->fullname,
		    (int)in->pid);
	else if (in->pid > 0)
		log_info("program", "%s: draining pid %d with SIG%s (SIGKILL in "
		    "%.1f s)", w->fullname, (int)in->pid, signal_name(sig, sb),
		    timeout);
	instance_signal(in, sig, true);
	in->deadline = ev_now(w->prog->d->loop) + timeout;
	timer_arm(w->prog->d->loop, &in->timer, timeout);
}

static void
draining_remove(struct worker *w, struct instance *in)
{
	for (size_t i = 0; i < w->ndraining; i++) {
		if (w->draining[i] == in) {
			w->draining[i] = w->draining[--w->ndraining];
			break;
		}
	}
	instance_destroy(in);
	leashd_worker_changed(w->prog->d, w);
	if (w->state == WORKER_STOPPING)
		worker_check_stopped(w);
}

/* A draining instance's tree is gone: forget it; else look again soon. */
static void
draining_check(struct instance *in)
{
	if (in->pid == 0 && instance_tree_empty(in)) {
		draining_remove(in->w, in);
		return;
	}
	if (in->pid == 0 || in->deadline > 0) {
		double left = in->deadline > 0 ?
		    in->deadline - ev_now(in->w->prog->d->loop) : 0;
		if (in->pid == 0 && (left <= 0 || left > TREE_POLL_INTERVAL))
			left = TREE_POLL_INTERVAL;
		timer_arm(in->w->prog->d->loop, &in->timer, left);
	}
}

/* Leftovers of an instance that exited on its own must not outlive it. */
static void
instance_leftovers(struct instance *in)
{
	const struct program_config *cfg = in->w->prog->cfg;
	pid_t *pids;
	size_t n = instance_tree(in, NULL, NULL, 0, &pids);

	if (n > 0)
		leashd_add_strays(in->w->prog->d, pids, n, cfg->stopsignal,
		    cfg->stopwaitsecs);
	free(pids);
}

/* Starting the main instance: the worker enters STARTING. */
static void
worker_spawn_failed(struct worker *w)
{
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
	const struct program_config *cfg = w->prog->cfg;

	worker_disarm(w);
	if (w->next_reason != REASON_NONE) {
		w->restarts[w->next_reason]++;
		w->last_reason = w->next_reason;
		w->next_reason = REASON_NONE;
	}
	w->footprint_over = false;
	worker_set_state(w, WORKER_STARTING);
	if ((w->main = instance_spawn(w, ROLE_MAIN)) == NULL) {
		worker_spawn_failed(w);
		return;
	}
	if (cfg->ready == READY_NOTIFY)
		worker_arm(w, cfg->ready_timeout);
	else if (cfg->startsecs <= 0) {
		w->backoff = 0;
		worker_set_state(w, WORKER_RUNNING);
	} else
		worker_arm(w, cfg->startsecs);
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
	if (w->candidate != NULL || w->ndraining > 0)
		return;		/* they report when they are gone */
	worker_disarm(w);
	worker_set_state(w, WORKER_STOPPED);
	if (w->want == WANT_UP)
		worker_spawn(w);
}

/* The main instance exited. */
static void
worker_main_exited(struct worker *w, int status)
{
	const struct program_config *cfg = w->prog->cfg;
	struct instance *in = w->main;
	enum worker_state next;
	char how[96];
	bool expected, force = w->force_restart;

	w->last_status = status;
	describe_status(status, how, sizeof(how));
	expected = exited_as_expected(cfg, status);

	if (w->state == WORKER_STOPPING) {
		log_info("program", "%s stopped (%s)", w->fullname, how);
		worker_check_stopped(w);
		return;
	}

	log_info("program", "%s exited: %s (%s)", w->fullname, how,
	    force ? "killed by leash" : w->state == WORKER_RUNNING && expected ?
	    "expected" : "not expected");
	instance_leftovers(in);
	instance_destroy(in);
	w->main = NULL;
	w->force_restart = false;
	/* A replacement in flight started for a process that is gone. */
	if (w->candidate != NULL) {
		struct instance *c = w->candidate;
		w->candidate = NULL;
		instance_drain(c, SIGKILL, 0);
	}

	next = worker_next_on_exit(cfg, w->state, status, w->backoff,
	    w->want == WANT_UP);
	if (force && w->want == WANT_UP && w->state == WORKER_RUNNING)
		next = WORKER_STARTING;
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

/* Replacing. */

/* 1 s, 2 s, 3 s ... after each failure in a row, at most a minute. */
static double
replace_delay(const struct worker *w)
{
	double delay = (double)w->replace_failures;

	return delay > REPLACE_BACKOFF_MAX ? REPLACE_BACKOFF_MAX : delay;
}

static void
replace_failed(struct worker *w, const char *why)
{
	double delay;

	w->replace_failures++;
	delay = replace_delay(w);
	w->replace_not_before = ev_now(w->prog->d->loop) + delay;
	log_warnx("program", "%s: replacement failed (%s); pid %d keeps "
	    "serving, next attempt in %.0f s", w->fullname, why,
	    (int)worker_pid(w), delay);
	leashd_worker_changed(w->prog->d, w);
}

static uint64_t instance_sample(struct instance *, const struct proc_table *,
    const pid_t *, size_t);

/* The candidate is ready: it takes over and the old main drains. */
static void
replace_ready(struct worker *w)
{
	const struct program_config *cfg = w->prog->cfg;
	struct instance *c = w->candidate, *old = w->main;
	char a[16], b[16], why[96];
	uint64_t bytes;

	ev_timer_stop(w->prog->d->loop, &c->timer);
	if (cfg->memory_limit > 0 &&
	    (bytes = instance_sample(c, NULL, NULL, 0)) > cfg->memory_limit) {
		snprintf(why, sizeof(why), "its footprint %s already exceeds "
		    "memory_limit %s", memory_human(bytes, a),
		    memory_human(cfg->memory_limit, b));
		w->candidate = NULL;
		instance_drain(c, SIGKILL, 0);
		replace_failed(w, why);
		return;
	}
	w->candidate = NULL;
	c->role = ROLE_MAIN;
	c->judged = true;	/* its footprint was checked just above */
	c->last_ping = ev_now(w->prog->d->loop);
	w->main = c;
	if (w->replace_reason == REASON_MEMORY)
		systemd_count_memory_restart(&w->prog->d->sd);
	w->restarts[w->replace_reason]++;
	w->last_reason = w->replace_reason;
	w->replace_failures = 0;
	w->footprint_over = false;
	log_info("program", "%s: replacement pid %d is ready (%s)", w->fullname,
	    (int)c->pid, restart_reason_name(w->replace_reason));
	if (old != NULL)
		instance_drain(old, cfg->drain_signal, cfg->drain_timeout);
	leashd_worker_changed(w->prog->d, w);
}

int
worker_replace(struct worker *w, enum restart_reason reason)
{
	const struct program_config *cfg = w->prog->cfg;
	struct instance *c;

	if (w->state != WORKER_RUNNING || w->main == NULL ||
	    w->candidate != NULL)
		return -1;
	log_info("program", "%s: replacing pid %d (%s): starting its "
	    "replacement first", w->fullname, (int)w->main->pid,
	    restart_reason_name(reason));
	w->replace_reason = reason;
	if ((c = instance_spawn(w, ROLE_CANDIDATE)) == NULL) {
		replace_failed(w, w->spawn_error);
		return 0;
	}
	w->candidate = c;
	/* ready = notify: the candidate's READY=1 calls replace_ready. */
	timer_arm(w->prog->d->loop, &c->timer, cfg->ready == READY_NOTIFY ?
	    cfg->ready_timeout : cfg->startsecs);
	leashd_worker_changed(w->prog->d, w);
	return 0;
}

static void
instance_child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	struct instance *in = container_of(c, struct instance, child);
	struct worker *w = in->w;
	char how[96];

	(void)revents;
	ev_child_stop(loop, c);
	in->pid = 0;
	in->status = c->rstatus;
	output_detach(&in->out);
	output_detach(&in->err);
	switch (in->role) {
	case ROLE_MAIN:
		worker_main_exited(w, c->rstatus);
		break;
	case ROLE_CANDIDATE:
		describe_status(c->rstatus, how, sizeof(how));
		w->last_status = c->rstatus;
		w->candidate = NULL;
		instance_leftovers(in);
		instance_destroy(in);
		replace_failed(w, how);
		break;
	case ROLE_DRAINING:
		describe_status(c->rstatus, how, sizeof(how));
		log_info("program", "%s: old pid %d is gone (%s)", w->fullname,
		    (int)c->rpid, how);
		draining_check(in);
		break;
	}
}

static void
instance_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct instance *in = container_of(t, struct instance, timer);
	struct worker *w = in->w;

	(void)revents;
	switch (in->role) {
	case ROLE_CANDIDATE:
		if (w->prog->cfg->ready == READY_NOTIFY) {
			w->candidate = NULL;
			instance_drain(in, SIGKILL, 0);
			replace_failed(w, "it did not send READY=1 within "
			    "ready_timeout");
			break;
		}
		replace_ready(w);
		break;
	case ROLE_DRAINING:
		if (in->deadline > 0 && ev_now(loop) >= in->deadline) {
			if (!instance_tree_empty(in)) {
				if (in->pid > 0 && in->drain_signal != SIGKILL)
					log_warnx("program", "%s: pid %d did not "
					    "exit in time: SIGKILL to its tree",
					    w->fullname, (int)in->pid);
				instance_signal(in, SIGKILL, true);
			}
			in->deadline = 0;
		}
		draining_check(in);
		break;
	case ROLE_MAIN:
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
		if (w->prog->cfg->ready == READY_NOTIFY) {
			/* Its exit makes it a failed start (BACKOFF). */
			log_warnx("program", "%s: pid %d did not send READY=1 "
			    "within ready_timeout (%.1f s): killing it",
			    w->fullname, (int)worker_pid(w),
			    w->prog->cfg->ready_timeout);
			instance_signal(w->main, SIGKILL, true);
			break;
		}
		w->backoff = 0;
		worker_set_state(w, WORKER_RUNNING);
		break;
	case WORKER_BACKOFF:
		worker_spawn(w);
		break;
	case WORKER_EXITED:
		if (w->want == WANT_UP)
			worker_spawn(w);
		break;
	case WORKER_STOPPING:
		if (w->stop_deadline > 0 && ev_now(loop) >= w->stop_deadline) {
			w->stop_deadline = 0;
			if (w->main != NULL && !instance_tree_empty(w->main)) {
				log_warnx("program", "%s: %s still alive %.1f s "
				    "after the stop signal: SIGKILL to the whole "
				    "tree", w->fullname, w->main->pid > 0 ?
				    "it is" : "processes it started are",
				    w->prog->cfg->stopwaitsecs);
				instance_signal(w->main, SIGKILL, true);
			}
		}
		if (w->main == NULL || w->main->pid == 0)
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
	if (w->candidate != NULL) {
		struct instance *c = w->candidate;
		w->candidate = NULL;
		instance_drain(c, cfg->stopsignal, cfg->stopwaitsecs);
	}
	switch (w->state) {
	case WORKER_STARTING:
	case WORKER_RUNNING:
		log_info("program", "%s: sending SIG%s (pid %d)", w->fullname,
		    signal_name(cfg->stopsignal, sb), (int)worker_pid(w));
		instance_signal(w->main, cfg->stopsignal, cfg->stopasgroup);
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

/* Memory. */

static uint64_t
instance_sample(struct instance *in, const struct proc_table *table,
    const pid_t *known, size_t nknown)
{
	struct program *p = in->w->prog;
	uint64_t bytes = 0, usage;
	pid_t *pids;
	size_t n;

	if (p->source == MEMORY_CGROUP && in->cgroup != NULL) {
		if (cgroup_memory(&p->d->cg, in->cgroup, &bytes, &usage) != 0)
			return in->mem.current;
	} else {
		n = instance_tree(in, table, known, nknown, &pids);
		if (memory_read_procs(p->source == MEMORY_CGROUP ? MEMORY_RSS :
		    p->source, pids, n, &bytes) != 0) {
			free(pids);
			return in->mem.current;	/* gone meanwhile: no news */
		}
		free(pids);
	}
	memory_record(&in->mem, ev_now(p->d->loop), bytes);
	in->sampled = true;
	instance_arm_threshold(in, bytes);
	return bytes;
}

struct overage {
	struct worker *w;
	double ratio;
};

static int
overage_order(const void *a, const void *b)
{
	double x = ((const struct overage *)a)->ratio;
	double y = ((const struct overage *)b)->ratio;

	return x > y ? -1 : x < y;
}

/* The hard limit: no queue, no drain. */
static void
worker_memory_max(struct worker *w, uint64_t bytes)
{
	const struct program_config *cfg = w->prog->cfg;
	char a[16], b[16];

	log_warnx("memory", "%s: pid %d uses %s, over memory_max %s: killing "
	    "it and replacing it at once", w->fullname, (int)w->main->pid,
	    memory_human(bytes, a), memory_human(cfg->memory_max, b));
	w->force_restart = true;
	w->next_reason = REASON_MEMORY_MAX;
	systemd_count_memory_restart(&w->prog->d->sd);
	instance_signal(w->main, SIGKILL, true);
}

/*
 * Reads w's processes and acts on what only concerns w (watchdog,
 * memory_max, the footprint of a fresh process).  Returns true when w has
 * been over memory_limit for memory_samples samples and may be replaced;
 * *ratio says how far over.
 */
static bool
worker_sample(struct worker *w, const struct proc_table *tp,
    const pid_t *known, size_t nknown, double *ratio)
{
	const struct program_config *cfg = w->prog->cfg;
	struct instance *m = w->main;
	ev_tstamp now = ev_now(w->prog->d->loop);
	char a[16], b[16];
	uint64_t bytes;

	if (w->candidate != NULL && w->candidate->pid > 0)
		instance_sample(w->candidate, tp, known, nknown);
	for (size_t j = 0; j < w->ndraining; j++)
		if (w->draining[j]->pid > 0)
			instance_sample(w->draining[j], tp, known, nknown);
	if (m == NULL || m->pid <= 0)
		return false;
	bytes = instance_sample(m, tp, known, nknown);
	if (w->state != WORKER_RUNNING || w->force_restart)
		return false;
	if (cfg->watchdog_sec > 0 && w->candidate == NULL &&
	    now - m->last_ping > cfg->watchdog_sec) {
		log_warnx("program", "%s: no WATCHDOG=1 from pid %d for %.1f s "
		    "(watchdog_sec): replacing it", w->fullname, (int)m->pid,
		    now - m->last_ping);
		m->last_ping = now;
		worker_replace(w, REASON_WATCHDOG);
		return false;
	}
	if (cfg->memory_max > 0 && bytes > cfg->memory_max) {
		worker_memory_max(w, bytes);
		return false;
	}
	if (cfg->memory_limit == 0)
		return false;
	m->over = bytes > cfg->memory_limit ? m->over + 1 : 0;
	/* Over the limit at its first look as a RUNNING process: a
	 * replacement would likely be just as big, so do not loop -- back
	 * off as after a failed replacement; when the time comes, the
	 * replacement's own footprint, checked when it is ready, decides. */
	if (!m->judged) {
		m->judged = true;
		if (m->over > 0) {
			w->footprint_over = true;
			w->footprint = bytes;
			w->replace_failures++;
			w->replace_not_before = now + replace_delay(w);
			log_warnx("memory", "%s: pid %d's footprint %s exceeds "
			    "memory_limit %s right after start: not replacing it "
			    "for %.0f s (raise memory_limit if this is its normal "
			    "size)", w->fullname, (int)m->pid,
			    memory_human(bytes, a),
			    memory_human(cfg->memory_limit, b), replace_delay(w));
		}
	}
	*ratio = (double)bytes / (double)cfg->memory_limit;
	return m->over >= (unsigned)cfg->memory_samples &&
	    w->candidate == NULL && now >= w->replace_not_before;
}

static size_t
program_inflight(const struct program *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nworkers; i++)
		n += worker_replacing(&p->workers[i]);
	return n;
}

static void
worker_replace_memory(struct worker *w)
{
	const struct program_config *cfg = w->prog->cfg;
	char a[16], b[16];

	log_info("memory", "%s: pid %d uses %s, over memory_limit %s for %u "
	    "samples", w->fullname, (int)w->main->pid,
	    memory_human(w->main->mem.current, a),
	    memory_human(cfg->memory_limit, b), w->main->over);
	worker_replace(w, REASON_MEMORY);
}

void
program_sample(struct program *p)
{
	const struct program_config *cfg = p->cfg;
	struct proc_table table = { 0 }, *tp = NULL;
	struct overage *over = NULL;
	size_t nover = 0, inflight, nknown = 0;
	pid_t *known = NULL;
	double ratio;

	/* Without cgroups the trees come from one scan of /proc. */
	if (!p->d->cg_usable) {
		proc_scan(&table);
		tp = &table;
		known = leashd_instance_pids(p->d, &nknown);
	}
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		if (!worker_sample(w, tp, known, nknown, &ratio))
			continue;
		over = xrealloc(over, (nover + 1) * sizeof(*over));
		over[nover].w = w;
		over[nover].ratio = ratio;
		nover++;
	}
	/* Furthest over the limit first; max_replacing at once. */
	if (nover > 1)
		qsort(over, nover, sizeof(*over), overage_order);
	inflight = program_inflight(p);
	for (size_t i = 0; i < nover; i++) {
		if (inflight >= (size_t)cfg->max_replacing) {
			log_debug("memory", "%s: over memory_limit, queued "
			    "(max_replacing %ld in flight)", over[i].w->fullname,
			    cfg->max_replacing);
			continue;
		}
		worker_replace_memory(over[i].w);
		inflight = program_inflight(p);
	}
	free(over);
	free(known);
	proc_table_free(&table);
}

/* The kernel says one process crossed memory_limit: read that worker now
 * (a sample like any other: memory_samples still applies). */
static void
worker_sample_now(struct worker *w)
{
	struct program *p = w->prog;
	double ratio;

	if (!p->d->cg_usable)
		return;		/* events come only with cgroups */
	if (worker_sample(w, NULL, NULL, 0, &ratio) &&
	    program_inflight(p) < (size_t)p->cfg->max_replacing)
		worker_replace_memory(w);
}

static void
sample_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct program *p = container_of(t, struct program, sample_timer);

	(void)loop;
	(void)revents;
	program_sample(p);
}

/* memory_source = auto means cgroup when leashd can make cgroups. */
static enum memory_source
program_source(struct program *p)
{
	struct leashd *d = p->d;
	enum memory_source s = p->cfg->memory_source;

	if (s == MEMORY_AUTO) {
		s = d->cg_usable ? MEMORY_CGROUP : MEMORY_RSS;
		if (p->cfg->memory_limit > 0 || p->cfg->memory_max > 0)
			log_info("memory", "%s: memory_source auto: %s", p->cfg->name,
			    d->cg_usable ? "cgroup (working set of each worker's "
			    "own cgroup)" : "rss (summed over each worker's "
			    "process tree): cgroups are not usable here");
	} else if (s == MEMORY_CGROUP && !d->cg_usable) {
		log_warnx("memory", "%s: memory_source cgroup: cgroups are not "
		    "usable here (%s); using rss", p->cfg->name, d->cg_why);
		s = MEMORY_RSS;
	}
	return s;
}

static double
sample_interval(const struct program_config *cfg)
{
	double interval = cfg->memory_interval;

	if (cfg->watchdog_sec > 0 && cfg->watchdog_sec / 4 < interval)
		interval = cfg->watchdog_sec / 4;
	return interval;
}

struct program *
program_new(struct leashd *d, struct program_config *cfg)
{
	struct program *p = xcalloc(1, sizeof(*p));
	double interval;

	p->d = d;
	p->cfg = cfg;
	p->nworkers = cfg->numprocs;
	p->workers = xcalloc(p->nworkers, sizeof(*p->workers));
	p->source = program_source(p);
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		w->prog = p;
		w->pc = &cfg->procs[i];
		w->fullname = xasprintf("%s:%s", cfg->name, w->pc->name);
		w->state = WORKER_STOPPED;
		w->want = WANT_DOWN;
		logfile_init(&w->outlog, w->pc->out.path, w->pc->out.maxbytes,
		    w->pc->out.backups);
		logfile_init(&w->errlog, w->pc->err.path, w->pc->err.maxbytes,
		    w->pc->err.backups);
		ev_timer_init(&w->timer, worker_timer_cb, 0., 0.);
	}
	interval = sample_interval(cfg);
	ev_timer_init(&p->sample_timer, sample_cb, interval, interval);
	ev_timer_start(d->loop, &p->sample_timer);
	return p;
}

struct program_config *
program_set_config(struct program *p, struct program_config *cfg)
{
	struct program_config *old = p->cfg;

	p->cfg = cfg;
	for (size_t i = 0; i < p->nworkers; i++)
		p->workers[i].pc = &cfg->procs[i];
	p->sample_timer.repeat = sample_interval(cfg);
	ev_timer_again(p->d->loop, &p->sample_timer);
	log_info("program", "%s: new settings applied to the running processes",
	    cfg->name);
	return old;
}

/* Only for a program whose workers are all down and gone. */
void
program_free(struct program *p)
{
	ev_timer_stop(p->d->loop, &p->sample_timer);
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		ev_timer_stop(p->d->loop, &w->timer);
		if (w->main != NULL)
			instance_destroy(w->main);
		if (w->candidate != NULL)
			instance_destroy(w->candidate);
		for (size_t j = 0; j < w->ndraining; j++)
			instance_destroy(w->draining[j]);
		free(w->draining);
		logfile_free(&w->outlog);
		logfile_free(&w->errlog);
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
	for (size_t i = 0; i < p->nworkers; i++) {
		const struct worker *w = &p->workers[i];
		if (!worker_is_down(w) || w->candidate != NULL ||
		    w->ndraining > 0)
			return false;
	}
	return true;
}

/* sd_notify from a worker's tree. */

void
instance_ready(struct instance *in)
{
	struct worker *w = in->w;

	if (w->prog->cfg->ready != READY_NOTIFY) {
		log_debug("notify", "%s: READY=1 (ready = startsecs: noted only)",
		    w->fullname);
		return;
	}
	if (in->role == ROLE_CANDIDATE && w->candidate == in) {
		log_info("notify", "%s: replacement pid %d sent READY=1",
		    w->fullname, (int)in->pid);
		replace_ready(w);
	} else if (in->role == ROLE_MAIN && w->state == WORKER_STARTING) {
		log_info("notify", "%s: pid %d sent READY=1", w->fullname,
		    (int)in->pid);
		worker_disarm(w);
		w->backoff = 0;
		in->last_ping = ev_now(w->prog->d->loop);
		worker_set_state(w, WORKER_RUNNING);
	}
}

void
instance_stopping(struct instance *in)
{
	if (!in->stopping)
		log_info("notify", "%s: pid %d sent STOPPING=1", in->w->fullname,
		    (int)in->pid);
	in->stopping = true;
}

void
instance_watchdog(struct instance *in)
{
	in->last_ping = ev_now(in->w->prog->d->loop);
}

void
instance_set_status_text(struct instance *in, const char *text)
{
	free(in->status_text);
	in->status_text = xstrdup(text);
	if (strlen(in->status_text) > 200)
		in->status_text[200] = '\0';
	leashd_worker_changed(in->w->prog->d, in->w);
}

const char *
worker_status_text(const struct worker *w)
{
	return w->main != NULL ? w->main->status_text : NULL;
}
