/*
 * The daemon's services to the core: strays, cgroups, the /proc cache, the
 * spawn queue.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

static void
stray_schedule(struct supervisor *sv)
{
	ev_tstamp next = 0;

	ev_timer_stop(sv->loop, &sv->stray_timer);
	for (size_t i = 0; i < sv->nstrays; i++)
		if (next == 0 || sv->strays[i].kill_at < next)
			next = sv->strays[i].kill_at;
	if (next > 0)
		supervisor_timer(sv, &sv->stray_timer, next - mono_now());
}

static void
stray_remove(struct supervisor *sv, size_t i)
{
	sv->strays[i] = sv->strays[--sv->nstrays];
	sv->changed = true;
}

void
supervisor_add_strays(struct supervisor *sv, const pid_t *pids, size_t n,
    int sig, double wait)
{
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t j = 0; j < sv->nstrays; j++)
			known |= sv->strays[j].pid == pids[i];
		if (known)
			continue;
		log_info("leashd", "pid %d was left behind by its worker: "
		    "signalling it", (int)pids[i]);
		kill(pids[i], sig);
		sv->strays = xrealloc(sv->strays,
		    (sv->nstrays + 1) * sizeof(*sv->strays));
		sv->strays[sv->nstrays].pid = pids[i];
		sv->strays[sv->nstrays].kill_at = mono_now() + wait;
		sv->nstrays++;
	}
	stray_schedule(sv);
}

static void
stray_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct supervisor *sv = container_of(t, struct supervisor, stray_timer);

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < sv->nstrays;) {
		if (sv->strays[i].kill_at <= mono_now()) {
			log_warnx("leashd", "pid %d left behind by a worker is "
			    "still alive: SIGKILL", (int)sv->strays[i].pid);
			kill(sv->strays[i].pid, SIGKILL);
			stray_remove(sv, i);
		} else
			i++;
	}
	stray_schedule(sv);
}

void
supervisor_reaped(struct supervisor *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->nstrays; i++) {
		if (sv->strays[i].pid == pid) {
			stray_remove(sv, i);
			stray_schedule(sv);
			return;
		}
	}
}

/*
 * Removes what it can of the pending cgroups, for at most budget seconds
 * (0: all): rmdir of a memory cgroup costs the kernel about 0.1 ms, and a
 * thousand workers exiting at once must not hold the loop for it.  Those
 * still busy are retried a second later.
 */
static void
cg_retry(struct supervisor *sv, double budget)
{
	ev_tstamp end = mono_now() + budget;
	bool cut = false;

	for (size_t i = 0; i < sv->cg_pending.n;) {
		if (budget > 0 && mono_now() >= end) {
			cut = true;
			break;
		}
		if (cgroup_remove(sv->cg_pending.v[i]) == 0 || errno == ENOENT) {
			free(sv->cg_pending.v[i]);
			sv->cg_pending.v[i] = sv->cg_pending.v[--sv->cg_pending.n];
			sv->cg_pending.v[sv->cg_pending.n] = NULL;
		} else
			i++;
	}
	if (sv->cg_pending.n == 0)
		ev_timer_stop(sv->loop, &sv->cg_timer);
	else
		supervisor_timer(sv, &sv->cg_timer, cut ? 0. : 1.0);
}

static void
cg_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	cg_retry(container_of(t, struct supervisor, cg_timer), SPAWN_SLICE);
}

/* From the loop's next pass; the kernel lets go of a cgroup a moment
 * after its last exit, so some wait longer. */
void
supervisor_remove_cgroup(struct supervisor *sv, const char *dir)
{
	strv_push(&sv->cg_pending, xstrdup(dir));
	if (!ev_is_active(&sv->cg_timer))
		supervisor_timer(sv, &sv->cg_timer, 0.);
}

/*
 * One scan of /proc per loop iteration, whatever number of workers needs
 * it; the next iteration (after a signal has had its effect) scans anew.
 */
const struct proc_table *
supervisor_proc_table(struct supervisor *sv)
{
	if (sv->procs.p == NULL || sv->procs_at != ev_now(sv->loop) ||
	    sv->procs_iteration != ev_iteration(sv->loop)) {
		proc_scan(&sv->procs);
		proc_read_strays(&sv->procs, sv->self, NULL, 0);
		sv->procs_at = ev_now(sv->loop);
		sv->procs_iteration = ev_iteration(sv->loop);
	}
	return &sv->procs;
}

