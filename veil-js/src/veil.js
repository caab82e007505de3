// Veil browser SDK: WebRTC through a Veil SFU, with Sora's shape.
//
//   import Veil from '/sdk/veil.js';
//   const conn = Veil.connection('ws://localhost:5000/signaling');
//   const sendrecv = conn.sendrecv('room-1', {name: 'alice'}, {signalingNotifyMetadata: {name: 'alice'}});
//   sendrecv.on('track', ev => { video.srcObject = ev.streams[0]; });
//   await sendrecv.connect(mediaStream);
//   await sendrecv.disconnect();
//
// The signaling protocol (JSON over WebSocket) is specified in docs/PROTOCOL.md §1.
//
// End-to-end encryption (docs/PROTOCOL.md §2-§3):
//   await Veil.initE2EE();                                   // rejects where the browser lacks encoded transforms
//   const c = Veil.connection(url).sendrecv('room', meta, {e2ee: true});   // group keys, SFrame
//   c.on('e2ee', ev => ...);  c.e2eeSelfFingerprint; c.e2eeRemoteFingerprints; c.e2eeVerificationCode;
//   {e2ee: true, e2eePersistentIdentity: true}: a device key in IndexedDB certifies each connection
//   (c.e2eeDeviceFingerprint, c.e2eePeers); await c.markVerified() / c.markVerified(fp); ev.type 'verification-lost'.
// {e2ee: true, e2eeFormat: 'jframe'} selects JFrame; {e2ee: true, passphrase: 'p'}, or a page URL with
// "#e2eekey=p" (followed on hashchange), selects passphrase mode (no key messages).
// {e2ee: true, keyMode: 'mls'}: the MLS key mode (docs/PROTOCOL.md §4, src/e2ee/mls-e2ee.js): one MLS group per
// channel, SFrame keys from the MLS exporter; c.e2eeKeyMode ('mls' | 'sender-keys'), c.e2eeEpoch, the code of the
// epoch in c.e2eeVerificationCode, the MLS roster in c.e2eeRoster; any other keyMode is refused.
//
// Simulcast (docs/PROTOCOL.md §1): when the server offers it (a=simulcast:recv on the camera's m-line), the camera
// video goes out as three layers, lowest first: rid q at 1/4 resolution (150 kbit/s max), h at 1/2 (500 kbit/s),
// f at full (2.5 Mbit/s); the server forwards each subscriber one of them. {simulcast: false} sends one layer;
// {simulcastEncodings: [{scaleResolutionDownBy, maxBitrate, maxFramerate?}, ...]} (lowest first) replaces the
// defaults. {receiveMaxHeight: 360} asks the server for the highest layer at most 360 pixels high;
// conn.setReceiveMaxHeight(h[, track]) changes it later (for one remote track or all).
//
// Access tokens (docs/PROTOCOL.md §1.7): {token: jwt} sends the operator's access token in connect; a server with
// auth.mode = "token" refuses a missing or bad one and connect() rejects with a VeilError whose reason is 'auth' and
// whose message names the code (token_missing, token_expired, token_forged, token_wrong_channel, token_role, ...).
//
// Restrictive networks (docs/PROTOCOL.md §1.6): the server's offer announces a passive ICE-TCP candidate (used when
// UDP is blocked) and may carry `ice_servers`, TURN servers with time-limited credentials minted for this
// connection; they go into the RTCPeerConnection's iceServers, after any {iceServers: [...]} of the options.
// {iceTransportPolicy: 'relay'} forces TURN (tests, or networks where only the relay is allowed);
// {serverIceServers: false} ignores the server's list (only the application's own iceServers are used).

import { createE2EE, isE2EESupported, startE2EEWorker } from './e2ee/index.js';
import { passphraseFromHash } from './e2ee/passphrase.js';
import { createMlsE2EE } from './e2ee/mls-e2ee.js';
import { toBase64, fromBase64 } from './e2ee/bytes.js';
import { KIND_BYTES, KIND_TEXT, dataFrame } from './e2ee/data.js';
import {
  sectionTexts, setScalabilityMode, setSimulcastEncodings, simulcastRecvRids, withoutSimulcast,
} from './simulcast.js';
import { KeptWorker, ReconnectPlan, VeilReconnectingConnection } from './reconnect.js';

export { simulcastRecvRids, withoutSimulcast };

