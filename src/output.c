#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "util.h"

/* The control socket's and the HTTP server's followers. */
static struct output_hooks hooks[OUTPUT_HOOKS_MAX];
static size_t (*filter)(struct output *, char *, size_t);

void
output_set_filter(size_t (*fn)(struct output *, char *, size_t))
{
	filter = fn;
}

void
output_add_hooks(const struct output_hooks *h)
{
	for (size_t i = 0; i < nitems(hooks); i++) {
		if (hooks[i].arg == NULL) {
			hooks[i] = *h;
			return;
		}
	}
	fatalx("output", "more than %d output hooks", OUTPUT_HOOKS_MAX);
}

void
output_remove_hooks(void *arg)
{
	for (size_t i = 0; i < nitems(hooks); i++)
		if (hooks[i].arg == arg)
			memset(&hooks[i], 0, sizeof(hooks[i]));
}

int
logfile_open(struct logfile *lf)
{
	struct stat st;

	if (lf->path == NULL || lf->fd >= 0)
		return 0;
	lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (lf->fd < 0) {
		log_warn("output", "cannot open log file %s", lf->path);
		return -1;
	}
	lf->regular = fstat(lf->fd, &st) == 0 && S_ISREG(st.st_mode);
	lf->size = lf->regular ? (uint64_t)st.st_size : 0;
	return 0;
}

void
logfile_close(struct logfile *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
}

/* path.N-1 -> path.N ... path -> path.1, as supervisord and logrotate do. */
static void
logfile_rotate(struct logfile *lf)
{
	char *from, *to;

	logfile_close(lf);
	if (lf->backups <= 0) {
		if (truncate(lf->path, 0) != 0 && errno != ENOENT)
			log_warn("output", "cannot truncate %s", lf->path);
	} else {
		for (long i = lf->backups - 1; i >= 1; i--) {
			from = xasprintf("%s.%ld", lf->path, i);
			to = xasprintf("%s.%ld", lf->path, i + 1);
			if (rename(from, to) != 0 && errno != ENOENT)
				log_warn("output", "cannot rename %s", from);
			free(from);
			free(to);
		}
		to = xasprintf("%s.1", lf->path);
		if (rename(lf->path, to) != 0 && errno != ENOENT)
			log_warn("output", "cannot rename %s", lf->path);
		free(to);
	}
	logfile_open(lf);
}

void
logfile_write(struct logfile *lf, const char *buf, size_t n)
{
	ssize_t w;

	if (lf->path == NULL)
		return;
	if (lf->fd < 0 && logfile_open(lf) != 0)
		return;
	while (n > 0) {
		size_t chunk = n;

		/* Keep writes whole where they fit; split only what is
		 * larger than a whole file. */
		if (lf->maxbytes > 0 && lf->regular && lf->size > 0 &&
		    lf->size + n > lf->maxbytes)
			logfile_rotate(lf);
		if (lf->fd < 0)
			return;
		if (lf->maxbytes > 0 && lf->regular && lf->size + chunk > lf->maxbytes)
			chunk = lf->maxbytes > lf->size ? lf->maxbytes - lf->size : 1;
		w = write(lf->fd, buf, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* The output goes on; the file is told once. */
			if (lf->dropped == 0)
				log_warn("output", "cannot write to %s; output is "
				    "dropped until it can be written again",
				    lf->path);
			lf->dropped += n;
			return;
		}
		if (lf->dropped > 0) {
			log_info("output", "writing to %s again (%llu bytes "
			    "dropped)", lf->path, (unsigned long long)lf->dropped);
			lf->dropped = 0;
		}
		lf->size += w;
		buf += w;
		n -= w;
	}
}

void
logfile_init(struct logfile *lf, const char *path, uint64_t maxbytes,
    long backups)
{
	lf->path = path ? xstrdup(path) : NULL;
	lf->fd = -1;
	lf->size = 0;
	lf->maxbytes = maxbytes;
	lf->backups = backups;
	lf->regular = true;
	lf->strip_ansi = false;
	lf->dropped = 0;
}

void
logfile_free(struct logfile *lf)
{
	for (size_t i = 0; i < nitems(hooks); i++)
		if (hooks[i].gone != NULL)
			hooks[i].gone(hooks[i].arg, lf);
	logfile_close(lf);
	free(lf->path);
	lf->path = NULL;
}

void
logfile_clear(struct logfile *lf)
{
	char *old;

	if (lf->path == NULL)
		return;
	if ((lf->fd >= 0 ? ftruncate(lf->fd, 0) : truncate(lf->path, 0)) != 0 &&
	    errno != ENOENT)
		log_warn("output", "cannot clear %s", lf->path);
	lf->size = 0;
	for (long i = 1; i <= lf->backups; i++) {
		old = xasprintf("%s.%ld", lf->path, i);
		unlink(old);
		free(old);
	}
}

void
logfile_reopen(struct logfile *lf)
{
	logfile_close(lf);
	if (lf->path != NULL)
		logfile_open(lf);
}

/*
 * supervisord's strip_ansi: from "ESC [" to the sequence's final letter,
 * across reads.  Returns the length left in buf.
 */
static size_t
strip_ansi(struct output *o, char *buf, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (o->escape == 2) {
			if (strchr("HfABCDRsuJKhlpm", ch) != NULL && ch != '\0')
				o->escape = 0;
			continue;
		}
		if (o->escape == 1) {
			o->escape = 0;
			if (ch == '[') {
				o->escape = 2;
				continue;
			}
			buf[w++] = '\033';
		}
		if (ch == '\033')
			o->escape = 1;
		else
			buf[w++] = ch;
	}
	return w;
}

/* Returns 0 at EOF or on error, 1 when the pipe may have more later. */
static int
output_drain(struct output *o)
{
	char buf[65536];
	ssize_t n;

	for (int rounds = 0; rounds < 16; rounds++) {
		n = read(o->fd, buf, sizeof(buf));
		if (n > 0) {
			if (filter != NULL)
				n = filter(o, buf, n);
			if (o->log->strip_ansi)
				n = strip_ansi(o, buf, n);
			logfile_write(o->log, buf, n);
			for (size_t i = 0; i < nitems(hooks); i++)
				if (hooks[i].data != NULL)
					hooks[i].data(hooks[i].arg, o->log, buf, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		return 0;
	}
	return 1;	/* let other watchers run; we are called again */
}

static void
output_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct output *o = container_of(io, struct output, io);

	(void)revents;
	if (output_drain(o) == 0) {
		ev_io_stop(loop, io);
		close(o->fd);
		o->fd = -1;
	}
}

void
output_attach(struct output *o, struct logfile *log, int fd, int channel)
{
	o->log = log;
	o->fd = fd;
	o->channel = channel;
	o->escape = 0;
	o->capturing = false;
	/* The file exists from the first spawn, as supervisord has it. */
	logfile_open(log);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ev_io_init(&o->io, output_cb, fd, EV_READ);
	ev_io_start(EV_DEFAULT, &o->io);
}

/*
 * The worker is gone, but a process it left behind may still hold the
 * pipe; what is in it now is kept, later output of strays is dropped.
 */
void
output_detach(struct output *o)
{
	if (o->fd >= 0) {
		output_drain(o);
		ev_io_stop(EV_DEFAULT, &o->io);
		close(o->fd);
		o->fd = -1;
	}
	/* What was held back for a marker that never came is output. */
	if (!o->capturing && o->pending.n > 0 && o->log != NULL)
		logfile_write(o->log, o->pending.p, o->pending.n);
	buf_reset(&o->pending);
	buf_reset(&o->capture);
}
