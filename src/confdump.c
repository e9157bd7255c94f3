/*
 * leashd -T: the effective configuration as one JSON document, in the
 * schema tests/compat's supervisord-dump prints for supervisord's own
 * parser, so that the two can be compared key by key (like sshd -T).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confdump.h"
#include "config.h"
#include "event_names.h"
#include "log.h"
#include "parse.h"
#include "util.h"

static void
key(struct buf *b, const char *k, bool *first)
{
	buf_puts(b, *first ? "" : ",");
	*first = false;
	buf_json_string(b, k);
	buf_putc(b, ':');
}

static void
put_str(struct buf *b, const char *k, const char *v, bool *first)
{
	key(b, k, first);
	buf_json_string(b, v);
}

static void
put_num(struct buf *b, const char *k, double v, bool *first)
{
	key(b, k, first);
	buf_printf(b, "%.17g", v);
}

static void
put_bool(struct buf *b, const char *k, bool v, bool *first)
{
	key(b, k, first);
	buf_puts(b, v ? "true" : "false");
}

static void
put_umask(struct buf *b, const char *k, int mask, bool *first)
{
	char text[8];

	snprintf(text, sizeof(text), "%03o", mask);
	put_str(b, k, mask < 0 ? NULL : text, first);
}

/* "KEY=value" strings as an object. */
static void
put_env(struct buf *b, const char *k, char *const *env, bool *first)
{
	bool f = true;

	key(b, k, first);
	buf_putc(b, '{');
	for (; env != NULL && *env != NULL; env++) {
		const char *eq = strchr(*env, '=');
		char *name = xasprintf("%.*s", (int)(eq - *env), *env);
		put_str(b, name, eq + 1, &f);
		free(name);
	}
	buf_putc(b, '}');
}

static void
put_logfile(struct buf *b, const char *stream, const struct logfile_config *lf,
    bool *first)
{
	char k[48];

	snprintf(k, sizeof(k), "%s_logfile", stream);
	put_str(b, k, lf->journal ? NULL : lf->path, first);
	snprintf(k, sizeof(k), "%s_syslog", stream);
	put_bool(b, k, lf->journal, first);
	snprintf(k, sizeof(k), "%s_logfile_maxbytes", stream);
	put_num(b, k, (double)lf->maxbytes, first);
	snprintf(k, sizeof(k), "%s_logfile_backups", stream);
	put_num(b, k, lf->backups, first);
}

static void
dump_process(struct buf *b, const struct program_config *p,
    const struct process_config *pc)
{
	static const char *const restart[] = { "false", "true", "unexpected" };
	char sig[16];
	bool f = true, fc = true;

	buf_putc(b, '{');
	put_str(b, "name", pc->name, &f);
	put_str(b, "program", p->name, &f);
	key(b, "argv", &f);
	buf_putc(b, '[');
	for (char **a = pc->argv; *a != NULL; a++) {
		buf_puts(b, a == pc->argv ? "" : ",");
		buf_json_string(b, *a);
	}
	buf_putc(b, ']');
	put_env(b, "environment", pc->env, &f);
	put_str(b, "directory", pc->directory, &f);
	put_str(b, "user", p->user, &f);
	put_umask(b, "umask", p->umask, &f);
	put_num(b, "priority", p->priority, &f);
	put_bool(b, "autostart", p->autostart, &f);
	put_str(b, "autorestart", restart[p->autorestart], &f);
	key(b, "exitcodes", &f);
	buf_putc(b, '[');
	for (int code = 0; code < 256; code++) {
		if (!exitcode_expected(p, code))
			continue;
		buf_printf(b, "%s%d", fc ? "" : ",", code);
		fc = false;
	}
	buf_putc(b, ']');
	put_num(b, "startsecs", p->startsecs, &f);
	put_num(b, "startretries", p->startretries, &f);
	put_str(b, "stopsignal", signal_name(p->stopsignal, sig), &f);
	put_num(b, "stopwaitsecs", p->stopwaitsecs, &f);
	put_bool(b, "stopasgroup", p->stopasgroup, &f);
	put_bool(b, "killasgroup", p->killasgroup, &f);
	put_bool(b, "redirect_stderr", p->redirect_stderr, &f);
	put_logfile(b, "stdout", &pc->out, &f);
	put_logfile(b, "stderr", &pc->err, &f);
	put_num(b, "stdout_capture_maxbytes", (double)p->stdout_capture_maxbytes,
	    &f);
	put_num(b, "stderr_capture_maxbytes", (double)p->stderr_capture_maxbytes,
	    &f);
	put_bool(b, "stdout_events_enabled", p->stdout_events_enabled, &f);
	put_bool(b, "stderr_events_enabled", p->stderr_events_enabled, &f);
	put_str(b, "serverurl", p->serverurl, &f);
	buf_putc(b, '}');
}