void
supervisor_cgroups_leftover(struct supervisor *sv, const struct strv *keep)
{
	struct dirent *de;
	DIR *dir;
	char *path;
	bool kept;
	int pid;

	if (!sv->cg_usable || (dir = opendir(sv->cg.base)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (sscanf(de->d_name, CGROUP_WORKER_PREFIX "%d-", &pid) != 1 ||
		    pid == sv->self || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/%s", sv->cg.base, de->d_name);
		kept = false;
		for (size_t i = 0; keep != NULL && i < keep->n; i++)
			kept |= strcmp(keep->v[i], path) == 0;
		if (kept) {
			free(path);
			continue;
		}
		if (cgroup_remove(path) == 0) {
			log_info("cgroup", "removed %s, left by leashd pid %d",
			    path, pid);
			free(path);
			continue;
		}
		log_warnx("cgroup", "%s, left by leashd pid %d, still has "
		    "processes that were not taken over: killing them", path,
		    pid);
		cgroup_kill(&sv->cg, path);
		supervisor_remove_cgroup(sv, path);
		free(path);
	}
	closedir(dir);
}

void
supervisor_cgroups(struct supervisor *sv, bool use)
{
	if (!use) {
		snprintf(sv->cg_why, sizeof(sv->cg_why), "use_cgroups = false");
	} else if (cgroup_detect("/proc/self/cgroup", "/proc/self/mountinfo",
	    &sv->cg, sv->cg_why, sizeof(sv->cg_why)) == 0 &&
	    cgroup_prepare(&sv->cg, sv->cg_why, sizeof(sv->cg_why)) == 0) {
		sv->cg_usable = true;
		log_info("cgroup", "one cgroup per worker, in %s (cgroup v%d)",
		    sv->cg.base, sv->cg.version == CGROUP_V2 ? 2 : 1);
		return;
	}
	log_info("cgroup", "not using cgroups: %s; worker trees are tracked "
	    "through /proc", sv->cg_why);
}

bool
supervisor_spawn_turn(struct supervisor *sv)
{
	struct spawn_queue *q = &sv->spawnq;

	if (q->n > 0)
		return false;
	if (q->iteration != ev_iteration(sv->loop)) {
		q->iteration = ev_iteration(sv->loop);
		q->slice_end = mono_now() + SPAWN_SLICE;
		return true;
	}
	return mono_now() < q->slice_end;
}

void
supervisor_spawn_later(struct supervisor *sv, ev_timer *t)
{
	struct spawn_queue *q = &sv->spawnq;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		ev_timer **v = xcalloc(cap, sizeof(*v));
		for (size_t i = 0; i < q->n; i++)
			v[i] = q->v[(q->head + i) % q->cap];
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	q->v[(q->head + q->n++) % q->cap] = t;
	if (!ev_is_active(&q->kick))
		supervisor_timer(sv, &q->kick, 0.);
}

void
supervisor_spawn_forget(struct supervisor *sv, ev_timer *t)
{
	struct spawn_queue *q = &sv->spawnq;

	for (size_t i = 0; i < q->n; i++)
		if (q->v[(q->head + i) % q->cap] == t)
			q->v[(q->head + i) % q->cap] = NULL;
}

/* A new slice: the queue's head first, at least one, until the slice ends;
 * then the loop polls before the next. */
static void
spawn_kick_cb(struct ev_loop *loop, ev_timer *kick, int revents)
{
	struct supervisor *sv = container_of(kick, struct supervisor,
	    spawnq.kick);
	struct spawn_queue *q = &sv->spawnq;
	ev_tstamp end = mono_now() + SPAWN_SLICE;

	(void)revents;
	q->iteration = ev_iteration(loop);
	q->slice_end = end;
	do {
		ev_timer *t = q->v[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		if (t != NULL)
			ev_invoke(loop, t, EV_TIMER);
	} while (q->n > 0 && mono_now() < end);
	if (q->n > 0)
		supervisor_timer(sv, kick, 0.);
}

void
supervisor_init(struct supervisor *sv, struct ev_loop *loop)
{
	sv->loop = loop;
	sv->self = getpid();
	ev_timer_init(&sv->stray_timer, stray_timer_cb, 0., 0.);
	ev_timer_init(&sv->spawnq.kick, spawn_kick_cb, 0., 0.);
	ev_timer_init(&sv->cg_timer, cg_timer_cb, 0., 0.);
}

void
supervisor_free(struct supervisor *sv)
{
	ev_timer_stop(sv->loop, &sv->stray_timer);
	ev_timer_stop(sv->loop, &sv->spawnq.kick);
	free(sv->spawnq.v);
	free(sv->strays);
	for (int i = 0; i < 50 && sv->cg_pending.n > 0; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		cg_retry(sv, 0);
		if (sv->cg_pending.n > 0)
			nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < sv->cg_pending.n; i++)
		log_warnx("cgroup", "could not remove %s", sv->cg_pending.v[i]);
	strv_free(&sv->cg_pending);
	ev_timer_stop(sv->loop, &sv->cg_timer);
	proc_table_free(&sv->procs);
	cgroup_root_free(&sv->cg);
}
