#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "proc.h"
#include "program.h"
#include "supervisor.h"
#include "top.h"
#include "util.h"
#include "worker.h"

struct row {
	const struct worker *w;
	struct worker_view v;
	double ratio;		/* memory / limit; -1: no limit or not known */
};

/* Nearest its limit first, then by name. */
static int
row_order(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->ratio != y->ratio)
		return x->ratio < y->ratio ? 1 : -1;
	return strcmp(x->v.name, y->v.name);
}

/* Appends line, cut to cols. */
static void
put(struct strv *lines, int cols, const char *line)
{
	strv_push(lines, xstrndup(line, (size_t)cols));
}

static const char *
row_state(const struct row *r)
{
	if (r->w->rep.candidate != NULL)
		return "REPLACING";
	if (r->w->rep.ndraining > 0 && r->v.state == WORKER_RUNNING)
		return "DRAINING";
	return worker_state_name(r->v.state);
}

/* [#####.....] of width, for ratio (over 1: all '!'). */
static void
bar(char *buf, int width, double ratio)
{
	int inside = width - 2, fill;

	buf[0] = '[';
	if (ratio < 0) {
		memset(buf + 1, ' ', (size_t)inside);
	} else {
		fill = ratio >= 1 ? inside : (int)(ratio * inside + 0.5);
		for (int i = 0; i < inside; i++)
			buf[1 + i] = i < fill ? (ratio >= 1 ? '!' : '#') : '.';
	}
	buf[width - 1] = ']';
	buf[width] = '\0';
}

static void
row_line(const struct row *r, int name_w, int bar_w, char *out, size_t len)
{
	const struct worker_view *v = &r->v;
	char pid[16], mem[40], grow[24], eta[48], b[128], h1[16], h2[16];
	char name[128];

	if ((int)strlen(v->name) > name_w)
		snprintf(name, sizeof(name), "%.*s~", name_w - 1, v->name);
	else
		snprintf(name, sizeof(name), "%s", v->name);
	if (v->pid > 0)
		snprintf(pid, sizeof(pid), "%d", (int)v->pid);
	else
		snprintf(pid, sizeof(pid), "-");
	if (!v->memory_known)
		snprintf(mem, sizeof(mem), "-");
	else if (v->memory_limit > 0)
		snprintf(mem, sizeof(mem), "%s/%s", memory_human(v->memory, h1),
		    memory_human(v->memory_limit, h2));
	else
		snprintf(mem, sizeof(mem), "%s", memory_human(v->memory, h1));
	if (!v->memory_known || v->trend == TREND_UNKNOWN)
		snprintf(grow, sizeof(grow), "-");
	else if (v->trend == TREND_LEVELLED)
		snprintf(grow, sizeof(grow), "level");
	else
		snprintf(grow, sizeof(grow), "+%s/s",
		    memory_human((uint64_t)(v->memory_rate > 0 ?
		    v->memory_rate : 0), h1));
	if (v->memory_known && v->memory_limit > 0 &&
	    v->memory >= v->memory_limit)
		snprintf(eta, sizeof(eta), "over");
	else if (v->memory_known && v->memory_limit > 0 && v->eta >= 0)
		format_duration(v->eta, eta, sizeof(eta));
	else
		snprintf(eta, sizeof(eta), "-");
	bar(b, bar_w, r->ratio);
	snprintf(out, len, "%-*s %-9s %7s %s %13s %9s %8s %4lu", name_w, name,
	    row_state(r), pid, b, mem, grow, eta, v->restarts);
}

