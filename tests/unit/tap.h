/* A minimal TAP producer for the unit tests (automake's tap-driver.sh). */
#ifndef LEASH_TAP_H
#define LEASH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static void __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		printf("#   failed at %s:%d\n", file, line);
		tap_failed++;
	}
	fflush(stdout);
}

#define is_str(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	int p_ = (g_ == NULL || w_ == NULL) ? g_ == w_ : strcmp(g_, w_) == 0; \
	ok(p_, __VA_ARGS__);						\
	if (!p_)							\
		printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)");				\
} while (0)

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
