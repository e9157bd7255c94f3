/*
 * An HTTP worker for the socket tests.  It accepts on fd 3 (the first
 * socket leashd passes with LISTEN_FDS), reads each request, answers
 * "HTTP/1.1 200 OK" with the body "ok PID" (Content-Length, Connection:
 * close) and closes the connection.
 *
 *   httpworker [--leak KIB] [--bind HOST:PORT [--portfile FILE] [--reuseport]]
 *   httpworker --get HOST:PORT [--count N] [--rate PER_SECOND]
 *
 *   --leak KIB       allocate and touch KIB KiB per request, never freed
 *   --bind H:P       listen on H:P itself instead of fd 3 (port 0: any free
 *                    port); --portfile FILE gets the port (atomically), so
 *                    a test can hold a port that is in use; --reuseport
 *                    sets SO_REUSEPORT first, so that several workers bind
 *                    one port each with a listener of its own
 *   --get H:P        be the client instead: N requests (default 1) one after
 *                    another, each on a new connection, at most --rate per
 *                    second; prints "BODY CODE" per answered request (like
 *                    curl -w ' %{http_code}\n': "ok 1234 200") and "fail
 *                    WHY" per failed one; exits 0 when all got 200
 *
 * Without --bind, LISTEN_PID must be our pid and LISTEN_FDS at least 1.
 * SIGTERM (or SIGINT): stop accepting, finish the request in hand, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void *leaked;		/* a chain, so the leak is not optimised away */

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
timeouts(int fd, int secs)
{
	struct timeval tv = { secs, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* "HOST:PORT" (HOST may be [v6]) into an address; -1 with a message. */
static struct addrinfo *
resolve(const char *spec, int passive)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = passive ? AI_PASSIVE : 0 };
	struct addrinfo *res = NULL;
	char *host = strdup(spec), *port;
	int rc;

	if (host == NULL || (port = strrchr(host, ':')) == NULL) {
		fprintf(stderr, "httpworker: %s: expected HOST:PORT\n", spec);
		exit(2);
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "httpworker: %s: %s\n", spec, gai_strerror(rc));
		exit(2);
	}
	free(host);
	return res;
}

static int reuseport;

static int
listen_on(const char *spec, const char *portfile)
{
	struct addrinfo *a = resolve(spec, 1);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char tmp[4096], port[NI_MAXSERV];
	int fd, one = 1;
	FILE *f;

	if ((fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) != 0) ||
	    bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		fprintf(stderr, "httpworker: %s: %s\n", spec, strerror(errno));
		exit(1);
	}
	freeaddrinfo(a);
	if (portfile != NULL) {
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    getnameinfo((struct sockaddr *)&ss, len, NULL, 0, port,
		    sizeof(port), NI_NUMERICSERV) != 0) {
			fprintf(stderr, "httpworker: getsockname failed\n");
			exit(1);
		}
		snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
		if ((f = fopen(tmp, "w")) == NULL) {
			perror(tmp);
			exit(1);
		}
		fprintf(f, "%s\n", port);
		fclose(f);
		rename(tmp, portfile);
	}
	return fd;
}

/* fd 3, checked the way sd_listen_fds(3) checks it. */
static int
listen_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() ||
	    atoi(fds) < 1) {
		fprintf(stderr, "httpworker: no socket passed (LISTEN_PID=%s, "
		    "LISTEN_FDS=%s, pid %d)\n", pid ? pid : "unset",
		    fds ? fds : "unset", (int)getpid());
		exit(2);
	}
	return 3;
}

static void
leak(long kib)
{
	size_t n = (size_t)kib * 1024;
	char *p;

	if (n < sizeof(void *))
		return;
	if ((p = malloc(n)) == NULL)
		return;
	memset(p, 0x5a, n);
	*(void **)(void *)p = leaked;
	leaked = p;
}

