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

#endif
