/*
 * The idle worker of figures 1-4: it only waits for a signal.  SIGTERM
 * (and PM2's SIGINT) end it with the default action.  Its own footprint
 * is a few hundred KiB, so the figures are the supervisor's, not its.
 */
#include <unistd.h>

int
main(void)
{
	for (;;)
		pause();
}
