#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "leashd.h"
#include "log.h"
#include "notify.h"
#include "program.h"
#include "util.h"

#define NOTIFY_MESSAGE_MAX 4096

struct notify {
	struct leashd *d;
	int fd;
	char name[64];
	ev_io io;
};

const char *
notify_socket_name(const struct notify *n)
{
	return n->name;
}

/* The instance a pid belongs to: itself, its cgroup, or an ancestor. */
static struct instance *
notify_sender(struct leashd *d, pid_t pid)
{
	char path[64], buf[1024], *p;
	struct instance *in;
	int fd, depth;
	ssize_t n;
	int ppid;

	if ((in = leashd_instance_by_pid(d, pid)) != NULL)
		return in;
	if (d->cg_usable) {
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = '\0';
			if ((p = strstr(buf, "/leash-")) != NULL) {
				p += strlen("/leash-");
				p[strcspn(p, "/\n")] = '\0';
				if ((in = leashd_instance_by_token(d, p)) != NULL)
					return in;
			}
		}
	}
	/* Up the ancestry; a process re-parented to leashd stops the walk. */
	for (depth = 0; depth < 64 && pid > 1 && pid != d->self; depth++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return NULL;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return NULL;
		buf[n] = '\0';
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %d", &ppid) != 1)
			return NULL;
		pid = ppid;
		if ((in = leashd_instance_by_pid(d, pid)) != NULL)
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
		if ((in = notify_sender(n->d, cred->pid)) == NULL) {
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
			log_debug("notify", "%s: ignored \"%.64s\"", in->w->fullname,
			    line);
	}
}

struct notify *
notify_open(struct leashd *d, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct notify *n = xcalloc(1, sizeof(*n));
	socklen_t len;
	int one = 1, size = 1 << 20;

	n->d = d;
	snprintf(n->name, sizeof(n->name), "@leash/%d/notify", (int)d->self);
	/* Abstract: nothing to clean up, and no file mode to get wrong;
	 * every sender is checked by its credentials anyway. */
	memcpy(sun.sun_path + 1, n->name + 1, strlen(n->name) - 1);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(n->name);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sun, len) != 0 ||
	    setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "notify socket %s: %s", n->name,
		    strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		free(n);
		return NULL;
	}
	setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	ev_io_init(&n->io, notify_cb, n->fd, EV_READ);
	ev_io_start(d->loop, &n->io);
	return n;
}

void
notify_close(struct notify *n)
{
	if (n == NULL)
		return;
	ev_io_stop(n->d->loop, &n->io);
	close(n->fd);
	free(n);
}
