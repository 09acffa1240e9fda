// ICE restart end to end: headless Chromium connects to the echo plugin (audio from a WAV
// tone, plus a data channel), then restarts ICE twice on the same PeerConnection
// (pc.restartIce(), a new offer sent as a Janus "message" with jsep to the same handle)
// and checks after each restart that
//   - the new offer carries new local ICE credentials and the server's answer new ones too
//     (a=ice-ufrag / a=ice-pwd differ from every earlier answer), with the same DTLS
//     fingerprint, and the server trickles its candidates again;
//   - Chromium's ICE transport moves to the new generation: its local ufrag is the new one
//     and a new selected pair joins candidates of the new ufrags with connectivity-check
//     responses received, i.e. the server answered checks made with its NEW credentials;
//   - the connection is back to connected, DTLS stays connected;
//   - echoed audio keeps flowing AFTER the restart completed (packets counted from then,
//     audio energy rising, same SSRC), and the data channel still echoes;
//   - nothing hangs up once the server's ICE timeout (media.ice_timeout=5, counted from
//     the restart) has passed, and audio still flows then;
// and at the end that the handle is the same one and still alive (admin API handle_info:
// same id, DTLS connected, media counters growing both ways, no SRTP errors; list_handles)
// and that no "hangup" (nor detached/timeout) reached the page.
// Diagnostics (ufrags, Chromium stats per stage, events, state changes) are written to
// tests/artifacts/browser-ice-restart.<target>.json.
//
//   cd tests/browser && node --test ice_restart.test.mjs
// CHORUS_TARGET=janus runs it against Debian's Janus (janus.plugin.echotest); the admin
// API part is Chorus-only.
//
// The page is a minimal Janus API v1 client of its own (no chorus.js, no janus.js) so the
// signalling of the restart is explicit: every request and event is recorded.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  TARGET, startServer, stopProblems, launchBrowser, waitFor, within, adminRequest, screenshot,
  writeToneWav, onCleanup, cleanup, ARTIFACTS,
} from './lib.mjs';

after(cleanup);

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>ICE restart</title></head>
<body><h1>ICE restart test</h1><audio id="remote" autoplay></audio><pre id="log"></pre>
<script>
const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };
const rt = window.rt = {
  ws: null, sessionId: null, handleId: null, pc: null, dc: null,
  frames: { out: [], in: [] }, events: [], states: [], dcMessages: [], errors: [],
};
let nextTx = 1;
const waiting = new Map();   // transaction -> {resolve, reject, async}
const now = () => Math.round(performance.now());

function send(msg) {
  const transaction = 't' + (nextTx++);
  msg = Object.assign({ transaction }, msg);
  if (rt.sessionId && msg.janus !== 'create') msg.session_id = rt.sessionId;
  rt.frames.out.push(msg);
  rt.ws.send(JSON.stringify(msg));
  return transaction;
}
// A request answered by "success" (or, with async: by the "event" after an "ack").
function request(msg, { async = false } = {}) {
  return new Promise((resolve, reject) => {
    const tx = send(msg);
    waiting.set(tx, { resolve, reject, async });
  });
}

function onFrame(m) {
  rt.frames.in.push(m);
  const w = m.transaction && waiting.get(m.transaction);
  if (w) {
    if (m.janus === 'error') { waiting.delete(m.transaction); w.reject(new Error(JSON.stringify(m.error))); return; }
    if (m.janus === 'ack' && w.async) return;
    if (m.janus === 'success' || m.janus === 'ack' || m.janus === 'event') {
      waiting.delete(m.transaction); w.resolve(m);
      if (m.janus !== 'event') return;
    }
  }
  if (m.janus === 'ack' || m.janus === 'success' || m.janus === 'pong') return;
  rt.events.push({ t: now(), janus: m.janus, sender: m.sender, reason: m.reason,
                   type: m.type, receiving: m.receiving, completed: !!m.candidate?.completed });
  if (m.janus === 'trickle' && rt.pc) {
    // A server may trickle before its answer (Janus with full_trickle): keep the
    // candidates until the answer is applied, so they join the right ICE generation.
    if (rt.pc.signalingState !== 'stable' || !rt.pc.remoteDescription) rt.pendingCandidates.push(m.candidate);
    else addRemoteCandidate(m.candidate);
  }
}
rt.pendingCandidates = [];
function addRemoteCandidate(c) {
  const p = c.completed ? rt.pc.addIceCandidate({ candidate: '', sdpMid: rt.pc.remoteDescription.sdp.match(/a=mid:(\\S+)/)?.[1] ?? '0' })
                        : rt.pc.addIceCandidate(c);
  p.catch((e) => rt.errors.push('addIceCandidate: ' + e.message + ' ' + JSON.stringify(c)));
}

