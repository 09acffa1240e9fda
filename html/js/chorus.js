/* chorus.js — a small client for Chorus (and any Janus API v1 server) over WebSocket.
 *
 * No build step, no third-party code. Load it as a plain script:
 *     <script src="js/chorus.js"></script>      → window.Chorus
 * (in CommonJS it is module.exports; it needs WebSocket and, for media, WebRTC).
 *
 * Sessions
 *   const session = await Chorus.connect('ws://host:8188', options);
 *     options: keepaliveMs (25000), requestTimeoutMs (15000), reconnect (true),
 *              reconnectTimeoutMs (60000: give up and end the session after that),
 *              reconnectDelaysMs ([250, 500, 1000, 2000, 4000]: back-off, last one repeats),
 *              token, apisecret (added to every request), sessionId (claim an existing
 *              session instead of creating one), debug (log every frame to the console).
 *   (or: const session = new Chorus.Session(url, options); await session.open();)
 *   session.id, session.state ('connecting' | 'connected' | 'reconnecting' | 'closed')
 *   session.request(msg, {timeoutMs}) → Promise<reply>   raw Janus request (transaction,
 *       session_id, token and apisecret are filled in); resolves on success / ack /
 *       server_info, rejects with a Chorus.Error on error (err.code: Janus code or
 *       'timeout' | 'disconnected' | 'closed').
 *   session.info() → server_info,  session.attach(plugin, {opaqueId}) → Promise<Handle>
 *   session.destroy() → ends the session on the server and closes the socket.
 *   Events (session.on(name, fn) returns an "off" function): 'connected', 'statechange' (state),
 *     'disconnected' ({code, reason}), 'reconnecting' ({attempt, delayMs}), 'reconnected',
 *     'timeout', 'destroyed' ({reason}), 'error' (err), 'message' (every frame received).
 *   When the WebSocket drops, the library reconnects to the same URL and sends
 *   {"janus":"claim","session_id"}; handles (and their PeerConnections, which do not
 *   depend on the socket) are kept. Requests made while reconnecting are queued and sent
 *   after the claim; requests that were in flight when the socket dropped are rejected
 *   with code 'disconnected' (the server may or may not have seen them). A keepalive
 *   that gets no answer is treated as a dead socket. If the claim is refused or the
 *   reconnect window passes, the session ends ('destroyed' with reason 'lost').
 *
 * Handles
 *   handle.id, handle.plugin, handle.pc, handle.localStream, handle.remoteStream,
 *   handle.dataChannel, handle.webrtcUp
 *   handle.send(body, jsep) → Promise<reply>: resolves on "success" (reply.data is the
 *       plugin's synchronous answer) or "ack" (the plugin answers later with an event,
 *       delivered to 'message' listeners).
 *   handle.request(body, jsep, {timeoutMs}) → Promise<{data, jsep, msg}>: the synchronous
 *       answer, or the asynchronous event carrying the same transaction.
 *   handle.connect({audio, video, data, stream, iceServers, iceTransportPolicy, body,
 *                   transceivers, rtcConfig, trickle, timeoutMs}) → Promise<{data, jsep}>
 *       builds an RTCPeerConnection (bundle, rtcp-mux), adds the tracks of `stream` (or of
 *       getUserMedia({audio, video}); audio/video may be constraints), opens a data channel
 *       when `data` is set (true, a label or RTCDataChannelInit with .label), offers with
 *       `body` (default {audio, video, data} as booleans), trickles candidates as "trickle"
 *       requests ({"completed":true} at the end), applies the answer from the plugin's
 *       event and the server's "trickle" events. `transceivers`: extra
 *       [{kind, direction}] (e.g. receive-only slots). trickle:false sends a complete SDP.
 *   handle.sendData(text|ArrayBuffer), handle.trickle(candidate|null)
 *   handle.hangup() → closes the PeerConnection and asks the server to hang up.
 *   handle.detach() → hangs up and detaches.
 *   handle.stats() → Promise<summary>, handle.pollStats(ms, fn) → {stop()} (see below)
 *   Events: 'message' (data, jsep, msg), 'webrtcup', 'media' ({type, receiving, mid}),
 *     'slowlink' ({uplink, media, lost, mid}), 'hangup' ({reason}), 'detached' ({reason}),
 *     'timeout', 'trickle' (candidate from the server), 'track' (track, streams),
 *     'removetrack' (track), 'dataopen', 'dataclose', 'data' (payload),
 *     'connectionstatechange' (pc.connectionState), 'iceconnectionstatechange' (state),
 *     'localcandidate' (RTCIceCandidate|null).
 *
 * Voice channels: js/chorus-voice.js, loaded after this file, adds Chorus.voice and
 *   Chorus.Voice (chorus.plugin.voice); its API is documented at the top of that file.
 *
 * Stats
 *   Chorus.stats(pc) → Promise<summary>; Chorus.pollStats(pc, ms, fn) → {stop()} calls
 *   fn(summary) every ms with rates (bitrate in bit/s, packetRate, lossPercent) added.
 *   summary = {timestamp, connectionState, iceConnectionState,
 *     inbound: {audio, video}, outbound: {audio, video}   (the busiest stream of each kind)
 *     inboundAll: [...], outboundAll: [...],
 *     transport: {srtpCipher, srtpProfile, dtlsCipher, tlsVersion, dtlsState, iceState, iceRole,
 *                 selectedPair: {local, remote, state, currentRoundTripTime,
 *                                availableOutgoingBitrate, bytesSent, bytesReceived}}}
 *   inbound stream: kind, mid, ssrc, packetsReceived, packetsLost, bytesReceived, jitter,
 *     audioLevel, totalAudioEnergy, totalSamplesDuration, framesDecoded, framesReceived,
 *     framesDropped, frameWidth, frameHeight, framesPerSecond, nackCount, pliCount,
 *     codec ("opus/48000/2"), codecInfo {mimeType, clockRate, channels, payloadType}
 *   outbound stream: kind, mid, ssrc, packetsSent, bytesSent, retransmittedPacketsSent,
 *     framesEncoded, frameWidth, frameHeight, framesPerSecond, targetBitrate, nackCount,
 *     pliCount, qualityLimitationReason, codec, codecInfo,
 *     remote: {packetsLost, fractionLost, jitter, roundTripTime} (from remote-inbound-rtp),
 *     source: {audioLevel, totalAudioEnergy, width, height, framesPerSecond} (media-source)
 *   candidate: {type ('host'|'srflx'|'prflx'|'relay'), protocol, address, port,
 *               relayProtocol, url}
 */
