/*
 * libFuzzer target: the state file (state.c), which a successor reads
 * after a crash and which may be truncated, stale or edited.  What parses
 * must format and parse again to the same processes and sockets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st, again;
	size_t skipped;
	char err[256], *text;

	if (state_parse((const char *)data, size, &st, &skipped, err,
	    sizeof(err)) != 0)
		return 0;
	text = state_format(&st);
	if (state_parse(text, strlen(text), &again, &skipped, err,
	    sizeof(err)) != 0 || again.nprocs != st.nprocs ||
	    again.nsockets != st.nsockets || again.leashd != st.leashd)
		abort();
	for (size_t i = 0; i < st.nprocs; i++)
		if (again.procs[i].pid != st.procs[i].pid ||
		    strcmp(again.procs[i].fullname, st.procs[i].fullname) != 0)
			abort();
	state_free(&again);
	state_free(&st);
	free(text);
	return 0;
}
