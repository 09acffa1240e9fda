"""A small Janus API v1 client over WebSocket (python3-websockets, asyncio).

Every message received is kept in `received` (in order) so tests can assert
both what arrived and what did not. All waits are bounded.
"""

import asyncio
import itertools
import json

import websockets

WAIT = 15.0  # bound for any single wait; never a pass/fail threshold on speed

_ids = itertools.count(1)


def new_transaction(prefix="t"):
    return "%s-%d" % (prefix, next(_ids))


class ProtocolError(AssertionError):
    pass


class JanusWS:
    def __init__(self, url, subprotocol="janus-protocol"):
        self.url = url
        self.subprotocol = subprotocol
        self.ws = None
        self.received = []
        self._cond = None
        self._reader = None
        self.closed = False

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def connect(self):
        self._cond = asyncio.Condition()
        self.ws = await asyncio.wait_for(
            websockets.connect(self.url, subprotocols=[self.subprotocol], open_timeout=WAIT,
                               close_timeout=2, max_size=None, ping_interval=None),
            WAIT)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    msg = {"_unparsable": raw}
                async with self._cond:
                    self.received.append(msg)
                    self._cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._cond:
                self.closed = True
                self._cond.notify_all()

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, WAIT)
            except asyncio.TimeoutError:
                self._reader.cancel()

    async def send_raw(self, text):
        await self.ws.send(text)

    async def send(self, msg):
        await self.ws.send(json.dumps(msg))

    async def wait_for(self, pred, timeout=WAIT, start=0, what="a matching message"):
        """Return the first received message (from index `start`) matching pred."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while True:
                for m in self.received[start:]:
                    if pred(m):
                        return m
                if self.closed:
                    raise ProtocolError("socket closed while waiting for %s; got %s"
                                        % (what, self.received[start:]))
                left = deadline - loop.time()
                if left <= 0:
                    raise ProtocolError("no %s within %.0f s; got %s"
                                        % (what, timeout, self.received[start:]))
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    async def wait_closed(self, timeout=WAIT):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            while not self.closed:
                left = deadline - loop.time()
                if left <= 0:
                    raise ProtocolError("socket still open after %.0f s" % timeout)
                try:
                    await asyncio.wait_for(self._cond.wait(), left)
                except asyncio.TimeoutError:
                    pass

    async def request(self, msg, timeout=WAIT, skip_ack=True):
        """Send msg (adding a transaction if it has none) and return the first reply
        carrying that transaction (skipping "ack" unless skip_ack is False)."""
        if "transaction" not in msg:
            msg = dict(msg, transaction=new_transaction(msg.get("janus", "t")))
        start = len(self.received)
        tr = msg["transaction"]
        await self.send(msg)
        return await self.wait_for(
            lambda m: m.get("transaction") == tr and not (skip_ack and m.get("janus") == "ack"),
            timeout, start, "reply to %s" % json.dumps(msg))

    # ---- helpers for the usual steps; each asserts success ----
    async def create_session(self, **extra):
        r = await self.request(dict({"janus": "create"}, **extra))
        if r.get("janus") != "success":
            raise ProtocolError("create failed: %s" % r)
        return r["data"]["id"]

    async def attach(self, session_id, plugin, **extra):
        r = await self.request(dict({"janus": "attach", "session_id": session_id,
                                     "plugin": plugin}, **extra))
        if r.get("janus") != "success":
            raise ProtocolError("attach failed: %s" % r)
        return r["data"]["id"]

    async def message(self, session_id, handle_id, body, **extra):
        """Send a plugin message; return (ack_or_first_reply, event)."""
        tr = new_transaction("message")
        start = len(self.received)
        await self.send(dict({"janus": "message", "session_id": session_id, "handle_id": handle_id,
                              "transaction": tr, "body": body}, **extra))
        first = await self.wait_for(lambda m: m.get("transaction") == tr, WAIT, start,
                                    "first reply to message %s" % tr)
        if first.get("janus") == "error":
            raise ProtocolError("message failed: %s" % first)
        event = await self.wait_for(lambda m: m.get("transaction") == tr and m.get("janus") == "event",
                                    WAIT, start, "event for message %s" % tr)
        return first, event


def error_code(reply):
    if reply.get("janus") != "error":
        raise ProtocolError("expected an error, got %s" % reply)
    return reply["error"]["code"]


def run(coro, timeout=120):
    """Run one test coroutine with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
