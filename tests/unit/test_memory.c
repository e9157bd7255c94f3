/*
 * Unit tests of src/memory.c: source names, smaps_rollup parsing, /proc
 * figures of live processes (rss vs pss vs uss of a forked worker sharing
 * memory with its parent), and the sample ring: rate, trend, eta.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "memory.h"
#include "replace.h"
#include "util.h"

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)
#define TiB (GiB * 1024)

#define DEADLINE_MS 10000

/* --- helpers ------------------------------------------------------------ */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One byte from fd within the deadline; -1 on timeout, EOF or error. */
static int
read_byte_by(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char c;
	long long left;
	ssize_t n;
	int rc;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : -1;
}

/* Reaps a child that should be ending; kills it if the deadline passes. */
static bool
reap_by(pid_t pid, long long deadline)
{
	struct timespec nap = { 0, 5000000 };
	int status;
	pid_t w;

	do {
		if ((w = waitpid(pid, &status, WNOHANG)) == pid)
			return true;
		if (w < 0 && errno != EINTR)
			return false;
		nanosleep(&nap, NULL);
	} while (now_ms() < deadline);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return false;
}

static double
mib(int64_t bytes)
{
	return (double)bytes / (double)MiB;
}

static bool
near(double got, double want, double tolerance)
{
	return fabs(got - want) <= tolerance;
}

/* --- names -------------------------------------------------------------- */

static void
test_names(void)
{
	static const struct {
		enum memory_source s;
		const char *name;
	} names[] = {
		{ MEMORY_AUTO, "auto" },
		{ MEMORY_CGROUP, "cgroup" },
		{ MEMORY_RSS, "rss" },
		{ MEMORY_PSS, "pss" },
		{ MEMORY_USS, "uss" },
	};
	static const char *const bad[] = {
		"", "rsss", "ps", "r", "cgroups", "cgroupv2", " rss", "rss ",
		"uss\n", "auto,rss", "none", "working_set",
	};
	enum memory_source got;

	for (size_t i = 0; i < nitems(names); i++) {
		is_str(memory_source_name(names[i].s), names[i].name,
		    "source %d is named %s", (int)names[i].s, names[i].name);
		got = (enum memory_source)-1;
		ok(memory_parse_source(names[i].name, &got) == 0 &&
		    got == names[i].s, "parse_source(\"%s\") = %d (got %d)",
		    names[i].name, (int)names[i].s, (int)got);
		got = (enum memory_source)-1;
		ok(memory_parse_source(memory_source_name(names[i].s), &got) == 0
		    && got == names[i].s, "source %s round-trips",
		    names[i].name);
	}
	ok(memory_parse_source("PSS", &got) == 0 && got == MEMORY_PSS,
	    "parse_source is case-insensitive (PSS)");
	ok(memory_parse_source("Cgroup", &got) == 0 && got == MEMORY_CGROUP,
	    "parse_source is case-insensitive (Cgroup)");
	for (size_t i = 0; i < nitems(bad); i++) {
		got = MEMORY_USS;
		ok(memory_parse_source(bad[i], &got) == -1 && got == MEMORY_USS,
		    "parse_source rejects \"%s\" and leaves out alone",
		    bad[i][0] == '\n' || strchr(bad[i], '\n') ? "uss\\n" : bad[i]);
	}
	is_str(memory_trend_name(TREND_UNKNOWN), "unknown", "trend name unknown");
	is_str(memory_trend_name(TREND_GROWING), "growing", "trend name growing");
	is_str(memory_trend_name(TREND_LEVELLED), "levelled off",
	    "trend name levelled");
}

/* --- smaps_rollup ------------------------------------------------------- */

