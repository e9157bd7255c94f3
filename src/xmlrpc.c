/*
 * XML-RPC values, a methodCall parser on expat and the writers.
 *
 * The parser keeps a stack of the containers being filled (the params
 * array at the bottom, then each open array or struct); a value is
 * attached to the top one when its </value> closes.  Text is gathered
 * only where it means something: methodName, a member's name, a scalar.
 */
#include <errno.h>
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmlrpc.h"

struct xr_value *
xr_new(enum xr_type type)
{
	struct xr_value *v = xcalloc(1, sizeof(*v));

	v->type = type;
	return v;
}

struct xr_value *
xr_int(long long i)
{
	struct xr_value *v = xr_new(XR_INT);

	v->i = i;
	return v;
}

struct xr_value *
xr_bool(bool b)
{
	struct xr_value *v = xr_new(XR_BOOL);

	v->i = b;
	return v;
}

struct xr_value *
xr_stringn(const char *s, size_t len)
{
	struct xr_value *v = xr_new(XR_STRING);

	v->s = xstrndup(s, len);
	v->len = len;
	return v;
}

struct xr_value *
xr_string(const char *s)
{
	return xr_stringn(s ? s : "", s ? strlen(s) : 0);
}

static void
xr_grow(struct xr_value *c)
{
	if (c->n < c->cap)
		return;
	c->cap = c->cap ? c->cap * 2 : 8;
	c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	if (c->type == XR_STRUCT)
		c->keys = xrealloc(c->keys, c->cap * sizeof(*c->keys));
}

void
xr_push(struct xr_value *a, struct xr_value *v)
{
	xr_grow(a);
	a->v[a->n++] = v;
}

void
xr_set(struct xr_value *st, const char *key, struct xr_value *v)
{
	for (size_t i = 0; i < st->n; i++) {
		if (strcmp(st->keys[i], key) == 0) {
			xr_free(st->v[i]);
			st->v[i] = v;
			return;
		}
	}
	xr_grow(st);
	st->keys[st->n] = xstrdup(key);
	st->v[st->n++] = v;
}

const struct xr_value *
xr_get(const struct xr_value *st, const char *key)
{
	if (st == NULL || st->type != XR_STRUCT)
		return NULL;
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->keys[i], key) == 0)
			return st->v[i];
	return NULL;
}

