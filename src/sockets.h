/*
 * [socket:NAME] listening sockets: bound once by leashd and passed to
 * workers as fds 3... with the LISTEN_FDS protocol, so an old and a new
 * worker share one accept queue during a replace.
 */
#ifndef LEASH_SOCKETS_H
#define LEASH_SOCKETS_H

#include <stddef.h>
#include <sys/types.h>

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

/* A listening TCP socket from /proc/net/tcp or tcp6. */
struct tcp_listen {
	char addr[64];		/* local address as the kernel prints it */
	unsigned long inode;
};
/* The LISTEN sockets of /proc/net/tcp{,6} text; returns how many. */
size_t sockets_parse_proc_tcp(const char *text, struct tcp_listen **out);
/*
 * Whether workers bind SO_REUSEPORT themselves: two of pids hold
 * different listening sockets on one address (a shared [socket:] is one
 * socket).  Returns 1 with the address in addr, else 0.
 */
int sockets_reuseport(const pid_t *pids, size_t n, char *addr, size_t len);
/* net.ipv4.tcp_migrate_req: 1 on, 0 off, -1 when the kernel has none. */
int sockets_migrate_req(void);
void listeners_close(struct listeners *);

/*
 * leashd's own sockets (control, notify, XML-RPC), by a key naming each
 * ("control:PATH"), so that an upgrade carries them across its exec
 * (takeover.h): each is registered once bound and unregistered when
 * closed; a new image takes the one it inherited instead of binding.
 */
void sockets_register(const char *key, int fd);
void sockets_unregister(int fd);
/* Calls fn for each registered socket. */
void sockets_each(void (*fn)(void *arg, const char *key, int fd), void *arg);
/* An inherited socket, for sockets_take. */
void sockets_inherit(const char *key, int fd);
/* The inherited socket for key, close-on-exec again, or -1. */
int sockets_take(const char *key);
/* Closes the inherited sockets nobody took (their server is gone from
 * the configuration). */
void sockets_inherit_done(void);

#endif
