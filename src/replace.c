/*
 * Drain-then-replace: the replacement's state and the pure judgement.
 */
#include <math.h>
#include <stdlib.h>

#include "log.h"
#include "replace.h"
#include "util.h"

#define RATE_SAMPLES 2		/* the newest pace: the last step */

static const char *const state_names[] = {
	[REPLACE_IDLE] = "IDLE",
	[REPLACE_QUEUED] = "QUEUED",
	[REPLACE_STARTING] = "STARTING",
	[REPLACE_BACKOFF] = "BACKOFF",
};

static const char *const reason_names[] = {
	[REASON_NONE] = "none",
	[REASON_EXIT] = "exit",
	[REASON_MANUAL] = "manual",
	[REASON_RELOAD] = "reload",
	[REASON_MEMORY] = "memory",
	[REASON_MEMORY_MAX] = "memory_max",
	[REASON_WATCHDOG] = "watchdog",
};

const char *
replace_state_name(enum replace_state s)
{
	return state_names[s];
}

const char *
restart_reason_name(enum restart_reason r)
{
	return reason_names[r];
}

void
replace_set_state(struct replace *r, const char *fullname,
    enum replace_state s)
{
	if (r->state == s)
		return;
	log_info("replace", "%s replace %s -> %s", fullname,
	    state_names[r->state], state_names[s]);
	r->state = s;
}

void
replace_add_draining(struct replace *r, struct instance *in)
{
	r->draining = xrealloc(r->draining,
	    (r->ndraining + 1) * sizeof(*r->draining));
	r->draining[r->ndraining++] = in;
}

void
replace_remove_draining(struct replace *r, struct instance *in)
{
	for (size_t i = 0; i < r->ndraining; i++) {
		if (r->draining[i] == in) {
			r->draining[i] = r->draining[--r->ndraining];
			return;
		}
	}
}

double
replace_delay(long failures)
{
	double delay = (double)failures;

	return delay > REPLACE_BACKOFF_MAX ? REPLACE_BACKOFF_MAX : delay;
}

/*
 * The growth that counts is recent: three samples at least within the
 * last three intervals (at least two seconds) -- a leak proportional to
 * traffic changes pace with it, and the whole ring would lag -- climbing
 * by more than noise (1 MiB and 1% of the figure) and ending at the
 * window's highest: growth that levelled off is flat there, a passed
 * spike falls.  The pace is that window's slope, or that of its newest
 * RATE_SAMPLES samples when faster.
 */
/* The samples growth is judged on: the last three intervals, at least two
 * seconds. */
static double
rate_window(double interval)
{
	return fmax(3 * interval, 2.0);
}

double
replace_rate(const struct memory_history *h, double interval)
{
	double rate, span, floor;
	unsigned n;

	if (h->n < 3)
		return -1;
	rate = memory_rate_window(h, rate_window(interval), &span, &n);
	floor = memory_noise(h->current);
	if (n < 3 || rate <= 0 || rate * span <= floor)
		return -1;
	/* A worker's share of the traffic, and so its leak, changes the
	 * moment connections move to it: the newest samples' pace, when
	 * faster, is the one that counts. */
	rate = fmax(rate, memory_rate_recent(h, RATE_SAMPLES, &span));
	/* A leak keeps its figure at the top of the window; a spike that
	 * has passed leaves a slope but not a rise. */
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (h->head + MEMORY_HISTORY - 1 - i) % MEMORY_HISTORY;
		if ((double)h->bytes[k] > (double)h->current + floor)
			return -1;
	}
	return rate;
}

void
replace_pace(struct pace *p, const struct memory_history *h, double interval,
    double now)
{
	double rate = 0, span = 0;

	if (h->n >= 2)
		rate = memory_rate_recent(h, RATE_SAMPLES, &span);
	if (h->n >= 2 && span <= rate_window(interval) && rate >= p->rate) {
		p->rate = rate;
		p->at = now;
	} else if (now - p->at > 2 * interval) {
		p->rate /= 2;
		p->at = now;
	}
}

double
replace_eta(const struct memory_history *h, uint64_t limit, double interval)
{
	double rate;

	if (h->n == 0 || limit == 0)
		return -1;
	if (h->current >= limit)
		return 0;
	if ((rate = replace_rate(h, interval)) <= 0)
		return -1;
	return (double)(limit - h->current) / rate;
}