void
xr_free(struct xr_value *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		xr_free(v->v[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->v);
	free(v->keys);
	free(v->s);
	free(v);
}

const char *
xr_type_name(enum xr_type t)
{
	static const char *const names[] = {
		[XR_STRING] = "string", [XR_INT] = "int",
		[XR_BOOL] = "boolean", [XR_DOUBLE] = "double",
		[XR_ARRAY] = "array", [XR_STRUCT] = "struct", [XR_NIL] = "nil",
	};

	return names[t];
}

/* Parsing. */

enum xr_elem {
	E_NONE, E_CALL, E_NAME, E_PARAMS, E_PARAM, E_VALUE, E_SCALAR,
	E_ARRAY, E_DATA, E_STRUCT, E_MEMBER, E_MEMBER_NAME, E_NIL,
};

#define PARSE_STACK_MAX (XMLRPC_DEPTH_MAX * 4 + 8)

struct xr_parser {
	XML_Parser xp;
	char *err;
	size_t errlen;
	bool failed;

	enum xr_elem elems[PARSE_STACK_MAX];
	size_t nelems;
	struct buf text;
	bool gather;

	char *method;
	struct xr_value *containers[XMLRPC_DEPTH_MAX + 1];
	char *member_names[XMLRPC_DEPTH_MAX + 1];
	size_t ncontainers;
	enum xr_type scalar;		/* the open scalar element's type */
	struct xr_value *done;		/* the value inside the open <value> */
	bool typed;			/* it had a type element */
};

static void __attribute__((format(printf, 2, 3)))
parse_fail(struct xr_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	XML_StopParser(p->xp, XML_FALSE);
}

static enum xr_elem
parent(const struct xr_parser *p)
{
	return p->nelems ? p->elems[p->nelems - 1] : E_NONE;
}

static bool
scalar_type(const char *name, enum xr_type *t)
{
	static const struct { const char *name; enum xr_type t; } types[] = {
		{ "string", XR_STRING }, { "int", XR_INT }, { "i4", XR_INT },
		{ "i8", XR_INT }, { "boolean", XR_BOOL }, { "double", XR_DOUBLE },
		{ "dateTime.iso8601", XR_STRING },
	};

	for (size_t i = 0; i < nitems(types); i++) {
		if (strcmp(name, types[i].name) == 0) {
			*t = types[i].t;
			return true;
		}
	}
	return false;
}

static void XMLCALL
parse_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct xr_parser *p = arg;
	enum xr_elem up = parent(p), e;
	enum xr_type t;

	(void)attrs;
	if (p->failed)
		return;
	if (p->nelems == PARSE_STACK_MAX) {
		parse_fail(p, "values nested too deeply");
		return;
	}
	p->gather = false;
	if (strcmp(name, "methodCall") == 0 && up == E_NONE && p->method == NULL)
		e = E_CALL;
	else if (strcmp(name, "methodName") == 0 && up == E_CALL &&
	    p->method == NULL)
		e = E_NAME;
	else if (strcmp(name, "params") == 0 && up == E_CALL &&
	    p->ncontainers == 0) {
		e = E_PARAMS;
		p->containers[p->ncontainers] = xr_new(XR_ARRAY);
		p->member_names[p->ncontainers++] = NULL;
	} else if (strcmp(name, "param") == 0 && up == E_PARAMS)
		e = E_PARAM;
	else if (strcmp(name, "value") == 0 &&
	    (up == E_PARAM || up == E_DATA || up == E_MEMBER)) {
		e = E_VALUE;
		if (up == E_MEMBER &&
		    p->member_names[p->ncontainers - 1] == NULL) {
			parse_fail(p, "a struct member without a name");
			return;
		}
		p->done = NULL;
		p->typed = false;
	} else if (up == E_VALUE && !p->typed && scalar_type(name, &t)) {
		e = E_SCALAR;
		p->scalar = t;
		p->typed = true;
	} else if (up == E_VALUE && !p->typed && strcmp(name, "nil") == 0) {
		e = E_NIL;
		p->typed = true;
		p->done = xr_new(XR_NIL);
	} else if (up == E_VALUE && !p->typed &&
	    (strcmp(name, "array") == 0 || strcmp(name, "struct") == 0)) {
		if (p->ncontainers > XMLRPC_DEPTH_MAX) {
			parse_fail(p, "values nested more than %d deep",
			    XMLRPC_DEPTH_MAX);
			return;
		}
		e = name[0] == 'a' ? E_ARRAY : E_STRUCT;
		p->typed = true;
		p->containers[p->ncontainers] =
		    xr_new(e == E_ARRAY ? XR_ARRAY : XR_STRUCT);
		p->member_names[p->ncontainers++] = NULL;
	} else if (strcmp(name, "data") == 0 && up == E_ARRAY)
		e = E_DATA;
	else if (strcmp(name, "member") == 0 && up == E_STRUCT) {
		e = E_MEMBER;
		free(p->member_names[p->ncontainers - 1]);
		p->member_names[p->ncontainers - 1] = NULL;
	} else if (strcmp(name, "name") == 0 && up == E_MEMBER)
		e = E_MEMBER_NAME;
	else {
		parse_fail(p, "unexpected element <%.64s>", name);
		return;
	}
	p->elems[p->nelems++] = e;
	if (e == E_NAME || e == E_VALUE || e == E_SCALAR || e == E_MEMBER_NAME) {
		buf_reset(&p->text);
		p->gather = true;
	}
}

