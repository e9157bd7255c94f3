/*
 * The control protocol between leashctl (or socat, or a script) and leashd,
 * all of it.  A UNIX stream socket; text, one request per line, any number
 * of requests per connection, answered in order.
 *
 * Request:   [json ]COMMAND[ ARG]...\n
 *            Words are separated by single spaces; at most
 *            PROTOCOL_REQUEST_MAX bytes including the newline, printable
 *            text only.  With the "json" prefix the reply body is one JSON
 *            document, otherwise text for people.
 *
 * Reply:     zero or more body lines, then the line
 *              %end CODE\n
 *            CODE is what leashctl exits with (the PROTOCOL_EXIT_* values).
 *            A body line that would start with '%' is sent with one more
 *            '%' in front; the reader removes it.
 *            Raw output (tail) is sent as
 *              %data N\n  followed by exactly N bytes,
 *            and "tail -f" keeps sending %data until the client goes away.
 *
 * A malformed request (too long, not text) gets "%end 2" with a reason and
 * the connection is closed; a peer that is not allowed gets "%end 4".
 *
 * Commands (see control.c's table, which also makes "help"):
 *   status [NAME...]          one line per process; JSON: "processes"
 *   start|stop|restart NAME...   wait for the outcome, one line per process
 *   signal SIG NAME...
 *   pid [NAME...]             leashd's pid, or the processes' pids
 *   tail [-f] [-BYTES] NAME [stdout|stderr]
 *   reread                    what "update" would change
 *   update                    apply the configuration file's changes
 *   reload [NAME...]          rolling restart of each worker, one at a time
 *   avail                     configured programs
 *   shutdown                  stop every worker and exit
 *   upgrade                   execute leashd's binary (new or not) again
 *                             in place, every process kept; answered by
 *                             the new image once it serves
 *   top [COLUMNS ROWS]        one screen of leashctl top (text only)
 *   version                   leashd's version and this protocol's
 *   help                      this list
 * NAME is "all", "GROUP:*", "GROUP:PROCESS", a program name, or a
 * process name.
 */
#ifndef LEASH_PROTOCOL_H
#define LEASH_PROTOCOL_H

#define PROTOCOL_VERSION	1
#define PROTOCOL_REQUEST_MAX	4096		/* bytes, with the newline */
#define PROTOCOL_ARGS_MAX	256		/* words in one request */
#define PROTOCOL_REPLY_MAX	(16 << 20)	/* queued bytes per client */
#define PROTOCOL_CLIENTS_MAX	512
#define PROTOCOL_IDLE_TIMEOUT	60.0		/* seconds without a request */
#define PROTOCOL_TAIL_DEFAULT	1600		/* bytes, as supervisorctl */

#define PROTOCOL_END		"%end "
#define PROTOCOL_DATA		"%data "

/* Reply codes, which are leashctl's exit statuses (supervisorctl's). */
enum protocol_exit {
	PROTOCOL_EXIT_OK = 0,
	PROTOCOL_EXIT_ERROR = 1,
	PROTOCOL_EXIT_USAGE = 2,
	PROTOCOL_EXIT_NOT_RUNNING = 3,	/* status: a process is not RUNNING */
	PROTOCOL_EXIT_DENIED = 4,	/* permission denied, cannot connect */
	PROTOCOL_EXIT_NO_LEASHD = 7,	/* leashd is not running */
};

/* The commands, in the order help lists them. */
enum protocol_command_id {
	PROTOCOL_CMD_STATUS,
	PROTOCOL_CMD_START,
	PROTOCOL_CMD_STOP,
	PROTOCOL_CMD_RESTART,
	PROTOCOL_CMD_SIGNAL,
	PROTOCOL_CMD_PID,
	PROTOCOL_CMD_TAIL,
	PROTOCOL_CMD_REREAD,
	PROTOCOL_CMD_UPDATE,
	PROTOCOL_CMD_RELOAD,
	PROTOCOL_CMD_AVAIL,
	PROTOCOL_CMD_SHUTDOWN,
	PROTOCOL_CMD_UPGRADE,
	PROTOCOL_CMD_TOP,
	PROTOCOL_CMD_VERSION,
	PROTOCOL_CMD_HELP,
	PROTOCOL_NCOMMANDS
};

/* A command's words and help: dispatch in leashd (control.c), help and
 * usage in leashctl, from the one table (commands.c). */
struct protocol_command {
	const char *name;
	const char *usage;
	const char *help;
	int min_args, max_args;		/* -1: any number */
};
extern const struct protocol_command protocol_commands[PROTOCOL_NCOMMANDS];
const struct protocol_command *protocol_command_find(const char *);

#endif
