/*
 * supervisord's event listener protocol (its events.py, dispatchers.py
 * and process.py's EventListenerPool, as documented in "Events"):
 *
 *   listener: READY\n
 *   leashd:   ver:3.0 server:ID serial:N pool:NAME poolserial:N
 *             eventname:TYPE len:N\n  then N bytes of payload
 *   listener: RESULT 2\nOK   (or RESULT 4\nFAIL: sent again later)
 *
 * A listener that writes anything else is UNKNOWN until it exits, as in
 * supervisord.  Events are shared by the pools that keep them (counted
 * references); a pool keeps at most buffer_size, dropping the oldest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "instance.h"
#include "log.h"
#include "output.h"
#include "program.h"
#include "supervisor.h"
#include "worker.h"

#define CAPTURE_BEGIN "<!--XSUPERVISOR:BEGIN-->"
#define CAPTURE_END "<!--XSUPERVISOR:END-->"
#define LISTENER_PIPE_SIZE (256 * 1024)

struct event {
	unsigned refs;
	unsigned long serial;
	enum event_type type;
	size_t len;
	char payload[];
};

struct queued {
	struct event *ev;
	unsigned long poolserial;
};

struct event_pool {
	struct events *bus;
	struct program *prog;
	unsigned long serial;
	struct queued *q;		/* oldest first */
	size_t n;
	struct event_pool *next;
};

enum listener_state {
	LISTENER_ACKNOWLEDGED,		/* started, or answered: READY next */
	LISTENER_READY,
	LISTENER_BUSY,			/* sent an event, RESULT next */
	LISTENER_UNKNOWN,		/* broke the protocol */
};

struct event_listener {
	struct events *bus;
	struct instance *in;
	enum listener_state state;
	struct queued busy;		/* the event it was sent */
	struct event_pool *pool;	/* ... from this pool */
	struct buf parse;		/* stdout not yet understood */
	long resultlen;			/* -1: the RESULT line is next */
	int fd;				/* its stdin */
	struct buf out;			/* not yet written to it */
	ev_io writable;
};

struct events {
	struct supervisor *sv;
	struct event_pool *pools;
	unsigned long serial;
	char *identifier;
	ev_periodic tick;
	long long last_tick[3];		/* TICK_5, _60, _3600: the period */
};

static const int tick_periods[3] = { 5, 60, 3600 };

static void
event_unref(struct event *ev)
{
	if (ev != NULL && --ev->refs == 0)
		free(ev);
}

bool
events_wanted(const struct events *bus, enum event_type t)
{
	if (bus == NULL)
		return false;
	for (const struct event_pool *p = bus->pools; p != NULL; p = p->next)
		if (p->prog->cfg->events & EVENT_BIT(t))
			return true;
	return false;
}

/* Keeps ev at the tail (or, sent back, the head) of the pool. */
static void
pool_keep(struct event_pool *p, struct event *ev, unsigned long poolserial,
    bool head)
{
	long max = p->prog->cfg->buffer_size;

	if ((long)p->n >= max && p->n > 0) {
		log_warnx("events", "pool %s event buffer overflowed, discarding "
		    "event %lu", p->prog->cfg->name, p->q[0].ev->serial);
		event_unref(p->q[0].ev);
		memmove(p->q, p->q + 1, --p->n * sizeof(*p->q));
	}
	p->q = xrealloc(p->q, (p->n + 1) * sizeof(*p->q));
	if (head) {
		memmove(p->q + 1, p->q, p->n * sizeof(*p->q));
		p->q[0] = (struct queued){ ev, poolserial };
	} else
		p->q[p->n] = (struct queued){ ev, poolserial };
	p->n++;
	ev->refs++;
}

static void listener_flush(struct event_listener *);

/* The envelope to the first READY listener of the pool that runs. */
static bool
pool_send(struct event_pool *p)
{
	struct program *prog = p->prog;
	struct event_listener *l;
	struct queued q;

	for (size_t i = 0; i < prog->nworkers; i++) {
		struct worker *w = &prog->workers[i];
		if (w->state != WORKER_RUNNING || w->main == NULL ||
		    (l = w->main->listener) == NULL || l->state != LISTENER_READY)
			continue;
		q = p->q[0];
		memmove(p->q, p->q + 1, --p->n * sizeof(*p->q));
		buf_printf(&l->out, "ver:3.0 server:%s serial:%lu pool:%s "
		    "poolserial:%lu eventname:%s len:%zu\n", p->bus->identifier,
		    q.ev->serial, prog->cfg->name, q.poolserial,
		    event_type_name(q.ev->type), q.ev->len);
		buf_append(&l->out, q.ev->payload, q.ev->len);
		l->state = LISTENER_BUSY;
		l->busy = q;
		l->pool = p;
		log_debug("events", "event %lu sent to listener %s",
		    q.ev->serial, w->fullname);
		listener_flush(l);
		return true;
	}
	return false;
}

