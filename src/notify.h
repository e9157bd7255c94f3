/*
 * leashd as the NOTIFY_SOCKET of its workers (sd_notify(3)'s protocol):
 * one datagram socket with SO_PASSCRED, exported to every worker.  A
 * message is attributed to a worker by the sender's pid: the worker's own
 * process, or any process of its tree (its cgroup, or its ancestry), so
 * "systemd-notify --ready" from a worker's shell script counts.  Messages
 * from strangers, without credentials, truncated, or carrying fds are
 * dropped with a debug log.
 */
#ifndef LEASH_NOTIFY_H
#define LEASH_NOTIFY_H

#include <stddef.h>
#include <sys/types.h>

struct leashd;
struct notify;
struct instance;

/* Opens the socket; returns NULL with err on failure. */
struct notify *notify_open(struct leashd *, char *err, size_t errlen);
void notify_close(struct notify *);
/* The value workers get as NOTIFY_SOCKET ("@leash/PID/notify"). */
const char *notify_socket_name(const struct notify *);
/* Parses one datagram for inst: READY=1, STATUS=, STOPPING=1, WATCHDOG=1. */
void notify_dispatch(struct instance *, const char *msg, size_t len);

#endif
