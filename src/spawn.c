#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "cgroup.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum spawn_stage {
	STAGE_SETSID,
	STAGE_CGROUP,
	STAGE_STDIO,
	STAGE_UMASK,
	STAGE_CHDIR,
	STAGE_GROUPS,
	STAGE_SETGID,
	STAGE_SETUID,
	STAGE_EXEC,
};

static const char *const stage_names[] = {
	[STAGE_SETSID] = "setsid",
	[STAGE_CGROUP] = "cannot join its cgroup",
	[STAGE_STDIO] = "cannot set up stdin/stdout/stderr",
	[STAGE_UMASK] = "umask",
	[STAGE_CHDIR] = "cannot change directory",
	[STAGE_GROUPS] = "cannot set supplementary groups",
	[STAGE_SETGID] = "cannot set group id",
	[STAGE_SETUID] = "cannot set user id",
	[STAGE_EXEC] = "cannot execute",
};

struct spawn_failure {
	int stage;
	int err;
};

static void __attribute__((noreturn))
child_fail(int fd, enum spawn_stage stage)
{
	struct spawn_failure f = { stage, errno };

	(void)!write(fd, &f, sizeof(f));
	_exit(127);
}

static bool
passed(const struct spawn_request *r, int fd)
{
	for (size_t i = 0; i < r->nfds; i++)
		if (r->fds[i] == fd)
			return true;
	return false;
}

/*
 * Moves the passed fds to 3, 4, ... without clobbering each other or the
 * error pipe: first everything goes above the target range, then down.
 */
static void
child_pass_fds(const struct spawn_request *r, int *errfd)
{
	int high[SPAWN_FDS_MAX], floor = 3 + (int)r->nfds + 1;
	size_t n = r->nfds < SPAWN_FDS_MAX ? r->nfds : SPAWN_FDS_MAX;

	if (*errfd < floor)
		*errfd = fcntl(*errfd, F_DUPFD_CLOEXEC, floor);
	for (size_t i = 0; i < n; i++)
		high[i] = fcntl(r->fds[i], F_DUPFD_CLOEXEC, floor);
	for (size_t i = 0; i < n; i++) {
		if (high[i] < 0 || dup2(high[i], 3 + (int)i) < 0)
			child_fail(*errfd, STAGE_STDIO);
		close(high[i]);
	}
}

/*
 * What the child gets from its parent, all prepared before the clone: the
 * child shares the parent's memory until it execs (CLONE_VM, CLONE_VFORK:
 * no page tables copied, no copy-on-write faults afterwards), so it must
 * not allocate.  LISTEN_PID= and WATCHDOG_PID= come with room for the
 * child's pid, which it writes in.
 */
struct child_args {
	const struct spawn_request *r;
	char **envp;
	char *pidvar[2];
	size_t pidvar_at[2];
	gid_t *groups;
	int ngroups;
	int errfd;
};

