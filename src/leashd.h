/*
 * The daemon: one event loop, the running configuration and its pool.
 * Signal handlers and child callbacks only record what happened; the
 * loop's prepare watcher acts on it, so programs are never freed under a
 * callback that is still using them.
 */
#ifndef LEASH_LEASHD_H
#define LEASH_LEASHD_H

int leashd_main(int argc, char **argv);

#endif
