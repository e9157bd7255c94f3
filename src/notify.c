#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "notify.h"
#include "proc.h"
#include "sockets.h"
#include "program.h"
#include "supervisor.h"
#include "util.h"

#define NOTIFY_MESSAGE_MAX 4096

struct notify {
	struct supervisor *sv;
	const struct pool *pool;
	int fd;
	char path[108];
	ev_io io;
};

/* The instance a pid belongs to: itself, its cgroup, or an ancestor. */
static struct instance *
notify_sender(struct notify *n, pid_t pid)
{
	char path[64], buf[1024], *p;
	struct instance *in;
	struct proc_entry e;

	if ((in = pool_instance_by_pid(n->pool, pid)) != NULL)
		return in;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (n->sv->cg_usable && read_small_file(path, buf, sizeof(buf)) > 0 &&
	    (p = strstr(buf, "/" CGROUP_WORKER_PREFIX)) != NULL) {
		p += strlen("/" CGROUP_WORKER_PREFIX);
		p[strcspn(p, "/\n")] = '\0';
		if ((in = pool_instance_by_token(n->pool, p)) != NULL)
			return in;
	}
	/* Up the ancestry; a process re-parented to leashd stops the walk. */
	for (int depth = 0; depth < 64 && pid > 1 && pid != n->sv->self;
	    depth++) {
		if (proc_read_stat(pid, &e) != 0)
			return NULL;
		pid = e.ppid;
		if ((in = pool_instance_by_pid(n->pool, pid)) != NULL)
			return in;
	}
	return NULL;
}

static void
notify_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct notify *n = container_of(io, struct notify, io);
	char data[NOTIFY_MESSAGE_MAX + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
		    CMSG_SPACE(sizeof(int) * 16)];
	} control;
	struct iovec iov = { data, NOTIFY_MESSAGE_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct ucred *cred = NULL;
	struct cmsghdr *c;
	struct instance *in;
	bool fds = false;
	ssize_t len;

	(void)loop;
	(void)revents;
	for (int round = 0; round < 64; round++) {
		msg.msg_controllen = sizeof(control.buf);
		msg.msg_flags = 0;
		cred = NULL;
		fds = false;
		len = recvmsg(n->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (len < 0)
			return;		/* EAGAIN, or nothing more to do */
		for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cred = (struct ucred *)(void *)CMSG_DATA(c);
			else if (c->cmsg_type == SCM_RIGHTS) {
				int *f = (int *)(void *)CMSG_DATA(c);
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < k; i++)
					close(f[i]);
				fds = true;
			}
		}
		if (fds || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
			log_debug("notify", "dropped a message with fds or too "
			    "long (pid %d)", cred ? (int)cred->pid : -1);
			continue;
		}
		if (cred == NULL || cred->pid <= 0) {
			log_debug("notify", "dropped a message without "
			    "credentials");
			continue;
		}
		if ((in = notify_sender(n, cred->pid)) == NULL) {
			log_debug("notify", "dropped a message from pid %d, which "
			    "is no worker's", (int)cred->pid);
			continue;
		}
		data[len] = '\0';
		notify_dispatch(in, data, (size_t)len);
	}
}

void
notify_dispatch(struct instance *in, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;
	char line[NOTIFY_MESSAGE_MAX + 1];
	size_t l;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		l = nl - p;
		memcpy(line, p, l);
		line[l] = '\0';
		if (strcmp(line, "READY=1") == 0)
			instance_ready(in);
		else if (strncmp(line, "STATUS=", 7) == 0)
			instance_set_status_text(in, line + 7);
		else if (strcmp(line, "STOPPING=1") == 0)
			instance_stopping(in);
		else if (strcmp(line, "WATCHDOG=1") == 0)
			instance_watchdog(in);
		else if (l > 0)
			log_debug("notify", "%s: ignored \"%.64s\"", in->spec->fullname,
			    line);
	}
}

/*
 * A filesystem path, as systemd's own NOTIFY_SOCKET is: PHP's
 * socket_sendto, among others, cannot send to an abstract address.  It
 * sits beside the control socket, whose bind already proved that no
 * other leashd runs there, so a socket left at the path is stale.  Mode
 * 0666 like systemd's: workers may run as other users, and every sender
 * is checked by its credentials anyway.
 */
struct notify *
notify_open(struct supervisor *sv, const struct pool *pool, const char *path,
    char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct notify *n;
	int one = 1, size = 1 << 20, fd;
	char *key;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "notify socket path too long: %s", path);
		return NULL;
	}
	key = xasprintf("notify:%s", path);
	/* Carried across an upgrade, with what workers sent meanwhile. */
	if ((fd = sockets_take(key)) >= 0)
		goto bound;
	if (socket_unlink_stale(path, err, errlen) < 0) {
		free(key);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0666) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
		free(key);
		snprintf(err, errlen, "notify socket %s: %s", path,
		    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
bound:
	sockets_register(key, fd);
	free(key);
	n = xcalloc(1, sizeof(*n));
	n->sv = sv;
	n->pool = pool;
	n->fd = fd;
	snprintf(n->path, sizeof(n->path), "%s", path);
	snprintf(sv->notify_socket, sizeof(sv->notify_socket), "%s", path);
	ev_io_init(&n->io, notify_cb, n->fd, EV_READ);
	ev_io_start(sv->loop, &n->io);
	return n;
}

void
notify_close(struct notify *n)
{
	if (n == NULL)
		return;
	ev_io_stop(n->sv->loop, &n->io);
	sockets_unregister(n->fd);
	close(n->fd);
	unlink(n->path);
	n->sv->notify_socket[0] = '\0';
	free(n);
}
