/*
 * leashd: the daemon's set-up, its signals, reload and shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "confdump.h"
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "leashd.h"
#include "log.h"
#include "notify.h"
#include "proc.h"
#include "program.h"
#include "protocol.h"
#include "rpc.h"
#include "spawn.h"
#include "supervisor.h"
#include "systemd.h"
#include "takeover.h"
#include "util.h"

#define EXIT_SWEEP_SECONDS 5.0
#define STATE_SAVE_INTERVAL 0.05	/* the state file at most this often */

struct leashd {
	struct ev_loop *loop;
	char *config_path;
	char **settings;		/* from the command line */
	struct config *cfg;
	char *pidfile;			/* written at start, NULL: none */
	char *statefile;		/* takeover.h's, beside the control socket */
	ev_tstamp state_saved;		/* when it was last written */
	ev_timer state_timer;		/* its next write, when one is due */
	struct logfile log;		/* leashd's own log file, if any */
	struct config *pending;		/* re-read by reloadConfig, for
					 * addProcessGroup ... */
	struct strv pending_names;	/* ... and its programs' names: a
					 * slot is NULL once added */
	struct supervisor sv;
	struct pool pool;
	bool shutting_down;
	bool restart;			/* execute leashd again once down */
	char **argv;			/* leashd's, to execute it again */
	bool supervisord;		/* run as supervisord (daemon.h) */
	bool upgrade_requested;		/* SIGUSR1 */
	int upgrade_fd;			/* leashctl upgrade's client, or -1 */
	bool upgrade_json;
	bool reload_requested;
	bool reopen_requested;

	struct control *control;
	struct rpc *rpc;		/* supervisord's XML-RPC, or NULL */
	struct notify *notify;		/* the workers' NOTIFY_SOCKET */
	struct systemd sd;		/* leashd's own reports to systemd */

	ev_signal sigterm, sigint, sigquit, sighup, sigusr1, sigusr2;
	ev_child any_child;
	ev_prepare prepare;
};

/* Every child leashd reaps, workers and adopted orphans alike. */
static void
any_child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	struct leashd *d = container_of(c, struct leashd, any_child);

	(void)loop;
	(void)revents;
	supervisor_reaped(&d->sv, c->rpid);
	log_debug("leashd", "reaped pid %d", (int)c->rpid);
}

/* A file beside the control socket: leash.sock -> leash.notify (the
 * workers' NOTIFY_SOCKET), leash.state (takeover.h). */
static char *
sibling_path(const char *control, const char *suffix)
{
	size_t n = strlen(control);

	if (n > 5 && strcmp(control + n - 5, ".sock") == 0)
		n -= 5;
	return xasprintf("%.*s.%s", (int)n, control, suffix);
}

