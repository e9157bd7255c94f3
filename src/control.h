/*
 * The control socket (protocol.h): leashd's side.  Non-blocking, capped
 * per-client buffers; a bad client is answered or dropped, never fatal.
 */
#ifndef LEASH_CONTROL_H
#define LEASH_CONTROL_H

#include <stdbool.h>

struct program_config;
struct control;
struct logfile;
struct output;
struct pool;
struct strv;
struct supervisor;

/* What the front ends (this socket, rpc.c's XML-RPC) need of the daemon:
 * the pool to act on, and the requests that are leashd's own (they cannot
 * call up into leashd.c). */
struct control_daemon {
	struct supervisor *sv;
	struct pool *pool;
	/* leashd_reload: re-read the file, apply it or only report. */
	int (*reload)(void *arg, bool apply, struct strv *report);
	/* supervisord's reloadConfig: re-read the file and keep it for
	 * add_group; the names of the programs it adds, changes and removes
	 * against the running ones.  -1 with the errors in errors. */
	int (*reread)(void *arg, struct strv *added, struct strv *changed,
	    struct strv *removed, struct strv *errors);
	/* Starts the re-read file's program NAME: 0, -1 not in the file,
	 * 1 already running. */
	int (*add_group)(void *arg, const char *name);
	/* Drops program NAME: 0, -1 no such program, 1 still running. */
	int (*remove_group)(void *arg, const char *name);
	/* The programs of the file as last read (getAllConfigInfo): an
	 * array to free. */
	const struct program_config **(*configured)(void *arg, size_t *n);
	/* leashd_shutdown: stop every worker, then exit (restart: then
	 * execute leashd again, supervisord's restart). */
	void (*shutdown)(void *arg, bool restart);
	bool (*shutting_down)(void *arg);
	/* [supervisord] identifier, as the file last applied has it. */
	const char *(*identifier)(void *arg);
	/* leashctl upgrade: checks the binary, then executes it in place;
	 * the new image answers on reply_fd (dup it).  -1 with err when it
	 * cannot be done (nothing changed). */
	int (*upgrade)(void *arg, int reply_fd, bool json, char *err,
	    size_t errlen);
	/* leashd's own log file ([supervisord] logfile; path NULL: none). */
	struct logfile *(*logfile)(void *arg);
	void *arg;
};

/*
 * Binds path (replacing a stale socket; refusing, with a message in err,
 * when another leashd answers on it) and starts accepting.
 */
struct control *control_listen(const struct control_daemon *,
    const char *path, const char *group, char *err, size_t errlen);
void control_close(struct control *);
/* Called after worker state changes: completes requests that wait. */
void control_update(struct control *);
/* Frees closed clients; called from the loop, outside any callback. */
void control_collect(struct control *);

#endif
