"""CI smoke for tools/chorus-loadgen: a few seconds of real WebRTC voice load
(ICE, DTLS-SRTP, Opus RTP from the generator's own client stack) through Chorus.

It checks delivery, not timing: every packet a listener should get (the
expected-delivery rule of tools/loadgen/README.md) arrives exactly once, give or
take TOLERANCE. Latency and CPU figures are printed by the generator but not
asserted: CI machines are shared and slow, benchmarks live in bench/.
"""

import json
import os
import subprocess

import pytest

from chorus_server import SRC_ROOT
from janus_client import JanusWS, run

# Packets that may be missing, as a fraction of those expected: a loaded CI machine
# can drop a few UDP datagrams on loopback. Duplicates and misrouted packets: none.
TOLERANCE = 0.005


def loadgen_binary():
    if os.environ.get("LOADGEN_BIN"):
        return os.environ["LOADGEN_BIN"]
    build = os.path.abspath(os.environ.get("CHORUS_BUILD") or SRC_ROOT)
    return os.path.join(build, "tools", "chorus-loadgen")


@pytest.fixture
def loadgen(chorus_only):
    binary = loadgen_binary()
    if not os.access(binary, os.X_OK):
        pytest.skip("%s is not built" % binary)
    return binary


def run_loadgen(binary, server, tmp_path, *args):
    report = tmp_path / "report.json"
    cmd = [binary, "--server", server.ws_url, "--server-pid", str(server.proc.pid),
           "--json", str(report), "--quiet", "--duration", "3", "--warmup", "1"] + list(args)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    print(res.stdout)
    assert res.returncode == 0, "chorus-loadgen failed (%d):\n%s\n%s" % (
        res.returncode, res.stdout, res.stderr)
    with open(report) as f:
        return json.load(f)


def check_delivery(rep, participants):
    setup, t = rep["setup"], rep["totals"]
    assert setup["ready"] == participants and setup["failed"] == 0, setup
    assert t["sent"] > 0 and t["send_errors"] == 0, t
    assert t["duplicates"] == 0 and t["misrouted"] == 0 and t["invalid"] == 0, t
    assert t["received"] <= t["expected"], t
    assert t["received"] >= t["expected"] * (1 - TOLERANCE), (t, rep["losses"])


def test_loadgen_voice_channel(start_server, loadgen, tmp_path):
    """1 channel x 4 participants, all speaking, K = 3 slots: each hears the 3 others."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "chorus.plugin.voice.conf").write_text(
        "[general]\nmax_slots = 8\nmax_channels = 10\nmax_participants = 10\n"
        "create_requires_admin = false\n")
    server = start_server(settings={"general.configs_folder": str(conf),
                                    "general.admin_secret": ADMIN_SECRET})
    rep = run_loadgen(loadgen, server, tmp_path, "--adapter", "chorus", "--channels", "1",
                      "--participants", "4", "--speakers", "4", "--slots", "3")
    check_delivery(rep, 4)
    # 4 speakers x 3 listeners each x 50 packets/s x 3 s
    assert rep["totals"]["expected"] == rep["totals"]["sent"] * 3
    assert rep["totals"]["pc"]["srtp_gcm"] == 4, rep["totals"]["pc"]
    check_batched_fanout(server, rep)


ADMIN_SECRET = "loadgen-admin"


def admin_status(server):
    async def body():
        async with JanusWS(server.admin_url, "janus-admin-protocol") as a:
            return await a.request({"janus": "get_status", "admin_secret": ADMIN_SECRET})
    r = run(body())
    assert r["janus"] == "success", r
    return r["status"]


def check_batched_fanout(server, rep):
    """Each incoming packet's fan-out (here 3 copies) leaves in one io_uring submission
    where the kernel has io_uring; else every datagram goes with its own sendto."""
    sends = admin_status(server)["sends"]
    if sends["io_uring_threads"] == 0:
        assert sends["batched_sends"] == 0 and sends["batch_submits"] == 0, sends
        pytest.skip("no io_uring here: fan-out sent datagram by datagram")
    assert sends["batch_errors"] == 0, sends
    # Every forwarded packet left through a batch (plus RTCP and warm-up packets) ...
    assert sends["batched_sends"] >= rep["totals"]["received"], (sends, rep["totals"])
    # ... and a fan-out of 3 took one system call, not 3.
    assert sends["batch_submits"] * 2 <= sends["batched_sends"], sends


def test_loadgen_echo(server, loadgen, tmp_path):
    """chorus.plugin.echo: 2 participants each get their own audio back."""
    rep = run_loadgen(loadgen, server, tmp_path, "--adapter", "echo", "--participants", "2")
    check_delivery(rep, 2)
    assert rep["totals"]["expected"] == rep["totals"]["sent"]
