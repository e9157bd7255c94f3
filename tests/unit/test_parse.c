/*
 * Unit tests of src/parse.c: the value parsers shared by every key of the
 * configuration.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "parse.h"
#include "sockets.h"
#include "util.h"

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)
#define TiB (GiB * 1024)

/* --- helpers ------------------------------------------------------------ */

/* The input with control characters escaped, for test descriptions (TAP
 * descriptions must stay on one line).  Four rotating buffers. */
static const char *
esc(const char *s)
{
	static char bufs[4][256];
	static int k;
	char *b = bufs[k++ % 4];
	size_t n = 0;

	for (; *s != '\0' && n < sizeof(bufs[0]) - 3; s++) {
		if (*s == '\n' || *s == '\t' || *s == '\r') {
			b[n++] = '\\';
			b[n++] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
		} else
			b[n++] = *s;
	}
	b[n] = '\0';
	return b;
}

static void
size_ok(const char *s, uint64_t total, uint64_t want)
{
	const char *why = NULL;
	uint64_t got = 0xdeadbeef;
	int rc = parse_size(s, total, &got, &why);

	ok(rc == 0 && got == want,
	    "parse_size(\"%s\", %llu) = %llu (got rc %d, %llu%s%s)", esc(s),
	    (unsigned long long)total, (unsigned long long)want, rc,
	    (unsigned long long)got, rc ? ", why: " : "", rc && why ? why : "");
}

static void
size_bad(const char *s, uint64_t total, const char *reason_part)
{
	const char *why = NULL;
	uint64_t got = 0;
	int rc = parse_size(s, total, &got, &why);

	ok(rc == -1, "parse_size(\"%s\", %llu) is rejected", esc(s),
	    (unsigned long long)total);
	ok(why != NULL && (reason_part == NULL || strstr(why, reason_part)),
	    "parse_size(\"%s\") gives a reason%s%s (got \"%s\")", esc(s),
	    reason_part ? " mentioning " : "", reason_part ? reason_part : "",
	    why ? why : "(null)");
}

static void
dur_ok(const char *s, double want)
{
	const char *why = NULL;
	double got = -1;
	int rc = parse_duration(s, &got, &why);

	ok(rc == 0 && got > want - 1e-9 && got < want + 1e-9,
	    "parse_duration(\"%s\") = %g (got rc %d, %g)", esc(s), want, rc, got);
}

static void
dur_bad(const char *s)
{
	const char *why = NULL;
	double got = 0;
	int rc = parse_duration(s, &got, &why);

	ok(rc == -1 && why != NULL && *why != '\0',
	    "parse_duration(\"%s\") is rejected with a reason (%s)", esc(s),
	    why ? why : "(null)");
}

static void
sig_ok(const char *s, int want)
{
	const char *why = NULL;
	int got = -1;
	int rc = parse_signal(s, &got, &why);

	ok(rc == 0 && got == want, "parse_signal(\"%s\") = %d (got rc %d, %d)",
	    esc(s), want, rc, got);
}

static void
sig_bad(const char *s)
{
	const char *why = NULL;
	int got = 0;
	int rc = parse_signal(s, &got, &why);

	ok(rc == -1 && why != NULL && *why != '\0',
	    "parse_signal(\"%s\") is rejected with a reason (%s)", esc(s),
	    why ? why : "(null)");
}

static void
bool_ok(const char *s, bool want)
{
	const char *why = NULL;
	bool got = !want;
	int rc = parse_bool(s, &got, &why);

	ok(rc == 0 && got == want, "parse_bool(\"%s\") = %s", esc(s),
	    want ? "true" : "false");
}

static void
bool_bad(const char *s)
{
	const char *why = NULL;
	bool got = false;
	int rc = parse_bool(s, &got, &why);

	ok(rc == -1 && why != NULL, "parse_bool(\"%s\") is rejected (%s)", esc(s),
	    why ? why : "(null)");
}

/* Joins a vector as [a|b|c] for comparison; returns a static buffer. */
static const char *
joinv(char **v)
{
	static char buf[1024];
	size_t n = 0;

	if (v == NULL)
		return "(null)";
	buf[n++] = '[';
	for (size_t i = 0; v[i] != NULL; i++) {
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "|" : "",
		    v[i]);
		if (n >= sizeof(buf) - 2)
			break;
	}
	snprintf(buf + n, sizeof(buf) - n, "]");
	return buf;
}