const DEFAULT_TIMEOUT_MS = 30000;
// ICE restart (docs/PROTOCOL.md §1): the server is ICE lite and never restarts on its own, so the SDK asks for one
// when ICE stays 'disconnected' this long, or at once when it is 'failed'.
const ICE_DISCONNECTED_GRACE_MS = 2000;
// The server takes at most one ice-restart per 2 s per connection (and answers more with an error): keep a margin.
const ICE_RESTART_MIN_INTERVAL_MS = 2500;
// After an automatic restart, ICE must be back within this long, or the next attempt starts.
const ICE_RESTART_WATCHDOG_MS = 5000;
const DEFAULT_ICE_RESTART_ATTEMPTS = 3;
/** Most `redirect`s one connect follows (docs/PROTOCOL.md §1.9); one more fails it. */
export const MAX_REDIRECTS = 3;
/** E2EE key modes (connect's e2ee_key_mode, docs/PROTOCOL.md §1.2). */
export const KEY_MODES = Object.freeze(['sender-keys', 'mls']);
const EVENTS = ['track', 'removetrack', 'notify', 'disconnect', 'e2ee', 'signaling', 'timeout', 'data', 'draining', 'downlink-stats'];
/** Largest data message body (bytes): the server takes 16 KiB payloads, less the kind byte and SFrame overhead. */
export const MAX_DATA_BYTES = 16 * 1024 - 64;

/** An Error raised by the SDK; `reason` is a short machine-usable word. */
export class VeilError extends Error {
  constructor(message, reason) {
    super(message);
    this.name = 'VeilError';
    this.reason = reason;
  }
}

/** Splits an SDP into its m-sections: [{mid, kind, direction, port, msid}]. */
export function parseSections(sdp) {
  const out = [];
  const parts = sdp.split(/\r?\nm=/).slice(1);
  for (const part of parts) {
    const lines = ('m=' + part).split(/\r?\n/);
    const m = /^m=(\w+) (\d+)/.exec(lines[0]);
    const sec = { kind: m ? m[1] : '', port: m ? Number(m[2]) : 0, mid: null, direction: 'sendrecv', msid: null };
    for (const l of lines) {
      if (l.startsWith('a=mid:')) sec.mid = l.slice(6).trim();
      else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l.trim())) sec.direction = l.trim().slice(2);
      else if (l.startsWith('a=msid:')) sec.msid = l.slice(7).trim().split(' ')[0];
    }
    out.push(sec);
  }
  return out;
}

/** The session-level (else first) a=ice-ufrag of an SDP, or null. */
function iceUfrag(sdp) {
  const m = /^a=ice-ufrag:(\S+)/m.exec(sdp || '');
  return m ? m[1] : null;
}

/** Video codecs the E2EE worker protects, per frame format (src/e2ee/codec.js; H.264 and AV1 need SFrame's ranges). */
export const E2EE_VIDEO_CODECS = Object.freeze({ sframe: Object.freeze(['VP8', 'VP9', 'H264', 'AV1']),
  jframe: Object.freeze(['VP8', 'VP9']) });

/**
 * The codec preferences for a sending video transceiver (RTCRtpTransceiver.setCodecPreferences), or null to leave
 * the browser's: `wanted` (the `codecs` option, e.g. ['AV1', 'VP9', 'H264', 'VP8']) in its order, then, without
 * the option, the browser's own order; with E2EE only codecs the worker protects, so negotiation never picks one
 * whose frames would have to be dropped. RTX, RED and ULPFEC entries follow. Throws if nothing is left.
 */
export function videoCodecPreferences(capabilities, wanted, e2eeFormat) {
  if (!wanted && !e2eeFormat) return null;
  const name = c => c.mimeType.slice(c.mimeType.indexOf('/') + 1).toUpperCase();
  const aux = ['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03'];
  const allowed = e2eeFormat ? E2EE_VIDEO_CODECS[e2eeFormat] || [] : null;
  const media = capabilities.filter(c => !aux.includes(name(c)) && (!allowed || allowed.includes(name(c))));
  let ordered = media;
  if (wanted) {
    const order = wanted.map(w => String(w).toUpperCase());
    ordered = order.flatMap(w => media.filter(c => name(c) === w));
  }
  if (ordered.length === 0) {
    throw new VeilError(`no video codec of ${JSON.stringify(wanted || [])} that this browser encodes`
      + (e2eeFormat ? ` and the E2EE worker protects (${allowed.join(', ')})` : ''), 'bad-argument');
  }
  return ordered.concat(capabilities.filter(c => aux.includes(name(c))));
}

/**
 * The server's offer with the payload types of every m-section it receives video on (a=recvonly: the client's
 * uploads) ordered by `wanted` (the `codecs` option) and, with E2EE, restricted to the codecs the worker protects;
 * the others (and their RTX) are left out with their rtpmap/fmtp/rtcp-fb lines. A sender sends the first codec of
 * the offer it answered, so this (not setCodecPreferences, which orders only the answer) picks what goes out.
 * Returns the SDP unchanged when there is neither an option nor E2EE; throws if a section would be left empty.
 */