static void
print_diag(const struct config_diag *diag, bool running)
{
	for (size_t i = 0; i < diag->nwarnings; i++) {
		if (running)
			log_warnx("config", "%s", diag->warnings[i]);
		else
			fprintf(stderr, "leashd: warning: %s\n", diag->warnings[i]);
	}
	for (size_t i = 0; i < diag->nerrors; i++) {
		if (running)
			log_warnx("config", "error: %s", diag->errors[i]);
		else
			fprintf(stderr, "leashd: error: %s\n", diag->errors[i]);
	}
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static void
leashd_ensure_logdir(struct config *c)
{
	if (mkdir(c->childlogdir, 0755) != 0 && errno != EEXIST)
		log_warn("leashd", "cannot create childlogdir %s", c->childlogdir);
}

static void
log_write(void *arg, const char *line, size_t n)
{
	logfile_write(arg, line, n);
}

/* [supervisord] logfile (rotated like a worker's log) and silent. */
static void
leashd_log_open(struct leashd *d)
{
	logfile_init(&d->log, d->cfg->logfile, d->cfg->logfile_maxbytes,
	    d->cfg->logfile_backups);
	if (d->log.path != NULL)
		log_tee(log_write, &d->log);
	log_stderr(!d->cfg->silent);
}

static void
leashd_log_close(struct leashd *d)
{
	log_tee(NULL, NULL);
	logfile_close(&d->log);
	logfile_free(&d->log);
}

static void
leashd_forget_pending(struct leashd *d)
{
	config_free(d->pending);
	d->pending = NULL;
	strv_free(&d->pending_names);
}

static bool
rpc_servers_equal(const struct config *a, const struct config *b)
{
	if (a->nrpc != b->nrpc || (a->metrics == NULL) != (b->metrics == NULL) ||
	    (a->metrics != NULL &&
	    !rpc_server_config_equal(a->metrics, b->metrics)))
		return false;
	for (size_t i = 0; i < a->nrpc; i++)
		if (!rpc_server_config_equal(a->rpc[i], b->rpc[i]))
			return false;
	return true;
}

/*
 * [supervisord]'s own keys on a reload: umask and the pid file apply at
 * once (the log file is reopened by the caller); what only a start can do
 * is named.
 */
static void
leashd_reload_daemon(struct leashd *d, const struct config *c)
{
	const struct config *o = d->cfg;

	if (c->umask != o->umask && c->umask >= 0)
		umask(c->umask);
	if (!same_string(c->pidfile, o->pidfile)) {
		daemon_pidfile_remove(d->pidfile);
		free(d->pidfile);
		d->pidfile = NULL;
		if (c->pidfile != NULL && daemon_pidfile_write(c->pidfile) == 0)
			d->pidfile = xstrdup(c->pidfile);
	}
	if (!same_string(c->user, o->user) ||
	    !same_string(c->directory, o->directory) ||
	    c->minfds != o->minfds || c->minprocs != o->minprocs ||
	    c->nodaemon != o->nodaemon)
		log_warnx("leashd", "[supervisord] user, directory, minfds, "
		    "minprocs and nodaemon changes take effect at the next start "
		    "of leashd");
	if (c->use_cgroups != o->use_cgroups)
		log_warnx("leashd", "use_cgroups = %s takes effect at the next "
		    "start of leashd; workers keep %s", c->use_cgroups ? "true" :
		    "false", d->sv.cg_usable ? "their cgroups" : "no cgroup");
}

/*
 * Reads the configuration file again.  With apply, makes the running
 * programs match it (SIGHUP, "update"); without, only reports ("reread").
 * Appends one line per difference (or per error) to report.  Returns -1
 * when the file is bad: then nothing changed.  Programs are moved out of
 * the new config into the running set, so each program owns its
 * program_config; what stays in the new config is freed with it.
 */
static int
leashd_reload(struct leashd *d, bool apply, struct strv *report)
{
	struct config_diag diag;
	struct config *c;
	struct program *p;
	struct program_config *pc;
	int added = 0, changed = 0, removed = 0;
	bool log_changed;
	char err[512];

	log_info("leashd", "%s %s", apply ? "reloading" : "re-reading",
	    d->config_path);
	c = config_load_settings(d->config_path, d->settings, &diag);
	print_diag(&diag, true);
	for (size_t i = 0; i < diag.nerrors; i++)
		strv_push(report, xasprintf("ERROR: %s", diag.errors[i]));
	config_diag_free(&diag);
	if (c != NULL && apply && listeners_apply(&d->sv.listeners, c->sockets,
	    c->nsockets, err, sizeof(err)) != 0) {
		log_warnx("config", "error: %s", err);
		strv_push(report, xasprintf("ERROR: %s", err));
		config_free(c);
		c = NULL;
	}
	if (c == NULL) {
		log_warnx("leashd", "reload rejected: the running configuration "
		    "stays in force");
		return -1;
	}

	for (size_t i = 0; i < d->pool.n; i++) {
		p = d->pool.v[i];
		if (p->removing || config_find_program(c, p->cfg->name) != NULL)
			continue;
		strv_push(report, xasprintf("%s: %s", p->cfg->name,
		    apply ? "removed process group" : "disappeared"));
		removed++;
		if (!apply)
			continue;
		events_emit(d->sv.events, EVENT_PROCESS_GROUP_REMOVED,
		    "groupname:%s\n", p->cfg->group);
		p->removing = true;
		program_config_free(p->next_cfg);
		p->next_cfg = NULL;
		program_stop(p);
	}
	for (size_t i = 0; i < c->nprograms; i++) {
		pc = c->programs[i];
		if ((p = pool_find(&d->pool, pc->name)) == NULL) {
			strv_push(report, xasprintf("%s: %s", pc->name,
			    apply ? "added process group" : "available"));
			added++;
			if (!apply)
				continue;
			c->programs[i] = NULL;
			p = program_new(&d->sv, pc);
			pool_add(&d->pool, p);
			events_emit(d->sv.events, EVENT_PROCESS_GROUP_ADDED,
			    "groupname:%s\n", pc->group);
			if (pc->autostart)
				program_start(p);
			continue;
		}
		if (p->next_cfg != NULL ? program_config_equal(p->next_cfg, pc) :
		    (!p->removing && program_config_equal(p->cfg, pc)))
			continue;
		if (p->next_cfg == NULL && !p->removing &&
		    !program_config_needs_restart(p->cfg, pc)) {
			strv_push(report, xasprintf("%s: %s", pc->name, apply ?
			    "updated process group (applied without a restart)" :
			    "changed (applies without a restart)"));
			changed++;
			if (!apply)
				continue;
			c->programs[i] = NULL;
			program_config_free(program_set_config(p, pc));
			continue;
		}
		strv_push(report, xasprintf("%s: %s", pc->name,
		    apply ? "updated process group" : "changed"));
		changed++;
		if (!apply)
			continue;
		c->programs[i] = NULL;
		program_config_free(p->next_cfg);
		p->next_cfg = pc;
		p->removing = false;
		program_stop(p);
	}
	if (!apply) {
		config_free(c);
		return 0;
	}
	for (size_t i = 0; i < report->n; i++)
		log_info("leashd", "%s", report->v[i]);
	leashd_forget_pending(d);
	log_setlevel(c->loglevel);
	leashd_ensure_logdir(c);
	log_changed = !same_string(c->logfile, d->cfg->logfile) ||
	    c->logfile_maxbytes != d->cfg->logfile_maxbytes ||
	    c->logfile_backups != d->cfg->logfile_backups ||
	    c->silent != d->cfg->silent;
	if (log_changed)
		leashd_log_close(d);
	if (!same_string(c->control_socket, d->cfg->control_socket) ||
	    !same_string(c->control_group, d->cfg->control_group))
		log_warnx("leashd", "control_socket and control_group changes "
		    "take effect at the next start of leashd");
	if (!rpc_servers_equal(c, d->cfg))
		log_warnx("leashd", "[unix_http_server], [inet_http_server] "
		    "and metrics changes take effect at the next start of "
		    "leashd");
	leashd_reload_daemon(d, c);
	config_free(d->cfg);
	d->cfg = c;
	if (log_changed)
		leashd_log_open(d);
	events_set_identifier(d->sv.events, c->identifier);
	log_info("leashd", "reloaded: %d added, %d changed, %d removed", added,
	    changed, removed);
	supervisor_changed(&d->sv);
	return 0;
}

/*
 * supervisord's reloadConfig: the file is read again and kept (its
 * programs are what addProcessGroup starts), and nothing running changes.
 */
static int
leashd_reread(struct leashd *d, struct strv *added, struct strv *changed,
    struct strv *removed, struct strv *errors)
{
	struct config_diag diag;
	struct config *c;
	struct program *p;

	log_info("leashd", "re-reading %s", d->config_path);
	c = config_load_settings(d->config_path, d->settings, &diag);
	print_diag(&diag, true);
	for (size_t i = 0; i < diag.nerrors; i++)
		strv_push(errors, xstrdup(diag.errors[i]));
	config_diag_free(&diag);
	if (c == NULL)
		return -1;
	leashd_forget_pending(d);
	d->pending = c;
	/* supervisord reports groups: a [group:x] once, by its name. */
	for (size_t i = 0; i < c->nprograms; i++) {
		const struct program_config *pc = c->programs[i];
		strv_push(&d->pending_names, xstrdup(pc->name));
		p = pool_find(&d->pool, pc->name);
		if (p == NULL || p->removing)
			strv_push_unique(added, pc->group);
		else if (!program_config_equal(p->next_cfg ? p->next_cfg : p->cfg,
		    pc))
			strv_push_unique(changed, pc->group);
	}
	for (size_t i = 0; i < d->pool.n; i++) {
		p = d->pool.v[i];
		if (!p->removing && config_find_program(c, p->cfg->name) == NULL)
			strv_push_unique(removed, p->cfg->group);
	}
	return 0;
}

/* The pool's programs of group name, not being removed. */
static size_t
pool_group(struct pool *pool, const char *name, struct program **first)
{
	size_t n = 0;

	*first = NULL;
	for (size_t i = 0; i < pool->n; i++) {
		struct program *p = pool->v[i];
		if (!p->removing && strcmp(p->cfg->group, name) == 0) {
			if (n++ == 0)
				*first = p;
		}
	}
	return n;
}

/* Starts every program of group name ([group:x], or a program's own) of
 * the re-read file. */
static int
leashd_add_group(struct leashd *d, const char *name)
{
	struct program_config *pc;
	struct program *p;
	int added = 0;

	if (pool_group(&d->pool, name, &p) > 0)
		return 1;
	for (size_t i = 0; d->pending != NULL && i < d->pending->nprograms; i++) {
		if ((pc = d->pending->programs[i]) == NULL ||
		    strcmp(pc->group, name) != 0)
			continue;
		if (pool_find(&d->pool, pc->name) != NULL)
			return -1;	/* a removing program of that name */
		d->pending->programs[i] = NULL;
		p = program_new(&d->sv, pc);
		pool_add(&d->pool, p);
		added++;
		if (pc->autostart)
			program_start(p);
	}
	if (added == 0)
		return -1;
	log_info("leashd", "%s: added process group", name);
	events_emit(d->sv.events, EVENT_PROCESS_GROUP_ADDED, "groupname:%s\n",
	    name);
	supervisor_changed(&d->sv);
	return 0;
}

/*
 * A stopped group's programs leave the pool at once, so that
 * addProcessGroup can follow in the next call.  Their configs go back to
 * the re-read file when they came from there (supervisord keeps its
 * configs apart from its groups: a removed group can be added again).
 */
static int
leashd_remove_group(struct leashd *d, const char *name)
{
	struct program *p;

	if (pool_group(&d->pool, name, &p) == 0)
		return -1;
	for (size_t i = 0; i < d->pool.n; i++) {
		p = d->pool.v[i];
		if (!p->removing && strcmp(p->cfg->group, name) == 0 &&
		    !program_is_down(p))
			return 1;
	}
	for (size_t i = d->pool.n; i-- > 0;) {
		p = d->pool.v[i];
		if (p->removing || strcmp(p->cfg->group, name) != 0)
			continue;
		for (size_t j = 0; d->pending != NULL && j < d->pending_names.n;
		    j++) {
			if (d->pending->programs[j] == NULL &&
			    strcmp(d->pending_names.v[j], p->cfg->name) == 0) {
				d->pending->programs[j] = p->cfg;
				p->cfg = NULL;
				break;
			}
		}
		program_config_free(p->cfg);
		program_config_free(p->next_cfg);
		program_free(p);
		pool_remove(&d->pool, i);
	}
	log_info("leashd", "%s: removed process group", name);
	events_emit(d->sv.events, EVENT_PROCESS_GROUP_REMOVED, "groupname:%s\n",
	    name);
	supervisor_changed(&d->sv);
	return 0;
}

/* The programs of the file as last read: the re-read one's, or the
 * running ones. */
static const struct program_config **
leashd_configured(struct leashd *d, size_t *n)
{
	const struct program_config **v;
	struct program *p;

	*n = 0;
	if (d->pending == NULL) {
		v = xcalloc(d->pool.n + 1, sizeof(*v));
		for (size_t i = 0; i < d->pool.n; i++)
			if (!d->pool.v[i]->removing)
				v[(*n)++] = d->pool.v[i]->cfg;
		return v;
	}
	v = xcalloc(d->pending_names.n + 1, sizeof(*v));
	for (size_t i = 0; i < d->pending_names.n; i++) {
		if (d->pending->programs[i] != NULL)
			v[(*n)++] = d->pending->programs[i];
		else if ((p = pool_find(&d->pool, d->pending_names.v[i])) != NULL)
			v[(*n)++] = p->cfg;
	}
	return v;
}

/* Kills and reaps whatever descends from leashd, so nothing outlives it. */
static void
leashd_sweep(struct leashd *d)
{
	struct proc_table t = { 0 };
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	ev_tstamp until = mono_now() + EXIT_SWEEP_SECONDS;
	size_t killed;

	spawn_stop_spawner();
	do {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		proc_scan(&t);
		killed = 0;
		for (size_t i = 0; i < t.n; i++) {
			if (t.p[i].ppid == d->sv.self) {
				kill(t.p[i].pid, SIGKILL);
				killed++;
			}
		}
		if (killed > 0) {
			log_warnx("leashd", "killing %zu leftover processes", killed);
			nanosleep(&ts, NULL);
		}
	} while (killed > 0 && mono_now() < until);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	proc_table_free(&t);
}

/* Shutdown stops programs in reverse priority (a group's, then their
 * own), one priority at a time: listener pools (-1) last. */
static void
leashd_shutdown_step(struct leashd *d)
{
	const struct program_config *top = NULL;

	for (size_t i = 0; i < d->pool.n; i++) {
		const struct program_config *c = d->pool.v[i]->cfg;
		if (program_is_down(d->pool.v[i]))
			continue;
		if (top == NULL || c->group_priority > top->group_priority ||
		    (c->group_priority == top->group_priority &&
		    c->priority > top->priority))
			top = c;
	}
	if (top != NULL) {
		long gp = top->group_priority, pr = top->priority;
		for (size_t i = 0; i < d->pool.n; i++)
			if (d->pool.v[i]->cfg->group_priority == gp &&
			    d->pool.v[i]->cfg->priority == pr)
				program_stop(d->pool.v[i]);
		return;
	}
	if (d->sv.nstrays > 0)
		return;
	leashd_sweep(d);
	log_info("leashd", "all workers stopped, exiting");
	ev_break(d->loop, EVBREAK_ALL);
}

/*
 * Executes path with leashd's own command line (in front: it is in the
 * background already).  Returns only when execv fails.
 */
static void
leashd_exec(struct leashd *d, const char *path)
{
	size_t n = 0;
	char **again;

	while (d->argv[n] != NULL)
		n++;
	again = xcalloc(n + 2, sizeof(*again));
	memcpy(again, d->argv, n * sizeof(*again));
	again[n] = d->supervisord ? "--nodaemon" : NULL;
	execv(path, again);
	free(again);
}

/* The binary at leashd's path, which may have been replaced since. */
static int
leashd_binary(char *path, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", path, len - 1);
	const char *deleted = " (deleted)";
	size_t dl = strlen(deleted);

	if (n <= 0)
		return -1;
	path[n] = '\0';
	if ((size_t)n > dl && strcmp(path + n - dl, deleted) == 0)
		path[n - dl] = '\0';
	return 0;
}

/*
 * Runs the binary to be executed with args; its first line of output in
 * out.  0 when it ran and exited 0.
 */
static int
leashd_try_binary(const char *path, char *const *args, char *out,
    size_t outlen)
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(path, args);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && got < (ssize_t)outlen - 1 &&
	    (n = read(p[0], out + got, outlen - 1 - got)) != 0)
		if (n > 0)
			got += n;
		else if (errno != EINTR)
			break;
	close(p[0]);
	out[got > 0 ? got : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Can the binary start and read the file?  Its version in version. */
static int
leashd_upgrade_check(struct leashd *d, char *path, size_t pathlen,
    char *version, size_t vlen, char *err, size_t errlen)
{
	char out[512];

	if (leashd_binary(path, pathlen) != 0) {
		snprintf(err, errlen, "cannot find leashd's binary: %s",
		    strerror(errno));
		return -1;
	}
	if (access(path, X_OK) != 0) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		return -1;
	}
	if (leashd_try_binary(path, (char *[]){ path, "--version", NULL },
	    out, sizeof(out)) != 0 || strncmp(out, "leashd ", 7) != 0) {
		snprintf(err, errlen, "%.300s does not start as leashd: %.150s",
		    path, out[0] ? out : "no output");
		return -1;
	}
	snprintf(version, vlen, "%.32s", out + 7);
	if (leashd_try_binary(path, (char *[]){ path, "--test", "-c",
	    d->config_path, NULL }, out, sizeof(out)) != 0) {
		snprintf(err, errlen, "%.200s refuses %.150s: %.150s", path,
		    d->config_path, out);
		return -1;
	}
	return 0;
}

