/*
 * The Prometheus text format: each family's HELP and TYPE once, then its
 * samples.  Families are written one after another over the whole pool,
 * as the format requires (a family's samples together).
 */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "metrics.h"
#include "proc.h"
#include "program.h"
#include "supervisor.h"
#include "util.h"
#include "worker.h"

/* Seconds; the histograms' upper bounds, +Inf after them. */
static const double bounds[HISTOGRAM_BUCKETS] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};

static const char *const timing_family[TIMING_MAX][2] = {
	[TIMING_DETECT] = { "leash_detection_delay_seconds",
	    "From the first sample over (or heading over) memory_limit to the "
	    "start of the replacement: confirmation samples and the "
	    "max_replacing queue." },
	[TIMING_REPLACE] = { "leash_replacement_duration_seconds",
	    "From the spawn of a replacement to its readiness (READY=1, or "
	    "startsecs alive)." },
	[TIMING_DRAIN] = { "leash_drain_duration_seconds",
	    "From drain_signal to a draining process's whole tree being gone, "
	    "SIGKILL at drain_timeout included." },
};

void
histogram_observe(struct histogram *h, double seconds)
{
	size_t i = 0;

	while (i < HISTOGRAM_BUCKETS && seconds > bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

/* A label value: backslash, double quote and newline escaped. */
static void
label_value(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{program="...",process="..."[,extra]} */
static void
sample_start(struct buf *b, const char *name, const struct program *p,
    const struct worker_view *v)
{
	buf_printf(b, "%s{program=", name);
	label_value(b, p->cfg->name);
	buf_puts(b, ",process=");
	label_value(b, v->process);
	if (strcmp(v->group, p->cfg->name) != 0) {
		buf_puts(b, ",group=");
		label_value(b, v->group);
	}
}

/* Calls fn for every worker of the pool, with its view. */
static void
each_worker(const struct pool *pool, struct buf *b, const char *name,
    void (*fn)(struct buf *, const char *, const struct program *,
    const struct worker *, const struct worker_view *))
{
	struct worker_view v;

	for (size_t i = 0; i < pool->n; i++) {
		const struct program *p = pool->v[i];

		for (size_t j = 0; j < p->nworkers; j++) {
			worker_view(&p->workers[j], &v);
			fn(b, name, p, &p->workers[j], &v);
		}
	}
}

static void
m_memory(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (!v->memory_known)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, ",source=\"%s\"} %llu\n", v->memory_source,
	    (unsigned long long)v->memory);
}

static void
m_peak(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (!v->memory_known)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, "} %llu\n", (unsigned long long)v->memory_peak);
}

static void
m_limit(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (v->memory_limit == 0)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, "} %llu\n", (unsigned long long)v->memory_limit);
}

static void
m_max(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (v->memory_max == 0)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, "} %llu\n", (unsigned long long)v->memory_max);
}

static void
m_rate(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (!v->memory_known)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, "} %.0f\n", v->memory_rate);
}

static void
m_trend(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	static const enum memory_trend trends[] = {
		TREND_UNKNOWN, TREND_GROWING, TREND_LEVELLED,
	};

	(void)w;
	for (size_t i = 0; i < nitems(trends); i++) {
		sample_start(b, name, p, v);
		buf_printf(b, ",trend=\"%s\"} %d\n",
		    memory_trend_name(trends[i]),
		    v->memory_known && v->trend == trends[i]);
	}
}

static void
m_eta(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (!v->memory_known || v->memory_limit == 0 || v->eta < 0)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, "} %.1f\n", v->eta);
}

static void
m_state(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	for (int s = WORKER_STOPPED; s <= WORKER_FATAL; s++) {
		sample_start(b, name, p, v);
		buf_printf(b, ",state=\"%s\"} %d\n",
		    worker_state_name((enum worker_state)s),
		    (int)v->state == s);
	}
}

static void
m_replace(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	sample_start(b, name, p, v);
	buf_printf(b, "} %d\n", w->rep.candidate != NULL);
}

static void
m_draining(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	sample_start(b, name, p, v);
	buf_printf(b, "} %zu\n", w->rep.ndraining);
}

static void
m_restarts(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	for (int r = REASON_EXIT; r < REASON_MAX; r++) {
		sample_start(b, name, p, v);
		buf_printf(b, ",reason=\"%s\"} %lu\n",
		    restart_reason_name((enum restart_reason)r),
		    v->restarts_by[r]);
	}
}

static void
m_start(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	(void)w;
	if (v->pid <= 0)
		return;
	sample_start(b, name, p, v);
	buf_printf(b, "} %.3f\n", v->start);
}

static void
m_failures(struct buf *b, const char *name, const struct program *p,
    const struct worker *w, const struct worker_view *v)
{
	sample_start(b, name, p, v);
	buf_printf(b, "} %ld\n", w->rep.failures);
}

