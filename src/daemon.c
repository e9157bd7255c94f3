/*
 * leashd's command line and the process-level set-up supervisord does
 * before it serves.  Run as "supervisord" (a link, or installed in its
 * place) leashd takes supervisord's command line with its meanings:
 * -t is strip_ansi, the configuration is searched for where supervisord
 * looks, and it goes to the background unless -n or nodaemon = true.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/leash/leash.ini"

static void
usage(FILE *f, bool supervisord)
{
	if (supervisord)
		fprintf(f,
		    "usage: supervisord [options]  (leash " PACKAGE_VERSION
		    ", in supervisord's place)\n"
		    "  -c/--configuration FILE   configuration file\n"
		    "  -n/--nodaemon             stay in the foreground\n"
		    "  -s/--silent               no log on stdout/stderr\n"
		    "  -u/--user USER            run as USER\n"
		    "  -m/--umask UMASK          umask of the daemon\n"
		    "  -d/--directory DIR        directory to go to in the "
		    "background\n"
		    "  -l/--logfile FILE         the daemon's log file\n"
		    "  -y/--logfile_maxbytes N   rotate it at N bytes\n"
		    "  -z/--logfile_backups N    rotated logs kept\n"
		    "  -e/--loglevel LEVEL       error, warn, info or debug\n"
		    "  -j/--pidfile FILE         write the daemon's pid here\n"
		    "  -i/--identifier STR       supervisor.getIdentification\n"
		    "  -q/--childlogdir DIR      where AUTO log files go\n"
		    "  -k/--nocleanup            (AUTO logs have stable names)\n"
		    "  -a/--minfds N             open files needed at least\n"
		    "  --minprocs N              processes needed at least\n"
		    "  -t/--strip_ansi           strip ANSI escapes from logs\n"
		    "  --test                    check the configuration, exit\n"
		    "  -T                        print the configuration as "
		    "JSON, exit\n"
		    "  -v/--version, -h/--help\n");
	else
		fprintf(f,
		    "usage: leashd [-c FILE] [-t] [-T] [-v] [supervisord's "
		    "options]\n"
		    "  -c FILE    configuration file (default " DEFAULT_CONFIG ")\n"
		    "  -t         check the configuration and exit (0 ok, 78 bad)\n"
		    "  -T         print the configuration as JSON and exit\n"
		    "  --check-state FILE  whether this leashd can take over a "
		    "state file\n"
		    "  -v         print the version and exit\n"
		    "supervisord's options (-n -s -u -m -d -l -y -z -e -j -i -q "
		    "-k -a, --minprocs,\n--strip_ansi) set the [supervisord] key "
		    "of the same name; see leashd(8).\n");
}

/* Where supervisord looks when it is given no -c, in its order. */
static char *
search_config(const char *argv0, char *err, size_t errlen)
{
	char *copy = xstrdup(argv0), *here = dirname(dirname(copy));
	char *paths[6];
	char *found = NULL;
	size_t off = 0;

	paths[0] = xasprintf("%s/etc/supervisord.conf", here);
	paths[1] = xasprintf("%s/supervisord.conf", here);
	paths[2] = xstrdup("supervisord.conf");
	paths[3] = xstrdup("etc/supervisord.conf");
	paths[4] = xstrdup("/etc/supervisord.conf");
	paths[5] = xstrdup("/etc/supervisor/supervisord.conf");
	for (size_t i = 0; i < nitems(paths); i++) {
		if (found == NULL && access(paths[i], F_OK) == 0)
			found = xstrdup(paths[i]);
		if (off < errlen)
			off += snprintf(err + off, errlen - off, "%s%s",
			    i ? ", " : "", paths[i]);
		free(paths[i]);
	}
	free(copy);
	return found;
}

