// The signaling side of a VeilConnection (installed on its prototype by veil.js): connect(), the WebSocket,
// redirects, the message dispatch, notify/members, disconnect and teardown.

import { VeilError } from './errors.js';

/** Most `redirect`s one connect follows (docs/PROTOCOL.md §1.9); one more fails it. */
export const MAX_REDIRECTS = 3;

/** VeilConnection methods: signaling and the connection life cycle. */
export const signalingMethods = {
  /**
   * Joins the channel. Resolves with the stream sent once ICE and DTLS are connected (media flows);
   * rejects with an Error saying why on refusal, failure or timeout.
   * @param {MediaStream|null} stream what to send (ignored for recvonly)
   */
  connect(stream) {
    if (this._connecting) throw new VeilError('connect() was already called', 'bad-state');
    if (this.role !== 'recvonly' && !(stream && typeof stream.getTracks === 'function')) {
      return Promise.reject(new VeilError(`${this.role} needs a MediaStream to send`, 'bad-argument'));
    }
    this.stream = this.role === 'recvonly' ? null : stream;
    this._connecting = new Promise((resolve, reject) => {
      this._resolveConnect = resolve;
      this._rejectConnect = reject;
    });
    this._connectTimer = setTimeout(() => {
      this._emit('timeout', {});
      this._abend('timeout', `connect timed out after ${this.options.timeout} ms (${this._progress()})`);
    }, this.options.timeout);
    if (this.options.e2ee) {
      this._stage = 'starting E2EE';
      this._setupE2ee().then(() => this._openSignaling(stream),
        e => this._abend('e2ee', `E2EE unavailable: ${e && e.message ? e.message : e}`));
    } else {
      this._openSignaling(stream);
    }
    return this._connecting;
  },

  _openSignaling(stream) {
    if (this._closed) return;
    this._stage = 'opening WebSocket';
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this._abend('signaling', `cannot open WebSocket ${this.url}: ${e.message}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this._stage = 'waiting for offer';
      const msg = { type: 'connect', role: this.role, channel_id: this.channelId, e2ee: !!this.options.e2ee };
      if (this.options.e2ee) msg.e2ee_key_mode = this.options.keyMode; // always explicit (absent = sender-keys)
      if (this.metadata !== null) msg.metadata = this.metadata;
      if (this.signalingNotifyMetadata !== null) msg.signaling_notify_metadata = this.signalingNotifyMetadata;
      if (this.options.receiveMaxHeight > 0) msg.receive_max_height = Math.floor(this.options.receiveMaxHeight);
      if (typeof this.options.token === 'string' && this.options.token !== '') msg.token = this.options.token;
      if (this.role !== 'recvonly') {
        if (this.options.screenShare) msg.screen = true;
        msg.audio = !!this.options.audio && stream.getAudioTracks().length > 0;
        msg.video = !!this.options.video && stream.getVideoTracks().length > 0;
      }
      this._send(msg);
    };
    ws.onmessage = ev => this._onSignaling(ev.data);
    ws.onerror = () => { /* the close event follows and says more */ };
    ws.onclose = ev => {
      if (this._closed) return;
      const why = this._lastError || (ev.reason ? ev.reason : `WebSocket closed (code ${ev.code})`);
      this._abend('signaling', `signaling closed: ${why}`);
    };
  },

  /**
   * `redirect` (docs/PROTOCOL.md §1.9): another node of the cluster owns the channel. Before the offer only, at
   * most MAX_REDIRECTS times, never from wss: to ws:: this WebSocket is dropped and the same connect goes to the
   * location. `this.url` is then the owner's URL.
   */
  _onRedirect(msg) {
    if (this.connectionId !== null) {
      this._abend('signaling', 'the server sent a redirect after its offer');
      return;
    }
    const to = typeof msg.location === 'string' ? msg.location : '';
    if (!/^wss?:\/\/[^/?#@\s]+/.test(to) || to.length > 2048) {
      this._abend('signaling', 'unusable redirect location');
      return;
    }
    if (this.redirects >= MAX_REDIRECTS) {
      this._abend('signaling', `more than ${MAX_REDIRECTS} redirects (last to ${to})`);
      return;
    }
    if (this.url.startsWith('wss:') && !to.startsWith('wss:')) {
      this._abend('signaling', `refusing a redirect from wss to ws (${to})`);
      return;
    }
    this.redirects++;
    const old = this.ws;
    if (old) {
      old.onclose = old.onmessage = old.onopen = null;
      try { old.close(1000, 'redirected'); } catch (e) { /* closing */ }
    }
    this.ws = null;
    this.url = to;
    this._openSignaling(this.stream);
  },

  _progress() {
    const pc = this.pc;
    return pc ? `${this._stage}; ice ${pc.iceConnectionState}, peer connection ${pc.connectionState}` : this._stage;
  },

  _send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  },

  _onSignaling(data) {
    if (typeof data !== 'string') return;
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    this._emit('signaling', msg);
    switch (msg.type) {
      case 'offer': this._serial(() => this._onOffer(msg)); break;
      case 're-offer': this._serial(() => this._onReOffer(msg)); break;
      case 'ping': this._send({ type: 'pong' }); break;
      case 'notify': this._onNotify(msg); break;
      case 'data': this._onData(msg); break;
      case 'downlink-stats': this._onDownlinkStats(msg); break;
      case 'e2ee':
        if (this._e2ee && this._e2ee.onMessage) this._e2ee.onMessage(this, msg.from, msg.payload);
        break;
      case 'mls':
      case 'mls_event':
        if (this._e2ee && this._e2ee.onMls) this._e2ee.onMls(this, msg);
        break;
      case 'error':
        this._lastError = msg.reason;
        if (typeof msg.reason === 'string' && msg.reason.startsWith('ice-restart')) {
          this._endIceRestart(new VeilError(`Veil: the server refused the ICE restart: ${msg.reason}`, 'ice-restart'));
        } else if (this._rejectConnect && this.connectionId === null) {
          // access-token refusals (docs/PROTOCOL.md §1.7) reject connect() with err.reason 'auth'
          const auth = typeof msg.reason === 'string' && /^token_[a-z_]+: /.test(msg.reason);
          this._abend(auth ? 'auth' : 'signaling', `refused by the server: ${msg.reason}`);
        } else {
          this._emit('e2ee', { type: 'signaling-error', reason: msg.reason });
        }
        break;
      case 'disconnect':
        this._lastError = this._lastError || msg.reason;
        break;
      case 'draining':
        this._emit('draining', { deadlineMs: typeof msg.deadline_ms === 'number' ? msg.deadline_ms : 0 });
        break;
      case 'redirect': this._onRedirect(msg); break;
      default: break;
    }
  },

  /** Runs SDP work one step at a time (an offer and the re-offers after it never interleave). */
  _serial(fn) {
    this._queue = this._queue.then(() => (this._closed ? null : fn())).catch(e => {
      this._abend('sdp', `SDP negotiation failed: ${e && e.message ? e.message : e}`);
    });
  },

  _onNotify(msg) {
    if (msg.event_type === 'connection.created') {
      if (msg.connection_id === this.connectionId && Array.isArray(msg.data)) {
        for (const m of msg.data) {
          this.members.set(m.connection_id, { role: m.role, signalingNotifyMetadata: m.signaling_notify_metadata ?? null });
        }
      } else if (msg.connection_id !== this.connectionId) {
        this.members.set(msg.connection_id, { role: msg.role, signalingNotifyMetadata: msg.signaling_notify_metadata ?? null });
      }
    } else if (msg.event_type === 'connection.destroyed') {
      this.members.delete(msg.connection_id);
    }
    if (this._e2ee && this._e2ee.onNotify) this._e2ee.onNotify(this, msg);
    this._emit('notify', msg);
  },

  /** Leaves the channel and closes everything. Resolves when done; never rejects. */
  async disconnect() {
    if (this._closed) return;
    this._send({ type: 'disconnect' });
    this._teardown();
    if (this._rejectConnect) {
      const reject = this._rejectConnect;
      this._resolveConnect = this._rejectConnect = null;
      reject(new VeilError('disconnect() was called before the connection was up', 'disconnected'));
    }
    this._emit('disconnect', { type: 'normal', reason: 'disconnect() called' });
  },

  _abend(reason, message) {
    if (this._closed) return;
    this._teardown();
    const err = new VeilError(`Veil: ${message}`, reason);
    if (this._rejectConnect) {
      const reject = this._rejectConnect;
      this._resolveConnect = this._rejectConnect = null;
      reject(err);
    }
    this._emit('disconnect', { type: 'abend', reason, message: err.message });
  },

  _teardown() {
    this._closed = true;
    clearTimeout(this._connectTimer);
    clearTimeout(this._iceTimer);
    this._endIceRestart(new VeilError('Veil: the connection ended during the ICE restart', 'bad-state'));
    if (this._e2ee && this._e2ee.close) {
      try { this._e2ee.close(this); } catch (e) { /* closing */ }
    }
    if (this.ws) {
      this.ws.onclose = this.ws.onmessage = this.ws.onopen = null;
      try { this.ws.close(1000, 'disconnect'); } catch (e) { /* closing */ }
    }
    if (this.pc) {
      this.pc.ontrack = this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
      try { this.pc.close(); } catch (e) { /* closing */ }
    }
  },
};
