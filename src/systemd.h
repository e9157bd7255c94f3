/*
 * leashd's reports to systemd (sd_notify): READY=1 once the autostart
 * programs are up, a rate-limited STATUS= summary, RELOADING=1/READY=1
 * around a reload, STOPPING=1, and WATCHDOG=1 at half of WATCHDOG_USEC.
 * Nothing is sent when leashd was not started with NOTIFY_SOCKET.
 */
#ifndef LEASH_SYSTEMD_H
#define LEASH_SYSTEMD_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

struct pool;
struct supervisor;

struct systemd {
	struct supervisor *sv;
	const struct pool *pool;
	bool enabled;
	bool stopping;			/* STOPPING=1 was sent: no more */
	bool ready_sent;
	char *status;			/* last STATUS= sent */
	ev_tstamp status_at;
	ev_timer status_timer;		/* a STATUS= held back by the rate limit */
	ev_timer watchdog;
	/* Memory restarts per minute over the last hour, for STATUS=. */
	uint32_t minutes[60];
	int64_t minute;			/* the minute minutes[minute % 60] is */
	unsigned long memory_seen;	/* sv->memory_restarts counted so far */
};

void systemd_init(struct systemd *, struct supervisor *, const struct pool *);
void systemd_close(struct systemd *);
/* After any change: READY=1 once up, STATUS= when it changed. */
void systemd_update(struct systemd *);
void systemd_reloading(struct systemd *);
void systemd_reloaded(struct systemd *);
void systemd_stopping(struct systemd *);

#endif
