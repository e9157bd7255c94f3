/*
 * A worker for the sd_notify tests: sends datagrams to $NOTIFY_SOCKET the
 * way sd_notify(3) does, then lives on (so its pid can be attributed).
 *
 *   notifier [--wait FILE] [--delay SECS] [--from-child] [--every SECS]
 *            [--pidfile F] [--stay SECS] [MESSAGE...]
 *
 * Each MESSAGE (e.g. READY=1, "STATUS=serving 3 requests", WATCHDOG=1) is
 * sent once after --delay; with --every they are sent again every SECS.
 * --wait FILE first waits (polling) until FILE exists, so a test decides
 * when the messages go out.
 * --from-child sends from a forked child (a process of the worker's tree)
 * that stays alive --stay seconds (default 1).  Without --every the
 * process then sleeps until killed.  SIGTERM exits 0.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
send_all(char **msgs, int n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, rc = 0;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (sendto(fd, msgs[i], strlen(msgs[i]), 0,
		    (struct sockaddr *)&sun, len) < 0)
			rc = -1;
	close(fd);
	return rc;
}

static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "from-child", no_argument, NULL, 'c' },
		{ "every", required_argument, NULL, 'e' },
		{ "stay", required_argument, NULL, 's' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	double delay = 0, every = 0, stay = 1;
	int child = 0, ch;
	const char *pidfile = NULL, *waitfile = NULL;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': delay = atof(optarg); break;
		case 'c': child = 1; break;
		case 'e': every = atof(optarg); break;
		case 's': stay = atof(optarg); break;
		case 'p': pidfile = optarg; break;
		case 'w': waitfile = optarg; break;
		default: return 2;
		}
	}
	signal(SIGTERM, on_term);
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	/* Polls for the file the test creates when it wants the messages;
	 * the test's own deadline bounds the wait. */
	while (waitfile != NULL && access(waitfile, F_OK) != 0)
		usleep(20000);
	usleep((useconds_t)(delay * 1e6));
	do {
		if (child) {
			pid_t pid = fork();
			if (pid == 0) {
				send_all(argv + optind, argc - optind);
				usleep((useconds_t)(stay * 1e6));
				_exit(0);
			}
		} else
			send_all(argv + optind, argc - optind);
		if (every > 0)
			usleep((useconds_t)(every * 1e6));
	} while (every > 0);
	for (;;)
		pause();
}
