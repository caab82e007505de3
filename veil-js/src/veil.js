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
//   const c = Veil.connection(url).sendrecv('room', meta, {e2ee: true});   // MLS key mode (the default), SFrame
//   c.on('e2ee', ev => ...);  c.e2eeSelfFingerprint; c.e2eeRemoteFingerprints; c.e2eeVerificationCode;
//   {e2ee: true, e2eePersistentIdentity: true}: a device key in IndexedDB certifies each connection
//   (c.e2eeDeviceFingerprint, c.e2eePeers); await c.markVerified() / c.markVerified(fp); ev.type 'verification-lost'.
// Key modes (connect's e2ee_key_mode, always sent): {e2ee: true} runs the MLS key mode (docs/PROTOCOL.md §4,
// src/e2ee/mls-e2ee.js): one MLS group per channel, SFrame keys from the MLS exporter; c.e2eeKeyMode ('mls' |
// 'sender-keys'), c.e2eeEpoch, the code of the epoch in c.e2eeVerificationCode, the MLS roster in c.e2eeRoster.
// {e2ee: true, keyMode: 'sender-keys'} runs Sora-style sender keys (group keys through the relay, §3); so do the
// options MLS cannot serve, when no keyMode is given: {e2ee: true, e2eeFormat: 'jframe'} (JFrame),
// {e2ee: true, passphrase: 'p'} or a page URL with "#e2eekey=p" (passphrase mode, followed on hashchange), an
// e2eeMode. Any other keyMode is refused; a channel in the other mode refuses the connect (key_mode_mismatch).
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

import { startE2EEWorker } from './e2ee/index.js';
import { KeptWorker, ReconnectPlan, VeilReconnectingConnection } from './reconnect.js';
import { VeilError } from './errors.js';
import { checkKeyMode, resolveKeyMode, initE2EE, e2eeMethods } from './connection-e2ee.js';
import { dataMethods } from './connection-data.js';
import { DEFAULT_ICE_RESTART_ATTEMPTS, iceRestartMethods } from './ice-restart.js';
import { signalingMethods } from './connection-signaling.js';
import { peerMethods } from './connection-peer.js';
import { trackMethods } from './connection-tracks.js';
import { simulcastRecvRids, withoutSimulcast } from './simulcast.js';

export { simulcastRecvRids, withoutSimulcast };
export { VeilError } from './errors.js';
export { parseSections, E2EE_VIDEO_CODECS, videoCodecPreferences, orderOfferVideoCodecs, iceServersOf } from './sdp.js';
export { MAX_REDIRECTS } from './connection-signaling.js';
export { KEY_MODES } from './connection-e2ee.js';
export { MAX_DATA_BYTES } from './connection-data.js';

const DEFAULT_TIMEOUT_MS = 30000;
const EVENTS = ['track', 'removetrack', 'notify', 'disconnect', 'e2ee', 'signaling', 'timeout', 'data', 'draining', 'downlink-stats'];

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
    if (this.options.e2ee) this.options.keyMode = resolveKeyMode(this.options); // sent in connect, always explicit
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
}

// The methods of a VeilConnection, by job (each file holds one); installed as class methods are (non-enumerable).
for (const methods of [e2eeMethods, dataMethods, trackMethods, iceRestartMethods, signalingMethods, peerMethods]) {
  for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(methods))) {
    Object.defineProperty(VeilConnection.prototype, name, { ...d, enumerable: false });
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
    // one key mode for every connection of this member (the page URL's "#e2eekey=…" may change in between)
    if (options.e2ee) options = { ...options, keyMode: resolveKeyMode(options) };
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
