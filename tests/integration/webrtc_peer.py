"""Real WebRTC peers for the integration tests: helpers around Debian's
python3-aiortc (run the tests with /usr/bin/python3).

  SineTrack       an audio track producing a sine tone, 48 kHz mono s16, 20 ms frames
  PatternTrack    a video track producing moving 320x240 frames (VP8-encodable)
  AudioAnalyser   consumes a received audio track; dominant frequency by FFT
  VideoCounter    consumes a received video track; counts frames and their sizes
  DataEcho        collects a data channel's received messages
  make_reachable  makes sure aioice offers an address the server can reach
  alter_fingerprint  replaces the a=fingerprint values of an SDP

How the peer reaches the server: aioice gathers host candidates on every
interface except 127.0.0.1 (aioice.ice.get_host_addresses). We use the
machine's own non-loopback IPv4 address(es) as aioice finds them: Chorus and
Janus offer host candidates on every interface by default, so the pair
<own address> <-> <own address> connects and the traffic never leaves the
machine. Only when the machine has no non-loopback IPv4 address at all do we
patch aioice's gathering (in this test process only) to offer 127.0.0.1;
Chorus offers loopback candidates by default ([media] ice_loopback=true).
CHORUS_AIORTC_LOOPBACK=1 forces that mode (Chorus only: Janus, as configured
by the harness, offers no loopback candidate).
Using the real address first means aioice itself is run unmodified.
"""

import asyncio
import fractions
import math
import os
import re
import time

import numpy as np

import aioice.ice
from aiortc import MediaStreamTrack, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

SAMPLE_RATE = 48000
PTIME = 0.020


# --------------------------------------------------------------------------
# Reaching the server
# --------------------------------------------------------------------------

def own_ipv4_addresses():
    """The IPv4 addresses aioice will offer as host candidates (no loopback)."""
    return aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


_patched = False


def make_reachable():
    """Return the IPv4 addresses aioice will offer. With none but loopback (or with
    CHORUS_AIORTC_LOOPBACK=1 in the environment, to test that path), patch aioice's
    gathering in this process to offer 127.0.0.1 only."""
    global _patched
    force = os.environ.get("CHORUS_AIORTC_LOOPBACK", "") not in ("", "0")
    addrs = [] if force else own_ipv4_addresses()
    if addrs:
        return addrs
    if not _patched:
        original = aioice.ice.get_host_addresses

        def loopback_only(use_ipv4, use_ipv6):
            return ["127.0.0.1"] if use_ipv4 else original(False, use_ipv6)

        aioice.ice.get_host_addresses = loopback_only
        _patched = True
    return ["127.0.0.1"]


# --------------------------------------------------------------------------
# Sent media
# --------------------------------------------------------------------------

class SineTrack(MediaStreamTrack):
    """A sine tone of `frequency` Hz, 48 kHz mono s16, one 20 ms frame per recv(),
    paced in real time."""

    kind = "audio"

    def __init__(self, frequency=440.0, amplitude=0.5):
        super().__init__()
        self.frequency = float(frequency)
        self.amplitude = amplitude
        self.samples = int(SAMPLE_RATE * PTIME)
        self._start = None
        self._pts = 0
        self.frames_sent = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self.samples
            wait = self._start + self._pts / SAMPLE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        n = np.arange(self._pts, self._pts + self.samples)
        tone = self.amplitude * np.sin(2 * math.pi * self.frequency * n / SAMPLE_RATE)
        pcm = (tone * 32767).astype("<i2")
        frame = AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(pcm.tobytes())
        frame.pts = self._pts
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.frames_sent += 1
        return frame


