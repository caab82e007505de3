// The RTCPeerConnection of a VeilConnection (installed on its prototype by veil.js): the offer and re-offers,
// SDP munging, local transceivers (simulcast, codecs), remote tracks and the peer connection state.

import { sectionTexts, setScalabilityMode, setSimulcastEncodings, simulcastRecvRids, withoutSimulcast } from './simulcast.js';
import { parseSections, iceUfrag, videoCodecPreferences, orderOfferVideoCodecs, iceServersOf } from './sdp.js';

/** VeilConnection methods: the peer connection, SDP and tracks. */
export const peerMethods = {
  async _onOffer(msg) {
    this._stage = 'negotiating';
    this.connectionId = msg.connection_id;
    this._pingInterval = msg.ping_interval;
    const config = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
      iceServers: iceServersOf(this.options.iceServers, this.options.serverIceServers === false ? null : msg.ice_servers) };
    if (this.options.iceTransportPolicy) config.iceTransportPolicy = this.options.iceTransportPolicy;
    // E2EE: always ask for encoded insertable streams. Without it Chromium short-circuits the encoded-transform path
    // of senders and receivers that had no transform when they were made, and a transform set later (a receiver in
    // ontrack) is silently bypassed: media would flow in clear. With it, a frame without a transform goes nowhere.
    if (this.options.e2ee) config.encodedInsertableStreams = true;
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    pc.ontrack = ev => this._onTrack(ev);
    pc.onconnectionstatechange = () => this._onPcState();
    pc.oniceconnectionstatechange = () => this._onIceState();
    if (this._e2ee && this._e2ee.onOffer) await this._e2ee.onOffer(this, msg);
    const offer = this._remoteOffer(msg.sdp);
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this._attachLocalTracks(offer);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this._onLocalDescription();
    this._send({ type: 'answer', sdp: pc.localDescription.sdp });
    // after negotiation: Chromium keeps a scalability mode only once the send codec is known
    if (this.options.scalabilityMode && this._cameraTransceiver) {
      await setScalabilityMode(this._cameraTransceiver.sender, this.options.scalabilityMode);
    }
    this._stage = 'connecting ICE/DTLS';
    this._onPcState();
  },

  /** The server's offer as this client applies it: without simulcast when {simulcast: false}. */
  _remoteOffer(sdp) {
    return this._orderOffer(this.options.simulcast === false ? withoutSimulcast(sdp) : sdp);
  },

  /**
   * Simulcast: the server offered to receive the layers `rids` (lowest first) on this sender's m-section; the
   * browser made one encoding per rid: give them their resolution and bitrate.
   */
  _setSimulcastEncodings(sender, rids) {
    return setSimulcastEncodings(sender, rids, this.options.simulcastEncodings);
  },

  /** Puts the local tracks on the m-sections the server offered to receive (a=recvonly). */
  async _attachLocalTracks(sdp) {
    if (!this.stream) return;
    const texts = sectionTexts(sdp);
    const wanted = parseSections(sdp).map((s, i) => ({ ...s, rids: simulcastRecvRids(texts[i]) }))
      .filter(s => s.direction === 'recvonly' && s.port !== 0);
    const pending = { audio: this.stream.getAudioTracks().slice(), video: this.stream.getVideoTracks().slice() };
    let cameraSlot = this.options.video === false || pending.video.length === 0 ? 0 : 1;
    for (const t of this.pc.getTransceivers()) {
      const sec = wanted.find(s => s.mid === t.mid);
      if (!sec) continue;
      if (sec.kind === 'video') {
        if (cameraSlot-- > 0) this._cameraTransceiver = t;
        else if (this.options.screenShare && !this._screenTransceiver) {
          // the screen-share uplink: sending, encrypted, empty until startScreenShare() puts a track on it
          this._screenTransceiver = t;
          t.direction = 'sendonly';
          if (this.e2ee) this.e2ee.attachSender(t.sender, 'video');
          continue;
        }
      }
      if (sec.kind === 'audio') this._audioTransceiver = t;
      const track = (pending[sec.kind] || []).shift();
      if (!track) { t.direction = 'inactive'; continue; }
      t.direction = 'sendonly';
      if (sec.kind === 'video') this._preferVideoCodecs(t);
      // E2EE: the encrypting transform goes on before the track, so no frame can leave unencrypted
      if (this.e2ee) this.e2ee.attachSender(t.sender, track.kind);
      await t.sender.replaceTrack(track);
      if (track.kind === 'video' && sec.rids.length > 1) await this._setSimulcastEncodings(t.sender, sec.rids);
      if (t.sender.setStreams) t.sender.setStreams(this.stream);
      if (!this.e2ee && this._e2ee && this._e2ee.setupSender) await this._e2ee.setupSender(this, t.sender);
    }
  },

  /** The offer with the uplink video codecs in the order of the `codecs` option (see orderOfferVideoCodecs). */
  _orderOffer(sdp) {
    return orderOfferVideoCodecs(sdp, this.options.codecs || null,
      this.options.e2ee ? (this.options.e2eeFormat || 'sframe') : null);
  },

  /** Applies the `codecs` option (and, with E2EE, the codecs the worker protects) to a sending transceiver. */
  _preferVideoCodecs(t) {
    const wanted = this.options.codecs || null;
    const format = this.options.e2ee ? (this.options.e2eeFormat || 'sframe') : null;
    if ((!wanted && !format) || typeof t.setCodecPreferences !== 'function') return;
    const caps = (RTCRtpReceiver.getCapabilities('video') || { codecs: [] }).codecs;
    const prefs = videoCodecPreferences(caps, wanted, format);
    if (prefs) t.setCodecPreferences(prefs);
  },

  async _onReOffer(msg) {
    const pc = this.pc;
    const before = iceUfrag(pc.remoteDescription ? pc.remoteDescription.sdp : '');
    // New ice-ufrag/ice-pwd in the offer = an ICE restart (JSEP): the answer gets new local credentials and the
    // browser checks again with the new ones.
    await pc.setRemoteDescription({ type: 'offer', sdp: this._remoteOffer(msg.sdp) });
    // A track that is gone has its m-line rejected (port 0: the transceiver stops) or made inactive. Chromium fires
    // 'removetrack' on the stream for both; whatever a browser fires, every such track ends here, once.
    const live = new Set(pc.getTransceivers());
    const sending = new Set(parseSections(msg.sdp)
      .filter(s => s.port !== 0 && (s.direction === 'sendonly' || s.direction === 'sendrecv')).map(s => s.mid));
    for (const [track, r] of [...this._remoteTracks]) {
      const t = r.transceiver;
      if (!live.has(t) || t.currentDirection === 'stopped' || t.direction === 'stopped' || !sending.has(t.mid)) {
        this._remoteTrackEnded(track);
      }
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this._onLocalDescription();
    this._send({ type: 're-answer', sdp: pc.localDescription.sdp });
    if (iceUfrag(msg.sdp) !== before) this._endIceRestart(null);
  },

  /** After every local answer: E2EE learns the codecs negotiated per m-section (for frames without a mime type). */
  _onLocalDescription() {
    if (this._e2ee && this._e2ee.onLocalDescription) this._e2ee.onLocalDescription(this);
  },

  /** Ends a remote track for good and emits 'removetrack' (once per track). */
  _remoteTrackEnded(track) {
    const r = this._remoteTracks.get(track);
    if (!r) return;
    this._remoteTracks.delete(track);
    const stream = r.stream;
    // The server never sends on this receiver again: a track that comes later, even on the same m-line index,
    // comes on a new m-line (new mid), hence a new transceiver, receiver and track. So the old one ends here.
    try { track.stop(); } catch (err) { /* already ended */ }
    if (stream && stream.getTracks().includes(track)) stream.removeTrack(track);
    this._emit('removetrack', { track, stream, connectionId: stream ? stream.id : null });
    if (stream && stream.getTracks().length === 0 && this.remoteStreams.get(stream.id) === stream) {
      this.remoteStreams.delete(stream.id);
    }
  },

  /** The msid track id the server gave the m-line of `mid` ("<connection id>-audio|video|screen"), or null. */
  _remoteTrackId(mid) {
    const sdp = this.pc && this.pc.remoteDescription ? this.pc.remoteDescription.sdp : '';
    for (const part of sdp.split(/\r?\nm=/).slice(1)) {
      if (!new RegExp('^a=mid:' + String(mid).replace(/[^\w-]/g, '') + '$', 'm').test(part)) continue;
      const m = /^a=msid:\S+ (\S+)/m.exec(part);
      return m ? m[1] : null;
    }
    return null;
  },

  _onTrack(ev) {
    const stream = ev.streams && ev.streams[0];
    const connectionId = stream ? stream.id : null;
    const trackId = ev.transceiver ? this._remoteTrackId(ev.transceiver.mid) : null;
    if (this._e2ee && this._e2ee.setupReceiver) this._e2ee.setupReceiver(this, ev.receiver, connectionId);
    this._remoteTracks.set(ev.track, { stream, transceiver: ev.transceiver });
    if (stream && !this.remoteStreams.has(stream.id)) {
      this.remoteStreams.set(stream.id, stream);
      // The server rejected or deactivated the m-line (the publisher left or stopped)
      stream.addEventListener('removetrack', e => this._remoteTrackEnded(e.track));
    }
    this._emit('track', {
      track: ev.track, streams: ev.streams, receiver: ev.receiver, transceiver: ev.transceiver, connectionId,
      screen: !!trackId && trackId.endsWith('-screen'),
    });
  },

  _onPcState() {
    const pc = this.pc;
    if (!pc) return;
    const s = pc.connectionState;
    if (s === 'connected') this._mediaUp = true;
    if (s === 'connected' && this._resolveConnect) {
      clearTimeout(this._connectTimer);
      const resolve = this._resolveConnect;
      this._resolveConnect = this._rejectConnect = null;
      this._stage = 'connected';
      resolve(this.stream);
    } else if (s === 'failed' && !(this._mediaUp && pc.iceConnectionState === 'failed'
        && this.options.iceRestartAttempts > 0)) {
      // (an ICE failure after media was up is left to the ICE restart in _onIceState, which gives up in the end)
      this._abend('media', `media connection failed (ice ${pc.iceConnectionState})`);
    }
  },
};
