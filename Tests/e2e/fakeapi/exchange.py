"""One request and its response, whichever protocol carries it: what FakeAPIServer._dispatch uses
of server._Handler (HTTP/1.1, one connection's requests in turn) and of http2.H2Exchange (one
stream of an HTTP/2 connection):

  .http_version      "1.1" or "2" (the request log's `http`)
  .path, .headers    the request target and its header fields (`.get` is case-insensitive)
  .answers_early     True when the response may go before the body is read (h2 with the
                     early-answer switch on, a request whose body is still to come)
  .read_body()       the whole request body
  .respond(code, headers, body)                  a complete response
  .respond_truncated(code, headers, body, keep)  the head and `keep` bytes of `body`, then the
                     exchange is dropped: raises CloseConnection (HTTP/1.1) or ResetStream (h2)
  .start_stream(code, headers), .stream_write(data), .end_stream()   a watch
  .client_gone()     the client is known to have gone (h2: stream reset or connection closed;
                     HTTP/1.1 only finds out when a write fails)

`headers` are (name, value) pairs without Content-Length and Transfer-Encoding: each
protocol adds its own framing.
"""


class CloseConnection(Exception):
    """Drop the connection at once (TCP RST): the client sees a reset or a truncated response."""


class ResetStream(CloseConnection):
    """Only this HTTP/2 stream is dropped (its RST_STREAM already sent); the connection lives on."""
