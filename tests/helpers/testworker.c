/*
 * A worker for the test suite: does what its options say, so tests can
 * build the misbehaviour they need from one binary.
 *
 *   --pidfile FILE      write our pid to FILE (atomically)
 *   --tree FILE         append the pids of spawned children to FILE
 *   --children N        fork N children that sleep (same process group)
 *   --daemon            double-fork a setsid() grandchild that ignores TERM
 *   --ignore-term       ignore SIGTERM (and SIGINT)
 *   --after SECS        wait SECS, then exit with --exit CODE
 *   --exit CODE         exit code (at once unless --after)
 *   --print TEXT        write TEXT and a newline to stdout at start
 *   --eprint TEXT       write TEXT and a newline to stderr at start
 *   --spew BYTES        write BYTES bytes of 'x' lines to stdout at start
 *   --env NAME          print NAME=value of an environment variable
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *treefile;

static void
write_pid_file(const char *path, pid_t pid)
{
	char tmp[4096], buf[32];
	int fd, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return;
	if (write(fd, buf, n) != n) {
		close(fd);
		return;
	}
	close(fd);
	rename(tmp, path);
}

static void
append_pid(pid_t pid)
{
	char buf[32];
	int fd, n;

	if (treefile == NULL)
		return;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if ((fd = open(treefile, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
		return;
	if (write(fd, buf, n) != n)
		perror("write");
	close(fd);
}

static void __attribute__((noreturn))
sleep_forever(void)
{
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ "tree", required_argument, NULL, 't' },
		{ "children", required_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "ignore-term", no_argument, NULL, 'i' },
		{ "after", required_argument, NULL, 'a' },
		{ "exit", required_argument, NULL, 'e' },
		{ "print", required_argument, NULL, 'o' },
		{ "eprint", required_argument, NULL, 'E' },
		{ "spew", required_argument, NULL, 's' },
		{ "env", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pidfile = NULL;
	int children = 0, exitcode = -1, ch;
	long spew = 0;
	double after = -1;
	int daemonize = 0, ignore = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': pidfile = optarg; break;
		case 't': treefile = optarg; break;
		case 'c': children = atoi(optarg); break;
		case 'd': daemonize = 1; break;
		case 'i': ignore = 1; break;
		case 'a': after = atof(optarg); break;
		case 'e': exitcode = atoi(optarg); break;
		case 'o': printf("%s\n", optarg); break;
		case 'E': fprintf(stderr, "%s\n", optarg); break;
		case 's': spew = atol(optarg); break;
		case 'v': printf("%s=%s\n", optarg,
		    getenv(optarg) ? getenv(optarg) : "(unset)"); break;
		default: return 2;
		}
	}
	for (long i = 0; i < spew; i += 64)
		printf("%.63s\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	fflush(stdout);
	fflush(stderr);
	if (ignore) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
	}
	for (int i = 0; i < children; i++) {
		pid_t pid = fork();
		if (pid == 0)
			sleep_forever();
		if (pid > 0)
			append_pid(pid);
	}
	if (daemonize) {
		pid_t pid = fork();
		if (pid == 0) {
			setsid();
			if (fork() == 0) {
				signal(SIGTERM, SIG_IGN);
				append_pid(getpid());
				sleep_forever();
			}
			_exit(0);
		}
	}
	if (pidfile != NULL)
		write_pid_file(pidfile, getpid());
	if (exitcode >= 0 && after < 0)
		return exitcode;
	if (after >= 0) {
		usleep((useconds_t)(after * 1e6));
		return exitcode >= 0 ? exitcode : 0;
	}
	sleep_forever();
}
