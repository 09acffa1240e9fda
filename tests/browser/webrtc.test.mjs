// WebRTC between headless Chromium and the server, each test on its own server:
//   - the SRTP profile: AEAD_AES_128_GCM, seen by the browser (transport stats) and by the
//     server (admin API handle_info); the AES-CM fallback when the server is told so;
//   - trickle ICE both ways with UNMODIFIED janus.js (Debian libjs-janus-gateway);
//   - media through a TURN relay (coturn on loopback, iceTransportPolicy "relay").
//
//   cd tests/browser && node --test webrtc.test.mjs
// CHORUS_TARGET=janus runs them against Debian's Janus (its echotest plugin), where the
// Chorus-only parts (GCM: Debian's Janus has no AES-GCM; admin field names) are skipped.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  TARGET, JANUS_JS, ADAPTER_JS, startServer, stopProblems, launchBrowser, waitFor, within,
  adminRequest, startTurn, screenshot, onCleanup, cleanup,
} from './lib.mjs';

after(cleanup);

async function stopServer(srv) {
  const res = await srv.stop();
  assert.deepEqual(stopProblems(res), [], `server stop (log ${srv.logPath}):\n${srv.log().slice(-3000)}`);
}

const echoUrl = (srv) => `${srv.httpUrl}/echo.html?` +
  new URLSearchParams({ server: srv.wsUrl, plugin: srv.echoPlugin });

// Starts echo.html's echo and waits until echoed audio and video packets arrive.
async function startEcho(page, srv, opts = {}) {
  await page.goto(echoUrl(srv), { timeout: 20000 });
  await within(page.evaluate((o) => window.echoTest.start(o), opts), 30000, 'echoTest.start()');
  return waitFor(async () => {
    const s = await page.evaluate(() => window.echoTest.stats());
    const ok = s?.inbound.audio?.packetsReceived > 0 && s?.inbound.video?.packetsReceived > 0 &&
               s?.transport?.srtpCipher && s?.transport?.selectedPair;
    return ok ? s : Object.assign({ ok: false }, s);
  }, 'echoed audio and video packets', 30000);
}

const handleInfo = async (page, srv) => {
  const ids = await page.evaluate(() => ({ session_id: window.echoTest.session.id,
                                           handle_id: window.echoTest.handle.id }));
  const reply = await within(adminRequest(page, srv.adminUrl, Object.assign({ janus: 'handle_info' }, ids)),
                             15000, 'admin handle_info');
  assert.equal(reply.janus, 'success', JSON.stringify(reply));
  return reply.info;
};

test('SRTP: AEAD_AES_128_GCM between Chromium and the server', { timeout: 90000 }, async (t) => {
  const srv = await startServer({ name: 'browser-srtp-gcm' });
  const { page, close, saveConsole } = await launchBrowser('browser-srtp-gcm');
  try {
    const s = await startEcho(page, srv);
    // Chromium names the profile as the IANA registry does ("SRTP_AEAD_AES_128_GCM").
    if (TARGET === 'janus') {
      t.skip(`Debian's Janus is built without AES-GCM (it negotiated ${s.transport.srtpCipher})`);
    } else {
      assert.match(s.transport.srtpCipher, /^(SRTP_)?AEAD_AES_128_GCM$/, JSON.stringify(s.transport));
      assert.equal(s.transport.srtpProfile, 'AEAD_AES_128_GCM');
      const info = await handleInfo(page, srv);
      assert.equal(info.webrtc?.srtp_profile, 'AEAD_AES_128_GCM', JSON.stringify(info.webrtc));
      assert.equal(info.webrtc?.dtls_state, 'connected', JSON.stringify(info.webrtc));
      assert.equal(info.webrtc?.srtp_errors, 0, JSON.stringify(info.webrtc));
    }
    // Decrypted media got through both ways: the browser decodes what came back.
    await waitFor(async () => (await page.evaluate(() => window.echoTest.stats())).inbound.video?.framesDecoded > 0,
                  'decoded echoed video', 20000);
    await within(page.evaluate(() => window.echoTest.stop()), 10000, 'stop');
  } finally {
    saveConsole();
    await close();
  }
  await stopServer(srv);
});

test('SRTP: with srtp_profiles=aes128_cm_sha1_80 the server falls back to AES-CM',
     { timeout: 90000, skip: TARGET === 'janus' && 'a Chorus setting' }, async () => {
  const srv = await startServer({ name: 'browser-srtp-aescm', settings: { 'media.srtp_profiles': 'aes128_cm_sha1_80' } });
  const { page, close, saveConsole } = await launchBrowser('browser-srtp-aescm');
  try {
    const s = await startEcho(page, srv);
    assert.match(s.transport.srtpCipher, /^(SRTP_)?AES(128_CM|_CM_128)_HMAC_SHA1_80$/, JSON.stringify(s.transport));
    const info = await handleInfo(page, srv);
    assert.match(info.webrtc?.srtp_profile ?? '', /AES.*CM.*80/, JSON.stringify(info.webrtc));
    await within(page.evaluate(() => window.echoTest.stop()), 10000, 'stop');
  } finally {
    saveConsole();
    await close();
  }
  await stopServer(srv);
});

