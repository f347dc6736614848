/* Hippotag GIMP plug-in — optional timestamps on stderr.
 *
 * Each mark prints the milliseconds since the process was exec'd: the
 * start time from /proc/self/stat (10 ms resolution) against
 * CLOCK_BOOTTIME.
 */
#include "plugin-timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static gboolean
timing_enabled (void)
{
  const char *v = g_getenv (HIPPO_PLUGIN_TIMING_ENV);

  return v != NULL && *v != '\0' && strcmp (v, "0") != 0;
}

/* Milliseconds between the process start and now on CLOCK_BOOTTIME, or -1
 * when /proc is not available. */
static double
ms_since_exec (void)
{
  g_autofree char *stat = NULL;
  struct timespec now;
  const char *p;
  long ticks_per_s;
  unsigned long long start_ticks = 0;
  int field;

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL))
    return -1;
  /* the command name (field 2) may hold spaces: fields count from its ')' */
  p = strrchr (stat, ')');
  if (p == NULL)
    return -1;
  for (field = 2; field < 22 && *p != '\0'; p++)
    if (*p == ' ')
      field++;
  if (field != 22 || sscanf (p, "%llu", &start_ticks) != 1)
    return -1;
  ticks_per_s = sysconf (_SC_CLK_TCK);
  if (ticks_per_s <= 0 || clock_gettime (CLOCK_BOOTTIME, &now) != 0)
    return -1;
  return (now.tv_sec * 1e3 + now.tv_nsec / 1e6)
         - (double) start_ticks * 1e3 / (double) ticks_per_s;
}

/**
 * hippo_plugin_timing_mark:
 * @what: what has just happened.
 *
 * Prints a timestamp line to stderr when %HIPPO_PLUGIN_TIMING_ENV is set;
 * does nothing otherwise.
 */
void
hippo_plugin_timing_mark (const char *what)
{
  if (!timing_enabled ())
    return;
  fprintf (stderr, "hippotag-timing: %8.1f ms since exec  %s\n",
           ms_since_exec (), what);
  fflush (stderr);
}
