/*
 * A stand-in for systemd's notify socket: binds PATH, writes every
 * datagram it receives to stdout (one message, then a line "--"), until
 * killed.  Used as NOTIFY_SOCKET=PATH for leashd in the systemd tests.
 *
 *   notifylisten PATH
 *   notifylisten --stream PATH
 *
 * With --stream it stands in for journald's stdout socket
 * (/run/systemd/journal/stdout) instead: a stream socket whose clients
 * (sd_journal_stream_fd(3)) first send a header of 7 lines (identifier,
 * unit, priority, level prefix, and 3 forwarding flags), then their
 * output; every output line is printed as "IDENTIFIER<PRIORITY>: LINE".
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STREAM_CLIENTS 64
#define HEADER_LINES 7

struct client {
	int fd;
	int lines;		/* lines seen so far */
	char ident[128];
	char prio[16];
	size_t n;
	char buf[8192];
};

static int
bind_path(const char *path, int type)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	strcpy(sun.sun_path, path);
	unlink(path);
	if ((fd = socket(AF_UNIX, type, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    (type == SOCK_STREAM && listen(fd, STREAM_CLIENTS) != 0)) {
		perror("notifylisten");
		exit(1);
	}
	return fd;
}

static void
client_line(struct client *c, char *line)
{
	switch (c->lines++) {
	case 0:
		snprintf(c->ident, sizeof(c->ident), "%s", line);
		break;
	case 2:
		snprintf(c->prio, sizeof(c->prio), "%s", line);
		break;
	default:
		if (c->lines > HEADER_LINES)
			printf("%s<%s>: %s\n", c->ident, c->prio, line);
		break;
	}
}

/* Reads what a client sent; 0 at its end (a last partial line is kept). */
static int
client_read(struct client *c)
{
	ssize_t r;
	char *nl;

	r = read(c->fd, c->buf + c->n, sizeof(c->buf) - 1 - c->n);
	if (r <= 0) {
		if (c->n > 0) {
			c->buf[c->n] = '\0';
			client_line(c, c->buf);
		}
		return 0;
	}
	c->n += (size_t)r;
	c->buf[c->n] = '\0';
	while ((nl = memchr(c->buf, '\n', c->n)) != NULL) {
		*nl = '\0';
		client_line(c, c->buf);
		c->n -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->n);
	}
	if (c->n == sizeof(c->buf) - 1) {	/* a line too long: split it */
		client_line(c, c->buf);
		c->n = 0;
	}
	return 1;
}

static void __attribute__((noreturn))
stream(const char *path)
{
	static struct client clients[STREAM_CLIENTS];
	struct pollfd pfd[STREAM_CLIENTS + 1];
	int lfd = bind_path(path, SOCK_STREAM), fd;

	for (int i = 0; i < STREAM_CLIENTS; i++)
		clients[i].fd = -1;
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (int i = 0; i < STREAM_CLIENTS; i++) {
			pfd[i + 1].fd = clients[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		if (poll(pfd, STREAM_CLIENTS + 1, -1) < 0)
			continue;
		for (int i = 0; i < STREAM_CLIENTS; i++) {
			if (clients[i].fd < 0 || pfd[i + 1].revents == 0)
				continue;
			if (client_read(&clients[i]) == 0) {
				close(clients[i].fd);
				clients[i].fd = -1;
			}
		}
		if (pfd[0].revents & POLLIN) {
			if ((fd = accept(lfd, NULL, NULL)) < 0)
				continue;
			for (int i = 0; i < STREAM_CLIENTS; i++) {
				if (clients[i].fd < 0) {
					memset(&clients[i], 0, sizeof(clients[i]));
					clients[i].fd = fd;
					fd = -1;
					break;
				}
			}
			if (fd >= 0)
				close(fd);	/* too many */
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char buf[4097];
	ssize_t n;
	int fd, streaming = argc == 3 && strcmp(argv[1], "--stream") == 0;

	if ((argc != 2 && !streaming) ||
	    strlen(argv[argc - 1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notifylisten [--stream] PATH\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (streaming)
		stream(argv[2]);
	fd = bind_path(argv[1], SOCK_DGRAM);
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		printf("%s%s--\n", buf, n > 0 && buf[n - 1] == '\n' ? "" : "\n");
	}
	return 0;
}
