/*
 * leashctl: supervisorctl's commands, spoken over leashd's control socket
 * (protocol.h).  Formatting happens in leashd, so the text and --json
 * forms of a reply always agree; leashctl frames requests, prints replies
 * and exits with the code leashd sends.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "protocol.h"
#include "top.h"
#include "util.h"

static const char *socket_path;
static bool json;

static void
usage(FILE *f)
{
	fprintf(f, "usage: leashctl [-c CONFIG | -s SOCKET] [--json] COMMAND [ARG...]\n"
	    "       leashctl [-c CONFIG | -s SOCKET]      (interactive)\n\n"
	    "commands:\n");
	for (unsigned i = 0; i < PROTOCOL_NCOMMANDS; i++)
		fprintf(f, "  %-42s %s\n", protocol_commands[i].usage,
		    protocol_commands[i].help);
}

static FILE *
connect_leashd(int *code)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	FILE *f;
	int fd;

	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		warnx("socket path too long: %s", socket_path);
		*code = PROTOCOL_EXIT_DENIED;
		return NULL;
	}
	strcpy(sun.sun_path, socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		err(PROTOCOL_EXIT_ERROR, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			warnx("leashd is not running (nothing answers on %s)",
			    socket_path);
			*code = PROTOCOL_EXIT_NO_LEASHD;
		} else {
			warn("cannot connect to %s", socket_path);
			*code = PROTOCOL_EXIT_DENIED;
		}
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r+")) == NULL)
		err(PROTOCOL_EXIT_ERROR, "fdopen");
	return f;
}

/* Prints one reply (or keeps it in into); returns its code. */
static int
read_reply(FILE *f, struct buf *into)
{
	char *line = NULL, *data;
	size_t cap = 0, len, got;
	ssize_t n;
	int code = -1;

	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, PROTOCOL_END, strlen(PROTOCOL_END)) == 0) {
			code = atoi(line + strlen(PROTOCOL_END));
			break;
		}
		if (strncmp(line, PROTOCOL_DATA, strlen(PROTOCOL_DATA)) == 0) {
			len = strtoul(line + strlen(PROTOCOL_DATA), NULL, 10);
			if (len > PROTOCOL_REPLY_MAX)
				break;
			data = xmalloc(len);
			got = fread(data, 1, len, f);
			if (into != NULL)
				buf_append(into, data, got);
			else {
				fwrite(data, 1, got, stdout);
				fflush(stdout);
			}
			free(data);
			if (got != len)
				break;
			continue;
		}
		if (into != NULL) {
			buf_puts(into, line[0] == '%' ? line + 1 : line);
			continue;
		}
		fputs(line[0] == '%' ? line + 1 : line, stdout);
		/* Progress (reload) shows as it comes. */
		fflush(stdout);
	}
	free(line);
	fflush(stdout);
	if (code < 0) {
		warnx("leashd closed the connection before replying");
		return PROTOCOL_EXIT_ERROR;
	}
	return code;
}

/* top on a terminal: the screen leashd renders, painted in place on the
 * alternate screen every second (at once on a resize), until q. */
static struct termios top_saved;
static volatile sig_atomic_t top_stop, top_resized;

static void
top_signal(int sig)
{
	if (sig == SIGWINCH)
		top_resized = 1;
	else
		top_stop = 1;
}

static void
top_restore(void)
{
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &top_saved);
}

static int
top(FILE **conn)
{
	struct sigaction sa = { .sa_handler = top_signal };
	struct termios raw;
	struct winsize ws;
	struct buf screen = { 0 }, frame = { 0 };
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int code = PROTOCOL_EXIT_OK, cols, rows;
	char key;

	if (*conn == NULL && (*conn = connect_leashd(&code)) == NULL)
		return code;
	if (tcgetattr(STDIN_FILENO, &top_saved) != 0)
		err(PROTOCOL_EXIT_ERROR, "tcgetattr");
	raw = top_saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	fputs("\033[?1049h\033[?25l", stdout);
	while (!top_stop) {
		cols = 80;
		rows = 24;
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
			cols = ws.ws_col;
			rows = ws.ws_row;
		}
		if (cols < TOP_COLUMNS_MIN)
			cols = TOP_COLUMNS_MIN;
		if (rows < TOP_ROWS_MIN)
			rows = TOP_ROWS_MIN;
		buf_reset(&screen);
		if (fprintf(*conn, "top %d %d\n", cols, rows) < 0 ||
		    fflush(*conn) != 0 ||
		    (code = read_reply(*conn, &screen)) != PROTOCOL_EXIT_OK)
			break;
		/* Each line cleared to its end, the rest of the screen too. */
		buf_reset(&frame);
		buf_puts(&frame, "\033[H");
		for (size_t i = 0, rows_out = 0; i < screen.n; i++) {
			if (screen.p[i] != '\n') {
				buf_putc(&frame, screen.p[i]);
				continue;
			}
			buf_puts(&frame, "\033[K");
			if (++rows_out < (size_t)rows)
				buf_puts(&frame, "\r\n");
		}
		buf_puts(&frame, "\033[J");
		fwrite(frame.p, 1, frame.n, stdout);
		fflush(stdout);
		top_resized = 0;
		if (poll(&pfd, 1, 1000) > 0 && read(STDIN_FILENO, &key, 1) == 1 &&
		    (key == 'q' || key == 'Q'))
			break;
	}
	top_restore();
	buf_reset(&screen);
	buf_reset(&frame);
	if (code != PROTOCOL_EXIT_OK && !top_stop)
		warnx("leashd stopped answering");
	return code == PROTOCOL_EXIT_OK || top_stop ? PROTOCOL_EXIT_OK : code;
}