export function orderOfferVideoCodecs(sdp, wanted, e2eeFormat) {
  if (!wanted && !e2eeFormat) return sdp;
  const allowed = e2eeFormat ? E2EE_VIDEO_CODECS[e2eeFormat] || [] : null;
  const order = wanted ? wanted.map(w => String(w).toUpperCase()) : null;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const parts = sdp.split(/\r?\nm=/);
  for (let i = 1; i < parts.length; i++) {
    const lines = ('m=' + parts[i]).split(/\r?\n/);
    const m = /^m=video (\d+) (\S+) (.*)$/.exec(lines[0]);
    if (!m || m[1] === '0' || !lines.some(l => l.trim() === 'a=recvonly')) continue;
    const pts = m[3].trim().split(/\s+/);
    const name = {};
    const apt = {};
    for (const l of lines) {
      let x = /^a=rtpmap:(\d+) ([^/\s]+)/.exec(l);
      if (x) name[x[1]] = x[2].toUpperCase();
      x = /^a=fmtp:(\d+) .*\bapt=(\d+)/.exec(l);
      if (x) apt[x[1]] = x[2];
    }
    const media = pts.filter(pt => name[pt] && !['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03'].includes(name[pt])
      && (!allowed || allowed.includes(name[pt])));
    const kept = order ? order.flatMap(w => media.filter(pt => name[pt] === w)) : media;
    if (kept.length === 0) {
      throw new VeilError(`the server offers no video codec of ${JSON.stringify(wanted || [])}`
        + (allowed ? ` that the E2EE worker protects (${allowed.join(', ')})` : '')
        + `; it offers ${pts.map(pt => name[pt]).filter(Boolean).join(', ')}`, 'bad-argument');
    }
    const rtx = kept.flatMap(k => pts.filter(pt => name[pt] === 'RTX' && apt[pt] === k));
    const all = kept.concat(rtx);
    const dropped = new Set(pts.filter(pt => !all.includes(pt)));
    const out = [`m=video ${m[1]} ${m[2]} ${all.join(' ')}`];
    for (const l of lines.slice(1)) {
      const x = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l);
      if (x && dropped.has(x[2])) continue;
      out.push(l);
    }
    parts[i] = out.join(eol).slice(2);
  }
  return parts.join(eol + 'm=');
}

/**
 * The RTCIceServer list of a connection: the application's own (the `iceServers` option) then the server's offer's
 * `ice_servers` (docs/PROTOCOL.md §1.2: `{urls, username?, credential?}`, TURN REST credentials). Entries that are
 * not objects with 1-8 stun:/turn:/turns: urls are left out (a bad entry must not break the connection).
 */
export function iceServersOf(own, offered) {
  const ok = s => s && typeof s === 'object' && Array.isArray(s.urls) && s.urls.length > 0 && s.urls.length <= 8
    && s.urls.every(u => typeof u === 'string' && /^(stun|turns?):\S+$/.test(u) && u.length <= 512);
  const out = [];
  for (const s of Array.isArray(own) ? own : []) out.push(s);
  for (const s of Array.isArray(offered) ? offered : []) {
    if (!ok(s)) continue;
    const e = { urls: s.urls.slice() };
    if (typeof s.username === 'string' && typeof s.credential === 'string') {
      e.username = s.username;
      e.credential = s.credential;
    }
    out.push(e);
  }
  return out;
}

/**
 * Refuses an unknown E2EE key mode (never silently replaced by another) and the combinations the MLS mode excludes.
 */
function checkKeyMode(o) {
  if (o.keyMode === undefined || o.keyMode === null) return;
  if (!KEY_MODES.includes(o.keyMode)) {
    throw new VeilError(`unknown keyMode '${o.keyMode}' (expected 'sender-keys' or 'mls')`, 'bad-argument');
  }
  if (!o.e2ee) throw new VeilError(`keyMode '${o.keyMode}' needs e2ee: true`, 'bad-argument');
  if (o.keyMode === 'mls' && (o.passphrase !== undefined || (o.e2eeMode && o.e2eeMode !== 'keys')
      || (o.e2eeFormat && o.e2eeFormat !== 'sframe'))) {
    throw new VeilError("keyMode 'mls' uses SFrame and MLS keys: no passphrase, e2eeMode or JFrame", 'bad-argument');
  }
}