/* [fcgi-program:x]'s socket, as supervisord writes its URL. */
static void
dump_fcgi_socket(struct buf *b, const struct config *c,
    const struct program_config *p, bool *f)
{
	const struct socket_config *sc = config_find_socket(c, p->socket_names[0]);
	char *url;

	if (sc == NULL)
		return;
	url = strncmp(sc->listen, "unix:", 5) == 0 ? xasprintf("unix://%s",
	    sc->listen + 5) : xasprintf("tcp://%s", sc->listen + 4);
	put_str(b, "socket", url, f);
	free(url);
	put_str(b, "socket_owner", sc->owner, f);
	put_umask(b, "socket_mode", sc->mode, f);
	put_num(b, "socket_backlog", sc->backlog, f);
}

/* The programs of one group, from index i on (they sort together). */
static size_t
dump_group(struct buf *b, const struct config *c, size_t i)
{
	const struct program_config *p = c->programs[i];
	bool f = true, fp = true;
	size_t j;

	buf_putc(b, '{');
	put_str(b, "name", p->group, &f);
	put_str(b, "kind", p->listener ? "eventlistener" : p->fcgi ?
	    "fcgi-program" : "program", &f);
	put_num(b, "priority", p->group_priority, &f);
	if (p->listener) {
		bool fe = true;
		key(b, "events", &f);
		buf_putc(b, '[');
		for (int t = 0; t < EVENT_TYPE_MAX; t++) {
			if (!(p->events & EVENT_BIT(t)))
				continue;
			buf_puts(b, fe ? "" : ",");
			fe = false;
			buf_json_string(b, event_type_name(t));
		}
		buf_putc(b, ']');
		put_num(b, "buffer_size", p->buffer_size, &f);
		put_str(b, "result_handler", p->result_handler ? p->result_handler :
		    "supervisor.dispatchers:default_handler", &f);
	}
	if (p->fcgi)
		dump_fcgi_socket(b, c, p, &f);
	key(b, "processes", &f);
	buf_putc(b, '[');
	for (j = i; j < c->nprograms && strcmp(c->programs[j]->group,
	    p->group) == 0; j++) {
		for (long k = 0; k < c->programs[j]->numprocs; k++) {
			buf_puts(b, fp ? "" : ",");
			fp = false;
			dump_process(b, c->programs[j], &c->programs[j]->procs[k]);
		}
	}
	buf_puts(b, "]}");
	return j;
}

static void
dump_daemon(struct buf *b, const struct config *c)
{
	bool f = true;

	buf_putc(b, '{');
	put_bool(b, "nodaemon", c->nodaemon, &f);
	put_str(b, "pidfile", c->pidfile, &f);
	put_str(b, "logfile", c->logfile, &f);
	put_num(b, "logfile_maxbytes", (double)c->logfile_maxbytes, &f);
	put_num(b, "logfile_backups", c->logfile_backups, &f);
	put_str(b, "loglevel", log_level_name(c->loglevel), &f);
	put_str(b, "childlogdir", c->childlogdir, &f);
	put_str(b, "identifier", c->identifier, &f);
	put_umask(b, "umask", c->umask, &f);
	put_str(b, "user", c->user, &f);
	put_str(b, "directory", c->directory, &f);
	put_num(b, "minfds", c->minfds, &f);
	put_num(b, "minprocs", c->minprocs, &f);
	put_env(b, "environment", c->environment, &f);
	put_bool(b, "silent", c->silent, &f);
	put_bool(b, "strip_ansi", c->strip_ansi, &f);
	buf_putc(b, '}');
}

char *
config_dump(const struct config *c, const struct config_diag *d)
{
	struct buf b = { 0 };
	bool f = true;

	buf_putc(&b, '{');
	put_bool(&b, "ok", c != NULL, &f);
	put_str(&b, "error", c == NULL && d->nerrors > 0 ? d->errors[0] : NULL,
	    &f);
	key(&b, "warnings", &f);
	buf_putc(&b, '[');
	for (size_t i = 0; i < d->nwarnings; i++) {
		buf_puts(&b, i == 0 ? "" : ",");
		buf_json_string(&b, d->warnings[i]);
	}
	buf_putc(&b, ']');
	if (c != NULL) {
		key(&b, "supervisord", &f);
		dump_daemon(&b, c);
		key(&b, "groups", &f);
		buf_putc(&b, '[');
		for (size_t i = 0; i < c->nprograms;) {
			buf_puts(&b, i == 0 ? "" : ",");
			i = dump_group(&b, c, i);
		}
		buf_putc(&b, ']');
	}
	buf_puts(&b, "}\n");
	return buf_take(&b);
}