/* Sends one command (already split into words) and prints the reply. */
static int
run(FILE **conn, int argc, char **argv)
{
	const struct protocol_command *cmd;
	struct buf req = { 0 };
	int code;

	if (argc == 0)
		return PROTOCOL_EXIT_OK;
	if ((cmd = protocol_command_find(argv[0])) == NULL) {
		warnx("unknown command: %s (try help)", argv[0]);
		return PROTOCOL_EXIT_USAGE;
	}
	if (argc - 1 < cmd->min_args ||
	    (cmd->max_args >= 0 && argc - 1 > cmd->max_args)) {
		warnx("usage: %s", cmd->usage);
		return PROTOCOL_EXIT_USAGE;
	}
	if (strcmp(cmd->name, "help") == 0 && !json) {
		usage(stdout);
		return PROTOCOL_EXIT_OK;
	}
	/* Not on a terminal: one screen, as top -b -n 1. */
	if (strcmp(cmd->name, "top") == 0 && !json && argc == 1 &&
	    isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		return top(conn);
	if (json)
		buf_puts(&req, "json ");
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '\0' || strpbrk(argv[i], " \t\r\n") != NULL) {
			warnx("bad argument: \"%s\"", argv[i]);
			buf_reset(&req);
			return PROTOCOL_EXIT_USAGE;
		}
		buf_printf(&req, "%s%s", i ? " " : "", argv[i]);
	}
	buf_putc(&req, '\n');
	if (req.n > PROTOCOL_REQUEST_MAX) {
		warnx("command too long");
		buf_reset(&req);
		return PROTOCOL_EXIT_USAGE;
	}
	if (*conn == NULL && (*conn = connect_leashd(&code)) == NULL) {
		buf_reset(&req);
		return code;
	}
	if (fwrite(req.p, 1, req.n, *conn) != req.n || fflush(*conn) != 0) {
		/* leashd may have answered and closed already (permission
		 * denied, too many clients): that answer is still to read. */
		buf_reset(&req);
		clearerr(*conn);
		code = read_reply(*conn, NULL);
		fclose(*conn);
		*conn = NULL;
		return code;
	}
	buf_reset(&req);
	code = read_reply(*conn, NULL);
	if (code == PROTOCOL_EXIT_DENIED || strcmp(cmd->name, "shutdown") == 0) {
		fclose(*conn);
		*conn = NULL;
	}
	return code;
}

static int
interactive(void)
{
	char *line = NULL, *argv[PROTOCOL_ARGS_MAX], *save, *w;
	size_t cap = 0;
	FILE *conn = NULL;
	bool tty = isatty(0);
	int argc, code = 0;

	for (;;) {
		if (tty) {
			fputs("leash> ", stdout);
			fflush(stdout);
		}
		if (getline(&line, &cap, stdin) < 0)
			break;
		argc = 0;
		for (w = strtok_r(line, " \t\r\n", &save); w != NULL &&
		    argc < PROTOCOL_ARGS_MAX; w = strtok_r(NULL, " \t\r\n", &save))
			argv[argc++] = w;
		if (argc > 0 && (strcmp(argv[0], "quit") == 0 ||
		    strcmp(argv[0], "exit") == 0))
			break;
		code = run(&conn, argc, argv);
	}
	if (tty)
		putchar('\n');
	free(line);
	if (conn != NULL)
		fclose(conn);
	return code;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "configuration", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config_diag diag;
	struct config *cfg = NULL;
	const char *config_path = NULL;
	char *path = NULL;
	FILE *conn = NULL;
	int ch, code;

	/* A closed connection is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);

	/* "+": options after the command belong to it (tail -f). */
	while ((ch = getopt_long(argc, argv, "+c:s:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return PROTOCOL_EXIT_USAGE;
		}
	}
	if (socket_path == NULL) {
		if (config_path != NULL) {
			if ((cfg = config_load(config_path, &diag)) == NULL) {
				for (size_t i = 0; i < diag.nerrors; i++)
					warnx("%s", diag.errors[i]);
				config_diag_free(&diag);
				return PROTOCOL_EXIT_USAGE;
			}
			config_diag_free(&diag);
		}
		socket_path = path = config_control_socket(cfg);
		config_free(cfg);
	}
	if (optind == argc)
		code = interactive();
	else
		code = run(&conn, argc - optind, argv + optind);
	if (conn != NULL)
		fclose(conn);
	free(path);
	return code;
}
