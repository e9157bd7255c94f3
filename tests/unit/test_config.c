/*
 * Unit tests of src/config.c: INI files written into a fresh temporary
 * directory, loaded with config_load, and checked both for the resulting
 * struct config and for the diagnostics ("FILE:LINE: [section] key: reason").
 */
#include <errno.h>
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
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#define TESTDIR_NAME "config"
#include "testdir.h"
#include "config.h"
#include "log.h"
#include "util.h"

/* How long a config_load may take before it is considered hung, and how
 * much memory it may take meanwhile: a runaway include loop grows by
 * hundreds of megabytes a second (more under AddressSanitizer). */
#define LOAD_TIMEOUT_MS 3000
#define LOAD_MAX_RSS_KB (256L * 1024)


/* --- helpers ------------------------------------------------------------ */

/* Writes tmpdir/rel with "@T@" replaced by tmpdir, then loads it. */
static struct config *
load(const char *rel, const char *text, struct config_diag *d)
{
	struct buf b = { 0 };
	const char *p, *path;

	for (p = text; *p != '\0'; p++) {
		if (strncmp(p, "@T@", 3) == 0) {
			buf_puts(&b, tmpdir);
			p += 2;
		} else
			buf_putc(&b, *p);
	}
	path = write_file(rel, b.p != NULL ? b.p : "");
	buf_reset(&b);
	return config_load(path, d);
}

static void
dump_diag(const struct config_diag *d)
{
	for (size_t i = 0; i < d->nerrors; i++)
		printf("#   error: %s\n", d->errors[i]);
	for (size_t i = 0; i < d->nwarnings; i++)
		printf("#   warning: %s\n", d->warnings[i]);
}

/*
 * The index of the first message that starts with "FILE:LINE: " (line < 0:
 * any line) and contains every one of the NULL-terminated strings, or -1.
 */
static int
find_msg(char **v, size_t n, const char *file, int line, ...)
{
	char prefix[PATH_MAX + 32];
	const char *want;
	va_list ap;
	bool all;

	if (line >= 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	else
		snprintf(prefix, sizeof(prefix), "%s:", file);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(v[i], prefix, strlen(prefix)) != 0)
			continue;
		all = true;
		va_start(ap, line);
		while ((want = va_arg(ap, const char *)) != NULL)
			if (strstr(v[i] + strlen(prefix), want) == NULL)
				all = false;
		va_end(ap);
		if (all)
			return (int)i;
	}
	return -1;
}

#define has_error(d, file, line, ...) \
	(find_msg((d)->errors, (d)->nerrors, file, line, __VA_ARGS__, \
	    (const char *)NULL) >= 0)
#define has_warning(d, file, line, ...) \
	(find_msg((d)->warnings, (d)->nwarnings, file, line, __VA_ARGS__, \
	    (const char *)NULL) >= 0)

/* Prints the diagnostics when the last assertion failed. */
static int last_failed;
#define check(cond, d, ...) do {					\
	int f_ = tap_failed;						\
	ok(cond, __VA_ARGS__);						\
	last_failed = tap_failed != f_;					\
	if (last_failed)						\
		dump_diag(d);						\
} while (0)

static const char *
joinv(char **v)
{
	static char bufs[4][2048];
	static int k;
	char *b = bufs[k++ % 4];
	size_t n = 0;

	if (v == NULL)
		return "(null)";
	b[n++] = '[';
	b[n] = '\0';
	for (size_t i = 0; v[i] != NULL && n < sizeof(bufs[0]) - 2; i++)
		n += snprintf(b + n, sizeof(bufs[0]) - n, "%s%s", i ? "|" : "",
		    v[i]);
	if (n < sizeof(bufs[0]) - 2)
		snprintf(b + n, sizeof(bufs[0]) - n, "]");
	return b;
}

static const struct program_config *
prog(const struct config *c, const char *name)
{
	return c == NULL ? NULL : config_find_program(c, name);
}

/*
 * Loads a file that must be rejected: NULL, and an error at file:line
 * that names the key and gives the reason.
 */
static void
expect_bad(const char *what, const char *rel, const char *text, int line,
    const char *key, const char *reason)
{
	struct config_diag d;
	struct config *c = load(rel, text, &d);
	const char *path = tpath(rel);

	check(c == NULL && d.nerrors > 0, &d, "%s: rejected", what);
	check(has_error(&d, path, line, key, reason), &d,
	    "%s: error at %s:%d names \"%s\" and says \"%s\"", what, rel, line,
	    key, reason);
	config_free(c);
	config_diag_free(&d);
}

/* --- tests -------------------------------------------------------------- */

static void
test_defaults(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;
	const char *path;
	char want[PATH_MAX];

	c = load("defaults.ini",
	    "[leashd]\n"				/* 1 */
	    "childlogdir = @T@/logs\n"			/* 2 */
	    "\n"					/* 3 */
	    "[program:x]\n"				/* 4 */
	    "command = /bin/echo hello\n",		/* 5 */
	    &d);
	path = tpath("defaults.ini");
	check(c != NULL && d.nerrors == 0 && d.nwarnings == 0, &d,
	    "minimal config loads without diagnostics");
	if (c == NULL) {
		config_diag_free(&d);
		return;
	}
	is_str(c->file, path, "config file is the path given");
	ok(c->control_socket == NULL, "control_socket defaults to NULL");
	ok(c->control_group == NULL, "control_group defaults to NULL");
	ok(c->loglevel == LOG_LEVEL_INFO, "loglevel defaults to info");
	is_str(c->childlogdir, tpath("logs"), "childlogdir as set");
	ok(c->nprograms == 1, "one program");
	p = prog(c, "x");
	ok(p != NULL && c->programs[0] == p, "config_find_program finds x");
	ok(prog(c, "y") == NULL, "config_find_program of an unknown name: NULL");
	if (p == NULL)
		goto out;
	is_str(p->name, "x", "name");
	is_str(p->file, path, "file of the section");
	ok(p->line == 4, "line of the section header (%d)", p->line);
	is_str(p->command, "/bin/echo hello", "command as written");
	is_str(p->process_name, "%(program_name)s", "process_name default");
	ok(p->numprocs == 1, "numprocs default 1");
	ok(p->numprocs_start == 0, "numprocs_start default 0");
	ok(p->priority == 999, "priority default 999");
	ok(p->autostart == true, "autostart default true");
	ok(p->autorestart == AUTORESTART_UNEXPECTED,
	    "autorestart default unexpected");
	ok(p->exitcodes[0] == 1 && p->exitcodes[1] == 0 &&
	    p->exitcodes[2] == 0 && p->exitcodes[3] == 0, "exitcodes default 0");
	ok(p->startsecs == 1.0, "startsecs default 1 (%g)", p->startsecs);
	ok(p->startretries == 3, "startretries default 3");
	ok(p->stopsignal == SIGTERM, "stopsignal default SIGTERM");
	ok(p->stopwaitsecs == 10.0, "stopwaitsecs default 10");
	ok(p->stopasgroup == true, "stopasgroup default true");
	ok(p->killasgroup == true, "killasgroup default true");
	ok(p->user == NULL, "user default NULL");
	ok(p->directory == NULL, "directory default NULL");
	ok(p->umask == -1, "umask default -1 (inherit)");
	ok(p->environment == NULL, "environment default NULL");
	ok(p->redirect_stderr == false, "redirect_stderr default false");
	is_str(p->stdout_logfile, "AUTO", "stdout_logfile default AUTO");
	is_str(p->stderr_logfile, "AUTO", "stderr_logfile default AUTO");
	ok(p->stdout_logfile_maxbytes == 50 * 1024 * 1024,
	    "stdout_logfile_maxbytes default 50M");
	ok(p->stderr_logfile_maxbytes == 50 * 1024 * 1024,
	    "stderr_logfile_maxbytes default 50M");
	ok(p->stdout_logfile_backups == 10, "stdout_logfile_backups default 10");
	ok(p->stderr_logfile_backups == 10, "stderr_logfile_backups default 10");
	ok(p->procs != NULL, "one process");
	if (p->procs == NULL)
		goto out;
	ok(p->procs[0].num == 0, "process num 0");
	is_str(p->procs[0].name, "x", "process name is the program name");
	is_str(joinv(p->procs[0].argv), "[/bin/echo|hello]", "argv");
	ok(p->procs[0].env == NULL, "no env");
	ok(p->procs[0].directory == NULL, "no directory");
	snprintf(want, sizeof(want), "%s/logs/x-stdout.log", tmpdir);
	is_str(p->procs[0].out.path, want, "stdout AUTO is under childlogdir");
	snprintf(want, sizeof(want), "%s/logs/x-stderr.log", tmpdir);
	is_str(p->procs[0].err.path, want, "stderr AUTO is under childlogdir");
	ok(p->procs[0].out.maxbytes == 50 * 1024 * 1024 &&
	    p->procs[0].out.backups == 10 &&
	    p->procs[0].err.maxbytes == 50 * 1024 * 1024 &&
	    p->procs[0].err.backups == 10, "process log limits from the program");
	ok(exitcode_expected(p, 0) && !exitcode_expected(p, 1) &&
	    !exitcode_expected(p, 2), "exitcode_expected: only 0 by default");
out:
	config_free(c);
	config_diag_free(&d);

	/* childlogdir unset: LOGS_DIRECTORY (systemd) comes first. */
	setenv("LOGS_DIRECTORY", tpath("systemd-logs"), 1);
	c = load("defaults2.ini",
	    "[program:x]\n"
	    "command = /bin/true\n", &d);
	check(c != NULL, &d, "config without [leashd] loads");
	if (c != NULL) {
		is_str(c->childlogdir, tpath("systemd-logs"),
		    "childlogdir defaults to $LOGS_DIRECTORY");
		snprintf(want, sizeof(want), "%s/systemd-logs/x-stdout.log",
		    tmpdir);
		is_str(c->nprograms == 1 ? c->programs[0]->procs[0].out.path :
		    NULL, want, "AUTO log under $LOGS_DIRECTORY");
	}
	config_free(c);
	config_diag_free(&d);
	unsetenv("LOGS_DIRECTORY");

	/* A file with no program at all is valid. */
	c = load("empty.ini", "; nothing here\n", &d);
	check(c != NULL && c->nprograms == 0 && d.nerrors == 0, &d,
	    "an empty file loads with no programs");
	config_free(c);
	config_diag_free(&d);
}

