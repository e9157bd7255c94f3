/*
 * libFuzzer target: an XML-RPC request body as any client of
 * [unix_http_server] or [inet_http_server] may POST it to /RPC2
 * (xmlrpc_parse_call).  What parses must write back out (xmlrpc_call,
 * xmlrpc_response) as XML that parses again to the same method.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xr_value *params, *again;
	struct buf b = { 0 };
	char err[256], *method, *method2;

	if (xmlrpc_parse_call((const char *)data, size, &method, &params, err,
	    sizeof(err)) != 0)
		return 0;
	xmlrpc_call(&b, method, params);
	if (xmlrpc_parse_call(b.p, b.n, &method2, &again, err,
	    sizeof(err)) != 0 || strcmp(method, method2) != 0 ||
	    again->n != params->n)
		abort();
	buf_reset(&b);
	xmlrpc_response(&b, params);
	xmlrpc_fault(&b, 1, method);
	buf_reset(&b);
	free(method);
	free(method2);
	xr_free(params);
	xr_free(again);
	return 0;
}