struct verdict
replace_judge(const struct judge_input *in)
{
	const struct program_config *cfg = in->cfg;
	const struct memory_history *h = in->mem;
	struct verdict v = { .kind = VERDICT_NONE, .eta = -1 };
	bool over, heading;

	if (h->n == 0)
		return v;
	if (cfg->memory_max > 0 && h->current > cfg->memory_max) {
		v.kind = VERDICT_MEMORY_MAX;
		return v;
	}
	if (cfg->watchdog_sec > 0 && in->ready && !in->replacing &&
	    in->now - in->last_ping > cfg->watchdog_sec) {
		v.kind = VERDICT_WATCHDOG;
		return v;
	}
	if (cfg->memory_limit == 0)
		return v;
	v.eta = replace_eta(h, cfg->memory_limit, cfg->memory_interval);
	over = h->current > cfg->memory_limit;
	heading = !over && v.eta >= 0 && in->lead > 0 && v.eta <= in->lead;
	if (!over && !heading) {
		/* Look again when its own pace says it will be due, or,
		 * sooner, halfway to where its program's pace would make it
		 * due: a worker's pace follows its share of the traffic, which
		 * can grow at any moment.  Only when that is before the next
		 * tick. */
		double next = v.eta > in->lead ? v.eta - in->lead : -1;
		if (in->rate_prior > 0) {
			double e = ((double)(cfg->memory_limit - h->current) /
			    in->rate_prior - in->lead) / 2;
			if (next < 0 || e < next)
				next = e;
		}
		if (in->lead > 0 && next > -1 && next < cfg->memory_interval)
			v.next = fmax(next, REPLACE_CONFIRM_INTERVAL);
		return v;
	}
	v.over = in->over + 1;
	v.early = !over;
	if (in->replacing)
		return v;
	if (v.over < (unsigned)cfg->memory_samples) {
		v.kind = VERDICT_CONFIRM;
		v.next = REPLACE_CONFIRM_INTERVAL;
		return v;
	}
	if (in->now < in->not_before) {
		v.kind = VERDICT_HOLD;
		if (in->not_before - in->now < cfg->memory_interval)
			v.next = in->not_before - in->now;
		return v;
	}
	/* It may wait for max_replacing: watched at the confirmation pace,
	 * so that its getting far past the limit (replace_pick) is seen. */
	v.kind = VERDICT_REPLACE;
	v.next = REPLACE_CONFIRM_INTERVAL;
	return v;
}

enum takeover
replace_takeover(const struct program_config *cfg, enum restart_reason why,
    uint64_t old_bytes, uint64_t new_bytes)
{
	uint64_t limit = cfg->memory_limit;

	if (limit == 0 || why != REASON_MEMORY || new_bytes <= limit)
		return TAKEOVER_YES;
	/* Smaller by more than noise, as for growth. */
	if ((double)new_bytes + memory_noise(old_bytes) >=
	    (double)old_bytes)
		return TAKEOVER_NO;
	if ((double)(old_bytes - new_bytes) < REPLACE_GUARD_SAVING * (double)limit)
		return TAKEOVER_GUARDED;
	return TAKEOVER_YES;
}

void
replace_schedule(const double *eta, size_t n, long max_replacing,
    double ready, double *lead)
{
	size_t m = max_replacing > 0 ? (size_t)max_replacing : 1;

	/* Backwards, the latest start of each: before its own crossing, and
	 * a whole ready time before the start of the one m places later. */
	for (size_t i = n; i-- > 0;) {
		double latest = eta[i];
		if (i + m < n && lead[i + m] < latest)
			latest = lead[i + m];
		lead[i] = latest - ready;
	}
	for (size_t i = 0; i < n; i++)
		lead[i] = eta[i] - lead[i];
}

double
replace_lead(const struct program_config *cfg, double ready)
{
	return 1.25 * ready + cfg->memory_samples * REPLACE_CONFIRM_INTERVAL;
}

long
replace_pick(const double *ratio, size_t n, size_t inflight,
    long max_replacing)
{
	size_t max = max_replacing > 0 ? (size_t)max_replacing : 1;
	long best = -1;

	for (size_t i = 0; i < n; i++)
		if (best < 0 || ratio[i] > ratio[best])
			best = (long)i;
	if (best < 0)
		return -1;
	if (inflight < max)
		return best;
	if (ratio[best] >= 1.0 + REPLACE_BYPASS_OVER)
		return best;
	return -1;
}
