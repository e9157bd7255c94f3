/*
 * leashd's end of the control socket.  Each client has a capped input
 * line and a capped output queue; reads and writes never block.  A request
 * is parsed into words, checked against the command table and handled;
 * start, stop, restart and reload answer once the workers get there, so a
 * client waits without leashd waiting for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "parse.h"
#include "program.h"
#include "protocol.h"
#include "sockets.h"
#include "supervisor.h"
#include "top.h"
#include "util.h"

enum wait_kind {
	WAIT_NONE,
	WAIT_START,	/* until RUNNING or given up */
	WAIT_STOP,	/* until down */
	WAIT_RELOAD,	/* one worker at a time, each until RUNNING again */
};

/*
 * A request's outcome for each process it named is a result, and a
 * request that cannot be carried out at all is an error (reply_error);
 * each is built once and written by one back end, as text for people or
 * as JSON.
 */
struct result {
	char *name;
	bool ok;
	const char *state;	/* worker_state_name, or NULL */
	char *message;
};

struct results {
	struct result *v;
	size_t n;
};

/* Why a rolling reload left a worker alone. */
enum reload_skip {
	SKIP_NONE,
	SKIP_DOWN,		/* not running */
	SKIP_BUSY,		/* a replacement of its own is starting */
};

struct control_client {
	struct control *ctl;
	struct control_client *next;
	int fd;
	uid_t uid;
	ev_io rio, wio;
	ev_timer idle;
	struct buf in, out;
	bool json;
	bool closing;		/* close once out is flushed */
	bool busy;		/* a request is waiting for workers */
	/* A request that waits: the workers' names and what it waits for. */
	enum wait_kind wait;
	struct strv names;
	size_t next_reload;	/* WAIT_RELOAD: names[< next_reload] begun */
	size_t reported;	/* WAIT_RELOAD, text: names[< reported] told */
	enum reload_skip *skipped;	/* WAIT_RELOAD: why it was left alone */
	unsigned long *base;	/* WAIT_RELOAD: reload count before */
	/* tail -f */
	struct logfile *follow;
	int bad;		/* errors found before the wait began */
	struct results results;	/* per-process outcomes so far */
	struct top_cpu top;	/* leashd's CPU at its last top screen */
	bool eof;		/* the client shut down its writing side */
	bool on_spare;		/* its fd is the reserved one (spare[0]) */
};

struct control {
	struct control_daemon dm;
	char *path;
	int fd;
	gid_t gid;
	bool has_group;
	ev_io accept_io;
	/* /dev/null twice, given up when leashd is out of fds: the
	 * first to serve one client (leashctl stop must work then), the
	 * second to turn others away with a reason. */
	int spare[2];
	bool starved;		/* out of fds: said once */
	bool starved_client;	/* a client holds spare[0]'s place */
	ev_timer retry;		/* accepting again after a starved pause */
	struct control_client *clients;
	struct control_client *dead;	/* closed, to be freed */
	unsigned nclients;
};

#define CONTROL_STARVED_PAUSE 0.5	/* s without accepting, no spare fd */

static void client_close(struct control_client *);
static int spare_open(void);
static void client_flush(struct control_client *);
static void client_process(struct control_client *);

/* Reply helpers. */

static void
client_write(struct control_client *c, const void *data, size_t len)
{
	if (c->fd < 0)
		return;
	if (c->out.n + len > PROTOCOL_REPLY_MAX) {
		log_warnx("control", "client fd %d is not reading its replies: "
		    "dropped", c->fd);
		buf_reset(&c->out);
		c->closing = true;
		client_close(c);
		return;
	}
	buf_append(&c->out, data, len);
	ev_io_start(c->ctl->dm.sv->loop, &c->wio);
}

/* One body line; a leading '%' is doubled so it cannot end the reply. */
static void __attribute__((format(printf, 2, 3)))
reply(struct control_client *c, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	for (char *p = line, *nl; *p != '\0'; p = nl + 1) {
		nl = strchrnul(p, '\n');
		if (*p == '%')
			buf_putc(&b, '%');
		buf_append(&b, p, nl - p);
		buf_putc(&b, '\n');
		if (*nl == '\0')
			break;
	}
	free(line);
	client_write(c, b.p, b.n);
	buf_reset(&b);
}

static void
reply_end(struct control_client *c, int code)
{
	char end[32];
	int n = snprintf(end, sizeof(end), "%s%d\n", PROTOCOL_END, code);

	client_write(c, end, n);
}

static void
reply_data(struct control_client *c, const char *data, size_t len)
{
	char head[40];
	int n = snprintf(head, sizeof(head), "%s%zu\n", PROTOCOL_DATA, len);

	client_write(c, head, n);
	client_write(c, data, len);
}

/* JSON. */

static void
reply_json(struct control_client *c, struct buf *b)
{
	reply(c, "%s", b->p ? b->p : "{}");
	buf_reset(b);
}

/* Closes the array a reply of the form {"key":[...]} was built with. */
static void
reply_json_array_end(struct control_client *c, struct buf *b)
{
	buf_puts(b, "]}");
	reply_json(c, b);
}

/* Replies: the results, written by one back end (text or JSON). */

static void
results_add(struct results *r, const char *name, bool ok, const char *state,
    const char *message)
{
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n].name = xstrdup(name);
	r->v[r->n].ok = ok;
	r->v[r->n].state = state;
	r->v[r->n].message = xstrdup(message);
	r->n++;
}

static void
results_free(struct results *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].message);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* "NAME: MESSAGE" lines. */
static void
results_text(struct control_client *c)
{
	for (size_t i = 0; i < c->results.n; i++)
		reply(c, "%s: %s", c->results.v[i].name, c->results.v[i].message);
}

/* ,"results":[{"name","ok","state","message"}...] */
static void
results_json(struct buf *b, const struct results *r, bool first)
{
	buf_puts(b, first ? "\"results\":[" : ",\"results\":[");
	for (size_t i = 0; i < r->n; i++) {
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_string(b, r->v[i].name);
		buf_printf(b, ",\"ok\":%s,\"state\":", r->v[i].ok ? "true" :
		    "false");
		buf_json_string(b, r->v[i].state);
		buf_puts(b, ",\"message\":");
		buf_json_string(b, r->v[i].message);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

/* The results alone: {"results":[...]} or their lines. */
static void
results_send(struct control_client *c)
{
	struct buf b = { 0 };

	if (c->json) {
		buf_putc(&b, '{');
		results_json(&b, &c->results, true);
		buf_putc(&b, '}');
		reply_json(c, &b);
	} else
		results_text(c);
	results_free(&c->results);
}

/* A request that cannot be carried out: "ERROR (why)" as a line, or
 * {"error":"ERROR (why)"}.  Returns code. */
static int __attribute__((format(printf, 3, 4)))
reply_error(struct control_client *c, int code, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	if (c->json) {
		char *msg = xasprintf("ERROR (%s)", why);
		buf_puts(&b, "{\"error\":");
		buf_json_string(&b, msg);
		buf_putc(&b, '}');
		reply_json(c, &b);
		free(msg);
	} else
		reply(c, "ERROR (%s)", why);
	free(why);
	return code;
}

/* Name matching: all, GROUP:*, GROUP:PROCESS, PROGRAM, PROCESS. */

struct match {
	struct worker **w;
	size_t n;
};

static void
match_add(struct match *m, struct worker *w)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->w[i] == w)
			return;
	m->w = xrealloc(m->w, (m->n + 1) * sizeof(*m->w));
	m->w[m->n++] = w;
}