/* The answer leashctl upgrade waits for, written by either image. */
static void
leashd_upgrade_answer(int fd, bool json, int code, const char *text)
{
	struct buf b = { 0 };

	if (fd < 0)
		return;
	if (json) {
		buf_puts(&b, code == 0 ? "{\"ok\":true,\"message\":" :
		    "{\"error\":");
		buf_json_string(&b, text);
		buf_puts(&b, "}\n");
	} else
		buf_printf(&b, code == 0 ? "%s\n" : "ERROR (%s)\n", text);
	buf_printf(&b, "%s%d\n", PROTOCOL_END, code);
	(void)!write(fd, b.p, b.n);
	buf_reset(&b);
	close(fd);
}

/*
 * leashctl upgrade, SIGUSR1: the binary is checked, the state file is
 * written with every descriptor the new image needs (takeover.h), and
 * leashd executes itself in place: same pid, every process kept.  When
 * anything fails before the exec, leashd runs on as it was.
 */
static void
leashd_upgrade(struct leashd *d)
{
	char path[4096], version[64], err[512], out[512], fd[16];
	struct strv carry = { 0 };

	d->upgrade_requested = false;
	if (leashd_upgrade_check(d, path, sizeof(path), version,
	    sizeof(version), err, sizeof(err)) != 0)
		goto fail;
	log_info("leashd", "upgrading: executing %s (%s -> %s), every process "
	    "kept", path, PACKAGE_VERSION, version);
	systemd_reloading(&d->sd);
	strv_push(&carry, xstrdup("from"));
	strv_push(&carry, xstrdup(PACKAGE_VERSION));
	if (d->upgrade_fd >= 0) {
		snprintf(fd, sizeof(fd), "%d", d->upgrade_fd);
		strv_push(&carry, xstrdup("reply"));
		strv_push(&carry, xstrdup(fd));
		strv_push(&carry, xstrdup("reply-json"));
		strv_push(&carry, xstrdup(d->upgrade_json ? "1" : "0"));
		fcntl(d->upgrade_fd, F_SETFD, 0);
	}
	if (takeover_save(d->statefile, &d->sv, &d->pool, &carry) != 0)
		snprintf(err, sizeof(err), "cannot write %.300s", d->statefile);
	else if (leashd_try_binary(path, (char *[]){ path, "--check-state",
	    d->statefile, NULL }, out, sizeof(out)) != 0)
		snprintf(err, sizeof(err), "%.200s cannot take this leashd's "
		    "processes over: %.200s", path, out);
	else {
		leashd_log_close(d);
		leashd_exec(d, path);
		leashd_log_open(d);
		snprintf(err, sizeof(err), "cannot execute %.300s: %s", path,
		    strerror(errno));
	}
	strv_free(&carry);
	takeover_uncarry(&d->sv, &d->pool);
	takeover_save(d->statefile, &d->sv, &d->pool, NULL);
	systemd_reloaded(&d->sd);
fail:
	log_warnx("leashd", "upgrade: %s; leashd runs on as it was", err);
	leashd_upgrade_answer(d->upgrade_fd, d->upgrade_json, 1, err);
	d->upgrade_fd = -1;
}