/* One connection: the request head, the answer, an orderly close. */
static void
serve(int c, long kib)
{
	char req[8192], body[64], head[256], sink[512];
	size_t got = 0;
	ssize_t n;
	int hl, bl;

	timeouts(c, 5);
	while (got < sizeof(req) - 1) {
		n = read(c, req + got, sizeof(req) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
			break;
	}
	if (got == 0) {
		close(c);
		return;
	}
	leak(kib);
	bl = snprintf(body, sizeof(body), "ok %d", (int)getpid());
	hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %d\r\n"
	    "Connection: close\r\n\r\n", bl);
	if (write_all(c, head, (size_t)hl) == 0)
		write_all(c, body, (size_t)bl);
	/* Half-close, then wait for the client's close: no RST. */
	shutdown(c, SHUT_WR);
	timeouts(c, 1);
	while ((n = read(c, sink, sizeof(sink))) > 0 ||
	    (n < 0 && errno == EINTR))
		;
	close(c);
}

static int
server(int lfd, long kib)
{
	struct sigaction sa;
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	sigset_t block, orig;
	int c, fl;

	/* Shared with the other workers of the socket (and leashd): each
	 * waits in ppoll, and a connection another one took is no error. */
	if ((fl = fcntl(lfd, F_GETFL)) < 0 ||
	    fcntl(lfd, F_SETFL, fl | O_NONBLOCK) != 0) {
		perror("httpworker: fcntl");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The signals only get through while waiting for a connection. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	for (;;) {
		if (stop)
			return 0;
		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			perror("httpworker: ppoll");
			return 1;
		}
		if (stop)
			return 0;
		if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("httpworker: accept");
			return 1;
		}
		serve(c, kib);
	}
}

/* One request; "BODY CODE" into out, or -1 with out set to why. */
static int
get_once(const struct addrinfo *a, char *out, size_t outlen)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: leash-test\r\n"
	    "Connection: close\r\n\r\n";
	char resp[4096], *body;
	size_t got = 0;
	ssize_t n;
	int fd, code;

	if ((fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(out, outlen, "socket: %s", strerror(errno));
		return -1;
	}
	timeouts(fd, 10);
	if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
		snprintf(out, outlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (write_all(fd, req, sizeof(req) - 1) != 0) {
		snprintf(out, outlen, "write: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while (got < sizeof(resp) - 1) {
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(out, outlen, "read: %s", strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1) {
		snprintf(out, outlen, "no status line (%zu bytes)", got);
		return -1;
	}
	if ((body = strstr(resp, "\r\n\r\n")) == NULL) {
		snprintf(out, outlen, "no end of header (%zu bytes)", got);
		return -1;
	}
	snprintf(out, outlen, "%s %d", body + 4, code);
	return code == 200 ? 0 : -1;
}

static int
client(const char *spec, long count, double rate)
{
	struct addrinfo *a = resolve(spec, 0);
	struct timespec start, at;
	char line[256];
	long failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < count; i++) {
		if (rate > 0) {
			double t = (double)i / rate;
			at = start;
			at.tv_sec += (time_t)t;
			at.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
			if (at.tv_nsec >= 1000000000L) {
				at.tv_sec++;
				at.tv_nsec -= 1000000000L;
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at,
			    NULL) == EINTR)
				;
		}
		if (get_once(a, line, sizeof(line)) != 0) {
			printf("fail %s\n", line);
			failed++;
		} else
			printf("%s\n", line);
	}
	freeaddrinfo(a);
	return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "leak", required_argument, NULL, 'l' },
		{ "bind", required_argument, NULL, 'b' },
		{ "portfile", required_argument, NULL, 'p' },
		{ "get", required_argument, NULL, 'g' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "reuseport", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bindspec = NULL, *portfile = NULL, *get = NULL;
	long kib = 0, count = 1;
	double rate = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': kib = atol(optarg); break;
		case 'b': bindspec = optarg; break;
		case 'p': portfile = optarg; break;
		case 'g': get = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'R': reuseport = 1; break;
		default: return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: httpworker [--leak KIB] [--bind HOST:PORT "
		    "[--portfile FILE] [--reuseport]] | --get HOST:PORT [--count N] "
		    "[--rate PER_SECOND]\n");
		return 2;
	}
	if (get != NULL)
		return client(get, count, rate);
	return server(bindspec ? listen_on(bindspec, portfile) : listen_fd(),
	    kib);
}
