#!/usr/bin/python3
"""Chorus vs Janus on the same voice load, in one run.

    bench/run.sh [--quick] [--only a,b,c,d] [--duration S] [--no-janus] [--json FILE]

Builds nothing: it uses the built tree (CHORUS_BUILD or the source tree:
BUILD/chorus, BUILD/tools/chorus-loadgen, BUILD/plugins/build/) and Debian's
/usr/bin/janus (JANUS_BIN). For every scenario it starts a fresh server, runs
tools/chorus-loadgen against it (real ICE, DTLS-SRTP, Opus RTP; see
tools/loadgen/README.md), stops it, and does the same with the other server:

  (a) 1 channel x 10 participants, all speaking
  (b) 1 channel x 50 participants, 5 speaking
  (c) 20 channels x 5 participants, all speaking
  (d) the largest load Chorus holds on ONE worker (general.workers=1) with
      >= 99.9 % delivery: channels of 10 participants, all speaking, and the
      number of channels doubled, then bisected, until delivery drops; Janus is
      then run at that load with event_loops=1 (its one-thread equivalent).

Chorus runs the voice plugin (a sendonly mic m-line + K = min(S, P-1) recvonly
slots per participant); Janus runs the VideoRoom (each speaker publishes, each
participant subscribes to every other speaker on one multistream handle), so both
forward exactly the same packets. Both offer host candidates on the same
interface as the generator (the first non-loopback IPv4 one; Janus does not offer
loopback), both log at warning level.

Figures, per server: CPU us per forwarded packet (server utime+stime from
/proc/PID/stat over the sending window, divided by the packets the generator
received from it), delivery % (received / expected, see the loadgen README for
the expected rule), one-way latency p50/p99 (generator send to generator receive,
through the server: what the server adds plus two loopback hops), server CPU % of
one core and how long its threads waited for a CPU (runnable, not running; summed over
threads, from /proc/PID/task/*/schedstat), RSS, and the generator's own CPU and wait.
"bg" is the CPU other processes used meanwhile (from /proc/stat): this machine is
shared, so read figures with it and with the waits.
The ratio line is Chorus / Janus (below 1: Chorus is cheaper / faster).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, ".."))
BUILD = os.path.abspath(os.environ.get("CHORUS_BUILD") or SRC)
CHORUS = os.environ.get("CHORUS_BIN") or os.path.join(BUILD, "chorus")
LOADGEN = os.environ.get("LOADGEN_BIN") or os.path.join(BUILD, "tools", "chorus-loadgen")
JANUS = os.environ.get("JANUS_BIN", "/usr/bin/janus")
JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"

SCENARIOS = {
    "a": dict(title="(a) 1 ch x 10, 10 speaking", channels=1, participants=10, speakers=10),
    "b": dict(title="(b) 1 ch x 50, 5 speaking", channels=1, participants=50, speakers=5),
    "c": dict(title="(c) 20 ch x 5, 5 speaking", channels=20, participants=5, speakers=5),
}
D_SHAPE = dict(participants=10, speakers=10)  # per channel, for the (d) search


NICE = 0


def renice():
    """In the child (servers and generator alike): a session of its own, hence its own
    scheduler autogroup (with kernel.sched_autogroup_enabled, CPU is shared between
    sessions first, so a process's nice value alone means little against other
    sessions' work); with --nice, that autogroup's and the process's niceness."""
    os.setsid()
    if NICE:
        try:
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(NICE))
        except OSError:
            pass
        os.nice(NICE)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def ice_interface():
    """The interface the generator's 'auto' picks: first non-loopback IPv4 one."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "up"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        name = line.split()[1]
        if name != "lo":
            return name
    return "lo"


def wait_port(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A fresh server process on free ports, with its own config folder."""

    def __init__(self, kind, workdir, iface, one_thread=False):
        self.kind, self.iface, self.one_thread = kind, iface, one_thread
        self.dir = tempfile.mkdtemp(prefix="bench-%s-" % kind, dir=workdir)
        self.ws_port, self.admin_port, self.http_port = free_ports(3)
        self.log = os.path.join(self.dir, "server.log")
        self.proc = None

    @property
    def url(self):
        return "ws://127.0.0.1:%d/" % self.ws_port

    def chorus_cmd(self):
        with open(os.path.join(self.dir, "chorus.plugin.voice.conf"), "w") as f:
            f.write("[general]\nmax_slots = 16\nmax_channels = 10000\n"
                    "max_participants = 10000\ncreate_requires_admin = false\n")
        cmd = [CHORUS, "--ws-port", str(self.ws_port), "--admin-port", str(self.admin_port),
               "--http-port", str(self.http_port), "--log-level", "warn",
               "--set", "general.configs_folder=" + self.dir,
               "--set", "transport.max_connections_per_ip=4096",
               "--set", "media.ice_interfaces=" + self.iface,
               "--set", "media.ice_loopback=%s" % ("true" if self.iface == "lo" else "false")]
        if self.one_thread:
            cmd += ["--set", "general.workers=1"]
        return cmd

    def janus_cmd(self):
        d = self.dir
        for sub in ("plugins", "transports", "empty"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.symlink(os.path.join(JANUS_LIB, "plugins", "libjanus_videoroom.so"),
                   os.path.join(d, "plugins", "libjanus_videoroom.so"))
        os.symlink(os.path.join(JANUS_LIB, "transports", "libjanus_websockets.so"),
                   os.path.join(d, "transports", "libjanus_websockets.so"))
        loops = "\tevent_loops = 1\n" if self.one_thread else ""
        with open(os.path.join(d, "janus.jcfg"), "w") as f:
            f.write('general: {\n\tconfigs_folder = "%s"\n\tplugins_folder = "%s/plugins"\n'
                    '\ttransports_folder = "%s/transports"\n\tevents_folder = "%s/empty"\n'
                    '\tloggers_folder = "%s/empty"\n\tdebug_level = 3\n%s}\n'
                    'media: {\n}\nnat: {\n\tnice_debug = false\n\tice_enforce_list = "%s"\n}\n'
                    'plugins: {\n}\ntransports: {\n}\nloggers: {\n}\nevents: {\n}\n'
                    % (d, d, d, d, d, loops, self.iface))
        with open(os.path.join(d, "janus.transport.websockets.jcfg"), "w") as f:
            f.write('general: {\n\tjson = "compact"\n\tws = true\n\tws_port = %d\n'
                    '\tws_ip = "127.0.0.1"\n\twss = false\n}\nadmin: {\n\tadmin_ws = false\n}\n'
                    % self.ws_port)
        with open(os.path.join(d, "janus.plugin.videoroom.jcfg"), "w") as f:
            f.write("general: {\n}\n")
        return [JANUS, "-F", d, "-C", os.path.join(d, "janus.jcfg"), "-o"]

    def start(self):
        cmd = self.chorus_cmd() if self.kind == "chorus" else self.janus_cmd()
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir, preexec_fn=renice)
        if not wait_port(self.ws_port, self.proc):
            self.stop()
            raise RuntimeError("%s did not start; log: %s" % (self.kind, self.log))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def run_load(server, sc, duration, slots, workdir, tag):
    """Runs the generator against a started server; returns its JSON report (or None)."""
    out = os.path.join(workdir, "%s-%s.json" % (tag, server.kind))
    cmd = [LOADGEN, "--adapter", "chorus" if server.kind == "chorus" else "janus",
           "--server", server.url, "--channels", str(sc["channels"]),
           "--participants", str(sc["participants"]), "--speakers", str(sc["speakers"]),
           "--slots", str(slots), "--duration", str(duration), "--server-pid",
           str(server.proc.pid), "--json", out, "--quiet", "--allow-failures",
           "--ice-interface", server.iface, "--setup-timeout", "90"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 240,
                         preexec_fn=renice)
    if res.returncode != 0 or not os.path.exists(out):
        sys.stderr.write("loadgen failed (%s, %s): %s\n" % (server.kind, tag,
                                                            (res.stderr or res.stdout)[-600:]))
        return None
    with open(out) as f:
        rep = json.load(f)
    rep["stdout"] = res.stdout
    # Other processes' CPU over the measured window, in % of one core.
    rep["bg_pct"] = rep["generator"].get("others_cpu_pct", -1)
    return rep