static int
child_args_prepare(struct child_args *a, const struct spawn_request *r)
{
	size_t n = 0, k = 0;

	memset(a, 0, sizeof(*a));
	a->r = r;
	while (r->envp[n] != NULL)
		n++;
	if ((a->envp = calloc(n + 1, sizeof(*a->envp))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *e = r->envp[i];
		a->envp[i] = (char *)e;
		if (r->pid_vars && k < 2 && (strncmp(e, "LISTEN_PID=", 11) == 0 ||
		    strncmp(e, "WATCHDOG_PID=", 13) == 0)) {
			if ((a->pidvar[k] = malloc(32)) == NULL)
				return -1;
			a->pidvar_at[k] = (size_t)(strchr(e, '=') - e + 1);
			memcpy(a->pidvar[k], e, a->pidvar_at[k]);
			a->envp[i] = a->pidvar[k++];
		}
	}
	/* The groups initgroups(3) would set, looked up here: NSS must not
	 * run in the child. */
	for (int size = 32, tries = 0; r->user != NULL; tries++) {
		gid_t *g = tries < 4 ? realloc(a->groups, size * sizeof(*g)) :
		    NULL;
		if (g == NULL) {
			a->ngroups = -1;
			break;
		}
		a->groups = g;
		a->ngroups = size;
		if (getgrouplist(r->user, r->gid, g, &a->ngroups) >= 0)
			break;
		size = a->ngroups > size ? a->ngroups : size * 2;
	}
	return 0;
}

static void
child_args_free(struct child_args *a)
{
	free(a->envp);
	free(a->pidvar[0]);
	free(a->pidvar[1]);
	free(a->groups);
}

static struct rlimit nofile_started;
static bool nofile_raised;
static rlim_t nofile_now;

int
spawn_raise_nofile(void)
{
	struct rlimit raised;

	if (getrlimit(RLIMIT_NOFILE, &nofile_started) != 0 ||
	    nofile_started.rlim_cur >= nofile_started.rlim_max)
		return 0;
	raised = nofile_started;
	raised.rlim_cur = raised.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
		return -1;
	nofile_raised = true;
	nofile_now = raised.rlim_cur;
	return 0;
}

bool
spawn_fd_keepable(int fd)
{
	struct rlimit rl;
	rlim_t reserve;

	if (nofile_now == 0)
		nofile_now = getrlimit(RLIMIT_NOFILE, &rl) != 0 ? 1024 :
		    rl.rlim_cur == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_cur;
	reserve = nofile_now / 8 > 256 ? nofile_now / 8 : 256;
	return nofile_now > reserve && (rlim_t)fd < nofile_now - reserve;
}

/* Runs in the child; never returns. */
static int
child(void *arg)
{
	struct child_args *a = arg;
	const struct spawn_request *r = a->r;
	int errfd = a->errfd;
	struct sigaction sa;
	sigset_t all;
	int null;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	if (setsid() < 0)
		child_fail(errfd, STAGE_SETSID);
	/* Join the cgroup before anything can fork, so nothing escapes it. */
	if (r->cgroup_procs != NULL) {
		char pid[16];
		int fd, n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if ((fd = open(r->cgroup_procs, O_WRONLY | O_CLOEXEC)) < 0 ||
		    write(fd, pid, n) != n)
			child_fail(errfd, STAGE_CGROUP);
		close(fd);
	}
	if ((null = open("/dev/null", O_RDWR)) < 0 ||
	    dup2(r->stdin_fd >= 0 ? r->stdin_fd : null, 0) < 0 ||
	    dup2(r->stdout_fd >= 0 ? r->stdout_fd : null, 1) < 0 ||
	    dup2(r->stderr_fd >= 0 ? r->stderr_fd : null, 2) < 0)
		child_fail(errfd, STAGE_STDIO);
	if (r->umask >= 0)
		umask((mode_t)r->umask);
	if (r->directory != NULL && chdir(r->directory) != 0)
		child_fail(errfd, STAGE_CHDIR);
	if (r->user != NULL) {
		if (a->ngroups < 0 || setgroups(a->ngroups, a->groups) != 0)
			child_fail(errfd, STAGE_GROUPS);
		if (setgid(r->gid) != 0)
			child_fail(errfd, STAGE_SETGID);
		if (setuid(r->uid) != 0)
			child_fail(errfd, STAGE_SETUID);
	}
	/* Everything above 2 but the error pipe (already close-on-exec). */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		for (int fd = 3; fd < 65536; fd++)
			if (fd != errfd && !passed(r, fd))
				close(fd);
	}
	if (r->nfds > 0)
		child_pass_fds(r, &errfd);
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &nofile_started);
	for (int k = 0; k < 2 && a->pidvar[k] != NULL; k++)
		snprintf(a->pidvar[k] + a->pidvar_at[k], 32 - a->pidvar_at[k],
		    "%d", (int)getpid());
	execvpe(r->argv[0], r->argv, a->envp);
	child_fail(errfd, STAGE_EXEC);
}

