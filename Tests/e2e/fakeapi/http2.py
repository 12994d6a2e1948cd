"""HTTP/2 for the fake API server (a TLS connection whose ALPN picked `h2`), with the `h2` library.

The connection's own thread reads the socket and feeds the frames to `h2` one at a time; each
request stream is served by FakeAPIServer._dispatch in a thread of its own through an
H2Exchange (the calls listed in exchange.py). Frames are written from those threads and from
the reader: every use of the `h2` connection object and every socket write is under the
connection's one lock (`lock`). The TLS socket is non-blocking and each call into it is under a
second lock (`io_lock`), held only for the call: an OpenSSL connection must not be read and
written by two threads at once (a concurrent SSL_write can make SSL_read report a false end of
file); waiting for the socket happens outside it.

What Go's net/http2 server (kube-apiserver's) does, and this does too:
- The HEADERS frame of a response goes out in a TLS record of its own, its DATA in the next.
- A response ended (END_STREAM) while the client is still sending the request body is followed
  by RST_STREAM NO_ERROR in the record of its last DATA (serverConn.wroteFrame); DATA then
  arriving for that stream is dropped, its bytes given back to the connection window, and
  answered with RST_STREAM STREAM_CLOSED (serverConn.processData; h2 does the same). Seen on
  the wire from Go 1.19's net/http with a raw h2 client, frame for frame.
- With the early-answer switch on (FakeAPIServer.set_early_answer), a request whose body is
  still to come and that is refused before its body is read (401, an injected 401/403/409/422/
  429) is answered while only its HEADERS frame has been taken in: the reader reads no further
  frame until the handler has either answered or asked for the body, so the answer (HEADERS,
  then DATA and RST_STREAM) leaves before any of the body is read. Go does the same whenever
  the handler wins the race with its frame reader; here it always does.
- Windows of 1 MiB per stream and for the connection, given back as data is read; at most
  250 concurrent streams; the idle timeout closes a connection without streams with GOAWAY.
"""
import http.client
import select
import socket
import ssl
import threading
import time
from email.utils import formatdate

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from . import status as st
from .exchange import CloseConnection, ResetStream

PREFACE_LENGTH = 24  # "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", checked by h2
WINDOW = 1 << 20
MAX_STREAMS = 250
BODY_LIMIT = 3 * 1024 * 1024
SETTLE_SECONDS = 2.0  # the longest the reader waits for an early-answer candidate's handler
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NOT_IN_H2 = {"connection", "transfer-encoding", "keep-alive", "upgrade", "proxy-connection"}


class StreamGone(ConnectionResetError):
    """The client reset the stream, or the connection is gone: nothing more can be sent on it."""


