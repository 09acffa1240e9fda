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
    server = start_server(settings={"general.configs_folder": str(conf)})
    rep = run_loadgen(loadgen, server, tmp_path, "--adapter", "chorus", "--channels", "1",
                      "--participants", "4", "--speakers", "4", "--slots", "3")
    check_delivery(rep, 4)
    # 4 speakers x 3 listeners each x 50 packets/s x 3 s
    assert rep["totals"]["expected"] == rep["totals"]["sent"] * 3
    assert rep["totals"]["pc"]["srtp_gcm"] == 4, rep["totals"]["pc"]


def test_loadgen_echo(server, loadgen, tmp_path):
    """chorus.plugin.echo: 2 participants each get their own audio back."""
    rep = run_loadgen(loadgen, server, tmp_path, "--adapter", "echo", "--participants", "2")
    check_delivery(rep, 2)
    assert rep["totals"]["expected"] == rep["totals"]["sent"]
