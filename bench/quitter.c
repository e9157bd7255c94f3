/*
 * Figure 8's worker: exits at once with status 0, so a supervisor with
 * autorestart = true restarts it over and over.
 */
int
main(void)
{
	return 0;
}
