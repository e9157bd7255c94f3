/*
 * leashd: the daemon's set-up, its signals, reload and shutdown.
 */
#include <dirent.h>
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
#include "control.h"
#include "notify.h"
#include "leashd.h"
#include "log.h"
#include "proc.h"
#include "program.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/leash/leash.ini"
#define EXIT_SWEEP_SECONDS 5.0

static bool dirty;

void
leashd_worker_changed(struct leashd *d, struct worker *w)
{
	(void)d;
	(void)w;
	dirty = true;
}

static void
stray_schedule(struct leashd *d)
{
	ev_tstamp next = 0;

	ev_timer_stop(d->loop, &d->stray_timer);
	for (size_t i = 0; i < d->nstrays; i++)
		if (next == 0 || d->strays[i].kill_at < next)
			next = d->strays[i].kill_at;
	if (next == 0)
		return;
	next -= ev_now(d->loop);
	ev_timer_set(&d->stray_timer, next > 0 ? next : 0., 0.);
	ev_timer_start(d->loop, &d->stray_timer);
}

static void
stray_remove(struct leashd *d, size_t i)
{
	d->strays[i] = d->strays[--d->nstrays];
	dirty = true;
}

void
leashd_add_strays(struct leashd *d, const pid_t *pids, size_t n, int sig,
    double wait)
{
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t j = 0; j < d->nstrays; j++)
			known |= d->strays[j].pid == pids[i];
		if (known)
			continue;
		log_info("leashd", "pid %d was left behind by its worker: "
		    "signalling it", (int)pids[i]);
		kill(pids[i], sig);
		d->strays = xrealloc(d->strays,
		    (d->nstrays + 1) * sizeof(*d->strays));
		d->strays[d->nstrays].pid = pids[i];
		d->strays[d->nstrays].kill_at = ev_now(d->loop) + wait;
		d->nstrays++;
	}
	stray_schedule(d);
}

static void
stray_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct leashd *d = container_of(t, struct leashd, stray_timer);

	(void)revents;
	for (size_t i = 0; i < d->nstrays;) {
		if (d->strays[i].kill_at <= ev_now(loop)) {
			log_warnx("leashd", "pid %d left behind by a worker is "
			    "still alive: SIGKILL", (int)d->strays[i].pid);
			kill(d->strays[i].pid, SIGKILL);
			stray_remove(d, i);
		} else
			i++;
	}
	stray_schedule(d);
}

/* Every child leashd reaps, workers and adopted orphans alike. */
static void
any_child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	struct leashd *d = container_of(c, struct leashd, any_child);

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < d->nstrays; i++) {
		if (d->strays[i].pid == c->rpid) {
			stray_remove(d, i);
			stray_schedule(d);
			break;
		}
	}
	log_debug("leashd", "reaped pid %d", (int)c->rpid);
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

static int
program_order(const void *a, const void *b)
{
	const struct program *pa = *(struct program *const *)a;
	const struct program *pb = *(struct program *const *)b;

	if (pa->cfg->priority != pb->cfg->priority)
		return pa->cfg->priority < pb->cfg->priority ? -1 : 1;
	return strcmp(pa->cfg->name, pb->cfg->name);
}

static struct program *
leashd_find_program(struct leashd *d, const char *name)
{
	for (size_t i = 0; i < d->nprograms; i++)
		if (strcmp(d->programs[i]->cfg->name, name) == 0)
			return d->programs[i];
	return NULL;
}