// ---- trickle ICE with unmodified janus.js

// The page records the WebSocket frames janus.js sends and receives (by wrapping the
// WebSocket class before janus.js loads; janus.js itself is served byte for byte).
const TRICKLE_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>janus.js trickle</title>
<script>
window.frames = { out: [], in: [] };
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (ev) => { try { frames.in.push(JSON.parse(ev.data)); } catch (e) {} });
  }
  send(data) { try { frames.out.push(JSON.parse(data)); } catch (e) {} return super.send(data); }
};
</script>
<script src="adapter.js"></script>
<script src="janus.js"></script>
</head><body><h1>janus.js trickle test</h1><pre id="log"></pre>
<video id="remote" autoplay playsinline muted></video>
<script>
const params = new URLSearchParams(location.search);
const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };
window.jt = { webrtcup: false, answer: null, error: null, handle: null, remoteTracks: 0 };
Janus.init({ debug: ['warn', 'error'], callback: () => {
  const janus = new Janus({
    server: params.get('server'),
    error: (e) => { jt.error = 'session: ' + e; log(jt.error); },
    success: () => janus.attach({
      plugin: params.get('plugin'),
      error: (e) => { jt.error = 'attach: ' + e; log(jt.error); },
      success: (handle) => {
        jt.handle = handle;
        log('attached ' + handle.getId());
        handle.createOffer({
          tracks: [{ type: 'audio', capture: true, recv: true }, { type: 'video', capture: true, recv: true }],
          trickle: true,
          success: (jsep) => handle.send({ message: { audio: true, video: true }, jsep }),
          error: (e) => { jt.error = 'offer: ' + JSON.stringify(e); log(jt.error); },
        });
      },
      onmessage: (msg, jsep) => {
        log('event ' + JSON.stringify(msg));
        if (jsep) { jt.answer = jsep; jt.handle.handleRemoteJsep({ jsep }); }
      },
      webrtcState: (on) => { jt.webrtcup = on; log('webrtcState ' + on); },
      onremotetrack: (track, mid, on) => {
        if (on) jt.remoteTracks++;
        if (on && track.kind === 'video') document.getElementById('remote').srcObject = new MediaStream([track]);
      },
    }),
  });
} });
</script></body></html>
`;

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

test('trickle ICE both ways with unmodified janus.js', { timeout: 90000 }, async () => {
  assert.ok(fs.existsSync(JANUS_JS), `janus.js not found at ${JANUS_JS} (apt-get install libjs-janus-gateway)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-trickle-html-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(JANUS_JS, path.join(dir, 'janus.js'));
  if (fs.existsSync(ADAPTER_JS)) fs.copyFileSync(ADAPTER_JS, path.join(dir, 'adapter.js'));
  else {
    fs.writeFileSync(path.join(dir, 'adapter.js'), `window.adapter = { browserDetails: { browser: 'chrome',
      version: parseInt((navigator.userAgent.match(/Chrom(e|ium)\\/(\\d+)/) || [0, 0, 0])[2], 10) } };`);
  }
  fs.writeFileSync(path.join(dir, 'trickle.html'), TRICKLE_PAGE);

  const srv = await startServer({ name: 'browser-trickle-janus-js', htmlDir: dir });
  const { page, close, saveConsole } = await launchBrowser('browser-trickle-janus-js');
  try {
    await page.goto(`${srv.httpUrl}/trickle.html?` + new URLSearchParams({ server: srv.wsUrl, plugin: srv.echoPlugin }),
                    { timeout: 20000 });
    const served = await page.evaluate(async () => (await fetch('janus.js')).text());
    assert.equal(sha256(Buffer.from(served)), sha256(fs.readFileSync(JANUS_JS)), 'janus.js is served unmodified');

    // Media flows back (inbound packets on janus.js's own PeerConnection).
    const inbound = await waitFor(() => page.evaluate(async () => {
      if (jt.error) return { ok: false, error: jt.error };
      const pc = jt.handle?.webrtcStuff?.pc;
      if (!pc) return { ok: false, pc: null };
      const out = { audio: 0, video: 0, framesDecoded: 0, pair: null };
      const report = await pc.getStats();
      report.forEach((s) => {
        if (s.type === 'inbound-rtp') {
          out[s.kind] = s.packetsReceived;
          if (s.kind === 'video') out.framesDecoded = s.framesDecoded;
        }
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const p = report.get(s.selectedCandidatePairId);
          const r = p && report.get(p.remoteCandidateId);
          out.pair = r ? { address: r.address, port: r.port, type: r.candidateType } : null;
        }
      });
      return out.audio > 0 && out.video > 0 && out.framesDecoded > 0 && out.pair && jt.webrtcup ? out : Object.assign({ ok: false }, out);
    }), 'media back through janus.js', 30000);
    assert.ok(inbound.audio > 0 && inbound.video > 0, JSON.stringify(inbound));

    const { out, inn, handleId, answer } = await page.evaluate(() => ({
      out: frames.out, inn: frames.in, handleId: jt.handle.getId(), answer: jt.answer,
    }));
    // The offer went without waiting for gathering, and the candidates followed it.
    const offerAt = out.findIndex((m) => m.janus === 'message' && m.jsep?.type === 'offer');
    assert.ok(offerAt >= 0, 'janus.js sent an offer');
    const sentTrickles = out.filter((m) => m.janus === 'trickle');
    const sentCandidates = sentTrickles.filter((m) => m.candidate?.candidate);
    assert.ok(sentCandidates.length > 0, 'janus.js trickled its candidates: ' + JSON.stringify(sentTrickles));
    assert.ok(sentTrickles.some((m) => m.candidate?.completed === true), 'janus.js sent {"completed":true}');
    for (const m of sentTrickles) assert.equal(m.handle_id, handleId);
    // Every trickle request was acknowledged by the server.
    for (const m of sentTrickles) {
      const reply = inn.find((r) => r.transaction === m.transaction);
      assert.equal(reply?.janus, 'ack', `trickle ${JSON.stringify(m)} answered ${JSON.stringify(reply)}`);
    }
    // The server trickled its own candidates as "trickle" events for this handle.
    const got = inn.filter((m) => m.janus === 'trickle');
    const gotCandidates = got.filter((m) => m.candidate?.candidate);
    assert.ok(gotCandidates.length > 0, 'server candidates as trickle events: ' + JSON.stringify(got));
    for (const m of got) assert.equal(m.sender, handleId, JSON.stringify(m));
    for (const m of gotCandidates) {
      assert.equal(typeof m.candidate.sdpMid, 'string', JSON.stringify(m));
      assert.equal(typeof m.candidate.sdpMLineIndex, 'number', JSON.stringify(m));
      assert.match(m.candidate.candidate, /^candidate:\S+ \d \S+ \d+ \S+ \d+ typ \w+/, JSON.stringify(m));
    }
    assert.ok(got.some((m) => m.candidate?.completed === true), 'server end-of-candidates: ' + JSON.stringify(got));
    // The pair in use leads to a candidate the server trickled (not one from the answer).
    const trickled = gotCandidates.map((m) => m.candidate.candidate.split(' ')).map((f) => `${f[4]}:${f[5]}`);
    const answerCandidates = (answer?.sdp || '').split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    assert.ok(trickled.includes(`${inbound.pair.address}:${inbound.pair.port}`) || inbound.pair.type === 'prflx',
              `selected remote ${JSON.stringify(inbound.pair)} among trickled ${JSON.stringify(trickled)}` +
              ` (answer carried ${answerCandidates.length} candidates)`);
    await screenshot(page, 'trickle-janus-js.png');
  } finally {
    saveConsole();
    await close();
  }
  await stopServer(srv);
});