static void
test_smaps_rollup(void)
{
	/* From a real 6.x kernel; the figures are adjusted to be distinct. */
	static const char rollup[] =
	    "55d0c8a2e000-7ffd4b3f5000 ---p 00000000 00:00 0                          [rollup]\n"
	    "Rss:               17456 kB\n"
	    "Pss:                9876 kB\n"
	    "Pss_Dirty:          5000 kB\n"
	    "Pss_Anon:           4800 kB\n"
	    "Pss_File:           5076 kB\n"
	    "Pss_Shmem:             3 kB\n"
	    "Shared_Clean:      12000 kB\n"
	    "Shared_Dirty:       1000 kB\n"
	    "Private_Clean:       456 kB\n"
	    "Private_Dirty:      4000 kB\n"
	    "Referenced:        17000 kB\n"
	    "Anonymous:          4800 kB\n"
	    "KSM:                   0 kB\n"
	    "LazyFree:              0 kB\n"
	    "AnonHugePages:      2048 kB\n"
	    "ShmemPmdMapped:        0 kB\n"
	    "FilePmdMapped:         0 kB\n"
	    "Shared_Hugetlb:     4096 kB\n"
	    "Private_Hugetlb:    2048 kB\n"
	    "Swap:                 16 kB\n"
	    "SwapPss:               8 kB\n"
	    "Locked:                0 kB\n";
	/* An older kernel: no Pss_* breakdown. */
	static const char old[] =
	    "00400000-7fff2a5e1000 ---p 00000000 00:00 0                              [rollup]\n"
	    "Rss:                 884 kB\n"
	    "Pss:                 213 kB\n"
	    "Shared_Clean:        744 kB\n"
	    "Shared_Dirty:          0 kB\n"
	    "Private_Clean:         4 kB\n"
	    "Private_Dirty:       136 kB\n"
	    "Referenced:          884 kB\n"
	    "Anonymous:           136 kB\n"
	    "Swap:                  0 kB\n"
	    "SwapPss:               0 kB\n"
	    "Locked:                0 kB";
	uint64_t pss = 1, uss = 1;
	int rc;

	rc = memory_parse_smaps_rollup(rollup, &pss, &uss);
	ok(rc == 0, "smaps_rollup parses");
	ok(pss == 9876 * KiB, "smaps_rollup pss = Pss only, %llu (got %llu)",
	    (unsigned long long)(9876 * KiB), (unsigned long long)pss);
	ok(uss == (456 + 4000 + 2048) * KiB,
	    "smaps_rollup uss = Private_Clean + Private_Dirty + Private_Hugetlb, "
	    "%llu (got %llu)", (unsigned long long)((456 + 4000 + 2048) * KiB),
	    (unsigned long long)uss);

	rc = memory_parse_smaps_rollup(old, &pss, &uss);
	ok(rc == 0 && pss == 213 * KiB && uss == 140 * KiB,
	    "smaps_rollup of an older kernel: pss %llu, uss %llu (rc %d)",
	    (unsigned long long)pss, (unsigned long long)uss, rc);

	pss = uss = 1;
	rc = memory_parse_smaps_rollup("Rss: 10 kB\nPss_Anon: 5 kB\n"
	    "Private_Dirty: 4 kB\n", &pss, &uss);
	ok(rc == -1, "smaps_rollup without a Pss line fails (Pss_Anon is not Pss)");
	rc = memory_parse_smaps_rollup("", &pss, &uss);
	ok(rc == -1 && pss == 0 && uss == 0, "smaps_rollup of empty text fails");
	rc = memory_parse_smaps_rollup("Pss: 0 kB\n", &pss, &uss);
	ok(rc == 0 && pss == 0 && uss == 0, "smaps_rollup with Pss 0");
	rc = memory_parse_smaps_rollup("Pss: 4194304 kB\nPrivate_Dirty: 4194304 kB",
	    &pss, &uss);
	ok(rc == 0 && pss == 4 * GiB && uss == 4 * GiB,
	    "smaps_rollup does not overflow 32 bits (4 GiB)");
	rc = memory_parse_smaps_rollup("Pss: 18014398509481984 kB\n"
	    "Private_Clean: 18014398509481983 kB\n"
	    "Private_Dirty: 18014398509481983 kB\n", &pss, &uss);
	ok(rc == 0 && pss == UINT64_MAX && uss == UINT64_MAX,
	    "smaps_rollup figures past 2^64 bytes saturate, never wrap");
}

/* --- /proc figures ------------------------------------------------------ */

/* A child that does nothing until its pipe closes; returns once it is
 * idle, so that its figures stay put. */
