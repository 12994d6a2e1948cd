"""A raw HTTP/2 client for tests of the fake's h2 side: it sends what it is told, frame by frame
(HEADERS with or without END_STREAM, DATA when the test says), and records every frame it
receives in order, so that a test can check which frames came and in what order.

    with H2Client(api) as c:
        s = c.request("PATCH", "/api/v1/nodes/node-1", token="wrong", body=None)  # body still to come
        c.read_until(lambda: c.ended(s) or c.reset_code(s) is not None)
        c.frames(s)  # [("HEADERS", {...}), ("DATA", {"END_STREAM"}), ("RST_STREAM", 0)]
"""
import json
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import DataFrame, Frame, GoAwayFrame, HeadersFrame, RstStreamFrame


class H2Client:
    def __init__(self, api, alpn=("h2",), window=None, timeout=10):
        ctx = ssl.create_default_context(cafile=api.ca)
        ctx.set_alpn_protocols(list(alpn))
        raw = socket.create_connection(("127.0.0.1", api.port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.alpn = self.sock.selected_alpn_protocol()
        self.api = api
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                         header_encoding="utf-8"))
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self._send()
        self.auto_ack = True  # give the windows back as DATA arrives
        self.log = []  # (stream id, kind, detail) for every frame received, in order
        self.headers, self.data = {}, {}
        self.closed = False  # the server closed the connection
        self._buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending --
    def request(self, method, path, token=None, body=b"", content_type="application/json", end=True,
                extra=()):
        """Sends HEADERS (+ DATA with `body` unless body is None); returns the stream id.
        body=None: HEADERS without END_STREAM, the body left to send_body()."""
        sid = self.conn.get_next_available_stream_id()
        tok = self.api.token if token is None else token
        fields = [(":method", method), (":path", path), (":scheme", "https"), (":authority", "127.0.0.1"),
                  ("accept", "application/json"), ("user-agent", "h2-client-test")]
        if tok:
            fields.append(("authorization", f"Bearer {tok}"))
        if body is None or body:
            fields.append(("content-type", content_type))
        fields += list(extra)
        self.conn.send_headers(sid, fields, end_stream=body == b"" and end)
        if body:
            self.conn.send_data(sid, body, end_stream=end)
        self._send()
        return sid

    def send_body(self, sid, body, end=True):
        self.conn.send_data(sid, body, end_stream=end)
        self._send()

    def send_late_body(self, sid, body):
        """A DATA frame with END_STREAM on a stream the server has already closed (h2's state
        machine would refuse to send it): what a client still uploading does."""
        self.sock.sendall(DataFrame(sid, body, flags=["END_STREAM"]).serialize())

    def _send(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    # -- receiving --
    def read_until(self, done, timeout=10.0):
        """Reads frames until done() or the connection closes; raises TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while not done():
            if self.closed:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no end in {timeout} s; frames: {self.log[-10:]}")
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionError, ssl.SSLError):
                data = b""
            if not data:
                self.closed = True
                return
            self._receive(data)

    def _receive(self, data):
        self._buf += data
        while len(self._buf) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self._buf[:9]))
            if len(self._buf) < 9 + length:
                return
            raw, self._buf = self._buf[:9 + length], self._buf[9 + length:]
            frame.parse_body(memoryview(raw[9:]))
            if isinstance(frame, HeadersFrame):
                self.log.append((frame.stream_id, "HEADERS", set(frame.flags)))
            elif isinstance(frame, DataFrame):
                self.log.append((frame.stream_id, "DATA", set(frame.flags)))
            elif isinstance(frame, RstStreamFrame):
                self.log.append((frame.stream_id, "RST_STREAM", frame.error_code))
            elif isinstance(frame, GoAwayFrame):
                self.log.append((0, "GOAWAY", frame.error_code))
            try:
                events = self.conn.receive_data(raw)
            except h2.exceptions.ProtocolError as e:
                raise AssertionError(f"the fake broke HTTP/2: {e}") from e
            for ev in events:
                if isinstance(ev, h2.events.ResponseReceived):
                    self.headers[ev.stream_id] = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    self.data.setdefault(ev.stream_id, []).append(ev.data)
                    if self.auto_ack:
                        self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            self._send()

    # -- what came --
    def frames(self, sid):
        return [(kind, detail) for s, kind, detail in self.log if s == sid]

    def status(self, sid):
        return int(self.headers[sid][":status"]) if sid in self.headers else None

    def body(self, sid):
        return b"".join(self.data.get(sid, []))

    def json(self, sid):
        return json.loads(self.body(sid))

    def ended(self, sid):
        return any(kind in ("DATA", "HEADERS") and "END_STREAM" in d for kind, d in self.frames(sid))

    def reset_code(self, sid):
        return next((d for kind, d in self.frames(sid) if kind == "RST_STREAM"), None)

    def finished(self, sid):
        return self.ended(sid) or self.reset_code(sid) is not None

    def exchange(self, method, path, timeout=10.0, **kw):
        """One whole request: (status, body bytes, stream id)."""
        sid = self.request(method, path, **kw)
        self.read_until(lambda: self.finished(sid), timeout)
        return self.status(sid), self.body(sid), sid
