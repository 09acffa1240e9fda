"""Abuse: malformed and hostile requests, the per-connection rate limit, and SIGTERM
during live calls.

  - test_flood_of_malformed_requests_beside_a_live_call: 1,000 malformed requests
    (bad JSON, binary frames, wrong types, strings near max_message_size, unknown
    ids, trickle before any offer, garbage SDP, unknown plugins, voice requests with
    wrong types) on four WebSockets at once; every one is answered with the error it
    deserves (counted per code), while an aiortc echo call beside it keeps getting
    its tone back during and after the flood.
  - test_rate_limit_refuses_with_490: a socket over [limits] requests_per_second gets
    error 490 "rate limit exceeded (N requests/s)" (request not processed), other
    sockets are unaffected, and the bucket refills.
  - test_sigterm_hangs_up_live_calls: SIGTERM with live WebRTC calls: every client
    gets "hangup" and "detached" for its handle, then the socket closes; exit 0.
    (test_api.py covers SIGTERM with a session and handle but no PeerConnection.)

The flood runs on its own thread and event loop, so the call's media (aiortc on the
main loop) is not starved by the test's own sending.
"""

import asyncio
import json
import signal
import threading
import time

import pytest

pytest.importorskip("aiortc", reason="needs python3-aiortc: run with /usr/bin/python3")
pytest.importorskip("numpy")

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

from janus_client import JanusWS, error_code, run  # noqa: E402
from webrtc_peer import AudioAnalyser, SineTrack, make_reachable  # noqa: E402

ADMIN_SECRET = "abuse-tests-admin"
VOICE = "chorus.plugin.voice"
TONE = 440.0
CONNECT_WAIT = 20.0
FLOOD = 1000
SOCKETS = 4
NEAR_MAX = 250000  # characters of a "huge" member: the message stays under 256 KiB


# --------------------------------------------------------------------------
# An echo call (also used by test_soak.py)
# --------------------------------------------------------------------------

class EchoPeer:
    """One WebSocket + session + echo handle + aiortc PeerConnection sending a tone."""

    def __init__(self, srv, freq=TONE):
        self.srv = srv
        self.freq = freq
        self.ws = self.pc = self.audio = None
        self.session = self.handle = None

    async def start(self):
        make_reachable()
        self.ws = await JanusWS(self.srv.ws_url).connect()
        self.session = await self.ws.create_session()
        self.handle = await self.ws.attach(self.session, self.srv.echo_plugin)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(SineTrack(self.freq))

        @self.pc.on("track")
        def on_track(track):
            if track.kind == "audio" and self.audio is None:
                self.audio = AudioAnalyser(track)

        await self.pc.setLocalDescription(await self.pc.createOffer())
        _, ev = await self.ws.message(self.session, self.handle, {"audio": True},
                                      jsep={"type": "offer", "sdp": self.pc.localDescription.sdp})
        jsep = ev.get("jsep") or {}
        assert jsep.get("type") == "answer", ev
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        return self

    @property
    def frames(self):
        return self.audio.frames if self.audio is not None else 0

    async def wait_frames(self, n, timeout=CONNECT_WAIT):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.frames < n:
            if loop.time() > deadline:
                raise AssertionError("only %d echoed audio frames within %.0f s (wanted %d); "
                                     "pc %s; server log %s"
                                     % (self.frames, timeout, n, self.pc.connectionState,
                                        self.srv.stderr_path))
            await asyncio.sleep(0.02)

    def events(self, kind):
        return [m for m in self.ws.received
                if m.get("janus") == kind and m.get("sender") == self.handle]

    async def close(self, how="destroy"):
        """how: "destroy" the session, "detach" the handle then destroy, or "drop"
        (close the WebSocket and PeerConnection without a word)."""
        try:
            if how in ("detach", "destroy") and self.ws is not None and not self.ws.closed:
                if how == "detach":
                    r = await self.ws.request({"janus": "detach", "session_id": self.session,
                                               "handle_id": self.handle})
                    assert r["janus"] == "success", r
                r = await self.ws.request({"janus": "destroy", "session_id": self.session})
                assert r["janus"] == "success", r
        finally:
            if self.audio is not None:
                await self.audio.stop()
            if self.pc is not None:
                try:
                    await asyncio.wait_for(self.pc.close(), 10)
                except asyncio.TimeoutError:
                    pass
            if self.ws is not None:
                await self.ws.close()