def one(kind, sc, args, workdir, iface, tag, one_thread=False):
    slots = min(sc["speakers"], sc["participants"] - 1)
    srv = Server(kind, workdir, iface, one_thread).start()
    try:
        return run_load(srv, sc, args.duration, slots, workdir, tag)
    finally:
        srv.stop()


def fmt_row(label, kind, rep):
    if rep is None:
        return "%-30s %-6s  (failed)" % (label, kind)
    t, lat, srv, gen = rep["totals"], rep["latency_us"], rep["server"] or {}, rep["generator"]
    window = max(gen["window_s"], 1e-9)
    fwd = t["received"] / max(rep["config"]["duration_s"], 1e-9)
    gen_wait = sum(w for w in gen.get("thread_cpu_wait_s") or [] if w > 0)
    return ("%-30s %-6s %8.3f %8d %8d %7.2f %7.1f %7.0f %6.1f %8.0f %7.1f %7.0f %5.0f" % (
        label, kind, t["delivery_pct"], lat["p50"], lat["p99"],
        srv.get("cpu_us_per_forwarded_packet", 0), srv.get("cpu_pct_of_core", 0),
        100.0 * max(srv.get("cpu_wait_s", 0), 0) / window, srv.get("rss_kb", 0) / 1024.0, fwd,
        gen["cpu_pct_of_core"], 100.0 * gen_wait / window, rep["bg_pct"]))


