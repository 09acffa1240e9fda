// html/echo.html (on html/js/chorus.js) in headless Chromium against a server started
// for each test: the fake camera and microphone go to the echo plugin and come back;
// the remote audio is played (so its energy rises), the remote video is decoded, the
// data channel echoes, and the signalling survives a dropped WebSocket (claim).
//
//   cd tests/browser && node --test echo_page.test.mjs
// CHORUS_TARGET=janus runs the same against Debian's Janus (janus.plugin.echotest).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TARGET, startServer, stopProblems, launchBrowser, waitFor, within, screenshot, cleanup,
} from './lib.mjs';

after(cleanup);

const pageUrl = (srv) => `${srv.httpUrl}/echo.html?` +
  new URLSearchParams({ server: srv.wsUrl, plugin: srv.echoPlugin });

async function stopServer(srv) {
  const res = await srv.stop();
  assert.deepEqual(stopProblems(res), [], `server stop (log ${srv.logPath}):\n${srv.log().slice(-3000)}`);
}

// Remote media as the page sees it: the stats summary and the <video>/<audio> elements.
const remoteState = (page) => page.evaluate(async () => {
  const s = await window.echoTest.stats();
  const v = document.getElementById('remoteVideo');
  const a = document.getElementById('remoteAudio');
  return {
    inAudio: s && s.inbound.audio, inVideo: s && s.inbound.video, transport: s && s.transport,
    video: { width: v.videoWidth, height: v.videoHeight, paused: v.paused, time: v.currentTime },
    audio: { paused: a.paused, time: a.currentTime,
             tracks: a.srcObject ? a.srcObject.getAudioTracks().map((t) => t.readyState) : [] },
  };
});