static void
test_all_keys(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;
	char want[PATH_MAX];

	c = load("allkeys.ini",
	    "[leashd]\n"
	    "control_socket = @T@/ctl.sock\n"
	    "control_group = root\n"
	    "loglevel = debug\n"
	    "childlogdir = @T@/logs\n"
	    "\n"
	    "[program:all]\n"
	    "command = /bin/sleep %(process_num)d\n"
	    "process_name = %(program_name)s-%(process_num)d\n"
	    "numprocs = 2\n"
	    "numprocs_start = 3\n"
	    "priority = -5\n"
	    "autostart = false\n"
	    "autorestart = true\n"
	    "exitcodes = 0,3,255\n"
	    "startsecs = 500ms\n"
	    "startretries = 7\n"
	    "stopsignal = INT\n"
	    "stopwaitsecs = 1m\n"
	    "stopasgroup = no\n"
	    "killasgroup = off\n"
	    "user = root\n"
	    "directory = @T@/run/%(process_num)d\n"
	    "umask = 027\n"
	    "environment = A=1,B=\"x y\",N=%(process_num)d\n"
	    "redirect_stderr = true\n"
	    "stdout_logfile = @T@/out-%(process_num)d.log\n"
	    "stdout_logfile_maxbytes = 1KB\n"
	    "stdout_logfile_backups = 2\n"
	    "stderr_logfile = NONE\n"
	    "stderr_logfile_maxbytes = 2M\n"
	    "stderr_logfile_backups = 0\n"
	    "\n"
	    "[program:errs]\n"
	    "command = /bin/true\n"
	    "autorestart = false\n"
	    "stdout_logfile = none\n"
	    "stderr_logfile = @T@/%(program_name)s.err\n"
	    "stderr_logfile_maxbytes = 0\n"
	    "exitcodes = 1\n"
	    "stopsignal = 9\n"
	    "startsecs = 0\n"
	    "umask = 0\n",
	    &d);
	check(c != NULL && d.nerrors == 0 && d.nwarnings == 0, &d,
	    "every key parses, no diagnostics");
	if (c == NULL) {
		config_diag_free(&d);
		return;
	}
	is_str(c->control_socket, tpath("ctl.sock"), "control_socket");
	is_str(c->control_group, "root", "control_group");
	ok(c->loglevel == LOG_LEVEL_DEBUG, "loglevel debug");
	is_str(c->childlogdir, tpath("logs"), "childlogdir");
	ok(c->nprograms == 2, "two programs");
	p = prog(c, "all");
	ok(p != NULL, "program all");
	if (p != NULL) {
		is_str(p->command, "/bin/sleep %(process_num)d", "command raw");
		is_str(p->process_name, "%(program_name)s-%(process_num)d",
		    "process_name raw");
		ok(p->numprocs == 2, "numprocs");
		ok(p->numprocs_start == 3, "numprocs_start");
		ok(p->priority == -5, "priority");
		ok(p->autostart == false, "autostart");
		ok(p->autorestart == AUTORESTART_TRUE, "autorestart true");
		ok(exitcode_expected(p, 0) && exitcode_expected(p, 3) &&
		    exitcode_expected(p, 255) && !exitcode_expected(p, 1) &&
		    !exitcode_expected(p, 254), "exitcodes 0,3,255");
		ok(!exitcode_expected(p, -1) && !exitcode_expected(p, 256) &&
		    !exitcode_expected(p, 259), "exitcode_expected out of range");
		ok(p->startsecs == 0.5, "startsecs 500ms (%g)", p->startsecs);
		ok(p->startretries == 7, "startretries");
		ok(p->stopsignal == SIGINT, "stopsignal INT");
		ok(p->stopwaitsecs == 60.0, "stopwaitsecs 1m");
		ok(p->stopasgroup == false, "stopasgroup no");
		ok(p->killasgroup == false, "killasgroup off");
		is_str(p->user, "root", "user");
		snprintf(want, sizeof(want), "%s/run/%%(process_num)d", tmpdir);
		is_str(p->directory, want, "directory raw");
		ok(p->umask == 027, "umask 027 (%o)", p->umask);
		is_str(p->environment, "A=1,B=\"x y\",N=%(process_num)d",
		    "environment raw");
		ok(p->redirect_stderr == true, "redirect_stderr");
		snprintf(want, sizeof(want), "%s/out-%%(process_num)d.log", tmpdir);
		is_str(p->stdout_logfile, want, "stdout_logfile raw");
		ok(p->stdout_logfile_maxbytes == 1024, "stdout_logfile_maxbytes");
		ok(p->stdout_logfile_backups == 2, "stdout_logfile_backups");
		is_str(p->stderr_logfile, "NONE", "stderr_logfile raw");
		ok(p->stderr_logfile_maxbytes == 2 * 1024 * 1024,
		    "stderr_logfile_maxbytes");
		ok(p->stderr_logfile_backups == 0, "stderr_logfile_backups");
		for (long i = 0; p->procs != NULL && i < p->numprocs; i++) {
			const struct process_config *pc = &p->procs[i];
			char n[32];

			ok(pc->num == 3 + i, "proc %ld num", i);
			snprintf(n, sizeof(n), "all-%ld", 3 + i);
			is_str(pc->name, n, "proc %ld name", i);
			snprintf(want, sizeof(want), "[/bin/sleep|%ld]", 3 + i);
			is_str(joinv(pc->argv), want, "proc %ld argv", i);
			snprintf(want, sizeof(want), "[A=1|B=x y|N=%ld]", 3 + i);
			is_str(joinv(pc->env), want, "proc %ld env", i);
			snprintf(want, sizeof(want), "%s/run/%ld", tmpdir, 3 + i);
			is_str(pc->directory, want, "proc %ld directory", i);
			snprintf(want, sizeof(want), "%s/out-%ld.log", tmpdir,
			    3 + i);
			is_str(pc->out.path, want, "proc %ld stdout path", i);
			ok(pc->err.path == NULL,
			    "proc %ld: redirect_stderr leaves no stderr file", i);
			ok(pc->out.maxbytes == 1024 && pc->out.backups == 2,
			    "proc %ld stdout limits", i);
		}
	}
	p = prog(c, "errs");
	ok(p != NULL, "program errs");
	if (p != NULL && p->procs != NULL) {
		ok(p->autorestart == AUTORESTART_FALSE, "autorestart false");
		ok(p->stopsignal == SIGKILL, "stopsignal 9");
		ok(p->startsecs == 0, "startsecs 0");
		ok(p->umask == 0, "umask 0");
		ok(exitcode_expected(p, 1) && !exitcode_expected(p, 0),
		    "exitcodes 1 only");
		ok(p->procs[0].out.path == NULL, "stdout_logfile none: no file");
		snprintf(want, sizeof(want), "%s/errs.err", tmpdir);
		is_str(p->procs[0].err.path, want, "stderr_logfile expanded");
		ok(p->procs[0].err.maxbytes == 0, "stderr maxbytes 0 (never)");
	}
	config_free(c);
	config_diag_free(&d);

	/* loglevel spellings. */
	{
		static const struct {
			const char *v;
			int level;
		} lv[] = {
			{ "error", LOG_LEVEL_ERROR }, { "warn", LOG_LEVEL_WARN },
			{ "info", LOG_LEVEL_INFO }, { "DEBUG", LOG_LEVEL_DEBUG },
			{ "warning", LOG_LEVEL_WARN }, { "critical", LOG_LEVEL_ERROR },
			{ "trace", LOG_LEVEL_DEBUG }, { "blather", LOG_LEVEL_DEBUG },
		};
		char text[256];

		for (size_t i = 0; i < nitems(lv); i++) {
			snprintf(text, sizeof(text), "[leashd]\nloglevel = %s\n",
			    lv[i].v);
			c = load("loglevel.ini", text, &d);
			check(c != NULL && c->loglevel == lv[i].level, &d,
			    "loglevel = %s", lv[i].v);
			config_free(c);
			config_diag_free(&d);
		}
	}
}

