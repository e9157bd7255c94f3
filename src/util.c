#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("util", "malloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("util", "calloc %zu*%zu", n, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		fatal("util", "realloc %zu", n);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("util", "strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("util", "strndup");
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) < 0)
		fatal("util", "vasprintf");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
strv_push(struct strv *s, char *owned)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = owned;
	s->v[s->n] = NULL;
}

void
strv_push_unique(struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return;
	strv_push(v, xstrdup(s));
}

void
strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

bool
strv_equal(char *const *a, char *const *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (; *a != NULL && *b != NULL; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return *a == NULL && *b == NULL;
}

void
strv_free_array(char **a)
{
	if (a == NULL)
		return;
	for (char **p = a; *p != NULL; p++)
		free(*p);
	free(a);
}

static void
buf_reserve(struct buf *b, size_t more)
{
	if (b->n + more + 1 <= b->cap)
		return;
	while (b->n + more + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 64;
	b->p = xrealloc(b->p, b->cap);
}

void
buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->p[b->n++] = c;
	b->p[b->n] = '\0';
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("util", "vsnprintf");
	buf_reserve(b, n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, n + 1, fmt, ap);
	va_end(ap);
	b->n += n;
}

char *
buf_take(struct buf *b)
{
	char *p = b->p ? b->p : xstrdup("");

	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

void
buf_reset(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->n) {
		b->n = 0;
		if (b->p != NULL)
			b->p[0] = '\0';
		return;
	}
	memmove(b->p, b->p + n, b->n - n);
	b->n -= n;
	b->p[b->n] = '\0';
}

ssize_t
read_small_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n >= 0 ? n : 0] = '\0';
	return n;
}

ssize_t
pread_small(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n >= 0 ? n : 0] = '\0';
	return n;
}

char *
read_file_text(const char *path, size_t *len)
{
	struct buf b = { 0 };
	char chunk[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, n);
	close(fd);
	if (n < 0) {
		buf_reset(&b);
		return NULL;
	}
	if (len != NULL)
		*len = b.n;
	return buf_take(&b);
}

int
write_file_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.new", path);
	const char *p = data;
	ssize_t n = 0;
	int fd, rc = -1;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) >= 0) {
		while (len > 0 && ((n = write(fd, p, len)) > 0 ||
		    (n < 0 && errno == EINTR)))
			if (n > 0) {
				p += n;
				len -= n;
			}
		if (close(fd) == 0 && len == 0 && rename(tmp, path) == 0)
			rc = 0;
	}
	if (rc != 0) {
		n = errno;
		unlink(tmp);
		errno = n;
	}
	free(tmp);
	return rc;
}

/* The length of the valid UTF-8 sequence at s, or 0 (a stray
 * continuation byte, a truncated or overlong sequence, a surrogate). */
size_t
utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string of s; bytes that are not UTF-8 (a name or a worker's
 * STATUS= may hold any) become U+FFFD, so the document stays valid. */
void
buf_json_string(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char ch = *s;
		if (ch == '"' || ch == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, ch);
		} else if (ch < 0x20)
			buf_printf(b, "\\u%04x", ch);
		else if (ch < 0x80)
			buf_putc(b, ch);
		else {
			size_t n = utf8_len((const unsigned char *)s);
			if (n == 0)
				buf_puts(b, "\\ufffd");
			else
				buf_append(b, s, n), s += n - 1;
		}
	}
	buf_putc(b, '"');
}

double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
wall_of(double mono)
{
	struct timespec ts;

	if (mono == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - (mono_now() - mono);
}

void
buf_xml_text(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];
		size_t n;

		if (ch == '<')
			buf_puts(b, "&lt;");
		else if (ch == '>')
			buf_puts(b, "&gt;");
		else if (ch == '&')
			buf_puts(b, "&amp;");
		else if (ch == '"')
			buf_puts(b, "&quot;");
		else if (ch == '\'')
			buf_puts(b, "&#39;");
		else if (ch == '\r')
			buf_puts(b, "&#13;");
		else if (ch == '\t' || ch == '\n' || (ch >= 0x20 && ch <= 0x7f))
			buf_putc(b, ch);
		else if (ch >= 0x80 && (n = utf8_len((const unsigned char *)s + i))
		    > 0 && i + n <= len && !(n == 3 && ch == 0xef &&
		    (unsigned char)s[i + 1] == 0xbf &&
		    (unsigned char)s[i + 2] >= 0xbe)) {
			buf_append(b, s + i, n);
			i += n - 1;
		} else
			buf_puts(b, "\xef\xbf\xbd");
	}
}

void
format_duration(double secs, char *buf, size_t len)
{
	long s = secs < 0 ? 0 : (long)(secs + 0.5);

	if (secs > 0 && secs < 0.5)
		snprintf(buf, len, "<1s");
	else if (s < 60)
		snprintf(buf, len, "%lds", s);
	else if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

char *
file_tail(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *data;
	ssize_t got;
	off_t off;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	off = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	data = xmalloc(max + 1);
	got = pread(fd, data, max, off);
	e = errno;
	close(fd);
	if (got < 0) {
		free(data);
		errno = e;
		return NULL;
	}
	*len = (size_t)got;
	data[*len] = '\0';
	return data;
}
