/*
 * The web page (web.h): HTML written into one buffer from each worker's
 * snapshot (worker_view), every string escaped.  Actions are POST forms
 * answered with 303 See Other, so that reloading the page never repeats
 * one, and the page needs no script.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "http.h"
#include "log.h"
#include "memory.h"
#include "program.h"
#include "supervisor.h"
#include "web.h"

static const char web_style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
	"h1{font-size:1.4em;margin:0}header p{margin:.2em 0 1em;color:#555}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;"
	"vertical-align:top}th{background:#f4f4f4}"
	"td.num{text-align:right}small{color:#666}"
	".msg{padding:.5em .8em;background:#e8f4e8;border:1px solid #9c9}"
	".msg.err{background:#fbe9e9;border-color:#d99}"
	".RUNNING{color:#161}.STARTING,.STOPPING,.BACKOFF{color:#a60}"
	".FATAL,.EXITED{color:#b11}.STOPPED{color:#666}"
	".bar{width:10em;height:.7em;background:#eee;border:1px solid #bbb}"
	".bar span{display:block;height:100%;background:#4a4}"
	".bar.near span{background:#d90}.bar.over span{background:#c22}"
	"form{display:inline;margin:0}button{margin:0 .15em .2em 0}"
	"td.act a{margin-left:.4em}"
	"pre{background:#f8f8f8;border:1px solid #ddd;padding:.6em;"
	"white-space:pre-wrap;word-break:break-all}";

static void
html_str(struct buf *b, const char *s)
{
	buf_xml_text(b, s, strlen(s));
}

static void
page_begin(struct buf *b, const struct control_daemon *d, const char *title)
{
	buf_puts(b, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
	    "<meta name=viewport content=\"width=device-width\"><title>");
	html_str(b, title);
	buf_printf(b, "</title><style>%s</style></head><body><header><h1>",
	    web_style);
	html_str(b, title);
	buf_printf(b, "</h1><p>leashd %s, pid %d", PACKAGE_VERSION,
	    (int)d->sv->self);
	if (d->shutting_down(d->arg))
		buf_puts(b, ", <strong>shutting down</strong>");
	buf_puts(b, " &middot; <a href=\"/\">refresh</a></p></header>\n");
}

/* b, as the answer; it is emptied. */
static void
page_send(struct http_request *req, unsigned int status, struct buf *b)
{
	buf_puts(b, "</body></html>\n");
	http_add_header(req, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
	http_add_header(req, "X-Frame-Options", "DENY");
	http_add_header(req, "X-Content-Type-Options", "nosniff");
	http_add_header(req, "Cache-Control", "no-store");
	http_reply(req, status, "text/html; charset=utf-8", b->p, b->n);
	buf_reset(b);
}

static void
message(struct buf *b, const char *msg)
{
	if (msg == NULL || *msg == '\0')
		return;
	buf_printf(b, "<p class=\"msg%s\" id=msg>",
	    strncmp(msg, "ERROR", 5) == 0 ? " err" : "");
	html_str(b, msg);
	buf_puts(b, "</p>\n");
}

/* The figure against the limit, as a bar with the numbers. */
static void
memory_cell(struct buf *b, const struct worker_view *v)
{
	char cur[16], lim[16], peak[16], max[16];
	double pct;

	if (!v->memory_known) {
		buf_puts(b, "<td>-</td>");
		return;
	}
	buf_puts(b, "<td>");
	if (v->memory_limit > 0) {
		pct = 100.0 * (double)v->memory / (double)v->memory_limit;
		buf_printf(b, "<div class=\"bar%s\"><span style=\"width:%.0f%%\">"
		    "</span></div>%s / %s (%.0f%%)", pct >= 100 ? " over" :
		    pct >= 80 ? " near" : "", pct > 100 ? 100 : pct,
		    memory_human(v->memory, cur),
		    memory_human(v->memory_limit, lim), pct);
	} else
		buf_printf(b, "%s, no limit", memory_human(v->memory, cur));
	buf_printf(b, "<br><small>%s, peak %s", v->memory_source,
	    memory_human(v->memory_peak, peak));
	if (v->memory_max > 0)
		buf_printf(b, ", memory_max %s", memory_human(v->memory_max, max));
	buf_puts(b, "</small></td>");
}

static void
trend_cell(struct buf *b, const struct worker_view *v)
{
	char rate[16], eta[32];

	if (!v->memory_known || v->trend == TREND_UNKNOWN) {
		buf_puts(b, "<td>-</td>");
		return;
	}
	buf_printf(b, "<td>%s", memory_trend_name(v->trend));
	if (v->trend == TREND_GROWING && v->memory_rate > 0)
		buf_printf(b, " +%s/s", memory_human((uint64_t)v->memory_rate,
		    rate));
	if (v->eta > 0) {
		format_duration(v->eta, eta, sizeof(eta));
		buf_printf(b, "<br><small>limit in %s</small>", eta);
	} else if (v->eta == 0)
		buf_puts(b, "<br><small>over the limit</small>");
	buf_puts(b, "</td>");
}

static void
restarts_cell(struct buf *b, const struct worker_view *v)
{
	const char *sep = " <small>(";

	buf_printf(b, "<td>%lu", v->restarts);
	for (int r = REASON_EXIT; r < REASON_MAX; r++) {
		if (v->restarts_by[r] == 0)
			continue;
		buf_printf(b, "%s%s %lu", sep, restart_reason_name(r),
		    v->restarts_by[r]);
		sep = ", ";
	}
	buf_puts(b, *sep == ',' ? ")</small></td>" : "</td>");
}

/* Drain-then-replace: the new process starting, the old ones draining. */
static void
replace_cell(struct buf *b, const struct worker *w)
{
	const struct replace *rep = &w->rep;

	if (rep->state == REPLACE_IDLE && rep->ndraining == 0 &&
	    !rep->footprint_over) {
		buf_puts(b, "<td>-</td>");
		return;
	}
	buf_printf(b, "<td>%s", replace_state_name(rep->state));
	if (rep->candidate != NULL)
		buf_printf(b, "<br>replacing: new pid %d",
		    (int)rep->candidate->pid);
	for (size_t i = 0; i < rep->ndraining; i++)
		buf_printf(b, "%sdraining pid %d", i ? ", " : "<br>",
		    (int)rep->draining[i]->pid);
	if (rep->footprint_over)
		buf_puts(b, "<br><small>footprint exceeds memory_limit</small>");
	buf_puts(b, "</td>");
}

struct web_action {
	const char *name;		/* do= */
	const char *done;		/* the message: "DONE NAME" */
	bool (*can)(const struct worker *);
	int (*act)(struct worker *);	/* -1: refused */
};

static bool
can_start(const struct worker *w)
{
	return w->state != WORKER_RUNNING && w->state != WORKER_STARTING;
}

static int
act_start(struct worker *w)
{
	worker_start(w, REASON_NONE);
	return 0;
}

static bool
can_stop(const struct worker *w)
{
	return !worker_is_down(w) || w->state == WORKER_BACKOFF;
}

static int
act_stop(struct worker *w)
{
	worker_stop(w);
	return 0;
}

static bool
can_restart(const struct worker *w)
{
	(void)w;
	return true;
}

/* As leashctl restart: stop, then start again. */
static int
act_restart(struct worker *w)
{
	worker_stop(w);
	worker_start(w, REASON_MANUAL);
	return 0;
}

static bool
can_replace(const struct worker *w)
{
	return (w->state == WORKER_RUNNING || w->state == WORKER_STARTING) &&
	    w->rep.candidate == NULL;
}

/* As leashctl reload NAME: drain-then-replace. */
static int
act_replace(struct worker *w)
{
	return worker_replace(w, REASON_RELOAD);
}

static const struct web_action web_actions[] = {
	{ "start", "started", can_start, act_start },
	{ "stop", "stopped", can_stop, act_stop },
	{ "restart", "restarted", can_restart, act_restart },
	{ "replace", "replacing (drain-then-replace)", can_replace, act_replace },
};

static void
actions_cell(struct buf *b, const struct worker *w)
{
	struct buf enc = { 0 };

	buf_puts(b, "<td class=act><form method=post action=\"/action\">"
	    "<input type=hidden name=name value=\"");
	html_str(b, w->fullname);
	buf_puts(b, "\">");
	for (size_t i = 0; i < nitems(web_actions); i++) {
		buf_printf(b, "<button name=do value=%s data-name=\"",
		    web_actions[i].name);
		html_str(b, w->fullname);
		buf_printf(b, "\"%s>%s</button>", web_actions[i].can(w) ? "" :
		    " disabled", web_actions[i].name);
	}
	http_url_encode(&enc, w->fullname);
	buf_puts(b, "</form><a href=\"/tail?name=");
	html_str(b, enc.p);
	buf_puts(b, "\">tail</a> <a href=\"/tail?name=");
	html_str(b, enc.p);
	buf_puts(b, "&amp;channel=stderr\">stderr</a></td>");
	buf_reset(&enc);
}

static void
process_row(struct buf *b, const struct worker *w)
{
	struct worker_view v;
	char up[32];

	worker_view(w, &v);
	buf_puts(b, "<tr data-name=\"");
	html_str(b, v.name);
	buf_puts(b, "\"><td>");
	html_str(b, v.name);
	buf_printf(b, "</td><td class=%s>%s", worker_state_name(v.state),
	    worker_state_name(v.state));
	if (v.spawn_error != NULL) {
		buf_puts(b, "<br><small>");
		html_str(b, v.spawn_error);
		buf_puts(b, "</small>");
	} else if (v.status_text != NULL) {
		buf_puts(b, "<br><small>");
		html_str(b, v.status_text);
		buf_puts(b, "</small>");
	}
	if (v.pid > 0) {
		format_duration(v.uptime, up, sizeof(up));
		buf_printf(b, "</td><td class=num>%d</td><td>%s</td>",
		    (int)v.pid, up);
	} else
		buf_puts(b, "</td><td class=num>-</td><td>-</td>");
	memory_cell(b, &v);
	trend_cell(b, &v);
	restarts_cell(b, &v);
	replace_cell(b, w);
	actions_cell(b, w);
	buf_puts(b, "</tr>\n");
}

/* The processes, with msg (escaped) above them. */
static void
page_status(const struct control_daemon *d, struct http_request *req,
    unsigned int status, const char *msg)
{
	struct buf b = { 0 };

	page_begin(&b, d, "leash");
	message(&b, msg);
	buf_puts(&b, "<table><thead><tr><th>name</th><th>state</th>"
	    "<th>pid</th><th>uptime</th><th>memory</th><th>trend</th>"
	    "<th>restarts</th><th>replacement</th><th>actions</th></tr>"
	    "</thead><tbody>\n");
	for (size_t i = 0; i < d->pool->n; i++) {
		const struct program *p = d->pool->v[i];
		for (size_t j = 0; !p->removing && j < p->nworkers; j++)
			process_row(&b, &p->workers[j]);
	}
	buf_puts(&b, "</tbody></table>\n");
	page_send(req, status, &b);
}

static void
web_status(const struct control_daemon *d, struct http_request *req)
{
	page_status(d, req, 200, http_arg(req, "msg"));
}

static void __attribute__((format(printf, 4, 5)))
page_error(const struct control_daemon *d, struct http_request *req,
    unsigned int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	page_status(d, req, status, msg);
	free(msg);
}

static void
web_action(const struct control_daemon *d, struct http_request *req)
{
	const char *name = http_arg(req, "name"), *what = http_arg(req, "do");
	const struct web_action *a = NULL;
	struct buf loc = { 0 };
	struct worker *w;
	char *msg;

	if (http_cross_origin(req)) {
		static const char no[] = "Forbidden: a form of another site\n";
		http_reply(req, 403, "text/plain", no, sizeof(no) - 1);
		return;
	}
	for (size_t i = 0; what != NULL && i < nitems(web_actions); i++)
		if (strcmp(what, web_actions[i].name) == 0)
			a = &web_actions[i];
	if (a == NULL) {
		page_error(d, req, 400, "ERROR: no such action: %s",
		    what ? what : "(none)");
		return;
	}
	if (name == NULL || (w = pool_find_worker(d->pool, name)) == NULL) {
		page_error(d, req, 404, "ERROR: no such process: %s",
		    name ? name : "(none)");
		return;
	}
	if (d->shutting_down(d->arg))
		msg = xstrdup("ERROR: leashd is shutting down");
	else if (!a->can(w) || a->act(w) != 0)
		msg = xasprintf("ERROR: cannot %s %s: it is %s%s", a->name,
		    w->fullname, worker_state_name(w->state),
		    w->rep.candidate ? ", being replaced" : "");
	else {
		log_info("web", "%s: %s", w->fullname, a->name);
		supervisor_changed(d->sv);
		msg = xasprintf("%s %s", a->done, w->fullname);
	}
	buf_puts(&loc, "/?msg=");
	http_url_encode(&loc, msg);
	http_redirect(req, loc.p);
	buf_reset(&loc);
	free(msg);
}

static void
web_tail(const struct control_daemon *d, struct http_request *req)
{
	const char *name = http_arg(req, "name");
	const char *channel = http_arg(req, "channel"), *path;
	struct buf b = { 0 }, enc = { 0 };
	struct worker_view v;
	struct worker *w;
	char *title, *data, *nl;
	size_t len, start = 0;

	if (channel == NULL)
		channel = "stdout";
	if (strcmp(channel, "stdout") != 0 && strcmp(channel, "stderr") != 0) {
		page_error(d, req, 400, "ERROR: no such channel: %s (stdout "
		    "or stderr)", channel);
		return;
	}
	if (name == NULL || (w = pool_find_worker(d->pool, name)) == NULL) {
		page_error(d, req, 404, "ERROR: no such process: %s",
		    name ? name : "(none)");
		return;
	}
	worker_view(w, &v);
	path = strcmp(channel, "stderr") == 0 ? v.stderr_log : v.stdout_log;
	title = xasprintf("%s %s", v.name, channel);
	page_begin(&b, d, title);
	http_url_encode(&enc, v.name);
	buf_puts(&b, "<p><a href=\"/tail?name=");
	html_str(&b, enc.p);
	buf_printf(&b, "&amp;channel=%s\">refresh</a> &middot; ", channel);
	if (path == NULL)
		buf_printf(&b, "no %s log is kept%s</p>\n", channel,
		    strcmp(channel, "stderr") == 0 && w->spec.cfg->redirect_stderr ?
		    " (redirect_stderr: it goes to stdout's)" : "");
	else if ((data = file_tail(path, WEB_TAIL_BYTES, &len)) == NULL) {
		html_str(&b, path);
		buf_printf(&b, ": %s</p>\n", strerror(errno));
	} else {
		html_str(&b, path);
		buf_printf(&b, ", its last %d KiB at most</p>\n<pre id=tail>",
		    WEB_TAIL_BYTES >> 10);
		/* From a line's start when the tail cut one. */
		if (len == WEB_TAIL_BYTES && (nl = memchr(data, '\n', len)) != NULL)
			start = (size_t)(nl + 1 - data);
		buf_xml_text(&b, data + start, len - start);
		buf_puts(&b, "</pre>\n");
		free(data);
	}
	page_send(req, 200, &b);
	buf_reset(&enc);
	free(title);
}

static const struct web_route {
	const char *path;
	const char *method;		/* GET answers HEAD too */
	void (*fn)(const struct control_daemon *, struct http_request *);
} web_routes[] = {
	{ "/", "GET", web_status },
	{ "/index.html", "GET", web_status },
	{ "/tail", "GET", web_tail },
	{ "/action", "POST", web_action },
};

bool
web_request(const struct control_daemon *d, struct http_request *req)
{
	const char *m = http_method(req), *path = http_path(req);

	for (size_t i = 0; i < nitems(web_routes); i++) {
		const struct web_route *r = &web_routes[i];
		if (strcmp(path, r->path) != 0)
			continue;
		if (strcmp(m, r->method) == 0 || (strcmp(m, "HEAD") == 0 &&
		    strcmp(r->method, "GET") == 0))
			r->fn(d, req);
		else {
			/* A GET of /action changes nothing. */
			http_add_header(req, "Allow", strcmp(r->method, "GET") == 0 ?
			    "GET, HEAD" : r->method);
			http_reply(req, 405, "text/plain", "Method Not Allowed\n",
			    19);
		}
		return true;
	}
	return false;
}
