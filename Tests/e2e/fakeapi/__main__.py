import argparse
import os
import signal
import sys
import threading

from .server import ALPN, FakeAPIServer


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m fakeapi", description="fake Kubernetes API server")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--admin-port", type=int, default=0, help="plain-HTTP admin port on 127.0.0.1 (0: free; -1: off)")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--node", action="append", default=[], help="node to create (repeatable)")
    ap.add_argument("--node-count", type=int, default=0, help="create node-1 … node-N (instead of --node)")
    ap.add_argument("--token", default=None, help="accepted bearer token (default: random)")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--history", type=int, default=1000, help="watch events retained before 410")
    ap.add_argument("--alpn", default=os.environ.get("FAKEAPI_ALPN") or ",".join(ALPN),
                    help="protocols offered by ALPN, comma-separated (default $FAKEAPI_ALPN or h2,http/1.1; "
                         "http/1.1 alone forces HTTP/1.1)")
    ap.add_argument("--early-answer", action="store_true",
                    help="over h2, answer a request refused before its body is read, then RST_STREAM NO_ERROR")
    a = ap.parse_args(argv)
    srv = FakeAPIServer(a.state_dir, nodes=a.node or a.node_count or ["node-1"], port=a.port,
                        admin_port=None if a.admin_port < 0 else a.admin_port, token=a.token,
                        history_size=a.history, bookmark_interval=a.bookmark_interval,
                        alpn=[p for p in a.alpn.split(",") if p], early_answer=a.early_answer).start()
    print(f"fakeapi listening on {srv.url} admin {srv.admin_url} kubeconfig {srv.kubeconfig}", flush=True)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
