/*
 * The pool: programs, the memory sampler and the max_replacing queue.
 *
 * A sampling pass runs one way: measure every process of the program,
 * then judge each worker (replace_judge, a pure function), then act.
 * Between ticks of memory_interval, a worker that is over its limit (or
 * heading over it) is looked at again on its own timer, at the
 * confirmation pace or at the moment its replacement is due.
 *
 * A worker the kernel will tell about (a cgroup v1 threshold event armed
 * at its memory_limit) is sampled every SAMPLE_STRETCH ticks while it is
 * far from its limit: below half of it and, at its pace over at least
 * SAMPLE_STRETCH_AFTER samples, not reaching it within 2 * SAMPLE_STRETCH
 * ticks.  Its crossing is still seen at once (the event makes leashd
 * look), and its trend from samples further apart; only its figure in
 * status is older, by up to SAMPLE_STRETCH intervals.  Without the event every worker is sampled at every tick:
 * a crossing is seen within one memory_interval.
 *
 * Without cgroups a worker's tree comes from a scan of /proc (every
 * process's stat): at every tick while a worker of the program is new
 * or at half its limit or more, else every SAMPLE_STRETCH ticks.  Between
 * scans each worker is measured over the tree its last scan found, so a
 * process it starts meanwhile counts from the next scan.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "events.h"
#include "program.h"
#include "sockets.h"
#include "supervisor.h"
#include "util.h"

#define SAMPLE_STRETCH 8
#define SAMPLE_STRETCH_AFTER 4

static double
sample_interval(const struct program_config *cfg)
{
	double interval = cfg->memory_interval;

	if (cfg->watchdog_sec > 0 && cfg->watchdog_sec / 4 < interval)
		interval = cfg->watchdog_sec / 4;
	return interval;
}

/* memory_source = auto means cgroup when leashd can make cgroups. */
static enum memory_source
program_source(struct program *p)
{
	struct supervisor *sv = p->sv;
	enum memory_source s = p->cfg->memory_source;

	if (s == MEMORY_AUTO) {
		s = sv->cg_usable ? MEMORY_CGROUP : MEMORY_RSS;
		if (p->cfg->memory_limit > 0 || p->cfg->memory_max > 0)
			log_info("memory", "%s: memory_source auto: %s",
			    p->cfg->name, sv->cg_usable ? "cgroup (working set "
			    "of each worker's own cgroup)" : "rss (summed over "
			    "each worker's process tree): cgroups are not usable "
			    "here");
	} else if (s == MEMORY_CGROUP && !sv->cg_usable) {
		log_warnx("memory", "%s: memory_source cgroup: cgroups are not "
		    "usable here (%s); using rss", p->cfg->name, sv->cg_why);
		s = MEMORY_RSS;
	}
	return s;
}

/* memory_max applies to every process of a slot, candidates included. */
static void
judge_memory_max(struct worker *w, struct instance *in)
{
	uint64_t max = w->spec.cfg->memory_max;

	if (in != NULL && in->pid > 0 && max > 0 && in->mem.n > 0 &&
	    in->mem.current > max)
		worker_memory_max(w, in);
}

/* Whether m can sit out ticks (see the top of this file). */
static bool
far_from_limit(const struct worker *w, const struct instance *m)
{
	const struct program_config *cfg = w->spec.cfg;
	double eta;

	if (!ev_is_active(&m->threshold) || cfg->watchdog_sec > 0 ||
	    (cfg->memory_max > 0 && cfg->memory_max < cfg->memory_limit) ||
	    w->state != WORKER_RUNNING || worker_replacing(w) ||
	    m->mem.n < SAMPLE_STRETCH_AFTER ||
	    m->mem.current >= cfg->memory_limit / 2)
		return false;
	eta = replace_eta(&m->mem, cfg->memory_limit, cfg->memory_interval);
	return eta < 0 || eta > 2 * SAMPLE_STRETCH * cfg->memory_interval;
}