static int
match_name(const struct control_daemon *d, const char *name, struct match *m)
{
	const char *colon = strchr(name, ':');
	size_t before = m->n;

	for (size_t i = 0; i < d->pool->n; i++) {
		struct program *p = d->pool->v[i];
		size_t glen = colon ? (size_t)(colon - name) : 0;
		bool group = colon != NULL && strlen(p->cfg->group) == glen &&
		    strncmp(p->cfg->group, name, glen) == 0;

		if (p->removing)
			continue;
		for (size_t j = 0; j < p->nworkers; j++) {
			struct worker *w = &p->workers[j];
			if (strcmp(name, "all") == 0 ||
			    (group && (strcmp(colon + 1, "*") == 0 ||
			    strcmp(colon + 1, w->spec.pc->name) == 0)) ||
			    (colon == NULL && (strcmp(name, p->cfg->name) == 0 ||
			    strcmp(name, p->cfg->group) == 0 ||
			    strcmp(name, w->spec.pc->name) == 0)))
				match_add(m, w);
		}
	}
	return m->n > before ? 0 : -1;
}

/* Resolves every argument; an unknown one is an error for the request. */
static int
resolve(struct control_client *c, int argc, char **argv, struct match *m)
{
	int bad = 0;

	for (int i = 0; i < argc; i++) {
		if (match_name(&c->ctl->dm, argv[i], m) != 0) {
			results_add(&c->results, argv[i], false, NULL,
			    "ERROR (no such process)");
			bad++;
		}
	}
	return bad;
}

/* status */

static void
format_uptime(double secs, char *buf, size_t len)
{
	long s = (long)secs, days = s / 86400;

	if (days > 0)
		snprintf(buf, len, "%ldd %ld:%02ld:%02ld", days, s % 86400 / 3600,
		    s % 3600 / 60, s % 60);
	else
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s % 3600 / 60,
		    s % 60);
}

/* What supervisorctl shows after the state: why it is not running, or
 * what leash is doing with it. */
static void
describe(const struct worker *w, char *buf, size_t len)
{
	const struct program_config *cfg = w->spec.cfg;
	int st = w->last_status;
	char sb[16], a[16], b[16];
	size_t n = 0;

	buf[0] = '\0';
	switch (w->state) {
	case WORKER_BACKOFF:
	case WORKER_FATAL:
		if (w->spawn_error != NULL) {
			snprintf(buf, len, "spawn error: %s", w->spawn_error);
			return;
		}
		/* FALLTHROUGH */
	case WORKER_EXITED:
		if (WIFEXITED(st))
			snprintf(buf, len, "%sexit status %d",
			    w->state == WORKER_EXITED ? "" : "exited too quickly, ",
			    WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			snprintf(buf, len, "%skilled by SIG%s%s",
			    w->state == WORKER_EXITED ? "" : "exited too quickly, ",
			    signal_name(WTERMSIG(st), sb),
			    w->last_oom ? " (the kernel's OOM killer)" : "");
		return;
	case WORKER_STOPPED:
		if (w->last_pid == 0)
			snprintf(buf, len, "not started");
		return;
	default:
		break;
	}
	if (w->spawn_queued && n < len)
		n += snprintf(buf + n, len - n, "waiting for its turn to "
		    "spawn; ");
	if (worker_status_text(w) != NULL && n < len)
		n += snprintf(buf + n, len - n, "%s; ", worker_status_text(w));
	if (w->rep.candidate != NULL && w->rep.ahead > 0 && n < len)
		n += snprintf(buf + n, len - n, "replacing: new pid %d starting, "
		    "%.1f s ahead of memory_limit; ", (int)w->rep.candidate->pid,
		    w->rep.ahead);
	else if (w->rep.candidate != NULL && n < len)
		n += snprintf(buf + n, len - n, "replacing: new pid %d starting; ",
		    (int)w->rep.candidate->pid);
	else if (w->rep.state == REPLACE_QUEUED && n < len)
		n += snprintf(buf + n, len - n, "queued for replacement "
		    "(max_replacing); ");
	for (size_t i = 0; i < w->rep.ndraining && n < len; i++)
		n += snprintf(buf + n, len - n, "draining pid %d; ",
		    (int)w->rep.draining[i]->pid);
	if (w->rep.footprint_over && n < len)
		n += snprintf(buf + n, len - n, "footprint %s exceeds "
		    "memory_limit %s; ", memory_human(w->rep.footprint, a),
		    memory_human(cfg->memory_limit, b));
	else if (w->rep.failures > 0 && n < len)
		n += snprintf(buf + n, len - n, "%ld failed replacements; ",
		    w->rep.failures);
	if (w->rep.state == REPLACE_BACKOFF && n < len)
		n += snprintf(buf + n, len - n, "next replacement not before "
		    "%.0f s; ", fmax(0, w->rep.not_before - mono_now()));
	else if (w->rep.candidate == NULL && w->rep.ahead > 0 &&
	    w->last_reason == REASON_MEMORY && n < len)
		n += snprintf(buf + n, len - n, "last replaced %.1f s ahead of "
		    "memory_limit; ", w->rep.ahead);
	if (n >= 2 && n < len)
		buf[n - 2] = '\0';
}

static int
worker_order(const void *a, const void *b)
{
	return strcmp((*(struct worker *const *)a)->fullname,
	    (*(struct worker *const *)b)->fullname);
}

static void
json_memory(struct buf *b, const struct worker_view *v)
{
	buf_puts(b, ",\"memory\":{\"source\":");
	buf_json_string(b, v->memory_source);
	buf_printf(b, ",\"limit\":%llu,\"max\":%llu",
	    (unsigned long long)v->memory_limit,
	    (unsigned long long)v->memory_max);
	if (!v->memory_known) {
		buf_puts(b, ",\"current\":null,\"peak\":null,\"rate\":null,"
		    "\"trend\":null,\"eta\":null}");
		return;
	}
	buf_printf(b, ",\"current\":%llu,\"peak\":%llu,\"rate\":%.0f,\"trend\":",
	    (unsigned long long)v->memory, (unsigned long long)v->memory_peak,
	    v->memory_rate);
	buf_json_string(b, memory_trend_name(v->trend));
	if (v->eta >= 0)
		buf_printf(b, ",\"eta\":%.1f}", v->eta);
	else
		buf_puts(b, ",\"eta\":null}");
}

static void
status_json(struct control_client *c, struct match *m)
{
	struct control_daemon *d = &c->ctl->dm;
	struct worker_view v;
	struct buf b = { 0 };
	char desc[512];

	buf_printf(&b, "{\"protocol\":%d,\"leashd\":{\"pid\":%d,\"version\":",
	    PROTOCOL_VERSION, (int)d->sv->self);
	buf_json_string(&b, PACKAGE_VERSION);
	buf_putc(&b, '}');
	/* Names that match nothing. */
	results_json(&b, &c->results, false);
	buf_puts(&b, ",\"processes\":[");
	for (size_t i = 0; i < m->n; i++) {
		const struct worker *w = m->w[i];

		worker_view(w, &v);
		describe(w, desc, sizeof(desc));
		buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_string(&b, v.name);
		buf_puts(&b, ",\"group\":");
		buf_json_string(&b, v.group);
		buf_puts(&b, ",\"process\":");
		buf_json_string(&b, v.process);
		buf_puts(&b, ",\"state\":");
		buf_json_string(&b, worker_state_name(v.state));
		buf_puts(&b, ",\"want\":");
		buf_json_string(&b, v.want_up ? "up" : "down");
		if (v.pid > 0)
			buf_printf(&b, ",\"pid\":%d,\"start_time\":%.3f,"
			    "\"uptime\":%.3f", (int)v.pid, v.start, v.uptime);
		else
			buf_puts(&b, ",\"pid\":null,\"start_time\":null,"
			    "\"uptime\":null");
		if (w->rep.candidate != NULL)
			buf_printf(&b, ",\"replacement_pid\":%d",
			    (int)w->rep.candidate->pid);
		else
			buf_puts(&b, ",\"replacement_pid\":null");
		buf_puts(&b, ",\"draining_pids\":[");
		for (size_t j = 0; j < w->rep.ndraining; j++)
			buf_printf(&b, "%s%d", j ? "," : "",
			    (int)w->rep.draining[j]->pid);
		buf_putc(&b, ']');
		json_memory(&b, &v);
		buf_printf(&b, ",\"restarts\":%lu,\"restarts_by_reason\":{",
		    v.restarts);
		for (int r = REASON_EXIT; r < REASON_MAX; r++)
			buf_printf(&b, "%s\"%s\":%lu", r == REASON_EXIT ? "" : ",",
			    restart_reason_name(r), v.restarts_by[r]);
		buf_puts(&b, "},\"last_reason\":");
		buf_json_string(&b, v.last_reason == REASON_NONE ? NULL :
		    restart_reason_name(v.last_reason));
		if (v.exit_code >= 0)
			buf_printf(&b, ",\"exit_status\":%d,\"exit_signal\":null",
			    v.exit_code);
		else if (v.exit_signal > 0)
			buf_printf(&b, ",\"exit_status\":null,\"exit_signal\":%d",
			    v.exit_signal);
		else
			buf_puts(&b, ",\"exit_status\":null,\"exit_signal\":null");
		buf_printf(&b, ",\"footprint_exceeds_limit\":%s,"
		    "\"replace_failures\":%ld,\"replace_state\":\"%s\","
		    "\"replace_lead\":%.3f,\"replaced_ahead\":",
		    w->rep.footprint_over ? "true" : "false", w->rep.failures,
		    replace_state_name(w->rep.state), w->rep.lead);
		if (w->rep.ahead > 0)
			buf_printf(&b, "%.3f", w->rep.ahead);
		else
			buf_puts(&b, "null");
		buf_puts(&b, ",\"spawn_error\":");
		buf_json_string(&b, v.spawn_error);
		buf_puts(&b, ",\"status_text\":");
		buf_json_string(&b, v.status_text);
		buf_puts(&b, ",\"description\":");
		buf_json_string(&b, desc);
		buf_putc(&b, '}');
	}
	reply_json_array_end(c, &b);
}

/* "12M/256M" and an arrow for the trend, or "-". */
static void
format_memory(const struct worker_view *v, char *buf, size_t len)
{
	char a[16], b[16];

	if (!v->memory_known) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%s%s%s%s", memory_human(v->memory, a),
	    v->memory_limit ? "/" : "",
	    v->memory_limit ? memory_human(v->memory_limit, b) : "",
	    v->trend == TREND_GROWING ? " ^" : v->trend == TREND_LEVELLED ?
	    " =" : "");
}

