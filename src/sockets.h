/*
 * [socket:NAME] listening sockets: bound once by leashd and passed to
 * workers as fds 3... with the LISTEN_FDS protocol, so an old and a new
 * worker share one accept queue during a replace.
 */
#ifndef LEASH_SOCKETS_H
#define LEASH_SOCKETS_H

#include <stddef.h>

struct socket_config;

struct listener {
	struct socket_config *cfg;	/* owned */
	int fd;
};

struct listeners {
	struct listener *v;
	size_t n;
};

/*
 * Frees path for a bind when the caller knows nobody serves there: a
 * socket file left behind is removed (returns 1); anything else at path
 * is refused (-1 with err), never removed.  0: nothing was there.
 */
int socket_unlink_stale(const char *path, char *err, size_t errlen);
/* Binds and listens; returns a close-on-exec fd, or -1 with err. */
int socket_bind(const struct socket_config *, char *err, size_t errlen);
void socket_unbind(const struct socket_config *, int fd);

/*
 * Makes have match the sockets of a new configuration: equal sockets stay
 * bound (never re-bound), new ones are bound, removed ones closed.  The
 * socket_configs are moved out of want.  When a bind fails nothing
 * changes and -1 is returned with err ("FILE:LINE: [socket:x] ...").
 */
int listeners_apply(struct listeners *have, struct socket_config **want,
    size_t nwant, char *err, size_t errlen);
int listeners_fd(const struct listeners *, const char *name);
void listeners_close(struct listeners *);

#endif
