#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

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
	int high[64], floor = 3 + (int)r->nfds + 1;
	size_t n = r->nfds < 64 ? r->nfds : 64;

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

/* The environment with the child's own pid where the protocol wants it. */
static char *const *
child_env(const struct spawn_request *r)
{
	size_t n = 0;
	char **env;

	while (r->envp[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		return r->envp;
	for (size_t i = 0; i < n; i++) {
		const char *e = r->envp[i];
		if (strncmp(e, "LISTEN_PID=", 11) == 0 ||
		    strncmp(e, "WATCHDOG_PID=", 13) == 0) {
			char *v = malloc(32);
			if (v != NULL) {
				snprintf(v, 32, "%.*s%d", (int)(strchr(e, '=') - e + 1),
				    e, (int)getpid());
				env[i] = v;
				continue;
			}
		}
		env[i] = (char *)e;
	}
	return env;
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
static void __attribute__((noreturn))
child(const struct spawn_request *r, int errfd)
{
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
	    dup2(null, 0) < 0 ||
	    dup2(r->stdout_fd >= 0 ? r->stdout_fd : null, 1) < 0 ||
	    dup2(r->stderr_fd >= 0 ? r->stderr_fd : null, 2) < 0)
		child_fail(errfd, STAGE_STDIO);
	if (r->umask >= 0)
		umask((mode_t)r->umask);
	if (r->directory != NULL && chdir(r->directory) != 0)
		child_fail(errfd, STAGE_CHDIR);
	if (r->user != NULL) {
		if (initgroups(r->user, r->gid) != 0)
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
	execvpe(r->argv[0], r->argv, r->pid_vars ? child_env(r) : r->envp);
	child_fail(errfd, STAGE_EXEC);
}

pid_t
spawn(const struct spawn_request *r, char *err, size_t errlen)
{
	struct spawn_failure f;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		child(r, pfd[1]);
	}
	close(pfd[1]);
	/* EOF means exec succeeded (the pipe closed on exec). */
	do
		n = read(pfd[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n != (ssize_t)sizeof(f))
		return pid;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (f.stage == STAGE_EXEC)
		snprintf(err, errlen, "%s %s: %s", stage_names[f.stage],
		    r->argv[0], strerror(f.err));
	else if (f.stage == STAGE_CHDIR)
		snprintf(err, errlen, "%s to %s: %s", stage_names[f.stage],
		    r->directory, strerror(f.err));
	else
		snprintf(err, errlen, "%s: %s", stage_names[f.stage],
		    strerror(f.err));
	return -1;
}
