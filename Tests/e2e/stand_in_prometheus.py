"""A stand-in for Prometheus's HTTP query API on 127.0.0.1, answering each node's query with
a CPU percentage the test sets (`set_load`, `set_all`): many agents, each its own node, with
loads told apart, and no exporter or scrape in between.

The agents' `prometheus.query` is `QUERY` (`$node` in a regex matcher, as in the product's
default); the agent fills in the node name regex-escaped, then PromQL-string-escaped, and
this server undoes both to find the node. An instant vector of one series comes back, in the
shape Sources/NodeMetrics/PrometheusResponse.swift reads, stamped with the current time;
a node with no load set gets an empty vector (the agent's `empty_result`, no value).
"""
import http.server
import json
import re
import threading
import time
import urllib.parse

QUERY = 'autotaint_test_cpu{node=~"$node"}'

_MATCHER = re.compile(r'node=~"((?:[^"\\]|\\.)*)"')


def node_of(query: str) -> str | None:
    """The node name in a query rendered from QUERY, or None."""
    match = _MATCHER.search(query)
    if not match:
        return None
    inside = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), match.group(1))
    return re.sub(r"\\(.)", r"\1", inside)  # the regex escaping (RE2 QuoteMeta) undone


class StandInPrometheus:
    def __init__(self):
        self._lock = threading.Lock()
        self._loads: dict[str, float] = {}
        self.queries: dict[str, int] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, params: dict):
                if urllib.parse.urlsplit(self.path).path != "/api/v1/query":
                    return self._send(404, {"status": "error", "errorType": "not_found", "error": "no such path"})
                node = node_of((params.get("query") or [""])[0])
                with outer._lock:
                    load = outer._loads.get(node)
                    outer.queries[node] = outer.queries.get(node, 0) + 1
                series = [] if load is None else [{"metric": {"node": node}, "value": [time.time(), f"{load:g}"]}]
                self._send(200, {"status": "success", "data": {"resultType": "vector", "result": series}})

            def _send(self, code: int, obj: dict):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                self._answer(urllib.parse.parse_qs(body))

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="stand-in-prometheus")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set_load(self, node: str, percent: float) -> None:
        with self._lock:
            self._loads[node] = percent

    def set_all(self, percent: float, nodes=None) -> None:
        """Every node seen so far (or `nodes`) at `percent`, all at once."""
        with self._lock:
            for node in list(nodes if nodes is not None else self._loads):
                self._loads[node] = percent

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
