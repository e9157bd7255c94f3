/*
 * A private temporary directory for a unit test: define TESTDIR_NAME,
 * include this, call testdir_make() first and testdir_remove() last.
 */
#ifndef LEASH_TESTDIR_H
#define LEASH_TESTDIR_H

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[] = "/tmp/leash-test-" TESTDIR_NAME ".XXXXXX";

static void
testdir_make(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
}

static int
testdir_rm_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
testdir_remove(void)
{
	nftw(tmpdir, testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tmpdir/rel in one of eight rotating buffers. */
static const char *
tpath(const char *rel)
{
	static char bufs[8][PATH_MAX];
	static int k;
	char *b = bufs[k++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", tmpdir, rel);
	return b;
}

/* mkdir -p of an absolute path. */
static void
mkdirs(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + 1, '/'); ; slash = strchr(slash + 1, '/')) {
		if (slash != NULL)
			*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			perror(dir);
			exit(99);
		}
		if (slash == NULL)
			break;
		*slash = '/';
	}
}

/* Writes tmpdir/rel, creating its directories; returns the full path. */
static const char *
write_file(const char *rel, const char *text)
{
	const char *path = tpath(rel);
	char dir[PATH_MAX], *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		mkdirs(dir);
	}
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		exit(99);
	}
	return path;
}

#endif
