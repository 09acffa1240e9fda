"""Voice-channel participants for the chorus.plugin.voice integration tests
(Debian's python3-aiortc under /usr/bin/python3).

A Participant is one Janus session + one chorus.plugin.voice handle + one aiortc
RTCPeerConnection whose offer has, as the README's contract asks:

  m-line 0   sendonly audio: the microphone, a SineTrack at the participant's own
             frequency (amplitude 0 = digital silence, which aiortc's RFC 6464
             audio-level extension reports as -127 dBov)
  m-line 1.. K recvonly audio m-lines: the slots

Each slot is a Slot: the transceiver's mid (what the server's `slots` map is keyed
by), an AudioAnalyser on the receiver's track (decoded PCM with arrival times, so
any time window can be analysed apart), and a log of every RTP packet the slot's
RTCRtpReceiver was handed (arrival time, SSRC, sequence number, timestamp, audio
level), captured by wrapping that receiver instance's `_handle_rtp_packet` -- the
method aiortc's RTCDtlsTransport calls, after SRTP decryption and routing, for
every packet of that m-line; it sees the packets before the jitter buffer, so
sequence-number gaps, SSRC changes and timestamp jumps are seen as sent.

The participant keeps every plugin event (plugindata.data) with its arrival time,
and the slot -> participant map: replaced by a `joined`/`switched` answer, merged
with each `slots` event (a full or partial map both work), with a history of
(time, map) so tests can measure when a slot changed.

Routing note: aiortc 1.4 routes incoming RTP by the SSRCs declared in the remote
SDP (a=ssrc), else by payload type when exactly one receiver has it; it does not
route by the RFC 8843 MID header extension as browsers do. K slots share Opus's
payload type, so without a=ssrc lines in the answer every packet would be
dropped. install_mid_routing() adds, in this test process only, a fallback that
routes a packet the stock router would drop by its MID extension (browser
behaviour) and counts how often it was needed (MID_FALLBACK), so a report can say
whether the server's answer works with stock aiortc.
"""

import asyncio
import json
import time

import numpy as np

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdtlstransport import RtpRouter

from janus_client import JanusWS, ProtocolError, new_transaction
from webrtc_peer import AudioAnalyser, SineTrack, make_reachable

VOICE = "chorus.plugin.voice"
WAIT = 15.0

# --------------------------------------------------------------------------
# aiortc routing fallback (see the module docstring)
# --------------------------------------------------------------------------

MID_FALLBACK = {"packets": 0}
_routing_installed = False


def install_mid_routing():
    global _routing_installed
    if _routing_installed:
        return
    original = RtpRouter.route_rtp

    def route_rtp(self, packet):
        receiver = original(self, packet)
        if receiver is None:
            mid = getattr(packet.extensions, "mid", None)
            if mid is not None and mid in self.mid_table:
                MID_FALLBACK["packets"] += 1
                return self.mid_table[mid]
        return receiver

    RtpRouter.route_rtp = route_rtp
    _routing_installed = True


# --------------------------------------------------------------------------
# Signalling: JanusWS that time-stamps every message
# --------------------------------------------------------------------------

class TimedWS(JanusWS):
    """JanusWS that records the arrival time of each message (times[i] for
    received[i]) and calls on_message(msg, t) for each one."""

    def __init__(self, url, subprotocol="janus-protocol", on_message=None):
        super().__init__(url, subprotocol)
        self.times = []
        self.on_message = on_message

    async def _read(self):
        import websockets
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    msg = {"_unparsable": raw}
                now = time.monotonic()
                if self.on_message is not None:
                    try:
                        self.on_message(msg, now)
                    except Exception as e:  # never kill the reader
                        msg.setdefault("_on_message_error", repr(e))
                async with self._cond:
                    self.received.append(msg)
                    self.times.append(now)
                    self._cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._cond:
                self.closed = True
                self._cond.notify_all()


# --------------------------------------------------------------------------
# Audio analysis on time windows
# --------------------------------------------------------------------------

def dominant_frequency(pcm, rate):
    """(frequency in Hz, share of the energy within +-20 Hz of it); the same
    estimator as webrtc_peer.AudioAnalyser.dominant_frequency, on any samples."""
    if len(pcm) < rate // 10:
        raise AssertionError("too little audio to analyse: %d samples" % len(pcm))
    pcm = pcm - pcm.mean()
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1.0 / rate)
    spectrum[freqs < 20] = 0
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < len(spectrum) - 1:
        a, b, c = np.log(spectrum[peak - 1:peak + 2] + 1e-30)
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
    freq = (peak + offset) * rate / len(pcm)
    total = spectrum.sum()
    share = float(spectrum[np.abs(freqs - freq) <= 20].sum() / total) if total > 0 else 0.0
    return float(freq), share