/** One connection to a channel (what Sora calls a publisher/subscriber). Made by Veil.connection(url).sendrecv(…). */
export class VeilConnection {
  constructor(url, role, channelId, metadata, options) {
    if (!['sendrecv', 'sendonly', 'recvonly'].includes(role)) throw new VeilError(`bad role ${role}`, 'bad-argument');
    if (typeof channelId !== 'string' || !/^[A-Za-z0-9._~:@+-]{1,255}$/.test(channelId)) {
      throw new VeilError('channelId must be 1-255 characters of A-Z a-z 0-9 . _ ~ : @ + -', 'bad-argument');
    }
    this.url = url;
    this.role = role;
    this.channelId = channelId;
    this.metadata = metadata === undefined ? null : metadata;
    this.options = Object.assign({ audio: true, video: true, e2ee: false, timeout: DEFAULT_TIMEOUT_MS,
      iceRestartAttempts: DEFAULT_ICE_RESTART_ATTEMPTS }, options || {});
    this.signalingNotifyMetadata = this.options.signalingNotifyMetadata === undefined ? null : this.options.signalingNotifyMetadata;
    checkKeyMode(this.options);
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    /** @type {string|null} */
    this.connectionId = null;
    /** @type {WebSocket|null} */
    this.ws = null;
    this.stream = null;
    /** connection_id → {role, signalingNotifyMetadata} of the other members. */
    this.members = new Map();
    /** The server's last downlink-stats (docs/PROTOCOL.md §1.2), camel-cased, or null before the first. */
    this.downlinkStats = null;
    /** Remote MediaStreams by the publisher's connection id. */
    this.remoteStreams = new Map();
    /** Live remote tracks: MediaStreamTrack → {stream, transceiver} (each gets one 'removetrack' when it ends). */
    this._remoteTracks = new Map();
    this._listeners = new Map(EVENTS.map(e => [e, []]));
    this._queue = Promise.resolve();
    this._closed = false;
    this._connecting = null;
    /** Redirects followed by this connect (docs/PROTOCOL.md §1.9). */
    this.redirects = 0;
    this._pingInterval = 0;
    // ICE restart: the pending request {promise, resolve, reject, timer}, when the last one was sent, the automatic
    // attempts since ICE was last connected, the timer of the next automatic step, and whether media was ever up.
    this._iceRestart = null;
    this._lastIceRestartAt = -Infinity;
    this._iceRestartAttempts = 0;
    this._iceTimer = null;
    this._mediaUp = false;
    // E2EE hook (issue 4): an object with any of
    //   onOffer(connection), onNotify(connection, msg), onMessage(connection, from, payloadBase64), onMls(connection, msg),
    //   setupSender(connection, sender), setupReceiver(connection, receiver, connectionId), close(connection),
    //   onLocalDescription(connection) (after every local answer)
    // set with setE2eeHandler() before connect().
    this._e2ee = null;
    /** The E2EE state (src/e2ee/index.js VeilE2EE) of a connection made with {e2ee: true}, once connect() ran. */
    this.e2ee = null;
  }

  /** This connection's E2EE identity fingerprint ("xxxx xxxx …"), or null without E2EE. */
  get e2eeSelfFingerprint() {
    return this.e2ee ? this.e2ee.selfFingerprint : null;
  }

  /** connection_id → fingerprint of every other member whose key bundle verified ({} without E2EE). */
  get e2eeRemoteFingerprints() {
    return this.e2ee ? Object.fromEntries(this.e2ee.remoteFingerprints) : {};
  }

  /** The room verification code every member shows alike (compare it out of band), or null. */
  get e2eeVerificationCode() {
    return this.e2ee ? this.e2ee.verificationCode : null;
  }

  /** The persistent device fingerprint (same from call to call) with {e2eePersistentIdentity: true}, else null. */
  get e2eeDeviceFingerprint() {
    return this.e2ee ? this.e2ee.deviceFingerprint : null;
  }

  /**
   * The other members as the E2EE layer sees them: [{connectionId, name (claimed in their server-relayed
   * signaling_notify_metadata: unverified), fingerprint, deviceFingerprint, verified, verifiedName, alarmed}].
   */
  get e2eePeers() {
    return this.e2ee ? this.e2ee.peers() : [];
  }

  /** True while the room code is the one marked verified with markVerified(). */
  get e2eeRoomVerified() {
    return this.e2ee ? this.e2ee.roomVerified : false;
  }

  /**
   * markVerified(): the room verification code was compared out of band; markVerified(fingerprint): one peer's
   * device (or connection) fingerprint was. A later change raises an 'e2ee' event {type: 'verification-lost'}.
   */
  async markVerified(fingerprint) {
    if (!this.e2ee) throw new VeilError('not an E2EE connection (or not connected yet)', 'bad-state');
    return this.e2ee.markVerified(fingerprint);
  }