/* Judges w's main process on its latest sample, and acts. */
static void
worker_judge(struct program *p, struct worker *w)
{
	const struct program_config *cfg = p->cfg;
	struct replace *r = &w->rep;
	struct instance *m = w->main;
	ev_tstamp now = mono_now();
	struct judge_input in;
	struct verdict v;
	char a[16], b[16];

	w->sit_out = 0;
	judge_memory_max(w, r->candidate);
	for (size_t i = 0; i < r->ndraining; i++)
		judge_memory_max(w, r->draining[i]);
	if (w->want != WANT_UP && r->state == REPLACE_QUEUED)
		replace_set_state(r, w->fullname, REPLACE_IDLE);
	if (m == NULL || m->pid <= 0 || w->force_restart || w->want != WANT_UP ||
	    (w->state != WORKER_RUNNING && w->state != WORKER_STARTING))
		return;
	if (r->state == REPLACE_BACKOFF && now >= r->not_before)
		replace_set_state(r, w->fullname, REPLACE_IDLE);
	replace_pace(&p->pace, &m->mem, cfg->memory_interval, now);
	in = (struct judge_input){
		.cfg = cfg, .mem = &m->mem, .over = m->over, .now = now,
		.last_ping = m->last_ping, .lead = r->lead,
		.ready = w->state == WORKER_RUNNING,
		.replacing = r->state == REPLACE_STARTING,
		.rate_prior = p->pace.rate,
		.not_before = r->state == REPLACE_BACKOFF ? r->not_before : 0,
	};
	v = replace_judge(&in);
	if (v.over == 0)
		m->over_since = 0;
	else if (m->over == 0)
		m->over_since = now;
	m->over = v.over;
	if (v.kind == VERDICT_NONE && r->state == REPLACE_IDLE &&
	    far_from_limit(w, m))
		w->sit_out = SAMPLE_STRETCH - 1;
	if (v.next > 0)
		worker_look(w, v.next);
	switch (v.kind) {
	case VERDICT_MEMORY_MAX:
		worker_memory_max(w, m);
		break;
	case VERDICT_WATCHDOG:
		log_warnx("program", "%s: no WATCHDOG=1 from pid %d for %.1f s "
		    "(watchdog_sec): replacing it", w->fullname, (int)m->pid,
		    now - m->last_ping);
		m->last_ping = now;
		worker_replace(w, REASON_WATCHDOG);
		break;
	case VERDICT_REPLACE:
		if (r->state != REPLACE_QUEUED) {
			if (v.early)
				log_info("memory", "%s: pid %d uses %s, heading "
				    "for memory_limit %s in %.1f s: replacing it "
				    "ahead of the limit", w->fullname, (int)m->pid,
				    memory_human(m->mem.current, a),
				    memory_human(cfg->memory_limit, b), v.eta);
			else
				log_info("memory", "%s: pid %d uses %s, over "
				    "memory_limit %s for %u samples", w->fullname,
				    (int)m->pid, memory_human(m->mem.current, a),
				    memory_human(cfg->memory_limit, b), v.over);
		}
		r->ratio = (double)m->mem.current / (double)cfg->memory_limit;
		r->ahead = v.early ? v.eta : 0;
		replace_set_state(r, w->fullname, REPLACE_QUEUED);
		break;
	case VERDICT_NONE:
	case VERDICT_CONFIRM:
	case VERDICT_HOLD:
		if (r->state == REPLACE_QUEUED && v.kind != VERDICT_HOLD)
			replace_set_state(r, w->fullname, REPLACE_IDLE);
		break;
	}
}

struct due {
	struct worker *w;
	double eta;
};

static int
due_order(const void *a, const void *b)
{
	double x = ((const struct due *)a)->eta;
	double y = ((const struct due *)b)->eta;

	return x < y ? -1 : x > y;
}

/*
 * Each worker's lead: how long before its crossing its replacement must
 * start.  Workers heading for the limit together are spread out
 * (replace_schedule), so that the queue is not what makes them late.
 */
