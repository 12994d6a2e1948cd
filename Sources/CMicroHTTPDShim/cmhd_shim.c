#include "cmhd_shim.h"

struct MHD_Daemon *cmhd_start_daemon(int listen_fd,
                                     MHD_AccessHandlerCallback handler, void *handler_cls,
                                     unsigned int connection_limit,
                                     unsigned int connection_timeout_seconds) {
    /* No MHD_USE_ERROR_LOG: its lines would go to stderr, in the middle of the agent's
     * JSON log; failures surface as a NULL daemon or a refused connection instead. */
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
                            0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                            MHD_OPTION_CONNECTION_LIMIT, connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
                            MHD_OPTION_END);
}