HEADER = ("%-30s %-6s %8s %8s %8s %7s %7s %7s %6s %8s %7s %7s %5s" % (
    "scenario", "server", "deliv%", "p50us", "p99us", "us/pkt", "srvCPU%", "srvWait%", "RSSMiB",
    "fwd/s", "genCPU%", "genWait%", "bg%"))


def ratio_row(c, j):
    if not c or not j:
        return None
    def r(a, b):
        return "%.3f" % (a / b) if b else "n/a"
    cs, js = c["server"] or {}, j["server"] or {}
    return ("%-30s ratio Chorus/Janus: CPU per packet %s, p50 %s, p99 %s, delivery %.3f %% vs "
            "%.3f %%" % ("", r(cs.get("cpu_us_per_forwarded_packet", 0),
                                js.get("cpu_us_per_forwarded_packet", 0)),
                         r(c["latency_us"]["p50"], j["latency_us"]["p50"]),
                         r(c["latency_us"]["p99"], j["latency_us"]["p99"]),
                         c["totals"]["delivery_pct"], j["totals"]["delivery_pct"]))


def holds(rep):
    return (rep is not None and rep["setup"]["failed"] == 0 and
            rep["totals"]["delivery_pct"] >= 99.9)


def generator_bound(rep):
    """A generator thread ran or waited for a CPU nearly all the time."""
    gen = rep["generator"]
    waits = gen.get("thread_cpu_wait_s") or [0] * len(gen["thread_cpu_s"])
    busiest = max(c + max(w, 0) for c, w in zip(gen["thread_cpu_s"], waits))
    return busiest / max(gen["window_s"], 1e-9) >= 0.90


