/*
 * A worker's captured stdout or stderr: a pipe read by leashd and written
 * to a log file that leashd rotates (stdout_logfile_maxbytes/_backups).
 */
#ifndef LEASH_OUTPUT_H
#define LEASH_OUTPUT_H

#include <ev.h>
#include <stdint.h>

struct logfile {
	char *path;
	int fd;			/* -1 when not open */
	uint64_t size;
	uint64_t maxbytes;
	long backups;
};

struct output {
	struct logfile log;
	int fd;			/* read end of the pipe, -1 when closed */
	ev_io io;
	const char *owner;	/* for log messages */
};

void output_init(struct output *, const char *owner, const char *path,
    uint64_t maxbytes, long backups);
/* Starts reading from fd (the read end of a fresh pipe). */
void output_attach(struct output *, int fd);
/* Reads what is buffered in the pipe now, then stops watching it. */
void output_detach(struct output *);
void output_free(struct output *);
/* Closes and reopens the log file (SIGUSR2, after logrotate). */
void output_reopen(struct output *);

/* Who else wants a worker's output (tail -f), and when an output goes. */
struct output_hooks {
	void (*data)(void *arg, struct output *, const char *, size_t);
	void (*gone)(void *arg, struct output *);
	void *arg;
};
void output_set_hooks(const struct output_hooks *);

int logfile_open(struct logfile *);
void logfile_write(struct logfile *, const char *, size_t);
void logfile_close(struct logfile *);

#endif
