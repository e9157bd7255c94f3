/*
 * XML-RPC's encoding (xmlrpc.com/spec), both ways: a methodCall parsed
 * with expat into a tree of values, and a methodResponse or a fault
 * written from one.  Nothing here knows supervisord's methods (rpc.c).
 *
 * Limits, so that a body cannot make leashd allocate without bound:
 * XMLRPC_BODY_MAX bytes of XML, values nested XMLRPC_DEPTH_MAX deep; a
 * DOCTYPE (and so every entity declaration) is refused.
 */
#ifndef LEASH_XMLRPC_H
#define LEASH_XMLRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define XMLRPC_BODY_MAX		(4 << 20)
#define XMLRPC_DEPTH_MAX	32

enum xr_type {
	XR_STRING,		/* also base64 and dateTime.iso8601, as text */
	XR_INT,			/* i4, int, i8 */
	XR_BOOL,
	XR_DOUBLE,
	XR_ARRAY,
	XR_STRUCT,
	XR_NIL,
};

struct xr_value {
	enum xr_type type;
	long long i;		/* XR_INT, XR_BOOL */
	double d;
	char *s;		/* XR_STRING; NUL-terminated */
	size_t len;
	/* XR_ARRAY, XR_STRUCT (keys[i] names v[i]) */
	struct xr_value **v;
	char **keys;
	size_t n, cap;
};

/*
 * Parses a methodCall.  On success the method name and its params (an
 * XR_ARRAY) are returned, to free with free and xr_free; on failure -1
 * with a reason in err.
 */
int xmlrpc_parse_call(const char *body, size_t len, char **method,
    struct xr_value **params, char *err, size_t errlen);

struct xr_value *xr_new(enum xr_type);
struct xr_value *xr_int(long long);
struct xr_value *xr_bool(bool);
struct xr_value *xr_string(const char *);
struct xr_value *xr_stringn(const char *, size_t);
/* Appends v to an array; sets key to v in a struct.  Both take v. */
void xr_push(struct xr_value *array, struct xr_value *v);
void xr_set(struct xr_value *st, const char *key, struct xr_value *v);
const struct xr_value *xr_get(const struct xr_value *st, const char *key);
void xr_free(struct xr_value *);
/* The type's XML-RPC name, for a fault that says what was expected. */
const char *xr_type_name(enum xr_type);

/* A methodResponse carrying v, or a fault; appended to out. */
void xmlrpc_response(struct buf *out, const struct xr_value *v);
void xmlrpc_fault(struct buf *out, int code, const char *message);
/* A methodCall (for tests and for the fuzzer's round trip). */
void xmlrpc_call(struct buf *out, const char *method,
    const struct xr_value *params);

#endif