/* The new image serves: the answer leashctl upgrade waits for. */
static void
leashd_upgraded(const struct state *st, bool own)
{
	const char *from = state_carry(st, "from");
	const char *reply = state_carry(st, "reply");
	const char *json = state_carry(st, "reply-json");
	char *text;
	int fd;

	if (!own)
		return;
	text = xasprintf("upgraded: leashd %s -> %s (pid %d)",
	    from ? from : "?", PACKAGE_VERSION, (int)getpid());
	log_info("leashd", "%s", text);
	if (reply != NULL && (fd = atoi(reply)) > 2 &&
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == 0)
		leashd_upgrade_answer(fd, json != NULL && strcmp(json, "1") == 0,
		    0, text);
	free(text);
}

static int
leashd_upgrade_cb(void *arg, int fd, bool json, char *err, size_t errlen)
{
	struct leashd *d = arg;

	if (d->shutting_down || d->upgrade_fd >= 0) {
		snprintf(err, errlen, "%s", d->shutting_down ?
		    "leashd is shutting down" : "an upgrade is under way");
		return -1;
	}
	if ((d->upgrade_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		snprintf(err, errlen, "dup: %s", strerror(errno));
		return -1;
	}
	d->upgrade_json = json;
	supervisor_changed(&d->sv);
	return 0;
}

/*
 * The state file follows the processes, at most every STATE_SAVE_INTERVAL
 * and a further STATE_SAVE_INTERVAL per thousand processes: a mass start
 * changes it a thousand times, and at 10,000 workers each write is a
 * megabyte.  A process spawned since the last write is still found after
 * a crash when it has a cgroup (supervisor_cgroups_leftover).
 */
static void
leashd_save_state(struct leashd *d)
{
	ev_tstamp now = mono_now();
	double every = STATE_SAVE_INTERVAL * (1 + d->sv.state_procs / 1000);

	if (now - d->state_saved < every) {
		if (!ev_is_active(&d->state_timer))
			supervisor_timer(&d->sv, &d->state_timer,
			    d->state_saved + every - now);
		return;
	}
	ev_timer_stop(d->loop, &d->state_timer);
	d->sv.state_changed = false;
	d->state_saved = now;
	takeover_save(d->statefile, &d->sv, &d->pool, NULL);
}

static void
state_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct leashd *d = container_of(t, struct leashd, state_timer);

	(void)loop;
	(void)revents;
	leashd_save_state(d);
}

