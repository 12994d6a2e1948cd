"""The fake's HTTP/2 side, as kube-apiserver (Go's net/http2) behaves: h2 and HTTP/1.1 on one TLS
port chosen by ALPN, kubectl speaking h2 to it, watches as DATA frames, many streams on one
connection, faults, outages and the idle timeout over h2, flow control both ways, and the
early answer (a request refused before its body is read: HEADERS, then DATA with END_STREAM and
RST_STREAM NO_ERROR). Frames are checked with a raw h2 client (h2_client.py)."""
import json
import socket
import ssl
import threading
import time

import pytest

from h2_client import H2Client

NODE = "/api/v1/nodes/node-1"
MERGE = "application/merge-patch+json"
NO_ERROR, INTERNAL_ERROR = 0, 2


def label(value):
    return json.dumps({"metadata": {"labels": {"h2-test": value}}}).encode()


def agent_entries(api, user_agent):
    return [r for r in api.requests() if r["user_agent"].startswith(user_agent)]


# -- protocols -------------------------------------------------------------------------------

def test_h2_and_http11_are_negotiated_on_one_port(fake_api):
    fake_api.clear_requests()
    with H2Client(fake_api, alpn=("h2", "http/1.1")) as c:
        assert c.alpn == "h2"
        status, body, _ = c.exchange("GET", NODE)
        assert status == 200 and json.loads(body)["metadata"]["name"] == "node-1"
    with H2Client(fake_api, alpn=("http/1.1",)) as c:  # a client that asks for HTTP/1.1 gets it
        assert c.alpn == "http/1.1"
    assert fake_api.http("GET", NODE).status == 200  # urllib: no h2 offered
    assert [r["http"] for r in fake_api.requests()] == ["2", "1.1"]


def test_alpn_http11_alone_forces_http11(make_fake_api):
    api = make_fake_api(alpn=("http/1.1",))
    with H2Client(api, alpn=("h2", "http/1.1")) as c:
        assert c.alpn == "http/1.1"
    out = api.kubectl("get", "node", "node-1", "-o", "name")
    assert out.strip() == "node/node-1"
    assert {r["http"] for r in api.requests()} == {"1.1"}


def test_kubectl_speaks_h2_to_the_fake(fake_api):
    fake_api.clear_requests()
    fake_api.kubectl("taint", "node", "node-1", "example.com/h2=yes:NoSchedule")
    fake_api.kubectl("describe", "node", "node-1")
    used = agent_entries(fake_api, "kubectl")
    assert used and {r["http"] for r in used} == {"2"}, [(r["method"], r["path"], r["http"]) for r in used]
    assert any(r["method"] == "PATCH" and r["status"] == 200 for r in used)


# -- watch and streams ------------------------------------------------------------------------

def test_a_watch_over_h2_is_a_data_frame_per_event_ended_by_end_stream(fake_api):
    rv0 = fake_api.node("node-1")["metadata"]["resourceVersion"]
    with H2Client(fake_api) as c:
        sid = c.request("GET", f"/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1&watch=true"
                               f"&resourceVersion={rv0}&timeoutSeconds=3")
        c.read_until(lambda: c.status(sid) is not None)
        assert c.status(sid) == 200 and "content-length" not in c.headers[sid]
        assert "transfer-encoding" not in c.headers[sid]
        for i in range(3):
            fake_api.update_node("node-1", lambda n, i=i: n["metadata"]["labels"].update({"step": str(i)}))
        c.read_until(lambda: c.ended(sid), timeout=10)
        chunks = c.data[sid]
        events = [json.loads(x) for x in chunks if x]
        assert all(x.endswith(b"\n") and x.count(b"\n") == 1 for x in chunks if x)  # a line per DATA frame
        assert [(e["type"], e["object"]["metadata"]["labels"]["step"]) for e in events] == \
            [("MODIFIED", "0"), ("MODIFIED", "1"), ("MODIFIED", "2")]
        assert c.frames(sid)[-1] == ("DATA", {"END_STREAM"}) and c.reset_code(sid) is None
    assert fake_api.requests("GET", "/api/v1/nodes")[-1]["http"] == "2"


def test_many_streams_on_one_connection_beside_a_watch(fake_api):
    with H2Client(fake_api) as c:
        watch = c.request("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dnode-1&watch=true&timeoutSeconds=20")
        c.read_until(lambda: c.status(watch) == 200)
        writes = [c.request("PATCH", NODE, body=label(f"v{i}"), content_type=MERGE) for i in range(20)]
        reads = [c.request("GET", "/api/v1/nodes/node-2") for _ in range(20)]
        c.read_until(lambda: all(c.finished(s) for s in writes + reads), timeout=20)
        assert [c.status(s) for s in writes + reads] == [200] * 40
        assert all(c.frames(s)[-1] == ("DATA", {"END_STREAM"}) for s in writes + reads)

        def modified():  # a line may span DATA frames when a window is short
            lines = c.body(watch).split(b"\n")[:-1]
            return sum(json.loads(line)["type"] == "MODIFIED" for line in lines)
        c.read_until(lambda: modified() >= 20, timeout=10)
        assert not c.finished(watch)  # the watch lives on beside them
        c.conn.reset_stream(watch, 8)  # CANCEL, as kubectl ends a watch
        c._send()
    entry = next(r for r in fake_api.requests("GET", "/api/v1/nodes") if r["params"].get("watch"))
    assert _eventually(lambda: entry_now(fake_api, entry)["duration"] is not None), "the watch's handler noticed the reset"


