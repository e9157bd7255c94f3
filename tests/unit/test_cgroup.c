/*
 * Unit tests of src/cgroup.c.
 *
 * Most tests run against directory trees shaped like cgroupfs (and fake
 * /proc/PID/cgroup and mountinfo files) built under a fresh temporary
 * directory: that is the only way to exercise v2 on a host whose memory
 * controller is bound to v1, and it pins down the parsing exactly.  The
 * last group runs against the real v1 memory hierarchy of this machine
 * when it has one and the test runs as root; otherwise it is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#define TESTDIR_NAME "cgroup"
#include "testdir.h"
#include "cgroup.h"
#include "util.h"

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)

/* How long anything that involves another process or the kernel may take
 * before the test gives up on it. */
#define DEADLINE_MS 10000


/* --- helpers ------------------------------------------------------------ */

/* TAP "ok N # SKIP reason" (tap.h has no skip). */
static void __attribute__((format(printf, 1, 2)))
skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d # SKIP ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Makes the directory tmpdir/rel (and its parents); returns its path. */
static const char *
make_dir(const char *rel)
{
	const char *path = tpath(rel);

	mkdirs(path);
	return path;
}

/* The contents of a file (free it), or NULL. */
static char *
slurp(const char *path)
{
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_take(&b);
}

/* Text with "@T@" replaced by tmpdir (free it). */
static char *
subst(const char *text)
{
	struct buf b = { 0 };

	for (const char *p = text; *p != '\0'; p++) {
		if (strncmp(p, "@T@", 3) == 0) {
			buf_puts(&b, tmpdir);
			p += 2;
		} else
			buf_putc(&b, *p);
	}
	return buf_take(&b);
}

