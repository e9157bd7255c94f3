/*
 * One process of a worker: spawn, tree, signals, samples.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "cgroup.h"
#include "events.h"
#include "instance.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "sockets.h"
#include "spawn.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"

#define TREE_POLL_INTERVAL 0.05	/* checking that a stopped tree is gone */
#define HARD_LIMIT_MARGIN (16u << 20)
#define STATUS_TEXT_MAX 200	/* bytes of a worker's STATUS= kept */

void
instance_describe_exit(const struct instance *in, char *buf, size_t len)
{
	int status = in->exit_status;
	char sb[16];

	if (status == INSTANCE_STATUS_UNKNOWN)
		snprintf(buf, len, "exit status unknown");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "terminated by SIG%s%s%s",
		    signal_name(WTERMSIG(status), sb),
		    WCOREDUMP(status) ? " (core dumped)" : "",
		    in->oom_killed ? " from the kernel's OOM killer" : "");
	else
		snprintf(buf, len, "status 0x%x", status);
}

void
instance_arm(struct instance *in, double after)
{
	supervisor_timer(in->sv, &in->timer, after);
}

/*
 * Every process of an instance's tree: its cgroup's members when it has
 * one (exact), else its process group, descendants and the orphans that
 * carry its token.  table may be NULL: then this loop iteration's scan
 * of /proc is used (stopping a thousand workers scans /proc once).
 */
static size_t
instance_tree(struct instance *in, const struct proc_table *table,
    pid_t **pids)
{
	ssize_t n;

	if (in->cgroup != NULL) {
		n = cgroup_pids(in->cgroup, pids);
		if (n >= 0)
			return (size_t)n;
		free(*pids);
	}
	if (table == NULL)
		table = supervisor_proc_table(in->sv);
	return proc_tree(table, in->anchor, in->pgid, in->token, pids);
}

/*
 * A stopped process (SIGSTOP, SIGTSTP) cannot act on the signal it must
 * leave by: SIGCONT follows it, to the stopped ones only (a running one
 * may be in the middle of something SIGCONT disturbs, such as a leak
 * checker stopping its threads at exit).
 */
static void
continue_if_stopped(pid_t pid, const struct proc_entry *e, int sig)
{
	struct proc_entry own;

	if (sig == SIGKILL || sig == SIGCONT || sig == SIGSTOP ||
	    sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
		return;
	if (e == NULL && proc_read_stat(pid, &own) == 0)
		e = &own;
	if (e != NULL && e->state == 'T')
		kill(pid, SIGCONT);
}

void
instance_signal(struct instance *in, int sig, bool group)
{
	struct proc_entry e;
	pid_t *pids;
	size_t n;
	bool known;

	if (in->pid > 0) {
		kill(group ? -in->pid : in->pid, sig);
		if (!group)
			continue_if_stopped(in->pid, NULL, sig);
	}
	if (!group)
		return;
	if (sig == SIGKILL && in->cgroup != NULL)
		cgroup_kill(&in->sv->cg, in->cgroup);
	n = instance_tree(in, NULL, &pids);
	for (size_t i = 0; i < n; i++) {
		known = proc_read_stat(pids[i], &e) == 0;
		/* The group's signal reached those of its group. */
		if (!(in->pid > 0 && known && e.pgid == in->pgid))
			kill(pids[i], sig);
		if (known)
			continue_if_stopped(pids[i], &e, sig);
	}
	free(pids);
}

bool
instance_tree_empty(struct instance *in)
{
	pid_t *pids;
	size_t n = instance_tree(in, NULL, &pids);

	free(pids);
	return n == 0;
}

void
instance_leftovers(struct instance *in)
{
	const struct program_config *cfg = in->spec->cfg;
	pid_t *pids;
	size_t n = instance_tree(in, NULL, &pids);

	if (n > 0)
		supervisor_add_strays(in->sv, pids, n, cfg->stopsignal,
		    cfg->stopwaitsecs);
	free(pids);
}

void
instance_drain(struct instance *in, int sig, double timeout)
{
	char sb[16];

	in->role = ROLE_DRAINING;
	supervisor_state_changed(in->sv);
	in->drain_signal = sig;
	if (in->pid > 0 && sig == SIGKILL)
		log_info("program", "%s: killing pid %d", in->spec->fullname,
		    (int)in->pid);
	else if (in->pid > 0)
		log_info("program", "%s: draining pid %d with SIG%s (SIGKILL in "
		    "%.1f s)", in->spec->fullname, (int)in->pid,
		    signal_name(sig, sb), timeout);
	instance_signal(in, sig, true);
	in->drain_time = mono_now();
	in->deadline = in->drain_time + timeout;
	instance_arm(in, timeout);
}

bool
instance_drained(struct instance *in)
{
	ev_tstamp now = mono_now();
	double left;

	if (in->deadline > 0 && now >= in->deadline) {
		if (!instance_tree_empty(in)) {
			if (in->pid > 0 && in->drain_signal != SIGKILL)
				log_warnx("program", "%s: pid %d did not exit in "
				    "time: SIGKILL to its tree", in->spec->fullname,
				    (int)in->pid);
			instance_signal(in, SIGKILL, true);
		}
		in->deadline = 0;
	}
	if (in->pid == 0 && instance_tree_empty(in))
		return true;
	if (in->pid == 0 || in->deadline > 0) {
		left = in->deadline > 0 ? in->deadline - now : 0;
		if (in->pid == 0 && (left <= 0 || left > TREE_POLL_INTERVAL))
			left = TREE_POLL_INTERVAL;
		instance_arm(in, left);
	}
	return false;
}

static void
instance_exited(struct instance *in, int status)
{
	in->pid = 0;
	in->exit_status = status;
	in->oom_killed = in->cgroup != NULL &&
	    status != INSTANCE_STATUS_UNKNOWN && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL &&
	    cgroup_oom_kills(&in->sv->cg, in->cgroup) > 0;
	supervisor_state_changed(in->sv);
	output_detach(&in->out);
	output_detach(&in->err);
	event_listener_free(in->listener);
	in->listener = NULL;
	in->hook(in, INSTANCE_EXIT);
}

static void
child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	(void)revents;
	ev_child_stop(loop, c);
	instance_exited(container_of(c, struct instance, child), c->rstatus);
}