static void
cmd_ok(const char *s, const char *want)
{
	const char *why = NULL;
	char **argv = NULL;
	int rc = parse_command(s, &argv, &why);

	ok(rc == 0, "parse_command(\"%s\") succeeds (%s)", esc(s),
	    rc ? (why ? why : "(null)") : "ok");
	is_str(rc == 0 ? joinv(argv) : NULL, want, "parse_command(\"%s\") = %s",
	    esc(s), want);
	if (rc == 0)
		strv_free_array(argv);
}

static void
cmd_bad(const char *s, const char *reason_part)
{
	const char *why = NULL;
	char **argv = NULL;
	int rc = parse_command(s, &argv, &why);

	ok(rc == -1, "parse_command(\"%s\") is rejected", esc(s));
	ok(why != NULL && (reason_part == NULL || strstr(why, reason_part)),
	    "parse_command(\"%s\") reason mentions \"%s\" (got \"%s\")", esc(s),
	    reason_part ? reason_part : "", why ? why : "(null)");
	if (rc == 0)
		strv_free_array(argv);
}

static void
env_ok(const char *s, const char *want)
{
	const char *why = NULL;
	char **env = NULL;
	int rc = parse_environment(s, &env, &why);

	ok(rc == 0, "parse_environment(\"%s\") succeeds (%s)", esc(s),
	    rc ? (why ? why : "(null)") : "ok");
	is_str(rc == 0 ? joinv(env) : NULL, want,
	    "parse_environment(\"%s\") = %s", esc(s), want);
	if (rc == 0)
		strv_free_array(env);
}

static void
env_bad(const char *s)
{
	const char *why = NULL;
	char **env = NULL;
	int rc = parse_environment(s, &env, &why);

	ok(rc == -1 && why != NULL && *why != '\0',
	    "parse_environment(\"%s\") is rejected with a reason (%s)", esc(s),
	    why ? why : "(null)");
	if (rc == 0)
		strv_free_array(env);
}

/* Lookup of parse_expand for the tests. */
static const char *
lookup(const char *name, void *arg)
{
	int *calls = arg;

	if (calls != NULL)
		(*calls)++;
	if (strcmp(name, "program_name") == 0)
		return "web";
	if (strcmp(name, "process_num") == 0)
		return "7";
	if (strcmp(name, "negative") == 0)
		return "-3";
	if (strcmp(name, "word") == 0)
		return "abc";
	if (strcmp(name, "empty") == 0)
		return "";
	if (strcmp(name, "numtail") == 0)
		return "12x";
	return NULL;
}

static void
expand_ok(const char *s, const char *want)
{
	const char *why = NULL;
	char *r = parse_expand(s, lookup, NULL, &why);

	is_str(r, want, "parse_expand(\"%s\") = \"%s\"%s%s", esc(s), want,
	    r ? "" : " -- why: ", r ? "" : (why ? why : "(null)"));
	free(r);
}

static void
expand_bad(const char *s, const char *reason_part)
{
	const char *why = NULL;
	char *r = parse_expand(s, lookup, NULL, &why);

	ok(r == NULL, "parse_expand(\"%s\") is rejected (got \"%s\")", esc(s),
	    r ? r : "(null)");
	ok(why != NULL && (reason_part == NULL || strstr(why, reason_part)),
	    "parse_expand(\"%s\") reason mentions \"%s\" (got \"%s\")", esc(s),
	    reason_part ? reason_part : "", why ? why : "(null)");
	free(r);
}

/* --- tests -------------------------------------------------------------- */