static pid_t
idler(int *wfd)
{
	int p[2], q[2];
	pid_t pid;
	char c = 'r';

	if (pipe(p) != 0 || pipe(q) != 0 || (pid = fork()) < 0) {
		perror("pipe/fork");
		exit(99);
	}
	if (pid == 0) {
		close(p[1]);
		close(q[0]);
		(void)!write(q[1], &c, 1);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	close(q[1]);
	*wfd = p[1];
	if (read_byte_by(q[0], now_ms() + DEADLINE_MS) != 'r') {
		printf("# the idle child did not start\n");
		fflush(stdout);
	}
	close(q[0]);
	return pid;
}

/* The pid of a child that has exited and been reaped. */
static pid_t
vanished(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(99);
	}
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void
test_read_proc(void)
{
	uint64_t rss = 0, pss = 0, uss = 0, one = 0, sum = 0, x;
	pid_t self = getpid(), dead = vanished(), child, pids[3];
	long long deadline;
	int wfd, rc;

	ok(memory_read_proc(self, MEMORY_RSS, &rss) == 0 && rss > 0,
	    "read_proc self rss > 0 (%.1f MiB)", mib(rss));
	ok(memory_read_proc(self, MEMORY_PSS, &pss) == 0 && pss > 0,
	    "read_proc self pss > 0 (%.1f MiB)", mib(pss));
	ok(memory_read_proc(self, MEMORY_USS, &uss) == 0 && uss > 0,
	    "read_proc self uss > 0 (%.1f MiB)", mib(uss));
	ok(uss <= rss, "read_proc self uss <= rss");
	ok(pss <= rss + MiB, "read_proc self pss <= rss");
	ok(rss % sysconf(_SC_PAGESIZE) == 0, "read_proc rss is whole pages");
	x = 7;
	ok(memory_read_proc(dead, MEMORY_RSS, &x) == -1 && x == 7,
	    "read_proc of a vanished pid fails (rss)");
	ok(memory_read_proc(dead, MEMORY_PSS, &x) == -1 && x == 7,
	    "read_proc of a vanished pid fails (pss)");
	ok(memory_read_proc(dead, MEMORY_USS, &x) == -1 && x == 7,
	    "read_proc of a vanished pid fails (uss)");

	/*
	 * Sums: an idle child's rss is steady, so they are exact.  It may
	 * still fault in a page or two on its way into read(), so each sum
	 * is bracketed by two readings of the child that must agree (retried
	 * until they do, within the deadline).
	 */
	child = idler(&wfd);
	pids[0] = dead;
	pids[1] = child;
	pids[2] = dead;
	deadline = now_ms() + DEADLINE_MS;
	do {
		rc = memory_read_proc(child, MEMORY_RSS, &one);
		sum = 1;
		rc |= memory_read_procs(MEMORY_RSS, pids, 3, &sum);
		rc |= memory_read_proc(child, MEMORY_RSS, &x);
	} while (rc == 0 && x != one && now_ms() < deadline);
	ok(rc == 0 && one > 0 && x == one,
	    "read_proc of an idle child is steady (%.2f MiB)", mib(one));
	ok(rc == 0 && sum == one,
	    "read_procs skips vanished pids and sums the living (%llu = %llu)",
	    (unsigned long long)sum, (unsigned long long)one);
	pids[2] = child;
	do {
		rc = memory_read_proc(child, MEMORY_RSS, &one);
		rc |= memory_read_procs(MEMORY_RSS, pids, 3, &sum);
		rc |= memory_read_proc(child, MEMORY_RSS, &x);
	} while (rc == 0 && x != one && now_ms() < deadline);
	ok(rc == 0 && sum == 2 * one,
	    "read_procs sums every pid given (%llu = 2 * %llu)",
	    (unsigned long long)sum, (unsigned long long)one);
	pids[1] = dead;
	pids[2] = dead;
	sum = 1;
	rc = memory_read_procs(MEMORY_PSS, pids, 3, &sum);
	ok(rc == -1 && sum == 0, "read_procs with every pid vanished fails");
	rc = memory_read_procs(MEMORY_RSS, pids, 0, &sum);
	ok(rc == -1 && sum == 0, "read_procs of no pids fails");
	close(wfd);
	ok(reap_by(child, now_ms() + DEADLINE_MS), "the idle child ends");
}

/*
 * statm kept open: each pread reads the figure anew, and once its process
 * is gone the file fails, whatever process has the pid now.
 */
static void
test_statm_fd(void)
{
	uint64_t a = 0, b = 0, path = 0, x = 7;
	pid_t child;
	int wfd, fd;

	int rc;

	fd = memory_statm_open(getpid());
	rc = fd >= 0 ? memory_read_statm(fd, &a) : -1;
	ok(rc == 0 && a > 0, "statm kept open reads our rss (%.1f MiB)",
	    mib(a));
	rc = memory_read_proc(getpid(), MEMORY_RSS, &path);
	rc |= memory_read_statm(fd, &b);
	ok(rc == 0 && b == path,
	    "a second pread agrees with a read by path (%llu = %llu)",
	    (unsigned long long)b, (unsigned long long)path);
	{
		size_t len = 8 * MiB;
		volatile char *grow = malloc(len);
		for (size_t i = 0; grow != NULL && i < len; i += 4096)
			grow[i] = 1;
		rc = memory_read_statm(fd, &b);
		ok(grow != NULL && rc == 0 && b >= a + len / 2,
		    "it follows growth (%.1f -> %.1f MiB)", mib(a), mib(b));
		free((void *)grow);
	}
	close(fd);

	child = idler(&wfd);
	fd = memory_statm_open(child);
	close(wfd);
	ok(reap_by(child, now_ms() + DEADLINE_MS), "the idle child ends");
	ok(fd >= 0 && memory_read_statm(fd, &x) == -1 && x == 7,
	    "statm kept open fails once its process is gone");
	if (fd >= 0)
		close(fd);
}

/*
 * rss vs pss vs uss on a forked worker sharing memory: the parent maps and
 * touches 32 MiB MAP_SHARED; the child maps the same pages by reading
 * them.  Measured before and after the child's reads, the child's rss
 * grows by all 32 MiB, its pss by half (two mappers), its uss not at all;
 * summed over parent and child, rss counts the region twice, pss once.
 */
static void
test_shared(void)
{
	const size_t len = 32 * MiB;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t rss0, pss0, uss0, rss1, pss1, uss1, trss0, tpss0, trss1, tpss1;
	unsigned char *mem;
	int up[2], down[2], c, rc = 0;
	pid_t child, pair[2];
	long long deadline;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		exit(99);
	}
	for (size_t i = 0; i < len; i += page)
		mem[i] = (unsigned char)(i / page) | 1;
	if (pipe(up) != 0 || pipe(down) != 0) {
		perror("pipe");
		exit(99);
	}
	fflush(stdout);
	if ((child = fork()) < 0) {
		perror("fork");
		exit(99);
	}
	if (child == 0) {
		volatile unsigned sum = 0;
		char b = 'r';

		close(up[0]);
		close(down[1]);
		(void)!write(up[1], &b, 1);
		if (read(down[0], &b, 1) != 1)
			_exit(1);
		for (size_t i = 0; i < len; i += page)
			sum += mem[i];
		b = sum != 0 ? 't' : 'E';
		(void)!write(up[1], &b, 1);
		while (read(down[0], &b, 1) != 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	pair[0] = getpid();
	pair[1] = child;
	deadline = now_ms() + DEADLINE_MS;

	c = read_byte_by(up[0], deadline);
	ok(c == 'r', "shared: the child is ready (got %d)", c);
	rc |= memory_read_proc(child, MEMORY_RSS, &rss0);
	rc |= memory_read_proc(child, MEMORY_PSS, &pss0);
	rc |= memory_read_proc(child, MEMORY_USS, &uss0);
	rc |= memory_read_procs(MEMORY_RSS, pair, 2, &trss0);
	rc |= memory_read_procs(MEMORY_PSS, pair, 2, &tpss0);
	ok(rc == 0, "shared: the child's figures before it maps the region");
	c = 'g';
	if (write(down[1], &c, 1) != 1)
		c = -1;
	c = read_byte_by(up[0], deadline);
	ok(c == 't', "shared: the child maps the region (got %d)", c);
	rc |= memory_read_proc(child, MEMORY_RSS, &rss1);
	rc |= memory_read_proc(child, MEMORY_PSS, &pss1);
	rc |= memory_read_proc(child, MEMORY_USS, &uss1);
	rc |= memory_read_procs(MEMORY_RSS, pair, 2, &trss1);
	rc |= memory_read_procs(MEMORY_PSS, pair, 2, &tpss1);
	ok(rc == 0, "shared: the child's figures after it maps the region");

	printf("# child rss %.2f -> %.2f MiB, pss %.2f -> %.2f MiB, "
	    "uss %.2f -> %.2f MiB\n", mib(rss0), mib(rss1), mib(pss0),
	    mib(pss1), mib(uss0), mib(uss1));
	printf("# parent+child rss %.2f -> %.2f MiB, pss %.2f -> %.2f MiB\n",
	    mib(trss0), mib(trss1), mib(tpss0), mib(tpss1));
	ok(rss1 >= len, "shared: child rss includes the whole region");
	ok(near(mib(rss1 - rss0), 32, 1.5),
	    "shared: child rss grows by the full 32 MiB (%.2f MiB)",
	    mib(rss1 - rss0));
	ok(near(mib((int64_t)pss1 - (int64_t)pss0), 16, 1.5),
	    "shared: child pss grows by half, 16 MiB (%.2f MiB)",
	    mib((int64_t)pss1 - (int64_t)pss0));
	ok(near(mib((int64_t)uss1 - (int64_t)uss0), 0, 1.5),
	    "shared: child uss does not grow (%.2f MiB)",
	    mib((int64_t)uss1 - (int64_t)uss0));
	ok(uss1 < len / 2, "shared: child uss excludes the region (%.2f MiB)",
	    mib(uss1));
	ok(near(mib((int64_t)trss1 - (int64_t)trss0), 32, 4),
	    "shared: rss summed over the tree counts the region twice "
	    "(+%.2f MiB)", mib((int64_t)trss1 - (int64_t)trss0));
	ok(near(mib((int64_t)tpss1 - (int64_t)tpss0), 0, 4),
	    "shared: pss summed over the tree counts it once (%+.2f MiB)",
	    mib((int64_t)tpss1 - (int64_t)tpss0));

	close(down[1]);
	close(up[0]);
	ok(reap_by(child, now_ms() + DEADLINE_MS), "shared: the child ends");
	munmap(mem, len);
}

/* --- the sample ring ---------------------------------------------------- */

/* n samples every dt seconds from t0, bytes = b0 + rate * (t - t0). */
static void
linear(struct memory_history *h, double t0, double dt, unsigned n,
    double b0, double rate)
{
	for (unsigned i = 0; i < n; i++)
		memory_record(h, t0 + i * dt, (uint64_t)(b0 + rate * i * dt));
}

static void
test_record(void)
{
	struct memory_history h = { 0 };
	bool same;

	memory_record(&h, 1.0, 5 * MiB);
	memory_record(&h, 2.0, 10 * MiB);
	memory_record(&h, 3.0, 3 * MiB);
	ok(h.n == 3 && h.head == 3, "record: three samples (n %u, head %u)",
	    h.n, h.head);
	ok(h.current == 3 * MiB, "record: current is the last sample");
	ok(h.peak == 10 * MiB, "record: peak is the largest sample");
	ok(h.t[1] == 2.0 && h.bytes[1] == 10 * MiB, "record: samples in order");

	memset(&h, 0, sizeof(h));
	memory_record(&h, 1.0, 0);
	ok(h.peak == 0 && h.current == 0 && h.n == 1, "record: a zero sample");

	/* The ring wraps: 8 wild samples, then 32 on a line. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 8; i++)
		memory_record(&h, 100.0 + i, (i % 2 ? 10 : 1) * GiB);
	linear(&h, 108.0, 1.0, MEMORY_HISTORY, 100.0 * MiB, (double)MiB);
	ok(h.n == MEMORY_HISTORY, "ring: n stops at MEMORY_HISTORY (%u)", h.n);
	ok(h.head == (8 + MEMORY_HISTORY) % MEMORY_HISTORY,
	    "ring: head wraps (%u)", h.head);
	ok(h.peak == 10 * GiB, "ring: peak is kept after its sample leaves");
	ok(h.current == 131 * MiB, "ring: current is the last sample");
	same = true;
	for (unsigned i = 0; i < MEMORY_HISTORY; i++)
		same &= h.bytes[(h.head + i) % MEMORY_HISTORY] ==
		    100 * MiB + i * MiB;
	ok(same, "ring: holds exactly the last MEMORY_HISTORY samples");
	ok(near(memory_rate(&h), (double)MiB, 0.01 * MiB),
	    "ring: rate ignores overwritten samples (%.0f B/s)", memory_rate(&h));
	ok(memory_trend(&h) == TREND_GROWING, "ring: trend after wrapping");

	/* Many laps. */
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 10.0, 5 * MEMORY_HISTORY + 3, 0, 2.0 * MiB);
	ok(h.n == MEMORY_HISTORY && h.head == 3 &&
	    near(memory_rate(&h), 2.0 * MiB, 0.01 * MiB),
	    "ring: after five laps (rate %.0f B/s)", memory_rate(&h));
}

static void
test_rate(void)
{
	struct memory_history h = { 0 };
	double r;

	ok(memory_rate(&h) == 0, "rate of no samples is 0");
	memory_record(&h, 5.0, MiB);
	ok(memory_rate(&h) == 0, "rate of one sample is 0");

	memset(&h, 0, sizeof(h));
	linear(&h, 1.7e9, 1.0, 20, 64.0 * MiB, (double)MiB);
	r = memory_rate(&h);
	ok(near(r, 1048576, 0.01 * 1048576),
	    "rate of 1 MiB/s over 20 samples (epoch times) = %.0f", r);

	memset(&h, 0, sizeof(h));
	linear(&h, 1000.0, 0.25, 32, 200.0 * MiB, 4.0 * MiB);
	r = memory_rate(&h);
	ok(near(r, 4.0 * MiB, 0.01 * 4 * MiB),
	    "rate of 4 MiB/s sampled every 0.25 s = %.0f", r);

	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 32, 500.0 * MiB, -1.0 * MiB);
	r = memory_rate(&h);
	ok(near(r, -1.0 * MiB, 0.01 * MiB), "rate of a shrinking series = %.0f", r);

	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 10; i++)
		memory_record(&h, 42.0, (uint64_t)i * MiB);
	ok(memory_rate(&h) == 0, "rate with identical timestamps is 0");

	/* Irregular intervals on a line still give the slope. */
	memset(&h, 0, sizeof(h));
	{
		static const double ts[] = { 0, 0.5, 3, 3.1, 7, 11, 11.5, 20 };
		for (size_t i = 0; i < nitems(ts); i++)
			memory_record(&h, ts[i], (uint64_t)(10 * MiB + ts[i] * MiB));
	}
	r = memory_rate(&h);
	ok(near(r, (double)MiB, 0.01 * MiB), "rate with irregular intervals = %.0f",
	    r);
}