static void
pidfd_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	ev_io_stop(loop, io);
	close(io->fd);
	io->fd = -1;
	instance_exited(container_of(io, struct instance, pidfd),
	    INSTANCE_STATUS_UNKNOWN);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct instance *in = container_of(t, struct instance, timer);

	(void)loop;
	(void)revents;
	in->hook(in, INSTANCE_TIMER);
}

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
	    in->spec->fullname, (int)in->pid);
	in->hook(in, INSTANCE_THRESHOLD);
}

void
instance_destroy(struct instance *in)
{
	struct supervisor *sv = in->sv;

	ev_child_stop(sv->loop, &in->child);
	if (in->pidfd.fd >= 0) {
		ev_io_stop(sv->loop, &in->pidfd);
		close(in->pidfd.fd);
	}
	ev_timer_stop(sv->loop, &in->timer);
	if (ev_is_active(&in->threshold) || in->threshold.fd >= 0) {
		ev_io_stop(sv->loop, &in->threshold);
		if (in->threshold.fd >= 0)
			close(in->threshold.fd);
	}
	output_detach(&in->out);
	output_detach(&in->err);
	event_listener_free(in->listener);
	if (in->cgroup != NULL) {
		supervisor_remove_cgroup(sv, in->cgroup);
		free(in->cgroup);
	}
	if (in->meter.usage_fd >= 0)
		close(in->meter.usage_fd);
	if (in->statm_fd >= 0)
		close(in->statm_fd);
	free(in->status_text);
	free(in->tree);
	free(in);
}

void
instance_ready(struct instance *in)
{
	in->hook(in, INSTANCE_READY);
}

void
instance_stopping(struct instance *in)
{
	if (!in->stopping)
		log_info("notify", "%s: pid %d sent STOPPING=1",
		    in->spec->fullname, (int)in->pid);
	in->stopping = true;
}

void
instance_watchdog(struct instance *in)
{
	in->last_ping = mono_now();
}

