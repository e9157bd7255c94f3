/*
 * The control protocol's command table (protocol.h): shared by leashd,
 * which dispatches from it, and leashctl, which prints help from it.
 */
#include <string.h>

#include "protocol.h"

const struct protocol_command protocol_commands[PROTOCOL_NCOMMANDS] = {
	[PROTOCOL_CMD_STATUS] = { "status", "status [NAME...]", "show processes (exit 3 if any is not RUNNING)", 0, -1 },
	[PROTOCOL_CMD_START] = { "start", "start NAME...", "start processes and wait until RUNNING", 1, -1 },
	[PROTOCOL_CMD_STOP] = { "stop", "stop NAME...", "stop processes and wait until they are gone", 1, -1 },
	[PROTOCOL_CMD_RESTART] = { "restart", "restart NAME...", "stop, then start processes", 1, -1 },
	[PROTOCOL_CMD_SIGNAL] = { "signal", "signal SIG NAME...", "send a signal to processes", 2, -1 },
	[PROTOCOL_CMD_PID] = { "pid", "pid [NAME...]", "leashd's pid, or the processes' pids", 0, -1 },
	[PROTOCOL_CMD_TAIL] = { "tail", "tail [-f] [-BYTES] NAME [stdout|stderr]", "show (and follow) a process's output", 1, 4 },
	[PROTOCOL_CMD_REREAD] = { "reread", "reread", "show what update would change", 0, 0 },
	[PROTOCOL_CMD_UPDATE] = { "update", "update", "apply the configuration file's changes", 0, 0 },
	[PROTOCOL_CMD_RELOAD] = { "reload", "reload [NAME...]", "restart processes one at a time (all by default)", 0, -1 },
	[PROTOCOL_CMD_AVAIL] = { "avail", "avail", "list configured programs", 0, 0 },
	[PROTOCOL_CMD_SHUTDOWN] = { "shutdown", "shutdown", "stop every process and exit leashd", 0, 0 },
	[PROTOCOL_CMD_UPGRADE] = { "upgrade", "upgrade", "execute leashd's binary again in place, keeping every process", 0, 0 },
	[PROTOCOL_CMD_TOP] = { "top", "top", "a live view: memory against limits, replacements, leashd's cost (q quits)", 0, 2 },
	[PROTOCOL_CMD_VERSION] = { "version", "version", "leashd's version", 0, 0 },
	[PROTOCOL_CMD_HELP] = { "help", "help", "this list", 0, 0 },
};

const struct protocol_command *
protocol_command_find(const char *name)
{
	for (unsigned i = 0; i < PROTOCOL_NCOMMANDS; i++)
		if (strcmp(protocol_commands[i].name, name) == 0)
			return &protocol_commands[i];
	return NULL;
}