static int
cmd_status(struct control_client *c, int argc, char **argv)
{
	struct control_daemon *d = &c->ctl->dm;
	struct match m = { 0 };
	char up[32], desc[512], pid[16], mem[48];
	size_t width = 4;
	int bad = 0, code = PROTOCOL_EXIT_OK;

	if (argc == 0)
		match_name(d, "all", &m);
	else
		bad = resolve(c, argc, argv, &m);
	if (m.n > 1)
		qsort(m.w, m.n, sizeof(*m.w), worker_order);
	if (c->json)
		status_json(c, &m);
	else {
		results_text(c);
		for (size_t i = 0; i < m.n; i++)
			if (strlen(m.w[i]->fullname) > width)
				width = strlen(m.w[i]->fullname);
		reply(c, "%-*s  %-9s %-7s %-11s %-16s %-8s %-10s %s", (int)width,
		    "NAME", "STATE", "PID", "UPTIME", "MEMORY", "RESTARTS",
		    "LAST", "INFO");
		for (size_t i = 0; i < m.n; i++) {
			const struct worker *w = m.w[i];
			struct worker_view v;

			worker_view(w, &v);
			if (v.pid > 0) {
				format_uptime(v.uptime, up, sizeof(up));
				snprintf(pid, sizeof(pid), "%d", (int)v.pid);
			} else {
				strcpy(up, "-");
				strcpy(pid, "-");
			}
			format_memory(&v, mem, sizeof(mem));
			describe(w, desc, sizeof(desc));
			reply(c, "%-*s  %-9s %-7s %-11s %-16s %-8lu %-10s %s",
			    (int)width, v.name, worker_state_name(v.state),
			    pid, up, mem, v.restarts,
			    v.last_reason == REASON_NONE ? "-" :
			    restart_reason_name(v.last_reason), desc);
		}
	}
	for (size_t i = 0; i < m.n; i++)
		if (m.w[i]->state != WORKER_RUNNING)
			code = PROTOCOL_EXIT_NOT_RUNNING;
	free(m.w);
	return bad ? PROTOCOL_EXIT_ERROR : code;
}

/* start, stop, restart: begin, then wait in control_update. */

static void
wait_begin(struct control_client *c, enum wait_kind kind, struct match *m)
{
	c->wait = kind;
	c->busy = true;
	c->next_reload = c->reported = 0;
	c->skipped = xcalloc(m->n, sizeof(*c->skipped));
	c->base = xcalloc(m->n, sizeof(*c->base));
	for (size_t i = 0; i < m->n; i++)
		strv_push(&c->names, xstrdup(m->w[i]->fullname));
}

