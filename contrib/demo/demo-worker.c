/*
 * A stand-in for a long-running application worker, for etc/demo.ini.
 *
 * It "serves" --rate requests a second.  With --leak BYTES every request
 * appends BYTES to a list that is never trimmed -- the static array, the
 * singleton's property, the global that grows forever in a PHP, Node or
 * Python worker.  With --warmup BYTES it grows to that size and then stays
 * there: growth that levels off, which is not a leak.  Every second it
 * prints what it has served and its resident memory.  SIGTERM finishes the
 * current request and exits 0, as a well-behaved worker drains.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static long
rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long
parse_bytes(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024 * 1024 * 1024; break;
	}
	return (long)v;
}

int
main(int argc, char **argv)
{
	const char *name = getenv("LEASH_PROCESS_NAME");
	long leak = 0, warmup = 0, held = 0, served = 0;
	int rate = 10, ch;
	struct timespec tick;
	char **kept = NULL;
	size_t nkept = 0, cap = 0;
	time_t last = 0;

	while ((ch = getopt(argc, argv, "l:r:w:")) != -1) {
		switch (ch) {
		case 'l': leak = parse_bytes(optarg); break;
		case 'r': rate = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'w': warmup = parse_bytes(optarg); break;
		default:
			fprintf(stderr, "usage: demo-worker [-l leak-per-request] "
			    "[-r requests-per-second] [-w warmup-bytes]\n");
			return 2;
		}
	}
	if (name == NULL)
		name = "demo";
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s: pid %d ready, %d requests/s, leaking %ld bytes each\n",
	    name, (int)getpid(), rate, leak);
	tick.tv_sec = 0;
	tick.tv_nsec = 1000000000L / rate;
	while (!stop) {
		long grow = leak;
		if (warmup > 0 && held < warmup)
			grow += warmup / 50;	/* warm-up over ~50 requests */
		if (grow > 0) {
			if (nkept == cap) {
				cap = cap ? cap * 2 : 1024;
				kept = realloc(kept, cap * sizeof(*kept));
			}
			if (kept != NULL && (kept[nkept] = malloc(grow)) != NULL) {
				memset(kept[nkept++], 'x', grow);
				held += grow;
			}
		}
		served++;
		if (time(NULL) != last) {
			last = time(NULL);
			printf("%s: served %ld requests, rss %ld MiB\n", name,
			    served, rss_kib() / 1024);
		}
		nanosleep(&tick, NULL);
	}
	printf("%s: finished in-flight work after %ld requests, exiting\n",
	    name, served);
	return 0;
}
