#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event_names.h"
#include "util.h"

static const char *const names[EVENT_TYPE_MAX] = {
	[EVENT_PROCESS_STATE_STOPPED] = "PROCESS_STATE_STOPPED",
	[EVENT_PROCESS_STATE_STARTING] = "PROCESS_STATE_STARTING",
	[EVENT_PROCESS_STATE_RUNNING] = "PROCESS_STATE_RUNNING",
	[EVENT_PROCESS_STATE_BACKOFF] = "PROCESS_STATE_BACKOFF",
	[EVENT_PROCESS_STATE_STOPPING] = "PROCESS_STATE_STOPPING",
	[EVENT_PROCESS_STATE_EXITED] = "PROCESS_STATE_EXITED",
	[EVENT_PROCESS_STATE_FATAL] = "PROCESS_STATE_FATAL",
	[EVENT_PROCESS_STATE_UNKNOWN] = "PROCESS_STATE_UNKNOWN",
	[EVENT_PROCESS_LOG_STDOUT] = "PROCESS_LOG_STDOUT",
	[EVENT_PROCESS_LOG_STDERR] = "PROCESS_LOG_STDERR",
	[EVENT_PROCESS_COMMUNICATION_STDOUT] = "PROCESS_COMMUNICATION_STDOUT",
	[EVENT_PROCESS_COMMUNICATION_STDERR] = "PROCESS_COMMUNICATION_STDERR",
	[EVENT_REMOTE_COMMUNICATION] = "REMOTE_COMMUNICATION",
	[EVENT_SUPERVISOR_STATE_CHANGE_RUNNING] = "SUPERVISOR_STATE_CHANGE_RUNNING",
	[EVENT_SUPERVISOR_STATE_CHANGE_STOPPING] = "SUPERVISOR_STATE_CHANGE_STOPPING",
	[EVENT_TICK_5] = "TICK_5",
	[EVENT_TICK_60] = "TICK_60",
	[EVENT_TICK_3600] = "TICK_3600",
	[EVENT_PROCESS_GROUP_ADDED] = "PROCESS_GROUP_ADDED",
	[EVENT_PROCESS_GROUP_REMOVED] = "PROCESS_GROUP_REMOVED",
	[EVENT_LEASH_REPLACE_STARTING] = "LEASH_REPLACE_STARTING",
	[EVENT_LEASH_REPLACE_DONE] = "LEASH_REPLACE_DONE",
	[EVENT_LEASH_REPLACE_FAILED] = "LEASH_REPLACE_FAILED",
};

#define RANGE(a, b) (((EVENT_BIT(b) << 1) - 1) & ~(EVENT_BIT(a) - 1))

/* supervisord's abstract types; LEASH is leash's own namespace, which
 * EVENT (every supervisord event) does not take. */
static const struct {
	const char *name;
	uint64_t set;
} abstract[] = {
	{ "EVENT", RANGE(EVENT_PROCESS_STATE_STOPPED, EVENT_PROCESS_GROUP_REMOVED) },
	{ "PROCESS_STATE", RANGE(EVENT_PROCESS_STATE_STOPPED,
	    EVENT_PROCESS_STATE_UNKNOWN) },
	{ "PROCESS_LOG", RANGE(EVENT_PROCESS_LOG_STDOUT, EVENT_PROCESS_LOG_STDERR) },
	{ "PROCESS_COMMUNICATION", RANGE(EVENT_PROCESS_COMMUNICATION_STDOUT,
	    EVENT_PROCESS_COMMUNICATION_STDERR) },
	{ "SUPERVISOR_STATE_CHANGE", RANGE(EVENT_SUPERVISOR_STATE_CHANGE_RUNNING,
	    EVENT_SUPERVISOR_STATE_CHANGE_STOPPING) },
	{ "TICK", RANGE(EVENT_TICK_5, EVENT_TICK_3600) },
	{ "PROCESS_GROUP", RANGE(EVENT_PROCESS_GROUP_ADDED,
	    EVENT_PROCESS_GROUP_REMOVED) },
	{ "LEASH", RANGE(EVENT_LEASH_REPLACE_STARTING,
	    EVENT_LEASH_REPLACE_FAILED) },
	{ "LEASH_REPLACE", RANGE(EVENT_LEASH_REPLACE_STARTING,
	    EVENT_LEASH_REPLACE_FAILED) },
};

const char *
event_type_name(enum event_type t)
{
	return t < EVENT_TYPE_MAX ? names[t] : "?";
}

static int
name_set(const char *name, size_t len, uint64_t *set)
{
	for (int t = 0; t < EVENT_TYPE_MAX; t++) {
		if (strlen(names[t]) == len && strncasecmp(names[t], name, len) == 0) {
			*set |= EVENT_BIT(t);
			return 0;
		}
	}
	for (size_t i = 0; i < nitems(abstract); i++) {
		if (strlen(abstract[i].name) == len &&
		    strncasecmp(abstract[i].name, name, len) == 0) {
			*set |= abstract[i].set;
			return 0;
		}
	}
	return -1;
}

int
event_parse_names(const char *list, uint64_t *set, char *bad, size_t badlen)
{
	const char *p = list;
	size_t len;

	*set = 0;
	while (*p != '\0') {
		p += strspn(p, ", \t\n");
		if ((len = strcspn(p, ", \t\n")) == 0)
			break;
		if (name_set(p, len, set) != 0) {
			snprintf(bad, badlen, "%.*s", (int)len, p);
			return -1;
		}
		p += len;
	}
	return 0;
}