static void
test_size(void)
{
	size_ok("0", 0, 0);
	size_ok("4096", 0, 4096);
	size_ok("4096b", 0, 4096);
	size_ok("4096B", 0, 4096);
	size_ok("1K", 0, KiB);
	size_ok("512k", 0, 512 * KiB);
	size_ok("512K", 0, 512 * KiB);
	size_ok("2KB", 0, 2 * KiB);
	size_ok("2kb", 0, 2 * KiB);
	size_ok("2KiB", 0, 2 * KiB);
	size_ok("256M", 0, 256 * MiB);
	size_ok("256m", 0, 256 * MiB);
	size_ok("50MB", 0, 50 * MiB);
	size_ok("50MiB", 0, 50 * MiB);
	size_ok("1G", 0, GiB);
	size_ok("1GB", 0, GiB);
	size_ok("3GiB", 0, 3 * GiB);
	size_ok("3gib", 0, 3 * GiB);
	size_ok("2T", 0, 2 * TiB);
	size_ok("2TB", 0, 2 * TiB);
	size_ok("2TiB", 0, 2 * TiB);
	size_ok("1.5G", 0, GiB + GiB / 2);
	size_ok("0.5K", 0, 512);
	size_ok(".5M", 0, MiB / 2);
	size_ok("1.5", 0, 1);			/* fractional bytes truncate */
	size_ok("  64M  ", 0, 64 * MiB);	/* surrounding blanks */
	/* A percentage needs a total. */
	size_ok("25%", 4000, 1000);
	size_ok("100%", 4000, 4000);
	size_ok("0%", 4000, 0);
	size_ok("12.5%", 8 * GiB, GiB);
	size_ok("50%", 16 * GiB, 8 * GiB);
	size_bad("25%", 0, "percentage");
	size_bad("100.5%", 4000, "100");
	size_bad("150%", 4000, "100");
	size_bad("", 0, NULL);
	size_bad("   ", 0, NULL);
	size_bad("abc", 0, NULL);
	size_bad("M", 0, NULL);
	size_bad("-1", 0, NULL);
	size_bad("-1M", 0, NULL);
	size_bad("-5%", 1000, NULL);
	size_bad("12X", 0, "unit");
	size_bad("12 parsecs", 0, "unit");
	size_bad("1KBB", 0, "unit");
	size_bad("1PB", 0, "unit");
	size_bad("1M2", 0, NULL);
	size_bad("inf", 0, NULL);
	size_bad("nan", 0, NULL);
	size_bad("99999999T", 0, "large");
	size_bad("1e30", 0, "large");
}

static void
test_duration(void)
{
	dur_ok("0", 0);
	dur_ok("10", 10);
	dur_ok("1.5", 1.5);
	dur_ok("1.5s", 1.5);
	dur_ok("3s", 3);
	dur_ok("3S", 3);
	dur_ok("3sec", 3);
	dur_ok("500ms", 0.5);
	dur_ok("500MS", 0.5);
	dur_ok("1500ms", 1.5);
	dur_ok("2m", 120);
	dur_ok("2min", 120);
	dur_ok("0.5m", 30);
	dur_ok("1h", 3600);
	dur_ok("1.5h", 5400);
	dur_ok(" 7s ", 7);
	dur_ok(".25", 0.25);
	dur_bad("");
	dur_bad("s");
	dur_bad("abc");
	dur_bad("-1");
	dur_bad("-1s");
	dur_bad("5d");		/* days are not a unit */
	dur_bad("5 weeks");
	dur_bad("5x");
	dur_bad("1s2");
	dur_bad("10000h");	/* more than a year */
	dur_bad("inf");
}