/* The failure a child reported, as the spawn error. */
static void
failure_text(const struct spawn_request *r, const struct spawn_failure *f,
    char *err, size_t errlen)
{
	if (f->stage == STAGE_EXEC)
		snprintf(err, errlen, "%s %s: %s", stage_names[f->stage],
		    r->argv[0], strerror(f->err));
	else if (f->stage == STAGE_CHDIR)
		snprintf(err, errlen, "%s to %s: %s", stage_names[f->stage],
		    r->directory, strerror(f->err));
	else if (f->stage >= 0 && f->stage <= STAGE_EXEC)
		snprintf(err, errlen, "%s: %s", stage_names[f->stage],
		    strerror(f->err));
	else
		snprintf(err, errlen, "%s", strerror(f->err));
}

/*
 * Starts the child, the caller's (or with sibling, the caller's parent's:
 * CLONE_PARENT, from the spawner) and waits for its exec.  Returns its
 * pid, with f->stage -1 once it has exec'd, else the stage it failed at;
 * or -1 when it could not be started, the reason in f->err.
 */
#define CHILD_STACK (256 * 1024)

static pid_t
start_child(const struct spawn_request *r, bool sibling,
    struct spawn_failure *f)
{
	static char *stack;
	struct child_args a;
	sigset_t all, old;
	int pfd[2];
	ssize_t n;
	pid_t pid;

	f->stage = -1;
	if (stack == NULL && (stack = mmap(NULL, CHILD_STACK,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
	    -1, 0)) == MAP_FAILED)
		stack = NULL;
	if (stack == NULL || child_args_prepare(&a, r) != 0) {
		f->err = ENOMEM;
		if (stack != NULL)
			child_args_free(&a);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		f->err = errno;
		child_args_free(&a);
		return -1;
	}
	a.errfd = pfd[1];
#ifdef __SANITIZE_ADDRESS__
	/* The last child left its frames poisoned on the shared stack. */
	__asan_unpoison_memory_region(stack, CHILD_STACK);
#endif
	/* No handler of the parent's may run in the child before it has
	 * reset them all: it would run on the parent's memory. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = clone(child, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK |
	    (sibling ? CLONE_PARENT : 0) | SIGCHLD, &a);
	f->err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	child_args_free(&a);
	if (pid < 0) {
		close(pfd[0]);
		return -1;
	}
	/* The child has exec'd or exited: EOF means exec succeeded (the pipe
	 * closed on exec). */
	do
		n = read(pfd[0], f, sizeof(*f));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n != (ssize_t)sizeof(*f))
		f->stage = -1;
	return pid;
}

/*
 * The spawner.  A fork costs the kernel in proportion to the parent's
 * open files and mapped memory (the fd table is copied at fork and closed
 * again at exec), and leashd holds a few fds per worker: at 10,000
 * workers each fork of leashd itself took milliseconds.  So leashd forks,
 * at its first spawn, a small process that holds nothing but its end of a
 * socketpair; each spawn is a request to it (strings inline, fds with
 * SCM_RIGHTS), and it starts the worker with CLONE_PARENT, so the worker
 * is leashd's child as before (leashd reaps it and gets its status).  It
 * also registers cgroup v1 threshold events, in short-lived children of
 * its own, since each registration waits for an RCU grace period.  When
 * it cannot be had, leashd forks directly.
 */
enum { OP_SPAWN = 1, OP_THRESHOLD = 2 };
#define WIRE_FDS (SPAWN_FDS_MAX + 3)	/* and stdin, stdout, stderr */
#define WIRE_MAX (1 << 20)

struct wire_spawn {
	uint32_t op;
	int32_t umask;
	uint32_t uid, gid;
	uint8_t user, directory, cgroup, pid_vars;
	int32_t stdin_at, stdout_at, stderr_at;	/* index among the fds, or -1 */
	uint32_t nfds, argc, envc;
};

struct wire_threshold {
	uint32_t op;
	uint64_t bytes;
};

struct wire_reply {
	int32_t pid;
	struct spawn_failure f;
};

static pid_t spawner_pid = -1;
static int spawner_fd = -1;
static bool spawner_failed;

static int
send_fds(int sock, const void *msg, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(WIRE_FDS * sizeof(int))];
	} u;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(&u.h), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* One request, with its fds (at most WIRE_FDS) in fds, *nfds of them. */
