/*
 * The drain-then-replace policy without processes: the judge, the
 * takeover rule and the loop guard, the back-off, the queue, and the
 * schedule that spreads replacements ahead of the limit -- then a whole
 * pool simulated on these rules under a leak that grows with traffic,
 * as the bench loads it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replace.h"
#include "tap.h"

#define MiB (1024.0 * 1024.0)

static struct program_config
cfg_with(double limit_mib, long samples, double interval)
{
	struct program_config c;

	memset(&c, 0, sizeof(c));
	c.memory_limit = (uint64_t)(limit_mib * MiB);
	c.memory_samples = samples;
	c.memory_interval = interval;
	c.startsecs = 1;
	c.max_replacing = 1;
	return c;
}

/* A history of n samples, interval apart, ending at t_end, growing at
 * rate MiB/s from base MiB. */
static void
history_line(struct memory_history *h, unsigned n, double interval,
    double t_end, double base, double rate)
{
	memset(h, 0, sizeof(*h));
	for (unsigned i = 0; i < n; i++) {
		double t = t_end - (n - 1 - i) * interval;
		memory_record(h, t, (uint64_t)((base + rate * i * interval) * MiB));
	}
}

static struct judge_input
input(const struct program_config *c, const struct memory_history *h,
    unsigned over, double now)
{
	struct judge_input in = {
		.cfg = c, .mem = h, .over = over, .now = now, .last_ping = now,
		.lead = replace_lead(c, 1.0), .ready = true,
	};
	return in;
}

static void
test_judge(void)
{
	struct program_config c = cfg_with(64, 3, 1.0);
	struct memory_history h;
	struct judge_input in;
	struct verdict v;

	/* Under the limit and flat: nothing, and no early look. */
	history_line(&h, 10, 1.0, 10, 20, 0);
	v = replace_judge(&(struct judge_input){ .cfg = &c, .mem = &h,
	    .now = 10, .last_ping = 10, .lead = 2, .ready = true });
	ok(v.kind == VERDICT_NONE && v.over == 0 && v.eta < 0 && v.next == 0,
	    "flat under the limit: no verdict, no eta, no early look");

	/* Spike tolerance: over, over, then under resets the count. */
	memset(&h, 0, sizeof(h));
	memory_record(&h, 0, 20 * MiB);
	memory_record(&h, 1, 70 * MiB);
	in = input(&c, &h, 0, 1);
	v = replace_judge(&in);
	ok(v.kind == VERDICT_CONFIRM && v.over == 1,
	    "first sample over: confirm (count 1)");
	ok(fabs(v.next - REPLACE_CONFIRM_INTERVAL) < 1e-9,
	    "the confirmation sample comes %.0f ms later",
	    REPLACE_CONFIRM_INTERVAL * 1000);
	memory_record(&h, 1.025, 70 * MiB);
	in = input(&c, &h, v.over, 1.025);
	v = replace_judge(&in);
	ok(v.kind == VERDICT_CONFIRM && v.over == 2, "second: confirm (2 of 3)");
	memory_record(&h, 1.05, 20 * MiB);
	in = input(&c, &h, v.over, 1.05);
	v = replace_judge(&in);
	ok(v.kind == VERDICT_NONE && v.over == 0,
	    "back under before memory_samples: tolerated, count reset");

	/* Confirmed: memory_samples in a row. */
	memory_record(&h, 2, 70 * MiB);
	v = replace_judge(&(struct judge_input){ .cfg = &c, .mem = &h,
	    .over = 2, .now = 2, .last_ping = 2, .ready = true });
	ok(v.kind == VERDICT_REPLACE && v.over == 3 && !v.early,
	    "third sample over in a row: replace (not early)");

	/* Backing off: held, and looked at again when the back-off ends. */
	in = input(&c, &h, 2, 2);
	in.not_before = 2.4;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_HOLD && fabs(v.next - 0.4) < 1e-9,
	    "backing off: hold, look again in 0.4 s when it ends");

	/* A replacement already starting: the count goes on, no new one. */
	in = input(&c, &h, 2, 2);
	in.replacing = true;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_NONE && v.over == 3,
	    "replacement starting: no new verdict, count kept");

	/* memory_max: at the first sample over it, no confirmation. */
	c.memory_max = (uint64_t)(68 * MiB);
	in = input(&c, &h, 0, 2);
	v = replace_judge(&in);
	ok(v.kind == VERDICT_MEMORY_MAX, "over memory_max: at once");
	c.memory_max = 0;

	/* The watchdog, only for a ready process without a replacement. */
	c.watchdog_sec = 5;
	history_line(&h, 10, 1.0, 10, 20, 0);
	in = input(&c, &h, 0, 10);
	in.last_ping = 4;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_WATCHDOG, "no WATCHDOG=1 for 6 s of 5: replace");
	in.ready = false;
	ok(replace_judge(&in).kind == VERDICT_NONE,
	    "watchdog: not before the process is ready");
	in.ready = true;
	in.replacing = true;
	ok(replace_judge(&in).kind == VERDICT_NONE,
	    "watchdog: not while a replacement starts");
	c.watchdog_sec = 0;

	/* No memory_limit: no judgement of size. */
	c.memory_limit = 0;
	memory_record(&h, 11, 900 * MiB);
	ok(replace_judge(&(struct judge_input){ .cfg = &c, .mem = &h,
	    .now = 11 }).kind == VERDICT_NONE, "no memory_limit: nothing");
}