static const struct {
	const char *name, *type, *help;
	void (*fn)(struct buf *, const char *name, const struct program *,
	    const struct worker *, const struct worker_view *);
} per_worker[] = {
	{ "leash_process_memory_bytes", "gauge",
	    "Memory of the process's tree, as its memory_source counts it.",
	    m_memory },
	{ "leash_process_memory_peak_bytes", "gauge",
	    "The highest sample of the current process.", m_peak },
	{ "leash_process_memory_limit_bytes", "gauge",
	    "memory_limit: over it, drain-then-replace.", m_limit },
	{ "leash_process_memory_max_bytes", "gauge",
	    "memory_max: over it, killed and restarted at once.", m_max },
	{ "leash_process_memory_growth_bytes_per_second", "gauge",
	    "Recent growth of the process's memory; 0 when not growing.",
	    m_rate },
	{ "leash_process_memory_trend", "gauge",
	    "1 for the memory trend the process shows: growing, levelled "
	    "(growth that stopped), or unknown (too few samples).", m_trend },
	{ "leash_process_memory_limit_eta_seconds", "gauge",
	    "Seconds until memory_limit at the recent growth; absent when "
	    "not heading there.", m_eta },
	{ "leash_process_state", "gauge",
	    "1 for the process's supervisord state.", m_state },
	{ "leash_process_replacing", "gauge",
	    "1 while a replacement starts beside the process.", m_replace },
	{ "leash_process_draining", "gauge",
	    "Old processes of this slot still draining.", m_draining },
	{ "leash_process_restarts_total", "counter",
	    "Restarts and replacements, by reason.", m_restarts },
	{ "leash_process_start_time_seconds", "gauge",
	    "Start of the current process, seconds since the epoch.",
	    m_start },
	{ "leash_process_replace_failures", "gauge",
	    "Failed replacements in a row (the slot backs off).",
	    m_failures },
};

static void
histograms(struct buf *b, const struct pool *pool, enum timing t)
{
	family(b, timing_family[t][0], "histogram", timing_family[t][1]);
	for (size_t i = 0; i < pool->n; i++) {
		const struct program *p = pool->v[i];
		const struct histogram *h = &p->stats.timing[t];
		unsigned long long n = 0;

		for (size_t k = 0; k <= HISTOGRAM_BUCKETS; k++) {
			n += h->bucket[k];
			buf_printf(b, "%s_bucket{program=", timing_family[t][0]);
			label_value(b, p->cfg->name);
			if (k < HISTOGRAM_BUCKETS)
				buf_printf(b, ",le=\"%g\"} %llu\n", bounds[k], n);
			else
				buf_printf(b, ",le=\"+Inf\"} %llu\n", n);
		}
		buf_printf(b, "%s_sum{program=", timing_family[t][0]);
		label_value(b, p->cfg->name);
		buf_printf(b, "} %.6f\n%s_count{program=", h->sum,
		    timing_family[t][0]);
		label_value(b, p->cfg->name);
		buf_printf(b, "} %llu\n", h->count);
	}
}

static void
self(struct buf *b)
{
	struct self_usage u;

	proc_self_usage(&u);
	family(b, "process_cpu_seconds_total", "counter",
	    "leashd's user and system CPU time.");
	buf_printf(b, "process_cpu_seconds_total %.3f\n", u.cpu);
	family(b, "process_resident_memory_bytes", "gauge",
	    "leashd's resident memory.");
	buf_printf(b, "process_resident_memory_bytes %llu\n",
	    (unsigned long long)u.rss);
	if (u.fds >= 0) {
		family(b, "process_open_fds", "gauge",
		    "leashd's open file descriptors.");
		buf_printf(b, "process_open_fds %ld\n", u.fds);
	}
	if (u.max_fds > 0) {
		family(b, "process_max_fds", "gauge",
		    "leashd's limit of open file descriptors.");
		buf_printf(b, "process_max_fds %ld\n", u.max_fds);
	}
	if (u.start > 0) {
		family(b, "process_start_time_seconds", "gauge",
		    "leashd's start, seconds since the epoch.");
		buf_printf(b, "process_start_time_seconds %.2f\n", u.start);
	}
}

void
metrics_render(const struct control_daemon *d, struct buf *b)
{
	const struct pool *pool = d->pool;
	size_t n = 0;

	family(b, "leash_build_info", "gauge",
	    "1, labelled with leashd's version.");
	buf_puts(b, "leash_build_info{version=");
	label_value(b, PACKAGE_VERSION);
	buf_puts(b, "} 1\n");
	for (size_t i = 0; i < pool->n; i++)
		n += pool->v[i]->nworkers;
	family(b, "leash_processes", "gauge", "Processes configured.");
	buf_printf(b, "leash_processes %zu\n", n);
	family(b, "leash_memory_restarts_total", "counter",
	    "Replacements and restarts for memory_limit and memory_max, "
	    "since leashd started.");
	buf_printf(b, "leash_memory_restarts_total %lu\n",
	    d->sv->memory_restarts);
	for (size_t i = 0; i < nitems(per_worker); i++) {
		family(b, per_worker[i].name, per_worker[i].type,
		    per_worker[i].help);
		each_worker(pool, b, per_worker[i].name, per_worker[i].fn);
	}
	for (int t = 0; t < TIMING_MAX; t++)
		histograms(b, pool, (enum timing)t);
	self(b);
}