rt.connect = async (url, plugin) => {
  rt.ws = new WebSocket(url, 'janus-protocol');
  rt.ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  rt.ws.onclose = () => rt.events.push({ t: now(), janus: 'websocket-closed' });
  await new Promise((resolve, reject) => { rt.ws.onopen = resolve; rt.ws.onerror = () => reject(new Error('WebSocket failed')); });
  rt.sessionId = (await request({ janus: 'create' })).data.id;
  rt.handleId = (await request({ janus: 'attach', plugin })).data.id;
  rt.keepalive = setInterval(() => { if (rt.ws.readyState === 1) send({ janus: 'keepalive' }); }, 10000);
  log('session ' + rt.sessionId + ' handle ' + rt.handleId);
};

const ufrag = (sdp) => (sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1] || null;
const pwd = (sdp) => (sdp.match(/a=ice-pwd:(\\S+)/) || [])[1] || null;
const fingerprint = (sdp) => (sdp.match(/a=fingerprint:(.+)/) || [])[1]?.trim() || null;
const describe = (d) => ({ type: d.type, sdp: d.sdp, ufrag: ufrag(d.sdp), pwd: pwd(d.sdp), fingerprint: fingerprint(d.sdp) });

// Sends the current local offer to the handle and applies the answer that comes with the event.
async function negotiate(offer) {
  await rt.pc.setLocalDescription(offer);
  const local = describe(rt.pc.localDescription);
  const ev = await request({ janus: 'message', handle_id: rt.handleId, body: { audio: true, data: true },
                             jsep: { type: offer.type, sdp: rt.pc.localDescription.sdp } }, { async: true });
  if (!ev.jsep) throw new Error('no JSEP answer in ' + JSON.stringify(ev));
  await rt.pc.setRemoteDescription(ev.jsep);
  for (const c of rt.pendingCandidates.splice(0)) addRemoteCandidate(c);
  return { local, remote: describe(ev.jsep), data: ev.plugindata?.data ?? null };
}

rt.start = async () => {
  const pc = rt.pc = new RTCPeerConnection({ iceServers: [] });
  const record = () => rt.states.push({ t: now(), ice: pc.iceConnectionState, conn: pc.connectionState, gathering: pc.iceGatheringState });
  pc.oniceconnectionstatechange = record;
  pc.onconnectionstatechange = record;
  pc.onicegatheringstatechange = record;
  pc.onicecandidate = (e) => {
    const candidate = e.candidate && e.candidate.candidate
      ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }
      : { completed: true };
    send({ janus: 'trickle', handle_id: rt.handleId, candidate });
  };
  pc.ontrack = (e) => {
    if (e.track.kind === 'audio') document.getElementById('remote').srcObject = new MediaStream([e.track]);
  };
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  for (const t of stream.getTracks()) pc.addTrack(t, stream);
  rt.dc = pc.createDataChannel('echo');
  rt.dc.onmessage = (e) => rt.dcMessages.push(typeof e.data === 'string' ? e.data : '[binary]');
  return negotiate(await pc.createOffer());
};

rt.restart = async () => {
  rt.restartAt = now();
  rt.pc.restartIce();
  return negotiate(await rt.pc.createOffer());
};

