/*
 * libFuzzer target: the configuration loader (inih, includes, every key's
 * parser, %(...)s expansion), as leashd -t and a reload run it.  The input
 * is written to a file in a directory of its own, the fuzzer's working
 * directory, so that relative includes see only what the fuzzer wrote.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct config_diag d = { 0 };
	struct config *c;
	FILE *f;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "fuzz-config-%d.ini", (int)getpid());
		log_setlevel(LOG_LEVEL_ERROR);
	}
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	c = config_load(path, &d);
	config_free(c);
	config_diag_free(&d);
	return 0;
}
