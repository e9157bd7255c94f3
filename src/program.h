/*
 * Programs and the pool of them.  A program owns its workers (one per
 * process_num), samples their memory, judges every worker with the pure
 * rules of replace.h, and runs the max_replacing queue; the pool finds an
 * instance by pid or token for the front ends.
 */
#ifndef LEASH_PROGRAM_H
#define LEASH_PROGRAM_H

#include <ev.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "memory.h"
#include "worker.h"

struct supervisor;
struct pool;

struct program {
	struct supervisor *sv;
	struct pool *pool;
	struct program_config *cfg;
	struct worker *workers;
	size_t nworkers;
	/* Reload: a new config to apply once every worker is down, or removal. */
	struct program_config *next_cfg;
	bool removing;
	enum memory_source source;	/* memory_source with auto resolved */
	ev_timer sample_timer;
	unsigned int scan_age;		/* ticks since /proc was scanned */
	struct program_stats stats;	/* its workers' measurements */
	struct pace pace;		/* recent leak pace (replace_pace) */
	bool reuseport_checked;		/* program_check_reuseport looked */
	unsigned long seq;		/* the order it joined the pool */
	struct event_pool *events;	/* a listener pool's, or NULL */
};

/* Every program, in priority order. */
struct pool {
	struct program **v;
	size_t n;
	unsigned long joined;		/* programs ever added */
};

struct program *program_new(struct supervisor *, struct program_config *);
void program_free(struct program *);
/* Applies a config that needs no restart (program_config_needs_restart
 * said so); returns the old one. */
struct program_config *program_set_config(struct program *,
    struct program_config *);
void program_start(struct program *);
void program_stop(struct program *);
bool program_is_down(const struct program *);
/* Reads every worker's memory now and acts on the limits. */
void program_sample(struct program *);
/* Starts the queued replacements that max_replacing allows now. */
void program_advance(struct program *);

void pool_add(struct pool *, struct program *);
/* Removes v[i] (the caller frees it). */
void pool_remove(struct pool *, size_t i);
/* Restores priority order after a program was replaced in place. */
void pool_sort(struct pool *);
struct program *pool_find(const struct pool *, const char *name);
/* Calls fn for every instance of every worker until it returns true;
 * returns that instance, or NULL. */
struct instance *pool_find_instance(const struct pool *,
    bool (*fn)(struct instance *, const void *), const void *arg);
/* The worker named "program:process", not of a program being removed. */
struct worker *pool_find_worker(const struct pool *, const char *fullname);
struct instance *pool_instance_by_pid(const struct pool *, pid_t);
struct instance *pool_instance_by_token(const struct pool *, const char *);
/* The pids of every live instance, sorted (free it). */
pid_t *pool_instance_pids(const struct pool *, size_t *n);
void pool_free(struct pool *);

#endif
