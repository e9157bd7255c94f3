/*
 * A worker's captured stdout or stderr: pipes read by leashd and written
 * to a log file that leashd rotates (stdout_logfile_maxbytes/_backups).
 * One log file per worker and stream; during a replace the old and the
 * new process each have a pipe into it.
 */
#ifndef LEASH_OUTPUT_H
#define LEASH_OUTPUT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct logfile {
	char *path;		/* NULL: output is discarded */
	int fd;			/* -1 when not open */
	uint64_t size;
	uint64_t maxbytes;
	long backups;
	bool regular;		/* a file, rotated; not /dev/stdout or a FIFO */
	bool strip_ansi;	/* ANSI escapes removed ([supervisord] strip_ansi) */
	uint64_t dropped;	/* bytes not written since a write failed
				 * (disk full): said once, and again with
				 * the count when writing works again */
};

/* The read end of one process's pipe. */
struct output {
	struct logfile *log;
	int fd;			/* -1 when closed */
	int channel;		/* 1 stdout, 2 stderr */
	int escape;		/* strip_ansi: 1 after ESC, 2 inside "ESC [" */
	/* events.c's: read but not yet logged (a marker may be starting),
	 * and captured between supervisord's markers. */
	struct buf pending, capture;
	bool capturing;
	ev_io io;
};

/* Who else wants a worker's output (tail -f), and when a log goes away:
 * one set of hooks per front end, told apart by arg. */
#define OUTPUT_HOOKS_MAX 4
struct output_hooks {
	void (*data)(void *arg, struct logfile *, const char *, size_t);
	void (*gone)(void *arg, struct logfile *);
	void *arg;
};
void output_add_hooks(const struct output_hooks *);
void output_remove_hooks(void *arg);

void logfile_init(struct logfile *, const char *path, uint64_t maxbytes,
    long backups);
void logfile_free(struct logfile *);
int logfile_open(struct logfile *);
void logfile_write(struct logfile *, const char *, size_t);
void logfile_close(struct logfile *);
/* Empties the file and removes its rotated backups (clearProcessLogs). */
void logfile_clear(struct logfile *);
/* Closes and reopens the file (SIGUSR2, after logrotate). */
void logfile_reopen(struct logfile *);

/* Starts reading fd (the read end of a fresh pipe of channel 1 or 2)
 * into log. */
void output_attach(struct output *, struct logfile *, int fd, int channel);
/* What every read passes through before it is logged (events_output):
 * returns the length left in buf. */
void output_set_filter(size_t (*)(struct output *, char *, size_t));
/* Reads what is buffered in the pipe now, then stops watching it. */
void output_detach(struct output *);

#endif
