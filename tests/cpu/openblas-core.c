/* Prints the core type OpenBLAS chose (after OPENBLAS_CORETYPE), for
 * tests/cpu/run-matrix, which checks that each run of its matrix really
 * used the kernels it asked for. */
#include <stdio.h>

char *openblas_get_corename (void);

int
main (void)
{
  printf ("%s\n", openblas_get_corename ());
  return 0;
}