void
top_render(const struct control_daemon *d, struct top_cpu *st, int cols,
    int rows, struct strv *lines)
{
	const struct pool *pool = d->pool;
	unsigned long by[REASON_MAX] = { 0 };
	size_t n = 0, running = 0, replacing = 0, draining = 0, shown;
	struct self_usage u;
	struct row *r;
	char line[1024], h[16], up[48], fds[48], cpu[32];
	double now = mono_now(), wall = wall_of(now), share;
	int name_w = 8, bar_w;
	size_t k = 0;

	for (size_t i = 0; i < pool->n; i++)
		n += pool->v[i]->nworkers;
	r = xcalloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < pool->n; i++)
		for (size_t j = 0; j < pool->v[i]->nworkers; j++, k++) {
			const struct worker *w = &pool->v[i]->workers[j];

			r[k].w = w;
			worker_view(w, &r[k].v);
			r[k].ratio = r[k].v.memory_known && r[k].v.memory_limit ?
			    (double)r[k].v.memory / (double)r[k].v.memory_limit :
			    -1;
			running += r[k].v.state == WORKER_RUNNING;
			replacing += w->rep.candidate != NULL;
			draining += w->rep.ndraining;
			for (int x = REASON_EXIT; x < REASON_MAX; x++)
				by[x] += r[k].v.restarts_by[x];
			if ((int)strlen(r[k].v.name) > name_w)
				name_w = (int)strlen(r[k].v.name);
		}
	qsort(r, n, sizeof(*r), row_order);

	proc_self_usage(&u);
	share = st->at > 0 && now > st->at ? (u.cpu - st->cpu) / (now - st->at) :
	    u.start > 0 && wall > u.start ? u.cpu / (wall - u.start) : 0;
	st->cpu = u.cpu;
	st->at = now;
	snprintf(cpu, sizeof(cpu), "%.1f%%", share * 100);
	if (u.start > 0)
		format_duration(wall - u.start, up, sizeof(up));
	else
		snprintf(up, sizeof(up), "-");
	if (u.fds >= 0)
		snprintf(fds, sizeof(fds), "%ld/%ld", u.fds, u.max_fds);
	else
		snprintf(fds, sizeof(fds), "out");
	snprintf(line, sizeof(line), "leashd %s  pid %d  up %s  cpu %s  rss %s  "
	    "fds %s", PACKAGE_VERSION, (int)d->sv->self, up, cpu,
	    memory_human(u.rss, h), fds);
	put(lines, cols, line);
	snprintf(line, sizeof(line), "%zu processes: %zu running, %zu replacing, "
	    "%zu draining", n, running, replacing, draining);
	put(lines, cols, line);
	k = (size_t)snprintf(line, sizeof(line), "restarts:");
	for (int x = REASON_EXIT; x < REASON_MAX; x++)
		k += (size_t)snprintf(line + k, sizeof(line) - k, " %s %lu",
		    restart_reason_name((enum restart_reason)x), by[x]);
	put(lines, cols, line);
	put(lines, cols, "");

	/* The name takes what it needs, up to a third; the bar the rest. */
	bar_w = cols - (9 + 1 + 7 + 1 + 1 + 13 + 1 + 9 + 1 + 8 + 1 + 4) - 1;
	if (name_w > cols / 3)
		name_w = cols / 3;
	bar_w -= name_w;
	if (bar_w > 32)
		bar_w = 32;
	if (bar_w < 4) {
		name_w -= 4 - bar_w;
		bar_w = 4;
	}
	if (name_w < 6)
		name_w = 6;
	snprintf(line, sizeof(line), "%-*s %-9s %7s %-*s %9s %8s %4s", name_w,
	    "NAME", "STATE", "PID", bar_w + 14, "MEMORY / LIMIT", "GROWTH",
	    "TO LIMIT", "RST");
	put(lines, cols, line);

	/* The rows that fit, and a last line. */
	shown = (size_t)rows - 6;
	if (shown > n)
		shown = n;
	for (size_t i = 0; i < shown; i++) {
		row_line(&r[i], name_w, bar_w, line, sizeof(line));
		put(lines, cols, line);
	}
	for (size_t i = shown; i < (size_t)rows - 6; i++)
		put(lines, cols, "");
	if (shown < n)
		snprintf(line, sizeof(line), "q quits  (%zu more, nearest the "
		    "limit first)", n - shown);
	else
		snprintf(line, sizeof(line), "q quits");
	put(lines, cols, line);
	free(r);
}
