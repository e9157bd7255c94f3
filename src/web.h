/*
 * The web page on the HTTP servers of [unix_http_server] and
 * [inet_http_server], as supervisord's: GET / (or /index.html) shows every
 * process with its memory against its limit and its replacement state;
 * POST /action (name=NAME&do=start|stop|restart|replace) acts on one and
 * answers 303 See Other to /?msg=...; GET /tail?name=NAME[&channel=stderr]
 * shows the end of its log.  A GET never changes anything, and a POST a
 * browser sends for another site (Origin) is refused.  http.c has already
 * checked the credentials.
 */
#ifndef LEASH_WEB_H
#define LEASH_WEB_H

#include <stdbool.h>

struct control_daemon;
struct http_request;

#define WEB_TAIL_BYTES	(16 << 10)	/* of a log, on /tail */

/* Answers req and returns true when it is the web page's; else false. */
bool web_request(const struct control_daemon *, struct http_request *);

#endif