static bool
settled(enum wait_kind kind, const struct worker *w)
{
	if (kind == WAIT_STOP)
		return worker_is_down(w) && !worker_replacing(w);
	if (kind == WAIT_RELOAD)
		return w->rep.candidate == NULL;
	return w->state == WORKER_RUNNING || w->state == WORKER_FATAL ||
	    (worker_is_down(w) && w->want == WANT_DOWN) ||
	    w->state == WORKER_EXITED;
}

static void
change_error(struct control_client *c, struct worker *w, const char *msg)
{
	results_add(&c->results, w->fullname, false, worker_state_name(w->state),
	    msg);
}


static int
cmd_change(struct control_client *c, int argc, char **argv,
    enum wait_kind kind, bool restart)
{
	struct match m = { 0 }, todo = { 0 };
	int bad = resolve(c, argc, argv, &m);

	for (size_t i = 0; i < m.n; i++) {
		struct worker *w = m.w[i];
		if (kind == WAIT_START && !restart &&
		    (w->state == WORKER_RUNNING || w->state == WORKER_STARTING)) {
			change_error(c, w, "ERROR (already started)");
			bad++;
			continue;
		}
		if (kind == WAIT_STOP && (worker_is_down(w) &&
		    w->state != WORKER_BACKOFF)) {
			change_error(c, w, "ERROR (not running)");
			bad++;
			continue;
		}
		if (restart)
			worker_stop(w);
		if (kind == WAIT_STOP)
			worker_stop(w);
		else
			worker_start(w, restart ? REASON_MANUAL : REASON_NONE);
		match_add(&todo, w);
	}
	free(m.w);
	if (todo.n == 0) {
		free(todo.w);
		results_send(c);
		return bad ? PROTOCOL_EXIT_ERROR : PROTOCOL_EXIT_OK;
	}
	wait_begin(c, kind, &todo);
	c->bad = bad;
	free(todo.w);
	supervisor_changed(c->ctl->dm.sv);
	return -1;
}

static int
cmd_start(struct control_client *c, int argc, char **argv)
{
	return cmd_change(c, argc, argv, WAIT_START, false);
}

static int
cmd_stop(struct control_client *c, int argc, char **argv)
{
	return cmd_change(c, argc, argv, WAIT_STOP, false);
}

static int
cmd_restart(struct control_client *c, int argc, char **argv)
{
	return cmd_change(c, argc, argv, WAIT_START, true);
}

static int
cmd_reload(struct control_client *c, int argc, char **argv)
{
	struct match m = { 0 };
	int bad;

	if (argc == 0) {
		char all[] = "all", *v[] = { all };
		bad = resolve(c, 1, v, &m);
	} else
		bad = resolve(c, argc, argv, &m);
	if (bad || m.n == 0) {
		free(m.w);
		results_send(c);
		return PROTOCOL_EXIT_ERROR;
	}
	qsort(m.w, m.n, sizeof(*m.w), worker_order);
	wait_begin(c, WAIT_RELOAD, &m);
	free(m.w);
	supervisor_changed(c->ctl->dm.sv);
	return -1;
}

/* The outcome for names[i] once it has settled; w is NULL when it went. */
static const char *
outcome(const struct control_client *c, size_t i, const struct worker *w,
    bool *ok)
{
	*ok = true;
	if (w == NULL) {
		*ok = false;
		return "ERROR (no such process)";
	}
	if (c->wait == WAIT_RELOAD && c->skipped[i] == SKIP_DOWN)
		return "not running, left alone";
	if (c->wait == WAIT_RELOAD && c->skipped[i] == SKIP_BUSY)
		return "already being replaced, left to that";
	if (c->wait == WAIT_STOP)
		return "stopped";
	if (c->wait == WAIT_RELOAD) {
		*ok = w->restarts[REASON_RELOAD] > c->base[i];
		return *ok ? "reloaded" : "ERROR (the replacement did not "
		    "become ready; the old process keeps serving)";
	}
	if (w->state == WORKER_RUNNING)
		return "started";
	*ok = false;
	return w->spawn_error != NULL ? "ERROR (spawn error)" :
	    "ERROR (abnormal termination)";
}

/* A rolling reload, as text, tells each worker's outcome as it comes. */
static void
reload_report(struct control_client *c, size_t upto)
{
	struct worker *w;
	bool ok;

	if (c->json)
		return;
	for (; c->reported < upto; c->reported++) {
		w = pool_find_worker(c->ctl->dm.pool, c->names.v[c->reported]);
		reply(c, "%s: %s", c->names.v[c->reported],
		    outcome(c, c->reported, w, &ok));
	}
}

/* Finishes the request c waits on, once every worker has settled. */
static void
client_progress(struct control_client *c)
{
	struct control_daemon *d = &c->ctl->dm;
	struct worker *w;
	int code = PROTOCOL_EXIT_OK;
	const char *msg;
	bool ok;

	if (c->wait == WAIT_RELOAD) {
		/* One at a time: begin the next when the last one is up. */
		while (c->next_reload < c->names.n) {
			if (c->next_reload > 0 && (w = pool_find_worker(d->pool,
			    c->names.v[c->next_reload - 1])) != NULL &&
			    !settled(WAIT_RELOAD, w))
				return;
			reload_report(c, c->next_reload);
			w = pool_find_worker(d->pool, c->names.v[c->next_reload++]);
			if (w == NULL)
				continue;
			if (w->state != WORKER_RUNNING &&
			    w->state != WORKER_STARTING) {
				c->skipped[c->next_reload - 1] = SKIP_DOWN;
				continue;
			}
			if (w->rep.candidate != NULL) {
				c->skipped[c->next_reload - 1] = SKIP_BUSY;
				continue;
			}
			log_info("control", "%s: reload", w->fullname);
			c->base[c->next_reload - 1] = w->restarts[REASON_RELOAD];
			if (worker_replace(w, REASON_RELOAD) != 0)
				c->skipped[c->next_reload - 1] = SKIP_DOWN;
			else if (!c->json)
				reply(c, "%s: replacing pid %d", w->fullname,
				    (int)worker_pid(w));
			return;
		}
	}
	for (size_t i = 0; i < c->names.n; i++)
		if ((w = pool_find_worker(d->pool, c->names.v[i])) != NULL &&
		    !settled(c->wait, w))
			return;

	if (c->bad)
		code = PROTOCOL_EXIT_ERROR;
	for (size_t i = 0; i < c->names.n; i++) {
		w = pool_find_worker(d->pool, c->names.v[i]);
		msg = outcome(c, i, w, &ok);
		if (!ok)
			code = PROTOCOL_EXIT_ERROR;
		/* Told already, as it came. */
		if (c->wait == WAIT_RELOAD && i < c->reported)
			continue;
		results_add(&c->results, c->names.v[i], ok,
		    w ? worker_state_name(w->state) : NULL, msg);
	}
	results_send(c);
	c->bad = 0;
	strv_free(&c->names);
	free(c->skipped);
	c->skipped = NULL;
	free(c->base);
	c->base = NULL;
	c->wait = WAIT_NONE;
	c->busy = false;
	reply_end(c, code);
	/* Requests that queued up behind this one (the reply may have
	 * closed a client that stopped reading: then there are none). */
	if (c->fd < 0)
		return;
	if (!c->eof)
		ev_io_start(d->sv->loop, &c->rio);
	client_process(c);
}