static void
test_expansion(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;
	char want[PATH_MAX], host[256] = "";

	c = load("numprocs.ini",
	    "[leashd]\n"
	    "childlogdir = @T@/logs\n"
	    "[program:w]\n"
	    "command = /bin/echo %(program_name)s %(process_num)d "
	    "%(process_num)03d\n"
	    "process_name = %(program_name)s_%(process_num)02d\n"
	    "numprocs = 3\n"
	    "numprocs_start = 5\n"
	    "environment = PORT=80%(process_num)02d,NAME=%(process_name)s\n",
	    &d);
	/* %(process_name) is not a name supervisord offers in environment. */
	check(c == NULL && has_error(&d, tpath("numprocs.ini"), 8,
	    "[program:w] environment: ", "process_name"), &d,
	    "%%(process_name) in environment is an unknown expansion at line 8");
	config_free(c);
	config_diag_free(&d);

	c = load("numprocs.ini",
	    "[leashd]\n"
	    "childlogdir = @T@/logs\n"
	    "[program:w]\n"
	    "command = /bin/echo %(program_name)s %(process_num)d "
	    "%(process_num)03d\n"
	    "process_name = %(program_name)s_%(process_num)02d\n"
	    "numprocs = 3\n"
	    "numprocs_start = 5\n"
	    "environment = PORT=80%(process_num)02d,GROUP=%(group_name)s\n",
	    &d);
	check(c != NULL && d.nerrors == 0, &d, "numprocs=3 from 5 loads");
	p = prog(c, "w");
	ok(p != NULL && p->numprocs == 3 && p->procs != NULL, "three processes");
	for (long i = 0; p != NULL && p->procs != NULL && i < 3; i++) {
		const struct process_config *pc = &p->procs[i];
		char n[32];

		ok(pc->num == 5 + i, "proc %ld: num %ld", i, 5 + i);
		snprintf(n, sizeof(n), "w_%02ld", 5 + i);
		is_str(pc->name, n, "proc %ld: process_name %s", i, n);
		snprintf(want, sizeof(want), "[/bin/echo|w|%ld|%03ld]", 5 + i,
		    5 + i);
		is_str(joinv(pc->argv), want, "proc %ld: command expanded", i);
		snprintf(want, sizeof(want), "[PORT=80%02ld|GROUP=w]", 5 + i);
		is_str(joinv(pc->env), want, "proc %ld: environment expanded",
		    i);
		snprintf(want, sizeof(want), "%s/logs/w-w_%02ld-stdout.log",
		    tmpdir, 5 + i);
		is_str(pc->out.path, want, "proc %ld: AUTO stdout log named "
		    "after program and process", i);
		snprintf(want, sizeof(want), "%s/logs/w-w_%02ld-stderr.log",
		    tmpdir, 5 + i);
		is_str(pc->err.path, want, "proc %ld: AUTO stderr log", i);
	}
	config_free(c);
	config_diag_free(&d);

	/* %(ENV_X)s, %(here)s and %(host_node_name)s. */
	setenv("LEASH_TEST_X", "from-env", 1);
	gethostname(host, sizeof(host) - 1);
	c = load("sub/dir/env.ini",
	    "[program:e]\n"
	    "command = /bin/echo %(ENV_LEASH_TEST_X)s %(here)s "
	    "%(host_node_name)s\n"
	    "directory = %(here)s/work\n"
	    "environment = X=%(ENV_LEASH_TEST_X)s,HERE=%(here)s\n"
	    "stdout_logfile = %(here)s/%(program_name)s.log\n"
	    "stderr_logfile = %(ENV_LEASH_TEST_X)s.err\n",
	    &d);
	check(c != NULL && d.nerrors == 0, &d, "%%(ENV_X)s and %%(here)s load");
	p = prog(c, "e");
	if (p != NULL && p->procs != NULL) {
		snprintf(want, sizeof(want), "[/bin/echo|from-env|%s/sub/dir|%s]",
		    tmpdir, host);
		is_str(joinv(p->procs[0].argv), want,
		    "command with ENV, here and host_node_name");
		snprintf(want, sizeof(want), "%s/sub/dir/work", tmpdir);
		is_str(p->procs[0].directory, want, "directory with %%(here)s");
		snprintf(want, sizeof(want), "[X=from-env|HERE=%s/sub/dir]",
		    tmpdir);
		is_str(joinv(p->procs[0].env), want, "environment expanded");
		snprintf(want, sizeof(want), "%s/sub/dir/e.log", tmpdir);
		is_str(p->procs[0].out.path, want, "stdout_logfile expanded");
		is_str(p->procs[0].err.path, "from-env.err",
		    "stderr_logfile expanded");
	} else
		ok(0, "program e loaded");
	config_free(c);
	config_diag_free(&d);
	unsetenv("LEASH_TEST_X");

	/* An unset environment variable is an unknown name. */
	unsetenv("LEASH_TEST_UNSET");
	expect_bad("unset %(ENV_...)", "envunset.ini",
	    "[program:e]\n"
	    "command = /bin/echo\n"
	    "directory = /x/%(ENV_LEASH_TEST_UNSET)s\n",
	    3, "[program:e] directory: ", "ENV_LEASH_TEST_UNSET");
	/* "%%" is a literal percent sign. */
	c = load("percent.ini",
	    "[program:pc]\n"
	    "command = /usr/bin/date +%%s\n", &d);
	check(c != NULL, &d, "%%%% in a command loads");
	is_str(c != NULL && c->nprograms == 1 ? joinv(c->programs[0]->procs[0].argv)
	    : NULL, "[/usr/bin/date|+%s]", "%%%% becomes %%");
	config_free(c);
	config_diag_free(&d);
}

static void
test_command_environment(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;

	c = load("cmd.ini",
	    "[program:sh]\n"
	    "command = /bin/sh -c 'echo \"a b\"; exit 3' \"x\\\"y\" a\\ b ''\n"
	    "environment = KEY=\"a,b\",K2=v2, K3='q r' ,EMPTY=\n"
	    "[program:cmt]\n"
	    "command = /bin/echo hi ; an inline comment\n",
	    &d);
	check(c != NULL && d.nerrors == 0, &d, "command and environment load");
	p = prog(c, "sh");
	if (p != NULL && p->procs != NULL) {
		is_str(joinv(p->procs[0].argv),
		    "[/bin/sh|-c|echo \"a b\"; exit 3|x\"y|a b|]",
		    "command split into argv like a shell");
		is_str(joinv(p->procs[0].env), "[KEY=a,b|K2=v2|K3=q r|EMPTY=]",
		    "environment split into KEY=value");
	} else
		ok(0, "program sh loaded");
	p = prog(c, "cmt");
	is_str(p != NULL ? joinv(p->procs[0].argv) : NULL, "[/bin/echo|hi]",
	    "\" ;\" starts an inline comment");
	config_free(c);
	config_diag_free(&d);
}

/* Lines far longer than inih's default buffer. */
static void
test_long_lines(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;
	char *t, *want;
	size_t len = 0;

	t = xstrdup("[program:long]\ncommand = /bin/echo");
	for (int i = 0; i < 3000; i++) {
		char *n = xasprintf("%s w%d", t, i);

		free(t);
		t = n;
	}
	want = xasprintf("%s\nbogus = 1\n", t);
	free(t);
	len = strlen(want);
	c = load("long.ini", want, &d);
	free(want);
	p = prog(c, "long");
	check(p != NULL, &d, "a %zu-byte command line loads", len);
	{
		size_t n = 0;

		while (p != NULL && p->procs[0].argv[n] != NULL)
			n++;
		ok(n == 3001, "... into 3001 words (%zu)", n);
		is_str(p != NULL ? p->procs[0].argv[3000] : NULL, "w2999",
		    "... the last word intact");
	}
	check(has_warning(&d, tpath("long.ini"), 3, "bogus"), &d,
	    "the line after a long line has the right number");
	config_free(c);
	config_diag_free(&d);
}