static void
test_signal(void)
{
	char buf[16];
	const char *n;

	sig_ok("TERM", SIGTERM);
	sig_ok("SIGTERM", SIGTERM);
	sig_ok("sigterm", SIGTERM);
	sig_ok("term", SIGTERM);
	sig_ok("15", SIGTERM);
	sig_ok(" 15 ", SIGTERM);
	sig_ok("KILL", SIGKILL);
	sig_ok("SIGKILL", SIGKILL);
	sig_ok("9", SIGKILL);
	sig_ok("HUP", SIGHUP);
	sig_ok("INT", SIGINT);
	sig_ok("QUIT", SIGQUIT);
	sig_ok("USR1", SIGUSR1);
	sig_ok("usr2", SIGUSR2);
	sig_ok("SIGCHLD", SIGCHLD);
	sig_ok("WINCH", SIGWINCH);
	sig_ok("1", 1);
	sig_ok("64", 64);
	sig_ok("RTMIN", SIGRTMIN);
	sig_ok("RTMIN+2", SIGRTMIN + 2);
	sig_ok("SIGRTMIN+2", SIGRTMIN + 2);
	sig_ok("rtmin+2", SIGRTMIN + 2);
	sig_ok("RTMAX", SIGRTMAX);
	sig_ok("RTMAX-1", SIGRTMAX - 1);
	sig_bad("0");
	sig_bad("65");
	sig_bad("1000");
	sig_bad("-1");
	sig_bad("");
	sig_bad("SIG");
	sig_bad("TERMS");
	sig_bad("FOO");
	sig_bad("15x");
	sig_bad("SIGSIGTERM");
	sig_bad("RTMIN+100");
	sig_bad("RTMAX+1");
	sig_bad("RTMIN-1");
	sig_bad("RTMIN+");
	sig_bad("RTMINX");
	/* Offsets that would overflow the sum (UBSan found these). */
	sig_bad("RTMIN+9223372036854775807");
	sig_bad("RTMAX-9223372036854775808");
	sig_bad("RTMIN+99999999999999999999");
	sig_bad("RTMIN+40");

	is_str(signal_name(SIGTERM, buf), "TERM", "signal_name(SIGTERM)");
	is_str(signal_name(SIGKILL, buf), "KILL", "signal_name(SIGKILL)");
	is_str(signal_name(SIGHUP, buf), "HUP", "signal_name(SIGHUP)");
	is_str(signal_name(SIGUSR1, buf), "USR1", "signal_name(SIGUSR1)");
	is_str(signal_name(SIGCHLD, buf), "CHLD", "signal_name(SIGCHLD)");
	is_str(signal_name(SIGABRT, buf), "ABRT",
	    "signal_name(SIGABRT) prefers ABRT over IOT");
	is_str(signal_name(SIGIO, buf), "IO",
	    "signal_name(SIGIO) prefers IO over POLL");
	n = signal_name(SIGRTMIN + 2, buf);
	{
		char want[16];

		snprintf(want, sizeof(want), "%d", SIGRTMIN + 2);
		is_str(n, want, "signal_name(SIGRTMIN+2) is its number");
		ok(n == buf, "signal_name of an unnamed signal uses the buffer");
	}
	is_str(signal_name(0, buf), "0", "signal_name(0)");
	/* Round trip: every name parses back to the same signal. */
	{
		int bad = 0, sig;
		const char *why;

		for (int s = 1; s < 32; s++) {
			n = signal_name(s, buf);
			if (parse_signal(n, &sig, &why) != 0 || sig != s)
				bad++;
		}
		ok(bad == 0, "signal_name -> parse_signal round trips for 1..31");
	}
}

static void
test_bool(void)
{
	bool_ok("true", true);
	bool_ok("TRUE", true);
	bool_ok("True", true);
	bool_ok("yes", true);
	bool_ok("on", true);
	bool_ok("1", true);
	bool_ok(" yes ", true);
	bool_ok("false", false);
	bool_ok("FALSE", false);
	bool_ok("no", false);
	bool_ok("off", false);
	bool_ok("0", false);
	bool_bad("");
	bool_bad("2");
	bool_bad("maybe");
	bool_bad("truee");
	bool_bad("t");
	bool_bad("yes please");
}