test('echo.html: camera, microphone and data channel come back', { timeout: 90000 }, async () => {
  const srv = await startServer({ name: 'browser-echo-page' });
  const { page, close, saveConsole } = await launchBrowser('browser-echo-page');
  try {
    const resp = await page.goto(pageUrl(srv), { timeout: 20000 });
    assert.equal(resp.status(), 200, 'echo.html is served');
    assert.equal(await page.evaluate(() => typeof window.Chorus?.connect), 'function', 'js/chorus.js loaded');

    const started = await within(page.evaluate(() => window.echoTest.start()), 30000, 'echoTest.start()');
    assert.equal(started.jsep.type, 'answer', JSON.stringify(started));
    if (TARGET === 'chorus') assert.equal(started.data.echo, 'event', JSON.stringify(started.data));

    // Remote audio: packets arrive, the <audio> element plays them, so energy rises.
    // Remote video: frames are decoded and the <video> element shows them.
    const st = await waitFor(async () => {
      const r = await remoteState(page);
      const ok = r.inAudio?.packetsReceived > 0 && r.inAudio?.totalAudioEnergy > 0 &&
                 r.inVideo?.packetsReceived > 0 && r.inVideo?.framesDecoded > 0 &&
                 r.video.width > 0 && !r.video.paused && r.video.time > 0 && !r.audio.paused;
      return ok ? r : Object.assign({ ok: false }, r);
    }, 'echoed audio (energy > 0) and video (frames decoded)', 30000);
    assert.ok(st.inAudio.packetsReceived > 0, JSON.stringify(st.inAudio));
    assert.ok(st.inAudio.totalAudioEnergy > 0, JSON.stringify(st.inAudio));
    assert.match(st.inAudio.codec, /^opus\//i);
    assert.ok(st.inVideo.framesDecoded > 0, JSON.stringify(st.inVideo));
    assert.ok(st.inVideo.frameWidth > 0 && st.inVideo.frameHeight > 0, JSON.stringify(st.inVideo));
    assert.deepEqual(st.audio.tracks, ['live'], 'the remote <audio> element holds the echoed track');
    assert.equal(st.transport.dtlsState, 'connected');

    // The server told the page that the PeerConnection is up.
    const events = await page.evaluate(() => window.echoTest.events.slice());
    assert.ok(events.some((e) => e.startsWith('webrtcup')), 'webrtcup event: ' + JSON.stringify(events));

    // The data channel echoes (Janus's echotest adds a prefix; Chorus's echo does not).
    await waitFor(() => page.evaluate(() => window.echoTest.handle?.dataChannel?.readyState === 'open'),
                  'the data channel to open', 15000);
    const token = 'chorus-data-' + Math.random().toString(36).slice(2);
    const echoed = await within(page.evaluate((t) => window.echoTest.sendData(t), token), 10000, 'data echo');
    if (TARGET === 'chorus') assert.equal(echoed, token);
    else assert.ok(echoed.includes(token), echoed);

    // The page's own statistics panel has caught up (bitrate, cipher, ICE pair) before the picture.
    await waitFor(() => page.evaluate(() => {
      const t = document.getElementById('transportTable').textContent;
      const bitrates = document.getElementById('statsTable').tBodies[0].rows[0].textContent;
      return /SRTP cipher\s*\S*(AES|AEAD)/.test(t) && /ICE pair\s*(host|srflx|prflx|relay)/.test(t) &&
             (bitrates.match(/bit\/s/g) || []).length === 4;
    }), 'the stats panel to show four bitrates, the SRTP cipher and the ICE pair', 10000);
    await screenshot(page, 'echo.png');

    // Stop: the handle is detached and the PeerConnection closed.
    await within(page.evaluate(() => window.echoTest.stop()), 10000, 'echoTest.stop()');
    const after = await page.evaluate(() => ({ pc: window.echoTest.pc, handle: window.echoTest.handle,
                                               session: window.echoTest.session.state }));
    assert.deepEqual(after, { pc: null, handle: null, session: 'connected' });
  } finally {
    await screenshot(page, 'echo-last.png').catch(() => {});
    saveConsole();
    await close();
  }
  await stopServer(srv);
});

test('chorus.js: errors, keepalive, reconnect with claim, hangup and detach', { timeout: 90000 }, async () => {
  const srv = await startServer({ name: 'browser-echo-reconnect' });
  const { page, close, saveConsole } = await launchBrowser('browser-echo-reconnect');
  try {
    await page.goto(pageUrl(srv), { timeout: 20000 });

    // Requests are transactions: errors come back as rejections with Janus codes.
    const bad = await page.evaluate(async (url) => {
      const s = await Chorus.connect(url, { keepaliveMs: 300 });
      const acks = [];
      s.on('message', (m) => { if (m.janus === 'ack') acks.push(m.transaction); });
      let code = null;
      try { await s.attach('no.such.plugin'); } catch (e) { code = e.code; }
      await new Promise((r) => setTimeout(r, 1000));
      const info = await s.info();
      await s.destroy();
      return { code, acks: acks.length, info: info.janus, state: s.state };
    }, srv.wsUrl);
    assert.equal(bad.code, 460, 'attach to an unknown plugin: 460');
    assert.ok(bad.acks >= 2, `keepalives every 300 ms were acknowledged: ${bad.acks}`);
    assert.equal(bad.info, 'server_info');
    assert.equal(bad.state, 'closed');

    await within(page.evaluate(() => window.echoTest.start()), 30000, 'echoTest.start()');
    await waitFor(async () => (await remoteState(page)).inVideo?.framesDecoded > 0, 'echoed video', 30000);
    const before = await page.evaluate(() => ({ id: window.echoTest.session.id, handle: window.echoTest.handle.id }));

    // Drop the signalling socket under the session (the PeerConnection is not touched).
    // A request made while reconnecting is queued and sent after the claim.
    const seen = await within(page.evaluate(() => new Promise((resolve, reject) => {
      const s = window.echoTest.session;
      const states = [];
      let queued = null;
      s.on('statechange', (st) => states.push(st));
      s.once('disconnected', () => {
        queued = window.echoTest.handle.request({ audio: true, video: true });
        queued.catch(reject);
      });
      s.once('reconnected', async () => resolve({ states, id: s.id, reply: await queued }));
      s.ws.close();
    })), 20000, 'reconnect');
    assert.deepEqual(seen.states, ['reconnecting', 'connected']);
    assert.equal(seen.id, before.id, 'the same session was claimed');

    // The handle still works over the new socket, and so do media and data.
    const reply = seen.reply;
    if (TARGET === 'chorus') assert.equal(reply.data.echo, 'event', JSON.stringify(reply));
    else assert.equal(reply.data.echotest, 'event', JSON.stringify(reply));
    assert.equal(await page.evaluate(() => window.echoTest.handle.id), before.handle);
    const p0 = (await remoteState(page)).inAudio.packetsReceived;
    await waitFor(async () => (await remoteState(page)).inAudio.packetsReceived > p0 + 20,
                  'audio still echoed after the reconnect', 10000);
    const token = 'after-claim-' + Date.now();
    const echoed = await within(page.evaluate((t) => window.echoTest.sendData(t), token), 10000, 'data echo');
    assert.ok(echoed.includes(token), echoed);

    // A session the server no longer knows cannot be claimed: the library gives up cleanly.
    const lost = await within(page.evaluate(async (url) => {
      const s = new Chorus.Session(url, { sessionId: 987654321 });
      try { await s.open(); return { ok: true }; } catch (e) { return { ok: false, code: e.code, state: s.state }; }
    }, srv.wsUrl), 10000, 'claim of an unknown session');
    assert.deepEqual(lost, { ok: false, code: 458, state: 'closed' });

    await within(page.evaluate(() => window.echoTest.stop()), 10000, 'echoTest.stop()');

    // hangup() ends the PeerConnection (the server confirms with "hangup"); the same handle
    // can connect again; detach() ends it ("detached").
    const again = await within(page.evaluate(async (plugin) => {
      const h = await window.echoTest.session.attach(plugin);
      const events = [];
      for (const n of ['webrtcup', 'hangup', 'detached']) h.on(n, () => events.push(n));
      const received = async () => {
        let n = 0;
        (await h.pc.getStats()).forEach((x) => { if (x.type === 'inbound-rtp') n += x.packetsReceived; });
        return n;
      };
      const until = async (cond) => { while (!(await cond())) await new Promise((r) => setTimeout(r, 100)); };
      await h.connect({ audio: true, video: false });
      await until(async () => (await received()) > 0);
      await h.hangup();
      await until(() => events.includes('hangup'));
      const pcAfterHangup = h.pc;
      await h.connect({ audio: true, video: false });
      await until(async () => (await received()) > 0);
      await h.detach();
      return { events, pcAfterHangup, detached: h.detached, pc: h.pc };
    }, srv.echoPlugin), 30000, 'hangup, connect again, detach');
    // (a "hangup" may come before "detached": detaching ends the PeerConnection too)
    assert.deepEqual(again.events.slice(0, 3), ['webrtcup', 'hangup', 'webrtcup'], JSON.stringify(again));
    assert.equal(again.events.at(-1), 'detached', JSON.stringify(again));
    assert.deepEqual([again.pcAfterHangup, again.detached, again.pc], [null, true, null]);
    await page.evaluate(() => window.echoTest.session.destroy());
  } finally {
    saveConsole();
    await close();
  }
  await stopServer(srv);
});
