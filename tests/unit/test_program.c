/* The worker state machine's transition rules, without processes. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "program.h"
#include "tap.h"

#define EXIT_STATUS(code) ((code) << 8)
#define SIGNAL_STATUS(sig) (sig)

static struct program_config
cfg_with(enum autorestart ar, long startretries)
{
	struct program_config c;

	memset(&c, 0, sizeof(c));
	c.autorestart = ar;
	c.startretries = startretries;
	c.exitcodes[0] = 1;	/* exit code 0 is expected */
	return c;
}

int
main(void)
{
	struct program_config c = cfg_with(AUTORESTART_UNEXPECTED, 3);

	/* An exit before startsecs is a failed start. */
	ok(worker_next_on_exit(&c, WORKER_STARTING, EXIT_STATUS(1), 0, true) ==
	    WORKER_BACKOFF, "STARTING exit -> BACKOFF on the first failure");
	ok(worker_next_on_exit(&c, WORKER_STARTING, EXIT_STATUS(0), 2, true) ==
	    WORKER_BACKOFF, "STARTING exit -> BACKOFF while retries are left");
	ok(worker_next_on_exit(&c, WORKER_STARTING, EXIT_STATUS(1), 3, true) ==
	    WORKER_FATAL, "STARTING exit -> FATAL after startretries failures");
	c.startretries = 0;
	ok(worker_next_on_exit(&c, WORKER_STARTING, EXIT_STATUS(1), 0, true) ==
	    WORKER_FATAL, "startretries=0: the first failed start is FATAL");

	/* autorestart=unexpected restarts on unexpected exits only. */
	c = cfg_with(AUTORESTART_UNEXPECTED, 3);
	ok(worker_next_on_exit(&c, WORKER_RUNNING, EXIT_STATUS(1), 0, true) ==
	    WORKER_STARTING, "unexpected: exit 1 restarts");
	ok(worker_next_on_exit(&c, WORKER_RUNNING, EXIT_STATUS(0), 0, true) ==
	    WORKER_EXITED, "unexpected: exit 0 (in exitcodes) stays EXITED");
	ok(worker_next_on_exit(&c, WORKER_RUNNING, SIGNAL_STATUS(SIGKILL), 0,
	    true) == WORKER_STARTING, "unexpected: death by signal restarts");
	c.exitcodes[0] = (1u << 0) | (1u << 2);
	ok(worker_next_on_exit(&c, WORKER_RUNNING, EXIT_STATUS(2), 0, true) ==
	    WORKER_EXITED, "unexpected: exit 2 listed in exitcodes stays EXITED");

	c = cfg_with(AUTORESTART_TRUE, 3);
	ok(worker_next_on_exit(&c, WORKER_RUNNING, EXIT_STATUS(0), 0, true) ==
	    WORKER_STARTING, "true: an expected exit restarts too");
	c = cfg_with(AUTORESTART_FALSE, 3);
	ok(worker_next_on_exit(&c, WORKER_RUNNING, EXIT_STATUS(1), 0, true) ==
	    WORKER_EXITED, "false: an unexpected exit stays EXITED");

	/* What was asked wins over policy. */
	c = cfg_with(AUTORESTART_TRUE, 3);
	ok(worker_next_on_exit(&c, WORKER_RUNNING, EXIT_STATUS(1), 0, false) ==
	    WORKER_EXITED, "want down: no restart");
	ok(worker_next_on_exit(&c, WORKER_STARTING, EXIT_STATUS(1), 0, false) ==
	    WORKER_STOPPED, "want down: a failed start is STOPPED, not BACKOFF");
	ok(worker_next_on_exit(&c, WORKER_STOPPING, SIGNAL_STATUS(SIGTERM), 0,
	    false) == WORKER_STOPPED, "STOPPING exit -> STOPPED");

	/* Names as supervisord prints them. */
	is_str(worker_state_name(WORKER_BACKOFF), "BACKOFF", "state names");
	is_str(worker_state_name(WORKER_FATAL), "FATAL", "state names");
	is_str(restart_reason_name(REASON_EXIT), "exit", "reason names");
	is_str(restart_reason_name(REASON_RELOAD), "reload", "reason names");
	return tap_done();
}
