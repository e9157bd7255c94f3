/*
 * supervisord's events and event listeners.  What happens in leashd
 * (a process changes state, a group is added, a tick, output between
 * supervisord's capture markers ...) becomes an event; each
 * [eventlistener:x] pool that takes its type keeps it (at most
 * buffer_size, the oldest dropped) until one of its listeners is READY,
 * and that listener gets it on stdin with supervisord's header; it
 * answers RESULT 2\nOK (done) or anything else (rejected: kept and sent
 * again).  The protocol and the payloads are supervisord's, so listeners
 * written with supervisor.childutils (superlance's too) work unchanged.
 */
#ifndef LEASH_EVENTS_H
#define LEASH_EVENTS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "event_names.h"
#include "util.h"

struct instance;
struct output;
struct program;
struct supervisor;
struct events;
struct event_pool;
struct event_listener;

/* The bus of one leashd; every function takes a NULL bus as "no events". */
struct events *events_new(struct supervisor *);
void events_free(struct events *);
/* [supervisord] identifier: the header's server field. */
void events_set_identifier(struct events *, const char *);

/* Whether some pool takes type (nothing is built for none). */
bool events_wanted(const struct events *, enum event_type);
/* An event of type with the payload fmt makes; kept by every pool that
 * takes it, and sent when a listener is ready. */
void events_emit(struct events *, enum event_type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The pool of a listener program (program.c), and its end. */
struct event_pool *event_pool_new(struct events *, struct program *);
void event_pool_free(struct event_pool *);
/* A listener may have become able to take an event (it is RUNNING). */
void events_dispatch(struct events *);

/*
 * One listener process, from its spawn (stdin_fd: the write end of its
 * stdin) to its end: an event it was sent and did not answer goes back
 * to the head of its pool.
 */
struct event_listener *event_listener_new(struct events *, struct instance *,
    int stdin_fd);
void event_listener_free(struct event_listener *);

/*
 * Every read of a process's output passes here before it is logged: a
 * listener's stdout is its protocol, markers start and end a
 * PROCESS_COMMUNICATION capture (not logged), and stdout_events_enabled
 * makes PROCESS_LOG events.  Returns what is left to log, in buf.
 */
size_t events_output(struct output *, char *buf, size_t n);

#endif
