"""Start and stop a server under test: Chorus (default) or the real Janus.

Each test gets its own server process on free loopback ports. Which server is
started is chosen by the environment:

  CHORUS_TARGET   "chorus" (default) or "janus" (Debian's /usr/bin/janus, used
                  to prove the tests themselves against the reference
                  implementation).
  CHORUS_BIN      path to the chorus binary (e.g. a sanitizer build).
  CHORUS_BUILD    build directory holding src/chorus (out-of-tree builds);
                  ignored when CHORUS_BIN is set.
  JANUS_BIN       path to janus (default /usr/bin/janus).
  CHORUS_ARTIFACTS where server logs go (default tests/artifacts).

Settings are given with Chorus's names ("general.session_timeout": 3) and
translated to Janus's configuration files when the target is Janus.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ARTIFACTS = os.environ.get("CHORUS_ARTIFACTS", os.path.join(SRC_ROOT, "tests", "artifacts"))

STOP_TIMEOUT = float(os.environ.get("CHORUS_STOP_TIMEOUT", "5"))
START_TIMEOUT = float(os.environ.get("CHORUS_START_TIMEOUT", "30"))

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "ERROR: ThreadSanitizer",
    "WARNING: ThreadSanitizer",
    "runtime error:",
)

JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"


def target():
    t = os.environ.get("CHORUS_TARGET", "chorus").strip().lower()
    if t not in ("chorus", "janus"):
        raise RuntimeError("CHORUS_TARGET must be 'chorus' or 'janus', not %r" % t)
    return t


def chorus_binary():
    """CHORUS_BIN, else the server binary of the build tree (CHORUS_BUILD or the
    source tree): BUILD/chorus (where the build puts it), or BUILD/src/chorus."""
    if os.environ.get("CHORUS_BIN"):
        return os.path.abspath(os.environ["CHORUS_BIN"])
    build = os.path.abspath(os.environ.get("CHORUS_BUILD") or SRC_ROOT)
    candidates = [os.path.join(build, "chorus"), os.path.join(build, "src", "chorus")]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return candidates[0]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def sanitizer_report(text):
    """The first sanitizer line found in a log, or None."""
    for line in text.splitlines():
        for marker in SANITIZER_MARKERS:
            if marker in line:
                return line
    return None


def _safe_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


class ServerError(AssertionError):
    pass


class Server:
    """One running server. Use as a context manager or call start()/stop()."""

    DEFAULT_PORTS = (8188, 7188, 8088)

    def __init__(self, name="server", settings=None, extra_args=None, default_ports=False,
                 kind=None):
        self.kind = kind or target()
        self.name = _safe_name(name)
        self.settings = dict(settings or {})
        self.extra_args = list(extra_args or [])
        self.proc = None
        self.tmpdir = None
        self.exit_code = None
        self.default_ports = default_ports
        if default_ports:
            self.ws_port, self.admin_port, self.http_port = self.DEFAULT_PORTS
        else:
            self.ws_port, self.admin_port, self.http_port = free_ports(3)
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.stdout_path = os.path.join(ARTIFACTS, "%s.%s.stdout.log" % (self.name, self.kind))
        self.stderr_path = os.path.join(ARTIFACTS, "%s.%s.stderr.log" % (self.name, self.kind))

    # ---- what tests need to know about the target ----
    @property
    def echo_plugin(self):
        return "chorus.plugin.echo" if self.kind == "chorus" else "janus.plugin.echotest"

    @property
    def has_http(self):
        return self.kind == "chorus"

    @property
    def ws_url(self):
        return "ws://127.0.0.1:%d/" % self.ws_port

    @property
    def admin_url(self):
        return "ws://127.0.0.1:%d/" % self.admin_port

    @property
    def http_url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def check_echo_event(self, plugindata, body):
        """Assert that plugindata is the echo plugin's answer to `body`."""
        assert plugindata["plugin"] == self.echo_plugin, plugindata
        data = plugindata["data"]
        if self.kind == "chorus":
            assert data.get("echo") == "event", data
            assert data.get("result") == "ok", data
            assert data.get("body") == body, data
        else:
            assert data.get("echotest") == "event", data
            assert data.get("result") == "ok", data

    # ---- process control ----
    def command(self):
        if self.kind == "chorus":
            binary = chorus_binary()
            if not os.access(binary, os.X_OK):
                raise ServerError("chorus binary not found or not executable: %s "
                                  "(build it, or set CHORUS_BIN / CHORUS_BUILD)" % binary)
            cmd = [binary]
            if not self.default_ports:
                cmd += ["--ws-port", str(self.ws_port), "--admin-port", str(self.admin_port),
                        "--http-port", str(self.http_port)]
            for key, value in self.settings.items():
                cmd += ["--set", "%s=%s" % (key, value)]
            return cmd + self.extra_args
        return self._janus_command()

    def _janus_command(self):
        d = self.tmpdir
        for sub in ("plugins", "transports", "conf", "empty"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.symlink(os.path.join(JANUS_LIB, "plugins", "libjanus_echotest.so"),
                   os.path.join(d, "plugins", "libjanus_echotest.so"))
        os.symlink(os.path.join(JANUS_LIB, "transports", "libjanus_websockets.so"),
                   os.path.join(d, "transports", "libjanus_websockets.so"))
        names = {
            "general.session_timeout": "session_timeout",
            "general.reclaim_timeout": "reclaim_session_timeout",
            "general.admin_secret": "admin_secret",
            "general.api_secret": "api_secret",
        }
        general = {}
        for key, value in self.settings.items():
            if key not in names:
                raise ServerError("setting %s has no Janus equivalent" % key)
            general[names[key]] = value
        lines = ["general: {",
                 '\tconfigs_folder = "%s/conf"' % d,
                 '\tplugins_folder = "%s/plugins"' % d,
                 '\ttransports_folder = "%s/transports"' % d,
                 '\tevents_folder = "%s/empty"' % d,
                 '\tloggers_folder = "%s/empty"' % d,
                 "\tdebug_level = 4"]
        for k, v in general.items():
            lines.append('\t%s = %s' % (k, v if isinstance(v, int) else '"%s"' % v))
        lines += ["}", "media: {}", "nat: {", "\tnice_debug = false", "}",
                  "plugins: {}", "transports: {}", "loggers: {}", "events: {}", ""]
        with open(os.path.join(d, "conf", "janus.jcfg"), "w") as f:
            f.write("\n".join(lines))
        with open(os.path.join(d, "conf", "janus.transport.websockets.jcfg"), "w") as f:
            f.write('general: {\n\tjson = "compact"\n\tws = true\n\tws_port = %d\n'
                    '\tws_ip = "127.0.0.1"\n\twss = false\n}\n'
                    'admin: {\n\tadmin_ws = true\n\tadmin_ws_port = %d\n'
                    '\tadmin_ws_ip = "127.0.0.1"\n\tadmin_wss = false\n}\n'
                    % (self.ws_port, self.admin_port))
        with open(os.path.join(d, "conf", "janus.plugin.echotest.jcfg"), "w") as f:
            f.write("general: {\n}\n")
        janus = os.environ.get("JANUS_BIN", "/usr/bin/janus")
        return [janus, "-F", os.path.join(d, "conf"), "-C", os.path.join(d, "conf", "janus.jcfg"),
                "-o", "-X", "vmnet"] + self.extra_args

    def start(self):
        self.tmpdir = tempfile.mkdtemp(prefix="chorus-test-")
        cmd = self.command()
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=self.tmpdir, env=env)
        ports = [self.ws_port, self.admin_port]
        if self.has_http:
            ports.append(self.http_port)
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(ports)
        while pending:
            if self.proc.poll() is not None:
                self._close_logs()
                raise ServerError("%s exited with %s before listening on %s\ncommand: %s\n"
                                  "stderr:\n%s" % (self.kind, self.proc.returncode, pending,
                                                   " ".join(cmd), self.stderr_tail()))
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError("%s did not listen on %s within %.0f s\nstderr:\n%s"
                                  % (self.kind, pending, START_TIMEOUT, self.stderr_tail()))
            pending = [p for p in pending if not port_open(p)]
            if pending:
                time.sleep(0.05)
        return self

    def signal(self, signum=signal.SIGTERM):
        if signum == signal.SIGTERM:
            self._term_sent = True
        self.proc.send_signal(signum)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the process to end; return its exit code (None if still running)."""
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self):
        """SIGTERM, then check a clean exit (0 within STOP_TIMEOUT) and a clean stderr.

        Raises ServerError describing every problem found."""
        if self.proc is None:
            return
        problems = []
        if self.proc.poll() is None:
            # One SIGTERM only: a test may have sent it already (a second one
            # may legitimately mean "stop now").
            if not getattr(self, "_term_sent", False):
                self.signal(signal.SIGTERM)
            code = self.wait_exit(STOP_TIMEOUT)
            if code is None:
                problems.append("did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
                self.kill()
        code = self.proc.returncode
        self.exit_code = code
        if code is not None and code != 0 and not (code == -signal.SIGKILL and problems):
            problems.append("exit code %s after SIGTERM (expected 0)" % code)
        self._close_logs()
        report = sanitizer_report(self.stderr_text()) or sanitizer_report(self.stdout_text())
        if report:
            problems.append("sanitizer report in the log: %s" % report)
        self.proc = None
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
        if problems:
            raise ServerError("%s (%s): %s\nlogs: %s\nstderr tail:\n%s"
                              % (self.kind, self.name, "; ".join(problems), self.stderr_path,
                                 self.stderr_tail()))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_logs()

    def _close_logs(self):
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f is not None and not f.closed:
                f.close()

    def stderr_text(self):
        try:
            with open(self.stderr_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self.stdout_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr_tail(self, n=40):
        text = self.stderr_text() or self.stdout_text()
        return "\n".join(text.splitlines()[-n:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.kill()
            return False
        self.stop()
        return False


def main(argv=None):
    """Serve mode, for test programs in other languages (tests/browser):

      python3 chorus_server.py [--name N] [--set section.key=value ...]

    starts a server, prints one JSON line with its kind, ports, URLs and echo
    plugin name, then waits until its standard input closes; it then stops the
    server and prints a JSON line {"ok": true} or {"ok": false, "error": "..."},
    exiting 0 or 1 accordingly.
    """
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--name", default="served")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = ap.parse_args(argv)
    settings = {}
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = int(value) if value.isdigit() else value
    srv = Server(args.name, settings=settings)
    try:
        srv.start()
    except ServerError as e:
        print(json.dumps({"ok": False, "error": str(e)}), flush=True)
        return 1
    print(json.dumps({"kind": srv.kind, "ws_port": srv.ws_port, "admin_port": srv.admin_port,
                      "http_port": srv.http_port if srv.has_http else None,
                      "ws_url": srv.ws_url, "admin_url": srv.admin_url,
                      "http_url": srv.http_url if srv.has_http else None,
                      "echo_plugin": srv.echo_plugin, "stderr": srv.stderr_path}), flush=True)
    signal.signal(signal.SIGTERM, lambda *a: None)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    try:
        srv.stop()
    except ServerError as e:
        print(json.dumps({"ok": False, "error": str(e)}), flush=True)
        return 1
    print(json.dumps({"ok": True}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
