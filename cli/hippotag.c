/* placeholder: being written */
#include "hippotag/hippotag.h"
int
main (void)
{
  return 0;
}
