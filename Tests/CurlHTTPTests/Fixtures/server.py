"""A small HTTP(S) server on 127.0.0.1 for the CurlHTTP tests.

Usage: server.py PORT_FILE [--cert C --key K [--client-ca CA]]
Writes its port to PORT_FILE once it listens; runs until killed, until its parent (the
test process) is gone, or for five minutes at most.

Endpoints (any method):
  /echo            JSON: method, path, headers, body, connection number
  /status/N        answers N with Retry-After: 7 and a small JSON body
  /status/N/cut    the same head, then half the body it announced, then the connection
                   drops: a status that arrived, and a transfer that failed (curl error 18),
                   as an HTTP/2 server's early answer and stream reset can leave it
  /hang            never answers (for timeouts)
  /stream          chunked NDJSON whose lines are split across chunks; last line unterminated
  /stream/410      chunked 410 with a Kubernetes Status body
  /stream/forever  one line, then silence
  /stats           JSON: connections accepted, most requests in flight at once
Every response carries X-Connection: the number of the TCP connection it came on.
"""
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls):
        super().__init__(("127.0.0.1", 0), Handler)
        self.tls = tls
        self.lock = threading.Lock()
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def get_request(self):
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        pass  # failed handshakes are expected in the TLS tests


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        if self.server.tls:
            self.request.do_handshake()
        with self.server.lock:
            self.server.connections += 1
            self.number = self.server.connections

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def route(self):
        with self.server.lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            if path == "/echo":
                time.sleep(0.002)  # widen the window in which overlapping requests would show
                self.reply(200, {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "connection": self.number,
                })
            elif path.startswith("/status/"):
                parts = path.split("/")
                self.reply(int(parts[2]), {"kind": "Status"}, {"Retry-After": "7"}, cut=parts[3:] == ["cut"])
            elif path == "/hang":
                time.sleep(60)
            elif path == "/stream":
                self.stream(200, [b'{"n":1', b'}\n{"n"', b':2}\r\n', b'{"n":3}\n\n{"n":4}', b'\n', b'{"n":5}'])
            elif path == "/stream/410":
                self.stream(410, [b'{"kind":"Status","code":410,', b'"reason":"Expired"}'])
            elif path == "/stream/forever":
                self.start_stream(200)
                self.chunk(b'{"n":1}\n')
                time.sleep(60)
            elif path == "/stats":
                with self.server.lock:
                    stats = {
                        "connections": self.server.connections,
                        "maxInFlight": self.server.max_in_flight,
                    }
                self.reply(200, stats)
            else:
                self.reply(404, {"error": "no such path"})
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def reply(self, status, obj, headers={}, cut=False):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Connection", str(self.number))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.request.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def start_stream(self, status):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Connection", str(self.number))
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, status, pieces):
        self.start_stream(status)
        for piece in pieces:
            self.chunk(piece)
            time.sleep(0.01)
        self.wfile.write(b"0\r\n\r\n")


def exit_with_parent():
    parent, deadline = os.getppid(), time.monotonic() + 300
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, daemon=True).start()
    port_file = sys.argv[1]
    options = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    tls = None
    if "--cert" in options:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(options["--cert"], options["--key"])
        if "--client-ca" in options:
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(options["--client-ca"])
    server = Server(tls)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