static void XMLCALL
parse_text(void *arg, const XML_Char *s, int len)
{
	struct xr_parser *p = arg;

	if (p->failed || !p->gather)
		return;
	buf_append(&p->text, s, len);
}

/* The scalar's text as a value, or NULL with the parse failed. */
static struct xr_value *
scalar_value(struct xr_parser *p)
{
	const char *s = p->text.p ? p->text.p : "";
	struct xr_value *v;
	char *end;

	switch (p->scalar) {
	case XR_STRING:
		return xr_stringn(s, p->text.n);
	case XR_INT:
	case XR_BOOL:
		v = xr_new(p->scalar);
		errno = 0;
		v->i = strtoll(s, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (errno != 0 || end == s || *end != '\0' ||
		    (p->scalar == XR_BOOL && v->i != 0 && v->i != 1)) {
			parse_fail(p, "\"%.64s\" is not %s %s", s, p->scalar ==
			    XR_INT ? "an" : "a", xr_type_name(p->scalar));
			xr_free(v);
			return NULL;
		}
		return v;
	case XR_DOUBLE:
		v = xr_new(XR_DOUBLE);
		errno = 0;
		v->d = strtod(s, &end);
		if (errno != 0 || end == s || *end != '\0' || !isfinite(v->d)) {
			parse_fail(p, "\"%.64s\" is not a double", s);
			xr_free(v);
			return NULL;
		}
		return v;
	default:
		return NULL;
	}
}

static void XMLCALL
parse_end(void *arg, const XML_Char *name)
{
	struct xr_parser *p = arg;
	struct xr_value *top, *v;
	char **key;

	(void)name;
	if (p->failed || p->nelems == 0)
		return;
	p->gather = false;
	switch (p->elems[--p->nelems]) {
	case E_NAME:
		p->method = buf_take(&p->text);
		break;
	case E_MEMBER_NAME:
		key = &p->member_names[p->ncontainers - 1];
		free(*key);
		*key = buf_take(&p->text);
		break;
	case E_SCALAR:
		p->done = scalar_value(p);
		break;
	case E_ARRAY:
	case E_STRUCT:
		/* Back in the value the container is: typed, whatever the
		 * values inside it were. */
		p->typed = true;
		p->done = p->containers[--p->ncontainers];
		free(p->member_names[p->ncontainers]);
		p->member_names[p->ncontainers] = NULL;
		break;
	case E_VALUE:
		/* An untyped value is a string. */
		v = p->typed ? p->done : xr_stringn(p->text.p ? p->text.p : "",
		    p->text.n);
		p->done = NULL;
		if (v == NULL)
			break;
		top = p->containers[p->ncontainers - 1];
		key = &p->member_names[p->ncontainers - 1];
		if (top->type == XR_STRUCT) {
			xr_set(top, *key, v);
			free(*key);
			*key = NULL;
		} else
			xr_push(top, v);
		break;
	case E_MEMBER:
		if (p->member_names[p->ncontainers - 1] != NULL)
			parse_fail(p, "a struct member without a value");
		break;
	default:
		break;
	}
	if (p->nelems > 0 && p->elems[p->nelems - 1] == E_VALUE)
		p->gather = false;	/* whitespace around a typed value */
}

/* A DOCTYPE could declare entities: refused outright. */
static void XMLCALL
parse_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	parse_fail(arg, "a DOCTYPE is not allowed");
}

int
xmlrpc_parse_call(const char *body, size_t len, char **method,
    struct xr_value **params, char *err, size_t errlen)
{
	struct xr_parser p = { .err = err, .errlen = errlen };
	int rc = -1;

