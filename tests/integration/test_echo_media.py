"""Real WebRTC media through the echo plugin, with aiortc (Debian's python3-aiortc,
run under /usr/bin/python3) as the peer no one here wrote.

Each test starts its own server (see conftest.py), opens one PeerConnection to
`chorus.plugin.echo` (or `janus.plugin.echotest` with CHORUS_TARGET=janus, to
check the tests against the reference) and checks what comes back: a sine
tone's frequency, decoded video frames, data-channel messages, the events
and the admin API's view of the PeerConnection.

aiortc's offer is non-trickle (every candidate in the SDP). aioice never
offers 127.0.0.1, so the peer uses the machine's own non-loopback address and
the server's host candidate on it (see webrtc_peer.make_reachable).

All waits are bounded; the few durations below are upper bounds on waits or
amounts of media to collect, never pass/fail thresholds on speed.
"""

import asyncio
import json
import os

import pytest

aiortc = pytest.importorskip("aiortc", reason="needs python3-aiortc: run with /usr/bin/python3")
pytest.importorskip("numpy")

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

from janus_client import JanusWS, ProtocolError, run  # noqa: E402
from webrtc_peer import (  # noqa: E402
    AudioAnalyser, DataEcho, PatternTrack, SineTrack, VideoCounter, alter_fingerprint,
    candidates, fingerprints, make_reachable, sctp_sdp_to_rfc8841)

SECRET = "echo-media-admin"
BODY = {"audio": True, "video": True, "data": True}
TONE = 440.0
CONNECT_WAIT = 15.0      # bound for ICE + DTLS + first media
SKIP = 0.5               # seconds of received audio not analysed (decoder/jitter start)


def _settings():
    return {"general.admin_secret": SECRET}


async def admin(srv, req):
    async with JanusWS(srv.admin_url, "janus-admin-protocol") as a:
        return await a.request(dict(req, admin_secret=SECRET))


def webrtc_summary(srv, info):
    """What the tests need from handle_info's info, for Chorus (info.webrtc) and
    for Janus (info.streams[].components[]), so the tests run against both."""
    if srv.kind == "chorus":
        w = info.get("webrtc") or {}
        audio = [m for m in w.get("media") or [] if m.get("type") == "audio"]
        return {"srtp_profile": w.get("srtp_profile"), "dtls_state": w.get("dtls_state"),
                "ice_pair": w.get("ice_pair"),
                "audio_rx": audio[0].get("rx_packets") if audio else None,
                "audio_tx": audio[0].get("tx_packets") if audio else None}
    # Janus 1.1: info.webrtc.{ice, dtls, media: {"0": {type, stats: {in, out}}}}
    w = info.get("webrtc") or {}
    dtls = w.get("dtls") or {}
    audio = [m for m in (w.get("media") or {}).values() if m.get("type") == "audio"]
    stats = audio[0].get("stats", {}) if audio else {}
    return {"srtp_profile": dtls.get("srtp-profile"), "dtls_state": dtls.get("dtls-state"),
            "ice_pair": (w.get("ice") or {}).get("selected-pair"),
            "audio_rx": stats.get("in", {}).get("packets"),
            "audio_tx": stats.get("out", {}).get("packets")}


