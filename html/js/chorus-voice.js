/* chorus-voice.js — voice channels (chorus.plugin.voice) for the Chorus client library.
 *
 * Adds Chorus.voice and Chorus.Voice to window.Chorus; it needs js/chorus.js (sessions,
 * handles, stats), loaded first. No build step, no third-party code:
 *     <script src="js/chorus.js"></script>
 *     <script src="js/chorus-voice.js"></script>
 * (in CommonJS it requires ./chorus.js and exports the same, extended, object).
 *
 * Voice channels (chorus.plugin.voice; the README's "Voice channels" is the protocol)
 *   const voice = await Chorus.voice(session | url, options);   (new Chorus.Voice(session, options).attach())
 *     options: slots (4: receive-only m-lines offered), secret (moderator secret or admin_key,
 *              used by kick/moderate/destroy), audio (getUserMedia audio constraints),
 *              playAudio (true: one <audio> element per slot, not in the DOM), opaqueId, timeoutMs.
 *   voice.list() → channels [{channel, description, group, participants, max_participants,
 *       pin_required, permanent}],  voice.exists(name), voice.listParticipants(channel),
 *       voice.create({channel, description, group, secret, pin, max_participants, admin_key}),
 *       voice.destroy(channel, secret)
 *   voice.join(channel, {display, pin, stream, audio, listenOnly, slots, muted, deafened,
 *       iceServers, iceTransportPolicy}) → the "joined" data. Offers the mic (sendrecv; a
 *       track-less sendonly m-line when listenOnly) + K recvonly slots on one PeerConnection;
 *       a join after leave() renegotiates that connection; a channel of another group gets
 *       a fresh handle. A refused microphone rejects with err.code = the DOMException name
 *       ('NotAllowedError', 'NotFoundError', ...).
 *   voice.switch(channel, {pin}), voice.leave() (the connection stays), voice.disconnect()
 *       (leave + close the PeerConnection + release the mic), voice.close() (+ detach)
 *   voice.configure({muted, deafened, display}) → our P; voice.mute(bool) (also disables the
 *       mic track), voice.deafen(bool) (also mutes local playback), voice.setMicEnabled(bool)
 *       (local gate only: silence is sent)
 *   voice.kick(id, {channel, secret}), voice.moderate(id, muted, {channel, secret})
 *   State: voice.channel, voice.id (our participant id), voice.mic (its mid), voice.muted,
 *     voice.deafened, voice.serverMuted, voice.listenOnly, voice.participants (Map id → P {id, display, muted,
 *     deafened, server_muted, speaking}, ourselves included), voice.slots (Map mid → id|null),
 *     voice.streams (Map mid → MediaStream: one per slot for the connection's life; the
 *     participant it carries changes), voice.audioElements (Map mid → <audio>), voice.pc,
 *     voice.handle, voice.localStream. voice.slotOf(id), voice.streamOf(id),
 *     voice.audioElementOf(id), voice.setVolume(id, 0..1) (follows the participant across
 *     slots), voice.volumeOf(id), voice.resumeAudio() (after 'autoplayblocked').
 *   voice.stats() / voice.pollStats(ms, fn): the summary of Chorus.stats (see chorus.js) plus
 *     slots {mid: inbound + participant}, byParticipant {id: inbound}, rtt (s),
 *     inboundLossPercent (since the start), outboundLossPercent (the server's last report);
 *     pollStats adds inboundLossPercentInterval.
 *   Errors from the plugin reject with a Chorus.Error whose code is the voice error_code
 *     (444 wrong PIN, 445 full, ...) and err.voice = true.
 *   Events: 'channel' ({channel, previous}) we entered or left a channel, 'participants' (list),
 *     'joined' (P), 'left' (id, P), 'updated' (P, previous), 'speaking' (id),
 *     'stopped-speaking' (id), 'kicked' ({id, self, channel}), 'destroyed' ({channel}),
 *     'slots' (map, changedMids), 'stream' ({mid, stream, participant}) a slot re-labelled,
 *     'hangup' ({reason}), 'connectionstatechange' (state), 'webrtcup', 'resynced' (after a
 *     reconnect the participant list is re-read: events sent while the socket was down are
 *     lost), 'autoplayblocked' ({mid}), 'error' (err).
 */
