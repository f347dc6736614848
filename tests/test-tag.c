/* placeholder: being written */
#include <glib.h>
int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_incomplete ("test-tag is not written yet");
  return g_test_run ();
}