// ---- TURN

// Janus 1.1.2 refuses Chromium's relay candidates ("Failed to add some remote candidates").
test('media through a TURN relay (coturn, iceTransportPolicy relay)',
     { timeout: 90000, skip: TARGET === 'janus' && 'Janus 1.1.2 does not add relay candidates' }, async () => {
  const turn = await startTurn('browser-turn');
  const srv = await startServer({ name: 'browser-turn' });
  const { page, close, saveConsole } = await launchBrowser('browser-turn');
  try {
    const s = await startEcho(page, srv, {
      iceServers: [{ urls: turn.url, username: turn.username, credential: turn.credential }],
      iceTransportPolicy: 'relay',
    });
    assert.ok(s.inbound.audio.packetsReceived > 0 && s.inbound.video.packetsReceived > 0, JSON.stringify(s.inbound));
    assert.equal(s.transport.selectedPair.local.type, 'relay', JSON.stringify(s.transport.selectedPair));
    assert.equal(s.transport.selectedPair.local.address, '127.0.0.1', JSON.stringify(s.transport.selectedPair));
    // The PeerConnection gathered nothing but relay candidates.
    const types = await page.evaluate(async () => {
      const seen = new Set();
      (await window.echoTest.pc.getStats()).forEach((x) => { if (x.type === 'local-candidate') seen.add(x.candidateType); });
      return [...seen];
    });
    assert.deepEqual(types, ['relay']);
    await waitFor(async () => (await page.evaluate(() => window.echoTest.stats())).inbound.video?.framesDecoded > 0,
                  'decoded echoed video through the relay', 20000);
    await within(page.evaluate(() => window.echoTest.stop()), 10000, 'stop');
  } finally {
    saveConsole();
    await close();
  }
  await stopServer(srv);
  const res = await turn.stop();
  assert.ok(!res.hung, 'coturn stopped on SIGTERM');
});
