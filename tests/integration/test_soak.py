"""Soak: many sessions come and go; nothing may be left behind.

  1. 1,000 API cycles on chorus.plugin.voice without media: create, attach, join
     with a minimal valid SDP offer made here (ICE credentials, a DTLS fingerprint,
     setup:actpass, one sendonly Opus m-line for the mic and one recvonly slot; the
     server answers and starts ICE towards an address no one listens on, which is
     fine: the PeerConnection is torn down by the cycle), leave, then destroy (every
     fifth cycle detaches the handle first, every seventh also asks exists/list).
     Four WebSockets run cycles side by side.
  2. 200 full WebRTC cycles with aiortc on chorus.plugin.echo: connect, wait for the
     first echoed audio frame, then disconnect -- by destroying the session, by
     detaching the handle, or by dropping the WebSocket and the PeerConnection
     without a word (the session then goes after reclaim_timeout). Four at a time.

After a warm-up (so lazily created things are there), a baseline is taken: the
admin API's list_sessions / list_handles, the server's open fds (/proc/PID/fd) and
its RSS (/proc/PID/status). After the cycles, sessions and handles must be back at
the baseline, fds too, and RSS growth bounded (RSS_BOUND_MB; a sanitizer build gets
a larger bound, and its allocator's quarantine of freed memory is cut to 16 MB). The
figures are printed and written to tests/artifacts/soak.json.

CHORUS_SOAK_SCALE (default 1) scales the cycle counts, e.g. 0.1 for a quick run.
"""

import asyncio
import json
import os
import random
import time

import pytest

pytest.importorskip("aiortc", reason="needs python3-aiortc: run with /usr/bin/python3")
pytest.importorskip("numpy")

from chorus_server import ARTIFACTS  # noqa: E402
from janus_client import JanusWS, ProtocolError, run  # noqa: E402
from test_abuse import EchoPeer  # noqa: E402

ADMIN_SECRET = "soak-tests-admin"
VOICE = "chorus.plugin.voice"
CHANNEL = "soak"
SCALE = float(os.environ.get("CHORUS_SOAK_SCALE", "1"))
API_CYCLES = max(10, int(1000 * SCALE))
RTC_CYCLES = max(4, int(200 * SCALE))
PARALLEL = 4
RECLAIM = 2          # s: sessions of dropped sockets go this soon
RSS_BOUND_MB = 50    # growth after warm-up, normal build
RSS_BOUND_SANITIZER_MB = 60
ASAN_QUARANTINE_MB = 16
FD_TOLERANCE = 0


# --------------------------------------------------------------------------
# Measuring the server
# --------------------------------------------------------------------------

def fd_count(srv):
    return len(os.listdir("/proc/%d/fd" % srv.proc.pid))


