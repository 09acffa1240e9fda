"""Token authentication (README "Authentication and limits"): HS256 JSON Web Tokens
made here with hmac/hashlib, checked by a server started with [auth] token_secret.

  - create needs a valid "token": missing, expired, not yet valid, wrongly signed,
    alg "none" and malformed tokens get 403 with a reason naming what is wrong;
  - the "plugins" grant limits attach (405), the "channels" grant limits voice join
    and switch (voice error 443 "token does not grant channel X");
  - a good token works end to end (a voice join with a real aiortc offer);
  - token_required=false makes tokens optional; api_secret and admin_secret keep
    their behaviour beside tokens; with tokens off a "token" member is ignored.

Chorus only: Janus's token auth is a list of stored tokens, not JWTs.
"""

import base64
import hashlib
import hmac
import json
import time

import pytest

from janus_client import JanusWS, error_code, run

SECRET = "auth-tests-secret-7f3a9c"
ADMIN_SECRET = "auth-tests-admin"
API_SECRET = "auth-tests-apisecret"
VOICE = "chorus.plugin.voice"


# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_token(claims, secret=SECRET, header=None, sign=True):
    """An HS256 JWT (or, with a header naming another alg, a token that claims it)."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    signing = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if not sign:
        return signing + "."
    mac = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return "%s.%s" % (signing, b64url(mac))


def claims(ttl=600, **extra):
    now = int(time.time())
    return dict({"sub": "tester", "iat": now, "exp": now + ttl}, **extra)


def auth_server(start_server, **settings):
    s = {"auth.token_secret": SECRET, "general.admin_secret": ADMIN_SECRET}
    s.update(settings)
    return start_server(s)


async def admin(srv, req):
    async with JanusWS(srv.admin_url, "janus-admin-protocol") as a:
        return await a.request(dict(req, admin_secret=ADMIN_SECRET))


def reason(reply):
    return reply.get("error", {}).get("reason", "")


async def voice_request(c, s, h, body, jsep=None):
    """(reply, plugindata.data) of a voice message; the event for async answers."""
    msg = {"janus": "message", "session_id": s, "handle_id": h, "body": body}
    if jsep is not None:
        msg["jsep"] = jsep
    r = await c.request(msg)
    return r, (r.get("plugindata") or {}).get("data") or {}


# --------------------------------------------------------------------------
# create
# --------------------------------------------------------------------------

def test_create_needs_a_valid_token(chorus_only, start_server):
    srv = auth_server(start_server)
    now = int(time.time())
    cases = [
        ("missing", None, "missing token"),
        ("not a string", 12345, "malformed token"),
        ("expired", make_token(claims(ttl=-3600)), "token expired"),
        ("not yet valid", make_token(claims(nbf=now + 3600)), "not yet valid"),
        ("wrongly signed", make_token(claims(), secret="not-the-secret"), "bad token signature"),
        ("alg none", make_token(claims(), header={"alg": "none", "typ": "JWT"}, sign=False),
         "not accepted"),
        ("alg HS512", make_token(claims(), header={"alg": "HS512"}), "only HS256"),
        ("no exp", make_token({"sub": "tester"}), "exp"),
        ("malformed base64", "e30+.e30.abc", "malformed token"),
        ("malformed JSON", "%s.%s.%s" % (b64url(b'{"alg":'), b64url(b"{}"), b64url(b"x")),
         "malformed token"),
        ("two parts", "abc.def", "malformed token"),
        ("bad grant", make_token(claims(plugins="chorus.plugin.echo")), "plugins"),
    ]

    async def body():
        async with JanusWS(srv.ws_url) as c:
            r = await c.request({"janus": "info"})
            assert r.get("auth_token") is True, r
            seen = {}
            for name, token, why in cases:
                req = {"janus": "create"}
                if token is not None:
                    req["token"] = token
                r = await c.request(req)
                assert error_code(r) == 403, (name, r)
                assert why in reason(r), "%s: reason %r lacks %r" % (name, reason(r), why)
                seen[name] = reason(r)
            print("403 reasons: %s" % json.dumps(seen, indent=1))
            r = await admin(srv, {"janus": "list_sessions"})
            assert r["sessions"] == [], "a refused create left a session: %s" % r
            # A good token: a session, handles, plugin messages as usual.
            s = await c.create_session(token=make_token(claims()))
            h = await c.attach(s, srv.echo_plugin)
            _, ev = await c.message(s, h, {"audio": True})
            srv.check_echo_event(ev["plugindata"], {"audio": True})
            r = await c.request({"janus": "keepalive", "session_id": s}, skip_ack=False)
            assert r["janus"] == "ack", r
    run(body())


def test_plugins_grant_limits_attach(chorus_only, start_server):
    srv = auth_server(start_server)

    async def body():
        async with JanusWS(srv.ws_url) as c:
            s = await c.create_session(token=make_token(claims(plugins=[VOICE])))
            r = await c.request({"janus": "attach", "session_id": s, "plugin": srv.echo_plugin})
            assert error_code(r) == 405, r
            assert srv.echo_plugin in reason(r) and "not granted" in reason(r), r
            r = await c.request({"janus": "attach", "session_id": s, "plugin": "no.such"})
            assert error_code(r) == 460, r  # an unknown plugin stays 460
            await c.attach(s, VOICE)
            s2 = await c.create_session(token=make_token(claims(plugins=[])))
            r = await c.request({"janus": "attach", "session_id": s2, "plugin": VOICE})
            assert error_code(r) == 405, r
            s3 = await c.create_session(token=make_token(claims()))  # no grant: any plugin
            await c.attach(s3, srv.echo_plugin)
            await c.attach(s3, VOICE)
            r = await admin(srv, {"janus": "list_handles", "session_id": s})
            assert len(r["handles"]) == 1, r
    run(body())


# --------------------------------------------------------------------------
# voice channels grant
# --------------------------------------------------------------------------

def test_channels_grant_limits_voice_join_and_switch(chorus_only, start_server):
    pytest.importorskip("aiortc", reason="needs python3-aiortc: run with /usr/bin/python3")
    from voice_peer import Participant, close_all
    srv = auth_server(start_server)
    names = ["auth-lobby", "auth-staff", "auth-games"]

    async def body():
        async with JanusWS(srv.ws_url) as c:
            s = await c.create_session(token=make_token(claims(channels=["*"])))
            h = await c.attach(s, VOICE)
            for n in names:
                _, data = await voice_request(c, s, h, {"request": "create", "channel": n})
                assert data.get("voice") == "created", data
            # Only auth-lobby granted: join elsewhere is 443 (before any offer check).
            lim = await c.create_session(token=make_token(claims(channels=["auth-lobby"])))
            hl = await c.attach(lim, VOICE)
            for n in ("auth-staff", "no-such-channel"):
                _, data = await voice_request(c, lim, hl, {"request": "join", "channel": n})
                assert data.get("voice") == "error" and data.get("error_code") == 443, data
                assert data.get("error") == "token does not grant channel %s" % n, data
        # The granted channel works with a real offer; switch is limited the same way.
        p = Participant(srv, "limited", slots=1, keepalive=0)
        anyone = Participant(srv, "anywhere", slots=1, keepalive=0)
        try:
            for part, grant in ((p, ["auth-lobby", "auth-games"]), (anyone, ["*"])):
                part.ws = await JanusWS(srv.ws_url).connect()
                part.session = await part.ws.create_session(
                    token=make_token(claims(channels=grant)))
                part.handle = await part.ws.attach(part.session, VOICE)
            msg, data = await p.join("auth-lobby")
            assert data.get("voice") == "joined" and msg.get("jsep"), msg
            msg, data = await p.switch("auth-staff")
            assert data.get("voice") == "error" and data.get("error_code") == 443, msg
            assert data.get("error") == "token does not grant channel auth-staff", data
            msg, data = await p.switch("auth-games")
            assert data.get("voice") == "switched", msg
            msg, data = await anyone.join("auth-staff")
            assert data.get("voice") == "joined", msg
            msg, data = await anyone.switch("auth-games")
            assert data.get("voice") == "switched", msg
            print("limited: joined auth-lobby, switch to auth-staff refused (443), "
                  "switched to auth-games; '*' joined auth-staff and switched")
        finally:
            await close_all([p, anyone])
    run(body(), timeout=90)


# --------------------------------------------------------------------------
# token_required = false, and the other secrets
# --------------------------------------------------------------------------

def test_optional_tokens_still_verified(chorus_only, start_server):
    srv = auth_server(start_server, **{"auth.token_required": "false"})

    async def body():
        async with JanusWS(srv.ws_url) as c:
            s = await c.create_session()  # no token: allowed, nothing restricted
            await c.attach(s, srv.echo_plugin)
            _, data = await voice_request(c, s, await c.attach(s, VOICE),
                                          {"request": "join", "channel": "x"})
            assert data.get("error_code") != 443, data
            r = await c.request({"janus": "create", "token": make_token(claims(ttl=-3600))})
            assert error_code(r) == 403 and "expired" in reason(r), r
            s2 = await c.create_session(token=make_token(claims(plugins=[VOICE])))
            r = await c.request({"janus": "attach", "session_id": s2, "plugin": srv.echo_plugin})
            assert error_code(r) == 405, r
    run(body())


def test_api_secret_and_admin_secret_beside_tokens(chorus_only, start_server):
    srv = auth_server(start_server, **{"general.api_secret": API_SECRET})
    good = make_token(claims())

    async def body():
        async with JanusWS(srv.ws_url) as c:
            r = await c.request({"janus": "create", "token": good})
            assert error_code(r) == 403, r  # the apisecret is still required
            r = await c.request({"janus": "create", "apisecret": API_SECRET})
            assert error_code(r) == 403 and "missing token" in reason(r), r
            s = await c.create_session(token=good, apisecret=API_SECRET)
            r = await c.request({"janus": "attach", "session_id": s, "plugin": srv.echo_plugin})
            assert error_code(r) == 403, r
            await c.attach(s, srv.echo_plugin, apisecret=API_SECRET)
            r = await c.request({"janus": "ping"})
            assert r["janus"] == "pong", r
        # The admin API: admin_secret as before, no token needed.
        async with JanusWS(srv.admin_url, "janus-admin-protocol") as a:
            r = await a.request({"janus": "list_sessions", "token": good})
            assert error_code(r) == 403, r
            r = await a.request({"janus": "list_sessions", "admin_secret": ADMIN_SECRET})
            assert r["janus"] == "success" and len(r["sessions"]) == 1, r
    run(body())


def test_tokens_off_ignores_the_token_member(chorus_only, start_server):
    srv = start_server()

    async def body():
        async with JanusWS(srv.ws_url) as c:
            r = await c.request({"janus": "info"})
            assert r.get("auth_token") is False, r
            s = await c.create_session(token="not even a token")
            await c.attach(s, srv.echo_plugin)
    run(body())