static void
test_trend(void)
{
	struct memory_history h = { 0 };
	uint32_t seed = 12345;

	ok(memory_trend(&h) == TREND_UNKNOWN, "trend of no samples is unknown");
	linear(&h, 0.0, 1.0, 5, 100.0 * MiB, 10.0 * MiB);
	ok(memory_trend(&h) == TREND_UNKNOWN,
	    "trend of 5 steep samples is still unknown");
	memory_record(&h, 5.0, 150 * MiB);
	ok(memory_trend(&h) == TREND_GROWING, "trend of 6 steep samples is growing");

	/* A steady leak. */
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 32, 100.0 * MiB, (double)MiB);
	ok(memory_trend(&h) == TREND_GROWING,
	    "trend of a 1 MiB/s leak over 32 samples is growing");

	/* A slow leak on a large process: 1 MiB/s every 10 s. */
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 10.0, 32, 2.0 * GiB, (double)MiB);
	ok(memory_trend(&h) == TREND_GROWING,
	    "trend of a 1 MiB/s leak at 2 GiB sampled every 10 s is growing");

	/* Warm-up: grows for 10 samples, then flat for 22. */
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 10, 50.0 * MiB, 20.0 * MiB);
	for (int i = 10; i < 32; i++)
		memory_record(&h, i, 50 * MiB + 9 * 20 * MiB);
	ok(memory_trend(&h) == TREND_LEVELLED,
	    "trend of a warm-up that levelled off is levelled");
	ok(memory_rate(&h) > 0, "... even though the whole ring's rate is > 0");

	/* Noise of +-100 KiB around 200 MiB. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 32; i++) {
		seed = seed * 1103515245 + 12345;
		memory_record(&h, i, 200 * MiB - 100 * KiB +
		    (seed >> 8) % (200 * KiB + 1));
	}
	ok(memory_trend(&h) == TREND_LEVELLED,
	    "trend of +-100 KiB noise around 200 MiB is levelled");
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 32; i++)
		memory_record(&h, i, 200 * MiB + (i % 2 ? 100 : -100) * (int)KiB);
	ok(memory_trend(&h) == TREND_LEVELLED,
	    "trend of alternating +-100 KiB around 200 MiB is levelled");

	/* Flat, and shrinking. */
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 32, 300.0 * MiB, 0);
	ok(memory_trend(&h) == TREND_LEVELLED, "trend of a flat series is levelled");
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 32, 300.0 * MiB, -(double)MiB);
	ok(memory_trend(&h) != TREND_GROWING, "trend of a shrinking series is not growing");

	/* Growth below 1% of a large figure is noise. */
	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 32, 4.0 * GiB, 0.1 * MiB);
	ok(memory_trend(&h) == TREND_LEVELLED,
	    "trend of 1.5 MiB growth over half the ring at 4 GiB is levelled");
}

