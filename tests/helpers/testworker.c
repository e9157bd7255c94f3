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
 *   --groups            print our real gid and supplementary group ids on
 *                       one line, as id -G does
 *
 * Memory (BYTES takes a K, M or G suffix, powers of 1024):
 *   --grow BYTES        allocate and touch BYTES more every --tick (a leak)
 *   --tick SECS         the period of --grow (default 0.1)
 *   --plateau BYTES     stop growing once --grow holds this much (warm-up
 *                       that levels off)
 *   --hold BYTES        allocate and touch BYTES at start (a big footprint)
 *   --spike BYTES       1 s after start allocate and touch BYTES ...
 *   --spike-at SECS     ... or SECS after start ...
 *   --spike-for SECS    ... and give it back (munmap) after SECS (default 0.3)
 *   --events FILE       append "<CLOCK_MONOTONIC seconds> <pid> <event>"
 *                       lines to FILE: start, term (SIGTERM or SIGINT
 *                       received), exit.  With --events and without
 *                       --ignore-term, SIGTERM/SIGINT make the worker
 *                       record "term" and exit 0 (a graceful drain); with
 *                       --ignore-term it records "term" and goes on.
 *                       --spike also records "spike-start" (allocating),
 *                       "spike" (allocated and touched) and "spike-end"
 *                       (given back).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *treefile;
static const char *eventsfile;
static double spike_after = 1.0;	/* --spike-at */
static volatile sig_atomic_t got_term;

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One line, one write(2) with O_APPEND: lines of several processes
 * sharing the file do not interleave. */
static void
event(const char *what)
{
	char buf[128];
	int fd, n;

	if (eventsfile == NULL)
		return;
	n = snprintf(buf, sizeof(buf), "%.6f %d %s\n", now_mono(),
	    (int)getpid(), what);
	if ((fd = open(eventsfile, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
		return;
	if (write(fd, buf, n) != n)
		perror("write");
	close(fd);
}

static void
term_handler(int sig)
{
	(void)sig;
	got_term = 1;
}

/* "16M" -> 16777216; K, M, G are powers of 1024. */
static size_t
parse_bytes(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024 * 1024 * 1024; break;
	default: break;
	}
	return v > 0 ? (size_t)v : 0;
}

/* Fresh anonymous memory, every page written so it is resident. */
static void *
touch_new(size_t bytes)
{
	void *p;

	if (bytes == 0)
		return NULL;
	/* MAP_POPULATE: the pages in one go, so a spike rises fast. */
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return NULL;
	}
	memset(p, 0x5a, bytes);
	return p;
}

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

/*
 * The main loop of the memory options and --events.  SIGTERM and SIGINT
 * are blocked but while waiting in ppoll(), so the handler only sets a
 * flag and the loop writes the event.
 */
static int
memory_loop(size_t grow, double tick, size_t plateau, size_t hold,
    size_t spike, double spike_for, double after, int exitcode, int ignore)
{
	struct sigaction sa;
	sigset_t block, orig;
	double start = now_mono(), next_grow, spike_at, spike_end = 0, next, t;
	void *spiked = NULL;
	size_t held = 0;
	int code = exitcode >= 0 ? exitcode : 0;

	if (tick <= 0)
		tick = 0.1;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (eventsfile != NULL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = term_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		if (!ignore)
			sigaction(SIGINT, &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &block, &orig);
	event("start");
	if (hold > 0 && touch_new(hold) != NULL)
		held += hold;
	next_grow = now_mono();
	spike_at = spike > 0 ? start + spike_after : 0;
	for (;;) {
		struct timespec ts;

		if (got_term) {
			got_term = 0;
			event("term");
			if (!ignore) {
				event("exit");
				return 0;
			}
		}
		t = now_mono();
		if (after >= 0 && t >= start + after) {
			event("exit");
			return code;
		}
		if (grow > 0 && (plateau == 0 || held < plateau) &&
		    t >= next_grow) {
			if (touch_new(grow) != NULL)
				held += grow;
			next_grow += tick;
			if (next_grow < t)
				next_grow = t + tick;
		}
		if (spike_at > 0 && t >= spike_at) {
			event("spike-start");
			spiked = touch_new(spike);
			spike_end = now_mono() + spike_for;
			event("spike");
			spike_at = 0;
		}
		if (spiked != NULL && t >= spike_end) {
			munmap(spiked, spike);
			spiked = NULL;
			event("spike-end");
		}
		/* Until the next thing to do, at most a second. */
		next = t + 1.0;
		if (after >= 0 && start + after < next)
			next = start + after;
		if (grow > 0 && (plateau == 0 || held < plateau) &&
		    next_grow < next)
			next = next_grow;
		if (spike_at > 0 && spike_at < next)
			next = spike_at;
		if (spiked != NULL && spike_end < next)
			next = spike_end;
		t = next - now_mono();
		if (t < 0)
			t = 0;
		ts.tv_sec = (time_t)t;
		ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
		if (ppoll(NULL, 0, &ts, &orig) < 0 && errno != EINTR)
			perror("ppoll");
	}
}

static void
print_groups(void)
{
	gid_t g[256], gid = getgid();
	int n = getgroups(256, g);

	printf("%d", (int)gid);
	for (int i = 0; i < n; i++)
		if (g[i] != gid)
			printf(" %d", (int)g[i]);
	printf("\n");
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
		{ "groups", no_argument, NULL, 'G' },
		{ "grow", required_argument, NULL, 'g' },
		{ "tick", required_argument, NULL, 'T' },
		{ "plateau", required_argument, NULL, 'P' },
		{ "hold", required_argument, NULL, 'H' },
		{ "spike", required_argument, NULL, 'S' },
		{ "spike-for", required_argument, NULL, 'F' },
		{ "spike-at", required_argument, NULL, 'A' },
		{ "events", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	size_t grow = 0, plateau = 0, hold = 0, spike = 0;
	double tick = 0.1, spike_for = 0.3;
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
		case 'G': print_groups(); break;
		case 'g': grow = parse_bytes(optarg); break;
		case 'T': tick = atof(optarg); break;
		case 'P': plateau = parse_bytes(optarg); break;
		case 'H': hold = parse_bytes(optarg); break;
		case 'S': spike = parse_bytes(optarg); break;
		case 'F': spike_for = atof(optarg); break;
		case 'A': spike_after = atof(optarg); break;
		case 'V': eventsfile = optarg; break;
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
	if (eventsfile != NULL || grow > 0 || hold > 0 || spike > 0)
		return memory_loop(grow, tick, plateau, hold, spike, spike_for,
		    after, exitcode, ignore);
	if (exitcode >= 0 && after < 0)
		return exitcode;
	if (after >= 0) {
		usleep((useconds_t)(after * 1e6));
		return exitcode >= 0 ? exitcode : 0;
	}
	sleep_forever();
}