class EchoCall:
    """One Janus session + echo handle + aiortc PeerConnection."""

    def __init__(self, srv, audio=False, video=False, data=False, mangle=None):
        self.srv = srv
        self.want_audio, self.want_video, self.want_data = audio, video, data
        self.mangle = mangle
        self.ws = None
        self.pc = None
        self.session = self.handle = None
        self.audio_in = None
        self.video_in = None
        self.channel = None
        self.dc = None
        self.offer_sdp = self.answer_sdp = None
        self.event = None

    async def start(self):
        self.addresses = make_reachable()
        self.ws = await JanusWS(self.srv.ws_url).connect()
        self.session = await self.ws.create_session()
        self.handle = await self.ws.attach(self.session, self.srv.echo_plugin)

        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        tracks_in = {}

        @self.pc.on("track")
        def on_track(track):
            if track.kind == "audio" and self.audio_in is None:
                self.audio_in = AudioAnalyser(track)
            elif track.kind == "video" and self.video_in is None:
                self.video_in = VideoCounter(track)
            tracks_in[track.kind] = track

        if self.want_audio:
            self.tone = SineTrack(TONE)
            self.pc.addTrack(self.tone)
        if self.want_video:
            self.pattern = PatternTrack(320, 240)
            self.pc.addTrack(self.pattern)
        if self.want_data:
            self.channel = self.pc.createDataChannel("chorus-test")
            self.dc = DataEcho(self.channel)

        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = self.pc.localDescription.sdp
        assert candidates(sdp), "aiortc's offer has no candidates:\n" + sdp
        if self.mangle:
            sdp = self.mangle(sdp)
        self.offer_sdp = sdp

        ack, event = await self.ws.message(self.session, self.handle, BODY,
                                           jsep={"type": "offer", "sdp": sdp})
        self.event = event
        self.srv.check_echo_event(event["plugindata"], BODY)
        jsep = event.get("jsep")
        assert jsep and jsep.get("type") == "answer" and jsep.get("sdp"), event
        self.answer_sdp = jsep["sdp"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        return self

    def events(self, kind):
        return [m for m in self.ws.received
                if m.get("janus") == kind and m.get("sender") == self.handle]

    async def wait_event(self, pred, what, timeout=CONNECT_WAIT):
        return await self.ws.wait_for(lambda m: m.get("sender") == self.handle and pred(m),
                                      timeout, 0, what)

    async def handle_info(self):
        r = await admin(self.srv, {"janus": "handle_info", "session_id": self.session,
                                   "handle_id": self.handle})
        assert r.get("janus") == "success", r
        return r["info"]

    def diagnose(self):
        """Text for assertion messages: events seen, candidates, pc states."""
        evs = [m for m in self.ws.received if m.get("janus") not in ("ack", "success")]
        return ("pc: connection=%s ice=%s\nour addresses: %s\nanswer candidates: %s\n"
                "events: %s\nserver log: %s"
                % (self.pc.connectionState if self.pc else None,
                   self.pc.iceConnectionState if self.pc else None, self.addresses,
                   candidates(self.answer_sdp or ""),
                   json.dumps(evs)[:3000], self.srv.stderr_path))

    async def close(self):
        for c in (self.audio_in, self.video_in):
            if c is not None:
                await c.stop()
        if self.pc is not None:
            try:
                await asyncio.wait_for(self.pc.close(), 10)
            except asyncio.TimeoutError:
                pass
        if self.ws is not None:
            await self.ws.close()


async def wait_until(cond, timeout, step=0.05):
    """Poll cond() until true or timeout; return its last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        v = cond()
        if v or loop.time() >= deadline:
            return v
        await asyncio.sleep(step)


async def wait_for_audio(call, seconds, timeout=CONNECT_WAIT):
    ok = await wait_until(lambda: call.audio_in is not None
                          and call.audio_in.seconds(SKIP) >= seconds, timeout)
    got = call.audio_in.seconds() if call.audio_in else 0
    assert ok, ("only %.2f s of echoed audio within %.0f s (wanted %.1f s after the first %.1f s)\n%s"
                % (got, timeout, seconds, SKIP, call.diagnose()))


def with_call(srv, **kw):
    """Run `test(call)` with a started EchoCall, always closing it."""
    def deco(test):
        async def body():
            call = EchoCall(srv, **kw)
            try:
                await call.start()
                await test(call)
            finally:
                await call.close()
        run(body(), timeout=90)
    return deco


# --------------------------------------------------------------------------
# 1. Audio
# --------------------------------------------------------------------------

def test_audio_echo_returns_the_tone(start_server):
    srv = start_server(_settings())

    @with_call(srv, audio=True)
    async def _(call):
        up = await call.wait_event(lambda m: m.get("janus") == "webrtcup", "webrtcup")
        assert up["session_id"] == call.session, up
        media = await call.wait_event(
            lambda m: m.get("janus") == "media" and m.get("type") == "audio"
            and m.get("receiving") is True, "media audio receiving=true")
        assert media["session_id"] == call.session, media
        await wait_for_audio(call, 1.5)
        freq, share = call.audio_in.dominant_frequency(SKIP)
        rms = call.audio_in.rms(SKIP)
        print("echoed tone: %.1f Hz, %.0f%% of energy near it, rms %.3f, %.2f s analysed"
              % (freq, share * 100, rms, call.audio_in.seconds(SKIP)))
        assert rms > 0.01, "echoed audio is silence (rms %.4f)\n%s" % (rms, call.diagnose())
        assert abs(freq - TONE) <= 15, ("dominant frequency %.1f Hz, sent %.0f Hz\n%s"
                                        % (freq, TONE, call.diagnose()))


# --------------------------------------------------------------------------
# 2. Video
# --------------------------------------------------------------------------

def test_video_echo_returns_320x240_frames(start_server):
    srv = start_server(_settings())

    @with_call(srv, video=True)
    async def _(call):
        first = await wait_until(lambda: call.video_in is not None and call.video_in.frames,
                                 CONNECT_WAIT)
        assert first, "no echoed video frame within %.0f s\n%s" % (CONNECT_WAIT, call.diagnose())
        # Collect until 50 frames arrived, or 5 s after the first one passed.
        await wait_until(lambda: call.video_in.count_within(5.0) >= 50
                         or call.video_in.frames[-1][0] - call.video_in.frames[0][0] > 5.0,
                         6.0)
        await asyncio.sleep(0)
        n = call.video_in.count_within(5.0)
        sizes = call.video_in.sizes()
        print("echoed video: %d frames within 5 s of the first, sizes %s, %d sent"
              % (n, sizes, call.pattern.frames_sent))
        assert n >= 50, ("only %d decoded frames within 5 s of the first\n%s"
                         % (n, call.diagnose()))
        assert sizes == [(320, 240)], "echoed frame sizes %s, sent 320x240" % sizes


# --------------------------------------------------------------------------
# 3. Data channel
# --------------------------------------------------------------------------

@pytest.mark.parametrize("sdp_format", ["legacy-sctpmap", "rfc8841"])
def test_data_channel_echoes_text_and_binary(start_server, sdp_format):
    """legacy-sctpmap: aiortc's own offer, in the old draft format (DTLS/SCTP 5000 +
    a=sctpmap), which aiortc 1.4 always uses and Janus accepts. rfc8841: the same
    offer rewritten into today's browser format (UDP/DTLS/SCTP webrtc-datachannel +
    a=sctp-port), so the SCTP data path is tested apart from the SDP dialect."""
    srv = start_server(_settings())
    text = "ping-%s" % os.urandom(8).hex()
    blob = os.urandom(300) + bytes(range(256))
    mangle = sctp_sdp_to_rfc8841 if sdp_format == "rfc8841" else None

    def text_back(m):
        if not isinstance(m, str):
            return False
        if srv.kind == "janus":
            # Janus's echotest may prefix text replies; Chorus sends them back as they are.
            return m == text or m.endswith(text)
        return m == text

    @with_call(srv, data=True, mangle=mangle)
    async def _(call):
        assert "m=application 0 " not in call.answer_sdp, (
            "the data m-line was rejected in the answer:\n" + call.answer_sdp)
        try:
            await asyncio.wait_for(call.dc.opened.wait(), CONNECT_WAIT)
        except asyncio.TimeoutError:
            raise AssertionError("data channel not open within %.0f s (state %s)\n%s"
                                 % (CONNECT_WAIT, call.channel.readyState, call.diagnose()))
        call.channel.send(text)
        call.channel.send(blob)
        got_text = await call.dc.wait_for(text_back, 10)
        got_blob = await call.dc.wait_for(lambda m: isinstance(m, bytes) and m == blob, 10)
        seen = [m if isinstance(m, str) else "<%d bytes>" % len(m) for m in call.dc.messages]
        print("data channel (%s): sent %r and %d bytes; received %s" % (
            sdp_format, text, len(blob), seen))
        assert got_text is not None, "text %r not echoed; received %s\n%s" % (
            text, seen, call.diagnose())
        assert got_blob is not None, "binary message not echoed as the same bytes; received %s\n%s" % (
            seen, call.diagnose())
        if srv.kind == "chorus":
            assert got_text == text


# --------------------------------------------------------------------------
# 4. DTLS fingerprint mismatch
# --------------------------------------------------------------------------

def test_dtls_fingerprint_mismatch_gets_no_media(start_server):
    srv = start_server(_settings())

    def mangle(sdp):
        out = alter_fingerprint(sdp)
        assert fingerprints(out) and fingerprints(out) != fingerprints(sdp)
        return out

    @with_call(srv, audio=True, mangle=mangle)
    async def _(call):
        # Media would be back within ~1-2 s if DTLS wrongly succeeded; wait longer.
        await asyncio.sleep(5)
        frames = call.audio_in.frames if call.audio_in else 0
        assert frames == 0, ("%d echoed audio frames despite a wrong DTLS fingerprint\n%s"
                             % (frames, call.diagnose()))
        assert not call.events("webrtcup"), ("webrtcup despite a wrong DTLS fingerprint\n%s"
                                             % call.diagnose())
        # The server tells why: a hangup mentioning DTLS, or DTLS not connected.
        hangups = call.events("hangup")
        if not hangups:
            try:
                await call.wait_event(lambda m: m.get("janus") == "hangup", "hangup", 5)
            except ProtocolError:
                pass
            hangups = call.events("hangup")
        info = await call.handle_info()
        summary = webrtc_summary(srv, info)
        print("hangups: %s; handle_info webrtc: %s" % (hangups, summary))
        dtls_hangup = any("dtls" in str(h.get("reason", "")).lower() for h in hangups)
        assert dtls_hangup or summary["dtls_state"] != "connected", (
            "neither a DTLS hangup nor DTLS not connected: hangups %s, handle_info %s\n%s"
            % (hangups, json.dumps(info)[:3000], call.diagnose()))


# --------------------------------------------------------------------------
# 5. Hangup
# --------------------------------------------------------------------------

def test_hangup_request_ends_media_but_keeps_the_handle(start_server):
    srv = start_server(_settings())

    @with_call(srv, audio=True)
    async def _(call):
        await wait_for_audio(call, 0.5)
        s, h = call.session, call.handle
        start = len(call.ws.received)
        r = await call.ws.request({"janus": "hangup", "session_id": s, "handle_id": h})
        assert r["janus"] == "success", r
        ev = await call.ws.wait_for(lambda m: m.get("janus") == "hangup" and m.get("sender") == h,
                                    10, start, "hangup event")
        assert ev["session_id"] == s and ev.get("reason"), ev
        print("hangup event: %s" % ev)

        # Media stops: after a settling second, no more echoed frames for 2 s.
        await asyncio.sleep(1.0)
        before = call.audio_in.frames
        await asyncio.sleep(2.0)
        after = call.audio_in.frames
        assert after == before, ("%d echoed audio frames arrived 1-3 s after the hangup\n%s"
                                 % (after - before, call.diagnose()))

        r = await admin(srv, {"janus": "list_handles", "session_id": s})
        assert r["janus"] == "success" and h in r["handles"], r

        start = len(call.ws.received)
        r = await call.ws.request({"janus": "detach", "session_id": s, "handle_id": h})
        assert r["janus"] == "success", r
        det = await call.ws.wait_for(lambda m: m.get("janus") == "detached", 10, start,
                                     "detached event")
        assert det["session_id"] == s and det["sender"] == h, det
        r = await admin(srv, {"janus": "list_handles", "session_id": s})
        assert r["janus"] == "success" and h not in r["handles"], r


# --------------------------------------------------------------------------
# 6. Admin handle_info while media flows
# --------------------------------------------------------------------------

def test_admin_handle_info_shows_srtp_profile_and_counters(start_server):
    srv = start_server(_settings())

    @with_call(srv, audio=True)
    async def _(call):
        await wait_for_audio(call, 1.0)
        info = await call.handle_info()
        summary = webrtc_summary(srv, info)
        print("handle_info webrtc: %s" % summary)
        detail = json.dumps(info)[:4000]
        assert summary["srtp_profile"] and summary["srtp_profile"] != "none", detail
        assert summary["dtls_state"] == "connected", detail
        assert summary["ice_pair"], detail
        assert isinstance(summary["audio_rx"], int) and summary["audio_rx"] > 0, detail
        assert isinstance(summary["audio_tx"], int) and summary["audio_tx"] > 0, detail
        if srv.kind == "chorus":
            # A UDP host pair: packets leave by sendto on its socket, not through libnice.
            w = info["webrtc"]
            assert w["ice_send"] == "direct", detail
            assert w["ice_direct_sends"] >= summary["audio_tx"] > 0, detail
        # Counters move while media flows.
        await asyncio.sleep(1.0)
        later = webrtc_summary(srv, await call.handle_info())
        assert later["audio_rx"] > summary["audio_rx"], (summary, later)
        assert later["audio_tx"] > summary["audio_tx"], (summary, later)
