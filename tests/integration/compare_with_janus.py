#!/usr/bin/python3
"""Send the same Janus API requests to Chorus and to Debian's Janus and print
where the answers differ. Not a test (it asserts nothing): a tool to find
protocol discrepancies.

    /usr/bin/python3 tests/integration/compare_with_janus.py [--all]

Answers are normalised before comparing: session and handle ids become $S/$H,
the echo plugin's name becomes $PLUGIN, "reason" texts and Janus's "hint" are
dropped, and plugin data is not compared (the two echo plugins differ by
design). --all prints every exchange, not only the differing ones.
Uses the same server launcher as the tests (CHORUS_BIN / CHORUS_BUILD).
"""

import asyncio
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chorus_server import Server  # noqa: E402
from janus_client import JanusWS  # noqa: E402

SECRET = "adm"
ECHO_BODY = {"audio": True}

# Each step: (socket name, request) where request is a dict or a raw string.
# "$S", "$H", "$PLUGIN" are replaced; sockets: c1, c2 (Janus API), a (admin).
STEPS = [
    ("c1", "{not json"),
    ("c1", "[1,2]"),
    ("c1", '"str"'),
    ("c1", {"transaction": "x"}),
    ("c1", {"janus": "foo", "transaction": "x"}),
    ("c1", {"janus": "create"}),
    ("c1", {"janus": "create", "transaction": 3}),
    ("c1", {"janus": "create", "transaction": "x", "id": "abc"}),
    ("c1", {"janus": "attach", "transaction": "x", "plugin": "$PLUGIN"}),
    ("c1", {"janus": "keepalive", "transaction": "x", "session_id": 12345}),
    ("c1", {"janus": "ping", "transaction": "x"}),
    ("c1", "CREATE"),
    ("c1", {"janus": "create", "transaction": "x", "id": "$S"}),
    ("c1", {"janus": "create", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "create", "transaction": "x", "id": 7777}),
    ("c1", {"janus": "attach", "transaction": "x", "session_id": "$S", "plugin": "nope.plugin"}),
    ("c1", {"janus": "attach", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "attach", "transaction": "x", "session_id": "$S", "plugin": 5}),
    ("c1", {"janus": "attach", "transaction": "x", "session_id": "abc", "plugin": "$PLUGIN"}),
    ("c1", {"janus": "attach", "transaction": 5, "session_id": "$S", "plugin": "$PLUGIN"}),
    ("c1", "ATTACH"),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": [1]}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": 999,
            "body": {}}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "body": {}}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY, "jsep": {"type": "foo", "sdp": "v=0\r\n"}}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY, "jsep": {"type": "offer", "sdp": "garbage"}}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY, "jsep": {"type": "offer"}}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY, "jsep": {"sdp": "v=0\r\n"}}),
    ("c1", {"janus": "message", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY, "jsep": "offer"}),
    ("c1", {"janus": "keepalive", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "keepalive", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "trickle", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "candidate": {"completed": True}}),
    ("c1", {"janus": "trickle", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "candidate": {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host",
                          "sdpMid": "0", "sdpMLineIndex": 0}}),
    ("c1", {"janus": "trickle", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "candidates": [{"completed": True}]}),
    ("c1", {"janus": "trickle", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "trickle", "transaction": "x", "session_id": "$S", "handle_id": "$H",
            "candidate": "x"}),
    ("a", {"janus": "list_sessions", "transaction": "x"}),
    ("a", {"janus": "list_sessions", "transaction": "x", "admin_secret": SECRET}),
    ("a", {"janus": "list_handles", "transaction": "x", "admin_secret": SECRET, "session_id": "$S"}),
    ("a", {"janus": "list_handles", "transaction": "x", "admin_secret": SECRET}),
    ("a", {"janus": "list_handles", "transaction": "x", "admin_secret": SECRET, "session_id": 1}),
    ("a", {"janus": "handle_info", "transaction": "x", "admin_secret": SECRET, "session_id": "$S",
           "handle_id": 1}),
    ("a", {"janus": "get_status", "transaction": "x"}),
    ("a", {"janus": "ping", "transaction": "x"}),
    ("a", {"janus": "create", "transaction": "x", "admin_secret": SECRET}),
    ("a", {"janus": "bogus", "transaction": "x", "admin_secret": SECRET}),
    ("c1", {"janus": "list_sessions", "transaction": "x", "admin_secret": SECRET}),
    ("c2", {"janus": "claim", "transaction": "x"}),
    ("c2", {"janus": "claim", "transaction": "x", "session_id": 1}),
    ("c2", {"janus": "claim", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "message", "transaction": "m", "session_id": "$S", "handle_id": "$H",
            "body": ECHO_BODY}),
    ("c2", {"janus": "claim", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "hangup", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "detach", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "detach", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "foo", "transaction": "x", "session_id": "$S", "handle_id": "$H"}),
    ("c1", {"janus": "foo", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "destroy", "transaction": "x", "session_id": "$S", "handle_id": 1}),
    ("c1", {"janus": "destroy", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "keepalive", "transaction": "x", "session_id": "$S"}),
    ("c1", {"janus": "destroy", "transaction": "x", "session_id": "$S"}),
    ("c2", {"janus": "claim", "transaction": "x", "session_id": "$S"}),
    ("c1", "CREATE"),
    ("c1", "ATTACH"),
    ("c1", "SIGTERM"),
]


