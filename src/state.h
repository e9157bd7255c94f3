/*
 * leashd's state file: what a successor needs to take over the processes
 * of a leashd that is gone (killed, crashed) or that is itself (an
 * upgrade executes leashd again in place).  Written atomically beside the
 * control socket whenever the set of processes changes; read once, at
 * start.  The file is outside input to the reader (truncated, stale,
 * edited): every line is checked, and a bad line is skipped, never fatal.
 *
 *   leash-state 1
 *   leashd PID STARTTIME
 *   socket NAME INODE FD LISTEN
 *   process PID PGID STARTTIME ROLE STARTED OUT ERR CMDHASH TOKEN CGROUP NAME
 *   carry KEY VALUE
 *
 * STARTTIME is the kernel's (field 22 of /proc/PID/stat, in clock ticks
 * since boot), so that a reused pid is not taken for the process; FD, OUT
 * and ERR are descriptors carried across an upgrade's exec (-1 after a
 * crash); CGROUP is "-" when none; NAME is "program:process".  carry
 * lines are an upgrade's only: leashd's own sockets (KEY as sockets.h's
 * registry has it, VALUE the descriptor) and the client waiting for the
 * upgrade's answer.
 */
#ifndef LEASH_STATE_H
#define LEASH_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define STATE_VERSION 1

struct state_socket {
	char *name;
	char *listen;			/* as [socket:NAME] listen has it */
	unsigned long inode;
	int fd;
};

struct state_process {
	char *fullname;
	pid_t pid, pgid;
	unsigned long long starttime;
	int role;			/* enum instance_role */
	double started;			/* its start, mono_now()'s clock */
	int out_fd, err_fd;
	uint64_t cmdhash;		/* state_command_hash of its argv */
	char token[48];
	char *cgroup;			/* NULL: none */
};

struct state {
	pid_t leashd;
	unsigned long long starttime;
	struct state_socket *sockets;
	size_t nsockets;
	struct state_process *procs;
	size_t nprocs;
	struct strv carry;		/* KEY, VALUE, KEY, VALUE ... */
};

/* The text of the file. */
char *state_format(const struct state *);
/*
 * Reads text into st.  Returns 0, or -1 with the reason in err when it is
 * no state file at all (no header, another version, no leashd line);
 * lines that do not parse are skipped and counted in *skipped.
 */
int state_parse(const char *text, size_t len, struct state *st,
    size_t *skipped, char *err, size_t errlen);
void state_free(struct state *);
void state_add_socket(struct state *, const char *name, const char *listen,
    unsigned long inode, int fd);
struct state_process *state_add_process(struct state *);
void state_add_carry(struct state *, const char *key, const char *value);
/* The value of a carry line, or NULL. */
const char *state_carry(const struct state *, const char *key);

/* /proc/PID/stat's start time, 0 when there is no such process. */
unsigned long long state_starttime(pid_t);
/* Whether pid is still the process that started at starttime. */
bool state_same_process(pid_t, unsigned long long starttime);
/* FNV-1a of the argv strings, so a changed command is not adopted. */
uint64_t state_command_hash(char *const *argv);
/* The inode of a socket fd (what /proc/PID/fd/N links to), 0: none. */
unsigned long state_socket_inode(int fd);

#endif