/* Acts on what handlers recorded, before the loop blocks again. */
static void
leashd_reconcile(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct leashd *d = container_of(w, struct leashd, prepare);
	struct program *p, *np;

	(void)loop;
	(void)revents;
	if (d->reopen_requested) {
		d->reopen_requested = false;
		log_info("leashd", "reopening log files");
		logfile_reopen(&d->log);
		for (size_t i = 0; i < d->pool.n; i++) {
			p = d->pool.v[i];
			for (size_t j = 0; j < p->nworkers; j++) {
				logfile_reopen(&p->workers[j].outlog);
				logfile_reopen(&p->workers[j].errlog);
			}
		}
	}
	if ((d->upgrade_requested || d->upgrade_fd >= 0) && !d->shutting_down)
		leashd_upgrade(d);
	if (d->reload_requested && !d->shutting_down) {
		struct strv report = { 0 };
		d->reload_requested = false;
		systemd_reloading(&d->sd);
		leashd_reload(d, true, &report);
		systemd_reloaded(&d->sd);
		strv_free(&report);
	}
	control_collect(d->control);
	if (d->sv.state_changed)
		leashd_save_state(d);
	if (!d->sv.changed)
		return;
	d->sv.changed = false;
	for (size_t i = 0; i < d->pool.n; i++) {
		p = d->pool.v[i];
		if (!(p->removing || p->next_cfg != NULL) || !program_is_down(p))
			continue;
		if (p->removing) {
			program_config_free(p->cfg);
			program_free(p);
			pool_remove(&d->pool, i);
		} else {
			np = program_new(&d->sv, p->next_cfg);
			np->pool = &d->pool;
			np->seq = p->seq;
			for (size_t j = 0; j < p->nworkers && j < np->nworkers; j++)
				memcpy(np->workers[j].restarts,
				    p->workers[j].restarts,
				    sizeof(np->workers[j].restarts));
			program_config_free(p->cfg);
			program_free(p);
			d->pool.v[i] = np;
			if (np->cfg->autostart && !d->shutting_down)
				for (size_t j = 0; j < np->nworkers; j++)
					worker_start(&np->workers[j],
					    REASON_RELOAD);
		}
		i = (size_t)-1;	/* the array changed: start over */
		pool_sort(&d->pool);
	}
	/* The queue advances the moment a replacement settles. */
	for (size_t i = 0; i < d->pool.n; i++)
		program_advance(d->pool.v[i]);
	control_update(d->control);
	rpc_update(d->rpc);
	systemd_update(&d->sd);
	if (d->shutting_down)
		leashd_shutdown_step(d);
}