void
events_dispatch(struct events *bus)
{
	if (bus == NULL)
		return;
	for (struct event_pool *p = bus->pools; p != NULL; p = p->next)
		while (p->n > 0 && pool_send(p))
			;
}

static void
emit(struct events *bus, enum event_type t, const char *payload, size_t len)
{
	struct event *ev = xcalloc(1, sizeof(*ev) + len + 1);

	ev->serial = ++bus->serial;
	ev->type = t;
	ev->len = len;
	memcpy(ev->payload, payload, len);
	ev->refs = 1;
	for (struct event_pool *p = bus->pools; p != NULL; p = p->next)
		if (p->prog->cfg->events & EVENT_BIT(t))
			pool_keep(p, ev, ++p->serial, false);
	event_unref(ev);
	events_dispatch(bus);
}

void
events_emit(struct events *bus, enum event_type t, const char *fmt, ...)
{
	va_list ap;
	char *payload;

	if (!events_wanted(bus, t))
		return;
	va_start(ap, fmt);
	payload = xvasprintf(fmt, ap);
	va_end(ap);
	emit(bus, t, payload, strlen(payload));
	free(payload);
}

/* Ticks on the wall clock's multiples of 5, 60 and 3600 seconds, the
 * first once a period has passed, as supervisord's. */
static void
tick_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct events *bus = w->data;
	long long now = (long long)ev_now(loop);

	(void)revents;
	for (int i = 0; i < 3; i++) {
		long long period = now / tick_periods[i] * tick_periods[i];
		if (period != bus->last_tick[i]) {
			bus->last_tick[i] = period;
			events_emit(bus, EVENT_TICK_5 + i, "when:%lld", now);
		}
	}
}

static void
ticks_update(struct events *bus)
{
	bool want = events_wanted(bus, EVENT_TICK_5) ||
	    events_wanted(bus, EVENT_TICK_60) ||
	    events_wanted(bus, EVENT_TICK_3600);
	long long now = (long long)ev_now(bus->sv->loop);

	if (want && !ev_is_active(&bus->tick)) {
		for (int i = 0; i < 3; i++)
			bus->last_tick[i] = now / tick_periods[i] * tick_periods[i];
		ev_periodic_start(bus->sv->loop, &bus->tick);
	} else if (!want && ev_is_active(&bus->tick))
		ev_periodic_stop(bus->sv->loop, &bus->tick);
}

struct events *
events_new(struct supervisor *sv)
{
	struct events *bus = xcalloc(1, sizeof(*bus));

	bus->sv = sv;
	bus->identifier = xstrdup("supervisor");
	ev_periodic_init(&bus->tick, tick_cb, 0., 5., NULL);
	bus->tick.data = bus;
	return bus;
}

void
events_free(struct events *bus)
{
	if (bus == NULL)
		return;
	ev_periodic_stop(bus->sv->loop, &bus->tick);
	free(bus->identifier);
	free(bus);
}

void
events_set_identifier(struct events *bus, const char *id)
{
	if (bus == NULL)
		return;
	free(bus->identifier);
	bus->identifier = xstrdup(id);
}

struct event_pool *
event_pool_new(struct events *bus, struct program *prog)
{
	struct event_pool *p;

	if (bus == NULL)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->bus = bus;
	p->prog = prog;
	p->next = bus->pools;
	bus->pools = p;
	ticks_update(bus);
	return p;
}

void
event_pool_free(struct event_pool *p)
{
	struct event_pool **pp;

	if (p == NULL)
		return;
	for (pp = &p->bus->pools; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	for (size_t i = 0; i < p->n; i++)
		event_unref(p->q[i].ev);
	free(p->q);
	ticks_update(p->bus);
	free(p);
}

/* Listeners. */

static void
writable_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct event_listener *l = container_of(io, struct event_listener,
	    writable);

	(void)loop;
	(void)revents;
	listener_flush(l);
}