static void
test_early(void)
{
	struct program_config c = cfg_with(64, 2, 1.0);
	struct memory_history h;
	struct judge_input in;
	struct verdict v;

	/* 8 MiB/s, now at 40 MiB: the limit in 3 s. */
	history_line(&h, 6, 1.0, 5, 0, 8);
	ok(fabs(replace_eta(&h, c.memory_limit, 1.0) - 3.0) < 0.01,
	    "eta: 24 MiB to go at 8 MiB/s is 3 s (%.2f)",
	    replace_eta(&h, c.memory_limit, 1.0));
	in = input(&c, &h, 0, 5);
	in.lead = 4;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_CONFIRM && v.over == 1,
	    "heading over within its lead: counts, confirmed like a crossing");
	in.over = 1;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_REPLACE && v.early && fabs(v.eta - 3) < 0.01,
	    "confirmed: replaced early, 3 s ahead of the limit");
	in.over = 0;
	in.lead = 2.5;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_NONE && fabs(v.next - 0.5) < 0.01,
	    "due in 0.5 s, before the next tick: a look is set for then");
	in.lead = 1;
	v = replace_judge(&in);
	ok(v.kind == VERDICT_NONE && v.next == 0,
	    "due after the next tick: no extra look");

	/* The recent pace counts, not the whole ring's. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i <= 20; i++) {
		double mib = i <= 15 ? i * 1.0 : 15 + (i - 15) * 6.0;
		memory_record(&h, i, (uint64_t)(mib * MiB));
	}
	ok(fabs(replace_eta(&h, c.memory_limit, 1.0) - (64 - 45) / 6.0) < 0.2,
	    "traffic rose: eta from the last seconds' 6 MiB/s (%.2f s)",
	    replace_eta(&h, c.memory_limit, 1.0));

	/* Levelled off: never early. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 20; i++)
		memory_record(&h, i, (uint64_t)((i < 6 ? i * 9.0 : 54.0) * MiB));
	ok(replace_eta(&h, c.memory_limit, 1.0) < 0,
	    "grew to 54 MiB then levelled off: no eta");
	in = input(&c, &h, 1, 19);
	in.lead = 100;
	ok(replace_judge(&in).kind == VERDICT_NONE,
	    "levelled off under the limit: never replaced early");

	/* A spike that has passed leaves a slope, not a rise. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 16; i++)
		memory_record(&h, i * 0.25, (uint64_t)(((i >= 10 && i < 14) ?
		    50.0 : 20.0) * MiB));
	ok(replace_eta(&h, c.memory_limit, 0.25) < 0,
	    "a passed spike is not growth");

	/* Too few samples to tell. */
	history_line(&h, 2, 1.0, 1, 0, 30);
	ok(replace_eta(&h, c.memory_limit, 1.0) < 0,
	    "two samples: no eta yet");
	/* Over the limit: eta 0. */
	history_line(&h, 3, 1.0, 2, 60, 10);
	ok(replace_eta(&h, c.memory_limit, 1.0) == 0, "over the limit: eta 0");
}

