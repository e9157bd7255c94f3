#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sockets.h"
#include "util.h"

/* mode and owner of a unix socket's file. */
static int
unix_perms(const struct socket_config *sc, const char *path, char *err,
    size_t len)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	char *user, *colon;

	if (sc->owner != NULL) {
		user = xstrdup(sc->owner);
		if ((colon = strchr(user, ':')) != NULL)
			*colon++ = '\0';
		if ((pw = getpwnam(user)) == NULL ||
		    (colon != NULL && (gr = getgrnam(colon)) == NULL)) {
			snprintf(err, len, "owner %s: no such user or group",
			    sc->owner);
			free(user);
			return -1;
		}
		free(user);
	}
	if ((sc->mode >= 0 && chmod(path, sc->mode) != 0) ||
	    (pw != NULL && chown(path, pw->pw_uid, gr ? gr->gr_gid :
	    pw->pw_gid) != 0)) {
		snprintf(err, len, "cannot set mode or owner of %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
unix_bind(const struct socket_config *sc, const char *path, char *err,
    size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, len, "path too long");
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, len, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file nobody answers on is left over from an earlier run. */
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 &&
	    errno == ECONNREFUSED)
		unlink(path);
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, len, "cannot bind %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (unix_perms(sc, path, err, len) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int
socket_unlink_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	return unlink(path) == 0 ? 1 : 0;
}

/* "HOST:PORT" or "[ADDR]:PORT"; HOST may be empty or "*" for any. */
static int
inet_bind(const char *spec, int family, char *err, size_t len)
{
	struct addrinfo hints = { .ai_family = family,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	char *host = xstrdup(spec), *port, *h;
	int fd = -1, one = 1, rc;

	if ((port = strrchr(host, ':')) == NULL) {
		snprintf(err, len, "expected HOST:PORT");
		free(host);
		return -1;
	}
	*port++ = '\0';
	h = host;
	if (*h == '[') {
		h++;
		if (h[0] != '\0' && h[strlen(h) - 1] == ']')
			h[strlen(h) - 1] = '\0';
	}
	if (*h == '\0' || strcmp(h, "*") == 0)
		h = NULL;
	if ((rc = getaddrinfo(h, port, &hints, &res)) != 0) {
		snprintf(err, len, "%s: %s", spec, gai_strerror(rc));
		free(host);
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, len, "socket: %s", strerror(errno));
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (res->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
			snprintf(err, len, "cannot bind %s: %s", spec,
			    strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	free(host);
	return fd;
}

int
socket_bind(const struct socket_config *sc, char *err, size_t len)
{
	int fd;

	if (strncmp(sc->listen, "unix:", 5) == 0)
		fd = unix_bind(sc, sc->listen + 5, err, len);
	else if (strncmp(sc->listen, "tcp6:", 5) == 0)
		fd = inet_bind(sc->listen + 5, AF_INET6, err, len);
	else
		fd = inet_bind(sc->listen + 4, AF_INET, err, len);
	if (fd >= 0 && listen(fd, (int)sc->backlog) != 0) {
		snprintf(err, len, "listen: %s", strerror(errno));
		socket_unbind(sc, fd);
		return -1;
	}
	return fd;
}

void
socket_unbind(const struct socket_config *sc, int fd)
{
	close(fd);
	if (strncmp(sc->listen, "unix:", 5) == 0)
		unlink(sc->listen + 5);
}

/* A kept socket with a new backlog, mode or owner. */
static int
socket_update(const struct socket_config *sc, int fd, char *err, size_t len)
{
	if (listen(fd, (int)sc->backlog) != 0) {
		snprintf(err, len, "backlog: %s", strerror(errno));
		return -1;
	}
	if (strncmp(sc->listen, "unix:", 5) == 0)
		return unix_perms(sc, sc->listen + 5, err, len);
	return 0;
}

int
listeners_apply(struct listeners *have, struct socket_config **want,
    size_t nwant, char *err, size_t errlen)
{
	struct listener *next = xcalloc(nwant + 1, sizeof(*next));
	bool *kept = xcalloc(have->n + 1, sizeof(*kept));
	char why[256];

	/* The same name and address: keep the bound socket and apply
	 * backlog, mode and owner to it in place. */
	for (size_t i = 0; i < nwant; i++) {
		next[i].fd = -1;
		for (size_t j = 0; j < have->n; j++) {
			const struct socket_config *old = have->v[j].cfg;
			if (kept[j] || strcmp(old->name, want[i]->name) != 0 ||
			    strcmp(old->listen, want[i]->listen) != 0)
				continue;
			if (!socket_config_equal(old, want[i]) &&
			    socket_update(want[i], have->v[j].fd, why,
			    sizeof(why)) != 0) {
				snprintf(err, errlen, "%s:%d: [socket:%s] %s",
				    want[i]->file, want[i]->line, want[i]->name,
				    why);
				free(next);
				free(kept);
				return -1;
			}
			next[i].fd = have->v[j].fd;
			kept[j] = true;
			break;
		}
	}
	/* Bind the new ones; a unix path of a removed socket is freed first
	 * only when nothing else still needs it, so bind into fresh paths. */
	for (size_t i = 0; i < nwant; i++) {
		if (next[i].fd >= 0)
			continue;
		if ((next[i].fd = socket_bind(want[i], why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s:%d: [socket:%s] listen: %s",
			    want[i]->file, want[i]->line, want[i]->name, why);
			for (size_t k = 0; k < i; k++) {
				bool old = false;
				for (size_t j = 0; j < have->n; j++)
					old |= kept[j] && have->v[j].fd == next[k].fd;
				if (!old)
					socket_unbind(want[k], next[k].fd);
			}
			free(next);
			free(kept);
			return -1;
		}
		log_info("sockets", "[socket:%s] listening on %s", want[i]->name,
		    want[i]->listen);
	}
	for (size_t j = 0; j < have->n; j++) {
		if (!kept[j]) {
			log_info("sockets", "[socket:%s] closed", have->v[j].cfg->name);
			socket_unbind(have->v[j].cfg, have->v[j].fd);
		}
		socket_config_free(have->v[j].cfg);
	}
	for (size_t i = 0; i < nwant; i++) {
		next[i].cfg = want[i];
		want[i] = NULL;
	}
	free(have->v);
	free(kept);
	have->v = next;
	have->n = nwant;
	return 0;
}

int
listeners_fd(const struct listeners *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].cfg->name, name) == 0)
			return l->v[i].fd;
	return -1;
}

void
listeners_close(struct listeners *l)
{
	for (size_t i = 0; i < l->n; i++) {
		socket_unbind(l->v[i].cfg, l->v[i].fd);
		socket_config_free(l->v[i].cfg);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