  /** The E2EE key mode ('sender-keys' or 'mls'), null without E2EE (never replaced by another mode). */
  get e2eeKeyMode() {
    return this.options.e2ee ? this.options.keyMode || 'sender-keys' : null;
  }

  /** MLS key mode: the current MLS epoch, -1 before this member is in the group; null in other modes. */
  get e2eeEpoch() {
    return this.e2eeKeyMode === 'mls' ? (this.e2ee ? this.e2ee.epoch : -1) : null;
  }

  /** MLS key mode: the connection ids of the MLS roster (agreed by every member, self included); else null. */
  get e2eeRoster() {
    return this.e2eeKeyMode === 'mls' ? (this.e2ee ? [...this.e2ee.roster] : []) : null;
  }

  /** 'keys' | 'passphrase' | 'mls' for an E2EE connection, else null. */
  get e2eeMode() {
    return this.e2ee ? this.e2ee.mode : null;
  }

  /** Makes the E2EE state (identity, worker) and plugs it into the hook; the bundle goes into the notify metadata. */
  async _setupE2ee() {
    const o = this.options;
    if (o.keyMode === 'mls') {
      const e2ee = await createMlsE2EE({ workerUrl: o.e2eeWorkerUrl, worker: o.e2eeWorker, keepWorker: !!o.e2eeWorker,
        keepKeysForTesting: !!o.keepKeysForTesting,
        onEvent: ev => this._emit('e2ee', { ...ev, time: performance.timeOrigin + performance.now() }) });
      if (this._closed) { e2ee.destroy(); return; }
      this.e2ee = e2ee;
      e2ee.sendSignaling = msg => this._send(msg);
      this.setE2eeHandler(e2ee.handler);
      return;
    }
    const hashKey = globalThis.location ? passphraseFromHash(globalThis.location.hash) : null;
    const mode = o.e2eeMode || (o.passphrase !== undefined || hashKey !== null ? 'passphrase' : 'keys');
    const e2ee = await createE2EE({
      format: o.e2eeFormat || 'sframe',
      mode,
      passphrase: o.passphrase,
      passphraseFromHash: mode === 'passphrase' && o.passphrase === undefined,
      keepKeysForTesting: !!o.keepKeysForTesting,
      workerUrl: o.e2eeWorkerUrl,
      worker: o.e2eeWorker, // a reconnecting member's KeptWorker (src/reconnect.js), else a new one
      keepWorker: !!o.e2eeWorker,
      persistentIdentity: o.e2eePersistentIdentity,
      deviceCertificateGraceMs: o.e2eeDeviceCertificateGraceMs,
      onEvent: ev => this._emit('e2ee', {
        ...ev,
        ...(ev.remote instanceof Map ? { remote: Object.fromEntries(ev.remote) } : {}),
        time: performance.timeOrigin + performance.now(),
      }),
    });
    if (this._closed) { e2ee.destroy(); return; }
    this.e2ee = e2ee;
    e2ee.sendRelay = (to, payload) => this.sendE2ee(to, payload);
    this.signalingNotifyMetadata = e2ee.notifyMetadata(this.signalingNotifyMetadata);
    this.setE2eeHandler(e2ee.handler);
  }

  /**
   * Adds a listener for 'track', 'removetrack', 'notify', 'disconnect', 'e2ee', 'signaling', 'timeout', 'data', 'downlink-stats'
   * (the server's downlink-stats, conn.downlinkStats) or 'draining' ({deadlineMs}: the server shuts down gracefully and disconnects this member after deadlineMs;
   * reconnect, e.g. through the load balancer, before then — docs/PROTOCOL.md §1.10).
   */
  on(event, fn) {
    const list = this._listeners.get(event);
    if (!list) throw new VeilError(`unknown event ${event}`, 'bad-argument');
    list.push(fn);
    return this;
  }

  /** Removes a listener added with on(). */
  off(event, fn) {
    const list = this._listeners.get(event);
    if (list) { const i = list.indexOf(fn); if (i >= 0) list.splice(i, 1); }
    return this;
  }

  _emit(event, arg) {
    for (const fn of [...(this._listeners.get(event) || [])]) {
      try { fn(arg); } catch (e) { console.error(`veil: ${event} listener failed`, e); }
    }
  }

