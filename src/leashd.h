/*
 * The daemon: one event loop, the running configuration and its programs.
 * Signal handlers and child callbacks only record what happened; the loop's
 * prepare watcher (leashd_reconcile) acts on it, so programs are never
 * freed under a callback that is still using them.
 */
#ifndef LEASH_LEASHD_H
#define LEASH_LEASHD_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "config.h"
#include "proc.h"
#include "program.h"
#include "sockets.h"
#include "systemd.h"
#include "util.h"

/* A process left behind by a worker that exited on its own. */
struct stray {
	pid_t pid;
	ev_tstamp kill_at;
};

struct leashd {
	struct ev_loop *loop;
	char *config_path;
	struct config *cfg;
	struct program **programs;
	size_t nprograms;

	pid_t self;
	unsigned long spawns;		/* for worker tokens */
	bool shutting_down;
	long stop_priority;		/* shutdown: stage being stopped */
	bool reload_requested;
	bool reopen_requested;
	int exit_code;

	struct stray *strays;
	size_t nstrays;
	ev_timer stray_timer;

	struct control *control;
	struct notify *notify;		/* the workers' NOTIFY_SOCKET */
	struct systemd sd;		/* leashd's own reports to systemd */
	struct listeners listeners;	/* [socket:NAME] */

	struct cgroup_root cg;
	bool cg_usable;
	char cg_why[256];
	struct strv cg_pending;		/* cgroups to remove when empty */
	struct proc_table procs;	/* /proc, as scanned at procs_at */
	ev_tstamp procs_at;
	unsigned int procs_iteration;
	ev_timer cg_timer;

	ev_signal sigterm, sigint, sighup, sigusr2;
	ev_child any_child;
	ev_prepare prepare;
};

int leashd_main(int argc, char **argv);

/*
 * Reads the configuration file again.  With apply, makes the running
 * programs match it (SIGHUP, "update"); without, only reports ("reread").
 * Appends one line per difference (or per error) to report.  Returns -1
 * when the file is bad: then nothing changed.
 */
int leashd_reload(struct leashd *, bool apply, struct strv *report);
/* Stops every worker, then exits the loop. */
void leashd_shutdown(struct leashd *);
/* Something changed that the loop should look at. */
void leashd_poke(struct leashd *);
/* Removes a worker's cgroup now, or later once its last member is gone. */
void leashd_remove_cgroup(struct leashd *, const char *dir);
struct instance *leashd_instance_by_pid(struct leashd *, pid_t);
struct instance *leashd_instance_by_token(struct leashd *, const char *);
/* /proc as scanned in this iteration of the loop (scanned on first use). */
const struct proc_table *leashd_proc_table(struct leashd *);
/* The pids of every live instance, sorted (free it). */
pid_t *leashd_instance_pids(struct leashd *, size_t *n);

/* Called by a worker whenever its state changes. */
void leashd_worker_changed(struct leashd *, struct worker *);
/* Adopts pids left behind by a worker: stopsignal now, SIGKILL later. */
void leashd_add_strays(struct leashd *, const pid_t *, size_t, int sig,
    double wait);

#endif