class H2Connection:
    """One HTTP/2 connection: `serve()` runs it in the calling thread until it ends."""

    def __init__(self, app, sock):
        self.app = app
        self.sock = sock
        self.idle_timeout = app.idle_timeout or 90.0
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW})
        self.lock = threading.Lock()  # the h2 object and socket writes
        self.io_lock = threading.Lock()  # each call into the TLS socket
        self.sock.settimeout(0.0)
        self.window_opened = threading.Condition(self.lock)
        self.streams = {}  # stream id -> H2Exchange still being served
        self.dead = False
        self.aborted = False

    # -- reading --
    def serve(self):
        """Reads and serves frames until the client closes, the connection idles out or is
        dropped; raises CloseConnection when it was dropped (the caller closes with a RST)."""
        with self.lock:
            self.h2.initiate_connection()
            self.h2.increment_flow_control_window(WINDOW - 65535)
            self._flush()
        pending = bytearray()
        preface = PREFACE_LENGTH
        try:
            while not self.dead:
                data = self._recv()
                if data is None:
                    if self._idle_close():
                        break
                    continue
                if not data:
                    break
                pending += data
                if preface:
                    taken = bytes(pending[:preface])
                    del pending[:preface]
                    preface -= len(taken)
                    with self.lock:
                        self.h2.receive_data(taken)  # h2 checks the preface
                while len(pending) >= 9:
                    size = 9 + int.from_bytes(pending[:3], "big")
                    if len(pending) < size:
                        break
                    frame = bytes(pending[:size])
                    del pending[:size]
                    self._frame(frame)
        except (OSError, ssl.SSLError, h2.exceptions.H2Error):
            pass
        finally:
            with self.lock:
                self.dead = True
                try:
                    self._flush()  # a GOAWAY h2 queued for a protocol error
                except OSError:
                    pass
                self.window_opened.notify_all()
                for ex in self.streams.values():
                    ex.body_complete.set()
        if self.aborted:
            raise CloseConnection()

    def _frame(self, frame):
        new = []
        with self.lock:
            for ev in self.h2.receive_data(frame):
                ex = self.streams.get(getattr(ev, "stream_id", None))
                if isinstance(ev, h2.events.RequestReceived):
                    ex = H2Exchange(self, ev.stream_id, ev.headers, ev.stream_ended is not None)
                    self.streams[ev.stream_id] = ex
                    new.append(ex)
                elif isinstance(ev, h2.events.DataReceived):
                    if ex is not None:
                        ex.body += ev.data
                    self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and ex is not None:
                    ex.remote_ended = True
                    ex.body_complete.set()
                elif isinstance(ev, h2.events.StreamReset) and ex is not None:
                    ex.reset_by_client = True
                    ex.body_complete.set()
                    self.window_opened.notify_all()
                elif isinstance(ev, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
                    self.window_opened.notify_all()
            self._flush()
        for ex in new:
            threading.Thread(target=self._serve_stream, args=(ex,), daemon=True,
                             name=f"fakeapi-h2-stream-{ex.stream_id}").start()
            if ex.answers_early:
                ex.settled.wait(SETTLE_SECONDS)  # the next frame may be its body: not before the answer

    def _idle_close(self):
        with self.lock:
            if self.streams:
                return False
            self.h2.close_connection()
            self._flush()
            return True

    # -- serving a stream --
    def _serve_stream(self, ex):
        try:
            if ex.method in METHODS:
                self.app._dispatch(ex, ex.method)
            else:
                ex.respond(501, [("Content-Type", "text/plain")], b"Unsupported method\n")
            if not ex.done:
                self.reset(ex, h2.errors.ErrorCodes.INTERNAL_ERROR)
        except ResetStream:
            pass
        except CloseConnection:
            self.abort()
        except (OSError, ssl.SSLError, h2.exceptions.H2Error):
            pass
        finally:
            ex.settled.set()
            with self.lock:
                self.streams.pop(ex.stream_id, None)

    # -- writing --
    def send(self, ex, status=None, headers=(), data=b"", end=False):
        """HEADERS when `status`, then `data` as DATA within the client's windows, END_STREAM when
        `end`. As Go's server does: the HEADERS frame goes out in a write of its own (its serve loop
        flushes whenever its write queue runs empty, and the handler queues its DATA only once the
        HEADERS are written), the DATA in the next; and a response ended while the request body is
        still coming is followed by RST_STREAM NO_ERROR in the same write as its last DATA."""
        stream_id = ex.stream_id
        with self.lock:
            self._check(ex)
            try:
                if status is not None:
                    fields = [(":status", str(status)), ("date", formatdate(usegmt=True))]
                    fields += [(k.lower(), str(v)) for k, v in headers if k.lower() not in NOT_IN_H2]
                    self.h2.send_headers(stream_id, fields, end_stream=end and not data)
                    self._flush()
                sent, stalled_since = 0, None
                while sent < len(data):
                    room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
                    if room <= 0:
                        self._flush()
                        stalled_since = stalled_since or time.monotonic()
                        if time.monotonic() - stalled_since > self.idle_timeout:
                            raise StreamGone(f"stream {stream_id}: the client's window stayed shut")
                        self.window_opened.wait(1.0)
                        self._check(ex)
                        continue
                    stalled_since = None
                    piece = data[sent:sent + room]
                    sent += len(piece)
                    self.h2.send_data(stream_id, piece, end_stream=end and sent == len(data))
                if end and status is None and not data:
                    self.h2.end_stream(stream_id)
                if end:
                    ex.done = True
                    if not ex.remote_ended:
                        self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
                self._flush()
            except h2.exceptions.StreamClosedError as e:
                raise StreamGone(f"stream {stream_id} closed") from e

    def reset(self, ex, code):
        """RST_STREAM `code` on the exchange's stream (the response, if any, cut short there)."""
        with self.lock:
            ex.done = True
            if self.dead or ex.reset_by_client:
                return
            try:
                self.h2.reset_stream(ex.stream_id, code)
                self._flush()
            except h2.exceptions.StreamClosedError:
                pass

    def abort(self):
        """Drop the whole connection at once: the reader wakes to an end of file and serve()
        raises CloseConnection, so that the socket is closed with a TCP RST."""
        with self.lock:
            self.dead = True
            self.aborted = True
            self.window_opened.notify_all()
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            socket.socket.shutdown(self.sock, socket.SHUT_RD)  # the TCP socket, TLS state untouched
        except OSError:
            pass

    def _check(self, ex):
        if self.dead or ex.reset_by_client:
            raise StreamGone(f"stream {ex.stream_id} is gone")

    def _flush(self):
        data = self.h2.data_to_send()
        if data:
            self._write(data)

    # -- the socket --
    def _recv(self):
        """What the socket has (b"" at its end), or None after the idle timeout without any."""
        deadline = time.monotonic() + self.idle_timeout
        while True:
            with self.io_lock:
                try:
                    return self.sock.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pending = self.sock.pending()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not pending:
                _wait(self.sock, select.POLLIN, left)

    def _write(self, data):
        """All of `data` (under `lock`, so that writes keep their order): a failed non-blocking
        write is retried with the same bytes, as OpenSSL requires."""
        view = memoryview(data)
        deadline = time.monotonic() + self.idle_timeout
        while view:
            with self.io_lock:
                try:
                    view = view[self.sock.send(view):]
                    continue
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the client read nothing for {self.idle_timeout:.0f} s")
            _wait(self.sock, select.POLLOUT, left)


def _wait(sock, events, timeout):
    poller = select.poll()
    poller.register(sock, events | select.POLLERR | select.POLLHUP)
    poller.poll(min(timeout, 1.0) * 1000)


class H2Exchange:
    """One request stream of an H2Connection as the exchange FakeAPIServer._dispatch serves (see
    exchange.py); its body is gathered by the connection's reader."""
    http_version = "2"

    def __init__(self, conn, stream_id, fields, ended):
        self.conn = conn
        self.stream_id = stream_id
        pseudo = {k: v for k, v in fields if k.startswith(":")}
        self.method = pseudo.get(":method", "")
        self.path = pseudo.get(":path", "/")
        self.headers = http.client.HTTPMessage()
        for k, v in fields:
            if not k.startswith(":"):
                self.headers[k] = v
        if ":authority" in pseudo and "Host" not in self.headers:
            self.headers["Host"] = pseudo[":authority"]
        self.body = bytearray()
        self.remote_ended = ended  # the client has sent END_STREAM
        self.reset_by_client = False
        self.done = False  # our END_STREAM or RST_STREAM is sent
        self.body_complete = threading.Event()
        if ended:
            self.body_complete.set()
        self.answers_early = conn.app.early_answer and not ended
        self.settled = threading.Event()  # the handler has answered or asked for the body

    def read_body(self):
        self.settled.set()
        deadline = time.monotonic() + self.conn.idle_timeout
        while not self.body_complete.wait(0.5):
            if time.monotonic() > deadline:
                raise StreamGone(f"stream {self.stream_id}: no request body for {self.conn.idle_timeout:.0f} s")
        if not self.remote_ended:
            raise StreamGone(f"stream {self.stream_id} ended before its body")
        if len(self.body) > BODY_LIMIT:
            raise st.APIError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        return bytes(self.body)

    def respond(self, code, headers, body):
        try:  # Content-Length as Go's net/http sets it for a response written whole
            self.conn.send(self, code, [*headers, ("Content-Length", str(len(body)))], body, end=True)
        finally:
            self.settled.set()

    def respond_truncated(self, code, headers, body, keep):
        self.conn.send(self, code, [*headers, ("Content-Length", str(len(body)))], body[:keep])
        self.conn.reset(self, h2.errors.ErrorCodes.INTERNAL_ERROR)  # what Go does when a handler panics
        raise ResetStream()

    def start_stream(self, code, headers):
        try:
            self.conn.send(self, code, headers)
        finally:
            self.settled.set()

    def stream_write(self, data):
        self.conn.send(self, data=data)

    def end_stream(self):
        self.conn.send(self, end=True)

    def client_gone(self):
        return self.reset_by_client or self.conn.dead