def entry_now(api, entry):
    return next(r for r in api.requests() if r["time"] == entry["time"] and r["path"] == entry["path"])


def _eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


# -- flow control -----------------------------------------------------------------------------

def test_a_large_answer_waits_for_the_clients_window(make_fake_api):
    api = make_fake_api(nodes=200)
    with H2Client(api, window=16384) as c:
        c.auto_ack = False  # give nothing back: the answer must stop at the window
        sid = c.request("GET", "/api/v1/nodes")
        c.read_until(lambda: len(c.body(sid)) >= 16384, timeout=10)
        time.sleep(0.5)
        assert len(c.body(sid)) == 16384 and not c.ended(sid)
        c.auto_ack = True
        c.conn.acknowledge_received_data(16384, sid)
        c._send()
        c.read_until(lambda: c.ended(sid), timeout=20)
        assert len(c.json(sid)["items"]) == 200
        assert int(c.headers[sid]["content-length"]) == len(c.body(sid)) > 200_000


def test_a_large_request_body_is_taken_in_with_window_updates(fake_api):
    big = label("big") + b" " * 2_500_000  # past the 1 MiB windows: JSON may end in blanks
    with H2Client(fake_api) as c:
        sid = c.request("PATCH", NODE, body=None, content_type=MERGE)
        for i in range(0, len(big), 16384):  # the client's view of the server's windows
            while c.conn.local_flow_control_window(sid) < min(16384, len(big) - i):
                c.read_until(lambda: c.conn.local_flow_control_window(sid) >= 16384, timeout=10)
            c.send_body(sid, big[i:i + 16384], end=i + 16384 >= len(big))
        c.read_until(lambda: c.finished(sid), timeout=20)
        assert c.status(sid) == 200
    assert fake_api.node("node-1")["metadata"]["labels"]["h2-test"] == "big"
    assert fake_api.requests("PATCH")[-1]["request_bytes"] == len(big)


# -- the early answer -------------------------------------------------------------------------

def test_early_answer_off_reads_the_body_before_a_401(fake_api):
    fake_api.clear_requests()
    with H2Client(fake_api) as c:
        sid = c.request("PATCH", NODE, token="wrong", body=None, content_type=MERGE)
        time.sleep(0.3)
        assert c.frames(sid) == [] and not _answered_within(c, sid, 0.3)
        c.send_body(sid, label("late"))
        c.read_until(lambda: c.finished(sid))
        assert c.status(sid) == 401 and c.frames(sid)[-1] == ("DATA", {"END_STREAM"})
        assert c.reset_code(sid) is None
    (entry,) = fake_api.requests()
    assert entry["status"] == 401 and entry["request_bytes"] == len(label("late"))


def _answered_within(c, sid, seconds):
    try:
        c.read_until(lambda: c.frames(sid), timeout=seconds)
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize("why", ["token", "fault-403", "fault-429", "fault-409", "fault-422", "fault-401"])
def test_early_answer_refuses_on_the_headers_then_resets_the_stream_with_no_error(fake_api, why):
    fake_api.set_early_answer(True)
    fake_api.clear_requests()
    token = "wrong" if why == "token" else None
    if why != "token":
        fake_api.fault(method="PATCH", path="/nodes/node-1$", status=int(why[-3:]), retry_after=1)
    with H2Client(fake_api) as c:
        sid = c.request("PATCH", NODE, token=token, body=None, content_type=MERGE)  # no body yet
        c.read_until(lambda: c.reset_code(sid) is not None, timeout=5)
        status = 401 if why == "token" else int(why[-3:])
        assert c.status(sid) == status and c.json(sid)["code"] == status
        assert c.frames(sid) == [("HEADERS", {"END_HEADERS"}), ("DATA", {"END_STREAM"}), ("RST_STREAM", NO_ERROR)]
        assert int(c.headers[sid]["content-length"]) == len(c.body(sid))
        # the body, sent now, is dropped: the stream is closed (STREAM_CLOSED), the connection lives on
        c.send_late_body(sid, label("never read"))
        c.read_until(lambda: len(c.frames(sid)) > 3, timeout=5)
        assert c.frames(sid)[3:] == [("RST_STREAM", 5)]
        assert c.exchange("GET", NODE)[0] == 200
        assert not c.closed
    patch = fake_api.requests("PATCH")[0]
    assert patch["status"] == status and patch["body"] == "" and patch["request_bytes"] == 0
    assert "h2-test" not in fake_api.node("node-1")["metadata"]["labels"]


