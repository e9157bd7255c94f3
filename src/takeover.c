#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "instance.h"
#include "log.h"
#include "proc.h"
#include "program.h"
#include "sockets.h"
#include "supervisor.h"
#include "takeover.h"
#include "util.h"
#include "worker.h"

#define ORPHAN_STOP_WAIT 10.0	/* SIGKILL after, when its program is gone */
#define UNLISTED_WAIT 2.0	/* for those killed before sockets are bound */

struct save {
	struct state *st;
	bool carry;
};

static void
inheritable(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, 0);
}

static void
not_inheritable(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static bool
save_instance(struct instance *in, const void *arg)
{
	const struct save *s = arg;
	struct state_process *p;

	if (in->pid <= 0)
		return false;
	if (in->kernel_start == 0)
		in->kernel_start = state_starttime(in->pid);
	p = state_add_process(s->st);
	p->fullname = xstrdup(in->spec->fullname);
	p->pid = in->pid;
	p->pgid = in->pgid;
	p->starttime = in->kernel_start;
	p->role = in->role;
	p->started = in->start_time;
	p->cmdhash = state_command_hash(in->spec->pc->argv);
	snprintf(p->token, sizeof(p->token), "%s", in->token);
	p->cgroup = in->cgroup != NULL ? xstrdup(in->cgroup) : NULL;
	if (s->carry) {
		p->out_fd = in->out.fd;
		p->err_fd = in->err.fd;
		inheritable(p->out_fd);
		inheritable(p->err_fd);
	}
	return false;
}

static void
carry_socket(void *arg, const char *key, int fd)
{
	char value[16];

	if (strpbrk(key, " \t\n") != NULL)
		return;		/* the line could not be read back */
	snprintf(value, sizeof(value), "%d", fd);
	state_add_carry(arg, key, value);
	inheritable(fd);
}

int
takeover_save(const char *path, struct supervisor *sv, struct pool *pool,
    const struct strv *carries)
{
	bool carry = carries != NULL;
	static unsigned long long self_start;
	struct state st = { .leashd = sv->self };
	struct save s = { &st, carry };
	const struct listener *l;
	char *text;
	int rc;

	if (self_start == 0)
		self_start = state_starttime(sv->self);
	st.starttime = self_start;
	for (size_t i = 0; i < sv->listeners.n; i++) {
		l = &sv->listeners.v[i];
		if (strpbrk(l->cfg->listen, " \t\n") != NULL)
			continue;	/* the line could not be read back */
		state_add_socket(&st, l->cfg->name, l->cfg->listen,
		    state_socket_inode(l->fd), carry ? l->fd : -1);
		if (carry)
			inheritable(l->fd);
	}
	pool_find_instance(pool, save_instance, &s);
	sv->state_procs = st.nprocs;
	if (carry) {
		sockets_each(carry_socket, &st);
		for (size_t i = 0; i + 1 < carries->n; i += 2)
			state_add_carry(&st, carries->v[i], carries->v[i + 1]);
	}
	text = state_format(&st);
	if ((rc = write_file_atomic(path, text, strlen(text))) != 0)
		log_warn("takeover", "cannot write the state file %s", path);
	free(text);
	state_free(&st);
	return rc;
}

static bool
uncarry_instance(struct instance *in, const void *arg)
{
	(void)arg;
	not_inheritable(in->out.fd);
	not_inheritable(in->err.fd);
	return false;
}

static void
uncarry_socket(void *arg, const char *key, int fd)
{
	(void)arg;
	(void)key;
	not_inheritable(fd);
}

void
takeover_uncarry(struct supervisor *sv, struct pool *pool)
{
	for (size_t i = 0; i < sv->listeners.n; i++)
		not_inheritable(sv->listeners.v[i].fd);
	pool_find_instance(pool, uncarry_instance, NULL);
	sockets_each(uncarry_socket, NULL);
}

/* Whether token is that of a process st names that still runs. */
static bool
listed_alive(const struct state *st, const char *token)
{
	for (size_t i = 0; i < st->nprocs; i++)
		if (strcmp(st->procs[i].token, token) == 0 &&
		    state_same_process(st->procs[i].pid, st->procs[i].starttime))
			return true;
	return false;
}

/*
 * Processes of the dead leashd its state file does not account for -- a
 * worker spawned after the last write, what is left of a listed one that
 * died meanwhile -- found by the token in their environment and killed
 * before anything binds the sockets they may hold.  A process whose
 * parent is the dead leashd's pid belongs to whoever has that pid now.
 */
static void
kill_unlisted(const struct state *st)
{
	struct proc_table t = { 0 };
	struct proc_entry e;
	char prefix[24], token[48];
	pid_t *v = NULL;
	size_t n = 0, plen;
	double until;

	snprintf(prefix, sizeof(prefix), "%d-", (int)st->leashd);
	plen = strlen(prefix);
	if (proc_scan(&t) != 0)
		return;
	for (size_t i = 0; i < t.n; i++) {
		if (t.p[i].ppid == st->leashd || t.p[i].pid == getpid())
			continue;
		proc_token(t.p[i].pid, token, sizeof(token));
		if (strncmp(token, prefix, plen) != 0 ||
		    listed_alive(st, token))
			continue;
		log_warnx("takeover", "pid %d (token %s) of leashd pid %d is not "
		    "in its state file: SIGKILL", (int)t.p[i].pid, token,
		    (int)st->leashd);
		kill(t.p[i].pid, SIGKILL);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = t.p[i].pid;
	}
	proc_table_free(&t);
	/* Gone (or a zombie, whose sockets are closed) before a bind. */
	until = mono_now() + UNLISTED_WAIT;
	for (size_t i = 0; i < n; i++)
		while (proc_read_stat(v[i], &e) == 0 && mono_now() < until)
			usleep(1000);
	free(v);
}

int
takeover_load(const char *path, struct state *st, bool *own, char *err,
    size_t errlen)
{
	char why[256], *text;
	size_t len, skipped;

	*own = false;
	if ((text = read_file_text(path, &len)) == NULL) {
		if (errno != ENOENT)
			log_warn("takeover", "cannot read the state file %s",
			    path);
		return 0;
	}
	if (state_parse(text, len, st, &skipped, why, sizeof(why)) != 0) {
		log_warnx("takeover", "%s: %s: nothing to take over", path, why);
		free(text);
		return 0;
	}
	free(text);
	if (skipped > 0)
		log_warnx("takeover", "%s: %zu lines that do not read as leash "
		    "state skipped", path, skipped);
	if (st->leashd == getpid()) {
		*own = true;
		for (size_t i = 0; i + 1 < st->carry.n; i += 2)
			if (strchr(st->carry.v[i], ':') != NULL)
				sockets_inherit(st->carry.v[i],
				    atoi(st->carry.v[i + 1]));
	} else if (state_same_process(st->leashd, st->starttime)) {
		snprintf(err, errlen, "another leashd is running: pid %d, "
		    "which keeps %s", (int)st->leashd, path);
		state_free(st);
		return -1;
	}
	if (!*own)
		kill_unlisted(st);
	if (st->nprocs == 0 && !*own) {
		state_free(st);
		return 0;
	}
	if (!*own)
		log_warnx("takeover", "leashd pid %d is gone and left %zu "
		    "processes (%s): taking them over", (int)st->leashd,
		    st->nprocs, path);
	return 1;
}

/* The descriptor of a process that is the socket inode, as a new
 * descriptor of ours (pidfd_getfd), or -1. */
static int
socket_from(pid_t pid, unsigned long inode)
{
	char dir[64], path[320], link[64], want[48];
	struct dirent *de;
	DIR *d;
	ssize_t n;
	int pidfd, fd = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while (fd < 0 && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, want) != 0)
			continue;
		if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
			break;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		close(pidfd);
	}
	closedir(d);
	return fd;
}

