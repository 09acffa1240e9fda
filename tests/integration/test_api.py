"""Janus API v1 over WebSocket: lifecycle, errors, timeouts, claim, admin API,
secrets, HTTP and shutdown. Each test starts its own server (see conftest.py)
and talks to it with a real WebSocket client.

Run against the real Janus with CHORUS_TARGET=janus to check the tests
themselves: tests for Chorus-only features (HTTP server, config checking)
are skipped there, and the echo plugin becomes janus.plugin.echotest.
"""

import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess

import pytest

from chorus_server import SRC_ROOT, chorus_binary, sanitizer_report
from janus_client import JanusWS, error_code, new_transaction, run

# The echo plugin's answer carries the body back in Chorus; Janus's echotest
# needs one attribute it knows ("audio") or it answers with an error.
BODY = {"audio": True, "hello": "world"}
SECRET = "s3cret-for-tests"


def is_error(code):
    return lambda m: m.get("janus") == "error" and m["error"]["code"] == code


# --------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------

def test_lifecycle_create_attach_message_keepalive_detach_destroy(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            r = await c.request({"janus": "create"})
            assert r["janus"] == "success", r
            s = r["data"]["id"]
            assert isinstance(s, int) and s > 0

            r = await c.request({"janus": "attach", "session_id": s, "plugin": server.echo_plugin})
            assert r["janus"] == "success", r
            assert r.get("session_id") == s, r
            h = r["data"]["id"]
            assert isinstance(h, int) and h > 0

            ack, event = await c.message(s, h, BODY)
            assert ack["janus"] in ("ack", "event"), ack
            assert event["session_id"] == s and event["sender"] == h, event
            server.check_echo_event(event["plugindata"], BODY)
            acks = [m for m in c.received if m.get("transaction") == event["transaction"]
                    and m.get("janus") == "ack"]
            assert len(acks) == 1, c.received
            if server.kind == "chorus":
                # Chorus promises the ack first (Janus may send the event first).
                assert c.received.index(acks[0]) < c.received.index(event)

            r = await c.request({"janus": "keepalive", "session_id": s}, skip_ack=False)
            assert r["janus"] == "ack" and r["session_id"] == s, r

            start = len(c.received)
            r = await c.request({"janus": "detach", "session_id": s, "handle_id": h})
            assert r["janus"] == "success", r
            det = await c.wait_for(lambda m: m.get("janus") == "detached", start=start)
            assert det["session_id"] == s and det["sender"] == h, det

            r = await c.request({"janus": "destroy", "session_id": s})
            assert r["janus"] == "success" and r.get("session_id") == s, r

            r = await c.request({"janus": "keepalive", "session_id": s})
            assert error_code(r) == 458, r
    run(body())


def test_two_sessions_on_one_socket_are_independent(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s1 = await c.create_session()
            s2 = await c.create_session()
            assert s1 != s2
            h1 = await c.attach(s1, server.echo_plugin)
            h2 = await c.attach(s2, server.echo_plugin)
            assert h1 != h2
            # A handle belongs to its session only.
            r = await c.request({"janus": "message", "session_id": s2, "handle_id": h1, "body": BODY})
            assert error_code(r) == 459, r
            r = await c.request({"janus": "destroy", "session_id": s1})
            assert r["janus"] == "success", r
            _, event = await c.message(s2, h2, BODY)
            server.check_echo_event(event["plugindata"], BODY)
    run(body())


def test_hangup_and_trickle_on_a_handle(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            h = await c.attach(s, server.echo_plugin)
            r = await c.request({"janus": "trickle", "session_id": s, "handle_id": h,
                                 "candidate": {"completed": True}}, skip_ack=False)
            assert r["janus"] == "ack", r
            r = await c.request({"janus": "trickle", "session_id": s, "handle_id": h})
            assert error_code(r) == 456, r
            r = await c.request({"janus": "hangup", "session_id": s, "handle_id": h})
            assert r["janus"] == "success", r
            # The handle is still attached after a hangup.
            _, event = await c.message(s, h, BODY)
            server.check_echo_event(event["plugindata"], BODY)
    run(body())


def test_info_lists_the_echo_plugin(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            tr = new_transaction("info")
            r = await c.request({"janus": "info", "transaction": tr})
            assert r["janus"] == "server_info", r
            assert r["transaction"] == tr
            assert server.echo_plugin in r.get("plugins", {}), r
    run(body())


def test_ping_pong(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            tr = new_transaction("ping")
            r = await c.request({"janus": "ping", "transaction": tr})
            assert r == {"janus": "pong", "transaction": tr}, r
    run(body())


# --------------------------------------------------------------------------
# Error codes
# --------------------------------------------------------------------------

def test_invalid_json_is_454_and_socket_stays_usable(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            await c.send_raw("{not json")
            r = await c.wait_for(lambda m: m.get("janus") == "error")
            assert r["error"]["code"] == 454, r
            s = await c.create_session()
            assert s > 0
    run(body())


def test_json_that_is_not_an_object_is_an_error(server):
    # Janus answers 456 (it reads the array as a request without transaction);
    # 455 ("invalid JSON object") is the dedicated code. Either is an error.
    async def body():
        async with JanusWS(server.ws_url) as c:
            await c.send_raw("[1, 2]")
            r = await c.wait_for(lambda m: m.get("janus") == "error")
            assert r["error"]["code"] in (455, 456), r
    run(body())


def test_unknown_request_is_453(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            tr = new_transaction()
            r = await c.request({"janus": "fly_to_the_moon", "session_id": s, "transaction": tr})
            assert error_code(r) == 453, r
            assert r["transaction"] == tr
            h = await c.attach(s, server.echo_plugin)
            r = await c.request({"janus": "fly_to_the_moon", "session_id": s, "handle_id": h})
            assert error_code(r) == 453, r
    run(body())


def test_missing_transaction_is_456(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            await c.send({"janus": "create"})
            r = await c.wait_for(lambda m: m.get("janus") == "error")
            assert r["error"]["code"] == 456, r
            # and no session was created by it
            assert not any(m.get("janus") == "success" for m in c.received), c.received
    run(body())


def test_missing_request_name_is_an_error(server):
    # Janus answers 456 (missing mandatory element "janus"); 452 is the dedicated code.
    async def body():
        async with JanusWS(server.ws_url) as c:
            await c.send({"transaction": new_transaction()})
            r = await c.wait_for(lambda m: m.get("janus") == "error")
            assert r["error"]["code"] in (452, 456), r
    run(body())


def test_message_without_body_is_456(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            h = await c.attach(s, server.echo_plugin)
            tr = new_transaction()
            r = await c.request({"janus": "message", "session_id": s, "handle_id": h,
                                 "transaction": tr})
            assert error_code(r) == 456, r
            assert r["transaction"] == tr
    run(body())


def test_message_body_not_an_object_is_467(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            h = await c.attach(s, server.echo_plugin)
            r = await c.request({"janus": "message", "session_id": s, "handle_id": h, "body": [1]})
            assert error_code(r) == 467, r
    run(body())


def test_unknown_session_is_458(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            tr = new_transaction()
            r = await c.request({"janus": "keepalive", "session_id": 123456789, "transaction": tr})
            assert error_code(r) == 458, r
            assert r["transaction"] == tr
            r = await c.request({"janus": "attach", "session_id": 123456789,
                                 "plugin": server.echo_plugin})
            assert error_code(r) == 458, r
    run(body())


def test_unknown_handle_is_459(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            r = await c.request({"janus": "message", "session_id": s, "handle_id": 987654321,
                                 "body": BODY})
            assert error_code(r) == 459, r
            r = await c.request({"janus": "detach", "session_id": s, "handle_id": 987654321})
            assert error_code(r) == 459, r
    run(body())


def test_unknown_plugin_is_460(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            r = await c.request({"janus": "attach", "session_id": s, "plugin": "chorus.plugin.nope"})
            assert error_code(r) == 460, r
    run(body())


def test_attach_without_plugin_is_456(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            r = await c.request({"janus": "attach", "session_id": s})
            assert error_code(r) == 456, r
    run(body())


def test_destroyed_session_is_458(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            h = await c.attach(s, server.echo_plugin)
            r = await c.request({"janus": "destroy", "session_id": s})
            assert r["janus"] == "success", r
            for req in ({"janus": "keepalive", "session_id": s},
                        {"janus": "destroy", "session_id": s},
                        {"janus": "attach", "session_id": s, "plugin": server.echo_plugin},
                        {"janus": "message", "session_id": s, "handle_id": h, "body": BODY}):
                r = await c.request(dict(req))
                assert error_code(r) == 458, (req, r)
    run(body())


def test_session_request_without_session_is_457(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            r = await c.request({"janus": "attach", "plugin": server.echo_plugin})
            assert error_code(r) == 457, r
    run(body())


def test_create_with_id_in_use_is_468(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            r = await c.request({"janus": "create", "id": s})
            assert error_code(r) == 468, r
            # a free id chosen by the client is accepted and used
            free = s + 1 if s < 2 ** 52 else s - 1
            r = await c.request({"janus": "create", "id": free})
            assert r["janus"] == "success" and r["data"]["id"] == free, r
            r = await c.request({"janus": "keepalive", "session_id": free}, skip_ack=False)
            assert r["janus"] == "ack", r
            # an id that is not a positive integer is refused (Janus's answer
            # to this one carries no transaction)
            start = len(c.received)
            await c.send({"janus": "create", "id": "abc", "transaction": new_transaction()})
            r = await c.wait_for(lambda m: m.get("janus") in ("error", "success"), start=start)
            assert error_code(r) == 467, r
    run(body())


def test_jsep_errors_464_465(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            h = await c.attach(s, server.echo_plugin)
            r = await c.request({"janus": "message", "session_id": s, "handle_id": h, "body": BODY,
                                 "jsep": {"type": "bogus", "sdp": "v=0\r\n"}})
            assert error_code(r) == 464, r
            r = await c.request({"janus": "message", "session_id": s, "handle_id": h, "body": BODY,
                                 "jsep": {"type": "offer", "sdp": "garbage"}})
            assert error_code(r) == 465, r
    run(body())


# --------------------------------------------------------------------------
# Session timeout, claim, reclaim after the socket closes
# --------------------------------------------------------------------------

def test_session_without_keepalive_times_out(start_server):
    srv = start_server({"general.session_timeout": 2})

    async def body():
        async with JanusWS(srv.ws_url) as c:
            s = await c.create_session()
            await c.attach(s, srv.echo_plugin)
            ev = await c.wait_for(lambda m: m.get("janus") == "timeout", timeout=30,
                                  what="a timeout event")
            assert ev["session_id"] == s, ev
            r = await c.request({"janus": "keepalive", "session_id": s})
            assert error_code(r) == 458, r
    run(body())


def test_keepalive_keeps_a_session_alive(start_server):
    # Keepalives every 0.25 s for three times a 4 s timeout; the timeout is there
    # only to be exceeded if keepalives were ignored, not as a speed threshold.
    srv = start_server({"general.session_timeout": 4})

    async def body():
        async with JanusWS(srv.ws_url) as c:
            s = await c.create_session()
            loop = asyncio.get_running_loop()
            end = loop.time() + 12
            while loop.time() < end:
                r = await c.request({"janus": "keepalive", "session_id": s}, skip_ack=False)
                assert r["janus"] == "ack", r
                await asyncio.sleep(0.25)
            assert not any(m.get("janus") == "timeout" for m in c.received), c.received
    run(body())


async def _no_event_for(c, tr):
    """Round-trip a ping on c: anything sent to c before it is then in c.received."""
    r = await c.request({"janus": "ping"})
    assert r["janus"] == "pong", r
    return not any(m.get("transaction") == tr and m.get("janus") == "event" for m in c.received)


def test_claim_moves_events_to_the_claiming_socket(server):
    async def body():
        async with JanusWS(server.ws_url) as c1, JanusWS(server.ws_url) as c2:
            s = await c1.create_session()
            h = await c1.attach(s, server.echo_plugin)
            r = await c2.request({"janus": "claim", "session_id": s})
            assert r["janus"] == "success" and r.get("session_id") == s, r

            # A message sent on socket 1: its event goes to socket 2, the owner now.
            tr = new_transaction("m")
            await c1.send({"janus": "message", "session_id": s, "handle_id": h,
                           "transaction": tr, "body": BODY})
            ev = await c2.wait_for(lambda m: m.get("transaction") == tr and m.get("janus") == "event",
                                   what="the event on the claiming socket")
            server.check_echo_event(ev["plugindata"], BODY)
            assert await _no_event_for(c1, tr), c1.received

            # A message sent on socket 2 too.
            _, ev = await c2.message(s, h, BODY)
            assert await _no_event_for(c1, ev["transaction"]), c1.received
    run(body())


def test_after_claim_replies_go_to_the_requesting_socket(server):
    # Events follow the session's owner, but the direct answer to a request
    # (ack, success, error) goes back on the socket that sent it, as in Janus:
    # janus.js on socket 1 waits there for the transaction it sent.
    async def body():
        async with JanusWS(server.ws_url) as c1, JanusWS(server.ws_url) as c2:
            s = await c1.create_session()
            h = await c1.attach(s, server.echo_plugin)
            r = await c2.request({"janus": "claim", "session_id": s})
            assert r["janus"] == "success", r

            tr = new_transaction("m")
            await c1.send({"janus": "message", "session_id": s, "handle_id": h,
                           "transaction": tr, "body": BODY})
            await c2.wait_for(lambda m: m.get("transaction") == tr and m.get("janus") == "event",
                              what="the event on the claiming socket")
            r = await c1.wait_for(lambda m: m.get("transaction") == tr,
                                  what="the ack on the requesting socket")
            assert r["janus"] == "ack", r

            r = await c1.request({"janus": "keepalive", "session_id": s}, skip_ack=False)
            assert r["janus"] == "ack", r
            r = await c1.request({"janus": "detach", "session_id": s, "handle_id": h})
            assert r["janus"] == "success", r
            # ... while the "detached" event goes to the owner.
            det = await c2.wait_for(lambda m: m.get("janus") == "detached")
            assert det["sender"] == h, det
    run(body())


def test_claim_unknown_session_is_458(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            r = await c.request({"janus": "claim", "session_id": 424242})
            assert error_code(r) == 458, r
    run(body())


async def _admin(srv, req, secret=SECRET):
    async with JanusWS(srv.admin_url, "janus-admin-protocol") as a:
        if secret is not None:
            req = dict(req, admin_secret=secret)
        return await a.request(req)


async def _list_sessions(srv):
    r = await _admin(srv, {"janus": "list_sessions"})
    assert r["janus"] == "success", r
    return r["sessions"]


def test_session_survives_socket_close_until_reclaim_timeout(start_server):
    srv = start_server({"general.reclaim_timeout": 5, "general.admin_secret": SECRET})

    async def body():
        c1 = await JanusWS(srv.ws_url).connect()
        s = await c1.create_session()
        h = await c1.attach(s, srv.echo_plugin)
        await c1.close()

        # Within the reclaim window the session can be claimed, handles intact.
        async with JanusWS(srv.ws_url) as c2:
            r = await c2.request({"janus": "claim", "session_id": s})
            assert r["janus"] == "success", r
            _, ev = await c2.message(s, h, BODY)
            srv.check_echo_event(ev["plugindata"], BODY)
            assert s in await _list_sessions(srv)
        # Closed again and not claimed: gone once the reclaim timeout passes.
        loop = asyncio.get_running_loop()
        end = loop.time() + 40
        while s in await _list_sessions(srv):
            assert loop.time() < end, "session %d still listed 40 s after its socket closed" % s
            await asyncio.sleep(0.5)
    run(body())


# --------------------------------------------------------------------------
# Admin API
# --------------------------------------------------------------------------

def test_admin_requires_the_secret(start_server):
    srv = start_server({"general.admin_secret": SECRET})

    async def body():
        r = await _admin(srv, {"janus": "list_sessions"}, secret=None)
        assert error_code(r) == 403, r
        r = await _admin(srv, {"janus": "list_sessions"}, secret="wrong")
        assert error_code(r) == 403, r
        r = await _admin(srv, {"janus": "get_status"}, secret=None)
        assert error_code(r) == 403, r
        r = await _admin(srv, {"janus": "get_status"})
        assert r["janus"] == "success" and isinstance(r.get("status"), dict), r
    run(body())


def test_admin_lists_reflect_sessions_and_handles(start_server):
    srv = start_server({"general.admin_secret": SECRET})

    async def body():
        assert await _list_sessions(srv) == []
        async with JanusWS(srv.ws_url) as c:
            s1 = await c.create_session()
            s2 = await c.create_session()
            h1 = await c.attach(s1, srv.echo_plugin)
            assert sorted(await _list_sessions(srv)) == sorted([s1, s2])

            r = await _admin(srv, {"janus": "list_handles", "session_id": s1})
            assert r["janus"] == "success" and r["handles"] == [h1], r
            r = await _admin(srv, {"janus": "list_handles", "session_id": s2})
            assert r["janus"] == "success" and r["handles"] == [], r
            r = await _admin(srv, {"janus": "list_handles", "session_id": 31337})
            assert error_code(r) == 458, r

            r = await _admin(srv, {"janus": "handle_info", "session_id": s1, "handle_id": h1})
            assert r["janus"] == "success", r
            assert r["session_id"] == s1 and r["handle_id"] == h1, r
            assert r["info"]["plugin"] == srv.echo_plugin, r
            r = await _admin(srv, {"janus": "handle_info", "session_id": s1, "handle_id": 31337})
            assert error_code(r) == 459, r

            r = await c.request({"janus": "detach", "session_id": s1, "handle_id": h1})
            assert r["janus"] == "success", r
            r = await _admin(srv, {"janus": "list_handles", "session_id": s1})
            assert r["handles"] == [], r
            r = await c.request({"janus": "destroy", "session_id": s2})
            assert r["janus"] == "success", r
            assert await _list_sessions(srv) == [s1]
    run(body())


def test_admin_requests_are_not_served_on_the_api_socket(start_server):
    srv = start_server({"general.admin_secret": SECRET})

    async def body():
        async with JanusWS(srv.ws_url) as c:
            r = await c.request({"janus": "list_sessions", "admin_secret": SECRET})
            assert r["janus"] == "error" and "sessions" not in r, r
    run(body())


# --------------------------------------------------------------------------
# api_secret
# --------------------------------------------------------------------------

def test_api_secret_is_enforced(start_server):
    srv = start_server({"general.api_secret": SECRET})

    async def body():
        async with JanusWS(srv.ws_url) as c:
            r = await c.request({"janus": "create"})
            assert error_code(r) == 403, r
            r = await c.request({"janus": "create", "apisecret": "wrong"})
            assert error_code(r) == 403, r
            r = await c.request({"janus": "create", "apisecret": SECRET})
            assert r["janus"] == "success", r
            s = r["data"]["id"]
            r = await c.request({"janus": "attach", "session_id": s, "plugin": srv.echo_plugin})
            assert error_code(r) == 403, r
            r = await c.request({"janus": "attach", "session_id": s, "plugin": srv.echo_plugin,
                                 "apisecret": SECRET})
            assert r["janus"] == "success", r
            r = await c.request({"janus": "keepalive", "session_id": s})
            assert error_code(r) == 403, r
    run(body())


# --------------------------------------------------------------------------
# HTTP server (Chorus only: Janus's HTTP transport is its REST API)
# --------------------------------------------------------------------------

def _http_get(srv, path):
    conn = http.client.HTTPConnection("127.0.0.1", srv.http_port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def _raw_http(port, target_path):
    """Send a request line exactly as given (no client-side path normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % target_path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > 1 << 20:
                break
    return data


def test_http_serves_the_source_tree_index(chorus_only, server):
    with open(os.path.join(SRC_ROOT, "html", "index.html"), "rb") as f:
        expected = f.read()
    status, headers, body = _http_get(server, "/")
    assert status == 200
    assert body == expected
    assert headers.get("content-type", "").startswith("text/html"), headers
    status, _, body = _http_get(server, "/index.html")
    assert status == 200 and body == expected


def test_defaults_serve_index_on_port_8088(chorus_only, start_server):
    # What the README promises: Chorus with no options at all listens on its
    # default ports and http://localhost:8088/ is html/index.html.
    from chorus_server import Server, port_open
    busy = [p for p in Server.DEFAULT_PORTS if port_open(p)]
    if busy:
        pytest.skip("default ports in use on this machine: %s" % busy)
    srv = start_server(default_ports=True)
    with open(os.path.join(SRC_ROOT, "html", "index.html"), "rb") as f:
        expected = f.read()
    conn = http.client.HTTPConnection("localhost", 8088, timeout=15)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.read() == expected
    finally:
        conn.close()

    async def body():
        async with JanusWS("ws://localhost:8188/") as c:
            s = await c.create_session()
            await c.attach(s, srv.echo_plugin)
    run(body())


def test_http_health_is_json(chorus_only, server):
    status, headers, body = _http_get(server, "/health")
    assert status == 200
    assert "json" in headers.get("content-type", ""), headers
    assert isinstance(json.loads(body), dict)


def test_http_missing_file_is_404(chorus_only, server):
    status, _, _ = _http_get(server, "/no-such-file-%d.html" % os.getpid())
    assert status == 404


def test_http_html_folder_and_no_traversal(chorus_only, start_server, tmp_path):
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text("<html><body>folder-index-marker</body></html>\n")
    (html / "page.html").write_text("<p>page-marker</p>\n")
    secret = "TOP-SECRET-%d" % os.getpid()
    (tmp_path / "secret.txt").write_text(secret)
    srv = start_server({"transport.html_folder": str(html)})

    status, _, body = _http_get(srv, "/")
    assert status == 200 and b"folder-index-marker" in body
    status, _, body = _http_get(srv, "/page.html")
    assert status == 200 and b"page-marker" in body
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
                 "/html/../../secret.txt", "//../secret.txt", "/./../secret.txt",
                 "/..\\secret.txt", "/%252e%252e/secret.txt"):
        raw = _raw_http(srv.http_port, path)
        assert secret.encode() not in raw, "traversal served %s: %r" % (path, raw[:200])
    for path in ("/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd"):
        raw = _raw_http(srv.http_port, path)
        assert b"root:x:0:0" not in raw, "traversal served %s" % path


# --------------------------------------------------------------------------
# Configuration checking (Chorus only)
# --------------------------------------------------------------------------

def _check_config(tmp_path, text):
    path = tmp_path / "chorus.conf"
    path.write_text(text)
    p = subprocess.run([chorus_binary(), "-c", str(path), "--check-config"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert sanitizer_report(out) is None, out
    return p.returncode, out, str(path)


def test_check_config_bad_value_exits_2_naming_file_and_key(chorus_only, tmp_path):
    code, out, path = _check_config(tmp_path, "[general]\nsession_timeout = soon\n")
    assert code == 2, out
    assert "session_timeout" in out and path in out, out


def test_check_config_unknown_key_exits_2_naming_it(chorus_only, tmp_path):
    code, out, path = _check_config(tmp_path, "[general]\nno_such_option_xyz = 1\n")
    assert code == 2, out
    assert "no_such_option_xyz" in out and path in out, out


def test_check_config_good_file_exits_0(chorus_only, tmp_path):
    code, out, _ = _check_config(tmp_path, "[general]\nsession_timeout = 30\n")
    assert code == 0, out


def test_bad_set_option_refuses_to_start(chorus_only):
    p = subprocess.run([chorus_binary(), "--set", "general.session_timeout=-5", "--check-config"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    out = (p.stdout + p.stderr).decode(errors="replace")
    assert p.returncode == 2, out
    assert "session_timeout" in out, out


# --------------------------------------------------------------------------
# Shutdown
# --------------------------------------------------------------------------

def test_sigterm_with_a_live_session(server):
    async def body():
        async with JanusWS(server.ws_url) as c:
            s = await c.create_session()
            h = await c.attach(s, server.echo_plugin)
            server.signal(signal.SIGTERM)
            await c.wait_closed(timeout=30)
            if server.kind == "chorus":
                # Chorus tells the client its handle is gone before closing.
                # (Janus 1.1.2 just closes the socket.)
                assert any(m.get("janus") in ("detached", "hangup") and m.get("sender") == h
                           for m in c.received), c.received
    run(body())
    code = server.wait_exit(10)
    assert code == 0, "exit code %s after SIGTERM" % code