(function (root, factory) {
  'use strict';
  const Chorus = factory();
  if (typeof module === 'object' && module.exports) module.exports = Chorus;
  else root.Chorus = Chorus;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const VERSION = '0.1.0';

  class ChorusError extends Error {
    constructor(message, code, reply) {
      super(message);
      this.name = 'ChorusError';
      this.code = code;
      this.reply = reply || null;
    }
  }

  class Emitter {
    constructor() { this._listeners = new Map(); }
    on(type, fn) {
      if (!this._listeners.has(type)) this._listeners.set(type, new Set());
      this._listeners.get(type).add(fn);
      return () => this.off(type, fn);
    }
    once(type, fn) {
      const off = this.on(type, (...args) => { off(); fn(...args); });
      return off;
    }
    off(type, fn) {
      const set = this._listeners.get(type);
      if (set) set.delete(fn);
    }
    emit(type, ...args) {
      const set = this._listeners.get(type);
      if (!set) return;
      for (const fn of [...set]) {
        try { fn(...args); } catch (e) { console.error('chorus.js: "' + type + '" listener failed', e); }
      }
    }
  }

  function randomId(n) {
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const bytes = new Uint8Array(n);
    crypto.getRandomValues(bytes);
    let s = '';
    for (const b of bytes) s += abc[b % abc.length];
    return s;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  const DEFAULTS = {
    keepaliveMs: 25000,
    requestTimeoutMs: 15000,
    connectTimeoutMs: 10000,
    reconnect: true,
    reconnectTimeoutMs: 60000,
    reconnectDelaysMs: [250, 500, 1000, 2000, 4000],
    protocol: 'janus-protocol',
    token: null,
    apisecret: null,
    sessionId: null,
    debug: false,
  };

  // ---------------------------------------------------------------- Session

  class Session extends Emitter {
    constructor(url, options) {
      super();
      this.url = url;
      this.options = Object.assign({}, DEFAULTS, options || {});
      this.id = null;
      this.state = 'new';
      this.handles = new Map();
      this.ws = null;
      this._tx = new Map();      // transaction -> {resolve, reject, ws (null: queued), msg, timer}
      this._queue = [];          // transactions waiting for a socket (while reconnecting)
      this._keepalive = null;
      this._reconnectTimer = null;
      this._reconnectStarted = 0;
      this._destroying = false;
    }

    _setState(s) {
      if (this.state === s) return;
      this.state = s;
      this.emit('statechange', s);
    }

    _log(dir, obj) {
      if (this.options.debug) console.debug('chorus.js ' + dir, JSON.stringify(obj));
    }

    // Opens a WebSocket to this.url; resolves once it is open.
    _openSocket() {
      return new Promise((resolve, reject) => {
        let ws;
        try {
          ws = new WebSocket(this.url, this.options.protocol);
        } catch (e) {
          reject(new ChorusError('cannot open ' + this.url + ': ' + e.message, 'disconnected'));
          return;
        }
        const timer = setTimeout(() => { fail('timed out'); try { ws.close(); } catch (e) { /* */ } },
                                 this.options.connectTimeoutMs);
        const fail = (why) => {
          clearTimeout(timer);
          ws.onopen = ws.onerror = ws.onclose = null;
          reject(new ChorusError('WebSocket ' + this.url + ' ' + why, 'disconnected'));
        };
        ws.onerror = () => fail('failed');
        ws.onclose = (ev) => fail('closed (' + ev.code + ')');
        ws.onopen = () => {
          clearTimeout(timer);
          ws.onopen = ws.onerror = null;
          ws.onmessage = (ev) => this._onFrame(ws, ev.data);
          ws.onclose = (ev) => this._onSocketClosed(ws, ev.code, ev.reason);
          resolve(ws);
        };
      });
    }

    // Sends a request on `ws` directly (bypassing the queue).
    _sendOn(ws, msg, timeoutMs) {
      return new Promise((resolve, reject) => {
        const entry = { resolve, reject, ws, msg, timer: null };
        this._tx.set(msg.transaction, entry);
        if (timeoutMs) {
          entry.timer = setTimeout(() => {
            this._tx.delete(msg.transaction);
            reject(new ChorusError(msg.janus + ': no answer in ' + timeoutMs + ' ms', 'timeout'));
          }, timeoutMs);
        }
        this._log('>', msg);
        try {
          ws.send(JSON.stringify(msg));
        } catch (e) {
          this._settle(msg.transaction, new ChorusError('send failed: ' + e.message, 'disconnected'));
        }
      });
    }

    _settle(transaction, error, reply) {
      const entry = this._tx.get(transaction);
      if (!entry) return false;
      this._tx.delete(transaction);
      clearTimeout(entry.timer);
      if (error) entry.reject(error);
      else entry.resolve(reply);
      return true;
    }

    _decorate(msg, withSession) {
      const m = Object.assign({}, msg);
      if (!m.transaction) m.transaction = randomId(12);
      if (withSession && this.id != null && m.session_id == null) m.session_id = this.id;
      if (this.options.token && m.token == null) m.token = this.options.token;
      if (this.options.apisecret && m.apisecret == null) m.apisecret = this.options.apisecret;
      return m;
    }

    /* Sends a Janus request; resolves with the reply (success, ack, server_info), rejects on
     * "error" (err.code is the Janus error code) or on timeout / lost socket. */
    request(msg, opts) {
      opts = opts || {};
      if (this.state === 'closed') return Promise.reject(new ChorusError('session is closed', 'closed'));
      const m = this._decorate(msg, opts.session !== false);
      const timeoutMs = opts.timeoutMs != null ? opts.timeoutMs : this.options.requestTimeoutMs;
      if (this.ws && this.state === 'connected') return this._sendOn(this.ws, m, timeoutMs);
      if (this.state !== 'reconnecting') {
        return Promise.reject(new ChorusError('session is not connected (' + this.state + ')', 'disconnected'));
      }
      // Reconnecting: queue; sent after the claim.
      return new Promise((resolve, reject) => {
        const entry = { resolve, reject, ws: null, msg: m, timer: null };
        this._tx.set(m.transaction, entry);
        this._queue.push(m.transaction);
        if (timeoutMs) {
          entry.timer = setTimeout(() => {
            this._tx.delete(m.transaction);
            reject(new ChorusError(m.janus + ': no answer in ' + timeoutMs + ' ms', 'timeout'));
          }, timeoutMs);
        }
      });
    }

    _flushQueue() {
      const queued = this._queue;
      this._queue = [];
      for (const t of queued) {
        const entry = this._tx.get(t);
        if (!entry) continue; // timed out meanwhile
        entry.ws = this.ws;
        this._log('>', entry.msg);
        try { this.ws.send(JSON.stringify(entry.msg)); } catch (e) {
          this._settle(t, new ChorusError('send failed: ' + e.message, 'disconnected'));
        }
      }
    }

    async open() {
      if (this.state !== 'new') throw new ChorusError('open() is called once per Session', 'state');
      this._setState('connecting');
      try {
        this.ws = await this._openSocket();
        const req = this.options.sessionId != null
          ? { janus: 'claim', session_id: this.options.sessionId }
          : { janus: 'create' };
        const reply = await this._sendOn(this.ws, this._decorate(req, false), this.options.requestTimeoutMs);
        this.id = req.janus === 'claim' ? this.options.sessionId : reply.data.id;
      } catch (e) {
        const ws = this.ws;
        this.ws = null;
        if (ws) { ws.onclose = ws.onmessage = null; try { ws.close(); } catch (x) { /* */ } }
        this._setState('closed');
        throw e;
      }
      this._setState('connected');
      this._startKeepalive();
      this.emit('connected');
      return this;
    }

    _startKeepalive() {
      this._stopKeepalive();
      if (!this.options.keepaliveMs) return;
      this._keepalive = setInterval(() => {
        if (this.state !== 'connected') return;
        const ws = this.ws;
        this.request({ janus: 'keepalive' }, { timeoutMs: Math.min(this.options.keepaliveMs, 15000) })
          .catch((e) => {
            // No answer to a keepalive: the socket is dead even if it does not know yet.
            if (e.code === 'timeout' && ws && ws === this.ws) this._dropSocket(ws, 4000, 'keepalive timeout');
          });
      }, this.options.keepaliveMs);
    }

    _stopKeepalive() {
      clearInterval(this._keepalive);
      this._keepalive = null;
    }

    // Abandons a socket and goes through the "socket closed" path at once.
    _dropSocket(ws, code, reason) {
      ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (e) { /* */ }
      this._onSocketClosed(ws, code, reason);
    }

    _onSocketClosed(ws, code, reason) {
      if (ws !== this.ws) return;
      ws.onmessage = ws.onclose = ws.onerror = null;
      this.ws = null;
      this._stopKeepalive();
      // Requests in flight on that socket: their answers are lost.
      for (const [t, entry] of [...this._tx]) {
        if (entry.ws === ws) this._settle(t, new ChorusError(entry.msg.janus + ': connection lost', 'disconnected'));
      }
      if (this.state === 'closed' || this._destroying) return;
      if (this.state === 'reconnecting') return; // a socket opened for a claim: _reconnect retries
      if (!this.options.reconnect || this.id == null) {
        this._teardown('disconnected');
        return;
      }
      this._setState('reconnecting');
      this.emit('disconnected', { code, reason });
      this._reconnectStarted = Date.now();
      this._scheduleReconnect(0);
    }

    _scheduleReconnect(attempt) {
      const delays = this.options.reconnectDelaysMs;
      const delayMs = delays[Math.min(attempt, delays.length - 1)];
      if (Date.now() + delayMs - this._reconnectStarted > this.options.reconnectTimeoutMs) {
        this.emit('error', new ChorusError('could not reconnect within ' + this.options.reconnectTimeoutMs + ' ms', 'disconnected'));
        this._teardown('lost');
        return;
      }
      this.emit('reconnecting', { attempt: attempt + 1, delayMs });
      this._reconnectTimer = setTimeout(() => this._reconnect(attempt), delayMs);
    }

    async _reconnect(attempt) {
      this._reconnectTimer = null;
      if (this.state !== 'reconnecting') return;
      let ws;
      try {
        ws = await this._openSocket();
      } catch (e) {
        if (this.state === 'reconnecting') this._scheduleReconnect(attempt + 1);
        return;
      }
      if (this.state !== 'reconnecting') { ws.onclose = null; ws.close(); return; }
      this.ws = ws;
      try {
        await this._sendOn(ws, this._decorate({ janus: 'claim' }, true), this.options.requestTimeoutMs);
      } catch (e) {
        if (this.state !== 'reconnecting') return;
        if (e.code === 'disconnected' || e.code === 'timeout') {
          if (this.ws === ws) { ws.onclose = ws.onmessage = null; try { ws.close(); } catch (x) { /* */ } this.ws = null; }
          this._scheduleReconnect(attempt + 1);
          return;
        }
        // The server refused the claim (e.g. 458: the session is gone).
        this.emit('error', e);
        this._teardown('lost');
        return;
      }
      if (this.ws !== ws || this.state !== 'reconnecting') return;
      this._setState('connected');
      this._startKeepalive();
      this._flushQueue();
      this.emit('reconnected');
    }

    _onFrame(ws, text) {
      let msg;
      try { msg = JSON.parse(text); } catch (e) {
        console.warn('chorus.js: a frame that is not JSON', text);
        return;
      }
      const list = Array.isArray(msg) ? msg : [msg];
      for (const m of list) this._dispatch(m);
    }

    _dispatch(msg) {
      this._log('<', msg);
      this.emit('message', msg);
      const kind = msg.janus;
      const t = msg.transaction;
      if (kind === 'ack' || kind === 'success' || kind === 'server_info') {
        if (t) this._settle(t, null, msg);
        return;
      }
      if (kind === 'error') {
        const err = msg.error || {};
        if (t && this._settle(t, new ChorusError(err.reason || 'error', err.code, msg))) return;
        this.emit('error', new ChorusError(err.reason || 'error', err.code, msg));
        return;
      }
      if (msg.session_id != null && this.id != null && msg.session_id !== this.id) return; // not ours
      if (kind === 'timeout') {
        this.emit('timeout');
        this._teardown('timeout');
        return;
      }
      if (kind === 'keepalive') return;
      const handle = this.handles.get(msg.sender);
      if (!handle) {
        if (t) this._settle(t, null, msg); // e.g. an event answering a request
        return;
      }
      handle._onEvent(msg);
    }

    _teardown(reason) {
      if (this.state === 'closed') return;
      this._setState('closed');
      this._stopKeepalive();
      clearTimeout(this._reconnectTimer);
      const err = new ChorusError('session ended (' + reason + ')', 'closed');
      for (const t of [...this._tx.keys()]) this._settle(t, err);
      this._queue = [];
      for (const h of [...this.handles.values()]) {
        if (reason === 'timeout') h.emit('timeout');
        h._gone(reason, err);
      }
      const ws = this.ws;
      this.ws = null;
      if (ws) { ws.onclose = ws.onmessage = ws.onerror = null; try { ws.close(); } catch (e) { /* */ } }
      this.emit('destroyed', { reason });
    }

    /* Server information (no session needed). */
    info() {
      return this.request({ janus: 'info' }, { session: false });
    }

    async attach(plugin, opts) {
      opts = opts || {};
      const req = { janus: 'attach', plugin };
      if (opts.opaqueId) req.opaque_id = opts.opaqueId;
      const reply = await this.request(req);
      const handle = new Handle(this, reply.data.id, plugin, opts);
      this.handles.set(handle.id, handle);
      return handle;
    }

    /* Ends the session: detaches handles (server side), closes PeerConnections and socket. */
    async destroy() {
      if (this.state === 'closed') return;
      this._destroying = true;
      for (const h of this.handles.values()) h._closePc();
      if (this.state === 'connected') {
        try { await this.request({ janus: 'destroy' }, { timeoutMs: 5000 }); } catch (e) { /* closing anyway */ }
      }
      this._teardown('destroyed');
    }
  }

  // ---------------------------------------------------------------- Handle

  class Handle extends Emitter {
    constructor(session, id, plugin, opts) {
      super();
      this.session = session;
      this.id = id;
      this.plugin = plugin;
      this.opaqueId = opts.opaqueId || null;
      this.pc = null;
      this.localStream = null;
      this.remoteStream = null;
      this.dataChannel = null;
      this.webrtcUp = false;
      this.detached = false;
      this._ownsStream = false;
      this._waiters = new Set();       // {match(msg), resolve, reject}
      this._localCandidates = null;    // queued until the offer has been acknowledged
      this._remoteCandidates = [];     // queued until the answer is applied
      this._remoteEnded = false;
      this._polls = new Set();
    }

    _handleRequest(msg, opts) {
      if (this.detached) return Promise.reject(new ChorusError('handle is detached', 'closed'));
      return this.session.request(Object.assign({ handle_id: this.id }, msg), opts);
    }

    /* Sends a message to the plugin. Resolves on success (reply.data: the plugin's answer)
     * or ack (an event follows). */
    async send(body, jsep, opts) {
      const msg = { janus: 'message', body: body || {} };
      if (jsep) msg.jsep = jsep;
      if (opts && opts.transaction) msg.transaction = opts.transaction;
      const reply = await this._handleRequest(msg, opts);
      if (reply.plugindata) reply.data = reply.plugindata.data;
      return reply;
    }

    /* Like send(), but resolves with the plugin's answer: synchronous data, or the event
     * carrying the same transaction. */
    async request(body, jsep, opts) {
      opts = opts || {};
      const transaction = randomId(12);
      const timeoutMs = opts.timeoutMs != null ? opts.timeoutMs : this.session.options.requestTimeoutMs;
      const waiter = this._wait((m) => m.janus === 'event' && m.transaction === transaction, timeoutMs, 'event');
      waiter.promise.catch(() => {});
      const msg = { janus: 'message', body: body || {}, transaction };
      if (jsep) msg.jsep = jsep;
      let reply;
      try {
        reply = await this._handleRequest(msg, opts);
      } catch (e) {
        waiter.cancel(e);
        throw e;
      }
      if (reply.janus === 'success') {
        waiter.cancel(null);
        const data = reply.plugindata ? reply.plugindata.data : null;
        return { data, jsep: reply.jsep || null, msg: reply };
      }
      const ev = await waiter.promise;
      return { data: ev.plugindata ? ev.plugindata.data : null, jsep: ev.jsep || null, msg: ev };
    }

    // Waits for an event matching `match`; {promise, cancel(err)}.
    _wait(match, timeoutMs, what) {
      let w;
      const promise = new Promise((resolve, reject) => { w = { match, resolve, reject }; });
      this._waiters.add(w);
      let timer = null;
      if (timeoutMs) {
        timer = setTimeout(() => {
          this._waiters.delete(w);
          w.reject(new ChorusError(what + ': no event in ' + timeoutMs + ' ms', 'timeout'));
        }, timeoutMs);
      }
      const done = () => { clearTimeout(timer); this._waiters.delete(w); };
      promise.then(done, done);
      return {
        promise,
        cancel: (err) => { done(); if (err) w.reject(err); else w.resolve(null); },
      };
    }

    _onEvent(msg) {
      switch (msg.janus) {
        case 'event': {
          const data = msg.plugindata ? msg.plugindata.data : null;
          for (const w of [...this._waiters]) if (w.match(msg)) w.resolve(msg);
          this.emit('message', data, msg.jsep || null, msg);
          break;
        }
        case 'trickle':
          this._remoteCandidate(msg.candidate);
          this.emit('trickle', msg.candidate);
          break;
        case 'webrtcup':
          this.webrtcUp = true;
          this.emit('webrtcup');
          break;
        case 'media':
          this.emit('media', { type: msg.type, receiving: msg.receiving, mid: msg.mid, msg });
          break;
        case 'slowlink':
          this.emit('slowlink', { uplink: msg.uplink, media: msg.media, lost: msg.lost, mid: msg.mid, msg });
          break;
        case 'hangup':
          this._closePc();
          this.emit('hangup', { reason: msg.reason || null });
          break;
        case 'detached':
          this._gone('detached', new ChorusError('handle detached', 'closed'));
          break;
        default:
          break;
      }
    }

    // The handle is gone (detached, or its session ended).
    _gone(reason, err) {
      if (this.detached) return;
      this.detached = true;
      this._closePc();
      for (const w of [...this._waiters]) w.reject(err);
      this._waiters.clear();
      this.session.handles.delete(this.id);
      this.emit('detached', { reason });
    }

    /* Sends one local candidate (an RTCIceCandidate or init), or end-of-candidates (null). */
    trickle(candidate) {
      const c = candidate && candidate.candidate
        ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
        : { completed: true };
      return this._handleRequest({ janus: 'trickle', candidate: c });
    }

    _localCandidate(candidate) {
      this.emit('localcandidate', candidate);
      if (this._localCandidates) {
        this._localCandidates.push(candidate);
        return;
      }
      if (this._trickleOff) return;
      this.trickle(candidate).catch((e) => console.warn('chorus.js: trickle failed', e.message));
    }

    _flushLocalCandidates() {
      const list = this._localCandidates || [];
      this._localCandidates = null;
      for (const c of list) this._localCandidate(c);
    }

    _remoteCandidate(c) {
      if (!this.pc) return;
      if (!this.pc.remoteDescription) {
        this._remoteCandidates.push(c);
        return;
      }
      const pc = this.pc;
      if (!c || c.completed) {
        this._remoteEnded = true;
        pc.addIceCandidate().catch(() => {}); // end-of-candidates (a no-op in some browsers)
        return;
      }
      const init = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      if (init.sdpMid == null && init.sdpMLineIndex == null) init.sdpMLineIndex = 0;
      pc.addIceCandidate(init).catch((e) => {
        if (pc === this.pc) console.warn('chorus.js: remote candidate refused', c.candidate, e.message);
      });
    }

    /* Builds a PeerConnection, offers, trickles, and applies the plugin's answer. */
    async connect(opts) {
      opts = Object.assign({ audio: true, video: true, data: false, trickle: true }, opts || {});
      if (this.detached) throw new ChorusError('handle is detached', 'closed');
      if (this.pc) throw new ChorusError('this handle already has a PeerConnection (hang up first)', 'state');
      const timeoutMs = opts.timeoutMs || 20000;
      const body = opts.body || { audio: !!opts.audio, video: !!opts.video, data: !!opts.data };
      let stream = opts.stream || null;
      this._ownsStream = false;
      if (!stream && (opts.audio || opts.video)) {
        stream = await navigator.mediaDevices.getUserMedia({ audio: opts.audio || false, video: opts.video || false });
        this._ownsStream = true;
      }
      const config = Object.assign({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' }, opts.rtcConfig || {});
      if (opts.iceServers) config.iceServers = opts.iceServers;
      if (opts.iceTransportPolicy) config.iceTransportPolicy = opts.iceTransportPolicy;
      const pc = new RTCPeerConnection(config);
      this.pc = pc;
      this.localStream = stream;
      this.remoteStream = new MediaStream();
      this.webrtcUp = false;
      this._remoteCandidates = [];
      this._remoteEnded = false;
      this._localCandidates = [];
      this._trickleOff = opts.trickle === false;
      this._wirePc(pc);
      try {
        if (stream) for (const track of stream.getTracks()) pc.addTrack(track, stream);
        for (const t of opts.transceivers || []) pc.addTransceiver(t.kind, { direction: t.direction || 'recvonly' });
        if (opts.data) {
          const init = typeof opts.data === 'object' ? Object.assign({}, opts.data) : {};
          const label = typeof opts.data === 'string' ? opts.data : (init.label || 'chorus');
          delete init.label;
          this._wireDataChannel(pc.createDataChannel(label, init));
        }
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        if (this._trickleOff) await waitGathering(pc, 10000);
        const jsep = { type: 'offer', sdp: pc.localDescription.sdp };
        if (this._trickleOff) jsep.trickle = false;
        // The answer comes as an event with a jsep (usually with our transaction); an event
        // with our transaction, an "error" and no jsep is the plugin refusing the offer.
        const transaction = randomId(12);
        const answerWait = this._wait((m) => m.janus === 'event' &&
          ((m.jsep && m.jsep.type === 'answer') ||
           (m.transaction === transaction && m.plugindata && m.plugindata.data && m.plugindata.data.error)),
        timeoutMs, 'answer');
        answerWait.promise.catch(() => {});
        let reply;
        try {
          reply = await this.send(body, jsep, { timeoutMs, transaction });
        } catch (e) {
          answerWait.cancel(e);
          throw e;
        }
        // The offer is with the server: our candidates may follow it now.
        this._flushLocalCandidates();
        let ev;
        if (reply.janus === 'success') {
          answerWait.cancel(null);
          ev = reply; // a synchronous answer (or refusal)
        } else {
          ev = await answerWait.promise;
        }
        if (pc !== this.pc) throw new ChorusError('hung up while connecting', 'closed');
        if (!ev.jsep) {
          const d = (ev.plugindata && ev.plugindata.data) || {};
          throw new ChorusError(String(d.error || 'no answer'), d.error_code || 'refused', ev);
        }
        await pc.setRemoteDescription(ev.jsep);
        const queued = this._remoteCandidates;
        this._remoteCandidates = [];
        for (const c of queued) this._remoteCandidate(c);
        return { data: ev.plugindata ? ev.plugindata.data : null, jsep: ev.jsep };
      } catch (e) {
        if (pc === this.pc) this._closePc();
        throw e;
      }
    }

    _wirePc(pc) {
      pc.onicecandidate = (ev) => { if (pc === this.pc) this._localCandidate(ev.candidate); };
      pc.ontrack = (ev) => {
        if (pc !== this.pc) return;
        const track = ev.track;
        this.remoteStream.addTrack(track);
        track.addEventListener('ended', () => {
          if (this.remoteStream) this.remoteStream.removeTrack(track);
          this.emit('removetrack', track);
        });
        this.emit('track', track, ev.streams, ev.transceiver);
      };
      pc.ondatachannel = (ev) => { if (pc === this.pc) this._wireDataChannel(ev.channel); };
      pc.onconnectionstatechange = () => { if (pc === this.pc) this.emit('connectionstatechange', pc.connectionState); };
      pc.oniceconnectionstatechange = () => { if (pc === this.pc) this.emit('iceconnectionstatechange', pc.iceConnectionState); };
    }

    _wireDataChannel(dc) {
      if (!this.dataChannel) this.dataChannel = dc;
      dc.binaryType = 'arraybuffer';
      dc.onopen = () => this.emit('dataopen', dc);
      dc.onclose = () => this.emit('dataclose', dc);
      dc.onmessage = (ev) => this.emit('data', ev.data, dc);
    }

    sendData(payload) {
      const dc = this.dataChannel;
      if (!dc || dc.readyState !== 'open') throw new ChorusError('the data channel is not open', 'state');
      dc.send(payload);
    }

    _closePc() {
      for (const p of this._polls) p.stop();
      this._polls.clear();
      const pc = this.pc;
      this.pc = null;
      this.webrtcUp = false;
      this._localCandidates = null;
      this._remoteCandidates = [];
      if (this.dataChannel) { try { this.dataChannel.close(); } catch (e) { /* */ } this.dataChannel = null; }
      if (pc) {
        pc.onicecandidate = pc.ontrack = pc.ondatachannel = null;
        try { pc.close(); } catch (e) { /* */ }
      }
      if (this.localStream && this._ownsStream) for (const t of this.localStream.getTracks()) t.stop();
      this.localStream = null;
      this.remoteStream = null;
    }

    /* Closes the PeerConnection and tells the server to hang up. */
    async hangup() {
      const had = !!this.pc;
      this._closePc();
      if (had && !this.detached && this.session.state !== 'closed') {
        try { await this._handleRequest({ janus: 'hangup' }); } catch (e) { /* the server may have hung up already */ }
      }
    }

    /* Hangs up and detaches the handle from its plugin. */
    async detach() {
      if (this.detached) return;
      this._closePc();
      let error = null;
      if (this.session.state !== 'closed') {
        try { await this._handleRequest({ janus: 'detach' }); } catch (e) { error = e; }
      }
      this._gone('detached', new ChorusError('handle detached', 'closed'));
      if (error && error.code !== 'closed' && error.code !== 'disconnected') throw error;
    }

    stats() {
      if (!this.pc) return Promise.reject(new ChorusError('no PeerConnection', 'state'));
      return collectStats(this.pc);
    }

    pollStats(intervalMs, fn) {
      if (!this.pc) throw new ChorusError('no PeerConnection', 'state');
      const poll = pollStats(this.pc, intervalMs, fn);
      this._polls.add(poll);
      const stop = poll.stop;
      poll.stop = () => { this._polls.delete(poll); stop(); };
      return poll;
    }
  }

  function waitGathering(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() { clearTimeout(t); pc.removeEventListener('icegatheringstatechange', check); resolve(); }
      function check() { if (pc.iceGatheringState === 'complete') done(); }
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  // ---------------------------------------------------------------- Stats

  function codecOf(report, id) {
    const c = id ? report.get(id) : null;
    if (!c) return { codec: null, codecInfo: null };
    const name = (c.mimeType || '').split('/')[1] || c.mimeType || '';
    const codec = name + '/' + c.clockRate + (c.channels ? '/' + c.channels : '');
    return {
      codec,
      codecInfo: { mimeType: c.mimeType, clockRate: c.clockRate, channels: c.channels,
                   payloadType: c.payloadType, sdpFmtpLine: c.sdpFmtpLine },
    };
  }

  function candidateOf(report, id) {
    const c = id ? report.get(id) : null;
    if (!c) return null;
    return {
      type: c.candidateType, protocol: c.protocol, address: c.address || c.ip, port: c.port,
      relayProtocol: c.relayProtocol || null, url: c.url || null, networkType: c.networkType || null,
    };
  }

  const pick = (s, keys) => {
    const o = {};
    for (const k of keys) if (s[k] !== undefined) o[k] = s[k];
    return o;
  };

  const INBOUND_KEYS = ['kind', 'mid', 'ssrc', 'trackIdentifier', 'packetsReceived', 'packetsLost',
    'bytesReceived', 'headerBytesReceived', 'jitter', 'audioLevel', 'totalAudioEnergy',
    'totalSamplesDuration', 'totalSamplesReceived', 'concealedSamples', 'framesDecoded',
    'keyFramesDecoded', 'framesReceived', 'framesDropped', 'frameWidth', 'frameHeight',
    'framesPerSecond', 'nackCount', 'pliCount', 'firCount', 'jitterBufferDelay',
    'jitterBufferEmittedCount', 'lastPacketReceivedTimestamp', 'decoderImplementation'];
  const OUTBOUND_KEYS = ['kind', 'mid', 'ssrc', 'rid', 'packetsSent', 'bytesSent', 'headerBytesSent',
    'retransmittedPacketsSent', 'retransmittedBytesSent', 'framesEncoded', 'keyFramesEncoded',
    'framesSent', 'frameWidth', 'frameHeight', 'framesPerSecond', 'targetBitrate', 'nackCount',
    'pliCount', 'firCount', 'qualityLimitationReason', 'encoderImplementation', 'active'];

  /* One snapshot of a PeerConnection's statistics, summarised (see the header). */
  async function collectStats(pc) {
    const report = await pc.getStats();
    const out = {
      timestamp: Date.now(),
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState,
      signalingState: pc.signalingState,
      inbound: { audio: null, video: null },
      outbound: { audio: null, video: null },
      inboundAll: [],
      outboundAll: [],
      transport: null,
    };
    const remoteInbound = new Map();
    let transport = null;
    report.forEach((s) => {
      if (s.type === 'remote-inbound-rtp') remoteInbound.set(s.localId, s);
      if (s.type === 'transport' && (!transport || s.selectedCandidatePairId)) transport = s;
    });
    report.forEach((s) => {
      const kind = s.kind || s.mediaType;
      if (s.type === 'inbound-rtp') {
        const st = Object.assign(pick(s, INBOUND_KEYS), { kind, id: s.id, timestamp: s.timestamp },
                                 codecOf(report, s.codecId));
        out.inboundAll.push(st);
      } else if (s.type === 'outbound-rtp') {
        const st = Object.assign(pick(s, OUTBOUND_KEYS), { kind, id: s.id, timestamp: s.timestamp },
                                 codecOf(report, s.codecId));
        const r = remoteInbound.get(s.id);
        const src = s.mediaSourceId ? report.get(s.mediaSourceId) : null;
        st.source = src ? pick(src, ['trackIdentifier', 'audioLevel', 'totalAudioEnergy',
                                     'width', 'height', 'framesPerSecond']) : null;
        st.remote = r ? pick(r, ['packetsLost', 'fractionLost', 'jitter', 'roundTripTime',
                                 'totalRoundTripTime', 'roundTripTimeMeasurements']) : null;
        out.outboundAll.push(st);
      }
    });
    for (const kind of ['audio', 'video']) {
      out.inbound[kind] = busiest(out.inboundAll.filter((s) => s.kind === kind), 'packetsReceived');
      out.outbound[kind] = busiest(out.outboundAll.filter((s) => s.kind === kind), 'packetsSent');
    }
    if (transport) {
      let pair = transport.selectedCandidatePairId ? report.get(transport.selectedCandidatePairId) : null;
      if (!pair) report.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
      out.transport = {
        srtpCipher: transport.srtpCipher || null,
        // The profile's RFC name ("AEAD_AES_128_GCM"): browsers report the IANA one
        // ("SRTP_AEAD_AES_128_GCM").
        srtpProfile: transport.srtpCipher ? transport.srtpCipher.replace(/^SRTP_/, '') : null,
        dtlsCipher: transport.dtlsCipher || null,
        tlsVersion: transport.tlsVersion || null,
        dtlsState: transport.dtlsState || null,
        dtlsRole: transport.dtlsRole || null,
        iceState: transport.iceState || null,
        iceRole: transport.iceRole || null,
        bytesSent: transport.bytesSent,
        bytesReceived: transport.bytesReceived,
        selectedPair: pair ? {
          local: candidateOf(report, pair.localCandidateId),
          remote: candidateOf(report, pair.remoteCandidateId),
          state: pair.state,
          nominated: pair.nominated,
          currentRoundTripTime: pair.currentRoundTripTime,
          availableOutgoingBitrate: pair.availableOutgoingBitrate,
          bytesSent: pair.bytesSent,
          bytesReceived: pair.bytesReceived,
        } : null,
      };
    }
    return out;
  }

  function busiest(list, key) {
    let best = null;
    for (const s of list) if (!best || (s[key] || 0) > (best[key] || 0)) best = s;
    return best;
  }

  // Adds rates over the interval since `prev` to each stream of `cur`.
  function addRates(cur, prev) {
    const index = new Map();
    if (prev) for (const s of prev.inboundAll.concat(prev.outboundAll)) index.set(s.id, s);
    const rate = (a, b, dt) => (dt > 0 && a != null && b != null ? Math.max(0, (a - b) / dt) : null);
    for (const s of cur.inboundAll) {
      const p = index.get(s.id);
      const dt = p ? (s.timestamp - p.timestamp) / 1000 : 0;
      s.bitrate = p ? rate(s.bytesReceived * 8, p.bytesReceived * 8, dt) : null;
      s.packetRate = p ? rate(s.packetsReceived, p.packetsReceived, dt) : null;
      if (p) {
        const got = (s.packetsReceived || 0) - (p.packetsReceived || 0);
        const lost = Math.max(0, (s.packetsLost || 0) - (p.packetsLost || 0));
        s.lossPercent = got + lost > 0 ? (100 * lost) / (got + lost) : 0;
      } else {
        s.lossPercent = null;
      }
    }
    for (const s of cur.outboundAll) {
      const p = index.get(s.id);
      const dt = p ? (s.timestamp - p.timestamp) / 1000 : 0;
      s.bitrate = p ? rate(s.bytesSent * 8, p.bytesSent * 8, dt) : null;
      s.packetRate = p ? rate(s.packetsSent, p.packetsSent, dt) : null;
      s.lossPercent = s.remote && s.remote.fractionLost != null ? 100 * s.remote.fractionLost : null;
    }
    return cur;
  }

  /* Calls fn(summary-with-rates) every intervalMs until stop(). */
  function pollStats(pc, intervalMs, fn) {
    let prev = null;
    let stopped = false;
    let timer = null;
    const tick = async () => {
      if (stopped) return;
      try {
        const cur = addRates(await collectStats(pc), prev);
        prev = cur;
        if (!stopped) fn(cur);
      } catch (e) {
        if (!stopped) console.warn('chorus.js: getStats failed', e);
      }
      if (!stopped && pc.connectionState !== 'closed') timer = setTimeout(tick, intervalMs);
    };
    tick();
    return { stop() { stopped = true; clearTimeout(timer); } };
  }

  // ---------------------------------------------------------------- entry points

  /* Opens a session: Chorus.connect(url, options) → Promise<Session>. */
  function connect(url, options) {
    return new Session(url, options).open();
  }

  /* The default server URL for a page served by Chorus: ?server=..., else ws://<host>:8188. */
  function defaultServer(loc) {
    loc = loc || (typeof location !== 'undefined' ? location : null);
    const q = loc ? new URLSearchParams(loc.search).get('server') : null;
    if (q) return q;
    const host = loc && loc.hostname ? loc.hostname : '127.0.0.1';
    const secure = loc && loc.protocol === 'https:';
    return (secure ? 'wss://' : 'ws://') + (host.includes(':') ? '[' + host + ']' : host) + ':8188';
  }

  return {
    VERSION, Error: ChorusError, Emitter, Session, Handle,
    connect, stats: collectStats, pollStats, defaultServer, sleep,
  };
});