def search_d(args, workdir, iface, log, seen):
    """Doubles the channel count while Chorus (1 worker) holds, then bisects. Every run
    goes into seen as (channels, report)."""
    good, bad, c, runs = None, None, args.d_start, 0
    while runs < args.d_max_runs:
        sc = dict(D_SHAPE, channels=c)
        rep = one("chorus", sc, args, workdir, iface, "d%d" % c, one_thread=True)
        seen.append((c, rep))
        runs += 1
        ok = holds(rep)
        log(fmt_row("  search: %d ch x %d" % (c, D_SHAPE["participants"]), "chorus", rep))
        if ok:
            good = (c, rep)
            if rep and generator_bound(rep):
                log("  (the generator's thread is saturated: stopping the search here)")
                break
        else:
            bad = (c, rep)
        if bad is None:
            c *= 2
        elif good is None:
            c = max(1, bad[0] // 2)
            if c == bad[0]:
                break
        else:
            if bad[0] - good[0] <= max(1, good[0] // 8):
                break
            c = (good[0] + bad[0]) // 2
    return good, bad


def srv_cpu(rep):
    return (rep.get("server") or {}).get("cpu_pct_of_core", 0) if rep else 0


def half_core(args, workdir, iface, log, seen, bad):
    """(e): the latency at about half a core of Chorus's one worker, the (d) shape. Takes
    the (d) run nearest below 55 %; when that one used less than 40 %, one more run at
    the channel count that the load's linear growth puts at 50 %."""
    held = [(c, r) for c, r in seen if holds(r) and 0 < srv_cpu(r) <= 55.0]
    best = max(held, key=lambda x: srv_cpu(x[1]), default=None)
    if best and srv_cpu(best[1]) < 40.0:
        c = int(round(best[0] * 50.0 / srv_cpu(best[1])))
        if bad and c >= bad[0]:
            c = bad[0] - 1
        if c > best[0]:
            rep = one("chorus", dict(D_SHAPE, channels=c), args, workdir, iface, "e%d" % c,
                      one_thread=True)
            log(fmt_row("  probe: %d ch x %d" % (c, D_SHAPE["participants"]), "chorus", rep))
            if holds(rep) and srv_cpu(rep) <= 60.0:
                best = (c, rep)
    if best:
        log(fmt_row("(e) %d ch x %d, ~half a core" % (best[0], D_SHAPE["participants"]),
                    "chorus", best[1]))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds of sending per run")
    ap.add_argument("--only", default="a,b,c,d", help="scenarios to run (a,b,c,d)")
    ap.add_argument("--no-janus", action="store_true", help="Chorus only")
    ap.add_argument("--quick", action="store_true", help="3 s runs, short (d) search")
    ap.add_argument("--d-start", type=int, default=4, help="(d): first channel count")
    ap.add_argument("--d-max-runs", type=int, default=7, help="(d): most search steps")
    ap.add_argument("--json", help="write every report into this file")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, reports)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run servers and generator at this niceness (e.g. -5, as root)")
    args = ap.parse_args()
    global NICE
    NICE = args.nice
    if args.quick:
        args.duration, args.d_max_runs = 3.0, 3
    for binary in (CHORUS, LOADGEN):
        if not os.access(binary, os.X_OK):
            sys.exit("bench: %s is missing: build the tree first (make)" % binary)
    use_janus = not args.no_janus and os.access(JANUS, os.X_OK)
    workdir = tempfile.mkdtemp(prefix="chorus-bench-")
    iface = ice_interface()
    wanted = args.only.split(",")
    lines, reports = [], {}

    def log(line):
        lines.append(line)
        print(line, flush=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    log("machine: %d CPUs (%s), load average %s; ICE on %s; %.0f s per run, nice %d" % (
        os.cpu_count(), cpu, open("/proc/loadavg").read().split()[0], iface, args.duration,
        args.nice))
    log(HEADER)
    for key in ("a", "b", "c"):
        if key not in wanted:
            continue
        sc = SCENARIOS[key]
        c = one("chorus", sc, args, workdir, iface, key)
        log(fmt_row(sc["title"], "chorus", c))
        j = one("janus", sc, args, workdir, iface, key) if use_janus else None
        if use_janus:
            log(fmt_row("", "janus", j))
            if ratio_row(c, j):
                log(ratio_row(c, j))
        reports[key] = {"chorus": c, "janus": j}
    if "d" in wanted:
        log("(d) Chorus on one worker (workers=1): channels of %d, all speaking, K=%d" % (
            D_SHAPE["participants"], D_SHAPE["participants"] - 1))
        seen = []
        good, bad = search_d(args, workdir, iface, log, seen)
        if good:
            c, rep = good
            sc = dict(D_SHAPE, channels=c)
            label = "(d) %s%d ch x %d (max held)" % (">= " if generator_bound(rep) else "", c,
                                                     D_SHAPE["participants"])
            log(fmt_row(label, "chorus", rep))
            j = None
            if use_janus:
                j = one("janus", sc, args, workdir, iface, "d-janus", one_thread=True)
                log(fmt_row("    same load, event_loops=1", "janus", j))
                if ratio_row(rep, j):
                    log(ratio_row(rep, j))
            note = ("first failing load: %d channels (%.3f %% delivered)" % (
                bad[0], bad[1]["totals"]["delivery_pct"]) if bad and bad[1] else
                "no failing load found within the search budget")
            log("    " + note + ("; the generator was saturated first" if
                                 generator_bound(rep) else ""))
            reports["d"] = {"chorus": rep, "janus": j, "channels": c}
        else:
            log("(d) no load held 99.9 %% delivery (first tried: %d channels)" % args.d_start)
        e = half_core(args, workdir, iface, log, seen, bad)
        if e:
            reports["e"] = {"chorus": e[1], "channels": e[0]}
    if args.json:
        for pair in reports.values():
            for rep in (pair.get("chorus"), pair.get("janus")):
                if isinstance(rep, dict):
                    rep.pop("stdout", None)
        with open(args.json, "w") as f:
            json.dump({"lines": lines, "reports": reports}, f, indent=1)
    if args.keep:
        print("work folder: %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
