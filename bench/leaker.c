/*
 * The leaking worker of figures 5 and 6.
 *
 *   leaker -r RATE -l LIMIT -e EVENTS [-c CAP] [-d DELAY_MS] [-g] [-n]
 *
 * Leaks RATE bytes a second (touched, so they are resident) in 256 KiB
 * steps, up to CAP bytes (default 4G).  It appends to the file EVENTS
 * one line per event, each with its pid and a CLOCK_REALTIME timestamp:
 *
 *   start PID TS                 when it starts
 *   cross PID TS BYTES           the first step after which its RSS
 *                                (/proc/self/statm) is over LIMIT
 *   cgcross PID TS BYTES         (-g) the same for its own memory cgroup's
 *                                memory.usage_in_bytes (cgroup v1)
 *   term PID TS SIGNAL PEAK      it got SIGTERM or SIGINT (the drain or
 *                                stop signal): PEAK is its VmHWM in bytes;
 *                                it then exits 0 at once
 *
 * and keeps EVENTS.peak.PID up to date with its RSS after every step, so
 * that a worker killed with SIGKILL still leaves its peak behind.  Before
 * leaking it waits a random 0..DELAY_MS ms, so that the moments it
 * crosses LIMIT fall at random phases of a supervisor's sampling timer.
 * With -n it sends READY=1 to $NOTIFY_SOCKET as soon as it has started
 * (sd_notify), for a supervisor's ready = notify.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STEP (256 * 1024)

static volatile sig_atomic_t got_signal;
static struct timespec signal_time;

static void
on_signal(int sig)
{
	if (got_signal == 0) {
		clock_gettime(CLOCK_REALTIME, &signal_time);
		got_signal = sig;
	}
}

static long long
parse_bytes(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	}
	return (long long)v;
}

static long long
read_number(const char *path, int field)
{
	char buf[256];
	long long v[2] = { -1, -1 };
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lld %lld", &v[0], &v[1]) < field + 1)
		return -1;
	return v[field];
}

static long long
rss_bytes(void)
{
	long long pages = read_number("/proc/self/statm", 1);

	return pages < 0 ? -1 : pages * sysconf(_SC_PAGESIZE);
}

static long long
hwm_bytes(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd;

	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "VmHWM:")) == NULL)
		return -1;
	return atoll(p + 6) * 1024;
}

/* This process's own cgroup v1 memory usage file, or NULL. */
static char *
cgroup_usage_path(void)
{
	static char path[4096];
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");
	char *found = NULL;

	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		c2[strcspn(c2 + 1, "\n") + 1] = '\0';
		if (strcmp(c1 + 1, "memory") == 0) {
			snprintf(path, sizeof(path),
			    "/sys/fs/cgroup/memory%s/memory.usage_in_bytes",
			    strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1);
			found = path;
		}
	}
	fclose(f);
	return found;
}

/* sd_notify(0, "READY=1") without libsystemd. */
static void
notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	strcpy(sun.sun_path, path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)!sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun, len);
	close(fd);
}

static void
event(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
event(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, line, n) != n)
		_exit(3);
}

static void
ts_add(struct timespec *t, long long ns)
{
	t->tv_nsec += ns % 1000000000LL;
	t->tv_sec += ns / 1000000000LL;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

int
main(int argc, char **argv)
{
	long long rate = 40LL << 20, limit = -1, cap = 4LL << 30, leaked = 0;
	long long rss, usage, period_ns;
	const char *events = NULL, *cgpath = NULL;
	int ch, fd, peakfd, delay_ms = 0, crossed = 0, cgcrossed = 0, cg = 0;
	int notify = 0;
	struct sigaction sa;
	struct timespec now, next;
	char peakname[4096], buf[64];
	pid_t pid = getpid();

	while ((ch = getopt(argc, argv, "r:l:e:c:d:gn")) != -1) {
		switch (ch) {
		case 'r': rate = parse_bytes(optarg); break;
		case 'l': limit = parse_bytes(optarg); break;
		case 'e': events = optarg; break;
		case 'c': cap = parse_bytes(optarg); break;
		case 'd': delay_ms = atoi(optarg); break;
		case 'g': cg = 1; break;
		case 'n': notify = 1; break;
		default: goto usage;
		}
	}
	if (events == NULL || limit <= 0 || rate <= 0) {
usage:
		fprintf(stderr, "usage: leaker -r RATE -l LIMIT -e EVENTS "
		    "[-c CAP] [-d DELAY_MS] [-g] [-n]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((fd = open(events, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0) {
		perror(events);
		return 1;
	}
	snprintf(peakname, sizeof(peakname), "%s.peak.%d", events, (int)pid);
	if ((peakfd = open(peakname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		perror(peakname);
		return 1;
	}
	if (cg)
		cgpath = cgroup_usage_path();
	clock_gettime(CLOCK_REALTIME, &now);
	event(fd, "start %d %lld.%09ld\n", (int)pid, (long long)now.tv_sec,
	    now.tv_nsec);
	if (notify)
		notify_ready();

	srand((unsigned)(now.tv_nsec ^ pid));
	period_ns = (long long)STEP * 1000000000LL / rate;
	clock_gettime(CLOCK_MONOTONIC, &next);
	if (delay_ms > 0)
		ts_add(&next, (long long)(rand() % (delay_ms + 1)) * 1000000LL);
	while (!got_signal) {
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
		    NULL) == EINTR && !got_signal)
			;
		if (got_signal)
			break;
		ts_add(&next, period_ns);
		if (leaked >= cap)
			continue;
		char *p = malloc(STEP);
		if (p == NULL)
			continue;
		memset(p, 0x5a, STEP);
		leaked += STEP;
		rss = rss_bytes();
		snprintf(buf, sizeof(buf), "%20lld\n", rss);
		if (pwrite(peakfd, buf, strlen(buf), 0) < 0)
			return 3;
		if (!crossed && rss > limit) {
			clock_gettime(CLOCK_REALTIME, &now);
			event(fd, "cross %d %lld.%09ld %lld\n", (int)pid,
			    (long long)now.tv_sec, now.tv_nsec, rss);
			crossed = 1;
		}
		if (cgpath != NULL && !cgcrossed &&
		    (usage = read_number(cgpath, 0)) > limit) {
			clock_gettime(CLOCK_REALTIME, &now);
			event(fd, "cgcross %d %lld.%09ld %lld\n", (int)pid,
			    (long long)now.tv_sec, now.tv_nsec, usage);
			cgcrossed = 1;
		}
	}
	event(fd, "term %d %lld.%09ld %d %lld\n", (int)pid,
	    (long long)signal_time.tv_sec, signal_time.tv_nsec, (int)got_signal,
	    hwm_bytes());
	return 0;
}