static void
test_sorting(void)
{
	struct config_diag d;
	struct config *c;
	const char *order;

	c = load("sort.ini",
	    "[program:b]\ncommand = /bin/true\npriority = 10\n"
	    "[program:d]\ncommand = /bin/true\n"
	    "[program:a]\ncommand = /bin/true\npriority = 10\n"
	    "[program:c]\ncommand = /bin/true\npriority = 1\n"
	    "[program:e]\ncommand = /bin/true\npriority = -1\n"
	    "[program:aa]\ncommand = /bin/true\npriority = 10\n"
	    "[program:z]\ncommand = /bin/true\npriority = 999\n",
	    &d);
	check(c != NULL && c->nprograms == 7, &d, "seven programs");
	if (c != NULL) {
		char *names[8] = { 0 };

		for (size_t i = 0; i < c->nprograms && i < 7; i++)
			names[i] = c->programs[i]->name;
		order = joinv(names);
		is_str(order, "[e|c|a|aa|b|d|z]",
		    "sorted by priority, then name");
	}
	config_free(c);
	config_diag_free(&d);
}

static void
test_include(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;
	const char *order;
	char *names[16] = { 0 };

	write_file("inc/conf.d/20-b.ini",
	    "[program:b]\n"
	    "command = /bin/echo b %(here)s\n");
	write_file("inc/conf.d/10-a.ini",
	    "; first\n"
	    "[program:a]\n"
	    "command = /bin/echo a\n"
	    "priority = 1\n");
	write_file("inc/conf.d/notini.txt",
	    "[program:notini]\n"
	    "command = /bin/true\n");
	write_file("inc/extra.ini",
	    "[program:extra]\n"
	    "command = /bin/true\n"
	    "[include]\n"
	    "files = nested/*.conf\n");
	write_file("inc/nested/n.conf",
	    "[program:nested]\n"
	    "command = /bin/true\n");
	c = load("inc/main.ini",
	    "[leashd]\n"
	    "include = conf.d/*.ini extra.ini\n"
	    "[program:main]\n"
	    "command = /bin/true\n",
	    &d);
	check(c != NULL && d.nerrors == 0 && d.nwarnings == 0, &d,
	    "[leashd] include = conf.d/*.ini loads (relative to the file, "
	    "cwd is /)");
	for (size_t i = 0; c != NULL && i < c->nprograms && i < 15; i++)
		names[i] = c->programs[i]->name;
	order = joinv(names);
	is_str(order, "[a|b|extra|main|nested]",
	    "included programs, not *.txt, nested [include] too");
	p = prog(c, "a");
	is_str(p ? p->file : NULL, tpath("inc/conf.d/10-a.ini"),
	    "an included program's file");
	ok(p != NULL && p->line == 2, "an included program's line");
	p = prog(c, "b");
	{
		char want[PATH_MAX];

		snprintf(want, sizeof(want), "[/bin/echo|b|%s/inc/conf.d]",
		    tmpdir);
		is_str(p ? joinv(p->procs[0].argv) : NULL, want,
		    "%%(here)s in an included file is that file's directory");
	}
	p = prog(c, "nested");
	is_str(p ? p->file : NULL, tpath("inc/nested/n.conf"),
	    "[include] files= is relative to the including file");
	config_free(c);
	config_diag_free(&d);

	/* supervisord's [include] files = in the main file, with a
	 * multi-line list and an absolute pattern. */
	c = load("inc/sv.ini",
	    "[include]\n"
	    "files = conf.d/10-a.ini\n"
	    "    @T@/inc/conf.d/20-b.ini\n"
	    "[program:sv]\n"
	    "command = /bin/true\n",
	    &d);
	check(c != NULL && d.nerrors == 0 && d.nwarnings == 0, &d,
	    "[include] files = loads");
	memset(names, 0, sizeof(names));
	for (size_t i = 0; c != NULL && i < c->nprograms && i < 15; i++)
		names[i] = c->programs[i]->name;
	is_str(joinv(names), "[a|b|sv]", "programs of [include] files=");
	config_free(c);
	config_diag_free(&d);

	/* A pattern that matches nothing is not an error. */
	c = load("inc/nomatch.ini",
	    "[leashd]\n"
	    "include = nowhere/*.ini\n", &d);
	check(c != NULL && d.nerrors == 0, &d,
	    "an include that matches nothing is fine");
	config_free(c);
	config_diag_free(&d);

	/* Only regular files: /dev/zero would never end (nor a reload). */
	c = load("inc/zero.ini",
	    "[include]\n"
	    "files = /dev/zero\n", &d);
	check(c == NULL && has_error(&d, tpath("inc/zero.ini"), 2,
	    "include: cannot open /dev/zero: not a regular file"), &d,
	    "an include of /dev/zero is refused, naming file and line");
	config_diag_free(&d);

	/* Ten files that each include all ten: each is read once, so the
	 * errors are bounded (they were read in every order: minutes). */
	{
		char rel[64];
		size_t before;
		for (int i = 0; i < 10; i++) {
			snprintf(rel, sizeof(rel), "ring/f%d.ini", i);
			(void)write_file(rel, "[include]\nfiles = *.ini\n");
		}
		c = config_load(tpath("ring/f0.ini"), &d);
		before = d.nerrors;
		ok(c == NULL && before > 0 && before <= 100,
		    "ten files including each other: %zu errors (each file read "
		    "once)", before);
		check(has_error(&d, tpath("ring/f0.ini"), 2,
		    "include loop"), &d,
		    "a file that includes itself is an include loop");
		config_free(c);
		config_diag_free(&d);
	}
}

static void
test_multiline(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;

	c = load("multi.ini",
	    "[program:ml]\n"				/* 1 */
	    "command = /bin/echo\n"			/* 2 */
	    "    one\n"					/* 3 */
	    "\ttwo three\n"				/* 4 */
	    "environment = A=1,\n"			/* 5 */
	    "  B=\"2 3\",\n"				/* 6 */
	    "  C=4\n"					/* 7 */
	    "priority = 5\n"				/* 8 */
	    "bogus = 1\n",				/* 9 */
	    &d);
	check(c != NULL && d.nerrors == 0, &d, "multi-line values load");
	p = prog(c, "ml");
	if (p != NULL) {
		is_str(p->command, "/bin/echo\none\ntwo three",
		    "continuation lines joined with newlines");
		is_str(joinv(p->procs[0].argv), "[/bin/echo|one|two|three]",
		    "a multi-line command splits on the newlines");
		is_str(joinv(p->procs[0].env), "[A=1|B=2 3|C=4]",
		    "a multi-line environment");
		ok(p->priority == 5, "the key after a continuation");
	} else
		ok(0, "program ml loaded");
	check(has_warning(&d, tpath("multi.ini"), 9, "bogus"), &d,
	    "line numbers stay right after continuation lines");
	config_free(c);
	config_diag_free(&d);

	/* inih reads an indented line after a key as a continuation even
	 * when it looks like a section header; leash must agree. */
	c = load("multi3.ini",
	    "[program:br]\n"				/* 1 */
	    "command = /usr/bin/python3 -c\n"		/* 2 */
	    "    [print(i) for i in range(3)]\n"	/* 3 */
	    "priority = 1\n",				/* 4 */
	    &d);
	check(c != NULL && d.nerrors == 0 && d.nwarnings == 0, &d,
	    "an indented continuation line starting with '[' loads cleanly");
	p = prog(c, "br");
	is_str(p != NULL ? joinv(p->procs[0].argv) : NULL,
	    "[/usr/bin/python3|-c|[print(i)|for|i|in|range(3)]]",
	    "... and is part of the command, not a section");
	ok(p != NULL && p->priority == 1,
	    "... and the key after it stays in [program:br] (priority %ld)",
	    p != NULL ? p->priority : -1L);
	config_free(c);
	config_diag_free(&d);

	/* An error in a key after continuation lines has the right line. */
	expect_bad("error after continuation", "multi2.ini",
	    "[program:ml]\n"
	    "command = /bin/echo\n"
	    "  one\n"
	    "  two\n"
	    "startsecs = soon\n",
	    5, "[program:ml] startsecs: ", "not a duration");
}

