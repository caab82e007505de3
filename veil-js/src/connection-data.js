// Data messages and stats of a VeilConnection (installed on its prototype by veil.js): sendData, incoming
// 'data', the server's downlink-stats and getStats().

import { toBase64, fromBase64 } from './e2ee/bytes.js';
import { KIND_BYTES, KIND_TEXT, dataFrame } from './e2ee/data.js';
import { VeilError } from './errors.js';

/** Largest data message body (bytes): the server takes 16 KiB payloads, less the kind byte and SFrame overhead. */
export const MAX_DATA_BYTES = 16 * 1024 - 64;

/** VeilConnection methods: data messages and stats. */
export const dataMethods = {
  /**
   * Sends a data message (docs/PROTOCOL.md §1.7) — a string (delivered as a string) or bytes (Uint8Array /
   * ArrayBuffer, delivered as a Uint8Array) — to `to` (a connection id) or, without it, to every other member,
   * through the server's signaling relay. With E2EE it is SFrame-encrypted under this member's current send key:
   * the server relays ciphertext. Rejects with a VeilError ('bad-argument', 'bad-state', 'e2ee').
   */
  async sendData(data, { to = null } = {}) {
    let kind;
    let body;
    if (typeof data === 'string') { kind = KIND_TEXT; body = new TextEncoder().encode(data); }
    else if (data instanceof Uint8Array) { kind = KIND_BYTES; body = Uint8Array.from(data); }
    else if (data instanceof ArrayBuffer) { kind = KIND_BYTES; body = new Uint8Array(data.slice(0)); }
    else throw new VeilError('sendData takes a string, a Uint8Array or an ArrayBuffer', 'bad-argument');
    if (body.length > MAX_DATA_BYTES) {
      throw new VeilError(`data message of ${body.length} bytes exceeds ${MAX_DATA_BYTES}`, 'bad-argument');
    }
    if (to !== null && typeof to !== 'string') throw new VeilError('to must be a connection id', 'bad-argument');
    if (this.connectionId === null || this._closed) throw new VeilError('not connected', 'bad-state');
    let payload;
    if (this.options.e2ee) {
      if (!this.e2ee) throw new VeilError('E2EE is not set up yet', 'bad-state');
      try {
        payload = await this.e2ee.sealData(to, kind, body);
      } catch (e) {
        throw new VeilError(`data message not sent: ${e && e.message ? e.message : e}`, 'e2ee');
      } finally {
        body.fill(0);
      }
    } else {
      payload = dataFrame(kind, body);
    }
    const msg = { type: 'data', payload: toBase64(payload) };
    if (to !== null) msg.to = to;
    this._send(msg);
  },

  /**
   * The server's view of what it sends us (about once a second, when it changed): its downlink estimate and, per
   * received video track (the remote MediaStreamTrack's id), the simulcast layer, switches and repair counters.
   */
  _onDownlinkStats(msg) {
    if (!Number.isSafeInteger(msg.estimate_bps) || !Array.isArray(msg.tracks)) return;
    const n = v => (Number.isSafeInteger(v) ? v : 0);
    this.downlinkStats = {
      estimateBps: msg.estimate_bps, receivedAt: Date.now(),
      tracks: msg.tracks.slice(0, 256).filter(t => t && typeof t.track_id === 'string').map(t => ({
        trackId: t.track_id, layer: n(t.layer), switches: n(t.switches), rtxSent: n(t.rtx_sent),
        nacksReceived: n(t.nacks_received), plisSent: n(t.plis_sent),
      })),
    };
    this._emit('downlink-stats', this.downlinkStats);
  },

  /**
   * Stats: `rtc` is the RTCPeerConnection's getStats() report (null before the offer), `downlink` the server's last
   * downlink-stats (its estimate and, per received video track, layer / switches / rtxSent / nacksReceived /
   * plisSent; null before the first).
   */
  async getStats() {
    return { rtc: this.pc ? await this.pc.getStats() : null, downlink: this.downlinkStats };
  },

  /** A 'data' message from the server: decrypted in arrival order, then a 'data' event {from, to, data}. */
  _onData(msg) {
    if (typeof msg.from !== 'string' || typeof msg.payload !== 'string') return;
    const to = typeof msg.to === 'string' ? msg.to : null;
    if (to !== null && to !== this.connectionId) return;
    this._dataQueue = (this._dataQueue || Promise.resolve()).then(async () => {
      let bytes;
      try { bytes = fromBase64(msg.payload); } catch (e) { return; }
      let m;
      if (this.options.e2ee) {
        if (!this.e2ee) return;
        m = await this.e2ee.openData(msg.from, to, bytes); // null: dropped, reported as an 'e2ee' error event
        if (!m) return;
      } else {
        if (bytes.length < 1 || bytes[0] > KIND_TEXT) return;
        m = { kind: bytes[0], body: bytes.subarray(1) };
      }
      const data = m.kind === KIND_TEXT ? new TextDecoder().decode(m.body) : Uint8Array.from(m.body);
      this._emit('data', { from: msg.from, to, data });
    }).catch(e => console.error('veil: data message failed', e));
  },
};
