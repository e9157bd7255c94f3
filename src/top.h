/*
 * leashctl top's screen, rendered in leashd (the control socket's "top
 * COLUMNS ROWS"), so that every client shows the same facts: leashd's own
 * cost, restarts by reason, then one line per process, nearest its limit
 * first -- a memory bar against the limit, the growth and the time to the
 * limit at that pace, REPLACING while a replacement starts and DRAINING
 * while an old process finishes.  leashctl only paints it.
 */
#ifndef LEASH_TOP_H
#define LEASH_TOP_H

struct control_daemon;
struct strv;

#define TOP_COLUMNS_MIN 72
#define TOP_ROWS_MIN 8

/* leashd's CPU time at a client's last screen, for the share since. */
struct top_cpu {
	double cpu, at;		/* seconds; at 0: no screen yet */
};

/* Exactly rows lines (cols bytes at most, no newline) into lines. */
void top_render(const struct control_daemon *, struct top_cpu *, int cols,
    int rows, struct strv *lines);

#endif
