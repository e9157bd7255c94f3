/*
 * leashd's process: its command line (leash's own, and supervisord's
 * when run as "supervisord" or given supervisord's flags), going to the
 * background, the pid file, the user it runs as and its limits.
 */
#ifndef LEASH_DAEMON_H
#define LEASH_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "util.h"

struct daemon_args {
	char *config;		/* -c, or the default (searched for) */
	bool test;		/* -t (leashd), --test */
	bool dump;		/* -T */
	char *check_state;	/* --check-state FILE (an upgrade's check) */
	bool supervisord;	/* run as "supervisord" */
	struct strv settings;	/* "key=value" for [supervisord], from flags */
};

/*
 * Parses the command line.  Returns -1 to go on, or an exit status
 * (after --help, --version or a usage error).
 */
int daemon_args_parse(struct daemon_args *, int argc, char **argv);
void daemon_args_free(struct daemon_args *);

/*
 * What supervisord does before it serves, in its order: umask, limits
 * (minfds, minprocs), the user, then the background unless nodaemon
 * (as "supervisord" only: leashd stays in front).  Returns 0, or -1 with
 * the reason in err.  In the background, *ready is the pipe the waiting
 * parent reads; else -1.
 */
int daemon_setup(const struct config *, bool supervisord, int *ready,
    char *err, size_t errlen);
/* Started: the waiting parent exits 0 and stdio moves to /dev/null. */
void daemon_ready(int *ready);

/* The pid file (written whole: PATH.new, then renamed), and its removal. */
int daemon_pidfile_write(const char *path);
void daemon_pidfile_remove(const char *path);

#endif