static void
program_schedule(struct program *p)
{
	const struct program_config *cfg = p->cfg;
	double ready = replace_lead(cfg, p->stats.ready_estimate > 0 ?
	    p->stats.ready_estimate : cfg->startsecs), *lead, *eta;
	struct due *due;
	size_t n = 0;

	if (cfg->memory_limit == 0)
		return;
	due = xcalloc(p->nworkers, sizeof(*due));
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		double e;
		w->rep.lead = ready;
		if (w->main == NULL || w->main->pid <= 0 || w->sit_out > 0)
			continue;
		e = replace_eta(&w->main->mem, cfg->memory_limit,
		    cfg->memory_interval);
		if (e < 0)
			continue;
		due[n].w = w;
		due[n].eta = e;
		n++;
	}
	if (n > 1) {
		qsort(due, n, sizeof(*due), due_order);
		eta = xcalloc(2 * n, sizeof(*eta));
		lead = eta + n;
		for (size_t i = 0; i < n; i++)
			eta[i] = due[i].eta;
		replace_schedule(eta, n, cfg->max_replacing, ready, lead);
		for (size_t i = 0; i < n; i++)
			due[i].w->rep.lead = lead[i];
		free(eta);
	}
	free(due);
}

/* Starts what the queue (replace_pick) allows now, until it says wait. */
void
program_advance(struct program *p)
{
	size_t inflight = 0, n = 0;
	struct worker **queued;
	double *ratio;
	long pick;

	/* Called whenever anything changed: nothing to do is the usual. */
	for (size_t i = 0; i < p->nworkers; i++) {
		n += p->workers[i].rep.state == REPLACE_QUEUED;
		inflight += p->workers[i].rep.state == REPLACE_STARTING;
	}
	if (n == 0)
		return;
	queued = xcalloc(n, sizeof(*queued));
	ratio = xcalloc(n, sizeof(*ratio));

	for (;;) {
		n = 0;
		for (size_t i = 0; i < p->nworkers; i++) {
			struct worker *w = &p->workers[i];
			if (w->rep.state != REPLACE_QUEUED)
				continue;
			queued[n] = w;
			ratio[n++] = w->rep.ratio;
		}
		if ((pick = replace_pick(ratio, n, inflight,
		    p->cfg->max_replacing)) < 0)
			break;
		if (worker_replace(queued[pick], REASON_MEMORY) != 0)
			replace_set_state(&queued[pick]->rep,
			    queued[pick]->fullname, REPLACE_IDLE);
		else if (queued[pick]->rep.state == REPLACE_STARTING)
			inflight++;
	}
	free(queued);
	free(ratio);
}

static void
worker_sample_all(struct worker *w, const struct proc_table *tp)
{
	if (w->rep.candidate != NULL)
		instance_sample(w->rep.candidate, tp);
	for (size_t j = 0; j < w->rep.ndraining; j++)
		instance_sample(w->rep.draining[j], tp);
	if (w->main != NULL)
		instance_sample(w->main, tp);
}

/*
 * Workers that bind SO_REUSEPORT themselves each have an accept queue of
 * their own, and the kernel resets what is queued on a draining worker's
 * listener unless net.ipv4.tcp_migrate_req = 1 (Linux 5.14+).  Said once
 * per program, when its workers are first all RUNNING; a few of them
 * are enough to tell.
 */
static void
program_check_reuseport(struct program *p)
{
	pid_t pids[8];
	size_t n = 0;
	char addr[64];
	int migrate;

	if (p->reuseport_checked || p->cfg->memory_limit == 0 ||
	    p->nworkers < 2)
		return;
	for (size_t i = 0; i < p->nworkers; i++)
		if (p->workers[i].state != WORKER_RUNNING)
			return;
	p->reuseport_checked = true;
	if ((migrate = sockets_migrate_req()) == 1)
		return;
	for (size_t i = 0; i < p->nworkers && n < nitems(pids); i++)
		pids[n++] = worker_pid(&p->workers[i]);
	if (sockets_reuseport(pids, n, addr, sizeof(addr)))
		log_warnx("program", "%s: its workers bind SO_REUSEPORT "
		    "themselves (each has its own listener on %s) and "
		    "net.ipv4.tcp_migrate_req is %s: connections queued on a "
		    "draining worker's listener are reset.  Set it to 1, or "
		    "give the program a [socket:] section", p->cfg->name, addr,
		    migrate == 0 ? "0" : "missing (Linux 5.14+ has it)");
}