static void
test_int(void)
{
	const char *why;
	long n;

	n = -1;
	ok(parse_int("42", 0, 100, &n, &why) == 0 && n == 42, "parse_int 42");
	n = -1;
	ok(parse_int("0", 0, 100, &n, &why) == 0 && n == 0, "parse_int 0 (min)");
	n = -1;
	ok(parse_int("100", 0, 100, &n, &why) == 0 && n == 100,
	    "parse_int 100 (max)");
	n = 0;
	ok(parse_int("-5", -10, 10, &n, &why) == 0 && n == -5,
	    "parse_int -5 in [-10,10]");
	n = 0;
	ok(parse_int("  7 ", 0, 10, &n, &why) == 0 && n == 7,
	    "parse_int with blanks");
	n = 0;
	ok(parse_int("+7", 0, 10, &n, &why) == 0 && n == 7, "parse_int +7");

	n = 55;
	why = NULL;
	ok(parse_int("101", 0, 100, &n, &why) == -1 && n == 55,
	    "parse_int 101 > max rejected, output untouched");
	ok(why != NULL && strstr(why, "0") && strstr(why, "100"),
	    "range reason names the bounds (%s)", why ? why : "(null)");
	why = NULL;
	ok(parse_int("-1", 0, 100, &n, &why) == -1, "parse_int -1 < min rejected");
	ok(why != NULL && strstr(why, "between"), "range reason (%s)",
	    why ? why : "(null)");
	ok(parse_int("0", 1, 100000, &n, &why) == -1,
	    "parse_int 0 with min 1 rejected");
	why = NULL;
	ok(parse_int("12abc", 0, 100, &n, &why) == -1 && why != NULL,
	    "parse_int 12abc rejected");
	ok(parse_int("", 0, 100, &n, &why) == -1, "parse_int empty rejected");
	ok(parse_int("abc", 0, 100, &n, &why) == -1, "parse_int abc rejected");
	ok(parse_int("1.5", 0, 100, &n, &why) == -1, "parse_int 1.5 rejected");
	ok(parse_int("99999999999999999999999", 0, 100, &n, &why) == -1,
	    "parse_int overflow rejected");
	ok(parse_int("1 2", 0, 100, &n, &why) == -1, "parse_int \"1 2\" rejected");
}

static void
test_umask(void)
{
	const char *why = NULL;
	int m;

	m = -1;
	ok(parse_umask("022", &m, &why) == 0 && m == 022, "parse_umask 022");
	m = -1;
	ok(parse_umask("22", &m, &why) == 0 && m == 022, "parse_umask 22 is octal");
	m = -1;
	ok(parse_umask("0777", &m, &why) == 0 && m == 0777, "parse_umask 0777");
	m = -1;
	ok(parse_umask("777", &m, &why) == 0 && m == 0777, "parse_umask 777");
	m = -1;
	ok(parse_umask("0", &m, &why) == 0 && m == 0, "parse_umask 0");
	m = -1;
	ok(parse_umask("077", &m, &why) == 0 && m == 077, "parse_umask 077");
	m = -1;
	ok(parse_umask(" 002 ", &m, &why) == 0 && m == 002,
	    "parse_umask with blanks");
	why = NULL;
	ok(parse_umask("8", &m, &why) == -1 && why != NULL,
	    "parse_umask 8 rejected (not octal)");
	ok(parse_umask("018", &m, &why) == -1, "parse_umask 018 rejected");
	ok(parse_umask("1000", &m, &why) == -1, "parse_umask 1000 rejected");
	ok(parse_umask("-1", &m, &why) == -1, "parse_umask -1 rejected");
	ok(parse_umask("", &m, &why) == -1, "parse_umask empty rejected");
	ok(parse_umask("abc", &m, &why) == -1, "parse_umask abc rejected");
}

static int
has_code(const uint64_t set[4], int code)
{
	return (set[code / 64] >> (code % 64)) & 1;
}