static void
test_bad_values(void)
{
	expect_bad("bad duration", "bad_duration.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "\n"
	    "startsecs = 5 parsecs\n",
	    4, "[program:x] startsecs: ", "unknown duration unit");
	expect_bad("bad duration (junk)", "bad_duration2.ini",
	    "[program:x]\n"
	    "stopwaitsecs = forever\n"
	    "command = /bin/true\n",
	    2, "[program:x] stopwaitsecs: ", "not a duration");
	expect_bad("bad size", "bad_size.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "stdout_logfile_maxbytes = 10Q\n",
	    3, "[program:x] stdout_logfile_maxbytes: ", "unit");
	expect_bad("percentage size", "bad_size2.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "stderr_logfile_maxbytes = 10%\n",
	    3, "[program:x] stderr_logfile_maxbytes: ", "percentage");
	expect_bad("bad signal", "bad_signal.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "stopsignal = FOO\n",
	    3, "[program:x] stopsignal: ", "unknown signal");
	expect_bad("signal 0", "bad_signal2.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "stopsignal = 0\n",
	    3, "[program:x] stopsignal: ", "signal");
	expect_bad("bad bool", "bad_bool.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "autostart = maybe\n",
	    3, "[program:x] autostart: ", "not a boolean");
	expect_bad("bad autorestart", "bad_autorestart.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "autorestart = sometimes\n",
	    3, "[program:x] autorestart: ", "true, false or unexpected");
	expect_bad("numprocs 0", "numprocs0.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "numprocs = 0\n",
	    3, "[program:x] numprocs: ", "between 1 and");
	expect_bad("numprocs junk", "numprocs_junk.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "numprocs = two\n",
	    3, "[program:x] numprocs: ", "not an integer");
	expect_bad("bad exitcodes", "bad_exitcodes.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "exitcodes = 0,256\n",
	    3, "[program:x] exitcodes: ", "0 to 255");
	expect_bad("bad umask", "bad_umask.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "umask = 8\n",
	    3, "[program:x] umask: ", "octal");
	expect_bad("missing command", "nocommand.ini",
	    "[leashd]\n"
	    "\n"
	    "[program:x]\n"
	    "priority = 1\n",
	    3, "[program:x] command: ", "missing");
	expect_bad("empty command", "emptycommand.ini",
	    "[program:x]\n"
	    "command =\n",
	    2, "[program:x] command: ", "empty command");
	expect_bad("unterminated quote", "quote.ini",
	    "[program:x]\n"
	    "autostart = true\n"
	    "command = /bin/echo \"abc\n",
	    3, "[program:x] command: ", "unterminated double quote");
	expect_bad("unterminated single quote", "squote.ini",
	    "[program:x]\n"
	    "command = /bin/echo 'abc\n",
	    2, "[program:x] command: ", "unterminated single quote");
	expect_bad("unknown expansion", "expand.ini",
	    "[program:x]\n"
	    "\n"
	    "command = /bin/echo %(nosuch)s\n",
	    3, "[program:x] command: ", "%(nosuch)");
	expect_bad("expansion without conversion", "expand2.ini",
	    "[program:x]\n"
	    "command = /bin/echo %(program_name)\n",
	    2, "[program:x] command: ", "conversion");
	expect_bad("bad environment", "badenv.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "environment = 1A=x\n",
	    3, "[program:x] environment: ", "KEY=value");
	expect_bad("numprocs=2 without %(process_num)", "procnum.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "process_name = worker\n"
	    "numprocs = 2\n",
	    3, "[program:x] process_name: ", "%(process_num)");
	{
		/* Without process_name: the default cannot tell two apart; the
		 * error is at the section or at numprocs. */
		struct config_diag d;
		struct config *c = load("procnum2.ini",
		    "[program:x]\n"
		    "command = /bin/true\n"
		    "numprocs = 2\n", &d);
		const char *path = tpath("procnum2.ini");

		check(c == NULL && (has_error(&d, path, 1, "process_name",
		    "%(process_num)") || has_error(&d, path, 3, "process_name",
		    "%(process_num)")), &d,
		    "numprocs=2 with the default process_name rejected");
		config_free(c);
		config_diag_free(&d);
	}
	expect_bad("process names that collide", "collide.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "process_name = w%%(process_num)d\n"	/* a literal "%(" */
	    "numprocs = 2\n",
	    3, "[program:x] process_name: ", "used by two");
	{
		/* The most processes a program may have, each checked
		 * against the others (once quadratic: minutes). */
		struct config_diag d;
		struct config *c = load("numprocs-max.ini",
		    "[program:x]\n"
		    "command = /bin/true\n"
		    "process_name = w%(process_num)d\n"
		    "numprocs = 100000\n", &d);
		const struct program_config *p = prog(c, "x");
		check(c != NULL && d.nerrors == 0 && p != NULL &&
		    p->numprocs == 100000 &&
		    strcmp(p->procs[99999].name, "w99999") == 0, &d,
		    "numprocs = 100000 loads, names distinct");
		config_free(c);
		config_diag_free(&d);
	}
	expect_bad("invalid process name", "badprocname.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "process_name = a b\n",
	    3, "[program:x] process_name: ", "not a valid name");
	expect_bad("invalid program name", "badprogname.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "[program:a:b]\n"
	    "command = /bin/true\n",
	    3, "[program:a:b]", "not a valid program name");
	expect_bad("unknown user", "user.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "user = leash-no-such-user-42\n",
	    3, "[program:x] user: ", "no such user");
	expect_bad("unknown control_group", "group.ini",
	    "[leashd]\n"
	    "loglevel = info\n"
	    "control_group = leash-no-such-group-42\n",
	    3, "[leashd] control_group: ", "no such group");
	expect_bad("bad loglevel", "loglevel.ini",
	    "[leashd]\n"
	    "loglevel = loud\n",
	    2, "[leashd] loglevel: ", "\"loud\"");
	expect_bad("key before any section", "nosection.ini",
	    "command = /bin/true\n"
	    "[program:x]\n"
	    "command = /bin/true\n",
	    1, "command", "outside of any [section]");
	{
		struct config_diag d;
		struct config *c;

		write_file("inc2/x.ini",
		    "\n"
		    "stray = 1\n"
		    "[program:x]\n"
		    "command = /bin/true\n");
		c = load("inc2/main2.ini",
		    "[leashd]\n"
		    "include = x.ini\n", &d);
		check(c == NULL && has_error(&d, tpath("inc2/x.ini"), 2, "stray",
		    "outside of any [section]"), &d,
		    "a key before any section of an included file");
		config_free(c);
		config_diag_free(&d);
	}
	expect_bad("syntax error", "syntax.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "this line has no equals sign\n",
	    3, "", "syntax error");
	{
		/* supervisord's parser: a key set again keeps the last value,
		 * a section named again is merged, across includes too. */
		struct config_diag d;
		struct config *c;
		const struct program_config *p;

		c = load("dupkey.ini",
		    "[program:x]\n"			/* 1 */
		    "command = /bin/true\n"		/* 2 */
		    "priority = 1\n"			/* 3 */
		    "command = /bin/false\n"		/* 4 */
		    "[program:y]\n"			/* 5 */
		    "command = /bin/true\n"		/* 6 */
		    "[program:x]\n"			/* 7 */
		    "priority = 2\n", &d);		/* 8 */
		p = c ? config_find_program(c, "x") : NULL;
		check(p != NULL && strcmp(p->procs[0].argv[0], "/bin/false") == 0
		    && p->priority == 2, &d, "a key set twice keeps the last "
		    "value, a section named twice is merged");
		check(has_warning(&d, tpath("dupkey.ini"), 4, "[program:x] "
		    "command: ", "set again (first at line 2)"), &d,
		    "the key set again: a warning at its line");
		check(has_warning(&d, tpath("dupkey.ini"), 7, "[program:x]",
		    "appears again (first at"), &d,
		    "the section named again: a warning at its header");
		ok(c != NULL && c->nprograms == 2, "two programs (%zu)",
		    c ? c->nprograms : 0);
		config_free(c);
		config_diag_free(&d);

		write_file("dupinc/conf.d/x.ini",
		    "; the same name again\n"
		    "[program:x]\n"
		    "command = /bin/false\n");
		c = load("dupinc/main.ini",
		    "[leashd]\n"
		    "include = conf.d/*.ini\n"
		    "[program:x]\n"
		    "command = /bin/true\n", &d);
		p = c ? config_find_program(c, "x") : NULL;
		check(p != NULL && strcmp(p->procs[0].argv[0], "/bin/false") == 0,
		    &d, "a program named again in an included file: the "
		    "included value wins");
		config_free(c);
		config_diag_free(&d);

		c = load("dupleashd.ini",
		    "[leashd]\n"
		    "loglevel = info\n"
		    "[leashd]\n"
		    "loglevel = debug\n", &d);
		check(c != NULL && c->loglevel == LOG_LEVEL_DEBUG, &d,
		    "[leashd] twice: merged, the last loglevel wins");
		config_free(c);
		config_diag_free(&d);
	}
	{
		/* Several errors are all reported, each at its line (a
		 * section with bad values is not checked further). */
		struct config_diag d;
		struct config *c;
		const char *path;

		c = load("many.ini",
		    "[program:x]\n"
		    "command = /bin/true\n"
		    "startsecs = x\n"
		    "stopsignal = y\n"
		    "[program:y]\n"
		    "autostart = z\n", &d);
		path = tpath("many.ini");
		check(c == NULL && d.nerrors == 3 &&
		    has_error(&d, path, 3, "[program:x] startsecs: ") &&
		    has_error(&d, path, 4, "[program:x] stopsignal: ") &&
		    has_error(&d, path, 6, "[program:y] autostart: "), &d,
		    "every error is reported with its own line (%zu errors)",
		    d.nerrors);
		config_free(c);
		config_diag_free(&d);
	}
	{
		/* A missing file. */
		struct config_diag d;
		struct config *c = config_load(tpath("no/such/file.ini"), &d);

		check(c == NULL && d.nerrors == 1 &&
		    has_error(&d, tpath("no/such/file.ini"), -1, "cannot open",
		    strerror(ENOENT)), &d,
		    "a missing file is an error naming the file");
		config_free(c);
		config_diag_free(&d);
	}
}

/* The resident set of a process in kilobytes, or -1. */
static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * config_load in a child process, so that a load that never ends fails
 * this test instead of hanging the suite or eating the machine's memory:
 * the child is killed after LOAD_TIMEOUT_MS or past LOAD_MAX_RSS_KB.  It
 * sends back whether the result was NULL, then its errors.
 */
static void
load_in_child(const char *what, const char *path, const char *const *where,
    const char *key, const char *reason)
{
	static char out[1 << 16];
	const char *killed = NULL;
	size_t n = 0;
	ssize_t r;
	int fds[2], status, waited = 0;
	long rss, peak = 0;
	pid_t pid;

	fflush(stdout);
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		perror("pipe/fork");
		exit(99);
	}
	if (pid == 0) {
		struct config_diag d;
		struct config *c;
		FILE *f;

		close(fds[0]);
		alarm(LOAD_TIMEOUT_MS / 1000 * 2);	/* a backstop */
		c = config_load(path, &d);
		f = fdopen(fds[1], "w");
		fprintf(f, "%s\n", c == NULL ? "NULL" : "config");
		for (size_t i = 0; i < d.nerrors; i++)
			fprintf(f, "%s\n", d.errors[i]);
		fclose(f);
		config_free(c);
		config_diag_free(&d);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };

		if (poll(&pfd, 1, 10) > 0) {
			r = read(fds[0], out + n, sizeof(out) - 1 - n);
			if (r == 0 || (r < 0 && errno != EINTR))
				break;
			if (r > 0)
				n += (size_t)r;
			if (n == sizeof(out) - 1)
				n = 0;		/* keep the tail only */
			continue;
		}
		if ((rss = rss_kb(pid)) > peak)
			peak = rss;
		if (rss > LOAD_MAX_RSS_KB)
			killed = "memory";
		else if ((waited += 10) > LOAD_TIMEOUT_MS)
			killed = "time";
		if (killed != NULL) {
			kill(pid, SIGKILL);
			break;
		}
	}
	out[n] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ok(killed == NULL && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s: config_load terminates", what);
	if (killed != NULL)
		printf("#   killed: still loading after %.1f s, %ld MB resident "
		    "(limits: %d ms, %ld MB)\n", waited / 1000.0, peak / 1024,
		    LOAD_TIMEOUT_MS, LOAD_MAX_RSS_KB / 1024);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("#   child %s %d\n", WIFSIGNALED(status) ?
		    "killed by signal" : "exit status", WIFSIGNALED(status) ?
		    WTERMSIG(status) : WEXITSTATUS(status));
	ok(killed == NULL && strncmp(out, "NULL\n", 5) == 0, "%s: rejected",
	    what);
	{
		char *l, *save = NULL;
		bool found = false;
		int shown = 0;

		for (l = strtok_r(out, "\n", &save); killed == NULL && l != NULL;
		    l = strtok_r(NULL, "\n", &save)) {
			for (size_t w = 0; where[w] != NULL; w++)
				if (strncmp(l, where[w], strlen(where[w])) == 0 &&
				    strstr(l, key) != NULL &&
				    strstr(l, reason) != NULL)
					found = true;
		}
		ok(found, "%s: error at %.*s names %s and says \"%s\"", what,
		    (int)strlen(where[0]) - 2, where[0], key, reason);
		if (!found && killed == NULL) {
			for (l = out; *l != '\0' && shown < 5; shown++) {
				char *e = strchr(l, '\n');

				printf("#   child: %.*s\n",
				    e ? (int)(e - l) : (int)strlen(l), l);
				l = e ? e + 1 : l + strlen(l);
			}
		}
	}
}

