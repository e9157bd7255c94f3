/*
 * Taking over a pool: leashd keeps a state file (state.h) so that the
 * next leashd on the same configuration -- after a crash, a kill -9, or
 * this leashd executed again by an upgrade -- finds every process it ran
 * and goes on supervising it instead of starting a second pool beside it.
 *
 * After a crash the processes are orphans: their exits are watched through
 * pidfds, their listening sockets recovered from one of them
 * (pidfd_getfd), their output pipes reopened from /proc.  After an upgrade
 * they are still leashd's children and every descriptor was carried
 * across the exec.  What cannot be taken over (a candidate of a
 * replacement, an event listener, a program that is gone or whose command
 * changed) is stopped, its whole tree, before anything starts fresh.
 */
#ifndef LEASH_TAKEOVER_H
#define LEASH_TAKEOVER_H

#include <stdbool.h>

#include "state.h"

struct listeners;
struct pool;
struct supervisor;
struct strv;

/*
 * Writes the state of sv and pool to path.  carry, for an upgrade: with
 * the descriptors the new image of this process inherits (the workers'
 * sockets and pipes, leashd's own sockets in sockets.h's registry), which
 * are made inheritable, and carry's KEY, VALUE pairs; NULL: -1 in their
 * place.  0, or -1 (logged).
 */
int takeover_save(const char *path, struct supervisor *, struct pool *,
    const struct strv *carry);
/* leashd --check-state: 0 when this binary reads every line of path. */
int takeover_check(const char *path);
/* After an upgrade that failed to execute: close-on-exec again. */
void takeover_uncarry(struct supervisor *, struct pool *);
/*
 * Reads path at start.  Returns 1 with st filled when it holds processes
 * to take over: *own says whether they are this process's (an upgrade);
 * 0 when there is nothing to take over (no file, a clean stop); -1 with
 * err when another leashd that is alive wrote it.  An upgrade's carried
 * sockets go to sockets.h's inherited ones.
 */
int takeover_load(const char *path, struct state *st, bool *own, char *err,
    size_t errlen);
/* Listening sockets of st, for listeners_apply to keep rather than bind. */
void takeover_sockets(struct state *st, bool own, struct listeners *have);
/*
 * Takes over st's processes into pool's workers, stopping those it cannot
 * (see above).  The cgroups of those taken over are pushed on keep.
 */
void takeover_adopt(struct state *st, bool own, struct supervisor *,
    struct pool *, struct strv *keep);

#endif
