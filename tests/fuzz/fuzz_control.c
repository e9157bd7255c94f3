/*
 * libFuzzer target: what any allowed client may write to the control
 * socket (protocol.h) -- request lines, JSON or text, any bytes -- read
 * by the real listener and answered by the real handlers, for a daemon
 * with an empty pool whose own requests (reload, shutdown ...) are
 * stubs.  The client's writing side is shut, so leashd answers what it
 * read and closes.
 */
#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "program.h"
#include "supervisor.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
stub_reload(void *arg, bool apply, struct strv *report)
{
	(void)arg;
	strv_push(report, xstrdup(apply ? "applied" : "read"));
	return 0;
}

static void
stub_shutdown(void *arg, bool restart)
{
	(void)arg;
	(void)restart;
}

static struct supervisor sv;
static struct pool pool;
static struct control *ctl;
static struct sockaddr_un sun = { .sun_family = AF_UNIX };

static void
cleanup(void)
{
	unlink(sun.sun_path);
}

static void
setup(void)
{
	struct control_daemon dm = {
		.sv = &sv, .pool = &pool, .reload = stub_reload,
		.shutdown = stub_shutdown,
	};
	char err[256];

	log_setlevel(LOG_LEVEL_ERROR);
	supervisor_init(&sv, ev_default_loop(0));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/leash-fuzz-%d.sock",
	    (int)getpid());
	if ((ctl = control_listen(&dm, sun.sun_path, NULL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_control: %s\n", err);
		abort();
	}
	atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[65536];
	ssize_t n;
	int fd;

	if (ctl == NULL)
		setup();
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		abort();
	(void)!write(fd, data, size);
	shutdown(fd, SHUT_WR);
	/* Until leashd has answered and closed (or the loop has had
	 * plenty of turns). */
	for (int i = 0; i < 200; i++) {
		ev_run(sv.loop, EVRUN_NOWAIT);
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
	}
	close(fd);
	ev_run(sv.loop, EVRUN_NOWAIT);
	control_collect(ctl);
	return 0;
}