void
control_update(struct control *ctl)
{
	struct control_client *c, *next;

	if (ctl == NULL)
		return;
	for (c = ctl->clients; c != NULL; c = next) {
		next = c->next;
		if (c->wait != WAIT_NONE)
			client_progress(c);
	}
}

static int
cmd_signal(struct control_client *c, int argc, char **argv)
{
	struct match m = { 0 };
	const char *why;
	char msg[128];
	int sig, bad;

	if (parse_signal(argv[0], &sig, &why) != 0)
		return reply_error(c, PROTOCOL_EXIT_USAGE, "%s: %s", argv[0], why);
	bad = resolve(c, argc - 1, argv + 1, &m);
	for (size_t i = 0; i < m.n; i++) {
		struct worker *w = m.w[i];
		bool ok = false;
		if (worker_pid(w) <= 0)
			snprintf(msg, sizeof(msg), "ERROR (not running)");
		else if (kill(worker_pid(w), sig) != 0)
			snprintf(msg, sizeof(msg), "ERROR (%s)", strerror(errno));
		else {
			snprintf(msg, sizeof(msg), "signalled");
			ok = true;
		}
		bad += !ok;
		results_add(&c->results, w->fullname, ok,
		    worker_state_name(w->state), msg);
	}
	results_send(c);
	free(m.w);
	return bad ? PROTOCOL_EXIT_ERROR : PROTOCOL_EXIT_OK;
}

static int
cmd_pid(struct control_client *c, int argc, char **argv)
{
	struct match m = { 0 };
	struct buf b = { 0 };
	int bad = 0;

	if (argc == 0) {
		if (c->json)
			reply(c, "{\"pid\":%d}", (int)c->ctl->dm.sv->self);
		else
			reply(c, "%d", (int)c->ctl->dm.sv->self);
		return PROTOCOL_EXIT_OK;
	}
	bad = resolve(c, argc, argv, &m);
	if (c->json) {
		buf_putc(&b, '{');
		results_json(&b, &c->results, true);
		buf_puts(&b, ",\"processes\":[");
	} else
		results_text(c);
	for (size_t i = 0; i < m.n; i++) {
		if (c->json) {
			buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
			buf_json_string(&b, m.w[i]->fullname);
			if (worker_pid(m.w[i]) > 0)
				buf_printf(&b, ",\"pid\":%d}", (int)worker_pid(m.w[i]));
			else
				buf_puts(&b, ",\"pid\":null}");
		} else
			reply(c, "%d", (int)worker_pid(m.w[i]));
		if (worker_pid(m.w[i]) <= 0)
			bad++;
	}
	if (c->json) {
		reply_json_array_end(c, &b);
	}
	free(m.w);
	return bad ? PROTOCOL_EXIT_ERROR : PROTOCOL_EXIT_OK;
}

static int
cmd_tail(struct control_client *c, int argc, char **argv)
{
	struct match m = { 0 };
	struct logfile *o;
	struct worker *w;
	const char *name = NULL, *stream = "stdout";
	long bytes = PROTOCOL_TAIL_DEFAULT;
	const char *why;
	bool follow = false;
	char *data;
	size_t n;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			follow = true;
		else if (argv[i][0] == '-' && parse_int(argv[i] + 1, 0,
		    PROTOCOL_REPLY_MAX / 2, &bytes, &why) == 0)
			;
		else if (argv[i][0] == '-')
			return reply_error(c, PROTOCOL_EXIT_USAGE, "bad option %s",
			    argv[i]);
		else if (name == NULL)
			name = argv[i];
		else if (strcmp(argv[i], "stdout") == 0 ||
		    strcmp(argv[i], "stderr") == 0)
			stream = argv[i];
		else
			return reply_error(c, PROTOCOL_EXIT_USAGE, "expected "
			    "stdout or stderr, not %s", argv[i]);
	}
	if (name == NULL)
		return reply_error(c, PROTOCOL_EXIT_USAGE, "tail needs a "
		    "process name");
	if (follow && c->json)
		return reply_error(c, PROTOCOL_EXIT_USAGE, "tail -f has no "
		    "JSON form; it sends the output as it comes");
	if (match_name(&c->ctl->dm, name, &m) != 0 || m.n != 1) {
		results_add(&c->results, name, false, NULL, m.n > 1 ?
		    "ERROR (names more than one process)" :
		    "ERROR (no such process)");
		results_send(c);
		free(m.w);
		return PROTOCOL_EXIT_ERROR;
	}
	w = m.w[0];
	free(m.w);
	o = strcmp(stream, "stderr") == 0 && !w->spec.cfg->redirect_stderr ?
	    &w->errlog : &w->outlog;
	if (o->path == NULL) {
		char *msg = xasprintf("ERROR (no log file for %s)", stream);
		results_add(&c->results, w->fullname, false,
		    worker_state_name(w->state), msg);
		results_send(c);
		free(msg);
		return PROTOCOL_EXIT_ERROR;
	}
	data = file_tail(o->path, (size_t)bytes, &n);
	if (c->json) {
		struct buf b = { 0 };
		buf_puts(&b, "{\"name\":");
		buf_json_string(&b, w->fullname);
		buf_printf(&b, ",\"stream\":\"%s\",\"data\":", stream);
		buf_json_string(&b, data != NULL ? data : "");
		buf_putc(&b, '}');
		reply_json(c, &b);
	} else if (data != NULL && n > 0)
		reply_data(c, data, n);
	free(data);
	if (follow) {
		c->follow = o;
		c->busy = true;
		ev_timer_stop(c->ctl->dm.sv->loop, &c->idle);
		return -1;
	}
	return PROTOCOL_EXIT_OK;
}

static void
diff_lines(struct control_client *c, struct strv *lines, int rc)
{
	struct buf b = { 0 };

	if (c->json) {
		buf_printf(&b, "{\"ok\":%s,\"lines\":[", rc == 0 ? "true" : "false");
		for (size_t i = 0; i < lines->n; i++) {
			if (i)
				buf_putc(&b, ',');
			buf_json_string(&b, lines->v[i]);
		}
		reply_json_array_end(c, &b);
	} else {
		for (size_t i = 0; i < lines->n; i++)
			reply(c, "%s", lines->v[i]);
		if (lines->n == 0)
			reply(c, "No config updates to processes");
	}
	strv_free(lines);
}

/* reread (apply = false) and update (apply = true). */
static int
config_command(struct control_client *c, bool apply)
{
	struct strv lines = { 0 };
	int rc = c->ctl->dm.reload(c->ctl->dm.arg, apply, &lines);

	diff_lines(c, &lines, rc);
	return rc == 0 ? PROTOCOL_EXIT_OK : PROTOCOL_EXIT_ERROR;
}

