#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "memory.h"
#include "util.h"

static const char *const source_names[] = {
	[MEMORY_AUTO] = "auto",
	[MEMORY_CGROUP] = "cgroup",
	[MEMORY_RSS] = "rss",
	[MEMORY_PSS] = "pss",
	[MEMORY_USS] = "uss",
};

const char *
memory_source_name(enum memory_source s)
{
	return source_names[s];
}

int
memory_parse_source(const char *s, enum memory_source *out)
{
	for (size_t i = 0; i < nitems(source_names); i++) {
		if (strcasecmp(s, source_names[i]) == 0) {
			*out = (enum memory_source)i;
			return 0;
		}
	}
	return -1;
}

const char *
memory_trend_name(enum memory_trend t)
{
	switch (t) {
	case TREND_GROWING: return "growing";
	case TREND_LEVELLED: return "levelled off";
	default: return "unknown";
	}
}


/* base + kb KiB, saturated at UINT64_MAX rather than wrapped (a figure
 * read from /proc is the kernel's; a wrapped one would read as small). */
static uint64_t
kib_bytes(unsigned long long kb, uint64_t base)
{
	if (kb > (UINT64_MAX - base) / 1024)
		return UINT64_MAX;
	return base + kb * 1024;
}

int
memory_parse_smaps_rollup(const char *text, uint64_t *pss, uint64_t *uss)
{
	unsigned long long kb;
	bool seen = false;

	*pss = *uss = 0;
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (sscanf(p, "Pss: %llu kB", &kb) == 1) {
			*pss = kib_bytes(kb, 0);
			seen = true;
		} else if (sscanf(p, "Private_Clean: %llu kB", &kb) == 1 ||
		    sscanf(p, "Private_Dirty: %llu kB", &kb) == 1 ||
		    sscanf(p, "Private_Hugetlb: %llu kB", &kb) == 1)
			*uss = kib_bytes(kb, *uss);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return seen ? 0 : -1;
}

static int
statm_bytes(const char *text, uint64_t *bytes)
{
	unsigned long size, resident;

	if (sscanf(text, "%lu %lu", &size, &resident) != 2)
		return -1;
	*bytes = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
	return 0;
}

int
memory_statm_open(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
memory_read_statm(int fd, uint64_t *bytes)
{
	char buf[256];

	if (pread_small(fd, buf, sizeof(buf)) <= 0)
		return -1;
	return statm_bytes(buf, bytes);
}

int
memory_read_proc(pid_t pid, enum memory_source src, uint64_t *bytes)
{
	char path[64], buf[4096];
	uint64_t pss, uss;

	if (src == MEMORY_PSS || src == MEMORY_USS) {
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
		if (read_small_file(path, buf, sizeof(buf)) <= 0 ||
		    memory_parse_smaps_rollup(buf, &pss, &uss) != 0)
			return -1;
		*bytes = src == MEMORY_PSS ? pss : uss;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return statm_bytes(buf, bytes);
}

int
memory_read_procs(enum memory_source src, const pid_t *pids, size_t n,
    uint64_t *bytes)
{
	uint64_t one, sum = 0;
	size_t read = 0;

	for (size_t i = 0; i < n; i++) {
		if (memory_read_proc(pids[i], src, &one) == 0) {
			sum += one;
			read++;
		}
	}
	*bytes = sum;
	return read > 0 ? 0 : -1;
}

void
memory_record(struct memory_history *h, double now, uint64_t bytes)
{
	h->t[h->head] = now;
	h->bytes[h->head] = bytes;
	h->head = (h->head + 1) % MEMORY_HISTORY;
	if (h->n < MEMORY_HISTORY)
		h->n++;
	h->current = bytes;
	if (bytes > h->peak)
		h->peak = bytes;
}

/* Slope of the last n samples (n <= h->n). */
static double
rate_over(const struct memory_history *h, unsigned n)
{
	double st = 0, sb = 0, stt = 0, stb = 0, t0, t, b, den;
	unsigned first = (h->head + MEMORY_HISTORY - n) % MEMORY_HISTORY;

	if (n < 2)
		return 0;
	t0 = h->t[first];
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (first + i) % MEMORY_HISTORY;
		t = h->t[k] - t0;
		b = (double)h->bytes[k];
		st += t;
		sb += b;
		stt += t * t;
		stb += t * b;
	}
	den = n * stt - st * st;
	if (fabs(den) < 1e-12)
		return 0;
	return (n * stb - st * sb) / den;
}

double
memory_rate(const struct memory_history *h)
{
	return rate_over(h, h->n);
}

double
memory_noise(uint64_t bytes)
{
	return fmax(1048576.0, 0.01 * (double)bytes);
}

double
memory_rate_recent(const struct memory_history *h, unsigned k, double *span)
{
	unsigned last = (h->head + MEMORY_HISTORY - 1) % MEMORY_HISTORY;

	if (k > h->n)
		k = h->n;
	*span = k > 0 ? h->t[last] - h->t[(h->head + MEMORY_HISTORY - k) %
	    MEMORY_HISTORY] : 0;
	return rate_over(h, k);
}

double
memory_rate_window(const struct memory_history *h, double seconds,
    double *span, unsigned *n)
{
	unsigned last = (h->head + MEMORY_HISTORY - 1) % MEMORY_HISTORY, k = 0;

	while (k < h->n && h->t[last] - h->t[(h->head + MEMORY_HISTORY - k - 1) %
	    MEMORY_HISTORY] <= seconds)
		k++;
	*n = k;
	*span = k > 0 ? h->t[last] - h->t[(h->head + MEMORY_HISTORY - k) %
	    MEMORY_HISTORY] : 0;
	return rate_over(h, k);
}

/*
 * Growing means the newer half of the ring's time still climbs by more
 * than noise: at least 1 MiB, and 1% of the current figure, over that
 * half's span.  Warm-up that has stopped shows a flat newer half.  Halves
 * of time, not of samples: confirmation samples come in bursts.
 */
enum memory_trend
memory_trend(const struct memory_history *h)
{
	unsigned oldest = (h->head + MEMORY_HISTORY - h->n) % MEMORY_HISTORY;
	unsigned last = (h->head + MEMORY_HISTORY - 1) % MEMORY_HISTORY;
	double span, growth, floor;
	unsigned half;

	if (h->n < 6)
		return TREND_UNKNOWN;
	growth = memory_rate_window(h, (h->t[last] - h->t[oldest]) / 2, &span,
	    &half);
	if (half < 3)
		return TREND_UNKNOWN;
	growth *= span;
	floor = memory_noise(h->current);
	return growth > floor ? TREND_GROWING : TREND_LEVELLED;
}

const char *
memory_human(uint64_t bytes, char buf[16])
{
	static const char units[] = "BKMGT";
	double v = (double)bytes;
	int u = 0;

	/* Choose the unit after rounding: 1048575 is "1.0M", not "1024K". */
	while (v >= 1023.5 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 16, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, 16, v < 99.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}
