/*
 * supervisord's event types, and leash's own (LEASH_*), as [eventlistener:x]
 * events= names them.  Abstract names (PROCESS_STATE, TICK, EVENT ...)
 * stand for every type under them.
 */
#ifndef LEASH_EVENT_NAMES_H
#define LEASH_EVENT_NAMES_H

#include <stdint.h>

enum event_type {
	EVENT_PROCESS_STATE_STOPPED,
	EVENT_PROCESS_STATE_STARTING,
	EVENT_PROCESS_STATE_RUNNING,
	EVENT_PROCESS_STATE_BACKOFF,
	EVENT_PROCESS_STATE_STOPPING,
	EVENT_PROCESS_STATE_EXITED,
	EVENT_PROCESS_STATE_FATAL,
	EVENT_PROCESS_STATE_UNKNOWN,
	EVENT_PROCESS_LOG_STDOUT,
	EVENT_PROCESS_LOG_STDERR,
	EVENT_PROCESS_COMMUNICATION_STDOUT,
	EVENT_PROCESS_COMMUNICATION_STDERR,
	EVENT_REMOTE_COMMUNICATION,
	EVENT_SUPERVISOR_STATE_CHANGE_RUNNING,
	EVENT_SUPERVISOR_STATE_CHANGE_STOPPING,
	EVENT_TICK_5,
	EVENT_TICK_60,
	EVENT_TICK_3600,
	EVENT_PROCESS_GROUP_ADDED,
	EVENT_PROCESS_GROUP_REMOVED,
	/* leash's drain-then-replace (over a memory limit, or a reload):
	 * the replacement is starting, it took over, it failed. */
	EVENT_LEASH_REPLACE_STARTING,
	EVENT_LEASH_REPLACE_DONE,
	EVENT_LEASH_REPLACE_FAILED,
	EVENT_TYPE_MAX
};

#define EVENT_BIT(t) ((uint64_t)1 << (t))

/* The type's name ("PROCESS_STATE_FATAL"). */
const char *event_type_name(enum event_type);
/*
 * Parses a list such as "PROCESS_STATE,TICK_60" (commas or spaces, any
 * case) into a bit set of types.  Returns -1 with the unknown name in
 * bad (a buffer of badlen bytes).
 */
int event_parse_names(const char *list, uint64_t *set, char *bad,
    size_t badlen);

#endif
