#ifndef CMHD_SHIM_H
#define CMHD_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* A non-variadic MHD_start_daemon: Swift cannot call C variadic functions.
 *
 * Starts a daemon with one internal polling thread (poll(2), no thread per connection)
 * on `listen_fd`, a socket the caller has bound and set listening; from then on the
 * daemon owns it and MHD_stop_daemon closes it. `handler`/`handler_cls` answer every
 * request. At most `connection_limit` connections at once; an idle connection is closed
 * after `connection_timeout_seconds`. Returns NULL when libmicrohttpd cannot start
 * (it then leaves `listen_fd` open). */
struct MHD_Daemon *cmhd_start_daemon(int listen_fd,
                                     MHD_AccessHandlerCallback handler, void *handler_cls,
                                     unsigned int connection_limit,
                                     unsigned int connection_timeout_seconds);

#endif
