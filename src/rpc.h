/*
 * supervisord's control plane: its XML-RPC interface (supervisor.* and
 * system.*, API version 3.0) at POST /RPC2, and the log tails supervisorctl
 * follows (GET /logtail/NAME[/stdout|stderr]), served by http.c on
 * [unix_http_server] and [inet_http_server], so that supervisorctl and
 * everything else written against supervisord work unchanged.  Method
 * names, arguments, process-info fields, state codes and fault codes are
 * supervisord 4.2's; leash's additions live in the leash.* namespace.
 * The same servers answer GET /metrics (metrics.h), and [leashd] metrics =
 * opens one more that answers only that, without a password.
 */
#ifndef LEASH_RPC_H
#define LEASH_RPC_H

#include <stddef.h>

struct control_daemon;
struct rpc;
struct config;

/* supervisord's fault codes (xmlrpc.py, class Faults). */
enum rpc_fault {
	FAULT_UNKNOWN_METHOD = 1,
	FAULT_INCORRECT_PARAMETERS = 2,
	FAULT_BAD_ARGUMENTS = 3,
	FAULT_SIGNATURE_UNSUPPORTED = 4,
	FAULT_SHUTDOWN_STATE = 6,
	FAULT_BAD_NAME = 10,
	FAULT_BAD_SIGNAL = 11,
	FAULT_NO_FILE = 20,
	FAULT_NOT_EXECUTABLE = 21,
	FAULT_FAILED = 30,
	FAULT_ABNORMAL_TERMINATION = 40,
	FAULT_SPAWN_ERROR = 50,
	FAULT_ALREADY_STARTED = 60,
	FAULT_NOT_RUNNING = 70,
	FAULT_SUCCESS = 80,
	FAULT_ALREADY_ADDED = 90,
	FAULT_STILL_RUNNING = 91,
	FAULT_CANT_REREAD = 92,
};

#define RPC_API_VERSION "3.0"

/* Opens the servers the configuration asks for (none: NULL and no
 * error).  -1 with a reason in err when one cannot be opened. */
int rpc_open(const struct control_daemon *, const struct config *,
    struct rpc **out, char *err, size_t errlen);
/* After worker state changes: answers the calls that wait. */
void rpc_update(struct rpc *);
void rpc_close(struct rpc *);

#endif
