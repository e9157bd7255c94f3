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

struct instance;
struct notify;
struct pool;
struct supervisor;

/*
 * Binds the socket at path (a stale socket there is replaced) and makes
 * it the NOTIFY_SOCKET workers get (sv->notify_socket); senders are
 * looked up in pool.  Returns NULL with err on failure.
 */
struct notify *notify_open(struct supervisor *, const struct pool *,
    const char *path, char *err, size_t errlen);
/* Closes and unlinks the socket. */
void notify_close(struct notify *);
/* Parses one datagram for inst: READY=1, STATUS=, STOPPING=1, WATCHDOG=1. */
void notify_dispatch(struct instance *, const char *msg, size_t len);

#endif
