/* Allocation that cannot fail (leashd cannot do anything useful without
 * memory) and NULL-terminated string vectors. */
#ifndef LEASH_UTIL_H
#define LEASH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* Reads up to len - 1 bytes of a small file (/proc, cgroupfs) and ends
 * them with NUL; returns what read(2) did. */
ssize_t read_small_file(const char *path, char *buf, size_t len);
/* The last max bytes of a file (all of it when smaller), NUL-terminated,
 * *len long: a string to free, or NULL with errno. */
char *file_tail(const char *path, size_t max, size_t *len);
/* The same from an open file, read again from its start (pread at 0). */
ssize_t pread_small(int fd, char *buf, size_t len);
/* Reads a whole file; a NUL-terminated string to free, or NULL.  len,
 * when not NULL, gets its length (the file may hold NULs of its own). */
char *read_file_text(const char *path, size_t *len);
/* Writes path.new, then renames it to path: readers see the old file or
 * the new, never a part.  0, or -1 with errno. */
int write_file_atomic(const char *path, const void *data, size_t len);

/* A growable NULL-terminated vector of owned strings. */
struct strv {
	char **v;
	size_t n, cap;
};
void strv_push(struct strv *, char *owned);
/* Pushes a copy of s unless v holds it already. */
void strv_push_unique(struct strv *, const char *s);
void strv_free(struct strv *);
bool strv_equal(char *const *, char *const *);
void strv_free_array(char **);

/* A growable byte buffer, always NUL-terminated. */
struct buf {
	char *p;
	size_t n, cap;
};
void buf_putc(struct buf *, char);
void buf_append(struct buf *, const void *, size_t);
void buf_puts(struct buf *, const char *);
void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* Returns the string and leaves the buffer empty ("" if nothing was put). */
char *buf_take(struct buf *);
void buf_reset(struct buf *);
/* Drops the first n bytes. */
void buf_consume(struct buf *, size_t);

/* s as a JSON string ("null" for NULL); bytes that are not UTF-8 become
 * U+FFFD. */
void buf_json_string(struct buf *, const char *s);
/* Text for XML and HTML, in an element or a quoted attribute: markup and
 * quotes escaped, and what XML 1.0 cannot carry (control characters but
 * tab, newline and return; U+FFFE and U+FFFF; bytes that are not UTF-8)
 * as U+FFFD. */
void buf_xml_text(struct buf *, const char *, size_t len);

/* The length of the valid UTF-8 sequence at s, or 0 (a stray
 * continuation byte, a truncated or overlong sequence, a surrogate). */
size_t utf8_len(const unsigned char *s);

/*
 * leash's clock for every duration and deadline: CLOCK_MONOTONIC, which a
 * step of the wall clock (date -s, an NTP step) does not move, as it does
 * not move an ev_timer.  ev_now() is the wall clock: only for dates.  The
 * same for every process since boot, so a state file can carry it.
 */
/* A duration read at a glance: "<1s", "45s", "12m05s", "3h07m", "2d04h". */
void format_duration(double secs, char *buf, size_t len);
double mono_now(void);
/* The wall-clock date of a mono_now() time, as seen now; 0 stays 0. */
double wall_of(double mono);

#endif
