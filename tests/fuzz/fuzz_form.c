/*
 * libFuzzer target: an application/x-www-form-urlencoded body as any
 * client of [unix_http_server] or [inet_http_server] may POST it to the
 * web page's /action (http_form_value).  A value found is never longer
 * than the body, and what http_url_encode writes of it parses back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "name", "do", "msg", "" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = http_form_value((const char *)data, size, names[i]);
		struct buf b = { 0 };
		char *again;

		if (v == NULL)
			continue;
		if (strlen(v) > size)
			abort();
		buf_puts(&b, "x=1&k=");
		http_url_encode(&b, v);
		again = http_form_value(b.p, b.n, "k");
		if (again == NULL || strcmp(again, v) != 0)
			abort();
		free(again);
		buf_reset(&b);
		free(v);
	}
	return 0;
}