static int
cmd_reread(struct control_client *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return config_command(c, false);
}

static int
cmd_update(struct control_client *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return config_command(c, true);
}

static int
cmd_avail(struct control_client *c, int argc, char **argv)
{
	struct control_daemon *d = &c->ctl->dm;
	struct buf b = { 0 };

	(void)argc;
	(void)argv;
	if (c->json)
		buf_puts(&b, "{\"programs\":[");
	for (size_t i = 0; i < d->pool->n; i++) {
		const struct program_config *pc = d->pool->v[i]->cfg;
		bool gone = d->pool->v[i]->removing;
		if (c->json) {
			buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
			buf_json_string(&b, pc->name);
			buf_printf(&b, ",\"in_use\":%s,\"autostart\":%s,"
			    "\"priority\":%ld,\"numprocs\":%ld}",
			    gone ? "false" : "true",
			    pc->autostart ? "true" : "false", pc->priority,
			    pc->numprocs);
		} else
			reply(c, "%-24s %-7s %-9s %ld:%ld", pc->name,
			    gone ? "removed" : "in use",
			    pc->autostart ? "auto" : "manual", pc->priority,
			    pc->priority);
	}
	if (c->json) {
		reply_json_array_end(c, &b);
	}
	return PROTOCOL_EXIT_OK;
}

static int
cmd_shutdown(struct control_client *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_info("control", "shutdown requested by uid %u", (unsigned)c->uid);
	c->ctl->dm.shutdown(c->ctl->dm.arg, false);
	if (c->json)
		reply(c, "{\"ok\":true}");
	else
		reply(c, "Shut down");
	return PROTOCOL_EXIT_OK;
}

static int
cmd_upgrade(struct control_client *c, int argc, char **argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	log_info("control", "upgrade requested by uid %u", (unsigned)c->uid);
	if (c->ctl->dm.upgrade == NULL)
		return reply_error(c, PROTOCOL_EXIT_ERROR, "upgrade is not "
		    "supported here");
	if (c->ctl->dm.upgrade(c->ctl->dm.arg, c->fd, c->json, err,
	    sizeof(err)) != 0)
		return reply_error(c, PROTOCOL_EXIT_ERROR, "%s", err);
	client_flush(c);
	c->busy = true;		/* the new image answers */
	return -1;
}

static int
cmd_version(struct control_client *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (c->json)
		reply(c, "{\"version\":\"%s\",\"protocol\":%d}", PACKAGE_VERSION,
		    PROTOCOL_VERSION);
	else
		reply(c, "%s", PACKAGE_VERSION);
	return PROTOCOL_EXIT_OK;
}

/* top [COLUMNS ROWS]: one screen; leashctl top asks again and again. */
static int
cmd_top(struct control_client *c, int argc, char **argv)
{
	struct strv lines = { 0 };
	struct buf b = { 0 };
	long cols = 80, rows = 24;
	const char *why;

	if (c->json)
		return reply_error(c, PROTOCOL_EXIT_USAGE, "top has no JSON; "
		    "status does");
	if (argc == 2 && (parse_int(argv[0], TOP_COLUMNS_MIN, 1000, &cols,
	    &why) != 0 || parse_int(argv[1], TOP_ROWS_MIN, 1000, &rows,
	    &why) != 0))
		return reply_error(c, PROTOCOL_EXIT_USAGE, "top COLUMNS ROWS: "
		    "at least %dx%d", TOP_COLUMNS_MIN, TOP_ROWS_MIN);
	if (argc == 1)
		return reply_error(c, PROTOCOL_EXIT_USAGE, "usage: top "
		    "[COLUMNS ROWS]");
	top_render(&c->ctl->dm, &c->top, (int)cols, (int)rows, &lines);
	/* One reply, so that its empty lines are kept. */
	for (size_t i = 0; i < lines.n; i++)
		buf_printf(&b, "%s%s", i ? "\n" : "", lines.v[i]);
	reply(c, "%s", b.p ? b.p : "");
	buf_reset(&b);
	strv_free(&lines);
	return PROTOCOL_EXIT_OK;
}

static int
cmd_help(struct control_client *c, int argc, char **argv)
{
	struct buf b = { 0 };

	(void)argc;
	(void)argv;
	if (!c->json) {
		for (unsigned i = 0; i < PROTOCOL_NCOMMANDS; i++)
			reply(c, "%-44s %s", protocol_commands[i].usage,
			    protocol_commands[i].help);
		return PROTOCOL_EXIT_OK;
	}
	buf_puts(&b, "{\"commands\":[");
	for (unsigned i = 0; i < PROTOCOL_NCOMMANDS; i++) {
		buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
		buf_json_string(&b, protocol_commands[i].name);
		buf_puts(&b, ",\"usage\":");
		buf_json_string(&b, protocol_commands[i].usage);
		buf_puts(&b, ",\"help\":");
		buf_json_string(&b, protocol_commands[i].help);
		buf_putc(&b, '}');
	}
	reply_json_array_end(c, &b);
	return PROTOCOL_EXIT_OK;
}

/* The handlers of protocol.h's commands, in its order. */
static int (*const handlers[PROTOCOL_NCOMMANDS])(struct control_client *,
    int, char **) = {
	[PROTOCOL_CMD_STATUS] = cmd_status,
	[PROTOCOL_CMD_START] = cmd_start,
	[PROTOCOL_CMD_STOP] = cmd_stop,
	[PROTOCOL_CMD_RESTART] = cmd_restart,
	[PROTOCOL_CMD_SIGNAL] = cmd_signal,
	[PROTOCOL_CMD_PID] = cmd_pid,
	[PROTOCOL_CMD_TAIL] = cmd_tail,
	[PROTOCOL_CMD_REREAD] = cmd_reread,
	[PROTOCOL_CMD_UPDATE] = cmd_update,
	[PROTOCOL_CMD_RELOAD] = cmd_reload,
	[PROTOCOL_CMD_AVAIL] = cmd_avail,
	[PROTOCOL_CMD_SHUTDOWN] = cmd_shutdown,
	[PROTOCOL_CMD_UPGRADE] = cmd_upgrade,
	[PROTOCOL_CMD_TOP] = cmd_top,
	[PROTOCOL_CMD_VERSION] = cmd_version,
	[PROTOCOL_CMD_HELP] = cmd_help,
};

/* Requests. */

static bool
request_is_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = s[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
			return false;
	}
	return true;
}

