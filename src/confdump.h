/* leashd -T: the effective configuration as JSON (tests/compat). */
#ifndef LEASH_CONFDUMP_H
#define LEASH_CONFDUMP_H

#include "config.h"

/* c may be NULL (the load failed: d says why).  Returns a new string. */
char *config_dump(const struct config *c, const struct config_diag *d);

#endif
