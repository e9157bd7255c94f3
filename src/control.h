/*
 * The control socket (protocol.h): leashd's side.  Non-blocking, capped
 * per-client buffers; a bad client is answered or dropped, never fatal.
 */
#ifndef LEASH_CONTROL_H
#define LEASH_CONTROL_H

#include <stdbool.h>

struct leashd;
struct control;
struct output;

/*
 * Binds path (replacing a stale socket; refusing, with a message in err,
 * when another leashd answers on it) and starts accepting.
 */
struct control *control_listen(struct leashd *, const char *path,
    const char *group, char *err, size_t errlen);
void control_close(struct control *);
/* Called after worker state changes: completes requests that wait. */
void control_update(struct control *);
/* Frees closed clients; called from the loop, outside any callback. */
void control_collect(struct control *);

struct control_client;

/* The command table: dispatch in leashd, help and usage in leashctl. */
struct control_command {
	const char *name;
	const char *usage;
	const char *help;
	int min_args, max_args;		/* -1: any number */
	/* Returns a protocol_exit code, or -1 when the reply comes later. */
	int (*handler)(struct control_client *, int argc, char **argv);
};
extern const struct control_command control_commands[];
extern const unsigned control_ncommands;
const struct control_command *control_command_find(const char *);

#endif