static ssize_t
recv_fds(int sock, char *buf, size_t len, int *fds, size_t *nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(WIRE_FDS * sizeof(int))];
	} u;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c != NULL;
	    c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(c), k * sizeof(int));
			*nfds = k;
		}
	}
	/* A request cut short (MSG_TRUNC, MSG_CTRUNC) fails to parse. */
	return n;
}

/* The next NUL-terminated string of a request, or NULL past its end. */
static const char *
wire_string(const char **p, const char *end)
{
	const char *s = *p, *nul = s < end ? memchr(s, '\0', end - s) : NULL;

	if (nul == NULL)
		return NULL;
	*p = nul + 1;
	return s;
}

static int
wire_strings(const char **p, const char *end, size_t n, char ***out)
{
	char **v = calloc(n + 1, sizeof(*v));

	if ((*out = v) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((v[i] = (char *)wire_string(p, end)) == NULL)
			return -1;
	return 0;
}

static void
spawner_spawn(int sock, const char *buf, size_t len, int *fds, size_t nfds)
{
	struct wire_spawn w;
	struct spawn_request r = { 0 };
	struct wire_reply reply = { -1, { -1, EPROTO } };
	const char *p = buf + sizeof(w), *end = buf + len;
	char **argv = NULL, **envp = NULL;

	memcpy(&w, buf, sizeof(w));
	if ((w.user && (r.user = wire_string(&p, end)) == NULL) ||
	    (w.directory && (r.directory = wire_string(&p, end)) == NULL) ||
	    (w.cgroup && (r.cgroup_procs = wire_string(&p, end)) == NULL) ||
	    w.argc == 0 || wire_strings(&p, end, w.argc, &argv) != 0 ||
	    wire_strings(&p, end, w.envc, &envp) != 0 || w.nfds > nfds ||
	    w.stdin_at >= (int32_t)nfds || w.stdout_at >= (int32_t)nfds ||
	    w.stderr_at >= (int32_t)nfds)
		goto reply;
	r.argv = argv;
	r.envp = envp;
	r.umask = w.umask;
	r.uid = w.uid;
	r.gid = w.gid;
	r.pid_vars = w.pid_vars;
	r.fds = fds;
	r.nfds = w.nfds;
	r.stdin_fd = w.stdin_at >= 0 ? fds[w.stdin_at] : -1;
	r.stdout_fd = w.stdout_at >= 0 ? fds[w.stdout_at] : -1;
	r.stderr_fd = w.stderr_at >= 0 ? fds[w.stderr_at] : -1;
	reply.pid = start_child(&r, true, &reply.f);
reply:
	free(argv);
	free(envp);
	(void)send_fds(sock, &reply, sizeof(reply), NULL, 0);
}

/* The registration, in a forked child (the fd numbers are the same in its
 * table); the caller goes on at once and the child is reaped later. */
static void
threshold_in_child(const char *dir, int efd, int ufd, uint64_t bytes)
{
	if (fork() == 0)
		_exit(cgroup_threshold_register(dir, efd, ufd, bytes) ? 1 : 0);
}

/*
 * In the spawner, registrations are done by THRESHOLD_THREADS threads from
 * a queue: each waits for the kernel's RCU grace period (sleeping), so
 * several run at once, and a thread costs nothing like a fork and exit of
 * a process (copying and tearing down its page tables).  A forked child
 * takes one when the queue is full.
 */
#define THRESHOLD_THREADS 16
#define THRESHOLD_QUEUE 1024

struct threshold_job {
	int efd, ufd;
	uint64_t bytes;
	char dir[];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t more;
	struct threshold_job *q[THRESHOLD_QUEUE];
	size_t head, n;
	int threads;
} tq = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, 0, 0,
	0 };

static void *
threshold_thread(void *arg)
{
	struct threshold_job *j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&tq.mu);
		while (tq.n == 0)
			pthread_cond_wait(&tq.more, &tq.mu);
		j = tq.q[tq.head];
		tq.head = (tq.head + 1) % THRESHOLD_QUEUE;
		tq.n--;
		pthread_mutex_unlock(&tq.mu);
		(void)cgroup_threshold_register(j->dir, j->efd, j->ufd,
		    j->bytes);
		close(j->efd);
		close(j->ufd);
		free(j);
	}
	return NULL;
}

