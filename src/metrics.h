/*
 * Prometheus metrics: GET /metrics in the text exposition format (0.0.4),
 * served by rpc.c on supervisord's HTTP servers and on [leashd] metrics =.
 * Every process as worker_view shows it (memory, limit, state, trend,
 * restarts by reason), each program's replacement, drain and detection
 * times as histograms, and leashd's own cost under the names of
 * Prometheus' process collector.
 */
#ifndef LEASH_METRICS_H
#define LEASH_METRICS_H

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct buf;
struct control_daemon;

/* What a program's histograms time. */
enum timing {
	TIMING_DETECT,		/* first sample over (or heading over) the
				 * limit -> its replacement starts */
	TIMING_REPLACE,		/* the replacement's spawn -> it is ready */
	TIMING_DRAIN,		/* the old process is told to drain -> gone */
	TIMING_MAX,
};

#define HISTOGRAM_BUCKETS 12	/* and +Inf */

struct histogram {
	unsigned long long bucket[HISTOGRAM_BUCKETS + 1];	/* not cumulative */
	unsigned long long count;
	double sum;
};

/* Counts one observation, in seconds. */
void histogram_observe(struct histogram *, double seconds);

/* The whole exposition, appended to b. */
void metrics_render(const struct control_daemon *, struct buf *b);

#endif