/* Stops every worker, then exits the loop. */
static void
leashd_shutdown(struct leashd *d)
{
	if (d->shutting_down) {
		log_info("leashd", "already shutting down");
		return;
	}
	d->shutting_down = true;
	systemd_stopping(&d->sd);
	events_emit(d->sv.events, EVENT_SUPERVISOR_STATE_CHANGE_STOPPING, "%s", "");
	for (size_t i = 0; i < d->pool.n; i++)
		for (size_t j = 0; j < d->pool.v[i]->nworkers; j++)
			d->pool.v[i]->workers[j].want = WANT_DOWN;
	supervisor_changed(&d->sv);
}

/* control's requests (struct control_daemon). */
static int
leashd_reload_cb(void *arg, bool apply, struct strv *report)
{
	return leashd_reload(arg, apply, report);
}

static void
leashd_shutdown_cb(void *arg, bool restart)
{
	struct leashd *d = arg;

	if (restart && !d->shutting_down) {
		log_info("leashd", "restarting: stopping every worker, then "
		    "starting leashd again");
		d->restart = true;
	}
	leashd_shutdown(d);
}

static bool
leashd_shutting_down_cb(void *arg)
{
	return ((struct leashd *)arg)->shutting_down;
}

static int
leashd_reread_cb(void *arg, struct strv *added, struct strv *changed,
    struct strv *removed, struct strv *errors)
{
	return leashd_reread(arg, added, changed, removed, errors);
}

