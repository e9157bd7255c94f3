/*
 * The HTTP worker of figures 7 and 9: a minimal keep-alive HTTP/1.1 server
 * that leaks on every request, as a PHP or Node worker with a static array
 * that grows forever.
 *
 *   httpworker [-p PORT] [-l LEAK_PER_REQUEST] [-w DRAIN_WAIT_MS] [-n]
 *              [-e PEAKFILE]
 *
 * It serves on fd 3 when LISTEN_FDS/LISTEN_PID say so (leash's
 * [socket:NAME], shared by every worker: one accept queue), else it binds
 * 127.0.0.1:PORT itself with SO_REUSEPORT (one accept queue per worker),
 * as a pool has to under a supervisor that cannot pass sockets.
 *
 * Every request gets "200 ok" and leaks LEAK_PER_REQUEST bytes (touched).
 * SIGTERM or SIGINT drains: it stops accepting at once, answers the next
 * request of each open connection with "Connection: close", and exits 0
 * when the last connection is gone, or after DRAIN_WAIT_MS (default 5000).
 *
 * -n: once listening, send READY=1 to $NOTIFY_SOCKET (sd_notify: a path,
 * or an abstract name starting with '@').  -e: at exit, append "PID
 * VmHWM_KIB" (its peak RSS, exact) to PEAKFILE.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ 8192

struct conn {
	int fd;
	size_t inlen;
	char in[BUFSZ];
	size_t outlen, outoff;
	char out[BUFSZ];
	int closing;		/* answered "Connection: close" */
};

static const char ok_keep[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    "Content-Length: 3\r\n\r\nok\n";
static const char ok_close[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    "Content-Length: 3\r\nConnection: close\r\n\r\nok\n";

static int epfd, nconns, draining;
static long long leak;
static char **kept;
static size_t nkept, capkept;

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void
do_leak(void)
{
	char *p;

	if (leak <= 0 || (p = malloc(leak)) == NULL)
		return;
	memset(p, 0x5a, leak);
	if (nkept == capkept) {
		capkept = capkept ? capkept * 2 : 1024;
		if ((kept = realloc(kept, capkept * sizeof(*kept))) == NULL)
			abort();
	}
	kept[nkept++] = p;
}

static void
conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	nconns--;
}

/* Writes what is pending; 0 when all is out, 1 when more is left, -1 on
 * error. */
static int
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n < 0) {
			if (errno == EAGAIN)
				return 1;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->outoff += n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

static void
conn_event(struct conn *c)
{
	ssize_t n;
	char *end;

	for (;;) {
		if (c->closing) {
			/* Wait for the client's close so ours sends no RST. */
			char sink[512];
			n = read(c->fd, sink, sizeof(sink));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				conn_close(c);
			return;
		}
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			c->inlen += n;
		/* Answer every complete request in the buffer. */
		while ((end = memmem(c->in, c->inlen, "\r\n\r\n", 4)) != NULL) {
			size_t used = (size_t)(end + 4 - c->in);
			int close_it = draining ||
			    memmem(c->in, used, "Connection: close", 17) != NULL;
			const char *r = close_it ? ok_close : ok_keep;
			size_t rl = close_it ? sizeof(ok_close) - 1 :
			    sizeof(ok_keep) - 1;

			do_leak();
			if (c->outlen + rl <= sizeof(c->out)) {
				memcpy(c->out + c->outlen, r, rl);
				c->outlen += rl;
			}
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used;
			if (close_it) {
				c->closing = 1;
				c->inlen = 0;
				break;
			}
		}
		if (c->inlen == sizeof(c->in)) {	/* no request fits */
			conn_close(c);
			return;
		}
		if (conn_flush(c) < 0) {
			conn_close(c);
			return;
		}
		if (c->closing && c->outlen == 0) {
			shutdown(c->fd, SHUT_WR);
			continue;
		}
		if (n < 0)	/* EAGAIN: all read */
			return;
	}
}

static const char *peakfile;

/* Appends "PID VmHWM_KIB" to peakfile: the worker's peak RSS. */
static void
record_peak(void)
{
	char line[256];
	long kib = -1;
	FILE *f;

	if (peakfile == NULL || (f = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib >= 0 && (f = fopen(peakfile, "a")) != NULL) {
		fprintf(f, "%d %ld\n", (int)getpid(), kib);
		fclose(f);
	}
}

static void
notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun, len) != 7)
		perror("httpworker: READY=1");
	close(fd);
}

static int
listener_own(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port) };
	int fd, one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 1024) != 0) {
		perror("listen");
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *fds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
	struct epoll_event ev, evs[64];
	double deadline = 0;
	int ch, port = 0, lfd, sfd, wait_ms = 5000, one = 1, ready = 0;
	sigset_t mask;

	while ((ch = getopt(argc, argv, "p:l:w:ne:")) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'l': leak = atoll(optarg); break;
		case 'w': wait_ms = atoi(optarg); break;
		case 'n': ready = 1; break;
		case 'e': peakfile = optarg; break;
		default:
			fprintf(stderr, "usage: httpworker [-p PORT] "
			    "[-l LEAK_PER_REQUEST] [-w DRAIN_WAIT_MS] [-n] "
			    "[-e PEAKFILE]\n");
			return 2;
		}
	}
	atexit(record_peak);
	if (fds != NULL && atoi(fds) >= 1 && lpid != NULL &&
	    atoi(lpid) == (int)getpid())
		lfd = 3;
	else if (port > 0)
		lfd = listener_own(port);
	else {
		fprintf(stderr, "httpworker: no LISTEN_FDS and no -p PORT\n");
		return 2;
	}
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	fcntl(lfd, F_SETFD, FD_CLOEXEC);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = NULL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.events = EPOLLIN;
	ev.data.ptr = &sfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (ready)
		notify_ready();

	for (;;) {
		int timeout = -1, n;

		if (draining) {
			if (nconns == 0)
				return 0;
			timeout = (int)(deadline - now_ms());
			if (timeout <= 0)
				return 0;
		}
		n = epoll_wait(epfd, evs, 64, timeout);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				int cfd;
				while (!draining && (cfd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *c = calloc(1, sizeof(*c));
					c->fd = cfd;
					setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY,
					    &one, sizeof(one));
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.ptr = c;
					epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
					nconns++;
				}
			} else if (evs[i].data.ptr == &sfd) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof(si)) > 0)
					;
				if (!draining) {
					/* Stop accepting: in a shared queue the
					 * others take over; our own queue (with
					 * SO_REUSEPORT) is lost with it. */
					epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
					close(lfd);
					draining = 1;
					deadline = now_ms() + wait_ms;
				}
			} else
				conn_event(evs[i].data.ptr);
		}
	}
}
