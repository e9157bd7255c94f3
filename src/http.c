/*
 * libmicrohttpd on libev.  MHD runs without threads of its own
 * (MHD_USE_EPOLL): its epoll descriptor is one ev_io, its next deadline
 * one ev_timer, and every event ends in MHD_run.  A request that waits
 * (startProcess until RUNNING) or streams (tail -f) suspends its
 * connection; answering resumes it, which MHD signals on its own epoll
 * descriptor, so the loop wakes without help.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <nettle/sha1.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "sockets.h"
#include "util.h"

/*
 * libmicrohttpd is loaded when the first server opens, not linked: Debian's
 * is linked with GnuTLS and its kin, whose pages would add some 2.7 MiB to
 * the RSS of every leashd, serving XML-RPC or not.
 */
#define MHD_SONAME "libmicrohttpd.so.12"
#define MHD_FUNCTIONS(X) \
	X(add_response_header) \
	X(basic_auth_get_username_password) \
	X(create_response_from_buffer) \
	X(create_response_from_callback) \
	X(destroy_response) \
	X(free) \
	X(get_daemon_info) \
	X(get_timeout) \
	X(lookup_connection_value) \
	X(queue_basic_auth_fail_response) \
	X(queue_response) \
	X(quiesce_daemon) \
	X(resume_connection) \
	X(run) \
	X(set_connection_option) \
	X(start_daemon) \
	X(stop_daemon) \
	X(suspend_connection)

static struct {
	void *lib;
#define X(f) __typeof__(MHD_##f) *f;
	MHD_FUNCTIONS(X)
#undef X
} mhd;