void
instance_set_status_text(struct instance *in, const char *text)
{
	size_t n = strlen(text);
	char *t;

	/* At most STATUS_TEXT_MAX bytes, cut between characters (UTF-8),
	 * and no control character: a worker's text reaches terminals. */
	if (n > STATUS_TEXT_MAX)
		for (n = STATUS_TEXT_MAX; n > 0 &&
		    ((unsigned char)text[n] & 0xc0) == 0x80; n--)
			;
	t = xstrndup(text, n);
	for (char *c = t; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	free(in->status_text);
	in->status_text = t;
	supervisor_changed(in->sv);
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
	const struct program_config *cfg = in->spec->cfg;
	const struct process_config *pc = in->spec->pc;
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
	if (cfg->serverurl != NULL)
		strv_push(&v, xasprintf("SUPERVISOR_SERVER_URL=%s",
		    cfg->serverurl));
	strv_push(&v, xasprintf("SUPERVISOR_PROCESS_NAME=%s", pc->name));
	strv_push(&v, xasprintf("SUPERVISOR_GROUP_NAME=%s", cfg->group));
	strv_push(&v, xasprintf("LEASH_PROGRAM_NAME=%s", cfg->name));
	strv_push(&v, xasprintf("LEASH_PROCESS_NAME=%s", pc->name));
	strv_push(&v, xasprintf("LEASH_PROCESS_NUM=%ld", pc->num));
	strv_push(&v, xasprintf("LEASH_WORKER_TOKEN=%s", in->token));
	if (in->sv->notify_socket[0] != '\0')
		strv_push(&v, xasprintf("NOTIFY_SOCKET=%s",
		    in->sv->notify_socket));
	if (cfg->watchdog_sec > 0) {
		strv_push(&v, xasprintf("WATCHDOG_USEC=%llu",
		    (unsigned long long)(cfg->watchdog_sec * 1e6)));
		strv_push(&v, xstrdup("WATCHDOG_PID=0"));	/* set in the child */
	}
	if (!cfg->fcgi && cfg->socket_names != NULL &&
	    cfg->socket_names[0] != NULL) {
		struct buf names = { 0 };
		size_t n = 0;
		for (char **s = cfg->socket_names; *s != NULL; s++, n++)
			buf_printf(&names, "%s%s", n ? ":" : "", *s);
		strv_push(&v, xasprintf("LISTEN_FDS=%zu", n));
		strv_push(&v, xstrdup("LISTEN_PID=0"));		/* set in the child */
		strv_push(&v, xasprintf("LISTEN_FDNAMES=%s", names.p));
		buf_reset(&names);
	}
	for (char **e = pc->env; e != NULL && *e != NULL; e++)
		env_set(&v, xstrdup(*e));
	return v.v;
}

/*
 * Asks the kernel (cgroup v1) to say when the instance crosses
 * memory_limit, from its spawn on: a leak that grows with traffic can
 * cross the limit between two samples, and the event makes leashd look at
 * once, through ufd (its usage file).  Registering costs the kernel an
 * RCU grace period (15-20 ms), so a short-lived child registers it
 * (spawn_threshold); the loop never waits.
 */
static void
instance_arm_threshold(struct instance *in, int ufd)
{
	struct supervisor *sv = in->sv;
	uint64_t limit = in->spec->cfg->memory_limit;
	int efd;

	if (limit == 0 || sv->cg.version != CGROUP_V1 || ufd < 0)
		return;
	if ((efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return;
	if (!spawn_fd_keepable(efd)) {
		/* Few fds left: samples alone watch this one. */
		close(efd);
		return;
	}
	spawn_threshold(in->cgroup, efd, ufd, limit);
	ev_io_set(&in->threshold, efd, EV_READ);
	ev_io_start(sv->loop, &in->threshold);
}

/* The kernel's threshold event and the usage file of its cgroup. */
static void
instance_cgroup_watch(struct instance *in)
{
	struct supervisor *sv = in->sv;
	int ufd;

	ufd = cgroup_usage_open(&sv->cg, in->cgroup);
	instance_arm_threshold(in, ufd);
	/* Samples read the usage file kept open when fds allow (after the
	 * threshold event, which counts for more), else one opened for each
	 * read. */
	if (ufd >= 0 && in->spec->source == MEMORY_CGROUP &&
	    spawn_fd_keepable(ufd))
		in->meter.usage_fd = ufd;
	else if (ufd >= 0)
		close(ufd);
}

/* Puts a fresh instance in its own cgroup, with the kernel's help for
 * memory_limit (threshold event) and memory_max (hard limit), and opens
 * the file its samples read. */
static void
instance_cgroup(struct instance *in)
{
	struct supervisor *sv = in->sv;
	const struct program_config *cfg = in->spec->cfg;
	char name[64];
	uint64_t hard;

	if (!sv->cg_usable)
		return;
	snprintf(name, sizeof(name), CGROUP_WORKER_PREFIX "%s", in->token);
	if ((in->cgroup = cgroup_create(&sv->cg, name)) == NULL) {
		log_warn("cgroup", "%s: cannot create cgroup %s in %s",
		    in->spec->fullname, name, sv->cg.base);
		return;
	}
	if (cfg->memory_max > 0) {
		/* A backstop only: leash acts first, at memory_max. */
		hard = cfg->memory_max + (cfg->memory_max / 8 > HARD_LIMIT_MARGIN ?
		    cfg->memory_max / 8 : HARD_LIMIT_MARGIN);
		if (cgroup_set_limit(&sv->cg, in->cgroup, hard) != 0)
			log_warn("cgroup", "%s: cannot set the hard limit",
			    in->spec->fullname);
	}
	instance_cgroup_watch(in);
}

/* A journal stream named after the program, or -1 (then its log file). */
static int
instance_journal(struct instance *in, int priority)
{
	struct instance_spec *spec = in->spec;
	int fd = sd_journal_stream_fd(spec->cfg->name, priority, 0);
	unsigned bit = priority == LOG_INFO ? 1 : 2;

	if (fd < 0) {
		if (!(spec->journal_warned & bit))
			log_warnx("program", "%s: no journal to write to (%s); "
			    "output goes to %s", spec->fullname, strerror(-fd),
			    priority == LOG_INFO ? spec->outlog->path :
			    spec->errlog->path);
		spec->journal_warned |= bit;
		return -1;
	}
	return fd;
}

static struct instance *
instance_new(struct supervisor *sv, struct instance_spec *spec,
    enum instance_role role, void (*hook)(struct instance *,
    enum instance_event), void *owner)
{
	struct instance *in = xcalloc(1, sizeof(*in));

	in->sv = sv;
	in->spawn_time = mono_now();
	in->spec = spec;
	in->hook = hook;
	in->owner = owner;
	in->role = role;
	in->anchor = sv->self;
	in->out.fd = in->err.fd = in->meter.usage_fd = in->statm_fd = -1;
	ev_child_init(&in->child, child_cb, 0, 0);
	ev_io_init(&in->pidfd, pidfd_cb, -1, EV_READ);
	ev_timer_init(&in->timer, timer_cb, 0., 0.);
	ev_io_init(&in->threshold, threshold_cb, -1, EV_READ);
	return in;
}

struct instance *
instance_spawn(struct supervisor *sv, struct instance_spec *spec,
    enum instance_role role, void (*hook)(struct instance *,
    enum instance_event), void *owner, char *err, size_t errlen)
{
	const struct program_config *cfg = spec->cfg;
	const struct process_config *pc = spec->pc;
	struct spawn_request r = { .umask = cfg->umask, .stdin_fd = -1, .stdout_fd = -1,
	    .stderr_fd = -1 };
	struct instance *in;
	struct passwd *pw = NULL;
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int fds[SPAWN_FDS_MAX];
	int jout = -1, jerr = -1;
	char **envp, *procs = NULL;
	size_t nfds = 0;
	pid_t pid;

	in = instance_new(sv, spec, role, hook, owner);
	snprintf(in->token, sizeof(in->token), "%d-%lu", (int)sv->self,
	    ++sv->spawns);

	if (cfg->user != NULL) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, errlen, "no such user %s", cfg->user);
			goto fail;
		}
		if (geteuid() != 0 && pw->pw_uid != geteuid()) {
			snprintf(err, errlen, "cannot run as user %s: "
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
		if ((fds[nfds] = listeners_fd(&sv->listeners, *n)) < 0) {
			snprintf(err, errlen, "socket %s is not bound", *n);
			goto fail;
		}
		nfds++;
	}
	if (cfg->fcgi && nfds == 1) {
		/* FastCGI: the socket is the process's stdin. */
		r.stdin_fd = fds[0];
		nfds = 0;
	}
	r.fds = fds;
	r.nfds = nfds;
	r.pid_vars = nfds > 0 || cfg->watchdog_sec > 0;
	if (pc->out.journal)
		jout = instance_journal(in, LOG_INFO);
	if (pc->err.journal && !cfg->redirect_stderr)
		jerr = instance_journal(in, LOG_ERR);
	/* Out of fds, a worker whose output would be lost is not started:
	 * it is a spawn error, and the worker backs off. */
	err[0] = '\0';
	if (cfg->listener && sv->events != NULL &&
	    pipe2(inp, O_CLOEXEC) != 0)
		snprintf(err, errlen, "cannot make its stdin pipe: %s",
		    strerror(errno));
	else if (jout < 0 && (spec->outlog->path != NULL || inp[1] >= 0) &&
	    pipe2(outp, O_CLOEXEC) != 0)
		snprintf(err, errlen, "cannot make its stdout pipe: %s",
		    strerror(errno));
	else if (jerr < 0 && !cfg->redirect_stderr &&
	    spec->errlog->path != NULL && pipe2(errp, O_CLOEXEC) != 0)
		snprintf(err, errlen, "cannot make its stderr pipe: %s",
		    strerror(errno));
	/* A listener's stdout is its protocol, never the journal. */
	if (inp[0] >= 0)
		r.stdin_fd = inp[0];
	r.stdout_fd = jout >= 0 && inp[1] < 0 ? jout : outp[1];
	r.stderr_fd = cfg->redirect_stderr ? r.stdout_fd :
	    jerr >= 0 ? jerr : errp[1];
	r.argv = pc->argv;
	r.directory = pc->directory;
	r.envp = envp = instance_env(in, pw);

	pid = err[0] != '\0' ? -1 : spawn(&r, err, errlen);
	/* A spawn waits for the child's exec; the loop's cached time would
	 * otherwise lag through a pass that starts a thousand of them. */
	ev_now_update(sv->loop);
	strv_free_array(envp);
	free(procs);
	if (inp[0] >= 0)
		close(inp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (jout >= 0)
		close(jout);
	if (jerr >= 0)
		close(jerr);
	if (pid < 0) {
		if (inp[1] >= 0)
			close(inp[1]);
		if (outp[0] >= 0)
			close(outp[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		goto fail;
	}
	in->pid = in->pgid = pid;
	in->start_time = in->last_ping = mono_now();
	if (outp[0] >= 0)
		output_attach(&in->out, spec->outlog, outp[0], 1);
	if (errp[0] >= 0)
		output_attach(&in->err, spec->errlog, errp[0], 2);
	if (inp[1] >= 0)
		in->listener = event_listener_new(sv->events, in, inp[1]);
	ev_child_set(&in->child, pid, 0);
	ev_child_start(sv->loop, &in->child);
	supervisor_state_changed(sv);
	log_info("program", "%s spawned with pid %d%s", spec->fullname,
	    (int)pid, role == ROLE_CANDIDATE ? " (replacement)" : "");
	return in;
fail:
	log_warnx("program", "%s: spawn error: %s", spec->fullname, err);
	instance_destroy(in);
	return NULL;
}

/*
 * A read end of the pipe the process writes as fd (1 or 2), opened anew
 * from /proc: the pipe outlives the leashd that read it as long as the
 * process holds its write end.  -1 when fd is not a pipe.
 */
static int
instance_reopen_pipe(pid_t pid, int fd)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	if (stat(path, &st) != 0 || !S_ISFIFO(st.st_mode))
		return -1;
	return open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

struct instance *
instance_adopt(struct supervisor *sv, struct instance_spec *spec,
    const struct state_process *p, bool child,
    void (*hook)(struct instance *, enum instance_event), void *owner,
    char *err, size_t errlen)
{
	struct instance *in = instance_new(sv, spec, (enum instance_role)p->role,
	    hook, owner);
	struct proc_entry e;
	int out = p->out_fd, errfd = p->err_fd;
	double ran;

	in->pid = p->pid;
	in->pgid = p->pgid;
	in->kernel_start = p->starttime;
	snprintf(in->token, sizeof(in->token), "%s", p->token);
	if (child) {
		ev_child_set(&in->child, p->pid, 0);
		ev_child_start(sv->loop, &in->child);
	} else {
		int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);

		if (fd < 0) {
			snprintf(err, errlen, "pidfd_open: %s", strerror(errno));
			if (out >= 0)
				close(out);
			if (errfd >= 0)
				close(errfd);
			instance_destroy(in);
			return NULL;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		ev_io_set(&in->pidfd, fd, EV_READ);
		ev_io_start(sv->loop, &in->pidfd);
		if (proc_read_stat(p->pid, &e) == 0)
			in->anchor = e.ppid;
		if (out < 0 && spec->outlog->path != NULL)
			out = instance_reopen_pipe(p->pid, 1);
		if (errfd < 0 && spec->errlog->path != NULL &&
		    !spec->cfg->redirect_stderr)
			errfd = instance_reopen_pipe(p->pid, 2);
	}
	ran = mono_now() - p->started;	/* < 0: not this boot's */
	in->spawn_time = in->start_time = mono_now() - (ran > 0 ? ran : 0);
	in->ready_time = in->role == ROLE_CANDIDATE ? 0 : in->start_time;
	in->last_ping = mono_now();
	if (p->cgroup != NULL && sv->cg_usable &&
	    access(p->cgroup, F_OK) == 0) {
		in->cgroup = xstrdup(p->cgroup);
		instance_cgroup_watch(in);
	}
	if (out >= 0)
		output_attach(&in->out, spec->outlog, out, 1);
	if (errfd >= 0)
		output_attach(&in->err, spec->errlog, errfd, 2);
	supervisor_state_changed(sv);
	log_info("program", "%s: took over pid %d%s", spec->fullname,
	    (int)p->pid, child ? "" : ", left by a leashd that is gone");
	return in;
}

/*
 * The working set, usage minus inactive file cache.  Usage is read at
 * every sample, from a file kept open; memory.stat, ten times dearer for
 * the kernel to print, only when usage is at least half the nearest limit
 * (the working set is never above usage, so below that it cannot matter
 * to a judgement), at the first sample, and every CGROUP_STAT_EVERY
 * samples, for status.
 */
#define CGROUP_STAT_EVERY 16

static int
cgroup_sample(struct instance *in, uint64_t *bytes)
{
	const struct program_config *cfg = in->spec->cfg;
	uint64_t usage, near = program_config_nearest_limit(cfg), stat_at;

	stat_at = in->mem.n == 0 || ++in->stat_age >= CGROUP_STAT_EVERY ? 0 :
	    near > 0 ? near / 2 : UINT64_MAX;
	if (cgroup_memory(&in->sv->cg, in->cgroup, &in->meter, stat_at, bytes,
	    &usage) != 0)
		return -1;
	if (usage >= stat_at)
		in->stat_age = 0;
	return 0;
}

/*
 * rss over a tree: the instance's own statm is kept open (when fds allow)
 * and read with pread; the rest of the tree is read by path.
 */
static int
rss_sample(struct instance *in, const pid_t *tree, size_t n, uint64_t *bytes)
{
	uint64_t one, sum = 0;
	bool read = false;

	if (in->statm_fd < 0 && (in->statm_fd = memory_statm_open(in->pid)) >= 0 &&
	    !spawn_fd_keepable(in->statm_fd)) {
		read = memory_read_statm(in->statm_fd, &sum) == 0;
		close(in->statm_fd);
		in->statm_fd = -1;
	} else if (in->statm_fd >= 0)
		read = memory_read_statm(in->statm_fd, &sum) == 0;
	for (size_t i = 0; i < n; i++) {
		if (tree[i] == in->pid ||
		    memory_read_proc(tree[i], MEMORY_RSS, &one) != 0)
			continue;
		sum += one;
		read = true;
	}
	*bytes = sum;
	return read ? 0 : -1;
}

int
instance_sample(struct instance *in, const struct proc_table *table)
{
	enum memory_source source = in->spec->source;
	uint64_t bytes = 0;

	if (in->pid <= 0)
		return -1;
	if (source == MEMORY_CGROUP && in->cgroup != NULL) {
		if (cgroup_sample(in, &bytes) != 0)
			return -1;
	} else {
		const pid_t *tree = &in->pid;
		pid_t *members = NULL;
		size_t n = 1;
		int rc;

		if (in->cgroup != NULL) {
			n = instance_tree(in, NULL, &members);
			tree = members;
		} else {
			if (table != NULL) {
				free(in->tree);
				in->ntree = instance_tree(in, table, &in->tree);
			}
			if (in->tree != NULL) {
				tree = in->tree;
				n = in->ntree;
			}
		}
		if (source == MEMORY_CGROUP || source == MEMORY_RSS)
			rc = rss_sample(in, tree, n, &bytes);
		else
			rc = memory_read_procs(source, tree, n, &bytes);
		free(members);
		if (rc != 0)
			return -1;
	}
	memory_record(&in->mem, mono_now(), bytes);
	return 0;
}