def test_early_answer_leaves_other_statuses_and_accepted_requests_alone(fake_api):
    fake_api.set_early_answer(True)
    fake_api.fault(method="PATCH", path="/nodes/node-1$", status=503)
    with H2Client(fake_api) as c:
        for expected in (503, 200):  # a 503 and an accepted PATCH both read the body first
            sid = c.request("PATCH", NODE, body=None, content_type=MERGE)
            assert not _answered_within(c, sid, 0.3)
            c.send_body(sid, label(str(expected)))
            c.read_until(lambda: c.finished(sid))
            assert c.status(sid) == expected and c.reset_code(sid) is None
    assert [r["request_bytes"] > 0 for r in fake_api.requests("PATCH")] == [True, True]


def test_early_answer_through_the_admin_api(fake_api):
    import urllib.request

    def admin(method, body=None):
        req = urllib.request.Request(fake_api.admin_url + "/early-answer", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())
    assert admin("GET") == {"enabled": False}
    assert admin("POST", {"enabled": True}) == {"enabled": True}
    assert fake_api.early_answer is True
    assert admin("POST", {"enabled": False}) == {"enabled": False}


# -- faults, outages, idle --------------------------------------------------------------------

def test_faults_over_h2(fake_api):
    with H2Client(fake_api) as c:
        fake_api.fault(method="GET", path="/nodes/node-1$", status=429, retry_after=2)
        status, body, sid = c.exchange("GET", NODE)
        assert status == 429 and c.headers[sid]["retry-after"] == "2"
        assert json.loads(body)["details"]["retryAfterSeconds"] == 2

        fake_api.fault(method="GET", path="/nodes/node-1$", action="garbage")
        status, body, _ = c.exchange("GET", NODE)
        assert status == 200 and b"<<<garbage>>>" in body

        fake_api.fault(method="PATCH", path="/nodes/node-1$", action="truncate")
        sid = c.request("PATCH", NODE, body=label("cut"), content_type=MERGE)
        c.read_until(lambda: c.finished(sid))
        assert c.reset_code(sid) == INTERNAL_ERROR and not c.ended(sid)
        assert 0 < len(c.body(sid)) < int(c.headers[sid]["content-length"])
        assert fake_api.node("node-1")["metadata"]["labels"]["h2-test"] == "cut"  # really executed

        fake_api.fault(method="GET", path="/nodes/node-1$", action="hang", seconds=1.0)
        t0 = time.monotonic()
        assert c.exchange("GET", NODE)[0] == 200 and time.monotonic() - t0 >= 1.0
        assert not c.closed  # every fault so far left the connection up

        fake_api.fault(method="GET", path="/nodes/node-1$", action="reset")
        sid = c.request("GET", NODE)
        c.read_until(lambda: c.finished(sid), timeout=5)
        assert c.closed and not c.finished(sid)  # the whole connection dropped
    entries = fake_api.requests(path=NODE)
    assert [(r["fault"], r["status"], r["http"]) for r in entries if r["fault"]] == [
        ("status", 429, "2"), ("garbage", 200, "2"), ("truncate", 0, "2"), ("hang", 200, "2"), ("reset", 0, "2")]


def test_hang_then_close_drops_the_connection_and_its_other_streams(fake_api):
    fake_api.fault(method="GET", path="/nodes/node-2$", action="hang", seconds=0.5, then="close")
    with H2Client(fake_api) as c:
        watch = c.request("GET", "/api/v1/nodes?watch=true&timeoutSeconds=20")
        c.read_until(lambda: c.status(watch) == 200)
        c.request("GET", "/api/v1/nodes/node-2")
        c.read_until(lambda: c.closed, timeout=5)
        assert c.closed and not c.ended(watch)


def test_down_closes_h2_connections_and_up_serves_again(fake_api):
    with H2Client(fake_api) as c:
        watch = c.request("GET", "/api/v1/nodes?watch=true&timeoutSeconds=30")
        c.read_until(lambda: c.status(watch) == 200)
        fake_api.down(1.0)
        c.read_until(lambda: c.closed, timeout=5)
        assert c.closed
    with pytest.raises(OSError):
        H2Client(fake_api, timeout=2)
    assert _eventually(lambda: _connects(fake_api), timeout=10)
    with H2Client(fake_api) as c:
        assert c.exchange("GET", NODE)[0] == 200


def _connects(api):
    try:
        with H2Client(api, timeout=2) as c:
            return c.exchange("GET", NODE, timeout=5)[0] == 200
    except OSError:
        return False


def test_an_idle_h2_connection_is_closed_with_goaway_but_not_one_with_a_watch(make_fake_api):
    api = make_fake_api(idle_timeout=1.0)
    with H2Client(api) as idle, H2Client(api) as busy:
        assert idle.exchange("GET", NODE)[0] == 200
        watch = busy.request("GET", "/api/v1/nodes?watch=true&timeoutSeconds=4")
        idle.read_until(lambda: idle.closed, timeout=5)
        assert idle.closed and (0, "GOAWAY", NO_ERROR) in idle.log
        busy.read_until(lambda: busy.ended(watch), timeout=8)  # outlived the idle timeout
        assert busy.status(watch) == 200 and not busy.closed
