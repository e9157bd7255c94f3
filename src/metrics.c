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

/* One process in one family. */
struct sample {
	struct buf *b;
	const char *name;
	const struct program *p;
	const struct worker *w;
	struct worker_view v;
};

/* name{program="...",process="..."[,group="..."][,extra]} value */
static void
emit(const struct sample *s, const char *extra, double value)
{
	buf_printf(s->b, "%s{program=", s->name);
	label_value(s->b, s->p->cfg->name);
	buf_puts(s->b, ",process=");
	label_value(s->b, s->v.process);
	if (strcmp(s->v.group, s->p->cfg->name) != 0) {
		buf_puts(s->b, ",group=");
		label_value(s->b, s->v.group);
	}
	buf_printf(s->b, "%s%s} %.15g\n", extra ? "," : "", extra ? extra : "",
	    value);
}

static void
m_memory(const struct sample *s)
{
	char source[64];

	snprintf(source, sizeof(source), "source=\"%s\"", s->v.memory_source);
	if (s->v.memory_known)
		emit(s, source, (double)s->v.memory);
}

static void
m_peak(const struct sample *s)
{
	if (s->v.memory_known)
		emit(s, NULL, (double)s->v.memory_peak);
}

static void
m_limit(const struct sample *s)
{
	if (s->v.memory_limit > 0)
		emit(s, NULL, (double)s->v.memory_limit);
}

static void
m_max(const struct sample *s)
{
	if (s->v.memory_max > 0)
		emit(s, NULL, (double)s->v.memory_max);
}

static void
m_rate(const struct sample *s)
{
	if (s->v.memory_known)
		emit(s, NULL, s->v.memory_rate > 0 ?
		    (double)(long long)s->v.memory_rate : 0);
}

static void
m_trend(const struct sample *s)
{
	static const enum memory_trend trends[] = {
		TREND_UNKNOWN, TREND_GROWING, TREND_LEVELLED,
	};
	char label[64];

	for (size_t i = 0; i < nitems(trends); i++) {
		snprintf(label, sizeof(label), "trend=\"%s\"",
		    memory_trend_name(trends[i]));
		emit(s, label, s->v.memory_known && s->v.trend == trends[i]);
	}
}

static void
m_eta(const struct sample *s)
{
	if (s->v.memory_known && s->v.memory_limit > 0 && s->v.eta >= 0)
		emit(s, NULL, (double)(long long)(s->v.eta * 10) / 10);
}

static void
m_state(const struct sample *s)
{
	char label[64];

	for (int st = WORKER_STOPPED; st <= WORKER_FATAL; st++) {
		snprintf(label, sizeof(label), "state=\"%s\"",
		    worker_state_name((enum worker_state)st));
		emit(s, label, (int)s->v.state == st);
	}
}

static void
m_replacing(const struct sample *s)
{
	emit(s, NULL, s->w->rep.candidate != NULL);
}

static void
m_draining(const struct sample *s)
{
	emit(s, NULL, (double)s->w->rep.ndraining);
}

static void
m_restarts(const struct sample *s)
{
	char label[64];

	for (int r = REASON_EXIT; r < REASON_MAX; r++) {
		snprintf(label, sizeof(label), "reason=\"%s\"",
		    restart_reason_name((enum restart_reason)r));
		emit(s, label, (double)s->v.restarts_by[r]);
	}
}

static void
m_start(const struct sample *s)
{
	if (s->v.pid > 0)
		emit(s, NULL, (double)(long long)(s->v.start * 1000) / 1000);
}

static void
m_failures(const struct sample *s)
{
	emit(s, NULL, (double)s->w->rep.failures);
}

static const struct {
	const char *name, *type, *help;
	void (*fn)(const struct sample *);
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
	    "1 while a replacement starts beside the process.", m_replacing },
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

/* A family over every process of the pool. */
static void
per_worker_family(struct buf *b, const struct pool *pool, size_t f)
{
	struct sample s = { .b = b, .name = per_worker[f].name };

	family(b, per_worker[f].name, per_worker[f].type, per_worker[f].help);
	for (size_t i = 0; i < pool->n; i++) {
		s.p = pool->v[i];
		for (size_t j = 0; j < s.p->nworkers; j++) {
			s.w = &s.p->workers[j];
			worker_view(s.w, &s.v);
			per_worker[f].fn(&s);
		}
	}
}

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
	for (size_t i = 0; i < nitems(per_worker); i++)
		per_worker_family(b, pool, i);
	for (int t = 0; t < TIMING_MAX; t++)
		histograms(b, pool, (enum timing)t);
	self(b);
}