static void
test_takeover(void)
{
	struct program_config c = cfg_with(64, 2, 1.0);
	uint64_t M = (uint64_t)MiB;

	ok(replace_takeover(&c, REASON_MEMORY, 90 * M, 20 * M) == TAKEOVER_YES,
	    "a small replacement takes over");
	ok(replace_takeover(&c, REASON_MEMORY, 200 * M, 100 * M) ==
	    TAKEOVER_YES, "over the limit but far smaller (a fast leak while "
	    "it started): takes over, no loop guard");
	ok(replace_takeover(&c, REASON_MEMORY, 80 * M, 78 * M) ==
	    TAKEOVER_GUARDED, "over the limit and hardly smaller: takes over, "
	    "its own replacement backs off (loop guard)");
	ok(replace_takeover(&c, REASON_MEMORY, 80 * M, 80 * M) == TAKEOVER_NO,
	    "not smaller: it drains, the old one keeps serving");
	ok(replace_takeover(&c, REASON_MEMORY, 80 * M, 80 * M - M / 2) ==
	    TAKEOVER_NO, "half a MiB smaller is noise: not smaller");
	ok(replace_takeover(&c, REASON_MEMORY, 40 * M, 50 * M) == TAKEOVER_YES,
	    "under the limit: takes over whatever the old one's size");
	ok(replace_takeover(&c, REASON_RELOAD, 80 * M, 90 * M) == TAKEOVER_YES,
	    "a reload is not judged by size");
	ok(replace_takeover(&c, REASON_WATCHDOG, 80 * M, 90 * M) ==
	    TAKEOVER_YES, "nor a watchdog replacement");
	c.memory_limit = 0;
	ok(replace_takeover(&c, REASON_MEMORY, 1, 2) == TAKEOVER_YES,
	    "no memory_limit: always");
}

static void
test_backoff_and_queue(void)
{
	double r[4];

	ok(replace_delay(1) == 1 && replace_delay(2) == 2 &&
	    replace_delay(3) == 3, "back-off grows 1 s, 2 s, 3 s");
	ok(replace_delay(500) == REPLACE_BACKOFF_MAX, "at most %.0f s",
	    REPLACE_BACKOFF_MAX);

	r[0] = 1.05; r[1] = 1.20; r[2] = 1.10;
	ok(replace_pick(r, 3, 0, 1) == 1, "furthest over first");
	ok(replace_pick(r, 3, 1, 1) == -1,
	    "max_replacing 1 in flight: the rest wait");
	ok(replace_pick(r, 3, 1, 2) == 1, "max_replacing 2: a second starts");
	r[1] = 1.25;
	ok(replace_pick(r, 3, 1, 1) == 1 && replace_pick(r, 3, 3, 1) == 1,
	    "25%% past the limit: starts whatever max_replacing says");
	r[1] = 1.24;
	ok(replace_pick(r, 3, 1, 1) == -1, "24%% past: waits its turn");
	ok(replace_pick(r, 0, 0, 1) == -1, "empty queue: nothing");
}

static void
test_schedule(void)
{
	double eta[4], lead[4];

	/* Four workers reaching the limit together, one at a time, 1 s each:
	 * the first must start 4 s ahead, the last 1 s. */
	for (int i = 0; i < 4; i++)
		eta[i] = 10;
	replace_schedule(eta, 4, 1, 1.0, lead);
	ok(lead[0] == 4 && lead[1] == 3 && lead[2] == 2 && lead[3] == 1,
	    "together: leads 4, 3, 2, 1 s (%g %g %g %g)", lead[0], lead[1],
	    lead[2], lead[3]);
	replace_schedule(eta, 4, 2, 1.0, lead);
	ok(lead[0] == 2 && lead[1] == 2 && lead[2] == 1 && lead[3] == 1,
	    "max_replacing 2: leads 2, 2, 1, 1 s");
	/* Spread out already: each only needs its own time to ready. */
	for (int i = 0; i < 4; i++)
		eta[i] = 5 + 3 * i;
	replace_schedule(eta, 4, 1, 1.0, lead);
	ok(lead[0] == 1 && lead[1] == 1 && lead[2] == 1 && lead[3] == 1,
	    "3 s apart: 1 s each");
	/* Close: the later one pushes the earlier ones ahead. */
	eta[0] = 5; eta[1] = 5.5; eta[2] = 20;
	replace_schedule(eta, 3, 1, 1.0, lead);
	ok(fabs(lead[0] - 1.5) < 1e-9 && lead[1] == 1 && lead[2] == 1,
	    "0.5 s apart: the first starts 1.5 s ahead");
	ok(fabs(replace_lead(&(struct program_config){ .memory_samples = 2 },
	    1.0) - (1.25 + 2 * REPLACE_CONFIRM_INTERVAL)) < 1e-9,
	    "lead: 1.25 x the time to ready, plus the confirmation samples");
}