/* Hands the job to a thread (taking its fds); false when it cannot. */
static bool
threshold_queue(const char *dir, int efd, int ufd, uint64_t bytes)
{
	size_t len = strlen(dir) + 1;
	struct threshold_job *j = malloc(sizeof(*j) + len);
	pthread_attr_t attr;
	pthread_t t;
	bool queued = false;

	if (j == NULL)
		return false;
	j->efd = efd;
	j->ufd = ufd;
	j->bytes = bytes;
	memcpy(j->dir, dir, len);
	pthread_mutex_lock(&tq.mu);
	if (tq.threads < THRESHOLD_THREADS && (size_t)tq.threads <= tq.n) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, threshold_thread, NULL) == 0)
			tq.threads++;
		pthread_attr_destroy(&attr);
	}
	if (tq.threads > 0 && tq.n < THRESHOLD_QUEUE) {
		tq.q[(tq.head + tq.n++) % THRESHOLD_QUEUE] = j;
		pthread_cond_signal(&tq.more);
		queued = true;
	}
	pthread_mutex_unlock(&tq.mu);
	if (!queued)
		free(j);
	return queued;
}

static void
spawner_threshold(const char *buf, size_t len, int *fds, size_t *nfds)
{
	struct wire_threshold w;
	const char *p = buf + sizeof(w), *dir;

	memcpy(&w, buf, sizeof(w));
	if (*nfds != 2 || (dir = wire_string(&p, buf + len)) == NULL)
		return;
	if (threshold_queue(dir, fds[0], fds[1], w.bytes))
		*nfds = 0;	/* the thread closes them */
	else
		threshold_in_child(dir, fds[0], fds[1], w.bytes);
}

static void __attribute__((noreturn))
spawner_main(int sock, pid_t leashd)
{
	struct sigaction sa;
	sigset_t none;
	char *buf = malloc(WIRE_MAX);
	int fds[WIRE_FDS];
	size_t nfds;
	ssize_t n;
	uint32_t op;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "leashd-spawner");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	/* Its threshold helpers are reaped by the kernel. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of leashd's process group: a ^C is leashd's to handle. */
	setsid();
	if (buf == NULL || getppid() != leashd)
		_exit(1);
	while ((n = recv_fds(sock, buf, WIRE_MAX, fds, &nfds)) > 0) {
		op = 0;
		if (n >= (ssize_t)sizeof(op))
			memcpy(&op, buf, sizeof(op));
		if (n >= (ssize_t)sizeof(struct wire_spawn) && op == OP_SPAWN)
			spawner_spawn(sock, buf, n, fds, nfds);
		else if (n >= (ssize_t)sizeof(struct wire_threshold) &&
		    op == OP_THRESHOLD)
			spawner_threshold(buf, n, fds, &nfds);
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
	}
	_exit(0);
}

static bool
spawner_start(void)
{
	int sv[2], sndbuf = WIRE_MAX;
	pid_t pid, self = getpid();

	if (spawner_fd >= 0)
		return true;
	if (spawner_failed ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return false;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		/* Nothing but its socket, as fd 3. */
		if (dup3(sv[1], 3, 0) < 0 && sv[1] != 3)
			_exit(1);
		syscall(SYS_close_range, 4U, ~0U, 0U);
		spawner_main(3, self);
	}
	close(sv[1]);
	spawner_pid = pid;
	spawner_fd = sv[0];
	return true;
}

/* The spawner is gone or broken: leashd forks directly from now on. */
static void
spawner_lost(void)
{
	log_warnx("spawn", "the spawner (pid %d) is gone; leashd forks each "
	    "worker itself from now on (slower with many workers)",
	    (int)spawner_pid);
	spawn_stop_spawner();
	spawner_failed = true;
}

void
spawn_stop_spawner(void)
{
	if (spawner_fd < 0)
		return;
	close(spawner_fd);
	spawner_fd = -1;
	kill(spawner_pid, SIGKILL);
	while (waitpid(spawner_pid, NULL, 0) < 0 && errno == EINTR)
		;
	spawner_pid = -1;
}