static void
client_request(struct control_client *c, char *line)
{
	char *argv[PROTOCOL_ARGS_MAX], *save = NULL, *w;
	const struct protocol_command *cmd;
	int argc = 0, code;

	for (w = strtok_r(line, " \t\r", &save); w != NULL;
	    w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == PROTOCOL_ARGS_MAX) {
			reply_end(c, reply_error(c, PROTOCOL_EXIT_USAGE,
			    "too many words"));
			return;
		}
		argv[argc++] = w;
	}
	c->json = argc > 0 && strcmp(argv[0], "json") == 0;
	if (c->json) {
		memmove(argv, argv + 1, (argc - 1) * sizeof(*argv));
		argc--;
	}
	if (argc == 0) {
		reply_end(c, reply_error(c, PROTOCOL_EXIT_USAGE,
		    "empty request"));
		return;
	}
	if ((cmd = protocol_command_find(argv[0])) == NULL) {
		reply_end(c, reply_error(c, PROTOCOL_EXIT_USAGE,
		    "unknown command %.64s; try help", argv[0]));
		return;
	}
	if (argc - 1 < cmd->min_args ||
	    (cmd->max_args >= 0 && argc - 1 > cmd->max_args)) {
		reply_end(c, reply_error(c, PROTOCOL_EXIT_USAGE, "usage: %s",
		    cmd->usage));
		return;
	}
	log_debug("control", "uid %u: %s", (unsigned)c->uid, cmd->name);
	code = handlers[cmd - protocol_commands](c, argc - 1, argv + 1);
	if (code >= 0) {
		results_free(&c->results);
		reply_end(c, code);
	}
}

/* Handles complete lines while no request is waiting. */
static void
client_process(struct control_client *c)
{
	char *nl, *line;
	size_t len;

	while (c->fd >= 0 && !c->busy && !c->closing && c->in.n > 0 &&
	    (nl = memchr(c->in.p, '\n', c->in.n)) != NULL) {
		len = nl - c->in.p;
		if (!request_is_text(c->in.p, len)) {
			reply(c, "ERROR (malformed request)");
			reply_end(c, PROTOCOL_EXIT_USAGE);
			c->closing = true;
			break;
		}
		line = xmalloc(len + 1);
		memcpy(line, c->in.p, len);
		line[len] = '\0';
		buf_consume(&c->in, len + 1);
		client_request(c, line);
		free(line);
	}
	if (c->fd >= 0 && c->eof && !c->busy)
		c->closing = true;
	if (c->fd >= 0 && !c->busy && !c->closing &&
	    c->in.n >= PROTOCOL_REQUEST_MAX) {
		reply(c, "ERROR (request longer than %d bytes)",
		    PROTOCOL_REQUEST_MAX);
		reply_end(c, PROTOCOL_EXIT_USAGE);
		c->closing = true;
	}
	client_flush(c);
}

static void
client_flush(struct control_client *c)
{
	ssize_t n;

	if (c->fd < 0)
		return;
	while (c->out.n > 0) {
		n = send(c->fd, c->out.p, c->out.n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(c->ctl->dm.sv->loop, &c->wio);
			return;
		}
		if (n <= 0) {
			client_close(c);
			return;
		}
		buf_consume(&c->out, n);
	}
	ev_io_stop(c->ctl->dm.sv->loop, &c->wio);
	if (c->closing)
		client_close(c);
}

static void
client_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control_client *c = container_of(io, struct control_client, rio);
	char buf[4096];
	size_t room;
	ssize_t n;

	(void)revents;
	/* Read no more than one request can be, beyond what is queued. */
	room = c->in.n < PROTOCOL_REQUEST_MAX ? PROTOCOL_REQUEST_MAX - c->in.n : 0;
	if (c->follow == NULL && (c->busy || room == 0)) {
		/* Until the current request is answered (client_process). */
		ev_io_stop(loop, io);
		return;
	}
	if (room == 0 || room > sizeof(buf))
		room = sizeof(buf);
	n = recv(c->fd, buf, room, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && c->follow == NULL) {
		/* A half-close: answer what was asked, then close. */
		c->eof = true;
		ev_io_stop(loop, io);
		client_process(c);
		return;
	}
	if (n <= 0) {
		client_close(c);
		return;
	}
	if (c->follow != NULL)
		return;		/* tail -f: input is ignored until close */
	ev_timer_again(loop, &c->idle);
	buf_append(&c->in, buf, n);
	client_process(c);
}

static void
client_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control_client *c = container_of(io, struct control_client, wio);

	(void)loop;
	(void)revents;
	client_flush(c);
}

static void
client_idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control_client *c = container_of(t, struct control_client, idle);

	(void)loop;
	(void)revents;
	if (c->busy) {
		ev_timer_again(loop, t);
		return;
	}
	log_debug("control", "client fd %d idle: closed", c->fd);
	client_close(c);
}

static void
client_close(struct control_client *c)
{
	struct control *ctl = c->ctl;
	struct control_client **pp;

	if (c->fd < 0)
		return;
	ev_io_stop(ctl->dm.sv->loop, &c->rio);
	ev_io_stop(ctl->dm.sv->loop, &c->wio);
	ev_timer_stop(ctl->dm.sv->loop, &c->idle);
	close(c->fd);
	c->fd = -1;
	if (c->on_spare) {
		/* Its place is the reserved one again. */
		ctl->starved_client = false;
		if (ctl->spare[0] < 0)
			ctl->spare[0] = spare_open();
	}
	for (pp = &ctl->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ctl->nclients--;
	/* Freed from the loop (control_collect), not from under a caller
	 * that still holds c. */
	buf_reset(&c->in);
	buf_reset(&c->out);
	strv_free(&c->names);
	free(c->skipped);
	c->skipped = NULL;
	free(c->base);
	c->base = NULL;
	results_free(&c->results);
	c->wait = WAIT_NONE;
	c->follow = NULL;
	c->next = ctl->dead;
	ctl->dead = c;
}

void
control_collect(struct control *ctl)
{
	struct control_client *c;

	while (ctl != NULL && (c = ctl->dead) != NULL) {
		ctl->dead = c->next;
		free(c);
	}
}

/* Root, leashd's own user, or a member of control_group. */
static bool
peer_allowed(struct control *ctl, int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);
	gid_t groups[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) != 0)
		return false;
	if (cred->uid == 0 || cred->uid == geteuid())
		return true;
	if (!ctl->has_group)
		return false;
	if (cred->gid == ctl->gid)
		return true;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == ctl->gid)
			return true;
	return false;
}

static void
control_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct control *ctl = container_of(t, struct control, retry);

	(void)revents;
	ev_io_start(loop, &ctl->accept_io);
}

static int
spare_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Takes the spares back that were given up, when fds allow. */
static void
spare_refill(struct control *ctl)
{
	for (int i = 0; i < 2; i++)
		if (ctl->spare[i] < 0 && (i == 1 || !ctl->starved_client))
			ctl->spare[i] = spare_open();
}