/*
 * A pool on these rules: n workers behind one shared socket, a load that
 * leaks leak_rate bytes per second in all, spread evenly over the
 * processes that serve.  A replacement is ready ready_secs after its
 * spawn; with ready = startsecs it serves from its spawn (it accepts at
 * once), with notify only once ready.  The old process stops growing
 * when it drains.  Returns the peak of any process over memory_limit.
 */
struct sim_proc {
	double bytes, spawned;
	bool live, queued, fired;
	unsigned over;
	struct memory_history h;
};

static double
sim_pool(const struct program_config *c, int n, double leak_rate,
    double ready_secs, bool serves_early, bool kernel_event, double seconds,
    int *replaced)
{
	struct sim_proc mains[8], cands[8];
	double peak = 0, next_tick = 0, look[8], dt = 0.005;
	double ready_est = ready_secs, t;
	struct pace pace = { 0, 0 };

	memset(mains, 0, sizeof(mains));
	memset(cands, 0, sizeof(cands));
	*replaced = 0;
	for (int i = 0; i < n; i++) {
		mains[i].live = true;
		mains[i].bytes = 10 * MiB;
		look[i] = -1;
	}
	for (t = 0; t < seconds; t += dt) {
		int serving = 0, inflight = 0;
		double eta[8], lead[8], ratio[8];
		int due[8], nd = 0, queued[8], nq;
		bool tick = t >= next_tick, at[8];

		for (int i = 0; i < n; i++) {
			serving += mains[i].live;
			serving += cands[i].live && (serves_early ||
			    t - cands[i].spawned >= ready_secs);
			inflight += cands[i].live;
		}
		for (int i = 0; i < n; i++) {
			mains[i].bytes += leak_rate / serving * dt;
			if (cands[i].live && (serves_early ||
			    t - cands[i].spawned >= ready_secs))
				cands[i].bytes += leak_rate / serving * dt;
			if (mains[i].bytes > peak)
				peak = mains[i].bytes;
			if (cands[i].live && cands[i].bytes > peak)
				peak = cands[i].bytes;
		}
		/* Ready candidates take over (they are smaller here). */
		for (int i = 0; i < n; i++) {
			if (!cands[i].live || t - cands[i].spawned < ready_secs)
				continue;
			mains[i] = cands[i];
			mains[i].over = 0;
			cands[i].live = false;
			look[i] = t + REPLACE_CONFIRM_INTERVAL;
			inflight--;
			(*replaced)++;
		}
		if (tick)
			next_tick += c->memory_interval;
		for (int i = 0; i < n; i++) {
			/* cgroup v1's threshold event: a look at the crossing. */
			bool crossed = kernel_event && !mains[i].fired &&
			    mains[i].bytes > c->memory_limit;
			mains[i].fired |= crossed;
			at[i] = tick || crossed || (look[i] >= 0 && t >= look[i]);
			if (at[i]) {
				memory_record(&mains[i].h, t,
				    (uint64_t)mains[i].bytes);
				look[i] = -1;
			}
		}
		/* Schedule, judge, queue: as program.c does. */
		for (int i = 0; i < n; i++) {
			double e = replace_eta(&mains[i].h, c->memory_limit,
			    c->memory_interval);
			lead[i] = replace_lead(c, ready_est);
			if (e >= 0) {
				int k = nd++;
				while (k > 0 && eta[k - 1] > e) {
					eta[k] = eta[k - 1];
					due[k] = due[k - 1];
					k--;
				}
				eta[k] = e;
				due[k] = i;
			}
		}
		if (nd > 1) {
			double l[8];
			replace_schedule(eta, nd, c->max_replacing,
			    replace_lead(c, ready_est), l);
			for (int k = 0; k < nd; k++)
				lead[due[k]] = l[k];
		}
		for (int i = 0; i < n; i++) {
			struct judge_input in = { .cfg = c, .mem = &mains[i].h,
			    .over = mains[i].over, .now = t, .last_ping = t,
			    .lead = lead[i], .ready = true,
			    .replacing = cands[i].live };
			struct verdict v;
			if (!at[i])
				continue;
			replace_pace(&pace, &mains[i].h, c->memory_interval, t);
			in.rate_prior = pace.rate;
			v = replace_judge(&in);
			mains[i].over = v.over;
			if (v.next > 0)
				look[i] = t + v.next;
			mains[i].queued = v.kind == VERDICT_REPLACE ||
			    (mains[i].queued && v.kind == VERDICT_HOLD);
		}
		for (;;) {
			long p;
			nq = 0;
			for (int i = 0; i < n; i++) {
				if (!mains[i].queued || cands[i].live)
					continue;
				queued[nq] = i;
				ratio[nq++] = mains[i].bytes / c->memory_limit;
			}
			if ((p = replace_pick(ratio, nq, inflight,
			    c->max_replacing)) < 0)
				break;
			cands[queued[p]].live = true;
			cands[queued[p]].spawned = t;
			cands[queued[p]].bytes = 10 * MiB;
			cands[queued[p]].fired = false;
			memset(&cands[queued[p]].h, 0, sizeof(cands[0].h));
			mains[queued[p]].queued = false;
			inflight++;
		}
	}
	return peak / (double)c->memory_limit;
}