int
daemon_args_parse(struct daemon_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "configuration", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 'C' },
		{ "check-state", required_argument, NULL, 'K' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "nodaemon", no_argument, NULL, 'n' },
		{ "silent", no_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "umask", required_argument, NULL, 'm' },
		{ "directory", required_argument, NULL, 'd' },
		{ "logfile", required_argument, NULL, 'l' },
		{ "logfile_maxbytes", required_argument, NULL, 'y' },
		{ "logfile_backups", required_argument, NULL, 'z' },
		{ "loglevel", required_argument, NULL, 'e' },
		{ "pidfile", required_argument, NULL, 'j' },
		{ "identifier", required_argument, NULL, 'i' },
		{ "childlogdir", required_argument, NULL, 'q' },
		{ "nocleanup", no_argument, NULL, 'k' },
		{ "minfds", required_argument, NULL, 'a' },
		{ "minprocs", required_argument, NULL, 'P' },
		{ "strip_ansi", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	/* Flags that set the [supervisord] key of their name. */
	static const struct { int ch; const char *key; } keys[] = {
		{ 'n', "nodaemon" }, { 's', "silent" }, { 'u', "user" },
		{ 'm', "umask" }, { 'd', "directory" }, { 'l', "logfile" },
		{ 'y', "logfile_maxbytes" }, { 'z', "logfile_backups" },
		{ 'e', "loglevel" }, { 'j', "pidfile" }, { 'i', "identifier" },
		{ 'q', "childlogdir" }, { 'k', "nocleanup" }, { 'a', "minfds" },
		{ 'P', "minprocs" }, { 'S', "strip_ansi" },
	};
	char *copy = xstrdup(argv[0]), err[512];
	int ch;

	memset(a, 0, sizeof(*a));
	a->supervisord = strcmp(basename(copy), "supervisord") == 0;
	free(copy);
	while ((ch = getopt_long(argc, argv, "c:tTvh?nsu:m:d:l:y:z:e:j:i:q:ka:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			free(a->config);
			a->config = xstrdup(optarg);
			continue;
		case 't':
			if (a->supervisord)
				ch = 'S';	/* supervisord's -t */
			else {
				a->test = true;
				continue;
			}
			break;
		case 'C':
			a->test = true;
			continue;
		case 'K':
			free(a->check_state);
			a->check_state = xstrdup(optarg);
			continue;
		case 'T':
			a->dump = true;
			continue;
		case 'v':
			printf("leashd %s\n", PACKAGE_VERSION);
			daemon_args_free(a);
			return 0;
		case 'h':
		case '?':
			if (ch == 'h' || optopt == '?') {
				usage(stdout, a->supervisord);
				daemon_args_free(a);
				return 0;
			}
			usage(stderr, a->supervisord);
			daemon_args_free(a);
			return 2;
		}
		for (size_t i = 0; i < nitems(keys); i++)
			if (keys[i].ch == ch)
				strv_push(&a->settings, optarg ? xasprintf("%s=%s",
				    keys[i].key, optarg) : xasprintf("%s=true",
				    keys[i].key));
	}
	if (optind != argc) {
		usage(stderr, a->supervisord);
		daemon_args_free(a);
		return 2;
	}
	if (a->config == NULL && !a->supervisord)
		a->config = xstrdup(DEFAULT_CONFIG);
	if (a->config == NULL &&
	    (a->config = search_config(argv[0], err, sizeof(err))) == NULL) {
		fprintf(stderr, "Error: No config file found at default paths "
		    "(%s); use the -c option to specify a config file at a "
		    "different path\n", err);
		daemon_args_free(a);
		return 2;
	}
	return -1;
}

void
daemon_args_free(struct daemon_args *a)
{
	strv_free(&a->settings);
	free(a->config);
	free(a->check_state);
}

/* The soft limit raised to at least min (the hard one too, as root). */
static int
limit_at_least(int resource, const char *what, const char *key, long min,
    char *err, size_t errlen)
{
	struct rlimit rl;

	if (min <= 0 || getrlimit(resource, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)min)
		return 0;
	rl.rlim_cur = min;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)min)
		rl.rlim_max = min;
	if (setrlimit(resource, &rl) == 0)
		return 0;
	snprintf(err, errlen, "%s = %ld: cannot allow that many %s (%s); "
	    "raise the limit or lower %s", key, min, what, strerror(errno),
	    key);
	return -1;
}

static int
become_user(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		snprintf(err, errlen, "user = %s: no such user", user);
		return -1;
	}
	if (pw->pw_uid == geteuid())
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "user = %s: cannot switch user: leashd is "
		    "not running as root", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "user = %s: cannot switch user: %s", user,
		    strerror(errno));
		return -1;
	}
	log_info("leashd", "running as user %s", user);
	return 0;
}

/* The parent stays until the daemon says it serves, and exits as it did. */
static int
background(const char *directory, int *ready, char *err, size_t errlen)
{
	int fds[2];
	char status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot go to the background: %s",
		    strerror(errno));
		return -1;
	}
	if (pid > 0) {
		ssize_t n;

		close(fds[1]);
		while ((n = read(fds[0], &status, 1)) < 0 && errno == EINTR)
			;
		_exit(n == 1 && status == 0 ? 0 : 1);
	}
	close(fds[0]);
	setsid();
	if (directory != NULL && chdir(directory) != 0) {
		snprintf(err, errlen, "directory = %s: %s", directory,
		    strerror(errno));
		close(fds[1]);
		return -1;
	}
	*ready = fds[1];
	return 0;
}

int
daemon_setup(const struct config *c, bool supervisord, int *ready, char *err,
    size_t errlen)
{
	*ready = -1;
	if (c->umask >= 0)
		umask(c->umask);
	if (limit_at_least(RLIMIT_NOFILE, "open files", "minfds", c->minfds,
	    err, errlen) != 0 ||
	    limit_at_least(RLIMIT_NPROC, "processes", "minprocs", c->minprocs,
	    err, errlen) != 0)
		return -1;
	if (c->user != NULL && become_user(c->user, err, errlen) != 0)
		return -1;
	if (supervisord && !c->nodaemon)
		return background(c->directory, ready, err, errlen);
	return 0;
}

void
daemon_ready(int *ready)
{
	char ok = 0;
	int fd;

	if (*ready < 0)
		return;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	while (write(*ready, &ok, 1) < 0 && errno == EINTR)
		;
	close(*ready);
	*ready = -1;
}

int
daemon_pidfile_write(const char *path)
{
	char *pid = xasprintf("%d\n", (int)getpid());
	int rc = write_file_atomic(path, pid, strlen(pid));

	if (rc != 0)
		log_warn("leashd", "cannot write the pid file %s", path);
	free(pid);
	return rc;
}

void
daemon_pidfile_remove(const char *path)
{
	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("leashd", "cannot remove the pid file %s", path);
}
