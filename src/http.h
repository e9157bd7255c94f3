/*
 * An HTTP server on leashd's loop: libmicrohttpd in its external epoll
 * mode, its epoll descriptor watched by libev, on a UNIX socket
 * ([unix_http_server]) or TCP ([inet_http_server]), with HTTP basic
 * authentication as supervisord does it.  It knows requests, not what
 * they mean: a handler answers each one now, later (the connection is
 * suspended until then), or as a stream (tail -f).
 */
#ifndef LEASH_HTTP_H
#define LEASH_HTTP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define HTTP_BODY_MAX		(4 << 20)	/* bytes; more gets 413 */
#define HTTP_CONNECTIONS_MAX	256
#define HTTP_IDLE_TIMEOUT	60		/* s, for a connection at rest */

struct http_server;
struct http_request;

struct http_listen {
	const char *unix_path;		/* or NULL */
	int mode;			/* chmod of the socket */
	const char *owner;		/* chown USER[:GROUP], or NULL */
	const char *inet;		/* "HOST:PORT", ":PORT", "*:PORT" or NULL */
	const char *username;		/* NULL: no authentication */
	const char *password;
};

/* Called for each complete request; the body is whole. */
typedef void (*http_handler)(void *arg, struct http_request *);

/*
 * Opens the server on the socket l names (only one of unix_path and
 * inet).  Returns NULL with a reason in err.
 */
struct http_server *http_open(struct ev_loop *, const struct http_listen *l,
    http_handler, void *arg, char *err, size_t errlen);
void http_close(struct http_server *);
/* A label for log lines: the socket's path or address. */
const char *http_name(const struct http_server *);

const char *http_method(const struct http_request *);
const char *http_path(const struct http_request *);
const char *http_body(const struct http_request *, size_t *len);
/* A request header, or NULL. */
const char *http_header(const struct http_request *, const char *name);
/*
 * A form value: of an application/x-www-form-urlencoded body, else of
 * the query string; NULL when there is none.  It lives as long as the
 * request.
 */
const char *http_arg(struct http_request *, const char *name);
/* The form parser itself (to free), apart for the fuzzer. */
char *http_form_value(const char *data, size_t len, const char *name);
/* s for a URL's query: every byte but [A-Za-z0-9-._~] as %XX. */
void http_url_encode(struct buf *, const char *s);
/*
 * A request a browser sent for another site: its Origin header names a
 * host:port other than its Host header (a POST form of a page elsewhere,
 * carrying the credentials the browser keeps for this one).
 */
bool http_cross_origin(const struct http_request *);

/* A header for the reply to come (http_reply, http_stream_begin). */
void http_add_header(struct http_request *, const char *name,
    const char *value);
/* Answers 303 See Other: the browser goes to location with a GET. */
void http_redirect(struct http_request *, const char *location);
/* Answers the request, now or after it was left waiting. */
void http_reply(struct http_request *, unsigned int status,
    const char *content_type, const char *data, size_t len);
/*
 * Leaves the request waiting: the handler answers later with http_reply
 * or starts a stream.  gone is called if the client goes away first
 * (after it, the request must not be used).
 */
void http_wait(struct http_request *, void (*gone)(void *), void *arg);
/* A response of unknown length, written piece by piece. */
void http_stream_begin(struct http_request *, const char *content_type);
void http_stream_write(struct http_request *, const char *, size_t);
void http_stream_end(struct http_request *);

#endif