def rss_mb(srv):
    with open("/proc/%d/status" % srv.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS in /proc/%d/status" % srv.proc.pid)


def sanitizer_build(srv):
    with open("/proc/%d/maps" % srv.proc.pid) as f:
        maps = f.read()
    return any(lib in maps for lib in ("libasan", "libtsan", "libubsan"))


async def admin(srv, req):
    async with JanusWS(srv.admin_url, "janus-admin-protocol") as a:
        r = await a.request(dict(req, admin_secret=ADMIN_SECRET))
    assert r.get("janus") == "success", r
    return r


async def census(srv):
    """{session id: [handle ids]} as the admin API sees it."""
    sessions = (await admin(srv, {"janus": "list_sessions"}))["sessions"]
    out = {}
    for s in sessions:
        try:
            out[s] = sorted((await admin(srv, {"janus": "list_handles",
                                               "session_id": s}))["handles"])
        except AssertionError:
            pass  # went away between the two requests
    return out


async def settle(srv, max_fds=None, timeout=RECLAIM + 15):
    """Polls until no session is left (and, given max_fds, the fds are down to it);
    returns (census, fds) as last seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        now = await census(srv)
        fds = fd_count(srv)
        fds_ok = max_fds is None or fds <= max_fds + FD_TOLERANCE
        if (now == {} and fds_ok) or loop.time() > deadline:
            return now, fds
        await asyncio.sleep(0.25)


def sample(srv, label, samples):
    samples.append({"at": label, "rss_mb": round(rss_mb(srv), 1), "fds": fd_count(srv)})


# --------------------------------------------------------------------------
# API cycles (voice, no media)
# --------------------------------------------------------------------------

def minimal_offer():
    """A valid offer as a browser would make it: BUNDLE, ICE credentials, a DTLS
    fingerprint, setup:actpass, rtcp-mux; m-line 0 the mic (sendonly Opus with the
    audio-level extension), m-line 1 one receive slot."""
    ufrag = "%08x" % random.getrandbits(32)
    pwd = "%032x" % random.getrandbits(128)
    fp = ":".join("%02X" % b for b in os.urandom(32))
    session = ["v=0", "o=- %d 2 IN IP4 127.0.0.1" % random.getrandbits(48), "s=-", "t=0 0",
               "a=group:BUNDLE 0 1", "a=ice-options:trickle", "a=msid-semantic: WMS"]

    def audio(mid, direction, ssrc):
        lines = ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
                 "a=ice-ufrag:" + ufrag, "a=ice-pwd:" + pwd, "a=fingerprint:sha-256 " + fp,
                 "a=setup:actpass", "a=mid:%s" % mid, "a=%s" % direction, "a=rtcp-mux",
                 "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                 "a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid",
                 "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1"]
        if ssrc:
            lines.append("a=ssrc:%d cname:soak" % ssrc)
        return lines

    lines = session + audio(0, "sendonly", random.getrandbits(31)) + audio(1, "recvonly", 0)
    return "\r\n".join(lines) + "\r\n"


async def voice(ws, s, h, body, jsep=None):
    """plugindata.data of a voice request (the event, for join)."""
    if jsep is None:
        r = await ws.request({"janus": "message", "session_id": s, "handle_id": h, "body": body})
        if r.get("janus") != "success":
            raise ProtocolError("%s: %s" % (body, r))
        return r["plugindata"]["data"]
    _, ev = await ws.message(s, h, body, jsep=jsep)
    return dict(ev["plugindata"]["data"], _jsep=ev.get("jsep"))


async def api_cycle(ws, i):
    s = await ws.create_session()
    h = await ws.attach(s, VOICE)
    data = await voice(ws, s, h, {"request": "join", "channel": CHANNEL, "display": "soak%d" % i},
                       {"type": "offer", "sdp": minimal_offer()})
    assert data.get("voice") == "joined" and data.get("_jsep"), "cycle %d join: %s" % (i, data)
    if i % 7 == 0:
        assert (await voice(ws, s, h, {"request": "exists", "channel": CHANNEL}))["exists"]
        assert (await voice(ws, s, h, {"request": "list"}))["voice"] == "list"
    data = await voice(ws, s, h, {"request": "leave"})
    assert data.get("voice") == "left", "cycle %d leave: %s" % (i, data)
    if i % 5 == 0:
        r = await ws.request({"janus": "detach", "session_id": s, "handle_id": h})
        assert r["janus"] == "success", r
    r = await ws.request({"janus": "destroy", "session_id": s})
    assert r["janus"] == "success", r


async def api_cycles(srv, count, samples=None, every=250):
    done = [0]

    async def lane(lane_no):
        async with JanusWS(srv.ws_url) as ws:
            while done[0] < count:
                i = done[0]
                done[0] += 1
                await api_cycle(ws, i)
                if samples is not None and (i + 1) % every == 0:
                    sample(srv, "api %d" % (i + 1), samples)
                # keep what the socket kept small: the cycle's messages are checked
                del ws.received[:]
    await asyncio.gather(*(lane(n) for n in range(PARALLEL)))


# --------------------------------------------------------------------------
# WebRTC cycles (echo, aiortc)
# --------------------------------------------------------------------------

HOW = ("destroy", "detach", "drop")


async def rtc_cycle(srv, i):
    call = EchoPeer(srv, freq=300.0 + (i % 10) * 60)
    try:
        await call.start()
        await call.wait_frames(1)
    finally:
        await call.close(how=HOW[i % len(HOW)])


async def rtc_cycles(srv, count, samples=None, every=50):
    done = [0]

    async def lane():
        while done[0] < count:
            i = done[0]
            done[0] += 1
            await rtc_cycle(srv, i)
            if samples is not None and (i + 1) % every == 0:
                sample(srv, "webrtc %d" % (i + 1), samples)
    await asyncio.gather(*(lane() for _ in range(PARALLEL)))


# --------------------------------------------------------------------------
# The soak
# --------------------------------------------------------------------------

def test_soak_sessions_handles_fds_rss_return_to_baseline(start_server, chorus_only,
                                                          monkeypatch):
    # A sanitizer build keeps freed memory in quarantine (256 MB by default), which
    # would hide the figure that matters: keep the quarantine small for this server.
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    monkeypatch.setenv("ASAN_OPTIONS", asan + ":quarantine_size_mb=%d" % ASAN_QUARANTINE_MB)
    srv = start_server({"general.admin_secret": ADMIN_SECRET, "limits.requests_per_second": 0,
                        "general.reclaim_timeout": RECLAIM})
    report = {"api_cycles": API_CYCLES, "webrtc_cycles": RTC_CYCLES, "samples": []}
    samples = report["samples"]

    async def body():
        async with JanusWS(srv.ws_url) as ws:
            s = await ws.create_session()
            h = await ws.attach(s, VOICE)
            data = await voice(ws, s, h, {"request": "create", "channel": CHANNEL})
            assert data.get("voice") == "created", data
            await ws.request({"janus": "destroy", "session_id": s})
        t0 = time.monotonic()
        await api_cycles(srv, 40)
        await rtc_cycles(srv, 8)
        left, _ = await settle(srv)
        assert left == {}, "sessions left after the warm-up: %s" % left
        await asyncio.sleep(0.5)
        base_fds, base_rss = fd_count(srv), rss_mb(srv)
        sample(srv, "baseline", samples)
        report["warmup_s"] = round(time.monotonic() - t0, 1)

        t1 = time.monotonic()
        await api_cycles(srv, API_CYCLES, samples)
        report["api_s"] = round(time.monotonic() - t1, 1)
        sample(srv, "after api", samples)
        t2 = time.monotonic()
        await rtc_cycles(srv, RTC_CYCLES, samples)
        report["webrtc_s"] = round(time.monotonic() - t2, 1)
        sample(srv, "after webrtc", samples)

        left, fds = await settle(srv, base_fds)
        await asyncio.sleep(0.5)
        sample(srv, "settled", samples)
        rss = rss_mb(srv)
        sanitizer = sanitizer_build(srv)
        bound = RSS_BOUND_SANITIZER_MB if sanitizer else RSS_BOUND_MB
        report.update(baseline_fds=base_fds, final_fds=fd_count(srv),
                      baseline_rss_mb=round(base_rss, 1), final_rss_mb=round(rss, 1),
                      rss_growth_mb=round(rss - base_rss, 1), rss_bound_mb=bound,
                      sanitizer_build=sanitizer, sessions_left=left)
        print("soak: %s" % json.dumps(report, indent=1))
        os.makedirs(ARTIFACTS, exist_ok=True)
        with open(os.path.join(ARTIFACTS, "soak.json"), "w") as f:
            json.dump(report, f, indent=1)
        assert left == {}, "sessions (and their handles) left behind: %s" % left
        assert fds <= base_fds + FD_TOLERANCE, (
            "%d open fds after the soak, %d at the baseline: %s" % (fds, base_fds, report))
        assert rss - base_rss < bound, "RSS grew %.1f MB (bound %d MB): %s" % (
            rss - base_rss, bound, report)
    run(body(), timeout=900)
