#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <microhttpd.h>