static void
test_include_loop(void)
{
	char self[PATH_MAX + 8], a[PATH_MAX + 8], b[PATH_MAX + 8];

	write_file("loop/self.ini",
	    "[leashd]\n"
	    "include = self.ini\n"
	    "[program:self]\n"
	    "command = /bin/true\n");
	snprintf(self, sizeof(self), "%s:2: ", tpath("loop/self.ini"));
	load_in_child("a file that includes itself", tpath("loop/self.ini"),
	    (const char *[]){ self, NULL }, "include", "loop");
	write_file("loop/a.ini",
	    "[include]\n"
	    "files = b.ini\n");
	write_file("loop/b.ini",
	    "[leashd]\n"
	    "\n"
	    "include = a.ini\n");
	/* The loop may be caught where a.ini or where b.ini includes. */
	snprintf(a, sizeof(a), "%s:2: ", tpath("loop/a.ini"));
	snprintf(b, sizeof(b), "%s:3: ", tpath("loop/b.ini"));
	load_in_child("two files that include each other", tpath("loop/a.ini"),
	    (const char *[]){ a, b, NULL }, "include", "loop");
}

static void
test_warnings(void)
{
	struct config_diag d;
	struct config *c;
	const char *path;

	c = load("warn.ini",
	    "[leashd]\n"				/* 1 */
	    "frobnicate = yes\n"			/* 2 */
	    "[program:x]\n"				/* 3 */
	    "command = /bin/true\n"			/* 4 */
	    "\n"					/* 5 */
	    "colour = blue\n"				/* 6 */
	    "[supervisord]\n"				/* 7 */
	    "logfile = /dev/null\n"			/* 8 */
	    "[programme:foo]\n"			/* 9 */
	    "[frobnicator]\n",			/* 10 */
	    &d);
	path = tpath("warn.ini");
	check(c != NULL && d.nerrors == 0, &d,
	    "unknown keys and sections do not stop the load");
	check(c != NULL && c->nprograms == 1, &d, "the program still loads");
	check(has_warning(&d, path, 6, "[program:x] colour: ", "unknown key"),
	    &d, "unknown program key: warning at its line");
	check(has_warning(&d, path, 2, "[leashd] frobnicate: ", "unknown key"),
	    &d, "unknown [leashd] key: warning at its line");
	ok(!has_warning(&d, path, 7, "[supervisord]", ""),
	    "[supervisord] is read (its logfile key too)");
	check(has_warning(&d, path, 9, "[programme:foo]", "not used"), &d,
	    "an empty unknown section: warning at its header");
	check(has_warning(&d, path, 10, "[frobnicator]", "not used"), &d,
	    "an empty last section: warning at its header");
	ok(d.nwarnings == 4, "four warnings (%zu)", d.nwarnings);
	config_free(c);
	config_diag_free(&d);
}