static bool
instance_cgroupless(const struct instance *in)
{
	return in != NULL && in->pid > 0 && in->cgroup == NULL;
}

/* Whether a process of the program has no cgroup (cgroups are not usable,
 * or making its own failed). */
static bool
program_cgroupless(const struct program *p)
{
	if (!p->sv->cg_usable)
		return true;
	for (size_t i = 0; i < p->nworkers; i++) {
		const struct worker *w = &p->workers[i];
		if (instance_cgroupless(w->main) ||
		    instance_cgroupless(w->rep.candidate))
			return true;
		for (size_t j = 0; j < w->rep.ndraining; j++)
			if (instance_cgroupless(w->rep.draining[j]))
				return true;
	}
	return false;
}

/* Whether this tick scans /proc for the trees (see the top of this file). */
static bool
program_scan_due(struct program *p)
{
	uint64_t near = program_config_nearest_limit(p->cfg);

	if (++p->scan_age >= SAMPLE_STRETCH)
		return true;
	for (size_t i = 0; i < p->nworkers; i++) {
		const struct worker *w = &p->workers[i];
		const struct instance *m = w->main;
		if (worker_replacing(w) || (m != NULL && m->pid > 0 &&
		    (m->tree == NULL || (near > 0 && m->mem.current >= near / 2))))
			return true;
	}
	return false;
}

void
program_sample(struct program *p)
{
	struct proc_table table = { 0 }, *tp = NULL;
	size_t nknown = 0;
	pid_t *known = NULL;

	/* Without cgroups the trees come from one scan of /proc. */
	if (program_cgroupless(p) && program_scan_due(p)) {
		p->scan_age = 0;
		proc_scan(&table);
		known = pool_instance_pids(p->pool, &nknown);
		proc_read_strays(&table, p->sv->self, known, nknown);
		free(known);
		tp = &table;
	}
	for (size_t i = 0; i < p->nworkers; i++)
		if (p->workers[i].sit_out == 0)
			worker_sample_all(&p->workers[i], tp);
	proc_table_free(&table);
	program_schedule(p);
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		if (w->sit_out > 0)
			w->sit_out--;
		else
			worker_judge(p, w);
	}
	program_advance(p);
	program_check_reuseport(p);
}

static void
sample_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	program_sample(container_of(t, struct program, sample_timer));
}

/* One worker's own look: a confirmation sample, a kernel event, or the
 * moment its replacement is due. */
static void
look_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, look);
	struct program *p = t->data;

	(void)loop;
	(void)revents;
	worker_sample_all(w, NULL);
	worker_judge(p, w);
	program_advance(p);
}

struct program *
program_new(struct supervisor *sv, struct program_config *cfg)
{
	struct program *p = xcalloc(1, sizeof(*p));
	double interval;

	p->sv = sv;
	p->cfg = cfg;
	p->nworkers = cfg->numprocs;
	p->workers = xcalloc(p->nworkers, sizeof(*p->workers));
	p->source = program_source(p);
	for (size_t i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		worker_init(w, sv, cfg, &cfg->procs[i], p->source,
		    &p->stats);
		ev_timer_init(&w->look, look_cb, 0., 0.);
		w->look.data = p;
	}
	interval = sample_interval(cfg);
	ev_timer_init(&p->sample_timer, sample_cb, interval, interval);
	ev_timer_start(sv->loop, &p->sample_timer);
	if (cfg->listener)
		p->events = event_pool_new(sv->events, p);
	return p;
}

struct program_config *
program_set_config(struct program *p, struct program_config *cfg)
{
	struct program_config *old = p->cfg;

	p->cfg = cfg;
	for (size_t i = 0; i < p->nworkers; i++)
		worker_set_config(&p->workers[i], cfg, &cfg->procs[i]);
	p->sample_timer.repeat = sample_interval(cfg);
	ev_timer_again(p->sv->loop, &p->sample_timer);
	log_info("program", "%s: new settings applied to the running processes",
	    cfg->name);
	return old;
}

