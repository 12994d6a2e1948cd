#include <libproc2/stat.h>
#include <libproc2/meminfo.h>
#include <libproc2/misc.h>