/* Builds and sends a spawn request; 0 once the spawner has it. */
static int
spawner_request(const struct spawn_request *r)
{
	struct wire_spawn w = { .op = OP_SPAWN, .umask = r->umask,
	    .uid = r->uid, .gid = r->gid, .user = r->user != NULL,
	    .directory = r->directory != NULL, .cgroup = r->cgroup_procs != NULL,
	    .pid_vars = r->pid_vars, .stdin_at = -1, .stdout_at = -1,
	    .stderr_at = -1 };
	int fds[WIRE_FDS];
	size_t nfds = 0;
	struct buf b = { 0 };
	int rc;

	if (r->nfds > 64)
		return -1;
	for (size_t i = 0; i < r->nfds; i++)
		fds[nfds++] = r->fds[i];
	w.nfds = (uint32_t)r->nfds;
	if (r->stdin_fd >= 0) {
		w.stdin_at = (int32_t)nfds;
		fds[nfds++] = r->stdin_fd;
	}
	if (r->stdout_fd >= 0) {
		w.stdout_at = (int32_t)nfds;
		fds[nfds++] = r->stdout_fd;
	}
	if (r->stderr_fd >= 0 && r->stderr_fd == r->stdout_fd)
		w.stderr_at = w.stdout_at;
	else if (r->stderr_fd >= 0) {
		w.stderr_at = (int32_t)nfds;
		fds[nfds++] = r->stderr_fd;
	}
	while (r->argv[w.argc] != NULL)
		w.argc++;
	while (r->envp[w.envc] != NULL)
		w.envc++;
	buf_append(&b, &w, sizeof(w));
	if (r->user != NULL)
		buf_append(&b, r->user, strlen(r->user) + 1);
	if (r->directory != NULL)
		buf_append(&b, r->directory, strlen(r->directory) + 1);
	if (r->cgroup_procs != NULL)
		buf_append(&b, r->cgroup_procs, strlen(r->cgroup_procs) + 1);
	for (uint32_t i = 0; i < w.argc; i++)
		buf_append(&b, r->argv[i], strlen(r->argv[i]) + 1);
	for (uint32_t i = 0; i < w.envc; i++)
		buf_append(&b, r->envp[i], strlen(r->envp[i]) + 1);
	if (b.n > WIRE_MAX) {
		errno = EMSGSIZE;
		rc = -1;
	} else
		rc = send_fds(spawner_fd, b.p, b.n, fds, nfds);
	buf_reset(&b);
	return rc;
}

pid_t
spawn(const struct spawn_request *r, char *err, size_t errlen)
{
	struct wire_reply reply = { -1, { -1, 0 } };
	int status;
	ssize_t n = -1;

	if (spawner_start()) {
		if (spawner_request(r) == 0) {
			do
				n = recv(spawner_fd, &reply, sizeof(reply), 0);
			while (n < 0 && errno == EINTR);
			if (n != (ssize_t)sizeof(reply))
				spawner_lost();
		} else if (errno != EMSGSIZE)
			spawner_lost();
	}
	if (n != (ssize_t)sizeof(reply))
		reply.pid = start_child(r, false, &reply.f);
	if (reply.pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(reply.f.err));
		return -1;
	}
	if (reply.f.stage < 0)
		return reply.pid;
	while (waitpid(reply.pid, &status, 0) < 0 && errno == EINTR)
		;
	failure_text(r, &reply.f, err, errlen);
	return -1;
}

void
spawn_threshold(const char *dir, int efd, int ufd, uint64_t bytes)
{
	struct buf b = { 0 };
	struct wire_threshold w = { .op = OP_THRESHOLD, .bytes = bytes };
	int fds[2] = { efd, ufd };
	int rc = -1;

	if (spawner_start()) {
		buf_append(&b, &w, sizeof(w));
		buf_append(&b, dir, strlen(dir) + 1);
		if ((rc = send_fds(spawner_fd, b.p, b.n, fds, 2)) != 0)
			spawner_lost();
		buf_reset(&b);
	}
	if (rc != 0)
		threshold_in_child(dir, efd, ufd, bytes);
}