	*method = NULL;
	*params = NULL;
	if (len > XMLRPC_BODY_MAX) {
		snprintf(err, errlen, "request body larger than %d bytes",
		    XMLRPC_BODY_MAX);
		return -1;
	}
	if ((p.xp = XML_ParserCreate("UTF-8")) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	XML_SetUserData(p.xp, &p);
	XML_SetElementHandler(p.xp, parse_start, parse_end);
	XML_SetCharacterDataHandler(p.xp, parse_text);
	XML_SetStartDoctypeDeclHandler(p.xp, parse_doctype);
	if (XML_Parse(p.xp, body, (int)len, XML_TRUE) == XML_STATUS_ERROR &&
	    !p.failed)
		snprintf(err, errlen, "XML error at line %lu: %s",
		    (unsigned long)XML_GetCurrentLineNumber(p.xp),
		    XML_ErrorString(XML_GetErrorCode(p.xp)));
	else if (!p.failed && p.method == NULL)
		snprintf(err, errlen, "no methodName");
	else if (!p.failed) {
		*method = p.method;
		p.method = NULL;
		*params = p.ncontainers ? p.containers[0] : xr_new(XR_ARRAY);
		if (p.ncontainers)
			p.ncontainers--;
		rc = 0;
	}
	xr_free(p.done);
	while (p.ncontainers > 0) {
		p.ncontainers--;
		xr_free(p.containers[p.ncontainers]);
		free(p.member_names[p.ncontainers]);
	}
	free(p.method);
	buf_reset(&p.text);
	XML_ParserFree(p.xp);
	return rc;
}

/* Writing. */

static void
xml_value(struct buf *b, const struct xr_value *v)
{
	buf_puts(b, "<value>");
	switch (v->type) {
	case XR_STRING:
		buf_puts(b, "<string>");
		buf_xml_text(b, v->s, v->len);
		buf_puts(b, "</string>");
		break;
	case XR_INT:
		buf_printf(b, "<int>%lld</int>", v->i);
		break;
	case XR_BOOL:
		buf_printf(b, "<boolean>%d</boolean>", v->i ? 1 : 0);
		break;
	case XR_DOUBLE:
		buf_printf(b, "<double>%.17g</double>", v->d);
		break;
	case XR_NIL:
		buf_puts(b, "<nil/>");
		break;
	case XR_ARRAY:
		buf_puts(b, "<array><data>\n");
		for (size_t i = 0; i < v->n; i++) {
			xml_value(b, v->v[i]);
			buf_putc(b, '\n');
		}
		buf_puts(b, "</data></array>");
		break;
	case XR_STRUCT:
		buf_puts(b, "<struct>\n");
		for (size_t i = 0; i < v->n; i++) {
			buf_puts(b, "<member><name>");
			buf_xml_text(b, v->keys[i], strlen(v->keys[i]));
			buf_puts(b, "</name>");
			xml_value(b, v->v[i]);
			buf_puts(b, "</member>\n");
		}
		buf_puts(b, "</struct>");
		break;
	}
	buf_puts(b, "</value>");
}

void
xmlrpc_response(struct buf *out, const struct xr_value *v)
{
	buf_puts(out, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n"
	    "<param>\n");
	xml_value(out, v);
	buf_puts(out, "\n</param>\n</params>\n</methodResponse>\n");
}

void
xmlrpc_fault(struct buf *out, int code, const char *message)
{
	struct xr_value *f = xr_new(XR_STRUCT);

	xr_set(f, "faultCode", xr_int(code));
	xr_set(f, "faultString", xr_string(message));
	buf_puts(out, "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
	xml_value(out, f);
	buf_puts(out, "\n</fault>\n</methodResponse>\n");
	xr_free(f);
}

void
xmlrpc_call(struct buf *out, const char *method, const struct xr_value *params)
{
	buf_puts(out, "<?xml version='1.0'?>\n<methodCall>\n<methodName>");
	buf_xml_text(out, method, strlen(method));
	buf_puts(out, "</methodName>\n<params>\n");
	for (size_t i = 0; params != NULL && i < params->n; i++) {
		buf_puts(out, "<param>\n");
		xml_value(out, params->v[i]);
		buf_puts(out, "\n</param>\n");
	}
	buf_puts(out, "</params>\n</methodCall>\n");
}
