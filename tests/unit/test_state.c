/*
 * Unit tests of src/state.c: the state file a successor leashd reads
 * (takeover.h) -- what is written reads back the same, and a truncated,
 * foreign, newer or edited file is refused or skipped line by line,
 * never taken for processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "state.h"
#include "util.h"

static int
parse(const char *text, struct state *st, size_t *skipped, char *err)
{
	return state_parse(text, strlen(text), st, skipped, err, 256);
}

static void
test_round_trip(void)
{
	struct state st = { .leashd = 4242, .starttime = 99 }, back;
	struct state_process *p;
	char err[256], *text;
	size_t skipped;

	state_add_socket(&st, "web", "tcp:127.0.0.1:8080", 123456, 7);
	p = state_add_process(&st);
	p->fullname = xstrdup("web:web_0");
	p->pid = 100;
	p->pgid = 100;
	p->starttime = 555;
	p->role = 2;
	p->started = 1764871473.25;
	p->out_fd = 9;
	p->cmdhash = 0xfedcba9876543210ULL;
	snprintf(p->token, sizeof(p->token), "4242-1");
	p->cgroup = xstrdup("/sys/fs/cgroup/leash/leash-4242-1");
	p = state_add_process(&st);
	p->fullname = xstrdup("bg:bg_1");
	p->pid = 101;
	p->pgid = 101;
	p->starttime = 556;
	snprintf(p->token, sizeof(p->token), "4242-2");
	state_add_carry(&st, "control:/run/leash.sock", "5");
	text = state_format(&st);
	ok(parse(text, &back, &skipped, err) == 0 && skipped == 0,
	    "what is written reads back, no line skipped");
	ok(back.leashd == 4242 && back.starttime == 99, "leashd and its start");
	ok(back.nsockets == 1 && strcmp(back.sockets[0].name, "web") == 0 &&
	    strcmp(back.sockets[0].listen, "tcp:127.0.0.1:8080") == 0 &&
	    back.sockets[0].inode == 123456 && back.sockets[0].fd == 7,
	    "the socket: name, listen, inode, fd");
	ok(back.nprocs == 2, "two processes");
	p = &back.procs[0];
	ok(p->pid == 100 && p->pgid == 100 && p->starttime == 555 &&
	    p->role == 2 && p->out_fd == 9 && p->err_fd == -1 &&
	    p->cmdhash == 0xfedcba9876543210ULL &&
	    strcmp(p->token, "4242-1") == 0 &&
	    strcmp(p->cgroup, "/sys/fs/cgroup/leash/leash-4242-1") == 0 &&
	    strcmp(p->fullname, "web:web_0") == 0 &&
	    p->started > 1764871473.2 && p->started < 1764871473.3,
	    "every field of a process");
	ok(back.procs[1].cgroup == NULL, "no cgroup reads back as none");
	is_str(state_carry(&back, "control:/run/leash.sock"), "5",
	    "a carry line");
	ok(state_carry(&back, "reply") == NULL, "a carry that is not there");
	state_free(&back);
	state_free(&st);
	free(text);
}

static void
test_refused(void)
{
	struct state st;
	char err[256];
	size_t skipped;

	ok(parse("", &st, &skipped, err) == -1, "empty: refused (%s)", err);
	ok(parse("leash-state 1\n", &st, &skipped, err) == -1 &&
	    strstr(err, "truncated") != NULL, "truncated after the header: "
	    "refused (%s)", err);
	ok(parse("[program:x]\ncommand=/bin/true\n", &st, &skipped,
	    err) == -1, "not a state file: refused (%s)", err);
	ok(parse("leash-state 2\nleashd 1 1\n", &st, &skipped, err) == -1 &&
	    strstr(err, "version 2") != NULL, "a newer version: refused (%s)",
	    err);
	ok(parse("leash-state 1\nleashd 0 1\n", &st, &skipped, err) == -1,
	    "leashd pid 0: refused");
}

static void
test_skipped(void)
{
	struct state st;
	char err[256];
	size_t skipped;
	const char *text =
	    "leash-state 1\n"
	    "leashd 10 20\n"
	    "process 1 1 5 0 0 -1 -1 0 t - a:a\n"		/* good */
	    "process 2 2 5 0 0 -1 -1 0 t - \n"		/* no name */
	    "process -3 3 5 0 0 -1 -1 0 t - a:b\n"		/* pid < 1 */
	    "process 4 4 5 7 0 -1 -1 0 t - a:c\n"		/* no such role */
	    "process 5 5 5 0 nan -1 -1 0 t - a:d\n"		/* no time */
	    "process 6 6 5 0 0 -1 -1 zz t - a:e\n"		/* bad hash */
	    "process 99999999999 7 5 0 0 -1 -1 0 t - a:f\n"	/* too big */
	    "process 8 8 5 0 0 -1 -1 0 t - a:g extra\n"	/* extra word */
	    "socket web 12 -1\n"				/* no listen */
	    "frobnicate\n"
	    "process 9 9 5 0 0 -1 -1 0 t - a:h";		/* no newline */

	ok(parse(text, &st, &skipped, err) == 0, "a file with bad lines reads");
	ok(st.nprocs == 2 && st.procs[0].pid == 1 && st.procs[1].pid == 9,
	    "only the good process lines are kept (got %zu)", st.nprocs);
	ok(skipped == 9, "and the bad ones counted (got %zu)", skipped);
	ok(st.nsockets == 0, "a socket line without its address is skipped");
	state_free(&st);
}

static void
test_processes(void)
{
	char *a[] = { "/bin/sh", "-c", "x", NULL };
	char *b[] = { "/bin/sh", "-cx", NULL };
	char *c[] = { "/bin/sh", "-c", "x", NULL };

	ok(state_starttime(getpid()) != 0, "our own start time is read");
	ok(state_same_process(getpid(), state_starttime(getpid())),
	    "we are the process that started then");
	ok(!state_same_process(getpid(), state_starttime(getpid()) + 1),
	    "not one that started at another time (a reused pid)");
	ok(state_starttime(0x7ffffff0) == 0, "no such process: 0");
	ok(state_command_hash(a) == state_command_hash(c),
	    "the same argv: the same hash");
	ok(state_command_hash(a) != state_command_hash(b),
	    "words joined differently: another hash");
}

int
main(void)
{
	test_round_trip();
	test_refused();
	test_skipped();
	test_processes();
	return tap_done();
}