static void
test_exitcodes(void)
{
	const char *why = NULL;
	uint64_t set[4];
	int count;

	memset(set, 0xff, sizeof(set));
	ok(parse_exitcodes("0,2", set, &why) == 0, "parse_exitcodes 0,2");
	ok(set[0] == 5 && set[1] == 0 && set[2] == 0 && set[3] == 0,
	    "0,2 sets exactly bits 0 and 2 (set[0] = %#llx)",
	    (unsigned long long)set[0]);

	ok(parse_exitcodes("0", set, &why) == 0 && set[0] == 1 && set[1] == 0 &&
	    set[2] == 0 && set[3] == 0, "parse_exitcodes 0");
	ok(parse_exitcodes("255", set, &why) == 0 && set[3] ==
	    UINT64_C(1) << 63 && set[0] == 0, "parse_exitcodes 255 is bit 255");
	ok(parse_exitcodes("1,63,64,127,128,200", set, &why) == 0,
	    "parse_exitcodes across words");
	ok(has_code(set, 1) && has_code(set, 63) && has_code(set, 64) &&
	    has_code(set, 127) && has_code(set, 128) && has_code(set, 200),
	    "all of 1,63,64,127,128,200 are set");
	count = 0;
	for (int c = 0; c < 256; c++)
		count += has_code(set, c);
	ok(count == 6, "and nothing else (%d set)", count);
	ok(parse_exitcodes(" 0 , 2 ", set, &why) == 0 && set[0] == 5,
	    "blanks around codes are allowed");
	ok(parse_exitcodes("2,2", set, &why) == 0 && set[0] == 4,
	    "a repeated code is fine");

	why = NULL;
	ok(parse_exitcodes("256", set, &why) == -1 && why != NULL,
	    "parse_exitcodes 256 rejected (%s)", why ? why : "(null)");
	ok(parse_exitcodes("0,256", set, &why) == -1, "0,256 rejected");
	ok(parse_exitcodes("-1", set, &why) == -1, "-1 rejected");
	ok(parse_exitcodes("a", set, &why) == -1, "a rejected");
	ok(parse_exitcodes("0;2", set, &why) == -1, "0;2 rejected");
	why = NULL;
	ok(parse_exitcodes("", set, &why) == -1 && why != NULL,
	    "empty exitcodes rejected (%s)", why ? why : "(null)");
	ok(parse_exitcodes(",", set, &why) == -1, "\",\" rejected");
}

static void
test_command(void)
{
	cmd_ok("/bin/true", "[/bin/true]");
	cmd_ok("prog a b c", "[prog|a|b|c]");
	cmd_ok("  prog   a\tb  ", "[prog|a|b]");
	cmd_ok("prog\na\n  b", "[prog|a|b]");		/* newlines separate */
	/* A backslash-newline between words joins lines, as in sh: no
	 * empty argument (there was one when a space followed). */
	cmd_ok("prog a \\\n b", "[prog|a|b]");
	cmd_ok("prog a\\\nb", "[prog|ab]");
	cmd_ok("prog \"\" b", "[prog||b]");		/* "" is still a word */
	cmd_ok("prog\r\na", "[prog|a]");
	cmd_ok("sh -c 'echo hello world'", "[sh|-c|echo hello world]");
	cmd_ok("echo 'a \"b\" \\c'", "[echo|a \"b\" \\c]");	/* '' is literal */
	cmd_ok("echo \"a b\"", "[echo|a b]");
	cmd_ok("echo \"say \\\"hi\\\"\"", "[echo|say \"hi\"]");
	cmd_ok("echo \"back\\\\slash\"", "[echo|back\\slash]");
	cmd_ok("echo \"\\$HOME \\`x\\`\"", "[echo|$HOME `x`]");
	cmd_ok("echo \"keep\\n\\a\"", "[echo|keep\\n\\a]");	/* other \ kept */
	cmd_ok("echo \"it's\"", "[echo|it's]");
	cmd_ok("echo a\\ b", "[echo|a b]");
	cmd_ok("echo \\\"x\\\"", "[echo|\"x\"]");
	cmd_ok("echo \\'", "[echo|']");
	cmd_ok("echo \\\\", "[echo|\\]");
	cmd_ok("echo a\\\nb", "[echo|ab]");		/* line continuation */
	cmd_ok("echo \"\"", "[echo|]");
	cmd_ok("echo '' x", "[echo||x]");
	cmd_ok("\"\"", "[]");
	cmd_ok("echo \"\" \"\"", "[echo||]");
	cmd_ok("a\"b c\"d'e f'g", "[ab cde fg]");	/* quotes join */
	cmd_ok("$HOME ~ * ?", "[$HOME|~|*|?]");		/* no expansion */
	cmd_ok("echo %s", "[echo|%s]");

	cmd_bad("echo 'abc", "single");
	cmd_bad("echo \"abc", "double");
	cmd_bad("echo \"abc\\\"", "double");
	cmd_bad("'", "single");
	cmd_bad("echo \\", "backslash");
	cmd_bad("", "empty");
	cmd_bad("   \t\n ", "empty");
}