/* [unix_http_server] and [inet_http_server], as supervisord reads them. */
static void
test_rpc_servers(void)
{
	struct config_diag d;
	struct config *c;
	const char *path;

	c = load("rpc.ini",
	    "[unix_http_server]\n"			/* 1 */
	    "file = /run/x/supervisor.sock\n"		/* 2 */
	    "chmod = 0770\n"				/* 3 */
	    "chown = nobody:nogroup\n"			/* 4 */
	    "[inet_http_server]\n"			/* 5 */
	    "port = *:9001\n"				/* 6 */
	    "[supervisorctl]\n"			/* 7 */
	    "serverurl = unix:///run/x/supervisor.sock\n" /* 8 */
	    "[rpcinterface:supervisor]\n"		/* 9 */
	    "supervisor.rpcinterface_factory = x\n"	/* 10 */
	    "[program:x]\n"				/* 11 */
	    "command = /bin/true\n",			/* 12 */
	    &d);
	path = tpath("rpc.ini");
	check(c != NULL && c->nrpc == 2, &d, "both servers load");
	check(c != NULL && strcmp(c->rpc[0]->sock.listen,
	    "unix:/run/x/supervisor.sock") == 0 && c->rpc[0]->sock.mode == 0770 &&
	    strcmp(c->rpc[0]->sock.owner, "nobody:nogroup") == 0, &d,
	    "unix: file, chmod and chown");
	check(c != NULL && strcmp(c->rpc[1]->sock.listen, "tcp:*:9001") == 0,
	    &d, "inet: port *:9001 listens on every address");
	check(has_warning(&d, path, 5, "[inet_http_server] port = *:9001",
	    "no password"), &d, "a public port without a password: a warning");
	ok(d.nwarnings == 1, "no warning for [supervisorctl] or "
	    "[rpcinterface:supervisor] (%zu in all)", d.nwarnings);
	config_free(c);
	config_diag_free(&d);

	c = load("rpc2.ini",
	    "[unix_http_server]\n"			/* 1 */
	    "file = /tmp/s.sock\n"			/* 2 */
	    "[inet_http_server]\n"			/* 3 */
	    "port = 9001\n"				/* 4 */
	    "username = user\n"			/* 5 */
	    "password = 123\n",			/* 6 */
	    &d);
	check(c != NULL && c->nrpc == 2 && c->rpc[0]->sock.mode == 0700 &&
	    strcmp(c->rpc[1]->sock.listen, "tcp::9001") == 0 &&
	    strcmp(c->rpc[1]->username, "user") == 0 &&
	    strcmp(c->rpc[1]->password, "123") == 0 && d.nwarnings == 0, &d,
	    "chmod defaults to 0700; a bare port; credentials; no warning "
	    "with a password");
	config_free(c);
	config_diag_free(&d);

	c = load("rpc3.ini",
	    "[unix_http_server]\n"			/* 1 */
	    "chmod = 0700\n"				/* 2 */
	    "[inet_http_server]\n"			/* 3 */
	    "port = 127.0.0.1:9001\n"			/* 4 */
	    "username = user\n"			/* 5 */
	    "[unix_http_server]\n"			/* 6 */
	    "file = /tmp/t.sock\n"			/* 7 */
	    "password = {SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n", /* 8 */
	    &d);
	path = tpath("rpc3.ini");
	check(c == NULL && !has_error(&d, path, 1, "[unix_http_server] file",
	    "missing") && has_error(&d, path, 1, "[unix_http_server]",
	    "username and password go together"), &d, "[unix_http_server] "
	    "named twice is one section: its file is found, its password "
	    "has no username");
	check(has_error(&d, path, 3, "[inet_http_server]", "username and "
	    "password go together"), &d, "a username without a password: an "
	    "error");
	ok(!has_error(&d, path, 8, "[unix_http_server] password", ""),
	    "a {SHA} password is accepted (supervisord's SHA-1 form)");
	config_free(c);
	config_diag_free(&d);
}

/* --- supervisord's files, as supervisord reads them ------------------------ */

static void
test_supervisord_semantics(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *a, *b, *x;

	setenv("LEASH_TEST_WORKERS", "3", 1);
	write_file("sv/conf.d/extra.conf",
	    "[program:extra]\n"
	    "command = /bin/echo %(here)s\n");
	c = load("sv/supervisord.conf",
	    "[supervisord]\n"					/* 1 */
	    "nodaemon = true   ; in front, for docker\n"		/* 2 */
	    "pidfile = @T@/sv/supervisord.pid\n"		/* 3 */
	    "logfile = @T@/sv/supervisord.log\n"		/* 4 */
	    "logfile_maxbytes = 5 MB\n"				/* 5 */
	    "identifier = box\n"				/* 6 */
	    "umask = 027\n"					/* 7 */
	    "environment = APP=\"/srv/app\",TIER=web\n"		/* 8 */
	    "childlogdir = @T@/sv\n"				/* 9 */
	    "[include]\n"					/* 10 */
	    "files = %(here)s/conf.d/*.conf\n"			/* 11 */
	    "[group:web]\n"					/* 12 */
	    "programs = a,b\n"					/* 13 */
	    "priority = 5\n"					/* 14 */
	    "[program:a]\n"					/* 15 */
	    "command = /bin/echo %(group_name)s %(ENV_TIER)s # note\n" /* 16 */
	    "numprocs = %(ENV_LEASH_TEST_WORKERS)s\n"		/* 17 */
	    "process_name = %(program_name)s_%(process_num)d_of_%(numprocs)d\n"
	    "stdout_logfile = off\n"				/* 19 */
	    "stderr_logfile = syslog\n"				/* 20 */
	    "stdout_logfile_maxbytes = 50 MB\n"			/* 21 */
	    "[program:b]\n"					/* 22 */
	    "command = /bin/echo %(ENV_OWN)s\n"			/* 23 */
	    "environment = OWN=mine\n"				/* 24 */
	    "stopasgroup = false\n"				/* 25 */
	    "priority = 1\n"					/* 26 */
	    "[program:x]\n"					/* 27 */
	    "command = /bin/true\n"				/* 28 */
	    "priority = 1\n", &d);				/* 29 */
	a = prog(c, "a");
	b = prog(c, "b");
	x = prog(c, "x");
	check(c != NULL && a != NULL && b != NULL && x != NULL &&
	    prog(c, "extra") != NULL, &d, "a supervisord file loads");
	if (a == NULL || b == NULL || x == NULL)
		goto out;
	ok(c->nodaemon && c->pidfile && strstr(c->pidfile, "supervisord.pid") &&
	    c->logfile && strstr(c->logfile, "supervisord.log") &&
	    c->logfile_maxbytes == 5u << 20 && strcmp(c->identifier, "box") == 0 &&
	    c->umask == 027, "[supervisord]: nodaemon, pidfile, logfile, "
	    "logfile_maxbytes \"5 MB\", identifier, umask");
	ok(c->environment != NULL && strv_equal(c->environment,
	    (char *[]){ "APP=/srv/app", "TIER=web", NULL }),
	    "[supervisord] environment: %s", joinv(c->environment));
	ok(strcmp(a->group, "web") == 0 && strcmp(b->group, "web") == 0 &&
	    strcmp(x->group, "x") == 0 && a->group_priority == 5 &&
	    x->group_priority == 1, "[group:web]: a and b in it, with its "
	    "priority; x is its own group");
	ok(c->programs[0] == x && c->programs[1] == b && c->programs[2] == a,
	    "order: groups by priority, then a group's programs by theirs");
	ok(a->numprocs == 3 && strcmp(a->procs[2].name, "a_2_of_3") == 0,
	    "numprocs from %%(ENV_X)s, %%(numprocs)d in process_name (%ld, %s)",
	    a->numprocs, a->procs[a->numprocs - 1].name);
	ok(strv_equal(a->procs[0].argv, (char *[]){ "/bin/echo", "web", "web",
	    NULL }), "%%(group_name)s, [supervisord]'s %%(ENV_TIER)s, an inline "
	    "# comment cut: %s", joinv(a->procs[0].argv));
	ok(a->procs[0].out.path == NULL && a->procs[0].err.journal &&
	    a->stdout_logfile_maxbytes == 50u << 20, "stdout_logfile = off, "
	    "stderr_logfile = syslog (the journal), \"50 MB\"");
	ok(strv_equal(b->procs[0].argv, (char *[]){ "/bin/echo", "mine", NULL }),
	    "%%(ENV_X)s sees the program's own environment: %s",
	    joinv(b->procs[0].argv));
	ok(!b->stopasgroup && !b->killasgroup, "killasgroup follows "
	    "stopasgroup = false when not set, as supervisord's does");
	ok(strv_equal(prog(c, "extra")->procs[0].argv, (char *[]){ "/bin/echo",
	    (char *)tpath("sv/conf.d"), NULL }), "[include] files = %%(here)s/"
	    "...; %%(here)s in the included file is its own directory: %s",
	    joinv(prog(c, "extra")->procs[0].argv));
out:
	config_free(c);
	config_diag_free(&d);

	c = load("sv/bad.conf",
	    "[group:g]\n"				/* 1 */
	    "programs = p,nosuch\n"			/* 2 */
	    "[program:p]\n"				/* 3 */
	    "command = /bin/true\n"			/* 4 */
	    "stopasgroup = true\n"			/* 5 */
	    "killasgroup = false\n"			/* 6 */
	    "[program:q]\n"				/* 7 */
	    "command = /bin/true\n"			/* 8 */
	    "numprocs = %(ENV_LEASH_TEST_UNSET_X)s\n", &d); /* 9 */
	check(c == NULL && has_error(&d, tpath("sv/bad.conf"), 0, "[group:g] "
	    "programs: no [program:nosuch]"), &d, "a group naming a missing "
	    "program is refused");
	check(has_error(&d, tpath("sv/bad.conf"), 6, "[program:p] killasgroup",
	    "stopasgroup"), &d, "stopasgroup = true, killasgroup = false is "
	    "refused, as supervisord does");
	check(has_error(&d, tpath("sv/bad.conf"), 9, "[program:q] numprocs",
	    "ENV_LEASH_TEST_UNSET_X"), &d, "an unset %%(ENV_X)s in numprocs: "
	    "an error at its line naming it");
	config_free(c);
	config_diag_free(&d);

	{
		char *settings[] = { "nodaemon=true", "identifier=cli",
		    "loglevel=debug", NULL };
		struct config_diag d2;
		const char *path = write_file("sv/cli.conf", "[supervisord]\n"
		    "identifier = file\nloglevel = warn\n");

		c = config_load_settings(path, settings, &d2);
		check(c != NULL && c->nodaemon && strcmp(c->identifier, "cli") == 0
		    && c->loglevel == LOG_LEVEL_DEBUG, &d2, "command-line settings "
		    "override the file's [supervisord]");
		config_free(c);
		config_diag_free(&d2);
		settings[1] = "minfds=lots";
		c = config_load_settings(path, settings, &d2);
		check(c == NULL && has_error(&d2, "command line", 0,
		    "[supervisord] minfds", "lots"), &d2, "a bad command-line "
		    "setting is an error naming it");
		config_free(c);
		config_diag_free(&d2);
	}
}

