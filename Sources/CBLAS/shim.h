// CBLAS: the system OpenBLAS, as one Swift module.
// Debian's libopenblas-dev installs cblas.h (with OpenBLAS's thread controls) on the include path.
#include <cblas.h>
