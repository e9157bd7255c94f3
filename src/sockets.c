#include <arpa/inet.h>
#include <dirent.h>
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

/* "0100007F:1F90" (the kernel's hex, in host order per 32-bit word)
 * as "127.0.0.1:8080"; IPv6 as "[::1]:8080".  Left as it is when odd. */
static void
proc_tcp_address(char *addr, size_t len)
{
	unsigned char raw[16];
	char host[INET6_ADDRSTRLEN], *colon = strchr(addr, ':');
	size_t hex = colon != NULL ? (size_t)(colon - addr) : 0;
	unsigned port;

	if ((hex != 8 && hex != 32) || sscanf(colon + 1, "%x", &port) != 1)
		return;
	for (size_t w = 0; w < hex / 8; w++) {
		unsigned word;
		char part[9];
		memcpy(part, addr + 8 * w, 8);
		part[8] = '\0';
		if (sscanf(part, "%x", &word) != 1)
			return;
		memcpy(raw + 4 * w, &word, 4);
	}
	if (inet_ntop(hex == 8 ? AF_INET : AF_INET6, raw, host,
	    sizeof(host)) == NULL)
		return;
	snprintf(addr, len, hex == 8 ? "%s:%u" : "[%s]:%u", host, port);
}

size_t
sockets_parse_proc_tcp(const char *text, struct tcp_listen **out)
{
	struct tcp_listen t, *v = NULL;
	const char *line = text, *nl;
	unsigned st;
	size_t n = 0;

	for (; line != NULL && *line != '\0'; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (sscanf(line, "%*s %63s %*s %x %*s %*s %*s %*u %*u %lu", t.addr,
		    &st, &t.inode) != 3 || st != 0x0A || t.inode == 0)
			continue;	/* the header, or not TCP_LISTEN */
		proc_tcp_address(t.addr, sizeof(t.addr));
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = t;
	}
	*out = v;
	return n;
}

/* Whether /proc/PID/fd holds socket inode. */
static bool
pid_has_socket(pid_t pid, unsigned long inode)
{
	char path[320], link[64], want[48];
	struct dirent *de;
	bool found = false;
	ssize_t len;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((dir = opendir(path)) == NULL)
		return false;
	while (!found && (de = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			link[len] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(dir);
	return found;
}

int
sockets_reuseport(const pid_t *pids, size_t n, char *addr, size_t len)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	struct tcp_listen *v = NULL, *all = NULL;
	size_t nv, nall = 0;
	pid_t *owner;
	int found = 0;

	for (size_t f = 0; f < nitems(files); f++) {
		char *text = read_file_text(files[f], NULL);
		if (text == NULL)
			continue;
		nv = sockets_parse_proc_tcp(text, &v);
		all = xrealloc(all, (nall + nv + 1) * sizeof(*all));
		if (nv > 0)
			memcpy(all + nall, v, nv * sizeof(*v));
		nall += nv;
		free(v);
		free(text);
	}
	owner = xcalloc(nall + 1, sizeof(*owner));
	for (size_t i = 0; i < nall; i++)
		for (size_t k = 0; k < n && owner[i] == 0; k++)
			if (pid_has_socket(pids[k], all[i].inode))
				owner[i] = pids[k];
	for (size_t i = 0; i < nall && !found; i++)
		for (size_t j = i + 1; j < nall && !found; j++)
			if (owner[i] != 0 && owner[j] != 0 &&
			    owner[i] != owner[j] && all[i].inode != all[j].inode &&
			    strcmp(all[i].addr, all[j].addr) == 0) {
				snprintf(addr, len, "%s", all[i].addr);
				found = 1;
			}
	free(owner);
	free(all);
	return found;
}

int
sockets_migrate_req(void)
{
	char buf[16];

	if (read_small_file("/proc/sys/net/ipv4/tcp_migrate_req", buf,
	    sizeof(buf)) <= 0)
		return -1;
	return buf[0] == '1';
}

struct own_socket {
	char *key;
	int fd;
};

static struct own_socket *owned, *inherited;
static size_t nowned, ninherited;

static void
own_push(struct own_socket **v, size_t *n, const char *key, int fd)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = xstrdup(key);
	(*v)[*n].fd = fd;
	(*n)++;
}

static void
own_remove(struct own_socket *v, size_t *n, size_t i)
{
	free(v[i].key);
	v[i] = v[--*n];
}

void
sockets_register(const char *key, int fd)
{
	own_push(&owned, &nowned, key, fd);
}

void
sockets_unregister(int fd)
{
	for (size_t i = 0; i < nowned; i++)
		if (owned[i].fd == fd) {
			own_remove(owned, &nowned, i);
			break;
		}
	if (nowned == 0) {
		free(owned);
		owned = NULL;
	}
}

void
sockets_each(void (*fn)(void *, const char *, int), void *arg)
{
	for (size_t i = 0; i < nowned; i++)
		fn(arg, owned[i].key, owned[i].fd);
}

void
sockets_inherit(const char *key, int fd)
{
	own_push(&inherited, &ninherited, key, fd);
}

int
sockets_take(const char *key)
{
	int fd;

	for (size_t i = 0; i < ninherited; i++)
		if (strcmp(inherited[i].key, key) == 0) {
			fd = inherited[i].fd;
			own_remove(inherited, &ninherited, i);
			if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
				close(fd);
				return -1;
			}
			return fd;
		}
	return -1;
}

void
sockets_inherit_done(void)
{
	while (ninherited > 0) {
		close(inherited[0].fd);
		own_remove(inherited, &ninherited, 0);
	}
	free(inherited);
	inherited = NULL;
}
