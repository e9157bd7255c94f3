/*
 * How much memory a worker uses, and where it is heading.
 *
 * Figures come from the worker's cgroup (working set) or are summed over
 * its process tree from /proc: rss from statm (cheap), pss and uss from
 * smaps_rollup (only read when asked for).  Each worker keeps a fixed ring
 * of samples from which leash tells growth that goes on (a leak) from
 * growth that levels off (warm-up).
 */
#ifndef LEASH_MEMORY_H
#define LEASH_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum memory_source {
	MEMORY_AUTO,
	MEMORY_CGROUP,
	MEMORY_RSS,
	MEMORY_PSS,
	MEMORY_USS,
};

#define MEMORY_HISTORY 32	/* samples kept per worker */

struct memory_history {
	double t[MEMORY_HISTORY];
	uint64_t bytes[MEMORY_HISTORY];
	unsigned head, n;	/* next slot; how many are valid */
	uint64_t current, peak;
};

enum memory_trend {
	TREND_UNKNOWN,		/* too few samples */
	TREND_GROWING,
	TREND_LEVELLED,
};

const char *memory_source_name(enum memory_source);
int memory_parse_source(const char *, enum memory_source *);
const char *memory_trend_name(enum memory_trend);

/* Sums one /proc figure over pids; pids that vanished are skipped.
 * Returns 0 if at least one pid was read. */
int memory_read_procs(enum memory_source, const pid_t *, size_t,
    uint64_t *bytes);
/* /proc/PID/statm kept open, read again with pread (rss): the open file
 * stays its process's, so a reused pid never reads as it. */
int memory_statm_open(pid_t);
int memory_read_statm(int fd, uint64_t *bytes);
/* One process's figures, from /proc/PID (statm, smaps_rollup). */
int memory_read_proc(pid_t, enum memory_source, uint64_t *bytes);
/* Parses smaps_rollup text: Pss and Private_* (uss) in bytes. */
int memory_parse_smaps_rollup(const char *text, uint64_t *pss, uint64_t *uss);

void memory_record(struct memory_history *, double now, uint64_t bytes);
/* Growth smaller than this is noise for a figure of bytes: 1 MiB, or 1%. */
double memory_noise(uint64_t bytes);
/* Least-squares growth rate over the ring, bytes per second. */
double memory_rate(const struct memory_history *);
/* Growth rate over the newest k samples, spanning *span seconds. */
double memory_rate_recent(const struct memory_history *, unsigned k,
    double *span);
/* Growth rate over the samples of the last seconds (*n of them, spanning
 * *span seconds). */
double memory_rate_window(const struct memory_history *, double seconds,
    double *span, unsigned *n);
enum memory_trend memory_trend(const struct memory_history *);
/* "12.3M", "1.0G", "512K". */
const char *memory_human(uint64_t bytes, char buf[16]);

#endif