/* The eta that status shows and the judge uses (replace.c). */
static void
test_eta(void)
{
	struct memory_history h = { 0 };
	double eta;

	/* 1 MiB/s, ending at 50 MiB. */
	linear(&h, 0.0, 1.0, 32, 19.0 * MiB, (double)MiB);
	ok(h.current == 50 * MiB, "eta: the series ends at 50 MiB");
	eta = replace_eta(&h, 100 * MiB, 1.0);
	ok(near(eta, 50, 0.5), "eta: 50 MiB to go at 1 MiB/s is ~50 s (%.2f)", eta);
	eta = replace_eta(&h, 50 * MiB, 1.0);
	ok(eta == 0, "eta: at the limit is 0 (%.2f)", eta);
	eta = replace_eta(&h, 40 * MiB, 1.0);
	ok(eta == 0, "eta: already over the limit is 0 (%.2f)", eta);

	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 10, 50.0 * MiB, 20.0 * MiB);
	for (int i = 10; i < 32; i++)
		memory_record(&h, i, 50 * MiB + 9 * 20 * MiB);
	eta = replace_eta(&h, 1 * GiB, 1.0);
	ok(eta == -1, "eta: levelled off is -1 (%.2f)", eta);

	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 32, 300.0 * MiB, 0);
	ok(replace_eta(&h, GiB, 1.0) == -1, "eta: flat is -1");

	memset(&h, 0, sizeof(h));
	linear(&h, 0.0, 1.0, 2, 100.0 * MiB, 10.0 * MiB);
	ok(replace_eta(&h, GiB, 1.0) == -1, "eta: too few samples is -1");
}