async def admin(srv, req):
    async with JanusWS(srv.admin_url, "janus-admin-protocol") as a:
        return await a.request(dict(req, admin_secret=ADMIN_SECRET))


# --------------------------------------------------------------------------
# The malformed requests
# --------------------------------------------------------------------------

# What a request must get back:
#   ("error", codes)       a Janus error echoing its transaction
#   ("error-notr", codes)  a Janus error without a transaction (it had no usable one)
#   ("voice", codes)       a voice plugin error (success + {"voice":"error"})
#   ("ack", None)          "ack" (a well-formed trickle before any offer is kept)
def templates(t):
    """t: ids of the flood's targets. Each template: fn(tr) -> (payload, expected)."""
    S, E, V, CS, CH = t["session"], t["echo"], t["voice"], t["call_session"], t["call_handle"]
    big = "x" * NEAR_MAX
    gone = 4503599627370000  # an id no session has

    def j(msg, expect):
        return lambda tr: (json.dumps(dict(msg, transaction=tr)), expect)

    def raw(text, expect):
        return lambda tr: (text, expect)

    def msg(session, handle, body, jsep=None, expect=None):
        m = {"janus": "message", "session_id": session, "handle_id": handle}
        if body is not None:
            m["body"] = body
        if jsep is not None:
            m["jsep"] = jsep
        return j(m, expect)

    def voice(body, codes):
        return msg(S, V, body, expect=("voice", codes))

    garbage_sdp = "v=0\r\no=garbage\r\nm=audio banana RTP/AVP x\r\n"
    return [
        # bad JSON, binary frames, not objects
        raw("{", ("error-notr", {454})),
        raw('{"janus": "create", "transaction": ', ("error-notr", {454})),
        raw("not json at all", ("error-notr", {454})),
        raw('{"janus":"ping","transaction":"a"}}', ("error-notr", {454})),
        raw("\u0000", ("error-notr", {454})),
        raw("[" * 5000, ("error-notr", {454})),
        lambda tr: (b"\xff\xfe\x00garbage\xc3\x28", ("error-notr", {454})),
        raw("[1, 2, 3]", ("error-notr", {455})),
        raw('"a string"', ("error-notr", {454})),  # jansson takes objects and arrays only
        raw("42", ("error-notr", {454})),
        raw("null", ("error-notr", {454})),
        raw('{"janus": "ping", "transaction": "x"', ("error-notr", {454})),
        # the envelope: wrong or missing members, wrong paths
        raw('{"janus": "ping"}', ("error-notr", {456})),
        raw('{"janus": "ping", "transaction": 5}', ("error-notr", {467})),
        j({}, ("error", {452})),
        j({"janus": 5}, ("error", {467})),
        j({"janus": "fly"}, ("error", {453})),
        j({"janus": "list_sessions"}, ("error", {453})),
        j({"janus": "keepalive", "session_id": "abc"}, ("error", {467})),
        j({"janus": "keepalive", "session_id": -5}, ("error", {467})),
        j({"janus": "keepalive", "session_id": 1.5}, ("error", {467})),
        j({"janus": "message", "handle_id": E, "body": {}}, ("error", {457})),
        j({"janus": "create", "session_id": S}, ("error", {457})),
        j({"janus": "keepalive"}, ("error", {457})),
        j({"janus": "create", "id": "seven"}, ("error", {467})),
        j({"janus": "create", "id": -7}, ("error", {467})),
        # strings near max_message_size
        j({"janus": big}, ("error", {453})),
        j({"janus": "create", "id": big}, ("error", {467})),
        j({"janus": "attach", "session_id": S, "plugin": big}, ("error", {460})),
        raw(json.dumps(big), ("error-notr", {454})),
        raw(json.dumps([big]), ("error-notr", {455})),
        msg(S, V, {"request": "join", "channel": big}, expect=("voice", {448})),
        msg(S, E, {}, {"type": "offer", "sdp": "v=0\r\n" + big}, ("error", {465})),
        # unknown ids
        j({"janus": "keepalive", "session_id": gone}, ("error", {458})),
        j({"janus": "destroy", "session_id": gone}, ("error", {458})),
        j({"janus": "claim", "session_id": gone}, ("error", {458})),
        j({"janus": "attach", "session_id": gone, "plugin": VOICE}, ("error", {458})),
        j({"janus": "detach", "session_id": S, "handle_id": gone}, ("error", {459})),
        j({"janus": "hangup", "session_id": S, "handle_id": gone}, ("error", {459})),
        msg(S, gone, {}, expect=("error", {459})),
        msg(gone, E, {}, expect=("error", {458})),
        j({"janus": "trickle", "session_id": S, "handle_id": gone,
           "candidate": {"completed": True}}, ("error", {459})),
        # trickle before any offer (kept: ack), and malformed trickles
        j({"janus": "trickle", "session_id": S, "handle_id": E,
           "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                         "sdpMid": "0"}}, ("ack", None)),
        j({"janus": "trickle", "session_id": S, "handle_id": E,
           "candidate": {"completed": True}}, ("ack", None)),
        j({"janus": "trickle", "session_id": S, "handle_id": E,
           "candidates": [{"candidate": "garbage"}, 5, "x"]}, ("ack", None)),
        j({"janus": "trickle", "session_id": S, "handle_id": E}, ("error", {456})),
        j({"janus": "trickle", "session_id": S, "handle_id": E, "candidate": "x"},
          ("error", {467})),
        j({"janus": "trickle", "session_id": S, "handle_id": E, "candidates": {}},
          ("error", {467})),
        # offers with garbage SDP, bad JSEP (also at the live call's handle)
        msg(S, E, {}, {"type": "offer", "sdp": garbage_sdp}, ("error", {465})),
        msg(S, E, {}, {"type": "offer", "sdp": ""}, ("error", {465})),
        msg(S, E, {}, {"type": "offer"}, ("error", {465})),
        msg(S, E, {}, {"type": "pranswer", "sdp": "v=0"}, ("error", {464})),
        msg(S, E, {}, {"type": 5, "sdp": "v=0"}, ("error", {456})),
        msg(S, E, {}, "offer", ("error", {467})),
        msg(S, E, {}, {"type": "answer", "sdp": garbage_sdp}, ("error", {469})),
        msg(CS, CH, {"audio": True}, {"type": "offer", "sdp": garbage_sdp}, ("error", {465})),
        msg(CS, CH, "audio", expect=("error", {467})),
        j({"janus": "trickle", "session_id": CS, "handle_id": CH, "candidate": 7},
          ("error", {467})),
        # message bodies of the wrong type
        msg(S, E, None, expect=("error", {456})),
        msg(S, E, "body", expect=("error", {467})),
        msg(S, E, [1, 2], expect=("error", {467})),
        # unknown plugins
        j({"janus": "attach", "session_id": S, "plugin": "no.such.plugin"}, ("error", {460})),
        j({"janus": "attach", "session_id": S, "plugin": 5}, ("error", {467})),
        j({"janus": "attach", "session_id": S}, ("error", {456})),
        # voice requests with wrong types or in the wrong state
        voice({}, {440}),
        voice({"request": 5}, {440}),
        voice({"request": "fly"}, {451}),
        voice({"request": "join", "channel": 5}, {440}),
        voice({"request": "join", "channel": "lobby", "display": 5}, {440}),
        voice({"request": "join", "channel": "lobby", "pin": []}, {440}),
        voice({"request": "join", "channel": "lobby"}, {448}),
        voice({"request": "configure", "muted": "yes"}, {440}),
        voice({"request": "configure", "deafened": 1}, {440}),
        voice({"request": "configure", "muted": True}, {446}),
        voice({"request": "switch", "channel": ["lobby"]}, {440}),
        voice({"request": "switch", "channel": "lobby"}, {446}),
        voice({"request": "leave"}, {446}),
        voice({"request": "exists"}, {440}),
        voice({"request": "exists", "channel": {"a": 1}}, {440}),
        voice({"request": "participants", "channel": "no-such-channel"}, {441}),
        voice({"request": "create", "channel": 5}, {440}),
        voice({"request": "create", "channel": "c", "max_participants": "many"}, {440}),
        voice({"request": "create", "channel": "c", "secret": 5}, {440}),
        voice({"request": "destroy"}, {440}),
        voice({"request": "destroy", "channel": "no-such-channel"}, {441}),
        voice({"request": "kick", "channel": "lobby", "id": "abc"}, {440}),
        voice({"request": "kick", "channel": "no-such-channel", "id": 1}, {441}),
        voice({"request": "moderate", "channel": "lobby", "id": 1, "muted": "x"}, {440}),
    ]


def build_flood(targets, n=FLOOD, sockets=SOCKETS):
    """n (payload, expected, transaction) spread over sockets, every template used."""
    tpl = templates(targets)
    per_socket = [[] for _ in range(sockets)]
    for i in range(n):
        tr = "abuse-%d" % i
        payload, expect = tpl[i % len(tpl)](tr)
        per_socket[i % sockets].append((payload, expect, tr))
    return per_socket, len(tpl)


def reply_ok(reply, expect):
    kind, codes = expect
    if kind == "ack":
        return reply.get("janus") == "ack"
    if kind == "voice":
        data = (reply.get("plugindata") or {}).get("data") or {}
        return (reply.get("janus") == "success" and data.get("voice") == "error"
                and data.get("error_code") in codes)
    return reply.get("janus") == "error" and reply["error"]["code"] in codes


async def flood_socket(url, items, timeout=120):
    """Sends every item at once, then waits for every answer. Returns
    (answers by transaction, transaction-less errors, problems)."""
    ws = await JanusWS(url).connect()
    try:
        for payload, _, _ in items:
            await ws.send_raw(payload)
        want_tr = {tr: expect for _, expect, tr in items if expect[0] != "error-notr"}
        want_notr = [expect for _, expect, _ in items if expect[0] == "error-notr"]

        def answered():
            got = {}
            notr = []
            for m in ws.received:
                tr = m.get("transaction")
                if tr in want_tr and (m.get("janus") != "ack" or want_tr[tr][0] == "ack"):
                    got.setdefault(tr, m)
                elif "transaction" not in m and m.get("janus") == "error":
                    notr.append(m)
            return got, notr

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got, notr = answered()
            if len(got) == len(want_tr) and len(notr) >= len(want_notr):
                break
            if ws.closed or loop.time() > deadline:
                missing = [tr for tr in want_tr if tr not in got][:10]
                raise AssertionError("socket %s: %d/%d answers, %d/%d transaction-less errors "
                                     "(closed: %s); missing e.g. %s"
                                     % (url, len(got), len(want_tr), len(notr),
                                        len(want_notr), ws.closed, missing))
            await asyncio.sleep(0.05)
        problems = []
        for payload, expect, tr in items:
            if expect[0] != "error-notr" and not reply_ok(got[tr], expect):
                problems.append("%s: expected %s, got %s (request %s)"
                                % (tr, expect, json.dumps(got[tr])[:300], str(payload)[:200]))
        notr_codes = sorted(m["error"]["code"] for m in notr)
        want_codes = sorted(c for _, codes in want_notr for c in codes)
        if notr_codes != want_codes:
            problems.append("transaction-less errors %s, expected %s" % (notr_codes, want_codes))
        return got, notr, problems
    finally:
        await ws.close()


def run_flood_thread(url, per_socket, result):
    async def all_sockets():
        return await asyncio.gather(*(flood_socket(url, items) for items in per_socket))

    try:
        result["started"] = time.monotonic()
        result["sockets"] = asyncio.run(all_sockets())
    except BaseException as e:  # reported by the test
        result["error"] = e
    finally:
        result["ended"] = time.monotonic()


def tally(per_socket, outcomes):
    counts = {}
    for (got, notr, _), items in zip(outcomes, per_socket):
        for _, expect, tr in items:
            if expect[0] == "error-notr":
                continue
            r = got[tr]
            if r.get("janus") == "error":
                key = "janus %d" % r["error"]["code"]
            elif r.get("janus") == "ack":
                key = "ack"
            else:
                key = "voice %s" % ((r.get("plugindata") or {}).get("data") or {}).get("error_code")
            counts[key] = counts.get(key, 0) + 1
        for m in notr:
            key = "janus %d (no transaction)" % m["error"]["code"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_flood_of_malformed_requests_beside_a_live_call(start_server):
    srv = start_server({"general.admin_secret": ADMIN_SECRET, "limits.requests_per_second": 0})
    report = {}

    async def body():
        call = EchoPeer(srv)
        try:
            await call.start()
            await call.wait_frames(50)
            async with JanusWS(srv.ws_url) as c:
                s = await c.create_session()
                targets = {"session": s, "echo": await c.attach(s, srv.echo_plugin),
                           "voice": await c.attach(s, VOICE), "call_session": call.session,
                           "call_handle": call.handle}
                per_socket, n_templates = build_flood(targets)
                result = {}
                before = call.frames
                flood = threading.Thread(target=run_flood_thread,
                                         args=(srv.ws_url, per_socket, result), daemon=True)
                flood.start()
                samples = []
                while flood.is_alive():
                    samples.append(call.frames)
                    await asyncio.sleep(0.25)
                flood.join()
                during = call.frames
                if "error" in result:
                    raise result["error"]
                outcomes = result["sockets"]
                problems = [p for _, _, ps in outcomes for p in ps]
                counts = tally(per_socket, outcomes)
                total = sum(counts.values())
                await asyncio.sleep(2.0)
                after = call.frames
                report.update(requests=FLOOD, templates=n_templates, answered=total,
                              by_code=dict(sorted(counts.items())),
                              flood_seconds=round(result["ended"] - result["started"], 2),
                              frames_before=before, frames_at_end=during, frames_2s_after=after,
                              frame_samples=samples)
                print("flood: %s" % json.dumps(report, indent=1))
                assert not problems, "%d wrong answers, e.g.:\n%s" % (
                    len(problems), "\n".join(problems[:20]))
                assert total == FLOOD, "%d answers to %d requests" % (total, FLOOD)
                assert during > before, "no echoed audio during the flood: %s" % report
                assert after >= during + 50, "echoed audio stalled after the flood: %s" % report
                freq, share = call.audio.dominant_frequency(0.5)
                assert abs(freq - TONE) <= 15, "echoed tone %.1f Hz after the flood" % freq
                # The server is intact: a fresh socket works, the victims are still there.
                r = await c.request({"janus": "ping"})
                assert r["janus"] == "pong", r
                r = await admin(srv, {"janus": "list_handles", "session_id": s})
                assert sorted(r["handles"]) == sorted([targets["echo"], targets["voice"]]), r
                assert not call.events("hangup"), call.events("hangup")
        finally:
            await call.close()
    run(body(), timeout=240)


# --------------------------------------------------------------------------
# Rate limit
# --------------------------------------------------------------------------

def test_rate_limit_refuses_with_490(start_server):
    rate = 20
    srv = start_server({"limits.requests_per_second": rate, "general.admin_secret": ADMIN_SECRET})
    n = 200

    async def burst(ws, prefix, req, count):
        for i in range(count):
            await ws.send(dict(req, transaction="%s-%d" % (prefix, i)))
        await ws.wait_for(lambda m: m.get("transaction") == "%s-%d" % (prefix, count - 1))
        return [m for m in ws.received if str(m.get("transaction", "")).startswith(prefix + "-")]

    async def body():
        async with JanusWS(srv.ws_url) as a, JanusWS(srv.ws_url) as b:
            t0 = time.monotonic()
            replies = await burst(a, "rl", {"janus": "ping"}, n)
            elapsed = time.monotonic() - t0
            pongs = [m for m in replies if m.get("janus") == "pong"]
            limited = [m for m in replies if m.get("janus") == "error"]
            print("%d pings in %.2f s at %d/s (burst %d): %d pong, %d refused; e.g. %s"
                  % (n, elapsed, rate, 2 * rate, len(pongs), len(limited),
                     limited[0] if limited else None))
            assert len(replies) == n, "%d replies to %d pings" % (len(replies), n)
            assert all(error_code(m) == 490 for m in limited), limited[:3]
            assert all(m["error"]["reason"] == "rate limit exceeded (%d requests/s)" % rate
                       for m in limited), limited[:3]
            # The burst passes, then about `rate` per second.
            assert 2 * rate <= len(pongs) <= 2 * rate + rate * elapsed + 2, len(pongs)
            # A refused request is not processed: refused creates make no session.
            creates = await burst(a, "rc", {"janus": "create"}, 50)
            made = [m for m in creates if m.get("janus") == "success"]
            refused = [m for m in creates if m.get("janus") == "error"]
            assert len(made) + len(refused) == 50 and refused, creates[:3]
            assert all(error_code(m) == 490 for m in refused), refused[:3]
            r = await admin(srv, {"janus": "list_sessions"})
            assert len(r["sessions"]) == len(made), (r, len(made))
            print("50 creates right after: %d made, %d refused; sessions %d"
                  % (len(made), len(refused), len(r["sessions"])))
            # Another socket has its own bucket.
            r = await b.request({"janus": "ping"})
            assert r["janus"] == "pong", r
            # The bucket refills.
            await asyncio.sleep(1.0)
            r = await a.request({"janus": "ping"})
            assert r["janus"] == "pong", r
    run(body())


def test_rate_limit_off(start_server):
    srv = start_server({"limits.requests_per_second": 0})

    async def body():
        async with JanusWS(srv.ws_url) as a:
            for i in range(300):
                await a.send({"janus": "ping", "transaction": "free-%d" % i})
            await a.wait_for(lambda m: m.get("transaction") == "free-299")
            assert all(m.get("janus") == "pong" for m in a.received), [
                m for m in a.received if m.get("janus") != "pong"][:3]
    run(body())


# --------------------------------------------------------------------------
# SIGTERM during live calls
# --------------------------------------------------------------------------

def test_sigterm_hangs_up_live_calls(start_server):
    from voice_peer import Participant
    srv = start_server({"general.admin_secret": ADMIN_SECRET})
    calls = [EchoPeer(srv, freq=f) for f in (440.0, 660.0, 880.0)]
    talker = Participant(srv, "talker", slots=1, keepalive=0)

    async def body():
        try:
            await asyncio.gather(*(c.start() for c in calls))
            await talker.open()
            msg, data = await talker.request({"request": "create", "channel": "sigterm"})
            assert data.get("voice") == "created", msg
            msg, data = await talker.join("sigterm")
            assert data.get("voice") == "joined", msg
            await talker.wait_connected(CONNECT_WAIT)
            await asyncio.gather(*(c.wait_frames(25) for c in calls))
            srv.signal(signal.SIGTERM)
            for ws in [c.ws for c in calls] + [talker.ws]:
                await ws.wait_closed(timeout=30)
            for name, ws, handle in [("echo %d" % c.freq, c.ws, c.handle) for c in calls] + [
                    ("voice", talker.ws, talker.handle)]:
                kinds = [m.get("janus") for m in ws.received if m.get("sender") == handle]
                print("%s: events for its handle %s" % (name, kinds[-4:]))
                assert "hangup" in kinds, "%s: no hangup for a live call: %s" % (name, kinds)
                assert "detached" in kinds, "%s: no detached for a live call: %s" % (name, kinds)
                assert kinds.index("hangup") < kinds.index("detached"), (
                    "%s: hangup should come before detached: %s" % (name, kinds))
        finally:
            for c in calls:
                await c.close(how="drop")
            await talker.close(destroy=False)
    run(body(), timeout=120)
    code = srv.wait_exit(15)
    assert code == 0, "exit code %s after SIGTERM with live calls" % code