static int
leashd_add_group_cb(void *arg, const char *name)
{
	return leashd_add_group(arg, name);
}

static int
leashd_remove_group_cb(void *arg, const char *name)
{
	return leashd_remove_group(arg, name);
}

static const char *
leashd_identifier_cb(void *arg)
{
	return ((struct leashd *)arg)->cfg->identifier;
}

static struct logfile *
leashd_logfile_cb(void *arg)
{
	return &((struct leashd *)arg)->log;
}

static const struct program_config **
leashd_configured_cb(void *arg, size_t *n)
{
	return leashd_configured(arg, n);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct leashd *d = w->data;

	(void)loop;
	(void)revents;
	switch (w->signum) {
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		log_info("leashd", "received SIG%s: stopping all workers",
		    w->signum == SIGTERM ? "TERM" : w->signum == SIGINT ? "INT" :
		    "QUIT");
		leashd_shutdown(d);
		break;
	case SIGHUP:
		d->reload_requested = true;
		break;
	case SIGUSR1:
		d->upgrade_requested = true;
		break;
	case SIGUSR2:
		d->reopen_requested = true;
		break;
	}
	supervisor_changed(&d->sv);
}

/* Workers inherit 0, 1 and 2: make sure they are open, if only on null. */
static void
ensure_stdio(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static void
signal_watch(struct leashd *d, ev_signal *w, int sig)
{
	ev_signal_init(w, signal_cb, sig);
	w->data = d;
	ev_signal_start(d->loop, w);
}

int
leashd_main(int argc, char **argv)
{
	/* The command line lives as long as leashd (static: every early
	 * return keeps it reachable). */
	static struct daemon_args args;
	struct leashd d = { 0 };
	struct control_daemon dm;
	struct config_diag diag;
	char err[512], *sockpath, *notifypath;
	struct state taken;
	struct strv keep = { 0 };
	bool own;
	int rc, ready, taking;

	if ((rc = daemon_args_parse(&args, argc, argv)) >= 0)
		return rc;
	if (args.check_state != NULL) {
		rc = takeover_check(args.check_state);
		daemon_args_free(&args);
		return rc;
	}
	d.config_path = args.config;
	d.settings = args.settings.v;
	d.argv = argv;
	d.supervisord = args.supervisord;
	d.upgrade_fd = -1;
	ensure_stdio();
	d.cfg = config_load_settings(d.config_path, d.settings, &diag);
	if (args.dump) {
		char *json = config_dump(d.cfg, &diag);
		fputs(json, stdout);
		free(json);
	} else
		print_diag(&diag, false);
	config_diag_free(&diag);
	if (d.cfg == NULL) {
		if (!args.dump)
			fprintf(stderr, "leashd: %s: configuration has errors, "
			    "nothing started\n", d.config_path);
		daemon_args_free(&args);
		return CONFIG_EX_CONFIG;
	}
	if (args.test || args.dump) {
		if (args.test)
			printf("leashd: %s: configuration ok (%zu programs)\n",
			    d.config_path, d.cfg->nprograms);
		config_free(d.cfg);
		daemon_args_free(&args);
		return 0;
	}
	log_setlevel(d.cfg->loglevel);
	if (daemon_setup(d.cfg, args.supervisord, &ready, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "leashd: error: %s\n", err);
		config_free(d.cfg);
		daemon_args_free(&args);
		return 1;
	}
	leashd_log_open(&d);

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		log_warn("leashd", "cannot become a child subreaper; orphans of "
		    "workers will not be reaped by leashd");
	signal(SIGPIPE, SIG_IGN);
	if (spawn_raise_nofile() != 0)
		log_warn("leashd", "cannot raise the open files limit");
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (d.loop == NULL)
		fatalx("leashd", "cannot initialise libev");
	supervisor_init(&d.sv, d.loop);
	signal_watch(&d, &d.sigterm, SIGTERM);
	signal_watch(&d, &d.sigint, SIGINT);
	signal_watch(&d, &d.sigquit, SIGQUIT);
	signal_watch(&d, &d.sighup, SIGHUP);
	signal_watch(&d, &d.sigusr1, SIGUSR1);
	signal_watch(&d, &d.sigusr2, SIGUSR2);
	ev_child_init(&d.any_child, any_child_cb, 0, 0);
	ev_child_start(d.loop, &d.any_child);
	ev_prepare_init(&d.prepare, leashd_reconcile);
	ev_prepare_start(d.loop, &d.prepare);

	sockpath = config_control_socket(d.cfg);
	dm.sv = &d.sv;
	dm.pool = &d.pool;
	dm.reload = leashd_reload_cb;
	dm.shutdown = leashd_shutdown_cb;
	dm.shutting_down = leashd_shutting_down_cb;
	dm.reread = leashd_reread_cb;
	dm.add_group = leashd_add_group_cb;
	dm.remove_group = leashd_remove_group_cb;
	dm.configured = leashd_configured_cb;
	dm.identifier = leashd_identifier_cb;
	dm.logfile = leashd_logfile_cb;
	dm.upgrade = leashd_upgrade_cb;
	dm.arg = &d;
	/* Before the control socket: an upgrade carried it over. */
	d.statefile = sibling_path(sockpath, "state");
	if ((taking = takeover_load(d.statefile, &taken, &own, err,
	    sizeof(err))) < 0) {
		fprintf(stderr, "leashd: error: %s\n", err);
		free(sockpath);
		free(d.statefile);
		config_free(d.cfg);
		ev_loop_destroy(d.loop);
		return 1;
	}
	d.control = control_listen(&dm, sockpath, d.cfg->control_group, err,
	    sizeof(err));
	if (d.control == NULL) {
		fprintf(stderr, "leashd: %s\n", err);
		if (taking > 0)
			state_free(&taken);
		free(d.statefile);
		free(sockpath);
		config_free(d.cfg);
		ev_loop_destroy(d.loop);
		return 1;
	}
	if (taking > 0)
		takeover_sockets(&taken, own, &d.sv.listeners);
	if (rpc_open(&dm, d.cfg, &d.rpc, err, sizeof(err)) != 0 ||
	    listeners_apply(&d.sv.listeners, d.cfg->sockets, d.cfg->nsockets,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "leashd: error: %s\n", err);
		free(sockpath);
		free(d.statefile);
		if (taking > 0)
			state_free(&taken);
		rpc_close(d.rpc);
		control_close(d.control);
		config_free(d.cfg);
		ev_loop_destroy(d.loop);
		return CONFIG_EX_CONFIG;
	}
	notifypath = sibling_path(sockpath, "notify");
	if ((d.notify = notify_open(&d.sv, &d.pool, notifypath, err,
	    sizeof(err))) == NULL)
		log_warnx("notify", "%s: workers cannot use sd_notify", err);
	free(notifypath);
	free(sockpath);
	d.sv.events = events_new(&d.sv);
	events_set_identifier(d.sv.events, d.cfg->identifier);
	output_set_filter(events_output);
	systemd_init(&d.sd, &d.sv, &d.pool);
	supervisor_cgroups(&d.sv, d.cfg->use_cgroups);
	leashd_ensure_logdir(d.cfg);
	log_info("leashd", "leashd %s started (pid %d, %s, %zu programs)",
	    PACKAGE_VERSION, (int)d.sv.self, d.config_path, d.cfg->nprograms);
	if (d.cfg->pidfile != NULL && daemon_pidfile_write(d.cfg->pidfile) == 0)
		d.pidfile = xstrdup(d.cfg->pidfile);
	daemon_ready(&ready);
	for (size_t i = 0; i < d.cfg->nprograms; i++) {
		pool_add(&d.pool, program_new(&d.sv, d.cfg->programs[i]));
		d.cfg->programs[i] = NULL;
	}
	d.cfg->nprograms = 0;
	if (taking > 0) {
		takeover_adopt(&taken, own, &d.sv, &d.pool, &keep);
		leashd_upgraded(&taken, own);
		state_free(&taken);
	}
	sockets_inherit_done();
	supervisor_cgroups_leftover(&d.sv, &keep);
	strv_free(&keep);
	ev_timer_init(&d.state_timer, state_timer_cb, 0., 0.);
	leashd_save_state(&d);
	/* supervisord's order: each group added, then RUNNING. */
	for (size_t i = 0; i < d.pool.n; i++)
		if (i == 0 || strcmp(d.pool.v[i - 1]->cfg->group,
		    d.pool.v[i]->cfg->group) != 0)
			events_emit(d.sv.events, EVENT_PROCESS_GROUP_ADDED,
			    "groupname:%s\n", d.pool.v[i]->cfg->group);
	events_emit(d.sv.events, EVENT_SUPERVISOR_STATE_CHANGE_RUNNING, "%s", "");
	for (size_t i = 0; i < d.pool.n; i++)
		if (d.pool.v[i]->cfg->autostart)
			program_start(d.pool.v[i]);

	ev_run(d.loop, 0);

	ev_timer_stop(d.loop, &d.state_timer);
	/* Every process is gone: nothing for a successor to take over. */
	if (unlink(d.statefile) != 0 && errno != ENOENT)
		log_warn("leashd", "cannot remove %s", d.statefile);
	free(d.statefile);
	rpc_close(d.rpc);
	control_close(d.control);
	notify_close(d.notify);
	systemd_close(&d.sd);
	listeners_close(&d.sv.listeners);
	pool_free(&d.pool);
	output_set_filter(NULL);
	events_free(d.sv.events);
	supervisor_free(&d.sv);
	config_free(d.cfg);
	leashd_forget_pending(&d);
	ev_loop_destroy(d.loop);
	daemon_pidfile_remove(d.pidfile);
	free(d.pidfile);
	if (d.restart) {
		/* Every descriptor is close-on-exec: the new image binds
		 * its sockets afresh. */
		log_info("leashd", "executing %s again", argv[0]);
		leashd_log_close(&d);
		leashd_exec(&d, "/proc/self/exe");
		log_warn("leashd", "cannot execute leashd again");
		return 1;
	}
	leashd_log_close(&d);
	daemon_args_free(&args);
	return 0;
}