static void
control_take(struct control *ctl, int fd, bool on_spare)
{
	struct ev_loop *loop = ctl->dm.sv->loop;
	struct control_client *c;
	struct ucred cred;
	static const char denied[] = "ERROR (permission denied)\n"
	    PROTOCOL_END "4\n";
	static const char busy[] = "ERROR (too many clients)\n"
	    PROTOCOL_END "1\n";

	if (!peer_allowed(ctl, fd, &cred)) {
		log_warnx("control", "refused a client with uid %u pid %d",
		    (unsigned)cred.uid, (int)cred.pid);
		(void)!send(fd, denied, sizeof(denied) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	if (ctl->nclients >= PROTOCOL_CLIENTS_MAX) {
		(void)!send(fd, busy, sizeof(busy) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->fd = fd;
	c->uid = cred.uid;
	c->on_spare = on_spare;
	ctl->starved_client = ctl->starved_client || on_spare;
	ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
	ev_init(&c->idle, client_idle_cb);
	c->idle.repeat = PROTOCOL_IDLE_TIMEOUT;
	ev_io_start(loop, &c->rio);
	ev_timer_again(loop, &c->idle);
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->nclients++;
}

/*
 * accept failed for want of a file descriptor: the client stays queued and
 * the socket readable, so without this the loop would spin on it (ev.pod,
 * "the special problem of accept()ing when you can't").  The first spare
 * is given up to serve one client, so that leashctl can still stop
 * workers and free fds; the second to take each of the others and tell it
 * why; without either, accepting pauses for a moment.  Said once until
 * an accept works again.
 */
static void
control_starved(struct control *ctl)
{
	static const char nofds[] = "ERROR (leashd is out of file "
	    "descriptors; see RLIMIT_NOFILE)\n" PROTOCOL_END "1\n";
	int fd;

	if (!ctl->starved)
		log_warnx("control", "out of file descriptors (%s): one client "
		    "at a time is served, the others turned away, until some "
		    "are free", strerror(errno));
	ctl->starved = true;
	if (ctl->spare[0] >= 0) {
		close(ctl->spare[0]);
		ctl->spare[0] = -1;
		if ((fd = accept4(ctl->fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			control_take(ctl, fd, true);
			return;
		}
		ctl->spare[0] = spare_open();
	}
	if (ctl->spare[1] >= 0) {
		close(ctl->spare[1]);
		ctl->spare[1] = -1;
		while ((fd = accept4(ctl->fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			(void)!send(fd, nofds, sizeof(nofds) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
		}
		ctl->spare[1] = spare_open();
	}
	if (ctl->spare[1] < 0) {
		ev_io_stop(ctl->dm.sv->loop, &ctl->accept_io);
		supervisor_timer(ctl->dm.sv, &ctl->retry, CONTROL_STARVED_PAUSE);
	}
}

static void
control_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control *ctl = container_of(io, struct control, accept_io);
	int fd;

	(void)loop;
	(void)revents;
	spare_refill(ctl);
	for (int i = 0; i < 64; i++) {
		fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			control_starved(ctl);
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("control", "accept");
			return;
		}
		if (ctl->starved) {
			ctl->starved = false;
			log_info("control", "file descriptors are free again: "
			    "clients are served");
		}
		control_take(ctl, fd, false);
	}
}

static void
control_output_cb(void *arg, struct logfile *o, const char *data, size_t len)
{
	struct control *ctl = arg;
	struct control_client *c, *next;

	for (c = ctl->clients; c != NULL; c = next) {
		next = c->next;
		if (c->follow == o) {
			reply_data(c, data, len);
			client_flush(c);
		}
	}
}

static void
control_output_gone_cb(void *arg, struct logfile *o)
{
	struct control *ctl = arg;
	struct control_client *c, *next;

	for (c = ctl->clients; c != NULL; c = next) {
		next = c->next;
		if (c->follow == o) {
			c->follow = NULL;
			c->busy = false;
			reply_end(c, PROTOCOL_EXIT_OK);
			c->closing = true;
			client_flush(c);
		}
	}
}

/* Is someone answering on path?  Then it is not ours to replace. */
static bool
socket_is_live(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

static struct control *
control_new(const struct control_daemon *d, const char *path,
    const struct group *gr, int fd, char *key)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct output_hooks h;

	ctl->dm = *d;
	ctl->path = xstrdup(path);
	ctl->fd = fd;
	if (gr != NULL) {
		ctl->gid = gr->gr_gid;
		ctl->has_group = true;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	sockets_register(key, fd);
	free(key);
	ctl->spare[0] = spare_open();
	ctl->spare[1] = spare_open();
	ev_timer_init(&ctl->retry, control_retry_cb, 0., 0.);
	ev_io_init(&ctl->accept_io, control_accept_cb, fd, EV_READ);
	ev_io_start(d->sv->loop, &ctl->accept_io);
	h.data = control_output_cb;
	h.gone = control_output_gone_cb;
	h.arg = ctl;
	output_add_hooks(&h);
	return ctl;
}

struct control *
control_listen(const struct control_daemon *d, const char *path,
    const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *ctl;
	struct group *gr = NULL;
	char *dir, *slash, *key;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	if (group != NULL && (gr = getgrnam(group)) == NULL) {
		snprintf(err, errlen, "control_group %s: no such group", group);
		return NULL;
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir,
			    strerror(errno));
			free(dir);
			return NULL;
		}
	}
	free(dir);
	key = xasprintf("control:%s", path);
	if ((fd = sockets_take(key)) >= 0) {
		/* Carried across an upgrade: bound, listening, its clients
		 * queued while leashd executed itself again. */
		ctl = control_new(d, path, gr, fd, key);
		log_info("control", "listening on %s (carried over)", path);
		return ctl;
	}
	if (socket_is_live(path)) {
		snprintf(err, errlen, "another leashd is running: it answers on "
		    "%s", path);
		free(key);
		return NULL;
	}
	/* Replace a socket nobody answers on; never anything else. */
	switch (socket_unlink_stale(path, err, errlen)) {
	case -1:
		free(key);
		return NULL;
	case 1:
		log_info("control", "removed stale socket %s", path);
		break;
	}
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(key);
		return NULL;
	}
	/* Never, not even for a moment, more open than 0600. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		free(key);
		return NULL;
	}
	umask(old);
	if (gr != NULL && (chown(path, (uid_t)-1, gr->gr_gid) != 0 ||
	    chmod(path, 0660) != 0)) {
		snprintf(err, errlen, "cannot give %s to group %s: %s", path,
		    group, strerror(errno));
		close(fd);
		unlink(path);
		free(key);
		return NULL;
	}
	if (listen(fd, 128) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		unlink(path);
		free(key);
		return NULL;
	}
	ctl = control_new(d, path, gr, fd, key);
	log_info("control", "listening on %s", path);
	return ctl;
}

void
control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients != NULL) {
		client_flush(ctl->clients);
		if (ctl->clients != NULL)
			client_close(ctl->clients);
	}
	ev_io_stop(ctl->dm.sv->loop, &ctl->accept_io);
	ev_timer_stop(ctl->dm.sv->loop, &ctl->retry);
	for (int i = 0; i < 2; i++)
		if (ctl->spare[i] >= 0)
			close(ctl->spare[i]);
	sockets_unregister(ctl->fd);
	close(ctl->fd);
	unlink(ctl->path);
	control_collect(ctl);
	output_remove_hooks(ctl);
	free(ctl->path);
	free(ctl);
}