/* Writes tmpdir/rel with "@T@" replaced by tmpdir. */
static const char *
write_subst(const char *rel, const char *text)
{
	char *s = subst(text);
	const char *path = write_file(rel, s);

	free(s);
	return path;
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits until fd is readable or the deadline passes; true if readable. */
static bool
readable_by(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left;
	int rc;

	while ((left = deadline - now_ms()) > 0) {
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			return false;
	}
	return false;
}

/* One byte from fd within the deadline; -1 on timeout, EOF or error. */
static int
read_byte_by(int fd, long long deadline)
{
	unsigned char c;
	ssize_t n;

	if (!readable_by(fd, deadline))
		return -1;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : -1;
}

/* waitpid with a deadline; kills and reaps the child when it passes.
 * Returns true with *status filled in if the child ended by itself. */
static bool
wait_by(pid_t pid, int *status, long long deadline)
{
	pid_t w;

	do {
		if ((w = waitpid(pid, status, WNOHANG)) == pid)
			return true;
		if (w < 0 && errno != EINTR)
			return false;
		nap_ms(5);
	} while (now_ms() < deadline);
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return false;
}

static bool
pid_in(const pid_t *pids, ssize_t n, pid_t pid)
{
	for (ssize_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* --- cgroup_detect ------------------------------------------------------ */

/*
 * Writes tmpdir/<name>/cgroup and tmpdir/<name>/mountinfo (with @T@ for
 * tmpdir), runs cgroup_detect on them and checks the outcome: want_version
 * CGROUP_NONE means it must fail with a reason containing why_part.
 */
static void
detect_case(const char *name, const char *cgroup, const char *mountinfo,
    enum cgroup_version want_version, const char *want_own_rel,
    const char *why_part)
{
	char rel[256], why[512] = "", *want_own = NULL;
	const char *cgfile, *mifile;
	struct cgroup_root root;
	int rc;

	snprintf(rel, sizeof(rel), "%s/cgroup", name);
	cgfile = write_subst(rel, cgroup);
	snprintf(rel, sizeof(rel), "%s/mountinfo", name);
	mifile = write_subst(rel, mountinfo);
	memset(&root, 0x5a, sizeof(root));
	rc = cgroup_detect(cgfile, mifile, &root, why, sizeof(why));
	if (want_version == CGROUP_NONE) {
		ok(rc == -1, "detect %s: fails (got rc %d, version %d, own %s)",
		    name, rc, (int)root.version,
		    rc == 0 && root.own ? root.own : "-");
		ok(why[0] != '\0' && strstr(why, why_part) != NULL,
		    "detect %s: reason mentions \"%s\" (got \"%s\")", name,
		    why_part, why);
		ok(root.own == NULL && root.base == NULL &&
		    root.version == CGROUP_NONE,
		    "detect %s: root is left empty on failure", name);
	} else {
		want_own = xasprintf("%s/%s", tmpdir, want_own_rel);
		ok(rc == 0, "detect %s: succeeds (%s)", name,
		    rc ? why : "ok");
		ok(rc == 0 && root.version == want_version,
		    "detect %s: version %s (got %d)", name,
		    want_version == CGROUP_V2 ? "v2" : "v1",
		    rc == 0 ? (int)root.version : -1);
		is_str(rc == 0 ? root.own : NULL, want_own,
		    "detect %s: own directory", name);
		is_str(rc == 0 ? root.base : NULL, want_own,
		    "detect %s: base directory is own", name);
		free(want_own);
	}
	if (rc == 0)
		cgroup_root_free(&root);
}

/* The mountinfo of a typical systemd host with only cgroup2. */
static const char *const mi_v2 =
    "22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n"
    "28 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n"
    "30 22 0:26 / @T@/v2/sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
    "31 22 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 - securityfs securityfs rw\n";

static void
test_detect(void)
{
	char why[256];
	struct cgroup_root root;
	int rc;

	/* Pure v2: the unified hierarchy has the memory controller. */
	write_file("v2/sys/fs/cgroup/system.slice/app.service/cgroup.controllers",
	    "cpu io memory pids\n");
	detect_case("v2", "0::/system.slice/app.service\n", mi_v2, CGROUP_V2,
	    "v2/sys/fs/cgroup/system.slice/app.service", NULL);

	/* v2 at the root cgroup. */
	write_file("v2root/sys/fs/cgroup/cgroup.controllers",
	    "cpuset cpu io memory hugetlb pids rdma misc\n");
	detect_case("v2root", "0::/\n",
	    "30 22 0:26 / @T@/v2root/sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n",
	    CGROUP_V2, "v2root/sys/fs/cgroup", NULL);

	/* A mount point with a space and a backslash in it: mountinfo
	 * escapes them (\040, \134). */
	write_file("v2 esc\\/sys/fs/cgroup/a/cgroup.controllers", "memory\n");
	detect_case("v2esc", "0::/a\n",
	    "30 22 0:26 / @T@/v2\\040esc\\134/sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n",
	    CGROUP_V2, "v2 esc\\/sys/fs/cgroup/a", NULL);

	/* Two "0::" lines (never from the kernel): the last counts, and
	 * nothing leaks (LeakSanitizer). */
	detect_case("v2twice", "0::/x\n0::/\n",
	    "30 22 0:26 / @T@/v2root/sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n",
	    CGROUP_V2, "v2root/sys/fs/cgroup", NULL);

	/* v2 without memory delegated to this cgroup. */
	write_file("v2nomem/sys/fs/cgroup/user.slice/u.service/cgroup.controllers",
	    "cpu io pids\n");
	detect_case("v2nomem", "0::/user.slice/u.service\n",
	    "30 22 0:26 / @T@/v2nomem/sys/fs/cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n",
	    CGROUP_NONE, NULL, "delegat");

	/* v2 with an empty cgroup.controllers (nothing delegated at all). */
	write_file("v2empty/sys/fs/cgroup/a/cgroup.controllers", "");
	detect_case("v2empty", "0::/a\n",
	    "30 22 0:26 / @T@/v2empty/sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n",
	    CGROUP_NONE, NULL, "delegat");

	/* v2 path in /proc but no cgroup2 mount. */
	detect_case("v2nomount", "0::/a\n",
	    "28 1 259:2 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n",
	    CGROUP_NONE, NULL, "mounted");

	/* Hybrid: memory bound to v1, an empty unified hierarchy beside it.
	 * The cgroup2 mount comes first and must not be taken for memory. */
	detect_case("hybrid",
	    "12:pids:/user.slice\n"
	    "11:cpu,cpuacct:/user.slice\n"
	    "4:memory:/process_api/x\n"
	    "1:name=systemd:/user.slice/session-1.scope\n"
	    "0::/\n",
	    "31 23 0:28 / @T@/hybrid/sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "41 31 0:38 / @T@/hybrid/sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw\n"
	    "32 31 0:29 / @T@/hybrid/sys/fs/cgroup/cpu,cpuacct rw,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
	    "35 31 0:32 / @T@/hybrid/sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory\n"
	    "39 31 0:36 / @T@/hybrid/sys/fs/cgroup/pids rw,relatime shared:15 - cgroup cgroup rw,pids\n",
	    CGROUP_V1, "hybrid/sys/fs/cgroup/memory/process_api/x", NULL);

	/* Pure v1 (no "0::" line) at the root of the hierarchy. */
	detect_case("v1root", "4:memory:/\n3:cpu:/\n",
	    "35 31 0:32 / @T@/v1root/sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n",
	    CGROUP_V1, "v1root/sys/fs/cgroup/memory", NULL);

	/* Controllers mounted jointly. */
	detect_case("joint", "6:pids:/\n5:cpu,memory:/a\n0::/\n",
	    "36 31 0:33 / @T@/joint/sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	    "35 31 0:32 / @T@/joint/sys/fs/cgroup/cpu,memory rw,relatime - cgroup cgroup rw,cpu,memory\n",
	    CGROUP_V1, "joint/sys/fs/cgroup/cpu,memory/a", NULL);
	detect_case("joint2", "5:memory,cpu:/b\n",
	    "35 31 0:32 / @T@/joint2/sys/fs/cgroup/cpu,memory rw,relatime - cgroup cgroup rw,memory,cpu\n",
	    CGROUP_V1, "joint2/sys/fs/cgroup/cpu,memory/b", NULL);

	/* A container's view: the mount shows only a subtree. */
	detect_case("ns1", "4:memory:/docker/abc/sub\n",
	    "35 31 0:32 /docker/abc @T@/ns1/sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:14 - cgroup cgroup rw,memory\n",
	    CGROUP_V1, "ns1/sys/fs/cgroup/memory/sub", NULL);
	detect_case("ns2", "4:memory:/docker/abc\n",
	    "35 31 0:32 /docker/abc @T@/ns2/sys/fs/cgroup/memory ro,relatime - cgroup cgroup rw,memory\n",
	    CGROUP_V1, "ns2/sys/fs/cgroup/memory", NULL);
	write_file("ns3/sys/fs/cgroup/sub/cgroup.controllers", "memory pids\n");
	detect_case("ns3", "0::/docker/abc/sub\n",
	    "30 22 0:26 /docker/abc @T@/ns3/sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n",
	    CGROUP_V2, "ns3/sys/fs/cgroup/sub", NULL);

	/*
	 * The mount root is stripped only as whole path components: a cgroup
	 * "/docker/abcdef" is not inside a mount of "/docker/abc", and must
	 * not turn into "<mount>def", a sibling of the mount point outside
	 * cgroupfs altogether.
	 */
	{
		const char *cg = write_file("ns4/cgroup", "4:memory:/docker/abcdef\n");
		const char *mi = write_subst("ns4/mountinfo",
		    "35 31 0:32 /docker/abc @T@/ns4/memory ro,relatime - cgroup cgroup rw,memory\n");
		char *bad = xasprintf("%s/ns4/memorydef", tmpdir);

		rc = cgroup_detect(cg, mi, &root, why, sizeof(why));
		ok(rc != 0 || strcmp(root.own, bad) != 0,
		    "detect ns4: a cgroup outside the mount's root is not "
		    "glued onto the mount point (got %s)",
		    rc == 0 ? root.own : why);
		if (rc == 0)
			cgroup_root_free(&root);
		free(bad);
	}

	/* No memory controller anywhere. */
	detect_case("nomem", "3:cpu:/\n2:pids:/\n1:name=systemd:/\n",
	    "32 31 0:29 / @T@/nomem/cpu rw,relatime - cgroup cgroup rw,cpu\n",
	    CGROUP_NONE, NULL, "no memory");
	detect_case("emptycg", "", mi_v2, CGROUP_NONE, NULL, "no memory");

	/* Memory in /proc, but its hierarchy is not mounted. */
	detect_case("v1nomount", "4:memory:/x\n0::/\n",
	    "32 31 0:29 / @T@/v1nomount/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	    "41 31 0:38 / @T@/v1nomount/unified rw,relatime - cgroup2 cgroup2 rw\n",
	    CGROUP_NONE, NULL, "mounted");

	/* "memory_foo" is not "memory", in mount options ... */
	detect_case("memfoo", "4:memory:/x\n",
	    "35 31 0:32 / @T@/memfoo/mf rw,relatime - cgroup cgroup rw,memory_foo\n",
	    CGROUP_NONE, NULL, "mounted");
	detect_case("memfoo2", "4:memory:/x\n",
	    "34 31 0:31 / @T@/memfoo2/mf rw,relatime - cgroup cgroup rw,memory_foo\n"
	    "35 31 0:32 / @T@/memfoo2/memory rw,relatime - cgroup cgroup rw,memory\n",
	    CGROUP_V1, "memfoo2/memory/x", NULL);
	/* ... nor in /proc/PID/cgroup (memory then is on v2). */
	write_file("memfoo3/fs/y/cgroup.controllers", "cpu memory\n");
	detect_case("memfoo3", "4:memory_foo:/x\n0::/y\n",
	    "35 31 0:32 / @T@/memfoo3/mf rw,relatime - cgroup cgroup rw,memory_foo\n"
	    "30 22 0:26 / @T@/memfoo3/fs rw,relatime - cgroup2 cgroup2 rw\n",
	    CGROUP_V2, "memfoo3/fs/y", NULL);
	/* A named v1 hierarchy is not the memory controller. */
	detect_case("named", "1:name=memory:/x\n",
	    "35 31 0:32 / @T@/named/n rw,relatime - cgroup cgroup rw,name=memory\n",
	    CGROUP_NONE, NULL, "no memory");

	/* Unreadable files. */
	write_file("unread/mountinfo", mi_v2);
	memset(&root, 0x5a, sizeof(root));
	why[0] = '\0';
	rc = cgroup_detect(tpath("unread/nonexistent"), tpath("unread/mountinfo"),
	    &root, why, sizeof(why));
	ok(rc == -1 && strstr(why, "nonexistent") != NULL,
	    "detect: a missing cgroup file fails naming it (rc %d, \"%s\")",
	    rc, why);
	ok(root.own == NULL && root.base == NULL,
	    "detect: root is left empty when the cgroup file is missing");
	why[0] = '\0';
	rc = cgroup_detect(make_dir("unread/adir"), tpath("unread/mountinfo"),
	    &root, why, sizeof(why));
	ok(rc == -1 && why[0] != '\0',
	    "detect: a cgroup \"file\" that is a directory fails (rc %d, \"%s\")",
	    rc, why);
	write_file("unread/cgroup", "0::/\n");
	why[0] = '\0';
	rc = cgroup_detect(tpath("unread/cgroup"), tpath("unread/nonexistent"),
	    &root, why, sizeof(why));
	ok(rc == -1 && why[0] != '\0',
	    "detect: a missing mountinfo fails (rc %d, \"%s\")", rc, why);
	if (rc == 0)
		cgroup_root_free(&root);
	ok(root.own == NULL && root.base == NULL,
	    "detect: root is left empty when mountinfo is missing");

	/* A tiny reason buffer is truncated, not overrun. */
	{
		char small[8];

		memset(small, 'x', sizeof(small));
		rc = cgroup_detect(tpath("unread/nonexistent"),
		    tpath("unread/mountinfo"), &root, small, sizeof(small));
		ok(rc == -1 && memchr(small, '\0', sizeof(small)) != NULL,
		    "detect: the reason fits a small buffer");
	}
}

/* --- cgroup_prepare, cgroup_create, cgroup_remove ----------------------- */

static void
fake_root(struct cgroup_root *root, enum cgroup_version v, const char *dir)
{
	root->version = v;
	root->own = xstrdup(dir);
	root->base = xstrdup(dir);
}

static void
test_prepare(void)
{
	struct cgroup_root root;
	char why[512], pidstr[32], own[PATH_MAX], want[PATH_MAX + 32];
	char *got, *probe, *leaf;
	int rc;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());

	/* v2: leashd moves itself to <own>/leashd, enables memory below. */
	snprintf(own, sizeof(own), "%s", make_dir("prep/own"));
	write_file("prep/own/leashd/cgroup.procs", "");
	write_file("prep/own/cgroup.subtree_control", "");
	write_file("prep/own/cgroup.controllers", "cpu io memory pids\n");
	fake_root(&root, CGROUP_V2, own);
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(rc == 0, "prepare v2 succeeds (%s)", rc ? why : "ok");
	got = slurp(tpath("prep/own/leashd/cgroup.procs"));
	is_str(got, pidstr, "prepare v2 writes our pid to <own>/leashd/cgroup.procs");
	free(got);
	got = slurp(tpath("prep/own/cgroup.subtree_control"));
	is_str(got, "+memory", "prepare v2 enables memory in <own>/cgroup.subtree_control");
	free(got);
	probe = xasprintf("%s/leash-probe-%s", own, pidstr);
	ok(!exists(probe), "prepare v2 removes its probe cgroup");
	free(probe);
	is_str(root.base, own, "prepare v2 keeps base at own");
	cgroup_root_free(&root);

	/* v2 without leashd/: prepare makes it, but in a plain directory
	 * no cgroup.procs appears, so moving itself fails (no O_CREAT). */
	snprintf(own, sizeof(own), "%s", make_dir("prep2/own"));
	write_file("prep2/own/cgroup.subtree_control", "");
	fake_root(&root, CGROUP_V2, own);
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(exists(tpath("prep2/own/leashd")), "prepare v2 creates <own>/leashd");
	ok(rc == -1 && strstr(why, "leashd") != NULL,
	    "prepare v2 fails when it cannot move itself (rc %d, \"%s\")", rc,
	    why);
	ok(!exists(tpath("prep2/own/leashd/cgroup.procs")),
	    "prepare v2 does not create cgroup.procs itself");
	cgroup_root_free(&root);

	/* v2: no subtree_control (memory cannot be enabled). */
	snprintf(own, sizeof(own), "%s", make_dir("prep3/own"));
	write_file("prep3/own/leashd/cgroup.procs", "");
	fake_root(&root, CGROUP_V2, own);
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(rc == -1 && strstr(why, "subtree_control") != NULL,
	    "prepare v2 fails without cgroup.subtree_control (rc %d, \"%s\")",
	    rc, why);
	cgroup_root_free(&root);

	/* v2: own does not exist. */
	fake_root(&root, CGROUP_V2, tpath("prep4/missing"));
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(rc == -1 && strstr(why, "mkdir") != NULL,
	    "prepare v2 fails when own is missing (rc %d, \"%s\")", rc, why);
	cgroup_root_free(&root);

	/* v1: only the probe, nothing written. */
	snprintf(own, sizeof(own), "%s", make_dir("prep5/own"));
	fake_root(&root, CGROUP_V1, own);
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(rc == 0, "prepare v1 succeeds (%s)", rc ? why : "ok");
	ok(!exists(tpath("prep5/own/leashd")), "prepare v1 does not make leashd/");
	probe = xasprintf("%s/leash-probe-%s", own, pidstr);
	ok(!exists(probe), "prepare v1 removes its probe cgroup");
	free(probe);
	cgroup_root_free(&root);

	/* v1: base missing -> cannot create leaves. */
	fake_root(&root, CGROUP_V1, tpath("prep6/missing"));
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(rc == -1 && strstr(why, "cannot create") != NULL,
	    "prepare v1 fails when base is missing (rc %d, \"%s\")", rc, why);
	cgroup_root_free(&root);

	/* cgroup_create / cgroup_procs_file / cgroup_remove. */
	snprintf(own, sizeof(own), "%s", make_dir("create/base"));
	fake_root(&root, CGROUP_V2, own);
	leaf = cgroup_create(&root, "w1");
	snprintf(want, sizeof(want), "%s/w1", own);
	is_str(leaf, want, "create returns <base>/name");
	ok(leaf != NULL && exists(leaf), "create makes the directory");
	probe = cgroup_create(&root, "w1");
	is_str(probe, want, "create of an existing cgroup returns it");
	free(probe);
	probe = leaf ? cgroup_procs_file(leaf) : NULL;
	snprintf(want, sizeof(want), "%s/w1/cgroup.procs", own);
	is_str(probe, want, "procs file is <dir>/cgroup.procs");
	free(probe);
	ok(leaf != NULL && cgroup_remove(leaf) == 0 && !exists(leaf),
	    "remove deletes an empty cgroup");
	ok(leaf != NULL && cgroup_remove(leaf) == -1,
	    "remove of a missing cgroup fails");
	free(leaf);
	cgroup_root_free(&root);
	fake_root(&root, CGROUP_V1, tpath("create/missing"));
	leaf = cgroup_create(&root, "w1");
	ok(leaf == NULL, "create under a missing base fails");
	free(leaf);
	cgroup_root_free(&root);
}

/* --- cgroup_stat_value, cgroup_memory ----------------------------------- */

static void
stat_ok(const char *text, const char *key, uint64_t want, const char *what)
{
	uint64_t got = 0xdeadbeef;
	int rc = cgroup_stat_value(text, key, &got);

	ok(rc == 0 && got == want, "stat_value \"%s\" %s = %llu (rc %d, %llu)",
	    key, what, (unsigned long long)want, rc, (unsigned long long)got);
}

static void
test_stat_value(void)
{
	static const char stat[] =
	    "anon 52428800\n"
	    "file 62914560\n"
	    "kernel_stack 16384\n"
	    "file_mapped 4096\n"
	    "file_dirty 8192\n"
	    "inactive_anon 1234\n"
	    "active_anon 5678\n"
	    "inactive_file 41943040\n"
	    "active_file 20971520\n"
	    "last 99";
	uint64_t got = 7;

	stat_ok(stat, "anon", 52428800, "at the first line");
	stat_ok(stat, "kernel_stack", 16384, "in the middle");
	stat_ok(stat, "file", 62914560, "that is a prefix of another key");
	stat_ok(stat, "file_mapped", 4096, "that extends another key");
	stat_ok(stat, "active_file", 20971520, "that is a suffix of another key");
	stat_ok(stat, "inactive_file", 41943040, "with a suffix key after it");
	stat_ok(stat, "last", 99, "at the end without a newline");
	ok(cgroup_stat_value(stat, "missing", &got) == -1 && got == 7,
	    "stat_value of a missing key fails and leaves out alone");
	ok(cgroup_stat_value(stat, "fil", &got) == -1,
	    "stat_value of a proper prefix of a key fails");
	ok(cgroup_stat_value(stat, "e_file", &got) == -1,
	    "stat_value does not match in the middle of a line");
	ok(cgroup_stat_value("", "anon", &got) == -1,
	    "stat_value on empty text fails");
	stat_ok("total_rss 1\nrss 2\n", "rss", 2, "after a total_ variant");
}

static void
memory_case(enum cgroup_version v, const char *dir_rel, const char *usage,
    const char *stat, int want_rc, uint64_t want_ws, uint64_t want_usage,
    const char *what)
{
	struct cgroup_root root = { .version = v };
	char rel[256];
	uint64_t ws = 1, us = 1;
	const char *dir = make_dir(dir_rel);
	int rc;

	if (usage != NULL) {
		snprintf(rel, sizeof(rel), "%s/%s", dir_rel,
		    v == CGROUP_V2 ? "memory.current" : "memory.usage_in_bytes");
		write_file(rel, usage);
	}
	if (stat != NULL) {
		snprintf(rel, sizeof(rel), "%s/memory.stat", dir_rel);
		write_file(rel, stat);
	}
	rc = cgroup_memory(&root, dir, NULL, 0, &ws, &us);
	if (want_rc != 0)
		ok(rc == want_rc, "memory %s: fails (rc %d)", what, rc);
	else
		ok(rc == 0 && ws == want_ws && us == want_usage,
		    "memory %s: working set %llu, usage %llu (rc %d, got %llu, %llu)",
		    what, (unsigned long long)want_ws,
		    (unsigned long long)want_usage, rc, (unsigned long long)ws,
		    (unsigned long long)us);
}

static void
test_memory(void)
{
	static const char v2stat[] =
	    "anon 52428800\n"
	    "file 52428800\n"
	    "kernel 1048576\n"
	    "file_mapped 0\n"
	    "inactive_anon 0\n"
	    "active_anon 52428800\n"
	    "inactive_file 41943040\n"
	    "active_file 10485760\n"
	    "unevictable 0\n";
	static const char v1stat[] =
	    "cache 52428800\n"
	    "rss 52428800\n"
	    "inactive_anon 0\n"
	    "active_anon 52428800\n"
	    "inactive_file 10485760\n"
	    "active_file 41943040\n"
	    "hierarchical_memory_limit 9223372036854771712\n"
	    "total_cache 52428800\n"
	    "total_rss 52428800\n"
	    "total_inactive_file 20971520\n"
	    "total_active_file 31457280\n";

	memory_case(CGROUP_V2, "mem/v2", "104857600\n", v2stat, 0, 60 * MiB,
	    100 * MiB, "v2");
	memory_case(CGROUP_V1, "mem/v1", "104857600\n", v1stat, 0, 80 * MiB,
	    100 * MiB, "v1 (total_inactive_file wins)");
	memory_case(CGROUP_V1, "mem/v1b", "104857600\n",
	    "cache 0\ninactive_file 10485760\nactive_file 0\n", 0, 90 * MiB,
	    100 * MiB, "v1 without total_ lines");
	memory_case(CGROUP_V2, "mem/v2big", "1048576\n", v2stat, 0, 0, MiB,
	    "v2 inactive > usage");
	memory_case(CGROUP_V1, "mem/v1big", "1048576\n", v1stat, 0, 0, MiB,
	    "v1 inactive > usage");
	memory_case(CGROUP_V2, "mem/v2nostat", "104857600\n", NULL, 0,
	    100 * MiB, 100 * MiB, "v2 without memory.stat");
	memory_case(CGROUP_V1, "mem/v1nostat", "4096\n", NULL, 0, 4096, 4096,
	    "v1 without memory.stat");
	memory_case(CGROUP_V2, "mem/v2noinact", "104857600\n", "anon 1\n", 0,
	    100 * MiB, 100 * MiB, "v2 memory.stat without inactive_file");
	memory_case(CGROUP_V2, "mem/v2nousage", NULL, v2stat, -1, 0, 0,
	    "v2 without memory.current");
	memory_case(CGROUP_V1, "mem/v1nousage", NULL, v1stat, -1, 0, 0,
	    "v1 without memory.usage_in_bytes");
	/* v1's file name on v2 (and the reverse) is not read. */
	write_file("mem/v2wrong/memory.usage_in_bytes", "104857600\n");
	memory_case(CGROUP_V2, "mem/v2wrong", NULL, NULL, -1, 0, 0,
	    "v2 with only memory.usage_in_bytes");
}

/* --- cgroup_pids, cgroup_set_limit, cgroup_kill ------------------------- */

static void
test_pids(void)
{
	pid_t *pids = (pid_t *)1;
	ssize_t n;
	struct buf b = { 0 };
	bool all;

	write_file("pids/three/cgroup.procs", "12\n34\n56\n");
	n = cgroup_pids(tpath("pids/three"), &pids);
	ok(n == 3 && pids[0] == 12 && pids[1] == 34 && pids[2] == 56,
	    "pids of \"12\\n34\\n56\\n\" are 12, 34, 56 (got %zd)", n);
	free(pids);

	write_file("pids/empty/cgroup.procs", "");
	pids = (pid_t *)1;
	n = cgroup_pids(tpath("pids/empty"), &pids);
	ok(n == 0, "pids of an empty cgroup.procs: 0 (got %zd)", n);
	free(pids);

	pids = (pid_t *)1;
	n = cgroup_pids(make_dir("pids/none"), &pids);
	ok(n == -1 && pids == NULL,
	    "pids without cgroup.procs: -1 and NULL (got %zd)", n);

	write_file("pids/nonl/cgroup.procs", "7");
	n = cgroup_pids(tpath("pids/nonl"), &pids);
	ok(n == 1 && pids[0] == 7, "pids without a final newline (got %zd)", n);
	free(pids);

	/* More than the first allocation holds. */
	for (int i = 1; i <= 100; i++)
		buf_printf(&b, "%d\n", 1000 + i);
	write_file("pids/many/cgroup.procs", b.p);
	buf_reset(&b);
	n = cgroup_pids(tpath("pids/many"), &pids);
	all = n == 100;
	for (ssize_t i = 0; all && i < n; i++)
		all = pids[i] == 1001 + i;
	ok(all, "pids of 100 members in order (got %zd)", n);
	free(pids);
}

static void
test_set_limit(void)
{
	struct cgroup_root v2 = { .version = CGROUP_V2 };
	struct cgroup_root v1 = { .version = CGROUP_V1 };
	char *got;
	int rc;

	write_file("limit/v2/memory.max", "max\n");
	rc = cgroup_set_limit(&v2, tpath("limit/v2"), 256 * MiB);
	got = slurp(tpath("limit/v2/memory.max"));
	ok(rc == 0, "set_limit v2 succeeds");
	/* A regular file keeps the old tail past what was written; the
	 * kernel's file would not, so only the start is compared. */
	ok(got != NULL && strncmp(got, "268435456", 9) == 0,
	    "set_limit v2 writes memory.max (got \"%s\")", got ? got : "");
	free(got);
	ok(!exists(tpath("limit/v2/memory.limit_in_bytes")),
	    "set_limit v2 does not touch memory.limit_in_bytes");

	write_file("limit/v1/memory.limit_in_bytes", "");
	rc = cgroup_set_limit(&v1, tpath("limit/v1"), 64 * MiB + 1);
	got = slurp(tpath("limit/v1/memory.limit_in_bytes"));
	ok(rc == 0, "set_limit v1 succeeds");
	is_str(got, "67108865", "set_limit v1 writes memory.limit_in_bytes");
	free(got);
	ok(!exists(tpath("limit/v1/memory.max")),
	    "set_limit v1 does not touch memory.max");

	write_file("limit/v2b/memory.max", "");
	rc = cgroup_set_limit(&v2, tpath("limit/v2b"), UINT64_MAX);
	got = slurp(tpath("limit/v2b/memory.max"));
	is_str(got, "18446744073709551615", "set_limit writes all 64 bits");
	free(got);

	make_dir("limit/none");
	ok(cgroup_set_limit(&v2, tpath("limit/none"), MiB) == -1 &&
	    !exists(tpath("limit/none/memory.max")),
	    "set_limit v2 without memory.max fails and creates nothing");
	ok(cgroup_set_limit(&v1, tpath("limit/none"), MiB) == -1 &&
	    !exists(tpath("limit/none/memory.limit_in_bytes")),
	    "set_limit v1 without memory.limit_in_bytes fails and creates nothing");

	write_file("limit/v1/memory.usage_in_bytes", "0\n");
	ok(cgroup_threshold_register(tpath("limit/v1"), 0, 0, MiB) == -1,
	    "threshold_register fails without cgroup.event_control");
}

/* A child that waits on a pipe until killed; returns its pid. */
static pid_t
sleeper(int *wfd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) != 0) {
		perror("pipe");
		exit(99);
	}
	if ((pid = fork()) < 0) {
		perror("fork");
		exit(99);
	}
	if (pid == 0) {
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

static void
test_kill(void)
{
	struct cgroup_root v2 = { .version = CGROUP_V2 };
	struct cgroup_root v1 = { .version = CGROUP_V1 };
	char *got, line[64];
	int status = 0, wfd;
	pid_t pid;
	bool ended;

	/* v2 with cgroup.kill: one write of "1", nobody signalled directly. */
	pid = sleeper(&wfd);
	snprintf(line, sizeof(line), "%d\n", (int)pid);
	write_file("kill/v2/cgroup.kill", "");
	write_file("kill/v2/cgroup.procs", line);
	ok(cgroup_kill(&v2, tpath("kill/v2")) == 0, "kill v2 succeeds");
	got = slurp(tpath("kill/v2/cgroup.kill"));
	is_str(got, "1", "kill v2 writes 1 to cgroup.kill");
	free(got);
	ok(waitpid(pid, &status, WNOHANG) == 0,
	    "kill v2 with cgroup.kill does not signal members itself");
	close(wfd);
	ended = wait_by(pid, &status, now_ms() + DEADLINE_MS);
	ok(ended && WIFEXITED(status), "the sleeper ends by itself");

	/* Without cgroup.kill (v1, or v2 before 5.14): SIGKILL to members. */
	pid = sleeper(&wfd);
	snprintf(line, sizeof(line), "%d\n", (int)pid);
	write_file("kill/v1/cgroup.procs", line);
	ok(cgroup_kill(&v1, tpath("kill/v1")) == 0, "kill v1 succeeds");
	ended = wait_by(pid, &status, now_ms() + DEADLINE_MS);
	ok(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "kill v1 sends SIGKILL to the members (status %#x)", status);
	close(wfd);

	pid = sleeper(&wfd);
	snprintf(line, sizeof(line), "%d\n", (int)pid);
	write_file("kill/v2old/cgroup.procs", line);
	ok(cgroup_kill(&v2, tpath("kill/v2old")) == 0,
	    "kill v2 without cgroup.kill succeeds");
	ended = wait_by(pid, &status, now_ms() + DEADLINE_MS);
	ok(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "kill v2 without cgroup.kill falls back to SIGKILL (status %#x)",
	    status);
	close(wfd);

	write_file("kill/empty/cgroup.procs", "");
	ok(cgroup_kill(&v1, tpath("kill/empty")) == 0,
	    "kill of an empty cgroup succeeds");
	ok(cgroup_kill(&v1, make_dir("kill/none")) == -1,
	    "kill without cgroup.procs fails");
}

/* --- the real v1 memory hierarchy --------------------------------------- */

/* Whether /proc/self/cgroup names the memory controller on a v1 line. */
static bool
have_v1_memory(void)
{
	char *text = slurp("/proc/self/cgroup"), *line, *save = NULL;
	bool found = false;

	if (text == NULL)
		return false;
	for (line = strtok_r(text, "\n", &save); line != NULL && !found;
	    line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2, *o, *osave = NULL;

		if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
			continue;
		*c2 = '\0';
		for (o = strtok_r(c1 + 1, ",", &osave); o != NULL;
		    o = strtok_r(NULL, ",", &osave))
			found |= strcmp(o, "memory") == 0;
	}
	free(text);
	return found;
}

#define REAL_TESTS 14

/*
 * The child: joins the leaf, reports 'r' (or 'E'), waits for the go,
 * allocates and touches 20 MiB, reports 'a', and waits to be killed.
 */
static void __attribute__((noreturn))
real_child(const char *leaf, int up, int down)
{
	char *file = cgroup_procs_file(leaf), line[32], c;
	size_t len = 20 * MiB;
	unsigned char *mem;
	long page = sysconf(_SC_PAGESIZE);
	int fd, n;

	n = snprintf(line, sizeof(line), "%d", (int)getpid());
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, n) != n) {
		c = 'E';
		(void)!write(up, &c, 1);
		_exit(1);
	}
	close(fd);
	c = 'r';
	(void)!write(up, &c, 1);
	if (read(down, &c, 1) != 1)
		_exit(1);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		c = 'E';
		(void)!write(up, &c, 1);
		_exit(1);
	}
	for (size_t i = 0; i < len; i += page)
		mem[i] = (unsigned char)(i / page) | 1;
	c = 'a';
	(void)!write(up, &c, 1);
	for (;;)
		if (read(down, &c, 1) == 0)
			_exit(0);
}

