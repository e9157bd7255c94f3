/*
 * leash's configuration: an INI file read with inih.  [leashd] holds the
 * daemon's own settings, [program:NAME] one pool of workers each, with
 * supervisord's key names and meanings.  Loading never has side effects:
 * it returns a complete, validated struct config or a list of errors, so a
 * bad reload leaves the running configuration untouched.
 */
#ifndef LEASH_CONFIG_H
#define LEASH_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "memory.h"

#define CONFIG_EX_CONFIG 78	/* sysexits.h EX_CONFIG */

enum autorestart {
	AUTORESTART_FALSE,
	AUTORESTART_TRUE,
	AUTORESTART_UNEXPECTED,
};

/* Where a worker's stdout or stderr goes. */
/* When a started process counts as ready (RUNNING, or a replacement
 * that may take over). */
enum ready_kind {
	READY_STARTSECS,	/* alive for startsecs */
	READY_NOTIFY,		/* sent READY=1 on NOTIFY_SOCKET */
};

struct logfile_config {
	char *path;		/* NULL for NONE; "AUTO" resolved already */
	bool journal;		/* to the journal; path is the fallback */
	uint64_t maxbytes;	/* rotate when the file would grow past this; 0: never */
	long backups;		/* rotated files kept: path.1 ... path.N */
	bool strip_ansi;	/* [supervisord] strip_ansi */
};

/* One process of a program, with every %(...) expanded. */
struct process_config {
	long num;		/* %(process_num)d */
	char *name;		/* process_name, expanded */
	char **argv;
	char **env;		/* "KEY=value" from environment=, expanded */
	char *directory;	/* NULL: leashd's own */
	struct logfile_config out, err;
};

struct program_config {
	char *name;
	char *group;		/* its [group:NAME], or its own name */
	long group_priority;	/* the group's priority, or its own */
	char *file;		/* where the [program:NAME] section starts */
	int line;

	/* As written, for display and comparison. */
	char *command;
	char *process_name;
	char *environment;
	char *directory;
	char *stdout_logfile, *stderr_logfile;

	long numprocs, numprocs_start, priority;
	bool autostart;
	enum autorestart autorestart;
	uint64_t exitcodes[4];	/* bit set of expected exit codes */
	double startsecs;
	long startretries;
	int stopsignal;
	double stopwaitsecs;
	bool stopasgroup, killasgroup;
	char *user;		/* NULL: leashd's own */
	int umask;		/* -1: inherit leashd's */
	bool redirect_stderr;
	uint64_t stdout_logfile_maxbytes, stderr_logfile_maxbytes;
	long stdout_logfile_backups, stderr_logfile_backups;

	/* Memory and drain-then-replace (0: no limit). */
	uint64_t memory_limit, memory_max;
	enum memory_source memory_source;
	double memory_interval;
	long memory_samples;
	int drain_signal;
	double drain_timeout;
	long max_replacing;
	enum ready_kind ready;
	double ready_timeout;	/* ready = notify: READY=1 within this */
	double watchdog_sec;	/* 0: no watchdog */
	char *sockets;		/* as written */
	char *serverurl;	/* SUPERVISOR_SERVER_URL, NULL: no server */
	/* supervisord's events: PROCESS_COMMUNICATION between its markers
	 * (0: off), PROCESS_LOG for every read. */
	uint64_t stdout_capture_maxbytes, stderr_capture_maxbytes;
	bool stdout_events_enabled, stderr_events_enabled;
	bool stdout_syslog, stderr_syslog;	/* to the journal (syslog) */
	/* [eventlistener:NAME]: a pool of listeners. */
	bool listener;
	uint64_t events;	/* bit set of enum event_type */
	long buffer_size;	/* events kept for the pool, at most */
	char *result_handler;	/* only supervisord's default */
	char **socket_names;	/* [socket:NAME]s passed as fds 3... */
	bool fcgi;		/* [fcgi-program:NAME]: its socket on stdin */

	struct process_config *procs;	/* numprocs of them */
};

/* A listening socket bound by leashd and shared by workers. */
struct socket_config {
	char *name;
	char *file;
	int line;
	char *listen;		/* tcp:HOST:PORT, tcp6:[ADDR]:PORT, unix:PATH */
	long backlog;
	int mode;		/* unix: file mode, -1 for the default */
	char *owner;		/* unix: USER[:GROUP], or NULL */
};