static void
leashd_add_program(struct leashd *d, struct program_config *pc)
{
	d->programs = xrealloc(d->programs,
	    (d->nprograms + 1) * sizeof(*d->programs));
	d->programs[d->nprograms++] = program_new(d, pc);
	qsort(d->programs, d->nprograms, sizeof(*d->programs), program_order);
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

/*
 * Reading the file again and applying only the difference.  Programs are
 * moved out of the new config into the running set, so each program owns
 * its program_config; what stays in the new config is freed with it.
 */
int
leashd_reload(struct leashd *d, bool apply, struct strv *report)
{
	struct config_diag diag;
	struct config *c;
	struct program *p;
	struct program_config *pc;
	int added = 0, changed = 0, removed = 0;

	char err[512];

	log_info("leashd", "%s %s", apply ? "reloading" : "re-reading",
	    d->config_path);
	c = config_load(d->config_path, &diag);
	print_diag(&diag, true);
	for (size_t i = 0; i < diag.nerrors; i++)
		strv_push(report, xasprintf("ERROR: %s", diag.errors[i]));
	config_diag_free(&diag);
	if (c != NULL && apply && listeners_apply(&d->listeners, c->sockets,
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

	for (size_t i = 0; i < d->nprograms; i++) {
		p = d->programs[i];
		if (p->removing || config_find_program(c, p->cfg->name) != NULL)
			continue;
		strv_push(report, xasprintf("%s: %s", p->cfg->name,
		    apply ? "removed process group" : "disappeared"));
		removed++;
		if (!apply)
			continue;
		p->removing = true;
		program_config_free(p->next_cfg);
		p->next_cfg = NULL;
		program_stop(p);
	}
	for (size_t i = 0; i < c->nprograms; i++) {
		pc = c->programs[i];
		if ((p = leashd_find_program(d, pc->name)) == NULL) {
			strv_push(report, xasprintf("%s: %s", pc->name,
			    apply ? "added process group" : "available"));
			added++;
			if (!apply)
				continue;
			c->programs[i] = NULL;
			leashd_add_program(d, pc);
			p = leashd_find_program(d, pc->name);
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
	log_setlevel(c->loglevel);
	leashd_ensure_logdir(c);
	if (!same_string(c->control_socket, d->cfg->control_socket) ||
	    !same_string(c->control_group, d->cfg->control_group))
		log_warnx("leashd", "control_socket and control_group changes "
		    "take effect at the next start of leashd");
	config_free(d->cfg);
	d->cfg = c;
	log_info("leashd", "reloaded: %d added, %d changed, %d removed", added,
	    changed, removed);
	dirty = true;
	return 0;
}

/* Kills and reaps whatever descends from leashd, so nothing outlives it. */
static void
leashd_sweep(struct leashd *d)
{
	struct proc_table t = { 0 };
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	ev_tstamp until = ev_time() + EXIT_SWEEP_SECONDS;
	size_t killed;

	do {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		proc_scan(&t);
		killed = 0;
		for (size_t i = 0; i < t.n; i++) {
			if (t.p[i].ppid == d->self) {
				kill(t.p[i].pid, SIGKILL);
				killed++;
			}
		}
		if (killed > 0) {
			log_warnx("leashd", "killing %zu leftover processes", killed);
			nanosleep(&ts, NULL);
		}
	} while (killed > 0 && ev_time() < until);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	proc_table_free(&t);
}

/* Shutdown stops programs in reverse priority, one priority at a time. */
static void
leashd_shutdown_step(struct leashd *d)
{
	bool found = false;
	long top = 0;

	for (size_t i = 0; i < d->nprograms; i++) {
		struct program *p = d->programs[i];
		if (program_is_down(p))
			continue;
		if (!found || p->cfg->priority > top)
			top = p->cfg->priority;
		found = true;
	}
	if (found) {
		for (size_t i = 0; i < d->nprograms; i++)
			if (d->programs[i]->cfg->priority == top)
				program_stop(d->programs[i]);
		return;
	}
	if (d->nstrays > 0)
		return;
	leashd_sweep(d);
	log_info("leashd", "all workers stopped, exiting");
	ev_break(d->loop, EVBREAK_ALL);
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
		for (size_t i = 0; i < d->nprograms; i++) {
			p = d->programs[i];
			for (size_t j = 0; j < p->nworkers; j++) {
				logfile_reopen(&p->workers[j].outlog);
				logfile_reopen(&p->workers[j].errlog);
			}
		}
	}
	if (d->reload_requested && !d->shutting_down) {
		struct strv report = { 0 };
		d->reload_requested = false;
		systemd_reloading(&d->sd);
		leashd_reload(d, true, &report);
		systemd_reloaded(&d->sd);
		strv_free(&report);
	}
	control_collect(d->control);
	if (!dirty)
		return;
	dirty = false;
	for (size_t i = 0; i < d->nprograms; i++) {
		p = d->programs[i];
		if (!(p->removing || p->next_cfg != NULL) || !program_is_down(p))
			continue;
		if (p->removing) {
			program_config_free(p->cfg);
			program_free(p);
			d->programs[i] = d->programs[--d->nprograms];
		} else {
			np = program_new(d, p->next_cfg);
			for (size_t j = 0; j < p->nworkers && j < np->nworkers; j++)
				memcpy(np->workers[j].restarts,
				    p->workers[j].restarts,
				    sizeof(np->workers[j].restarts));
			program_config_free(p->cfg);
			program_free(p);
			d->programs[i] = np;
			if (np->cfg->autostart && !d->shutting_down)
				for (size_t j = 0; j < np->nworkers; j++)
					worker_start(&np->workers[j],
					    REASON_RELOAD);
		}
		i = (size_t)-1;	/* the array changed: start over */
		qsort(d->programs, d->nprograms, sizeof(*d->programs),
		    program_order);
	}
	control_update(d->control);
	systemd_update(&d->sd);
	if (d->shutting_down)
		leashd_shutdown_step(d);
}

static void
cg_retry(struct leashd *d)
{
	for (size_t i = 0; i < d->cg_pending.n;) {
		if (cgroup_remove(d->cg_pending.v[i]) == 0 || errno == ENOENT) {
			free(d->cg_pending.v[i]);
			d->cg_pending.v[i] = d->cg_pending.v[--d->cg_pending.n];
			d->cg_pending.v[d->cg_pending.n] = NULL;
		} else
			i++;
	}
	if (d->cg_pending.n == 0)
		ev_timer_stop(d->loop, &d->cg_timer);
}

static void
cg_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	cg_retry(container_of(t, struct leashd, cg_timer));
}

void
leashd_remove_cgroup(struct leashd *d, const char *dir)
{
	if (cgroup_remove(dir) == 0 || errno == ENOENT)
		return;
	/* The kernel lets go of a cgroup a moment after its last exit. */
	strv_push(&d->cg_pending, xstrdup(dir));
	if (!ev_is_active(&d->cg_timer))
		ev_timer_again(d->loop, &d->cg_timer);
}

/* Calls fn for every instance of every worker until it returns true. */
static struct instance *
leashd_find_instance(struct leashd *d,
    bool (*fn)(struct instance *, const void *), const void *arg)
{
	for (size_t i = 0; i < d->nprograms; i++) {
		struct program *p = d->programs[i];
		for (size_t j = 0; j < p->nworkers; j++) {
			struct worker *w = &p->workers[j];
			struct instance *two[2] = { w->main, w->candidate };
			for (size_t k = 0; k < 2 + w->ndraining; k++) {
				struct instance *in = k < 2 ? two[k] :
				    w->draining[k - 2];
				if (in != NULL && fn(in, arg))
					return in;
			}
		}
	}
	return NULL;
}

static bool
has_pid(struct instance *in, const void *arg)
{
	return in->pid > 0 && in->pid == *(const pid_t *)arg;
}

static bool
has_token(struct instance *in, const void *arg)
{
	return strcmp(in->token, arg) == 0;
}

struct instance *
leashd_instance_by_pid(struct leashd *d, pid_t pid)
{
	return leashd_find_instance(d, has_pid, &pid);
}

struct instance *
leashd_instance_by_token(struct leashd *d, const char *token)
{
	return leashd_find_instance(d, has_token, token);
}

/*
 * One scan of /proc per loop iteration, whatever number of workers needs
 * it; the next iteration (after a signal has had its effect) scans anew.
 */
const struct proc_table *
leashd_proc_table(struct leashd *d)
{
	if (d->procs.p == NULL || d->procs_at != ev_now(d->loop) ||
	    d->procs_iteration != ev_iteration(d->loop)) {
		proc_scan(&d->procs);
		d->procs_at = ev_now(d->loop);
		d->procs_iteration = ev_iteration(d->loop);
	}
	return &d->procs;
}

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

static bool
collect_pid(struct instance *in, const void *arg)
{
	struct pid_list *l = (struct pid_list *)arg;

	if (in->pid <= 0)
		return false;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = in->pid;
	return false;
}

pid_t *
leashd_instance_pids(struct leashd *d, size_t *n)
{
	struct pid_list l = { 0 };

	leashd_find_instance(d, collect_pid, &l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), pid_compare);
	*n = l.n;
	return l.v;
}


/*
 * Worker cgroups of a leashd that died without cleaning up (SIGKILL):
 * the empty ones are removed; one with processes in it is reported, since
 * those processes are orphans of that leashd, not ours to judge.
 */
static void
leashd_cgroups_leftover(struct leashd *d)
{
	struct dirent *de;
	DIR *dir;
	char *path;
	int pid;

	if ((dir = opendir(d->cg.base)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (sscanf(de->d_name, "leash-%d-", &pid) != 1 || pid == d->self ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/%s", d->cg.base, de->d_name);
		if (cgroup_remove(path) == 0)
			log_info("cgroup", "removed %s, left by leashd pid %d",
			    path, pid);
		else
			log_warnx("cgroup", "%s, left by leashd pid %d, still has "
			    "processes", path, pid);
		free(path);
	}
	closedir(dir);
}

/* Per-worker cgroups, when the kernel and our place in it allow. */
static void
leashd_cgroups(struct leashd *d)
{
	if (!d->cfg->use_cgroups) {
		snprintf(d->cg_why, sizeof(d->cg_why), "use_cgroups = false");
	} else if (cgroup_detect("/proc/self/cgroup", "/proc/self/mountinfo",
	    &d->cg, d->cg_why, sizeof(d->cg_why)) == 0 &&
	    cgroup_prepare(&d->cg, d->cg_why, sizeof(d->cg_why)) == 0) {
		d->cg_usable = true;
		log_info("cgroup", "one cgroup per worker, in %s (cgroup v%d)",
		    d->cg.base, d->cg.version == CGROUP_V2 ? 2 : 1);
		leashd_cgroups_leftover(d);
		return;
	}
	log_info("cgroup", "not using cgroups: %s; worker trees are tracked "
	    "through /proc", d->cg_why);
}

void
leashd_poke(struct leashd *d)
{
	(void)d;
	dirty = true;
}

void
leashd_shutdown(struct leashd *d)
{
	if (d->shutting_down) {
		log_info("leashd", "already shutting down");
		return;
	}
	d->shutting_down = true;
	systemd_stopping(&d->sd);
	for (size_t i = 0; i < d->nprograms; i++)
		for (size_t j = 0; j < d->programs[i]->nworkers; j++)
			d->programs[i]->workers[j].want = WANT_DOWN;
	dirty = true;
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
		log_info("leashd", "received SIG%s: stopping all workers",
		    w->signum == SIGTERM ? "TERM" : "INT");
		leashd_shutdown(d);
		break;
	case SIGHUP:
		d->reload_requested = true;
		break;
	case SIGUSR2:
		d->reopen_requested = true;
		break;
	}
	dirty = true;
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
usage(FILE *f)
{
	fprintf(f,
	    "usage: leashd [-c FILE] [-t] [-v]\n"
	    "  -c FILE    configuration file (default " DEFAULT_CONFIG ")\n"
	    "  -t         check the configuration and exit (0 ok, 78 bad)\n"
	    "  -v         print the version and exit\n");
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
	static const struct option longopts[] = {
		{ "configuration", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct leashd d = { 0 };
	struct config_diag diag;
	char err[512], *sockpath;
	bool test = false;
	int ch;

	d.config_path = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:tvhn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'v':
			printf("leashd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'n':
			break;	/* supervisord's -n: leashd is always in front */
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	ensure_stdio();
	d.cfg = config_load(d.config_path, &diag);
	print_diag(&diag, false);
	config_diag_free(&diag);
	if (d.cfg == NULL) {
		fprintf(stderr, "leashd: %s: configuration has errors, nothing "
		    "started\n", d.config_path);
		return CONFIG_EX_CONFIG;
	}
	if (test) {
		printf("leashd: %s: configuration ok (%zu programs)\n",
		    d.config_path, d.cfg->nprograms);
		config_free(d.cfg);
		return 0;
	}
	log_setlevel(d.cfg->loglevel);

	d.self = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		log_warn("leashd", "cannot become a child subreaper; orphans of "
		    "workers will not be reaped by leashd");
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (d.loop == NULL)
		fatalx("leashd", "cannot initialise libev");
	signal_watch(&d, &d.sigterm, SIGTERM);
	signal_watch(&d, &d.sigint, SIGINT);
	signal_watch(&d, &d.sighup, SIGHUP);
	signal_watch(&d, &d.sigusr2, SIGUSR2);
	ev_child_init(&d.any_child, any_child_cb, 0, 0);
	ev_child_start(d.loop, &d.any_child);
	ev_timer_init(&d.stray_timer, stray_timer_cb, 0., 0.);
	ev_prepare_init(&d.prepare, leashd_reconcile);
	ev_prepare_start(d.loop, &d.prepare);

	sockpath = config_control_socket(d.cfg);
	d.control = control_listen(&d, sockpath, d.cfg->control_group, err,
	    sizeof(err));
	free(sockpath);
	if (d.control == NULL) {
		fprintf(stderr, "leashd: %s\n", err);
		config_free(d.cfg);
		ev_loop_destroy(d.loop);
		return 1;
	}
	if (listeners_apply(&d.listeners, d.cfg->sockets, d.cfg->nsockets, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "leashd: error: %s\n", err);
		control_close(d.control);
		config_free(d.cfg);
		ev_loop_destroy(d.loop);
		return CONFIG_EX_CONFIG;
	}
	if ((d.notify = notify_open(&d, err, sizeof(err))) == NULL)
		log_warnx("notify", "%s: workers cannot use sd_notify", err);
	systemd_init(&d.sd, &d);
	leashd_cgroups(&d);
	ev_init(&d.cg_timer, cg_timer_cb);
	d.cg_timer.repeat = 1.0;
	leashd_ensure_logdir(d.cfg);
	log_info("leashd", "leashd %s started (pid %d, %s, %zu programs)",
	    PACKAGE_VERSION, (int)d.self, d.config_path, d.cfg->nprograms);
	for (size_t i = 0; i < d.cfg->nprograms; i++) {
		leashd_add_program(&d, d.cfg->programs[i]);
		d.cfg->programs[i] = NULL;
	}
	d.cfg->nprograms = 0;
	for (size_t i = 0; i < d.nprograms; i++)
		if (d.programs[i]->cfg->autostart)
			program_start(d.programs[i]);

	ev_run(d.loop, 0);

	control_close(d.control);
	notify_close(d.notify);
	systemd_close(&d.sd);
	listeners_close(&d.listeners);
	for (size_t i = 0; i < d.nprograms; i++) {
		program_config_free(d.programs[i]->cfg);
		program_config_free(d.programs[i]->next_cfg);
		program_free(d.programs[i]);
	}
	free(d.programs);
	free(d.strays);
	for (int i = 0; i < 50 && d.cg_pending.n > 0; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		cg_retry(&d);
		if (d.cg_pending.n > 0)
			nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < d.cg_pending.n; i++)
		log_warnx("cgroup", "could not remove %s", d.cg_pending.v[i]);
	strv_free(&d.cg_pending);
	proc_table_free(&d.procs);
	ev_timer_stop(d.loop, &d.cg_timer);
	cgroup_root_free(&d.cg);
	config_free(d.cfg);
	ev_loop_destroy(d.loop);
	return d.exit_code;
}