static void
human_is(uint64_t bytes, const char *want)
{
	char buf[16];

	memset(buf, 'x', sizeof(buf));
	is_str(memory_human(bytes, buf), want, "human(%llu) = %s",
	    (unsigned long long)bytes, want);
}

static void
test_human(void)
{
	char buf[16];

	human_is(0, "0B");
	human_is(1, "1B");
	human_is(1023, "1023B");
	human_is(1024, "1.0K");
	human_is(1536, "1.5K");
	human_is(100 * KiB, "100K");
	human_is(512 * KiB, "512K");
	human_is(MiB, "1.0M");
	human_is((uint64_t)(12.3 * MiB), "12.3M");
	human_is((uint64_t)(40.2 * MiB), "40.2M");
	human_is(256 * MiB, "256M");
	human_is(GiB, "1.0G");
	human_is(GiB + GiB / 2, "1.5G");
	human_is(TiB, "1.0T");
	human_is(2048 * TiB, "2048T");
	human_is(UINT64_MAX, "16777216T");
	ok(memory_human(5, buf) == buf, "human returns its buffer");
}

int
main(void)
{
	test_names();
	test_smaps_rollup();
	test_read_proc();
	test_statm_fd();
	test_shared();
	test_record();
	test_rate();
	test_trend();
	test_eta();
	test_human();
	return tap_done();
}