  /** Installs the E2EE handler (used by the E2EE layer; see the comment in the constructor). */
  setE2eeHandler(handler) {
    this._e2ee = handler;
  }

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
  }

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
  }

  /**
   * Stats: `rtc` is the RTCPeerConnection's getStats() report (null before the offer), `downlink` the server's last
   * downlink-stats (its estimate and, per received video track, layer / switches / rtxSent / nacksReceived /
   * plisSent; null before the first).
   */
  async getStats() {
    return { rtc: this.pc ? await this.pc.getStats() : null, downlink: this.downlinkStats };
  }

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
  }

  /**
   * Starts sharing: `track` (a video MediaStreamTrack), or without it a getDisplayMedia() capture. Needs
   * {screenShare: true} at creation: the server then keeps a second video uplink for this member, and sharing only
   * puts a track on it (replaceTrack: no renegotiation, the E2EE transform stays on). Others get it as a 'track'
   * event with `screen: true` when they join; it shows frames while shared. Resolves with the shared track; it
   * stops by itself when the track ends (the browser's "stop sharing").
   */
  async startScreenShare(track) {
    const t = this._screenTransceiver;
    if (!t) throw new VeilError('no screen-share uplink: create the connection with {screenShare: true}', 'bad-state');
    if (!track) {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      track = s.getVideoTracks()[0];
    }
    if (!track || track.kind !== 'video') throw new VeilError('a screen share is one video track', 'bad-argument');
    if (this._screenTrack && this._screenTrack !== track) await this.stopScreenShare();
    await t.sender.replaceTrack(track);
    this._screenTrack = track;
    track.addEventListener('ended', () => { if (this._screenTrack === track) this.stopScreenShare(); }, { once: true });
    return track;
  }

  /** Stops sharing (replaceTrack(null): the slot stays, no renegotiation) and stops the shared track. */
  async stopScreenShare() {
    const track = this._screenTrack;
    this._screenTrack = null;
    if (this._screenTransceiver) await this._screenTransceiver.sender.replaceTrack(null);
    if (track) track.stop();
  }

  /** The shared screen track, or null. */
  get screenTrack() {
    return this._screenTrack || null;
  }

  /**
   * Mutes ('audio' or 'video') without renegotiation: the track keeps its m-line and SSRC and sends silence or
   * black frames (still encrypted with E2EE) until unmuted.
   */
  setMuted(kind, muted) {
    if (!this.stream) throw new VeilError('not connected', 'bad-state');
    for (const t of kind === 'audio' ? this.stream.getAudioTracks() : this.stream.getVideoTracks()) t.enabled = !muted;
  }

  /**
   * Replaces the camera (or, with kind 'audio', the microphone) by `track`, e.g. another camera: replaceTrack on the
   * same sender, so no renegotiation and the E2EE transform stays on. The old track is returned, not stopped.
   */
  async replaceTrack(track) {
    if (!track || (track.kind !== 'audio' && track.kind !== 'video')) {
      throw new VeilError('replaceTrack takes an audio or video track', 'bad-argument');
    }
    const t = track.kind === 'audio' ? this._audioTransceiver : this._cameraTransceiver;
    if (!t || !this.stream) throw new VeilError(`no ${track.kind} being sent to replace`, 'bad-state');
    const old = track.kind === 'audio' ? this.stream.getAudioTracks()[0] : this.stream.getVideoTracks()[0];
    await t.sender.replaceTrack(track);
    if (old) this.stream.removeTrack(old);
    this.stream.addTrack(track);
    return old || null;
  }

  /**
   * Asks the server for received simulcast video at most `maxHeight` pixels high (0: no limit): for one remote
   * video track (a MediaStreamTrack from a 'track' event, or its id), or without one for every track that has no
   * preference of its own. The server forwards the highest layer that fits and switches at its next key frame.
   */
  setReceiveMaxHeight(maxHeight, track) {
    const h = Math.floor(Number(maxHeight));
    if (!(h >= 0 && h <= 8192)) throw new VeilError('maxHeight must be 0..8192', 'bad-argument');
    const msg = { type: 'receive', max_height: h };
    if (track !== undefined && track !== null) msg.track_id = typeof track === 'string' ? track : track.id;
    else this.options.receiveMaxHeight = h;
    this._send(msg);
  }

  /** Sends an opaque E2EE message (base64) to one connection of the channel through the server's relay. */
  sendE2ee(to, payloadBase64) {
    this._send({ type: 'e2ee', to, payload: payloadBase64 });
  }

  /**
   * Restarts ICE (new ICE credentials on both sides, e.g. after a network change): asks the server with
   * `ice-restart`, which answers with a re-offer carrying its new ice-ufrag/ice-pwd; the browser answers it and checks
   * with the new credentials. Resolves once that re-offer is answered (ICE then reconnects: watch
   * pc.iceConnectionState); rejects with a VeilError (reason 'ice-restart') if the server refused, or 'bad-state'
   * before the connection is up or after it ended. A call while a restart is pending joins it. The SDK also does this
   * on its own when ICE stays 'disconnected' for 2 s or 'failed' (at most `iceRestartAttempts` times in a row).
   * @returns {Promise<void>}
   */
  restartIce() {
    if (this._closed || !this.pc || !this._mediaUp) {
      return Promise.reject(new VeilError('restartIce() needs a connection whose media is up', 'bad-state'));
    }
    if (!this._iceRestart) {
      const r = {};
      r.promise = new Promise((resolve, reject) => { r.resolve = resolve; r.reject = reject; });
      const wait = Math.max(0, this._lastIceRestartAt + ICE_RESTART_MIN_INTERVAL_MS - Date.now());
      r.timer = setTimeout(() => {
        r.timer = null;
        if (this._closed) return;
        this._lastIceRestartAt = Date.now();
        this._send({ type: 'ice-restart' });
      }, wait);
      this._iceRestart = r;
    }
    return this._iceRestart.promise;
  }

  _endIceRestart(error) {
    const r = this._iceRestart;
    if (!r) return;
    this._iceRestart = null;
    clearTimeout(r.timer);
    if (error) r.reject(error); else r.resolve();
  }

  _onIceState() {
    const pc = this.pc;
    if (!pc || this._closed) return;
    const s = pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') {
      this._iceRestartAttempts = 0;
      clearTimeout(this._iceTimer);
      this._iceTimer = null;
    } else if (this._mediaUp && !this._iceTimer && (s === 'disconnected' || s === 'failed')) {
      // before media was first up, the connect timeout and the failed state end the attempt instead
      this._iceTimer = setTimeout(() => this._autoIceRestart(), s === 'failed' ? 0 : ICE_DISCONNECTED_GRACE_MS);
    }
  }

  _autoIceRestart() {
    this._iceTimer = null;
    const pc = this.pc;
    if (!pc || this._closed) return;
    const s = pc.iceConnectionState;
    if (s === 'connected' || s === 'completed') return;
    if (this._iceRestartAttempts >= this.options.iceRestartAttempts) {
      this._abend('media', `media connection lost: ICE ${s} after ${this._iceRestartAttempts} ICE restarts`);
      return;
    }
    this._iceRestartAttempts++;
    this.restartIce().catch(() => { /* the watchdog below tries again or gives up */ });
    this._iceTimer = setTimeout(() => this._autoIceRestart(), ICE_RESTART_WATCHDOG_MS);
  }

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
  }

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
      if (this.options.e2ee && this.options.keyMode) msg.e2ee_key_mode = this.options.keyMode;
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
  }

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
  }

  _progress() {
    const pc = this.pc;
    return pc ? `${this._stage}; ice ${pc.iceConnectionState}, peer connection ${pc.connectionState}` : this._stage;
  }

  _send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

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
  }

  /** Runs SDP work one step at a time (an offer and the re-offers after it never interleave). */
  _serial(fn) {
    this._queue = this._queue.then(() => (this._closed ? null : fn())).catch(e => {
      this._abend('sdp', `SDP negotiation failed: ${e && e.message ? e.message : e}`);
    });
  }

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
  }

  /** The server's offer as this client applies it: without simulcast when {simulcast: false}. */
  _remoteOffer(sdp) {
    return this._orderOffer(this.options.simulcast === false ? withoutSimulcast(sdp) : sdp);
  }

  /**
   * Simulcast: the server offered to receive the layers `rids` (lowest first) on this sender's m-section; the
   * browser made one encoding per rid: give them their resolution and bitrate.
   */
  _setSimulcastEncodings(sender, rids) {
    return setSimulcastEncodings(sender, rids, this.options.simulcastEncodings);
  }

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
  }

  /** The offer with the uplink video codecs in the order of the `codecs` option (see orderOfferVideoCodecs). */
  _orderOffer(sdp) {
    return orderOfferVideoCodecs(sdp, this.options.codecs || null,
      this.options.e2ee ? (this.options.e2eeFormat || 'sframe') : null);
  }

  /** Applies the `codecs` option (and, with E2EE, the codecs the worker protects) to a sending transceiver. */
  _preferVideoCodecs(t) {
    const wanted = this.options.codecs || null;
    const format = this.options.e2ee ? (this.options.e2eeFormat || 'sframe') : null;
    if ((!wanted && !format) || typeof t.setCodecPreferences !== 'function') return;
    const caps = (RTCRtpReceiver.getCapabilities('video') || { codecs: [] }).codecs;
    const prefs = videoCodecPreferences(caps, wanted, format);
    if (prefs) t.setCodecPreferences(prefs);
  }

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
  }

  /** After every local answer: E2EE learns the codecs negotiated per m-section (for frames without a mime type). */
  _onLocalDescription() {
    if (this._e2ee && this._e2ee.onLocalDescription) this._e2ee.onLocalDescription(this);
  }

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
  }

  /** The msid track id the server gave the m-line of `mid` ("<connection id>-audio|video|screen"), or null. */
  _remoteTrackId(mid) {
    const sdp = this.pc && this.pc.remoteDescription ? this.pc.remoteDescription.sdp : '';
    for (const part of sdp.split(/\r?\nm=/).slice(1)) {
      if (!new RegExp('^a=mid:' + String(mid).replace(/[^\w-]/g, '') + '$', 'm').test(part)) continue;
      const m = /^a=msid:\S+ (\S+)/m.exec(part);
      return m ? m[1] : null;
    }
    return null;
  }

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
  }

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
  }

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
  }

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
  }

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
  }

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
  }
}

