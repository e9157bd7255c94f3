/*
 * libFuzzer target: the value parsers of parse.c, each given the same
 * text (sizes, durations, signals, booleans, integers, modes, exit codes,
 * commands, environments and %(...)s expansion), and memory_parse_source.
 * Signals come from the control socket too (leashctl signal).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
lookup(const char *name, void *arg)
{
	(void)arg;
	if (strcmp(name, "program_name") == 0)
		return "web";
	if (strcmp(name, "process_num") == 0)
		return "7";
	if (strcmp(name, "bad_num") == 0)
		return "x";
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	char **v;
	const char *why;
	uint64_t u, set[4];
	double dur;
	long l;
	int i;
	bool b;
	enum memory_source src;

	(void)parse_size(s, 1ull << 34, &u, &why);
	(void)parse_duration(s, &dur, &why);
	(void)parse_signal(s, &i, &why);
	(void)parse_bool(s, &b, &why);
	(void)parse_int(s, -5, 1000000, &l, &why);
	(void)parse_umask(s, &i, &why);
	(void)parse_exitcodes(s, set, &why);
	(void)memory_parse_source(s, &src);
	if (parse_command(s, &v, &why) == 0)
		strv_free_array(v);
	if (parse_environment(s, &v, &why) == 0)
		strv_free_array(v);
	free(parse_expand(s, lookup, NULL, &why));
	free(s);
	return 0;
}