static void
test_environment(void)
{
	const char *why = NULL;
	char **env = (char **)1;

	ok(parse_environment("", &env, &why) == 0 && env != NULL &&
	    env[0] == NULL, "empty environment is an empty vector");
	if (env != (char **)1)
		strv_free_array(env);

	env_ok("A=1", "[A=1]");
	env_ok("A=1,B=2", "[A=1|B=2]");
	env_ok("KEY=\"a,b\",K2=v2", "[KEY=a,b|K2=v2]");
	env_ok("KEY='a,b',K2=v2", "[KEY=a,b|K2=v2]");
	env_ok("A=1, B=2 ,C=3", "[A=1|B=2|C=3]");
	env_ok(" A=1 , B=2 ", "[A=1|B=2]");
	env_ok("A=1,,B=2,", "[A=1|B=2]");
	env_ok("A=hello world,B=x", "[A=hello world|B=x]");
	env_ok("A=hello   world", "[A=hello world]");
	env_ok("A=\"two  spaces\"", "[A=two  spaces]");
	env_ok("A='single \"q\"',B=\"dbl 'q'\"", "[A=single \"q\"|B=dbl 'q']");
	env_ok("A=\"x\\\"y\"", "[A=x\"y]");
	env_ok("PATH=/usr/bin:/bin,HOME=/root", "[PATH=/usr/bin:/bin|HOME=/root]");
	env_ok("A=", "[A=]");
	env_ok("A=,B=1", "[A=|B=1]");
	env_ok("A=\"\"", "[A=]");
	env_ok("_X=1,a_b9=2", "[_X=1|a_b9=2]");
	env_ok("A=x=y", "[A=x=y]");
	env_ok("A=1,\n B=2", "[A=1|B=2]");
	env_ok("A=a\\,b", "[A=a,b]");
	/* Blanks after '=' separate like blanks around ','. */
	env_ok("A= 1", "[A=1]");
	env_ok("A= \"q\",B=2", "[A=q|B=2]");

	env_bad("A");
	env_bad("=1");
	env_bad("1A=x");
	env_bad("A-B=x");
	env_bad("A.B=x");
	env_bad("A =x");
	env_bad("A=1,B");
	env_bad("A=\"unterminated");
	env_bad("A='unterminated,B=2");
	env_bad("A=1,=2");
	env_bad("\"A\"=1");
}