/* One key's changed value, for program_config_equal. */
static const struct {
	const char *key, *value;
} changes[] = {
	{ "command", "/bin/echo changed" },
	{ "process_name", "p%(process_num)d" },
	{ "numprocs", "2" },
	{ "numprocs_start", "1" },
	{ "priority", "5" },
	{ "autostart", "false" },
	{ "autorestart", "true" },
	{ "exitcodes", "0,2" },
	{ "startsecs", "2" },
	{ "startretries", "4" },
	{ "stopsignal", "INT" },
	{ "stopwaitsecs", "11" },
	{ "stopasgroup", "false" },
	{ "user", "root" },
	{ "directory", "/tmp" },
	{ "umask", "022" },
	{ "environment", "A=1" },
	{ "redirect_stderr", "true" },
	{ "stdout_logfile", "NONE" },
	{ "stdout_logfile_maxbytes", "1M" },
	{ "stdout_logfile_backups", "1" },
	{ "stderr_logfile", "NONE" },
	{ "stderr_logfile_maxbytes", "1M" },
	{ "stderr_logfile_backups", "1" },
};

#define EQ_BASE \
	"[leashd]\n" \
	"childlogdir = @T@/logs\n" \
	"[program:p]\n" \
	"command = /bin/echo %(ENV_LEASH_TEST_EQ)s\n" \
	"process_name = %(program_name)s_%(process_num)d\n"

static void
test_equal(void)
{
	struct config_diag d1, d2;
	struct config *a, *b;
	const struct program_config *pa, *pb;
	char text[2048];

	setenv("LEASH_TEST_EQ", "one", 1);
	a = load("eq_a.ini", EQ_BASE, &d1);
	b = load("eq_b.ini", EQ_BASE, &d2);
	pa = prog(a, "p");
	pb = prog(b, "p");
	check(pa != NULL, &d1, "base config loads");
	check(pb != NULL, &d2, "base config loads again");
	if (pa == NULL || pb == NULL)
		goto out;
	ok(program_config_equal(pa, pb), "the same file twice is equal");
	ok(program_config_equal(pa, pa), "a program equals itself");
	config_free(b);
	config_diag_free(&d2);

	for (size_t i = 0; i < nitems(changes); i++) {
		snprintf(text, sizeof(text), "%s%s = %s\n", EQ_BASE,
		    changes[i].key, changes[i].value);
		if (strcmp(changes[i].key, "command") == 0 ||
		    strcmp(changes[i].key, "process_name") == 0) {
			/* Replace rather than duplicate the key. */
			snprintf(text, sizeof(text),
			    "[leashd]\nchildlogdir = @T@/logs\n[program:p]\n"
			    "command = %s\nprocess_name = %s\n",
			    strcmp(changes[i].key, "command") == 0 ?
			    changes[i].value : "/bin/echo %(ENV_LEASH_TEST_EQ)s",
			    strcmp(changes[i].key, "process_name") == 0 ?
			    changes[i].value :
			    "%(program_name)s_%(process_num)d");
		}
		b = load("eq_b.ini", text, &d2);
		pb = prog(b, "p");
		check(pb != NULL && d2.nerrors == 0 && d2.nwarnings == 0, &d2,
		    "changed %s loads", changes[i].key);
		ok(pb != NULL && !program_config_equal(pa, pb) &&
		    !program_config_equal(pb, pa),
		    "changing %s = %s makes it unequal", changes[i].key,
		    changes[i].value);
		config_free(b);
		config_diag_free(&d2);
	}

	/* Values written differently but parsing the same are equal, and so
	 * is a section moved to another line or file. */
	b = load("eq_b.ini",
	    "; a comment moves everything down\n"
	    "[leashd]\n"
	    "childlogdir = @T@/logs\n"
	    "[program:p]\n"
	    "process_name = %(program_name)s_%(process_num)d\n"
	    "command = /bin/echo %(ENV_LEASH_TEST_EQ)s\n"
	    "startsecs = 1000ms\n"
	    "stopsignal = 15\n"
	    "autostart = yes\n"
	    "numprocs = 1\n"
	    "stdout_logfile_maxbytes = 50MB\n"
	    "exitcodes = 0,0\n", &d2);
	pb = prog(b, "p");
	check(pb != NULL, &d2, "respelled config loads");
	ok(pb != NULL && program_config_equal(pa, pb),
	    "defaults spelled out differently are still equal");
	config_free(b);
	config_diag_free(&d2);

	/* The same text expanding differently is not equal. */
	setenv("LEASH_TEST_EQ", "two", 1);
	b = load("eq_b.ini", EQ_BASE, &d2);
	pb = prog(b, "p");
	check(pb != NULL, &d2, "config with another environment loads");
	ok(pb != NULL && !program_config_equal(pa, pb),
	    "the same command expanding differently is unequal");
	config_free(b);
	config_diag_free(&d2);

	/* The childlogdir changes AUTO log paths. */
	setenv("LEASH_TEST_EQ", "one", 1);
	b = load("eq_b.ini",
	    "[leashd]\n"
	    "childlogdir = @T@/otherlogs\n"
	    "[program:p]\n"
	    "command = /bin/echo %(ENV_LEASH_TEST_EQ)s\n"
	    "process_name = %(program_name)s_%(process_num)d\n", &d2);
	pb = prog(b, "p");
	ok(pb != NULL && !program_config_equal(pa, pb),
	    "another childlogdir (AUTO log paths) is unequal");
	config_free(b);
	config_diag_free(&d2);

	/* Programs of different names are never equal. */
	b = load("eq_b.ini",
	    "[leashd]\n"
	    "childlogdir = @T@/logs\n"
	    "[program:q]\n"
	    "command = /bin/echo %(ENV_LEASH_TEST_EQ)s\n"
	    "process_name = %(program_name)s_%(process_num)d\n", &d2);
	pb = prog(b, "q");
	ok(pb != NULL && !program_config_equal(pa, pb),
	    "another name is unequal");
	config_free(b);
	config_diag_free(&d2);
out:
	config_free(a);
	config_diag_free(&d1);
	unsetenv("LEASH_TEST_EQ");
}

static void
test_exitcode_expected(void)
{
	struct config_diag d;
	struct config *c;
	const struct program_config *p;

	c = load("exit.ini",
	    "[program:x]\n"
	    "command = /bin/true\n"
	    "exitcodes = 0,2,64,255\n", &d);
	p = prog(c, "x");
	check(p != NULL, &d, "exitcodes config loads");
	if (p != NULL) {
		ok(exitcode_expected(p, 0), "0 expected");
		ok(!exitcode_expected(p, 1), "1 not expected");
		ok(exitcode_expected(p, 2), "2 expected");
		ok(!exitcode_expected(p, 63), "63 not expected");
		ok(exitcode_expected(p, 64), "64 expected");
		ok(!exitcode_expected(p, 65), "65 not expected");
		ok(exitcode_expected(p, 255), "255 expected");
		ok(!exitcode_expected(p, 256), "256 not expected");
		ok(!exitcode_expected(p, -1), "-1 not expected");
		ok(!exitcode_expected(p, 2 + 256), "258 is not 2");
	}
	config_free(c);
	config_diag_free(&d);
}

int
main(void)
{
	testdir_make();
	/* Relative includes must be relative to the file, not to the cwd. */
	if (chdir("/") != 0) {
		perror("chdir");
		return 99;
	}
	unsetenv("LOGS_DIRECTORY");
	test_defaults();
	test_all_keys();
	test_expansion();
	test_command_environment();
	test_long_lines();
	test_sorting();
	test_include();
	test_multiline();
	test_bad_values();
	test_warnings();
	test_rpc_servers();
	test_equal();
	test_exitcode_expected();
	test_include_loop();
	test_supervisord_semantics();
	testdir_remove();
	return tap_done();
}