void
takeover_sockets(struct state *st, bool own, struct listeners *have)
{
	struct socket_config *sc;
	int fd;

	for (size_t i = 0; i < st->nsockets; i++) {
		struct state_socket *s = &st->sockets[i];

		fd = own ? s->fd : -1;
		for (size_t j = 0; !own && fd < 0 && j < st->nprocs; j++)
			if (state_same_process(st->procs[j].pid,
			    st->procs[j].starttime))
				fd = socket_from(st->procs[j].pid, s->inode);
		if (fd < 0 || state_socket_inode(fd) != s->inode) {
			log_warnx("takeover", "[socket:%s] %s cannot be "
			    "recovered: bound afresh", s->name, s->listen);
			if (fd >= 0)
				close(fd);
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		sc = xcalloc(1, sizeof(*sc));
		sc->name = xstrdup(s->name);
		sc->file = xstrdup("state");
		sc->listen = xstrdup(s->listen);
		sc->backlog = -1;
		sc->mode = -1;
		have->v = xrealloc(have->v, (have->n + 1) * sizeof(*have->v));
		have->v[have->n].cfg = sc;
		have->v[have->n].fd = fd;
		have->n++;
		log_info("takeover", "[socket:%s] %s recovered%s", s->name,
		    s->listen, own ? "" : " from a process that serves it");
	}
}

/* Stops p's whole tree: what cannot be taken over must not run beside
 * the pool about to start. */
static void
stop_orphan(struct supervisor *sv, const struct state_process *p,
    const struct worker *w, const char *why)
{
	int sig = w != NULL ? w->spec.cfg->stopsignal : SIGTERM;
	double wait = w != NULL ? w->spec.cfg->stopwaitsecs : ORPHAN_STOP_WAIT;
	struct proc_entry e;
	pid_t *pids = NULL;
	ssize_t n = -1;

	log_warnx("takeover", "%s: pid %d is not taken over (%s): stopping "
	    "its tree", p->fullname, (int)p->pid, why);
	if (p->cgroup != NULL && (n = cgroup_pids(p->cgroup, &pids)) < 0) {
		free(pids);
		pids = NULL;
	}
	if (n < 0)
		n = (ssize_t)proc_tree(supervisor_proc_table(sv),
		    proc_read_stat(p->pid, &e) == 0 ? e.ppid : 1, p->pgid,
		    p->token, &pids);
	supervisor_add_strays(sv, pids, (size_t)n, sig, wait);
	free(pids);
	if (p->cgroup != NULL)
		supervisor_remove_cgroup(sv, p->cgroup);
}

static void
close_carried(const struct state_process *p)
{
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
}

void
takeover_adopt(struct state *st, bool own, struct supervisor *sv,
    struct pool *pool, struct strv *keep)
{
	size_t taken = 0;

	for (size_t i = 0; i < st->nprocs; i++) {
		struct state_process *p = &st->procs[i];
		struct worker *w = pool_find_worker(pool, p->fullname);
		const char *why = NULL;

		if (!state_same_process(p->pid, p->starttime)) {
			log_info("takeover", "%s: pid %d is gone", p->fullname,
			    (int)p->pid);
			close_carried(p);
			continue;
		}
		if (w == NULL)
			why = "its program is not in the configuration";
		else if (w->spec.cfg->listener)
			why = "an event listener";
		else if (p->cmdhash != state_command_hash(w->spec.pc->argv))
			why = "its command changed";
		else if (p->role == ROLE_CANDIDATE)
			why = "a replacement that was not ready yet";
		else if (worker_adopt(w, p, own) != 0)
			why = "its slot has a process";
		if (why != NULL) {
			close_carried(p);
			stop_orphan(sv, p, w, why);
			continue;
		}
		taken++;
		if (p->cgroup != NULL)
			strv_push(keep, xstrdup(p->cgroup));
	}
	log_info("takeover", "took over %zu of %zu processes", taken,
	    st->nprocs);
}

int
takeover_check(const char *path)
{
	struct state st;
	char err[256], *text;
	size_t len, skipped;

	if ((text = read_file_text(path, &len)) == NULL) {
		fprintf(stderr, "leashd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (state_parse(text, len, &st, &skipped, err, sizeof(err)) != 0) {
		fprintf(stderr, "leashd: %s: %s\n", path, err);
		free(text);
		return 1;
	}
	free(text);
	printf("leashd: %s: leashd pid %d, %zu processes, %zu sockets, %zu "
	    "lines skipped\n", path, (int)st.leashd, st.nprocs, st.nsockets,
	    skipped);
	state_free(&st);
	return skipped == 0 ? 0 : 1;
}