static void
test_expand(void)
{
	const char *why;
	char *r;
	int calls;

	expand_ok("", "");
	expand_ok("plain text", "plain text");
	expand_ok("%(program_name)s", "web");
	expand_ok("%(program_name)s_%(process_num)d", "web_7");
	expand_ok("%(process_num)d", "7");
	expand_ok("%(process_num)02d", "07");
	expand_ok("%(process_num)03d", "007");
	expand_ok("%(process_num)3d", "  7");
	expand_ok("%(process_num)-3d|", "7  |");
	expand_ok("%(process_num)s", "7");
	expand_ok("%(negative)d", "-3");
	expand_ok("%(negative)03d", "-03");
	expand_ok("%(program_name)5s", "  web");
	expand_ok("%(program_name)-5s|", "web  |");
	expand_ok("%(empty)s", "");
	expand_ok("a%(empty)sb", "ab");
	expand_ok("100%%", "100%");
	expand_ok("%%(program_name)s", "%(program_name)s");
	expand_ok("%%%(program_name)s%%", "%web%");
	expand_ok("/var/log/%(program_name)s/%(process_num)d.log",
	    "/var/log/web/7.log");
	expand_ok("%(word)s %(word)s", "abc abc");

	/* Unknown names are rejected, naming the key. */
	why = NULL;
	r = parse_expand("x %(nosuch)s y", lookup, NULL, &why);
	ok(r == NULL, "unknown name is rejected");
	ok(why != NULL && strstr(why, "nosuch") != NULL,
	    "the reason names the unknown key (%s)", why ? why : "(null)");
	free(r);
	why = NULL;
	r = parse_expand("%(program_name)s-%(ENV_NOPE)s", lookup, NULL, &why);
	ok(r == NULL && why != NULL && strstr(why, "ENV_NOPE") != NULL,
	    "unknown second name rejected and named (%s)", why ? why : "(null)");
	free(r);

	/* The lookup argument is passed through. */
	calls = 0;
	r = parse_expand("%(program_name)s%(process_num)d", lookup, &calls, &why);
	ok(r != NULL && calls == 2, "lookup called once per name with its arg "
	    "(%d calls)", calls);
	free(r);

	/* A conversion letter is required. */
	expand_bad("%(program_name)", "program_name");
	expand_bad("%(program_name)x", "conversion");
	/* Widths have a limit (a huge one made vasprintf fail, and that was
	 * fatal, on a reload too). */
	{
		const char *why = NULL;
		char *r = parse_expand("%(process_num)4096d", lookup, NULL, &why);
		ok(r != NULL && strlen(r) == 4096 && r[4095] == '7',
		    "parse_expand: a width of 4096 is taken");
		free(r);
	}
	expand_bad("%(program_name)2147483648s", "width over 4096");
	expand_bad("%(program_name)4097s", "width over 4096");
	expand_bad("%(process_num)-99999999999999999999d", "width over 4096");
	/* Zeros are flags, so the width comes after them (fuzz_parse found
	 * "00-000000" then a huge width read as a width of 0). */
	expand_bad("%(process_num)00-0000008000000000000000d", "width over 4096");
	expand_bad("%(program_name)0000009999s", "width over 4096");
	expand_bad("%(process_num)2+d", "flags, then a width");
	expand_bad("%(process_num)2-3d", "flags, then a width");
	{
		const char *why = NULL;
		char *r = parse_expand("%(process_num)-03d|", lookup, NULL, &why);
		ok(r != NULL && strcmp(r, "7  |") == 0,
		    "parse_expand: flags then a width (\"%s\")", r ? r : why);
		free(r);
	}
	expand_bad("%(program_name)", "conversion");
	expand_bad("%(program_name)02", "conversion");
	expand_bad("%(nosuch)", NULL);
	/* %d of something that is not a number. */
	expand_bad("%(word)d", "abc");
	expand_bad("%(word)d", "not a number");
	expand_bad("%(empty)d", "not a number");
	expand_bad("%(numtail)d", "not a number");
	expand_bad("%(program_name)02d", "program_name");
	/* Malformed percent signs. */
	expand_bad("50%", "%");
	expand_bad("50% off", NULL);
	expand_bad("%s", NULL);
	expand_bad("%(program_name", NULL);
	expand_bad("%()s", NULL);
	expand_bad("%(nosuch)s", "nosuch");
}

/* /proc/net/tcp{,6}: the listening sockets, addresses made readable. */
static void
test_proc_tcp(void)
{
	static const char tcp[] =
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
	    "retrnsmt   uid  timeout inode\n"
	    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 "
	    "00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1\n"
	    "   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 17 1 0000000000000000 100 0 0 10 0\n"
	    "garbage\n";
	static const char tcp6[] =
	    "  sl  local_address                         remote_address"
	    "                        st tx_queue rx_queue tr tm->when retrnsmt"
	    "   uid  timeout inode\n"
	    "   0: 00000000000000000000000001000000:1F90 "
	    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
	    "00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 "
	    "10 0\n";
	struct tcp_listen *v;
	size_t n;

	n = sockets_parse_proc_tcp(tcp, &v);
	ok(n == 2 && v[0].inode == 4242 && v[1].inode == 17,
	    "proc tcp: the two LISTEN sockets (not the established one)");
	if (n == 2) {
		is_str(v[0].addr, "127.0.0.1:8080", "proc tcp: IPv4 address");
		is_str(v[1].addr, "0.0.0.0:22", "proc tcp: any address");
	}
	free(v);
	n = sockets_parse_proc_tcp(tcp6, &v);
	ok(n == 1, "proc tcp6: one LISTEN socket");
	if (n == 1)
		is_str(v[0].addr, "[::1]:8080", "proc tcp6: IPv6 address");
	free(v);
	n = sockets_parse_proc_tcp("", &v);
	ok(n == 0, "proc tcp: empty text");
	free(v);
}

int
main(void)
{
	test_proc_tcp();
	test_size();
	test_duration();
	test_signal();
	test_bool();
	test_int();
	test_umask();
	test_exitcodes();
	test_command();
	test_environment();
	test_expand();
	return tap_done();
}