def subst(obj, ids, plugin):
    if isinstance(obj, dict):
        return {k: subst(v, ids, plugin) for k, v in obj.items()}
    if obj == "$S":
        return ids.get("S", 1)
    if obj == "$H":
        return ids.get("H", 1)
    if obj == "$PLUGIN":
        return plugin
    return obj


def normalise(msg, ids, plugin):
    if isinstance(msg, dict):
        out = {}
        for k, v in msg.items():
            if k in ("reason", "hint"):
                continue
            if k == "plugindata":
                v = {"plugin": "$PLUGIN" if v.get("plugin") == plugin else v.get("plugin"),
                     "data": "..."}
            elif k in ("info", "status") and isinstance(v, dict):
                v = "{...}"
            out[k] = normalise(v, ids, plugin)
        if msg.get("janus") == "server_info":
            return {"janus": "server_info", "keys": sorted(msg.keys()),
                    "plugins": sorted("$PLUGIN" if p == plugin else p for p in msg.get("plugins", {}))}
        return out
    if isinstance(msg, list):
        return [normalise(v, ids, plugin) for v in msg]
    if isinstance(msg, int) and not isinstance(msg, bool):
        for name, value in ids.items():
            if msg == value:
                return "$" + name
        if msg > 10 ** 9:
            return "$ID"
    if msg == plugin:
        return "$PLUGIN"
    return msg


async def play(srv):
    socks = {"c1": await JanusWS(srv.ws_url).connect(), "c2": await JanusWS(srv.ws_url).connect(),
             "a": await JanusWS(srv.admin_url, "janus-admin-protocol").connect()}
    ids = {}
    results = []
    for name, req in STEPS:
        c = socks[name]
        starts = {k: len(s.received) for k, s in socks.items()}
        label = req
        if req == "CREATE":
            ids["S"] = await c.create_session(transaction="x")
            label = "(create a session $S)"
        elif req == "ATTACH":
            ids["H"] = await c.attach(ids["S"], srv.echo_plugin, transaction="x")
            label = "(attach $H)"
        elif req == "SIGTERM":
            srv.signal(signal.SIGTERM)
            for s in socks.values():
                try:
                    await s.wait_closed(10)
                except AssertionError:
                    pass
            label = "(SIGTERM)"
        elif isinstance(req, str):
            await c.send_raw(req)
        else:
            await c.send(subst(req, ids, srv.echo_plugin))
        if req != "SIGTERM":
            # Everything caused by this step is in once a ping round-trips on every socket.
            await asyncio.sleep(0.2)
            for s in socks.values():
                if not s.closed:
                    await s.request({"janus": "ping", "transaction": "sync"})
        got = []
        for k, s in socks.items():
            for m in s.received[starts[k]:]:
                if m.get("transaction") == "sync":
                    continue
                got.append("%s<< %s" % (k, json.dumps(normalise(m, ids, srv.echo_plugin),
                                                      sort_keys=True)))
            if req == "SIGTERM" and s.closed:
                got.append("%s<< (closed)" % k)
        results.append((name, label if isinstance(label, str) else json.dumps(label), got))
    for s in socks.values():
        await s.close()
    return results


def run(kind):
    srv = Server("compare", settings={"general.admin_secret": SECRET}, kind=kind).start()
    try:
        return asyncio.run(asyncio.wait_for(play(srv), 300))
    finally:
        try:
            srv.stop()
        except AssertionError as e:
            print("note: %s stop: %s" % (kind, str(e).splitlines()[0]))


def main():
    show_all = "--all" in sys.argv
    janus = run("janus")
    chorus = run("chorus")
    differ = 0
    for (name, label, jg), (_, _, cg) in zip(janus, chorus):
        same = sorted(jg) == sorted(cg)
        if same and not show_all:
            continue
        differ += not same
        print("%s %s>> %s" % ("  " if same else "!=", name, label))
        for line in jg:
            print("     janus  %s" % line)
        for line in cg:
            print("     chorus %s" % line)
    print("%d of %d steps differ" % (differ, len(STEPS)))


if __name__ == "__main__":
    main()