/**
 * The entry point: Veil.connection(url).sendrecv | sendonly | recvonly (channelId, metadata, options). `url` may be
 * a list: the signaling URLs of a cluster's nodes; connections start at the first, reconnecting() ones try them all.
 */
export class VeilSignaling {
  constructor(url) {
    const urls = Array.isArray(url) ? url : [url];
    if (urls.length === 0 || urls.some(u => typeof u !== 'string' || !/^wss?:\/\//.test(u))) {
      throw new VeilError('url must be a ws:// or wss:// URL (or a non-empty list of them)', 'bad-argument');
    }
    this.url = urls[0];
    this.urls = urls.slice();
  }

  /**
   * A member that reconnects on its own when its connection drops (docs/PROTOCOL.md §1.9): role is 'sendrecv',
   * 'sendonly' or 'recvonly'; options as for sendrecv(), plus reconnectBaseMs (250), reconnectMaxMs (2000) and
   * reconnectAttempts (30). Events: those of a connection, plus 'reconnecting' and 'reconnected'.
   */
  reconnecting(role, channelId, metadata = null, options = {}) {
    new VeilConnection(this.url, role, channelId, metadata, options); // validates the arguments now
    const plan = new ReconnectPlan(this.urls, { baseMs: options.reconnectBaseMs, maxMs: options.reconnectMaxMs,
      maxAttempts: options.reconnectAttempts });
    // with E2EE, one worker for all its connections: a reconnect must not need the page's origin (maybe the dead node)
    const kept = options.e2ee && !options.e2eeWorker ? new KeptWorker(() => startE2EEWorker(options.e2eeWorkerUrl)) : null;
    return new VeilReconnectingConnection(url => new VeilConnection(url, role, channelId, metadata,
      kept ? { ...options, e2eeWorker: kept.take() } : options), plan, { onEnd: () => { if (kept) kept.close(); } });
  }

  sendrecv(channelId, metadata = null, options = {}) {
    return new VeilConnection(this.url, 'sendrecv', channelId, metadata, options);
  }

  sendonly(channelId, metadata = null, options = {}) {
    return new VeilConnection(this.url, 'sendonly', channelId, metadata, options);
  }

  recvonly(channelId, metadata = null, options = {}) {
    return new VeilConnection(this.url, 'recvonly', channelId, metadata, options);
  }
}

/**
 * Checks that this browser can do Veil's E2EE: encoded transforms (RTCRtpScriptTransform or createEncodedStreams)
 * and WebCrypto. Resolves when it can; rejects with a VeilError (reason 'e2ee-unsupported') saying what is missing.
 */
async function initE2EE() {
  if (!isE2EESupported()) {
    throw new VeilError('Veil: this browser has no encoded transforms (RTCRtpScriptTransform or '
      + 'RTCRtpSender.createEncodedStreams): end-to-end encryption is impossible here', 'e2ee-unsupported');
  }
  if (!globalThis.crypto || !globalThis.crypto.subtle) {
    throw new VeilError('Veil: WebCrypto (crypto.subtle) is unavailable (E2EE needs a secure context: https or '
      + 'localhost)', 'e2ee-unsupported');
  }
  if (typeof Worker !== 'function') {
    throw new VeilError('Veil: this browser has no Web Workers: E2EE is impossible here', 'e2ee-unsupported');
  }
}

const Veil = {
  version: '0.1.0',
  initE2EE,
  /** A signaling endpoint, e.g. Veil.connection('ws://localhost:5000/signaling'). */
  connection(url) {
    return new VeilSignaling(url);
  },
  VeilError,
};

export default Veil;
