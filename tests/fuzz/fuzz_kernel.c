/*
 * libFuzzer target: what leashd parses of the kernel's files, in case a
 * kernel (or a container runtime's fake /proc) writes something odd:
 * smaps_rollup, memory.stat, and /proc/self/cgroup with mountinfo
 * (cgroup_detect).  The input is split at its first NUL: the text before
 * is /proc/self/cgroup, the rest mountinfo; the whole is also given to the
 * line parsers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "memory.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char cg[64], mi[64];
	const uint8_t *nul = memchr(data, '\0', size);
	size_t first = nul != NULL ? (size_t)(nul - data) : size;
	char *s = xstrndup((const char *)data, size), why[256];
	struct cgroup_root root;
	uint64_t a, b;

	if (cg[0] == '\0') {
		snprintf(cg, sizeof(cg), "fuzz-cgroup-%d", (int)getpid());
		snprintf(mi, sizeof(mi), "fuzz-mountinfo-%d", (int)getpid());
	}
	(void)memory_parse_smaps_rollup(s, &a, &b);
	(void)cgroup_stat_value(s, "inactive_file", &a);
	(void)cgroup_stat_value(s, "total_inactive_file", &a);
	put(cg, data, first);
	put(mi, nul != NULL ? nul + 1 : data + size,
	    nul != NULL ? size - first - 1 : 0);
	if (cgroup_detect(cg, mi, &root, why, sizeof(why)) == 0)
		cgroup_root_free(&root);
	free(s);
	return 0;
}