static int
http_load(char *err, size_t errlen)
{
	void *lib;

	if (mhd.lib != NULL)
		return 0;
	if ((lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load %s (Debian: libmicrohttpd12): "
		    "%s", MHD_SONAME, dlerror());
		return -1;
	}
#define X(f) \
	if ((mhd.f = (__typeof__(MHD_##f) *)dlsym(lib, "MHD_" #f)) == NULL) { \
		snprintf(err, errlen, "%s has no MHD_" #f, MHD_SONAME); \
		dlclose(lib); \
		return -1; \
	}
	MHD_FUNCTIONS(X)
#undef X
	mhd.lib = lib;
	return 0;
}

struct http_server {
	struct ev_loop *loop;
	struct http_request *requests;	/* every one MHD has open */
	struct MHD_Daemon *mhd;
	struct socket_config sock;
	int fd;
	char *name;
	char *username, *password;
	http_handler handler;
	void *arg;
	ev_io io;
	ev_timer timer;
};

struct http_request {
	struct http_server *srv;
	struct http_request *prev, *next;
	struct MHD_Connection *conn;
	char *method, *path;
	struct buf body;
	bool too_big;
	bool handled;		/* the handler has it */
	bool suspended;
	bool answered;
	/* waiting */
	void (*gone)(void *);
	void *gone_arg;
	/* a stream */
	bool stream_done;
	struct buf out;
	/* a reply made while the connection was suspended */
	struct MHD_Response *pending;
	unsigned int pending_status;
	struct strv args;	/* http_arg's decoded values, kept for it */
	struct strv headers;	/* name, value, ...: for the reply */
};

static void http_run(struct http_server *);

const char *
http_name(const struct http_server *s)
{
	return s->name;
}

const char *
http_method(const struct http_request *r)
{
	return r->method;
}

const char *
http_path(const struct http_request *r)
{
	return r->path;
}

const char *
http_body(const struct http_request *r, size_t *len)
{
	*len = r->body.n;
	return r->body.p ? r->body.p : "";
}

const char *
http_header(const struct http_request *r, const char *name)
{
	return mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/*
 * The value of the first name=value pair of an
 * application/x-www-form-urlencoded text, decoded ('+' a space, %XX a
 * byte; a '%' not followed by two hex digits stays as it is), or NULL.
 * Outside input: tests/fuzz/fuzz_form.c.
 */
char *
http_form_value(const char *data, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *amp = memchr(p, '&', end - p), *e = amp ? amp : end;
		struct buf v = { 0 };

		if ((size_t)(e - p) > nlen && memcmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			for (p += nlen + 1; p < e; p++) {
				char hex[3] = { 0 };
				if (*p == '+')
					buf_putc(&v, ' ');
				else if (*p == '%' && e - p > 2 &&
				    isxdigit((unsigned char)p[1]) &&
				    isxdigit((unsigned char)p[2])) {
					memcpy(hex, p + 1, 2);
					buf_putc(&v, (char)strtol(hex, NULL, 16));
					p += 2;
				} else
					buf_putc(&v, *p);
			}
			return buf_take(&v);
		}
		if ((size_t)(e - p) == nlen && memcmp(p, name, nlen) == 0)
			return xstrdup("");
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return NULL;
}

const char *
http_arg(struct http_request *r, const char *name)
{
	const char *type = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	char *v;

	if (type != NULL && strncasecmp(type,
	    "application/x-www-form-urlencoded", 33) == 0 &&
	    (type[33] == '\0' || type[33] == ';') &&
	    (v = http_form_value(r->body.p ? r->body.p : "", r->body.n,
	    name)) != NULL) {
		strv_push(&r->args, v);
		return v;
	}
	return mhd.lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void
http_url_encode(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			buf_putc(b, *s);
		else
			buf_printf(b, "%%%02X", (unsigned char)*s);
	}
}

bool
http_cross_origin(const struct http_request *r)
{
	const char *origin = http_header(r, "Origin");
	const char *host = http_header(r, MHD_HTTP_HEADER_HOST), *at;

	if (origin == NULL)
		return false;
	if ((at = strstr(origin, "://")) == NULL || host == NULL)
		return true;
	return strcasecmp(at + 3, host) != 0;
}

void
http_add_header(struct http_request *r, const char *name, const char *value)
{
	strv_push(&r->headers, xstrdup(name));
	strv_push(&r->headers, xstrdup(value));
}

void
http_redirect(struct http_request *r, const char *location)
{
	http_add_header(r, MHD_HTTP_HEADER_LOCATION, location);
	http_reply(r, MHD_HTTP_SEE_OTHER, "text/plain", "See Other\n", 10);
}

/* The headers http_add_header gave r, on its reply. */
static void
response_headers(struct http_request *r, struct MHD_Response *resp)
{
	for (size_t i = 0; i + 1 < r->headers.n; i += 2)
		mhd.add_response_header(resp, r->headers.v[i],
		    r->headers.v[i + 1]);
}

/* A resumed connection moves at MHD's next run: make it soon. */
static void
request_resume(struct http_request *r)
{
	struct http_server *s = r->srv;

	if (!r->suspended)
		return;
	r->suspended = false;
	mhd.resume_connection(r->conn);
	ev_timer_stop(s->loop, &s->timer);
	ev_timer_set(&s->timer, 0., 0.);
	ev_timer_start(s->loop, &s->timer);
}

static struct MHD_Response *
response_new(const char *content_type, const char *data, size_t len)
{
	struct MHD_Response *resp;

	resp = mhd.create_response_from_buffer(len, (void *)data,
	    MHD_RESPMEM_MUST_COPY);
	if (resp != NULL && content_type != NULL)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    content_type);
	return resp;
}

/* Queues resp, now or, for a suspended request, when MHD calls the
 * access handler again after the resume. */
static void
request_answer(struct http_request *r, unsigned int status,
    struct MHD_Response *resp)
{
	if (r->suspended) {
		r->pending = resp;
		r->pending_status = status;
		request_resume(r);
		return;
	}
	mhd.queue_response(r->conn, status, resp);
	mhd.destroy_response(resp);
}

static void
request_suspend(struct http_request *r)
{
	if (!r->suspended) {
		r->suspended = true;
		mhd.suspend_connection(r->conn);
	}
}

void
http_reply(struct http_request *r, unsigned int status,
    const char *content_type, const char *data, size_t len)
{
	struct MHD_Response *resp;

	if (r->answered)
		return;
	r->answered = true;
	r->gone = NULL;
	if ((resp = response_new(content_type, data, len)) != NULL) {
		response_headers(r, resp);
		request_answer(r, status, resp);
	}
}

void
http_wait(struct http_request *r, void (*gone)(void *), void *arg)
{
	r->gone = gone;
	r->gone_arg = arg;
	if (!r->answered)
		request_suspend(r);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_request *r = cls;
	size_t n;

	(void)pos;
	if (r->out.n == 0) {
		if (r->stream_done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		/* Nothing yet: sleep until http_stream_write. */
		request_suspend(r);
		return 0;
	}
	n = r->out.n < max ? r->out.n : max;
	memcpy(buf, r->out.p, n);
	buf_consume(&r->out, n);
	return (ssize_t)n;
}

void
http_stream_begin(struct http_request *r, const char *content_type)
{
	struct MHD_Response *resp;

	if (r->answered)
		return;
	r->answered = true;
	resp = mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    stream_read, r, NULL);
	if (resp == NULL)
		return;
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    content_type);
	mhd.add_response_header(resp, "X-Accel-Buffering", "no");
	response_headers(r, resp);
	/* A follower may stay for days. */
	mhd.set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
	request_answer(r, MHD_HTTP_OK, resp);
}

void
http_stream_write(struct http_request *r, const char *data, size_t len)
{
	/* A follower that does not read is cut off, not buffered forever. */
	if (r->out.n + len > HTTP_BODY_MAX) {
		r->stream_done = true;
		buf_reset(&r->out);
	} else
		buf_append(&r->out, data, len);
	request_resume(r);
}

void
http_stream_end(struct http_request *r)
{
	r->stream_done = true;
	request_resume(r);
}

/* Equal without saying where they first differ. */
static bool
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
	return d == 0;
}

/* The password given against the one configured: as written, or
 * supervisord's "{SHA}" and the SHA-1 of the password in hex. */
static bool
password_matches(const char *given, const char *configured)
{
	uint8_t digest[SHA1_DIGEST_SIZE];
	char hex[2 * SHA1_DIGEST_SIZE + 1];
	struct sha1_ctx ctx;

	if (strncmp(configured, "{SHA}", 5) != 0)
		return secret_equal(given, configured);
	sha1_init(&ctx);
	sha1_update(&ctx, strlen(given), (const uint8_t *)given);
	sha1_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return secret_equal(hex, configured + 5);
}

static bool
request_authorized(struct http_server *s, struct MHD_Connection *conn)
{
	char *user, *pass = NULL;
	bool ok;

	if (s->username == NULL)
		return true;
	if ((user = mhd.basic_auth_get_username_password(conn, &pass)) == NULL)
		return false;
	ok = secret_equal(user, s->username) && pass != NULL &&
	    password_matches(pass, s->password);
	mhd.free(user);
	if (pass != NULL)
		mhd.free(pass);
	return ok;
}

static enum MHD_Result
simple_reply(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	struct MHD_Response *resp = response_new("text/plain", text, strlen(text));
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	rc = mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return rc;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_request *r = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result rc;

	(void)version;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->srv = s;
		r->conn = conn;
		r->method = xstrdup(method);
		r->path = xstrdup(url);
		if ((r->next = s->requests) != NULL)
			r->next->prev = r;
		s->requests = r;
		*con_cls = r;
		return MHD_YES;
	}
	if (*data_size > 0) {
		if (r->body.n + *data_size > HTTP_BODY_MAX)
			r->too_big = true;
		else
			buf_append(&r->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	if (r->pending != NULL) {
		resp = r->pending;
		r->pending = NULL;
		rc = mhd.queue_response(conn, r->pending_status, resp);
		mhd.destroy_response(resp);
		return rc;
	}
	if (r->handled)
		return MHD_YES;
	r->handled = true;
	if (!request_authorized(s, conn)) {
		resp = response_new("text/plain", "Unauthorized\n", 13);
		if (resp == NULL)
			return MHD_NO;
		rc = mhd.queue_basic_auth_fail_response(conn, "default", resp);
		mhd.destroy_response(resp);
		r->answered = true;
		return rc;
	}
	if (r->too_big) {
		r->answered = true;
		return simple_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE,
		    "Request body too large\n");
	}
	s->handler(s->arg, r);
	if (!r->answered && !r->suspended) {
		/* A handler that neither answered nor waited. */
		r->answered = true;
		return simple_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "No reply\n");
	}
	return MHD_YES;
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	struct http_request *r = *con_cls;

	struct http_server *s = cls;

	(void)conn;
	(void)code;
	if (r == NULL)
		return;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		s->requests = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	if (r->gone != NULL)
		r->gone(r->gone_arg);
	if (r->pending != NULL)
		mhd.destroy_response(r->pending);
	buf_reset(&r->body);
	buf_reset(&r->out);
	strv_free(&r->args);
	strv_free(&r->headers);
	free(r->method);
	free(r->path);
	free(r);
	*con_cls = NULL;
}

static void
http_logger(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char *msg = xvasprintf(fmt, ap);
	size_t n = strlen(msg);

	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("http", "%s: %s", s->name, msg);
	free(msg);
}

static void
http_run(struct http_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	mhd.run(s->mhd);
	ev_timer_stop(s->loop, &s->timer);
	if (mhd.get_timeout(s->mhd, &ms) == MHD_YES) {
		ev_timer_set(&s->timer, ms / 1000.0, 0.);
		ev_timer_start(s->loop, &s->timer);
	}
}

static void
http_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	http_run(container_of(io, struct http_server, io));
}

