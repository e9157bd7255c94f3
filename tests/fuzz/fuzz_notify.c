/*
 * libFuzzer target: an sd_notify datagram as a worker sends it to
 * $NOTIFY_SOCKET (notify_dispatch: READY=1, STATUS=, STOPPING=1,
 * WATCHDOG=1 and anything else), for an instance of its own.  Any worker
 * can send anything; nothing it sends may hurt leashd.
 */
#include <ev.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "log.h"
#include "notify.h"
#include "supervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
hook(struct instance *in, enum instance_event ev)
{
	(void)in;
	(void)ev;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct supervisor sv;
	static struct instance_spec spec = { .fullname = "fuzz:fuzz" };
	struct instance in;

	if (sv.loop == NULL) {
		supervisor_init(&sv, ev_default_loop(0));
		log_setlevel(LOG_LEVEL_ERROR);
	}
	if (size > 4096)		/* what notify_cb reads of a datagram */
		size = 4096;
	memset(&in, 0, sizeof(in));
	in.sv = &sv;
	in.spec = &spec;
	in.hook = hook;
	in.pid = 1;
	notify_dispatch(&in, (const char *)data, size);
	free(in.status_text);
	return 0;
}
