"""pytest fixtures for the Chorus integration tests.

`server` starts a server with default settings for one test; `start_server`
is a factory for tests that need their own settings. Every server started is
stopped at teardown with SIGTERM, and teardown fails if the process does not
exit 0 within 5 s or left a sanitizer report in its log.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chorus_server import Server, target  # noqa: E402


def pytest_report_header(config):
    from chorus_server import chorus_binary
    if target() == "janus":
        return "server under test: janus (%s)" % os.environ.get("JANUS_BIN", "/usr/bin/janus")
    return "server under test: chorus (%s)" % chorus_binary()


@pytest.fixture
def start_server(request):
    started = []

    def start(settings=None, extra_args=None, name=None, default_ports=False):
        n = name or "%s-%d" % (request.node.name, len(started))
        srv = Server(n, settings=settings, extra_args=extra_args, default_ports=default_ports)
        started.append(srv)
        return srv.start()

    yield start
    problems = []
    for srv in started:
        try:
            srv.stop()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("server teardown: " + "\n\n".join(problems), pytrace=False)


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture
def chorus_only():
    if target() != "chorus":
        pytest.skip("Chorus-specific behaviour (no Janus equivalent)")