static void
test_real_v1(void)
{
	struct cgroup_root root;
	char why[512], name[64], *leaf = NULL, *got;
	int up[2] = { -1, -1 }, down[2] = { -1, -1 }, efd = -1, ufd, rc, c;
	int status = 0, done = 0;
	uint64_t ws = 0, us = 0, count = 0;
	pid_t child = -1, *pids = NULL;
	ssize_t n;
	long long deadline;

	if (geteuid() != 0) {
		for (; done < REAL_TESTS; done++)
			skip("real v1 cgroup: not running as root");
		return;
	}
	if (!have_v1_memory()) {
		for (; done < REAL_TESTS; done++)
			skip("real v1 cgroup: /proc/self/cgroup has no v1 memory line");
		return;
	}

	why[0] = '\0';
	rc = cgroup_detect("/proc/self/cgroup", "/proc/self/mountinfo", &root,
	    why, sizeof(why));
	ok(rc == 0 && root.version == CGROUP_V1,
	    "real: detect finds v1 (%s)", rc == 0 ? root.own : why), done++;
	if (rc != 0)
		goto skip_rest;
	printf("# real v1 memory cgroup: %s\n", root.own);
	why[0] = '\0';
	rc = cgroup_prepare(&root, why, sizeof(why));
	ok(rc == 0, "real: prepare succeeds (%s)", rc ? why : "ok"), done++;
	if (rc != 0)
		goto out;

	snprintf(name, sizeof(name), "leash-test-%d", (int)getpid());
	leaf = cgroup_create(&root, name);
	ok(leaf != NULL, "real: create %s", name), done++;
	if (leaf == NULL)
		goto out;
	rc = cgroup_set_limit(&root, leaf, 256 * MiB);
	got = xasprintf("%s/memory.limit_in_bytes", leaf);
	{
		char *text = slurp(got);

		if (text != NULL)
			text[strcspn(text, "\n")] = '\0';
		ok(rc == 0 && text != NULL && strtoull(text, NULL, 10) == 256 * MiB,
		    "real: set_limit 256 MiB reads back (rc %d, \"%s\")", rc,
		    text ? text : "(unreadable)"), done++;
		free(text);
	}
	free(got);

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
		close(up[0]);
		close(down[1]);
		real_child(leaf, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	up[1] = down[0] = -1;

	deadline = now_ms() + DEADLINE_MS;
	c = read_byte_by(up[0], deadline);
	ok(c == 'r', "real: the child joins the leaf (got %d)", c), done++;
	if (c != 'r')
		goto kill_child;

	n = cgroup_pids(leaf, &pids);
	ok(n == 1 && pid_in(pids, n, child),
	    "real: pids lists exactly the child (%zd pids)", n), done++;
	free(pids);
	pids = NULL;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ufd = cgroup_usage_open(&root, leaf);
	if (efd >= 0 && (ufd < 0 ||
	    cgroup_threshold_register(leaf, efd, ufd, 10 * MiB) != 0)) {
		close(efd);
		efd = -1;
	}
	if (ufd >= 0)
		close(ufd);
	ok(efd >= 0, "real: threshold eventfd at 10 MiB (%s)",
	    efd >= 0 ? "ok" : strerror(errno)), done++;
	ok(efd < 0 || !readable_by(efd, now_ms()),
	    "real: the eventfd is quiet before the child allocates"), done++;

	c = 'g';
	if (write(down[1], &c, 1) == 1)
		c = read_byte_by(up[0], deadline);
	else
		c = -1;
	ok(c == 'a', "real: the child allocates 20 MiB (got %d)", c), done++;
	if (c != 'a')
		goto kill_child;

	rc = cgroup_memory(&root, leaf, NULL, 0, &ws, &us);
	ok(rc == 0 && ws >= 15 * MiB && us >= ws,
	    "real: working set >= 15 MiB (rc %d, working set %llu, usage %llu)",
	    rc, (unsigned long long)ws, (unsigned long long)us), done++;

	if (efd >= 0) {
		bool fired = readable_by(efd, deadline) &&
		    read(efd, &count, sizeof(count)) == sizeof(count);

		ok(fired && count >= 1,
		    "real: the eventfd fires once usage passes 10 MiB (count %llu)",
		    (unsigned long long)count), done++;
	} else
		skip("real: no eventfd to poll"), done++;

kill_child:
	rc = cgroup_kill(&root, leaf);
	ok(rc == 0, "real: kill succeeds"), done++;
	{
		bool ended = wait_by(child, &status, now_ms() + DEADLINE_MS);

		ok(ended && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "real: the child died of SIGKILL (status %#x)", status), done++;
	}
	child = -1;

	deadline = now_ms() + DEADLINE_MS;
	while ((rc = cgroup_remove(leaf)) != 0 && errno == EBUSY &&
	    now_ms() < deadline)
		nap_ms(10);
	ok(rc == 0, "real: remove succeeds once the child is gone (%s)",
	    rc ? strerror(errno) : "ok"), done++;
	if (rc == 0) {
		free(leaf);
		leaf = NULL;
	}

out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	if (leaf != NULL) {
		/* Best effort: a leftover leaf is harmless but untidy. */
		deadline = now_ms() + DEADLINE_MS;
		while (cgroup_remove(leaf) != 0 && errno == EBUSY &&
		    now_ms() < deadline)
			nap_ms(10);
		free(leaf);
	}
	for (int i = 0; i < 2; i++) {
		if (up[i] >= 0)
			close(up[i]);
		if (down[i] >= 0)
			close(down[i]);
	}
	if (efd >= 0)
		close(efd);
	cgroup_root_free(&root);
skip_rest:
	for (; done < REAL_TESTS; done++)
		skip("real: an earlier step failed");
}

int
main(void)
{
	testdir_make();
	test_detect();
	test_prepare();
	test_stat_value();
	test_memory();
	test_pids();
	test_set_limit();
	test_kill();
	test_real_v1();
	testdir_remove();
	return tap_done();
}