/* Only for a program whose workers are all down and gone. */
void
program_free(struct program *p)
{
	ev_timer_stop(p->sv->loop, &p->sample_timer);
	event_pool_free(p->events);
	for (size_t i = 0; i < p->nworkers; i++)
		worker_free(&p->workers[i]);
	free(p->workers);
	free(p);
}

void
program_start(struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++)
		worker_start(&p->workers[i], REASON_NONE);
}

void
program_stop(struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++)
		worker_stop(&p->workers[i]);
}

bool
program_is_down(const struct program *p)
{
	for (size_t i = 0; i < p->nworkers; i++) {
		const struct worker *w = &p->workers[i];
		if (!worker_is_down(w) || worker_replacing(w))
			return false;
	}
	return true;
}

/* The pool. */

static int
program_order(const void *a, const void *b)
{
	const struct program *pa = *(struct program *const *)a;
	const struct program *pb = *(struct program *const *)b;

	return program_config_order(pa->cfg, pb->cfg);
}

void
pool_sort(struct pool *pool)
{
	qsort(pool->v, pool->n, sizeof(*pool->v), program_order);
}

void
pool_add(struct pool *pool, struct program *p)
{
	pool->v = xrealloc(pool->v, (pool->n + 1) * sizeof(*pool->v));
	pool->v[pool->n++] = p;
	p->pool = pool;
	p->seq = pool->joined++;
	pool_sort(pool);
}

void
pool_remove(struct pool *pool, size_t i)
{
	memmove(&pool->v[i], &pool->v[i + 1],
	    (pool->n - i - 1) * sizeof(*pool->v));
	pool->n--;
}

struct program *
pool_find(const struct pool *pool, const char *name)
{
	for (size_t i = 0; i < pool->n; i++)
		if (strcmp(pool->v[i]->cfg->name, name) == 0)
			return pool->v[i];
	return NULL;
}

struct worker *
pool_find_worker(const struct pool *pool, const char *fullname)
{
	for (size_t i = 0; i < pool->n; i++) {
		struct program *p = pool->v[i];
		for (size_t j = 0; j < p->nworkers; j++)
			if (!p->removing &&
			    strcmp(p->workers[j].fullname, fullname) == 0)
				return &p->workers[j];
	}
	return NULL;
}

struct instance *
pool_find_instance(const struct pool *pool,
    bool (*fn)(struct instance *, const void *), const void *arg)
{
	for (size_t i = 0; i < pool->n; i++) {
		struct program *p = pool->v[i];
		for (size_t j = 0; j < p->nworkers; j++) {
			struct worker *w = &p->workers[j];
			struct instance *two[2] = { w->main, w->rep.candidate };
			for (size_t k = 0; k < 2 + w->rep.ndraining; k++) {
				struct instance *in = k < 2 ? two[k] :
				    w->rep.draining[k - 2];
				if (in != NULL && fn(in, arg))
					return in;
			}
		}
	}
	return NULL;
}

static bool
has_pid(struct instance *in, const void *arg)
{
	return in->pid > 0 && in->pid == *(const pid_t *)arg;
}

static bool
has_token(struct instance *in, const void *arg)
{
	return strcmp(in->token, arg) == 0;
}

struct instance *
pool_instance_by_pid(const struct pool *pool, pid_t pid)
{
	return pool_find_instance(pool, has_pid, &pid);
}

struct instance *
pool_instance_by_token(const struct pool *pool, const char *token)
{
	return pool_find_instance(pool, has_token, token);
}

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

static bool
collect_pid(struct instance *in, const void *arg)
{
	struct pid_list *l = (struct pid_list *)arg;

	if (in->pid <= 0)
		return false;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = in->pid;
	return false;
}

pid_t *
pool_instance_pids(const struct pool *pool, size_t *n)
{
	struct pid_list l = { 0 };

	pool_find_instance(pool, collect_pid, &l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), pid_compare);
	*n = l.n;
	return l.v;
}

void
pool_free(struct pool *pool)
{
	for (size_t i = 0; i < pool->n; i++) {
		program_config_free(pool->v[i]->cfg);
		program_config_free(pool->v[i]->next_cfg);
		program_free(pool->v[i]);
	}
	free(pool->v);
	pool->v = NULL;
	pool->n = 0;
}
