#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "program.h"
#include "supervisor.h"
#include "systemd.h"
#include "util.h"

#define STATUS_MIN_INTERVAL 1.0		/* seconds between STATUS= updates */

static void
watchdog_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

static void
status_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct systemd *s = container_of(t, struct systemd, status_timer);

	(void)loop;
	(void)revents;
	systemd_update(s);
}

void
systemd_init(struct systemd *s, struct supervisor *sv,
    const struct pool *pool)
{
	uint64_t usec = 0;

	memset(s, 0, sizeof(*s));
	s->sv = sv;
	s->pool = pool;
	ev_timer_init(&s->status_timer, status_timer_cb, 0., 0.);
	ev_timer_init(&s->watchdog, watchdog_cb, 0., 0.);
	s->enabled = getenv("NOTIFY_SOCKET") != NULL;
	if (!s->enabled)
		return;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		ev_timer_set(&s->watchdog, 0., usec / 2e6);
		ev_timer_again(sv->loop, &s->watchdog);
		log_info("systemd", "watchdog: WATCHDOG=1 every %.3f s",
		    usec / 2e6);
	}
}

void
systemd_close(struct systemd *s)
{
	ev_timer_stop(s->sv->loop, &s->watchdog);
	ev_timer_stop(s->sv->loop, &s->status_timer);
	free(s->status);
	s->status = NULL;
}

static int64_t
minute_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec / 60;
}

/* Zeroes the buckets of minutes that passed since the last look. */
static void
minutes_advance(struct systemd *s)
{
	int64_t now = minute_now();

	if (now - s->minute >= 60)
		memset(s->minutes, 0, sizeof(s->minutes));
	else
		for (int64_t m = s->minute + 1; m <= now; m++)
			s->minutes[m % 60] = 0;
	s->minute = now;
}

/* Memory restarts since the last look go to this minute's bucket. */
static void
count_memory_restarts(struct systemd *s)
{
	minutes_advance(s);
	s->minutes[s->minute % 60] += s->sv->memory_restarts - s->memory_seen;
	s->memory_seen = s->sv->memory_restarts;
}

/* "12 running, 1 replacing, 3 memory restarts in the last hour". */
static char *
summary(struct systemd *s, bool *up)
{
	const struct pool *pool = s->pool;
	size_t running = 0, replacing = 0, fatal = 0, starting = 0;
	unsigned memory = 0;

	count_memory_restarts(s);
	for (int i = 0; i < 60; i++)
		memory += s->minutes[i];
	*up = true;
	for (size_t i = 0; i < pool->n; i++) {
		struct program *p = pool->v[i];
		for (size_t j = 0; j < p->nworkers; j++) {
			struct worker *w = &p->workers[j];
			running += w->state == WORKER_RUNNING;
			fatal += w->state == WORKER_FATAL;
			replacing += worker_replacing(w);
			if (p->cfg->autostart && w->want == WANT_UP &&
			    w->state != WORKER_RUNNING && w->state != WORKER_FATAL) {
				*up = false;
				starting++;
			}
		}
	}
	struct buf b = { 0 };
	buf_printf(&b, "%zu running, %zu replacing, %u memory restart%s in the "
	    "last hour", running, replacing, memory, memory == 1 ? "" : "s");
	if (starting > 0)
		buf_printf(&b, ", %zu starting", starting);
	if (fatal > 0)
		buf_printf(&b, ", %zu fatal", fatal);
	return buf_take(&b);
}

void
systemd_update(struct systemd *s)
{
	ev_tstamp now;
	char *text;
	bool up;

	if (!s->enabled || s->stopping)
		return;
	text = summary(s, &up);
	if (!s->ready_sent && up) {
		sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%d", text,
		    (int)s->sv->self);
		log_info("systemd", "READY=1");
		s->ready_sent = true;
		free(s->status);
		s->status = text;
		s->status_at = mono_now();
		return;
	}
	if (s->status != NULL && strcmp(text, s->status) == 0) {
		free(text);
		return;
	}
	now = mono_now();
	if (now - s->status_at < STATUS_MIN_INTERVAL) {
		if (!ev_is_active(&s->status_timer)) {
			ev_timer_set(&s->status_timer,
			    STATUS_MIN_INTERVAL - (now - s->status_at), 0.);
			ev_timer_start(s->sv->loop, &s->status_timer);
		}
		free(text);
		return;
	}
	sd_notifyf(0, "STATUS=%s", text);
	free(s->status);
	s->status = text;
	s->status_at = now;
}

void
systemd_reloading(struct systemd *s)
{
	struct timespec ts;

	/* Before READY=1, systemd still waits for the start to complete. */
	if (!s->enabled || !s->ready_sent)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000);
}

void
systemd_reloaded(struct systemd *s)
{
	if (s->enabled && s->ready_sent)
		sd_notify(0, "READY=1");
}

void
systemd_stopping(struct systemd *s)
{
	s->stopping = true;
	if (s->enabled)
		sd_notify(0, "STOPPING=1");
}