/* [unix_http_server] or [inet_http_server]: supervisord's XML-RPC (rpc.h).
 * sock.listen is unix:PATH or tcp:HOST:PORT; sock.name the section's. */
struct rpc_server_config {
	struct socket_config sock;
	char *username, *password;	/* both or neither */
};

/*
 * [leashd] and [supervisord] hold the same keys: leash's own and
 * supervisord's, with supervisord's meaning.
 */
struct config {
	char *file;		/* the main file, as given */
	char *control_socket;	/* NULL: the default path */
	char *control_group;
	char *childlogdir;
	int loglevel;
	bool use_cgroups;	/* one cgroup per worker when possible */
	char *pidfile;		/* NULL: none written */
	char *logfile;		/* leashd's own log besides stderr; NULL: none */
	uint64_t logfile_maxbytes;
	long logfile_backups;
	char *identifier;	/* supervisor.getIdentification */
	int umask;		/* -1: inherited */
	char *user;		/* run as this user once started; NULL: as is */
	char *directory;	/* chdir here when going to the background */
	char **environment;	/* "KEY=value" for every worker, or NULL */
	long minfds, minprocs;	/* RLIMIT_NOFILE and RLIMIT_NPROC at least */
	bool nodaemon;		/* supervisord's: stay in front */
	bool silent;		/* no log lines on stderr */
	bool strip_ansi;	/* ANSI escapes removed from log files */
	struct program_config **programs;	/* sorted by priority, then name */
	size_t nprograms;
	struct socket_config **sockets;
	size_t nsockets;
	struct rpc_server_config *rpc[2];	/* unix, then inet */
	size_t nrpc;
	/* metrics = tcp:HOST:PORT or unix:PATH: GET /metrics only, no
	 * password (username NULL); NULL: not served on a socket of its own */
	struct rpc_server_config *metrics;
};

/* Messages from a load: "file:line: [section] key: reason". */
struct config_diag {
	char **errors, **warnings;
	size_t nerrors, nwarnings, cap_e, cap_w;
};

/*
 * Reads path and everything it includes.  Returns a config when there was
 * no error (warnings may still be present), else NULL.  diag is filled in
 * either way; free it with config_diag_free.
 */
struct config *config_load(const char *path, struct config_diag *diag);
/* The same, with settings ("key=value", from leashd's command line) read
 * as a last [supervisord] section. */
struct config *config_load_settings(const char *path, char *const *settings,
    struct config_diag *diag);
void config_free(struct config *);
void program_config_free(struct program_config *);
void config_diag_free(struct config_diag *);

const struct program_config *config_find_program(const struct config *,
    const char *name);
/* The nearer of memory_limit and memory_max, 0 when neither is set. */
uint64_t program_config_nearest_limit(const struct program_config *);
/* True when a running program need not be restarted to move from a to b. */
bool program_config_equal(const struct program_config *a,
    const struct program_config *b);
/*
 * The control socket's path: control_socket if set, else
 * $RUNTIME_DIRECTORY/leash.sock, /run/leash/leash.sock as root,
 * $XDG_RUNTIME_DIR/leash/leash.sock, or /tmp/leash-UID/leash.sock.
 * c may be NULL.  Returns a new string.
 */
char *config_control_socket(const struct config *c);
const struct socket_config *config_find_socket(const struct config *,
    const char *name);
bool socket_config_equal(const struct socket_config *,
    const struct socket_config *);
void socket_config_free(struct socket_config *);
bool rpc_server_config_equal(const struct rpc_server_config *,
    const struct rpc_server_config *);
/*
 * True when moving a running program from a to b needs its processes
 * restarted; when only keys such as memory_limit, startretries or
 * stopwaitsecs differ, b can be applied to the running processes.
 */
bool program_config_needs_restart(const struct program_config *a,
    const struct program_config *b);
int exitcode_expected(const struct program_config *, int code);
/* supervisord's order: groups by priority (then name), a group's programs
 * by theirs (then name). */
int program_config_order(const struct program_config *,
    const struct program_config *);

#endif