(function (root, factory) {
  'use strict';
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(require('./chorus.js'));
  } else if (root.Chorus && root.Chorus.Handle) {
    factory(root.Chorus);
  } else {
    console.error('chorus-voice.js: window.Chorus is missing: load js/chorus.js before js/chorus-voice.js');
  }
})(typeof self !== 'undefined' ? self : this, function (Chorus) {
  'use strict';

  const { Error: ChorusError, Emitter, connect, stats: collectStats } = Chorus;

  // ---------------------------------------------------------------- Voice channels

  const VOICE_PLUGIN = 'chorus.plugin.voice';
  const VOICE_DEFAULTS = {
    plugin: VOICE_PLUGIN, slots: 4, secret: null, timeoutMs: 20000, playAudio: true,
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  };

  // A plugin answer {voice: "error", error_code, error} as a ChorusError (code = error_code).
  function voiceError(data, msg) {
    const e = new ChorusError(String((data && data.error) || 'voice error'),
                              (data && data.error_code) || 'refused', msg || null);
    e.voice = true;
    return e;
  }

  class Voice extends Emitter {
    constructor(session, options) {
      super();
      this.session = session;
      this.options = Object.assign({}, VOICE_DEFAULTS, options || {});
      this.handle = null;
      this.channel = null;        // the channel we are in (null: none)
      this.id = null;             // our participant id (kept across channels)
      this.mic = null;            // the mid of our microphone m-line
      this.display = null;
      this.participants = new Map(); // id → P {id, display, muted, deafened, server_muted, speaking}
      this.slots = new Map();        // mid → participant id | null
      this.streams = new Map();      // mid → MediaStream (one per slot, for its whole life)
      this.audioElements = new Map(); // mid → HTMLAudioElement (options.playAudio)
      this.volumes = new Map();      // participant id → 0..1
      this.localStream = null;
      this.muted = false;
      this.deafened = false;
      this.serverMuted = false;
      this.listenOnly = false;
      this._joinOpts = null;
      this._offs = [];
      this._offs.push(session.on('reconnected', () => this._resync().catch((e) => this.emit('error', e))));
    }

    get pc() { return this.handle ? this.handle.pc : null; }
    get inChannel() { return this.channel != null; }

    async attach() {
      if (this.handle && !this.handle.detached) return this;
      const h = await this.session.attach(this.options.plugin, { opaqueId: this.options.opaqueId });
      this.handle = h;
      h.on('message', (data, jsep, msg) => { if (h === this.handle) this._onMessage(data, msg); });
      h.on('hangup', (ev) => { if (h === this.handle) this._onHangup(ev.reason); });
      h.on('detached', () => { if (h === this.handle) this._onHangup('detached'); });
      h.on('connectionstatechange', (st) => { if (h === this.handle) this.emit('connectionstatechange', st); });
      h.on('webrtcup', () => { if (h === this.handle) this.emit('webrtcup'); });
      return this;
    }

    // ---- requests without a channel

    async _request(body, opts) {
      if (!this.handle || this.handle.detached) await this.attach();
      const r = await this.handle.request(body, null, opts);
      if (r.data && r.data.voice === 'error') throw voiceError(r.data, r.msg);
      return r.data;
    }

    async list() { return (await this._request({ request: 'list' })).channels; }
    async exists(channel) { return (await this._request({ request: 'exists', channel })).exists; }
    async listParticipants(channel) {
      return (await this._request({ request: 'participants', channel: channel || this.channel })).participants;
    }
    /* create({channel, description, group, secret, pin, max_participants, admin_key}) */
    create(opts) { return this._request(Object.assign({ request: 'create' }, opts)); }
    destroy(channel, secret) {
      return this._request(this._secret({ request: 'destroy', channel: channel || this.channel }, secret));
    }

    _secret(body, secret) {
      const s = secret != null ? secret : this.options.secret;
      if (s != null && s !== '') body.secret = String(s);
      return body;
    }

    // ---- joining

    async _getMic(constraints) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new ChorusError('this browser cannot capture audio (getUserMedia is missing; https needed?)', 'NotSupportedError');
      }
      try {
        return await navigator.mediaDevices.getUserMedia({ audio: constraints || true, video: false });
      } catch (e) {
        const err = new ChorusError('microphone: ' + (e.message || e.name), e.name || 'mic');
        err.cause = e;
        throw err;
      }
    }

    /* join(channel, {display, pin, stream, audio, listenOnly, slots, muted, deafened,
     *                iceServers, iceTransportPolicy, timeoutMs}) → joined data */
    async join(channel, opts) {
      opts = Object.assign({}, opts || {});
      if (this.channel) throw new ChorusError('already in ' + this.channel + ': switch or leave first', 446);
      if (!this.handle || this.handle.detached) await this.attach();
      const body = { request: 'join', channel };
      if (opts.display != null) body.display = String(opts.display);
      if (opts.pin != null && opts.pin !== '') body.pin = String(opts.pin);
      this._joinOpts = opts;
      let data;
      try {
        data = this.handle.pc ? await this._rejoin(body, opts) : await this._connect(body, opts);
      } catch (e) {
        // 449 on a connection placed for another group: a fresh handle joins anywhere.
        if (e.code !== 449 || opts._retried) throw e;
        await this._newHandle();
        return this.join(channel, Object.assign(opts, { _retried: true }));
      }
      if (opts.muted) await this.mute(true);
      if (opts.deafened) await this.deafen(true);
      return data;
    }

    async _connect(body, opts) {
      const listenOnly = !!opts.listenOnly;
      let stream = opts.stream || null;
      const own = !stream && !listenOnly;
      if (own) stream = await this._getMic(opts.audio || this.options.audio);
      const k = opts.slots || this.options.slots;
      const transceivers = [];
      if (listenOnly || !stream) transceivers.push({ kind: 'audio', direction: 'sendonly' });
      for (let i = 0; i < k; i++) transceivers.push({ kind: 'audio', direction: 'recvonly' });
      this.localStream = stream;
      this._ownsStream = own;
      this.listenOnly = !stream;
      try {
        const r = await this.handle.connect({
          audio: false, video: false, stream, transceivers, body,
          iceServers: opts.iceServers, iceTransportPolicy: opts.iceTransportPolicy,
          timeoutMs: opts.timeoutMs || this.options.timeoutMs,
        });
        this._applyJoined(r.data);
        return r.data;
      } catch (e) {
        this._stopLocal();
        throw e;
      }
    }

    // A join on the PeerConnection we kept after "leave": a new offer on it.
    async _rejoin(body, opts) {
      const pc = this.handle.pc;
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      let r;
      try {
        r = await this.handle.request(body, { type: 'offer', sdp: pc.localDescription.sdp },
                                      { timeoutMs: opts.timeoutMs || this.options.timeoutMs });
      } catch (e) {
        await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
        throw e;
      }
      if (!r.jsep) {
        await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
        throw voiceError(r.data, r.msg);
      }
      this._applyJoined(r.data);
      await pc.setRemoteDescription(r.jsep);
      return r.data;
    }

    async _newHandle() {
      const old = this.handle;
      this.handle = null;
      this._stopLocal();
      if (old) await old.detach().catch(() => {});
      this._clearChannel();
      await this.attach();
    }

    /* switch(channel, {pin}): same connection within a group; across groups, a new one. */
    async switch(channel, opts) {
      opts = opts || {};
      if (!this.channel) throw new ChorusError('not in a channel', 446);
      const body = { request: 'switch', channel };
      if (opts.pin != null && opts.pin !== '') body.pin = String(opts.pin);
      try {
        const data = await this._request(body);
        this._enterChannel(data);
        return data;
      } catch (e) {
        if (e.code !== 449 || opts.acrossGroups === false) throw e;
      }
      await this.leave();
      await this._newHandle();
      return this.join(channel, Object.assign({}, this._joinOpts, { pin: opts.pin, _retried: true }));
    }

    /* Leaves the channel; the PeerConnection (and microphone) stay for a later join. */
    async leave() {
      if (!this.channel) return null;
      let data = null;
      try { data = await this._request({ request: 'leave' }); } finally { this._clearChannel(); }
      return data;
    }

    /* Leaves, closes the PeerConnection and releases the microphone (the handle stays). */
    async disconnect() {
      try { await this.leave(); } catch (e) { /* the server may have dropped us already */ }
      if (this.handle) await this.handle.hangup();
      this._stopLocal();
      this._clearChannel();
    }

    /* Disconnects and detaches the handle. */
    async close() {
      await this.disconnect().catch(() => {});
      if (this.handle) await this.handle.detach().catch(() => {});
      for (const off of this._offs) off();
      this._offs = [];
    }

    // ---- our state

    /* configure({muted, deafened, display}) → our participant P */
    async configure(opts) {
      const data = await this._request(Object.assign({ request: 'configure' }, opts));
      if (data.participant) this._updateParticipant(data.participant);
      return data.participant;
    }

    /* mute(true|false): the server stops forwarding us, and the mic track is disabled. */
    async mute(on) {
      on = !!on;
      const p = await this.configure({ muted: on });
      this.setMicEnabled(!on);
      return p;
    }

    /* deafen(true|false): the server stops sending us audio; local playback is muted too. */
    async deafen(on) {
      const p = await this.configure({ deafened: !!on });
      this._applyVolumes();
      return p;
    }

    /* The local gate on the mic track (no signalling): false sends silence. */
    setMicEnabled(on) {
      if (this.localStream) for (const t of this.localStream.getAudioTracks()) t.enabled = !!on;
    }

    // ---- moderation (channel secret or the plugin's admin_key)

    kick(id, opts) {
      opts = opts || {};
      return this._request(this._secret({ request: 'kick', channel: opts.channel || this.channel, id }, opts.secret));
    }

    moderate(id, muted, opts) {
      opts = opts || {};
      return this._request(this._secret({ request: 'moderate', channel: opts.channel || this.channel,
                                          id, muted: !!muted }, opts.secret));
    }

    // ---- slots, streams, playback

    slotOf(id) {
      for (const [mid, pid] of this.slots) if (pid === id) return mid;
      return null;
    }

    streamOf(id) {
      const mid = this.slotOf(id);
      return mid != null ? this.streams.get(mid) || null : null;
    }

    audioElementOf(id) {
      const mid = this.slotOf(id);
      return mid != null ? this.audioElements.get(mid) || null : null;
    }

    setVolume(id, v) {
      this.volumes.set(id, Math.max(0, Math.min(1, Number(v))));
      this._applyVolumes();
    }

    volumeOf(id) { return this.volumes.has(id) ? this.volumes.get(id) : 1; }

    /* Plays every slot again (after an autoplay refusal, from a click). */
    resumeAudio() {
      const all = [];
      for (const el of this.audioElements.values()) all.push(el.play().catch(() => {}));
      return Promise.all(all);
    }

    _ensureStreams() {
      const pc = this.pc;
      if (!pc) return;
      for (const t of pc.getTransceivers()) {
        if (t.mid == null || t.mid === this.mic || !this.slots.has(t.mid) || this.streams.has(t.mid)) continue;
        const stream = new MediaStream([t.receiver.track]);
        this.streams.set(t.mid, stream);
        if (this.options.playAudio && typeof Audio !== 'undefined') {
          const el = new Audio();
          el.autoplay = true;
          el.srcObject = stream;
          el.dataset.mid = t.mid;
          this.audioElements.set(t.mid, el);
          el.play().catch((e) => this.emit('autoplayblocked', { mid: t.mid, error: e }));
        }
      }
    }

    _applyVolumes() {
      for (const [mid, el] of this.audioElements) {
        const id = this.slots.get(mid);
        el.volume = id != null ? this.volumeOf(id) : 1;
        el.muted = this.deafened;
      }
    }

    _applySlots(map, replace) {
      const before = new Map(this.slots);
      if (replace) this.slots.clear();
      for (const [mid, id] of Object.entries(map || {})) this.slots.set(mid, id == null ? null : id);
      this._ensureStreams();
      this._applyVolumes();
      const changed = [];
      for (const [mid, id] of this.slots) if (before.get(mid) !== id) changed.push(mid);
      if (changed.length || replace) {
        this.emit('slots', Object.fromEntries(this.slots), changed);
        for (const mid of changed) {
          this.emit('stream', { mid, stream: this.streams.get(mid) || null, participant: this.slots.get(mid) });
        }
      }
    }

    // ---- plugin events

    _setParticipants(list) {
      this.participants.clear();
      for (const p of list || []) this.participants.set(p.id, Object.assign({}, p));
      const self = this.participants.get(this.id);
      if (self) this._selfState(self);
    }

    _selfState(p) {
      this.muted = !!p.muted;
      this.deafened = !!p.deafened;
      this.serverMuted = !!p.server_muted;
      this.display = p.display;
    }

    _updateParticipant(p) {
      const prev = this.participants.get(p.id) || null;
      const next = Object.assign({}, prev || {}, p);
      // A muted participant is not forwarded, so it is not speaking (the server's "updated"
      // after a mute may still say speaking: true, sent after its "stopped-speaking").
      if (next.muted || next.server_muted) next.speaking = false;
      this.participants.set(p.id, next);
      if (p.id === this.id) {
        this._selfState(next);
        this.setMicEnabled(!(next.muted || next.server_muted));
        this._applyVolumes();
      }
      return prev;
    }

    _applyJoined(data) {
      if (!data || data.voice !== 'joined' || (this.channel === data.channel && this.id === data.id)) return;
      this.id = data.id;
      this.mic = data.mic;
      this._enterChannel(data);
    }

    _enterChannel(data) {
      this.channel = data.channel;
      this._setParticipants(data.participants);
      this._applySlots(data.slots, true);
      this.emit('channel', { channel: this.channel, participants: this.participantList() });
      this.emit('participants', this.participantList());
    }

    _clearChannel() {
      const was = this.channel;
      this.channel = null;
      this.participants.clear();
      const cleared = {};
      for (const mid of this.slots.keys()) cleared[mid] = null;
      this._applySlots(cleared, false);
      if (was != null) {
        this.emit('channel', { channel: null, previous: was, participants: [] });
        this.emit('participants', []);
      }
    }

    _stopLocal() {
      if (this.localStream && this._ownsStream) for (const t of this.localStream.getTracks()) t.stop();
      this.localStream = null;
      for (const el of this.audioElements.values()) { el.srcObject = null; }
      this.audioElements.clear();
      this.streams.clear();
      this.slots.clear();
    }

    _onHangup(reason) {
      this._stopLocal();
      this._clearChannel();
      this.emit('hangup', { reason });
    }

    participantList() { return [...this.participants.values()]; }

    _onMessage(data, msg) {
      if (!data) return;
      switch (data.voice) {
        case 'joined': this._applyJoined(data); return;
        case 'kicked': {
          const channel = this.channel;
          this._clearChannel();
          this.emit('kicked', { id: this.id, self: true, channel: data.channel || channel });
          return;
        }
        case 'error':
          if (!msg || !msg.transaction) this.emit('error', voiceError(data, msg));
          return;
        case 'event': break;
        default: return;
      }
      if (data.channel !== this.channel) return; // from a channel we have left
      let list = false;
      if (data.joined) {
        this._updateParticipant(data.joined);
        this.emit('joined', data.joined);
        list = true;
      }
      if (data.left != null) {
        const p = this.participants.get(data.left) || null;
        this.participants.delete(data.left);
        this.emit('left', data.left, p);
        list = true;
      }
      if (data.kicked != null) {
        const p = this.participants.get(data.kicked) || null;
        this.participants.delete(data.kicked);
        this.emit('kicked', { id: data.kicked, self: false, participant: p, channel: data.channel });
        list = true;
      }
      if (data.updated) {
        const prev = this._updateParticipant(data.updated);
        this.emit('updated', this.participants.get(data.updated.id), prev);
        list = true;
      }
      for (const [key, on] of [['speaking', true], ['stopped-speaking', false]]) {
        if (data[key] == null) continue;
        const p = this.participants.get(data[key]);
        if (p) p.speaking = on;
        this.emit(key, data[key]);
        list = true;
      }
      if (data.slots) this._applySlots(data.slots, false);
      if (data.destroyed) {
        const channel = this.channel;
        this._clearChannel();
        this.emit('destroyed', { channel });
        return;
      }
      if (list) this.emit('participants', this.participantList());
    }

    // After a reconnect (claim) events sent while we had no socket are lost: re-read the
    // channel's participants. (The slot map cannot be re-read: see the README.)
    async _resync() {
      if (!this.channel || !this.handle || this.handle.detached) return;
      const channel = this.channel;
      const list = await this.listParticipants(channel);
      if (this.channel !== channel) return;
      const before = new Map(this.participants);
      this._setParticipants(list);
      for (const [id, p] of before) if (!this.participants.has(id)) this.emit('left', id, p);
      for (const [id, p] of this.participants) {
        const prev = before.get(id);
        if (!prev) this.emit('joined', p);
        else if (JSON.stringify(prev) !== JSON.stringify(p)) this.emit('updated', p, prev);
      }
      this.emit('participants', this.participantList());
      this.emit('resynced', { channel });
    }

    // ---- statistics

    _decorateStats(s) {
      s.slots = {};
      s.byParticipant = {};
      let got = 0;
      let lost = 0;
      for (const st of s.inboundAll) {
        if (st.kind !== 'audio' || st.mid == null || !this.slots.has(st.mid)) continue;
        const participant = this.slots.get(st.mid);
        s.slots[st.mid] = Object.assign({ participant }, st);
        if (participant != null) s.byParticipant[participant] = st;
        got += st.packetsReceived || 0;
        lost += Math.max(0, st.packetsLost || 0);
      }
      const out = s.outbound.audio;
      const pair = s.transport && s.transport.selectedPair;
      s.rtt = pair && pair.currentRoundTripTime != null ? pair.currentRoundTripTime
        : out && out.remote && out.remote.roundTripTime != null ? out.remote.roundTripTime : null;
      s.inboundLossPercent = got + lost > 0 ? (100 * lost) / (got + lost) : null;
      s.outboundLossPercent = out && out.remote && out.remote.fractionLost != null ? 100 * out.remote.fractionLost : null;
      return s;
    }

    async stats() {
      if (!this.pc) throw new ChorusError('no PeerConnection', 'state');
      return this._decorateStats(await collectStats(this.pc));
    }

    pollStats(intervalMs, fn) {
      if (!this.handle || !this.pc) throw new ChorusError('no PeerConnection', 'state');
      let prev = null;
      return this.handle.pollStats(intervalMs, (s) => {
        this._decorateStats(s);
        // Inbound loss over the last interval, all slots together.
        const now = { got: 0, lost: 0 };
        for (const st of Object.values(s.slots)) { now.got += st.packetsReceived || 0; now.lost += Math.max(0, st.packetsLost || 0); }
        const dGot = prev ? now.got - prev.got : 0;
        const dLost = prev ? Math.max(0, now.lost - prev.lost) : 0;
        s.inboundLossPercentInterval = prev && dGot >= 0 && dGot + dLost > 0 ? (100 * dLost) / (dGot + dLost) : null;
        prev = now;
        fn(s);
      });
    }
  }

  /* Chorus.voice(sessionOrUrl, options) → Promise<Voice> (attached to chorus.plugin.voice). */
  async function voice(sessionOrUrl, options) {
    const session = typeof sessionOrUrl === 'string' ? await connect(sessionOrUrl, options) : sessionOrUrl;
    return new Voice(session, options).attach();
  }

  Chorus.Voice = Voice;
  Chorus.voice = voice;
  return Chorus;
});