def energy_share(pcm, rate, freq, width=20.0):
    """Share of the spectrum's energy within +-width Hz of freq (0 for silence)."""
    if len(pcm) < 64:
        return 0.0
    pcm = pcm - pcm.mean()
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1.0 / rate)
    spectrum[freqs < 20] = 0
    total = spectrum.sum()
    if total <= 0:
        return 0.0
    return float(spectrum[np.abs(freqs - freq) <= width].sum() / total)


class Slot:
    """One recvonly m-line of a participant."""

    def __init__(self, transceiver):
        self.transceiver = transceiver
        self.analyser = None
        self.rtp = []   # (arrival, ssrc, seq, ts, audio_level or None, payload bytes)
        receiver = transceiver.receiver
        original = receiver._handle_rtp_packet
        log = self.rtp

        async def handle(packet, arrival_time_ms):
            log.append((time.monotonic(), packet.ssrc, packet.sequence_number,
                        packet.timestamp, packet.extensions.audio_level, len(packet.payload)))
            return await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle

    @property
    def mid(self):
        return self.transceiver.mid

    def start(self):
        if self.analyser is None and self.transceiver.receiver.track is not None:
            self.analyser = AudioAnalyser(self.transceiver.receiver.track)

    @property
    def rate(self):
        return (self.analyser.sample_rate if self.analyser and self.analyser.sample_rate
                else 48000)

    def pcm(self, since=0.0, until=None):
        if self.analyser is None:
            return np.zeros(0, dtype=np.float32)
        parts = [c for t, c in list(self.analyser.chunks)
                 if t >= since and (until is None or t <= until)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def seconds(self, since=0.0, until=None):
        if self.analyser is None:
            return 0.0
        n = sum(len(c) for t, c in list(self.analyser.chunks)
                if t >= since and (until is None or t <= until))
        return n / self.rate

    def frames(self, since=0.0, until=None):
        if self.analyser is None:
            return 0
        return sum(1 for t, _ in list(self.analyser.chunks)
                   if t >= since and (until is None or t <= until))

    def packets(self, since=0.0, until=None):
        return [p for p in list(self.rtp) if p[0] >= since and (until is None or p[0] <= until)]

    def dominant(self, since=0.0, until=None):
        return dominant_frequency(self.pcm(since, until), self.rate)

    def rms(self, since=0.0, until=None):
        pcm = self.pcm(since, until)
        return float(np.sqrt(np.mean(pcm ** 2))) if len(pcm) else 0.0

    def share(self, freq, since=0.0, until=None):
        return energy_share(self.pcm(since, until), self.rate, freq)

    def describe(self, since=0.0, until=None):
        pcm = self.pcm(since, until)
        d = {"mid": self.mid, "packets": len(self.packets(since, until)),
             "seconds": round(len(pcm) / self.rate, 2),
             "rms": round(float(np.sqrt(np.mean(pcm ** 2))) if len(pcm) else 0.0, 4)}
        if len(pcm) >= self.rate // 10:
            f, s = dominant_frequency(pcm, self.rate)
            d["freq"], d["share"] = round(f, 1), round(s, 2)
        return d

    async def stop(self):
        if self.analyser is not None:
            await self.analyser.stop()


# --------------------------------------------------------------------------
# Participant
# --------------------------------------------------------------------------

class Participant:
    """One voice-channel participant. All waits are bounded."""

    def __init__(self, srv, name, freq=440.0, amplitude=0.5, slots=3, keepalive=2.0,
                 ws=None):
        self.srv = srv
        self.name = name
        self.freq = float(freq)
        self.mic = SineTrack(freq, amplitude)
        self.k = slots
        self.keepalive_interval = keepalive
        self.ws = ws
        self.session = self.handle = None
        self.pc = None
        self.mic_transceiver = None
        self.slot_list = []
        self.offer_sdp = self.answer_sdp = None
        self.id = None            # participant id from "joined"
        self.mic_mid = None       # "mic" from "joined"
        self.channel = None
        self.slots = {}           # mid -> participant id or None
        self.slots_history = []   # (time, dict) after every change
        self.events = []          # (time, plugindata.data) of this handle's "event"s
        self.janus_events = []    # (time, msg) of every message for this handle
        self._ka_task = None

    # ---- plumbing ----
    def _on_message(self, msg, now):
        if self.handle is None:
            return
        if msg.get("sender") != self.handle:
            # Session-level events (timeout) carry no sender.
            if not ("sender" not in msg and msg.get("session_id") == self.session
                    and msg.get("janus") in ("timeout",)):
                return
        self.janus_events.append((now, msg))
        if msg.get("janus") not in ("event", "success"):
            return
        data = (msg.get("plugindata") or {}).get("data")
        if not isinstance(data, dict):
            return
        if msg.get("janus") == "event":
            self.events.append((now, data))
        elif data.get("voice") not in ("joined", "switched"):
            return
        slots = data.get("slots")
        if isinstance(slots, dict):
            if data.get("voice") in ("joined", "switched"):
                new = dict(slots)
            else:
                new = dict(self.slots)
                new.update(slots)
            self.slots = new
            self.slots_history.append((now, dict(new)))

    async def open(self):
        """WebSocket (unless one was given), session, handle, keepalive loop."""
        if self.ws is None:
            self.ws = await TimedWS(self.srv.ws_url, on_message=self._on_message).connect()
        self.session = await self.ws.create_session()
        self.handle = await self.ws.attach(self.session, VOICE)
        if self.keepalive_interval:
            self._ka_task = asyncio.ensure_future(self._keepalive())
        return self

    async def _keepalive(self):
        try:
            while True:
                await asyncio.sleep(self.keepalive_interval)
                if self.ws.closed:
                    return
                await self.ws.send({"janus": "keepalive", "session_id": self.session,
                                    "transaction": new_transaction("ka")})
        except (asyncio.CancelledError, Exception):
            return

    def stop_keepalive(self):
        if self._ka_task is not None:
            self._ka_task.cancel()
            self._ka_task = None

    async def send_message(self, body, jsep=None):
        """Send a plugin message; return its transaction."""
        tr = new_transaction("voice")
        msg = {"janus": "message", "session_id": self.session, "handle_id": self.handle,
               "transaction": tr, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        await self.ws.send(msg)
        return tr

    async def reply(self, tr, timeout=WAIT):
        """The answer to transaction tr: a sync `success`, the async `event` after an
        `ack`, or a Janus `error`."""
        return await self.ws.wait_for(
            lambda m: m.get("transaction") == tr and m.get("janus") != "ack",
            timeout, 0, "answer to %s" % tr)

    async def request(self, body, jsep=None, timeout=WAIT):
        """(whole reply message, plugindata.data or None)."""
        tr = await self.send_message(body, jsep)
        msg = await self.reply(tr, timeout)
        return msg, (msg.get("plugindata") or {}).get("data")

    # ---- the PeerConnection ----
    async def make_offer(self):
        make_reachable()
        install_mid_routing()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic_transceiver = self.pc.addTransceiver(self.mic, direction="sendonly")
        for _ in range(self.k):
            self.slot_list.append(Slot(self.pc.addTransceiver("audio", direction="recvonly")))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.offer_sdp = self.pc.localDescription.sdp
        return {"type": "offer", "sdp": self.offer_sdp}

    async def apply_answer(self, jsep):
        self.answer_sdp = jsep["sdp"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        for s in self.slot_list:
            s.start()

    # ---- voice requests ----
    async def join(self, channel, display=None, pin=None, offer=True, extra=None,
                   timeout=WAIT):
        """Join with an offer; on `joined` apply the answer. Returns (msg, data)."""
        body = {"request": "join", "channel": channel, "display": display or self.name}
        if pin is not None:
            body["pin"] = pin
        body.update(extra or {})
        jsep = None
        if offer:
            jsep = await self.make_offer() if self.pc is None else {
                "type": "offer", "sdp": self.offer_sdp}
        msg, data = await self.request(body, jsep, timeout)
        if data and data.get("voice") == "joined":
            self.id = data.get("id")
            self.mic_mid = data.get("mic")
            self.channel = data.get("channel")
            if not msg.get("jsep"):
                raise ProtocolError("%s: joined without a JSEP answer: %s" % (self.name, msg))
            await self.apply_answer(msg["jsep"])
        return msg, data

    async def switch(self, channel, pin=None, timeout=WAIT):
        body = {"request": "switch", "channel": channel}
        if pin is not None:
            body["pin"] = pin
        msg, data = await self.request(body, None, timeout)
        if data and data.get("voice") == "switched":
            self.channel = data.get("channel")
        return msg, data

    async def leave(self, timeout=WAIT):
        return await self.request({"request": "leave"}, None, timeout)

    async def configure(self, timeout=WAIT, **kw):
        return await self.request(dict({"request": "configure"}, **kw), None, timeout)

    async def participants(self, channel, timeout=WAIT):
        msg, data = await self.request({"request": "participants", "channel": channel},
                                       None, timeout)
        if not data or data.get("voice") != "participants":
            raise ProtocolError("%s: participants(%s) failed: %s" % (self.name, channel, msg))
        return data["participants"]

    # ---- waiting ----
    async def wait_connected(self, timeout=WAIT):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pc.connectionState != "connected":
            if loop.time() > deadline:
                raise ProtocolError("%s: PeerConnection %s after %.0f s\n%s"
                                    % (self.name, self.pc.connectionState, timeout,
                                       self.diagnose()))
            await asyncio.sleep(0.05)

    async def wait_event(self, pred, timeout=WAIT, since=0.0, what="a voice event"):
        """The first (time, data) plugin event after `since` (monotonic) with pred(data)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for t, d in list(self.events):
                if t >= since and pred(d):
                    return t, d
            if loop.time() > deadline:
                raise ProtocolError("%s: no %s within %.0f s; events since: %s"
                                    % (self.name, what, timeout,
                                       json.dumps([d for t, d in self.events if t >= since])[:3000]))
            await asyncio.sleep(0.02)

    async def wait_janus(self, kind, timeout=WAIT, since=0.0):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for t, m in list(self.janus_events):
                if t >= since and m.get("janus") == kind:
                    return t, m
            if loop.time() > deadline:
                raise ProtocolError("%s: no '%s' within %.0f s; got %s"
                                    % (self.name, kind, timeout,
                                       json.dumps([m for t, m in self.janus_events
                                                   if t >= since])[:3000]))
            await asyncio.sleep(0.02)

    def voice_events(self, key, since=0.0):
        """Values of member `key` in channel events (voice == "event") after since."""
        return [d[key] for t, d in list(self.events)
                if t >= since and d.get("voice") == "event" and key in d]

    # ---- slots ----
    def slot(self, mid):
        for s in self.slot_list:
            if s.mid == mid:
                return s
        raise KeyError(mid)

    def slot_of(self, pid):
        """The Slot the current map assigns to participant pid, or None."""
        for mid, who in self.slots.items():
            if who == pid and who is not None:
                try:
                    return self.slot(mid)
                except KeyError:
                    return None
        return None

    def slot_assigned_at(self, mid, pid):
        """When the history last mapped mid to pid (start of the current run), or None."""
        at = None
        prev = None
        for t, m in self.slots_history:
            cur = m.get(mid)
            if cur == pid and prev != pid:
                at = t
            prev = cur
        return at if self.slots.get(mid) == pid else None

    async def wait_slots(self, pred, timeout=WAIT, what="a slots map"):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not pred(self.slots):
            if loop.time() > deadline:
                raise ProtocolError("%s: no %s within %.0f s; slots now %s, history %s"
                                    % (self.name, what, timeout, self.slots,
                                       [m for _, m in self.slots_history][-10:]))
            await asyncio.sleep(0.02)
        return dict(self.slots)

    # ---- reporting / teardown ----
    def diagnose(self):
        return ("%s (id %s, handle %s): pc=%s slots=%s\nslot media: %s\nevents: %s"
                % (self.name, self.id, self.handle,
                   self.pc.connectionState if self.pc else None, self.slots,
                   [s.describe() for s in self.slot_list],
                   json.dumps([d for _, d in self.events])[-2500:]))

    async def close_pc(self):
        for s in self.slot_list:
            await s.stop()
        if self.pc is not None:
            try:
                await asyncio.wait_for(self.pc.close(), 10)
            except asyncio.TimeoutError:
                pass

    async def destroy(self):
        """Destroy the session (detaches the handle) if the socket is still open."""
        if self.ws is not None and not self.ws.closed and self.session is not None:
            try:
                await self.ws.request({"janus": "destroy", "session_id": self.session},
                                      timeout=5)
            except ProtocolError:
                pass

    async def close(self, destroy=True):
        self.stop_keepalive()
        if destroy:
            await self.destroy()
        await self.close_pc()
        if self.ws is not None:
            await self.ws.close()


async def open_all(parts):
    await asyncio.gather(*(p.open() for p in parts))
    return parts


async def close_all(parts):
    await asyncio.gather(*(p.close() for p in parts), return_exceptions=True)


def error_code_of(msg, data):
    """The plugin's error_code ({"voice":"error",...}) or None. A Janus-level error
    (no plugindata) is returned as ("janus", code)."""
    if data and data.get("voice") == "error":
        return data.get("error_code")
    if msg.get("janus") == "error":
        return ("janus", msg["error"]["code"])
    return None


def sdp_media_sections(sdp):
    """[(m-line, [attribute lines])] of an SDP."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out