/* Writes what it can; the rest when the pipe has room. */
static void
listener_flush(struct event_listener *l)
{
	ssize_t w;

	while (l->out.n > 0) {
		w = write(l->fd, l->out.p, l->out.n);
		if (w > 0) {
			buf_consume(&l->out, w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		/* It closed its stdin: it will be seen to exit. */
		buf_reset(&l->out);
		break;
	}
	if (l->out.n > 0 && !ev_is_active(&l->writable))
		ev_io_start(l->bus->sv->loop, &l->writable);
	else if (l->out.n == 0 && ev_is_active(&l->writable))
		ev_io_stop(l->bus->sv->loop, &l->writable);
}

struct event_listener *
event_listener_new(struct events *bus, struct instance *in, int stdin_fd)
{
	struct event_listener *l = xcalloc(1, sizeof(*l));

	l->bus = bus;
	l->in = in;
	l->state = LISTENER_ACKNOWLEDGED;
	l->resultlen = -1;
	l->fd = stdin_fd;
	fcntl(stdin_fd, F_SETFL, fcntl(stdin_fd, F_GETFL) | O_NONBLOCK);
	/* An event is written whole while the listener reads it. */
	fcntl(stdin_fd, F_SETPIPE_SZ, LISTENER_PIPE_SIZE);
	ev_io_init(&l->writable, writable_cb, stdin_fd, EV_WRITE);
	return l;
}

/* The event it holds goes back to the head of its pool. */
static void
listener_give_back(struct event_listener *l)
{
	if (l->busy.ev == NULL)
		return;
	if (l->pool != NULL)
		pool_keep(l->pool, l->busy.ev, l->busy.poolserial, true);
	event_unref(l->busy.ev);
	l->busy.ev = NULL;
	l->pool = NULL;
}

void
event_listener_free(struct event_listener *l)
{
	if (l == NULL)
		return;
	listener_give_back(l);
	ev_io_stop(l->bus->sv->loop, &l->writable);
	close(l->fd);
	buf_reset(&l->parse);
	buf_reset(&l->out);
	free(l);
	/* (no dispatch here: the caller is tearing the instance down) */
}

static void
listener_unknown(struct event_listener *l, const char *why)
{
	log_warnx("events", "%s: %s; the listener gets no more events",
	    l->in->spec->fullname, why);
	l->state = LISTENER_UNKNOWN;
	listener_give_back(l);
	buf_reset(&l->parse);
}

/* What the listener wrote, as far as it goes. */
static void
listener_parse(struct event_listener *l)
{
	static const char ready[] = "READY\n", result[] = "RESULT ";
	char *nl, *end;
	long len;

	while (l->parse.n > 0) {
		switch (l->state) {
		case LISTENER_UNKNOWN:
			buf_reset(&l->parse);
			return;
		case LISTENER_ACKNOWLEDGED:
			if (l->parse.n < sizeof(ready) - 1) {
				if (memcmp(l->parse.p, ready, l->parse.n) != 0)
					listener_unknown(l, "wrote something "
					    "other than READY");
				return;
			}
			if (memcmp(l->parse.p, ready, sizeof(ready) - 1) != 0) {
				listener_unknown(l, "wrote something other "
				    "than READY");
				return;
			}
			buf_consume(&l->parse, sizeof(ready) - 1);
			l->state = LISTENER_READY;
			break;
		case LISTENER_READY:
			listener_unknown(l, "wrote to stdout while waiting for "
			    "an event");
			return;
		case LISTENER_BUSY:
			if (l->resultlen < 0) {
				if ((nl = memchr(l->parse.p, '\n', l->parse.n)) ==
				    NULL) {
					if (l->parse.n > 64)
						listener_unknown(l, "bad result "
						    "line");
					return;
				}
				*nl = '\0';
				len = -1;
				if (strncmp(l->parse.p, result,
				    sizeof(result) - 1) == 0) {
					errno = 0;
					len = strtol(l->parse.p + sizeof(result) - 1,
					    &end, 10);
					if (errno != 0 || *end != '\0' || len < 0 ||
					    len > 1 << 20)
						len = -1;
				}
				if (len < 0) {
					listener_unknown(l, "bad result line");
					return;
				}
				buf_consume(&l->parse, nl + 1 - l->parse.p);
				l->resultlen = len;
			}
			if ((long)l->parse.n < l->resultlen)
				return;
			/* supervisord's default_handler: OK or rejected. */
			if (l->resultlen == 2 && memcmp(l->parse.p, "OK", 2) == 0) {
				log_debug("events", "%s: event %lu was processed",
				    l->in->spec->fullname, l->busy.ev->serial);
				event_unref(l->busy.ev);
				l->busy.ev = NULL;
				l->pool = NULL;
			} else {
				log_warnx("events", "%s: event %lu was rejected",
				    l->in->spec->fullname, l->busy.ev->serial);
				listener_give_back(l);
			}
			buf_consume(&l->parse, l->resultlen);
			l->resultlen = -1;
			l->state = LISTENER_ACKNOWLEDGED;
			break;
		}
	}
}

/* Output. */

static struct instance *
output_instance(struct output *o)
{
	return o->channel == 1 ? container_of(o, struct instance, out) :
	    container_of(o, struct instance, err);
}

/*
 * Between supervisord's markers: what is captured is not logged; at the
 * end marker (or at maxbytes) it becomes PROCESS_COMMUNICATION.
 */
static size_t
capture(struct events *bus, struct output *o, struct instance *in,
    uint64_t maxbytes, char *buf, size_t n)
{
	const size_t blen = strlen(CAPTURE_BEGIN), elen = strlen(CAPTURE_END);
	struct buf keep = { 0 };
	size_t i = 0, w;
	char *m;

	buf_append(&o->pending, buf, n);
	while (o->pending.n > 0) {
		const char *marker = o->capturing ? CAPTURE_END : CAPTURE_BEGIN;
		size_t mlen = o->capturing ? elen : blen;
		m = memmem(o->pending.p, o->pending.n, marker, mlen);
		if (m == NULL) {
			/* Hold back what may be the start of a marker. */
			size_t hold = mlen - 1 < o->pending.n ? mlen - 1 :
			    o->pending.n;
			size_t take;
			while (hold > 0 && memcmp(o->pending.p + o->pending.n -
			    hold, marker, hold) != 0)
				hold--;
			take = o->pending.n - hold;
			if (o->capturing)
				buf_append(&o->capture, o->pending.p, take);
			else
				buf_append(&keep, o->pending.p, take);
			buf_consume(&o->pending, take);
			break;
		}
		i = m - o->pending.p;
		if (o->capturing) {
			buf_append(&o->capture, o->pending.p, i);
			events_emit(bus, o->channel == 1 ?
			    EVENT_PROCESS_COMMUNICATION_STDOUT :
			    EVENT_PROCESS_COMMUNICATION_STDERR,
			    "processname:%s groupname:%s pid:%d\n%.*s",
			    in->spec->pc->name, in->spec->cfg->group,
			    (int)in->pid, (int)(o->capture.n < maxbytes ?
			    o->capture.n : maxbytes), o->capture.p ?
			    o->capture.p : "");
			buf_reset(&o->capture);
		} else
			buf_append(&keep, o->pending.p, i);
		buf_consume(&o->pending, i + mlen);
		o->capturing = !o->capturing;
	}
	/* A capture past maxbytes is cut there, as supervisord's. */
	if (o->capturing && o->capture.n > maxbytes)
		o->capture.n = maxbytes;
	w = keep.n < n ? keep.n : n;
	if (w > 0)
		memcpy(buf, keep.p, w);
	buf_reset(&keep);
	return w;
}

size_t
events_output(struct output *o, char *buf, size_t n)
{
	struct instance *in = output_instance(o);
	const struct program_config *cfg = in->spec->cfg;
	struct events *bus = in->sv->events;
	uint64_t maxbytes = o->channel == 1 ? cfg->stdout_capture_maxbytes :
	    cfg->stderr_capture_maxbytes;
	bool enabled = o->channel == 1 ? cfg->stdout_events_enabled :
	    cfg->stderr_events_enabled;

	if (bus == NULL)
		return n;
	if (in->listener != NULL && o->channel == 1) {
		buf_append(&in->listener->parse, buf, n);
		listener_parse(in->listener);
		events_dispatch(bus);
		return n;
	}
	if (maxbytes > 0)
		n = capture(bus, o, in, maxbytes, buf, n);
	if (enabled && n > 0)
		events_emit(bus, o->channel == 1 ? EVENT_PROCESS_LOG_STDOUT :
		    EVENT_PROCESS_LOG_STDERR, "processname:%s groupname:%s "
		    "pid:%d channel:%s\n%.*s", in->spec->pc->name, cfg->group,
		    (int)in->pid, o->channel == 1 ? "stdout" : "stderr",
		    (int)n, buf);
	return n;
}
