/*
 * A stand-in for systemd's notify socket: binds PATH, writes every
 * datagram it receives to stdout (one message, then a line "--"), until
 * killed.  Used as NOTIFY_SOCKET=PATH for leashd in the systemd tests.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4097];
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notifylisten PATH\n");
		return 2;
	}
	strcpy(sun.sun_path, argv[1]);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror("notifylisten");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		printf("%s%s--\n", buf, n > 0 && buf[n - 1] == '\n' ? "" : "\n");
	}
	return 0;
}