rt.sendData = (text) => new Promise((resolve, reject) => {
  const before = rt.dcMessages.length;
  const t0 = Date.now();
  rt.dc.send(text);
  const poll = () => {
    const hit = rt.dcMessages.slice(before).find((m) => m.includes(text));
    if (hit) resolve(hit);
    else if (Date.now() - t0 > 10000) reject(new Error('no data-channel echo of ' + text));
    else setTimeout(poll, 50);
  };
  poll();
});

// What Chromium says about the transport, the selected pair and the echoed audio.
rt.stats = async () => {
  const pc = rt.pc;
  const report = await pc.getStats();
  const out = { ice: pc.iceConnectionState, conn: pc.connectionState, inAudio: null, outAudio: null,
                transport: null, pair: null, pairs: 0 };
  const cand = (id) => {
    const c = report.get(id);
    return c && { id: c.id, usernameFragment: c.usernameFragment ?? null, address: c.address, port: c.port,
                  type: c.candidateType, protocol: c.protocol };
  };
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.inAudio = { packetsReceived: s.packetsReceived, bytesReceived: s.bytesReceived,
                      totalAudioEnergy: s.totalAudioEnergy ?? 0, ssrc: s.ssrc };
    }
    if (s.type === 'outbound-rtp' && s.kind === 'audio') out.outAudio = { packetsSent: s.packetsSent };
    if (s.type === 'candidate-pair') out.pairs++;
    if (s.type === 'transport') {
      out.transport = { id: s.id, iceState: s.iceState ?? null, dtlsState: s.dtlsState,
                        iceLocalUsernameFragment: s.iceLocalUsernameFragment ?? null,
                        selectedCandidatePairId: s.selectedCandidatePairId ?? null,
                        selectedCandidatePairChanges: s.selectedCandidatePairChanges ?? null,
                        srtpCipher: s.srtpCipher ?? null };
      const p = s.selectedCandidatePairId && report.get(s.selectedCandidatePairId);
      if (p) {
        out.pair = { id: p.id, state: p.state, nominated: p.nominated, requestsSent: p.requestsSent,
                     responsesReceived: p.responsesReceived, requestsReceived: p.requestsReceived,
                     responsesSent: p.responsesSent, bytesReceived: p.bytesReceived,
                     local: cand(p.localCandidateId), remote: cand(p.remoteCandidateId) };
      }
    }
  });
  return out;
};
</script></body></html>
`;

const ufragOf = (sdp) => (sdp.match(/a=ice-ufrag:(\S+)/) || [])[1];
const RESTARTS = 2;       // a phone may change networks more than once
const ICE_TIMEOUT_S = 5;  // Chorus media.ice_timeout (its minimum): a restart leaves no failure timer behind

async function stopServer(srv) {
  const res = await srv.stop();
  assert.deepEqual(stopProblems(res), [], `server stop (log ${srv.logPath}):\n${srv.log().slice(-3000)}`);
}

test('ICE restart: new offers with new credentials on the same handle, media keeps flowing',
     { timeout: 150000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-ice-restart-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'restart.html'), PAGE);
  const wav = writeToneWav(path.join(dir, 'tone.wav'), 440, { seconds: 3 });

  const srv = await startServer({ name: 'browser-ice-restart', htmlDir: dir,
                                  settings: { 'media.ice_timeout': ICE_TIMEOUT_S } });
  const { page, close, saveConsole } = await launchBrowser('browser-ice-restart', {
    args: [`--use-file-for-fake-audio-capture=${wav}`],
  });
  const stats = () => page.evaluate(() => window.rt.stats());
  const diag = { rounds: [] };
  const context = () => JSON.stringify(diag);
  const artifact = path.join(ARTIFACTS, `browser-ice-restart.${TARGET}.json`);
  let ids;
  const handleInfo = async () => {
    const reply = await within(adminRequest(page, srv.adminUrl, Object.assign({ janus: 'handle_info' }, ids)),
                               15000, 'admin handle_info');
    assert.equal(reply.janus, 'success', JSON.stringify(reply));
    return reply;
  };
  const noHangup = async (what) => {
    const events = await page.evaluate(() => window.rt.events);
    const bad = events.filter((e) => ['hangup', 'detached', 'timeout', 'websocket-closed'].includes(e.janus));
    assert.deepEqual(bad, [], `${what}: no hangup/detached/timeout/closed socket: ${JSON.stringify(events)}`);
  };
  try {
    await page.goto(`${srv.httpUrl}/restart.html`, { timeout: 20000 });
    await within(page.evaluate(([u, p]) => window.rt.connect(u, p), [srv.wsUrl, srv.echoPlugin]), 15000, 'connect + attach');
    ids = await page.evaluate(() => ({ session_id: window.rt.sessionId, handle_id: window.rt.handleId }));

    // ---- 1. connect: echoed audio arrives and is played (energy > 0), the data channel echoes
    const first = await within(page.evaluate(() => window.rt.start()), 30000, 'first offer/answer');
    diag.first = { local: first.local.ufrag, remote: first.remote.ufrag, data: first.data };
    assert.equal(first.remote.type, 'answer');
    assert.ok(first.local.ufrag && first.remote.ufrag, 'both descriptions carry a=ice-ufrag: ' + context());
    const s1 = await waitFor(async () => {
      const s = await stats();
      const ok = ['connected', 'completed'].includes(s.ice) && s.conn === 'connected' &&
                 s.inAudio?.packetsReceived > 50 && s.inAudio?.totalAudioEnergy > 0 && s.pair?.responsesReceived > 0;
      return ok ? s : Object.assign({ ok: false }, s);
    }, 'connected, echoed audio with energy > 0', 30000);
    diag.connected = s1;
    // Chromium reports the ufrags of its transport and candidates (the proof used below).
    assert.equal(s1.transport.iceLocalUsernameFragment, first.local.ufrag, context());
    assert.equal(s1.pair.local.usernameFragment, first.local.ufrag, context());
    assert.equal(s1.pair.remote.usernameFragment, first.remote.ufrag, context());
    await waitFor(() => page.evaluate(() => window.rt.dc.readyState === 'open'), 'the data channel to open', 15000);
    const token0 = 'before-restart-' + Math.random().toString(36).slice(2);
    const echoed0 = await within(page.evaluate((x) => window.rt.sendData(x), token0), 15000, 'data echo before the restart');
    assert.ok(echoed0.includes(token0), echoed0);

    let prev = { negotiation: first, stats: s1 };
    const seenLocal = new Set([first.local.ufrag]);
    const seenRemote = new Set([first.remote.ufrag]);
    for (let round = 1; round <= RESTARTS; round++) {
      const r = { round };
      diag.rounds.push(r);
      // ---- 2. restart ICE on the same PeerConnection and handle
      const neg = await within(page.evaluate(() => window.rt.restart()), 30000, `ICE restart ${round}: offer/answer`);
      const restartAt = await page.evaluate(() => window.rt.restartAt);
      r.local = neg.local.ufrag; r.remote = neg.remote.ufrag; r.data = neg.data;
      assert.equal(neg.remote.type, 'answer');
      assert.ok(!seenLocal.has(neg.local.ufrag), `restart ${round}: the offer has a new a=ice-ufrag: ${context()}`);
      assert.notEqual(neg.local.pwd, prev.negotiation.local.pwd, `restart ${round}: the offer has a new a=ice-pwd`);
      assert.ok(neg.remote.ufrag, `restart ${round}: the answer carries a=ice-ufrag: ${neg.remote.sdp}`);
      assert.ok(!seenRemote.has(neg.remote.ufrag),
                `restart ${round}: the server answered with new credentials (a=ice-ufrag ${neg.remote.ufrag}, ` +
                `earlier answers ${[...seenRemote]}):\n${neg.remote.sdp}`);
      assert.notEqual(neg.remote.pwd, prev.negotiation.remote.pwd, `restart ${round}: the answer has a new a=ice-pwd`);
      assert.equal(neg.remote.fingerprint, first.remote.fingerprint, 'same DTLS certificate across the restart');
      seenLocal.add(neg.local.ufrag);
      seenRemote.add(neg.remote.ufrag);
      const applied = await page.evaluate(() => ({ local: window.rt.pc.localDescription.sdp,
                                                   remote: window.rt.pc.remoteDescription.sdp }));
      assert.equal(ufragOf(applied.remote), neg.remote.ufrag, 'the restart answer is the remote description');
      assert.equal(ufragOf(applied.local), neg.local.ufrag, 'the restart offer is the local description');

      // The restart is complete when Chromium's transport runs on the new generation: the
      // selected pair joins a local candidate of the new local ufrag and a remote candidate
      // of the server's new ufrag, and the server answered its checks (which it can only
      // do with its new credentials: the STUN USERNAME is "<server ufrag>:<our ufrag>").
      const s2 = await waitFor(async () => {
        const s = await stats();
        const ok = s.pair && s.pair.responsesReceived > 0 && s.pair.state === 'succeeded' &&
          s.pair.local?.usernameFragment === neg.local.ufrag && s.pair.remote?.usernameFragment === neg.remote.ufrag &&
          s.transport?.iceLocalUsernameFragment === neg.local.ufrag &&
          ['connected', 'completed'].includes(s.ice) && s.conn === 'connected' && s.transport?.dtlsState === 'connected';
        return ok ? s : Object.assign({ ok: false }, s);
      }, `restart ${round}: the connection on the new ICE generation (connected, selected pair of the new ufrags answered)`, 30000);
      r.restarted = s2;
      assert.notEqual(s2.pair.id, prev.stats.pair.id, 'a new candidate pair is selected: ' + context());
      assert.ok(s2.transport.selectedCandidatePairChanges > prev.stats.transport.selectedCandidatePairChanges, context());

      // ---- 3. media after the restart: counted from here, once the restart has completed
      const base = s2.inAudio;
      const s3 = await waitFor(async () => {
        const s = await stats();
        const ok = s.inAudio.packetsReceived >= base.packetsReceived + 150 &&
                   s.inAudio.totalAudioEnergy > base.totalAudioEnergy && s.pair?.id === s2.pair.id;
        return ok ? s : Object.assign({ ok: false }, s);
      }, `restart ${round}: echoed audio flowing after the restart (150 more packets, energy rising)`, 30000);
      r.media = s3;
      assert.ok(s3.inAudio.bytesReceived > base.bytesReceived, context());
      assert.equal(s3.inAudio.ssrc, base.ssrc, 'same echoed stream');
      const token = `after-restart-${round}-` + Math.random().toString(36).slice(2);
      const echoed = await within(page.evaluate((x) => window.rt.sendData(x), token), 15000, `restart ${round}: data echo`);
      assert.ok(echoed.includes(token), echoed);

      // The server trickled its candidates again after this restart's answer.
      const events = await page.evaluate(() => window.rt.events);
      assert.ok(events.some((e) => e.janus === 'trickle' && !e.completed && e.t >= restartAt),
                `restart ${round}: server candidates trickled after the restart: ${JSON.stringify(events)}`);

      // ---- 4. still alive past the server's ICE timeout counted from the restart (a
      // failure timer armed by the restart and never disarmed would hang up by then);
      // media still flows at the end of it.
      await waitFor(async () => (await page.evaluate(() => performance.now())) > restartAt + (ICE_TIMEOUT_S + 2) * 1000,
                    'the ICE timeout to pass', (ICE_TIMEOUT_S + 10) * 1000, 200);
      await noHangup(`restart ${round}, ${ICE_TIMEOUT_S + 2} s later`);
      const base2 = (await stats()).inAudio;
      const s4 = await waitFor(async () => {
        const s = await stats();
        const ok = s.inAudio.packetsReceived >= base2.packetsReceived + 50 &&
                   ['connected', 'completed'].includes(s.ice) && s.conn === 'connected';
        return ok ? s : Object.assign({ ok: false }, s);
      }, `restart ${round}: echoed audio still flowing past the ICE timeout`, 20000);
      r.later = { ice: s4.ice, conn: s4.conn, inAudio: s4.inAudio, pair: s4.pair?.id };
      prev = { negotiation: neg, stats: s2 };
    }

    // ---- 5. the same handle, still alive; nothing but this handle's events
    const rec = await page.evaluate(() => ({ events: window.rt.events, states: window.rt.states,
                                             errors: window.rt.errors, handleId: window.rt.handleId }));
    diag.events = rec.events;
    diag.states = rec.states;
    assert.equal(rec.handleId, ids.handle_id);
    await noHangup('at the end');
    assert.ok(rec.events.every((e) => e.sender === undefined || e.sender === ids.handle_id),
              'every event is from the same handle: ' + JSON.stringify(rec.events));
    assert.deepEqual(rec.errors, [], 'addIceCandidate errors');

    if (TARGET === 'janus') {
      t.diagnostic('admin API checks skipped: Chorus field names');
    } else {
      const info1 = await handleInfo();
      assert.equal(info1.handle_id, ids.handle_id, JSON.stringify(info1));
      assert.equal(info1.info.handle_id, ids.handle_id, JSON.stringify(info1));
      assert.equal(info1.info.plugin, srv.echoPlugin, JSON.stringify(info1));
      const w1 = info1.info.webrtc;
      diag.handleInfo = w1;
      assert.ok(w1, 'handle_info has a PeerConnection: ' + JSON.stringify(info1.info));
      assert.equal(w1.dtls_state, 'connected', JSON.stringify(w1));
      assert.equal(w1.webrtcup, true, JSON.stringify(w1));
      assert.equal(w1.srtp_errors, 0, JSON.stringify(w1));
      const audio = (w) => w.media.find((m) => m.type === 'audio');
      const a1 = audio(w1);
      assert.ok(a1 && a1.rx_packets > 0 && a1.tx_packets > 0, JSON.stringify(w1.media));
      // The server's own counters keep growing both ways.
      await waitFor(async () => {
        const w = (await handleInfo()).info.webrtc;
        const a = w && audio(w);
        const ok = a && a.rx_packets >= a1.rx_packets + 50 && a.tx_packets >= a1.tx_packets + 50 && w.srtp_errors === 0;
        return ok ? a : { ok: false, a, srtp_errors: w?.srtp_errors };
      }, 'server-side audio counters growing after the restarts', 15000);
      // After the restarts the new pair sends directly again (not through libnice), and
      // the direct count keeps growing.
      const d1 = await waitFor(async () => {
        const w = (await handleInfo()).info.webrtc;
        return w && w.ice_send === 'direct' ? w : null;
      }, 'direct send again on the new pair', 15000);
      await waitFor(async () => {
        const w = (await handleInfo()).info.webrtc;
        return w && w.ice_direct_sends >= d1.ice_direct_sends + 50 ? w : null;
      }, 'direct sends growing after the restarts', 15000);
      const handles = await within(adminRequest(page, srv.adminUrl, { janus: 'list_handles', session_id: ids.session_id }),
                                   15000, 'list_handles');
      assert.deepEqual(handles.handles, [ids.handle_id], JSON.stringify(handles));
    }
    await screenshot(page, 'ice-restart.png');
  } catch (e) {
    e.message += `\n-- diagnostics in ${artifact}\n-- server log ${srv.logPath}`;
    throw e;
  } finally {
    fs.writeFileSync(artifact, JSON.stringify(diag, null, 1) + '\n');
    saveConsole();
    await close();
  }
  await stopServer(srv);
});