static void
http_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	http_run(container_of(t, struct http_server, timer));
}

struct http_server *
http_open(struct ev_loop *loop, const struct http_listen *l,
    http_handler handler, void *arg, char *err, size_t errlen)
{
	struct http_server *s;
	const union MHD_DaemonInfo *info;
	char why[256], *key;

	if (http_load(err, errlen) != 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->handler = handler;
	s->arg = arg;
	s->username = l->username ? xstrdup(l->username) : NULL;
	s->password = xstrdup(l->password ? l->password : "");
	s->sock.backlog = 128;
	s->sock.mode = l->mode;
	s->sock.owner = l->owner ? xstrdup(l->owner) : NULL;
	if (l->unix_path != NULL) {
		s->sock.listen = xasprintf("unix:%s", l->unix_path);
		s->name = xstrdup(l->unix_path);
	} else {
		s->sock.listen = xasprintf("tcp:%s", l->inet);
		s->name = xstrdup(l->inet);
	}
	key = xasprintf("rpc:%s", s->sock.listen);
	/* Carried across an upgrade, or bound now. */
	if ((s->fd = sockets_take(key)) < 0)
		s->fd = socket_bind(&s->sock, why, sizeof(why));
	if (s->fd >= 0)
		sockets_register(key, s->fd);
	free(key);
	if (s->fd < 0) {
		snprintf(err, errlen, "%s", why);
		s->mhd = NULL;
		http_close(s);
		return NULL;
	}
	s->mhd = mhd.start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, http_access, s,
	    MHD_OPTION_LISTEN_SOCKET, s->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONNECTIONS_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_IDLE_TIMEOUT,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
	    MHD_OPTION_EXTERNAL_LOGGER, http_logger, s,
	    MHD_OPTION_END);
	if (s->mhd == NULL ||
	    (info = mhd.get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL) {
		snprintf(err, errlen, "%s: cannot start the HTTP server", s->name);
		http_close(s);
		return NULL;
	}
	ev_io_init(&s->io, http_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(loop, &s->io);
	ev_init(&s->timer, http_timer_cb);
	http_run(s);
	return s;
}

void
http_close(struct http_server *s)
{
	if (s == NULL)
		return;
	if (s->mhd != NULL) {
		ev_io_stop(s->loop, &s->io);
		ev_timer_stop(s->loop, &s->timer);
		/* MHD refuses to stop with connections suspended: wake
		 * them, streams ended, and let MHD take them back. */
		for (struct http_request *r = s->requests; r != NULL; r = r->next) {
			r->stream_done = true;
			r->gone = NULL;
			request_resume(r);
		}
		mhd.run(s->mhd);
		/* The listening socket is ours to close and unlink. */
		mhd.quiesce_daemon(s->mhd);
		mhd.stop_daemon(s->mhd);
	}
	if (s->fd >= 0) {
		sockets_unregister(s->fd);
		socket_unbind(&s->sock, s->fd);
	}
	free(s->sock.listen);
	free(s->sock.owner);
	free(s->name);
	free(s->username);
	free(s->password);
	free(s);
}