class PatternTrack(VideoStreamTrack):
    """Moving colour bars, `width` x `height`, 30 fps (aiortc's pacing)."""

    def __init__(self, width=320, height=240):
        super().__init__()
        self.width = width
        self.height = height
        self.frames_sent = 0
        x = np.arange(width, dtype=np.int32)
        y = np.arange(height, dtype=np.int32)
        self._xx, self._yy = np.meshgrid(x, y)

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        t = self.frames_sent
        img = np.empty((self.height, self.width, 3), dtype=np.uint8)
        img[:, :, 0] = ((self._xx + 4 * t) % 256).astype(np.uint8)
        img[:, :, 1] = ((self._yy + 2 * t) % 256).astype(np.uint8)
        img[:, :, 2] = (((self._xx // 40 + self._yy // 40 + t // 15) % 2) * 200).astype(np.uint8)
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        self.frames_sent += 1
        return frame


# --------------------------------------------------------------------------
# Received media
# --------------------------------------------------------------------------

class _Consumer:
    """Reads a remote track in a task until stop() or the track ends."""

    def __init__(self, track):
        self.track = track
        self.first_at = None
        self.last_at = None
        self.ended = False
        self._task = asyncio.ensure_future(self._run())

    async def _run(self):
        try:
            while True:
                frame = await self.track.recv()
                now = time.monotonic()
                if self.first_at is None:
                    self.first_at = now
                self.last_at = now
                self.on_frame(frame, now)
        except MediaStreamError:
            pass
        finally:
            self.ended = True

    def on_frame(self, frame, now):
        raise NotImplementedError

    async def stop(self):
        if not self._task.done():
            self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):
            pass


class AudioAnalyser(_Consumer):
    """Keeps every received audio frame (first channel, as float) with its arrival time."""

    def __init__(self, track):
        self.chunks = []          # (arrival time, np.float32 mono samples)
        self.sample_rate = None
        super().__init__(track)

    def on_frame(self, frame, now):
        self.sample_rate = frame.sample_rate
        arr = frame.to_ndarray()
        channels = len(frame.layout.channels)
        if frame.format.is_planar:
            mono = arr[0]
        else:
            mono = arr.reshape(-1, channels)[:, 0]
        self.chunks.append((now, mono.astype(np.float32) / 32768.0))

    @property
    def frames(self):
        return len(self.chunks)

    def seconds(self, skip=0.0):
        """Seconds of audio received, not counting the first `skip` seconds."""
        if not self.sample_rate:
            return 0.0
        total = sum(len(c) for _, c in self.chunks) / self.sample_rate
        return max(0.0, total - skip)

    def samples(self, skip=0.0):
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        pcm = np.concatenate([c for _, c in self.chunks])
        return pcm[int(skip * self.sample_rate):]

    def dominant_frequency(self, skip=0.5):
        """(frequency in Hz, share of the spectrum's energy within +-20 Hz of it)."""
        pcm = self.samples(skip)
        if len(pcm) < self.sample_rate // 10:
            raise AssertionError("too little audio to analyse: %d samples" % len(pcm))
        pcm = pcm - pcm.mean()
        window = np.hanning(len(pcm))
        spectrum = np.abs(np.fft.rfft(pcm * window)) ** 2
        freqs = np.fft.rfftfreq(len(pcm), 1.0 / self.sample_rate)
        spectrum[freqs < 20] = 0
        peak = int(np.argmax(spectrum))
        # Parabolic interpolation of the peak bin for sub-bin precision.
        if 0 < peak < len(spectrum) - 1:
            a, b, c = np.log(spectrum[peak - 1:peak + 2] + 1e-30)
            denom = a - 2 * b + c
            offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
        else:
            offset = 0.0
        freq = (peak + offset) * self.sample_rate / len(pcm)
        near = np.abs(freqs - freq) <= 20
        total = spectrum.sum()
        share = float(spectrum[near].sum() / total) if total > 0 else 0.0
        return float(freq), share

    def rms(self, skip=0.5):
        pcm = self.samples(skip)
        return float(np.sqrt(np.mean(pcm ** 2))) if len(pcm) else 0.0


class VideoCounter(_Consumer):
    """Counts received video frames and records each frame's size and arrival time."""

    def __init__(self, track):
        self.frames = []          # (arrival time, width, height)
        super().__init__(track)

    def on_frame(self, frame, now):
        self.frames.append((now, frame.width, frame.height))

    def count_within(self, seconds):
        """Frames that arrived within `seconds` of the first one."""
        if not self.frames:
            return 0
        t0 = self.frames[0][0]
        return sum(1 for t, _, _ in self.frames if t - t0 <= seconds)

    def sizes(self):
        return sorted({(w, h) for _, w, h in self.frames})


class DataEcho:
    """Collects the messages a data channel receives."""

    def __init__(self, channel):
        self.channel = channel
        self.messages = []
        self.opened = asyncio.Event()
        self._changed = asyncio.Event()
        if channel.readyState == "open":
            self.opened.set()

        @channel.on("open")
        def _open():
            self.opened.set()

        @channel.on("message")
        def _message(msg):
            self.messages.append(msg)
            self._changed.set()

    async def wait_for(self, pred, timeout):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for m in self.messages:
                if pred(m):
                    return m
            left = deadline - loop.time()
            if left <= 0:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass


# --------------------------------------------------------------------------
# SDP helpers
# --------------------------------------------------------------------------

_FP = re.compile(r"^(a=fingerprint:\S+ )([0-9A-Fa-f:]+)(\r?)$", re.M)


def fingerprints(sdp):
    return [m.group(2).strip() for m in _FP.finditer(sdp)]


def alter_fingerprint(sdp):
    """Every a=fingerprint value replaced by a different, equally long random one."""
    def repl(m):
        old = m.group(2).strip()
        n = len(old.split(":"))
        while True:
            new = ":".join("%02X" % b for b in os.urandom(n))
            if new.upper() != old.upper():
                return m.group(1) + new + m.group(3)
    out, count = _FP.subn(repl, sdp)
    if count == 0:
        raise AssertionError("no a=fingerprint line in the SDP:\n" + sdp)
    return out


def candidates(sdp):
    return [l[2:].strip() for l in sdp.splitlines() if l.startswith("a=candidate:")]


def sctp_sdp_to_rfc8841(sdp):
    """aiortc 1.4 always offers data channels in the old draft format
    ("m=application P DTLS/SCTP 5000" + "a=sctpmap:5000 webrtc-datachannel N");
    browsers today use RFC 8841 ("UDP/DTLS/SCTP webrtc-datachannel" + "a=sctp-port").
    This rewrites the first into the second (aiortc accepts either in the answer)."""
    m = re.search(r"^m=application (\d+) DTLS/SCTP (\d+)(\r?)$", sdp, re.M)
    if not m:
        raise AssertionError("no legacy DTLS/SCTP m-line in the SDP:\n" + sdp)
    port, sctp_port, cr = m.group(1), m.group(2), m.group(3)
    out = sdp.replace(m.group(0), "m=application %s UDP/DTLS/SCTP webrtc-datachannel%s"
                      % (port, cr), 1)
    out, n = re.subn(r"^a=sctpmap:%s webrtc-datachannel \d+(\r?)$" % sctp_port,
                     lambda x: "a=sctp-port:%s%s" % (sctp_port, x.group(1)), out, flags=re.M)
    if n != 1:
        raise AssertionError("no a=sctpmap line for port %s:\n%s" % (sctp_port, sdp))
    return out