static void
test_pool(void)
{
	struct program_config c = cfg_with(64, 2, 1.0);
	double peak;
	int n;

	/*
	 * The bench's moderate leak: 4 KiB a request at about 8,500
	 * requests/s over 4 workers, some 8 MiB/s each, so the limit is
	 * reached in about 7 s, seven times the 1 s to ready.  Workers
	 * started together reach the limit together; spread ahead of time
	 * they are each replaced before it.
	 */
	peak = sim_pool(&c, 4, 4 * 8.0 * MiB, 1.0, true, true, 60, &n);
	ok(peak <= 1.10, "moderate leak, startsecs 1 s, max_replacing 1: "
	    "peak %.2f x the limit (<= 1.10), %d replacements in 60 s", peak, n);
	peak = sim_pool(&c, 4, 4 * 8.0 * MiB, 0.02, false, true, 60, &n);
	ok(peak <= 1.10, "moderate leak, ready = notify (20 ms): peak %.2f "
	    "(<= 1.10), %d replacements", peak, n);
	/* The fast one: 64 KiB a request, about 130 MiB/s per worker. */
	peak = sim_pool(&c, 4, 4 * 130.0 * MiB, 0.02, false, true, 20, &n);
	ok(peak <= 1.25, "fast leak, ready = notify: peak %.2f (<= 1.25), %d "
	    "replacements in 20 s", peak, n);
	/* startsecs: the old worker serves until the new one is ready, so
	 * the bound is the limit plus what it leaks meanwhile. */
	peak = sim_pool(&c, 4, 4 * 130.0 * MiB, 1.0, true, true, 20, &n);
	ok(peak <= 1 + 130.0 / 64 * 1.0 * 1.1, "fast leak, startsecs 1 s: "
	    "peak %.2f, within 10%% of limit + leak x startsecs (%.2f)", peak,
	    1 + 130.0 / 64);
}

int
main(void)
{
	test_judge();
	test_early();
	test_takeover();
	test_backoff_and_queue();
	test_schedule();
	test_pool();
	is_str(replace_state_name(REPLACE_STARTING), "STARTING", "state names");
	is_str(restart_reason_name(REASON_MEMORY_MAX), "memory_max",
	    "reason names");
	return tap_done();
}
