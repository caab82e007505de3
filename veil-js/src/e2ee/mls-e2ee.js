/**
 * The E2EE state of a connection in the MLS key mode (`keyMode: 'mls'`, docs/PROTOCOL.md §4): the SDK's side of
 * MlsSession (mls-session.js) and the E2EE Worker. Same surface as VeilE2EE (index.js) where the SDK needs it
 * (handler, attachSender/Receiver, verificationCode, peers(), markVerified(), sealData/openData, idle(), destroy()),
 * plus `epoch` and `roster`.
 *
 * Frames: SFrame (suite AES_128_GCM_SHA256_128) in the worker, keyed per epoch from the MLS exporter: this member
 * sends under its own KID (leaf index ‖ epoch bits) with setSendKey as soon as it applied the commit; each other
 * member of the epoch gets its KID and the epoch's base key with setReceiveKey (the worker's SFrameReceiver derives
 * that sender's key and salt); a sender's previous-epoch key then expires 2 s later (KEY_GRACE_MILLIS, as Java's
 * MlsFrameCrypto grace), or 250 ms after its first frame under the new KID. A departed member's receiver is removed
 * at once. The worker's receivers run without the sender-keys ratchet (a KID not installed is 'no-key', and such a
 * frame is held until its key comes, up to 1 s). A receiver is bound to the connection whose stream carries the
 * frames, and holds only that member's KIDs: a frame under another member's KID is dropped ('no-key').
 *
 * Events ('e2ee'): {type: 'mls-epoch', epoch, code, members}, 'verification-code', 'send-key', 'key-installed',
 * 'error' (source 'mls' with the session's reasons, or 'frames' / 'worker' from the worker), 'key-used',
 * 'verified', 'verification-lost'. Data messages (§4.10, mls-data.js): sealData seals under this member's KID of
 * the newest epoch with the epoch's data key; openData opens with the sender's key of the current or (2 s grace)
 * previous epoch; nothing is ever sent or taken in clear.
 *
 * Device identity (§4.9): with `deviceIdentity` or `persistentIdentity` the credential carries the device key, so
 * `deviceFingerprint` (own) and each peer's `deviceFingerprint` (peers(), remoteFingerprints, the 'mls-epoch'
 * event's `fingerprints`) are the same in every call. With `externalSender` a group this member founds names the
 * server (§4.8); the server's proposals are processed in any group that names it.
 */

import { E2EEError } from './errors.js';
import { MlsSession } from './mls-session.js';
import { MlsData } from './mls-data.js';
import { openDeviceStore } from './device-store.js';
import { fingerprintDisplay } from './identity.js';
import {
  supportsScriptTransform, workerFor, workerReady, E2EEListeners, WorkerPort, KeptKeysForTesting,
} from './worker-port.js';

export const KEY_MODE = 'mls';

/**
 * Creates the MLS-mode E2EE state of one connection and starts the E2EE Worker.
 * @param {{workerUrl?: string|URL, worker?: object, keepWorker?: boolean, onEvent?: (ev: object) => void,
 *   keepKeysForTesting?: boolean, now?: () => number, deviceIdentity?: object,
 *   persistentIdentity?: boolean|{dbName?: string}, externalSender?: boolean, random?: () => number}} [options]
 *   keepWorker: destroy() leaves `worker` running (its keys dropped), for the next connection of a reconnecting
 *   member; persistentIdentity: the device identity kept in IndexedDB (device-store.js), deviceIdentity: one to use
 *   instead; now and random: the clock and the back-off's jitter source after a refused commit (for tests)
 */
export async function createMlsE2EE(options = {}) {
  const worker = workerFor(options);
  let device = options.deviceIdentity || null;
  try {
    await workerReady(worker); // a worker whose script never loaded would pass no frame
    if (!device && options.persistentIdentity) {
      const store = await openDeviceStore(typeof options.persistentIdentity === 'object'
        ? options.persistentIdentity.dbName : undefined);
      try {
        device = await store.loadOrCreateDevice();
      } finally {
        store.close();
      }
    }
  } catch (e) {
    if (!options.worker) worker.terminate();
    throw e;
  }
  const deviceFp = device ? fingerprintDisplay(await device.fingerprint()) : null;
  return new MlsE2EE({ ...options, device, deviceFp }, worker);
}

export class MlsE2EE {
  #opts;
  #port;
  #session;
  #data = new MlsData();
  #timer = null;
  #timerAt = Infinity;
  #listeners;
  #now;
  #destroyed = false;
  #receiving = new Set(); // connection ids whose keys the worker holds
  #verifiedCode = null;
  #keptKeys;

  constructor(opts, worker) {
    this.#opts = opts;
    this.#session = new MlsSession({ device: opts.device || null, externalSender: !!opts.externalSender,
      random: opts.random });
    this.#listeners = new E2EEListeners(opts.onEvent);
    this.#keptKeys = new KeptKeysForTesting(opts.keepKeysForTesting);
    this.#now = opts.now || (() => globalThis.performance.now());
    this.mode = KEY_MODE;
    this.keyMode = KEY_MODE;
    this.format = 'sframe';
    this.selfFingerprint = null;
    /** This member's device fingerprint (the same in every call), or null without a device identity. */
    this.deviceFingerprint = opts.deviceFp || null;
    this.remoteFingerprints = new Map();
    /** The code of the current epoch (from its epoch authenticator), or null before this member is in the group. */
    this.verificationCode = null;
    /** The current MLS epoch, or -1 before this member is in the group. */
    this.epoch = -1;
    /** The MLS roster: the connection ids of the current epoch's members (self included), in leaf order. */
    this.roster = [];
    this.selfConnectionId = null;
    this.needsEncodedInsertableStreams = !supportsScriptTransform();
    /** Set by the SDK: sends one signaling message ({type: 'mls', ...}). */
    this.sendSignaling = null;
    this.#port = new WorkerPort(worker, 'm', (ev) => this.#emit(ev));
    this.#resetWorker();
    this.handler = {
      onOffer: (connection, msg) => this.start(msg.connection_id),
      onNotify: (connection, msg) => this.#onNotify(msg),
      onMls: (connection, msg) => this.onSignaling(msg),
      setupSender: (connection, sender) => this.attachSender(sender, sender.track ? sender.track.kind : undefined),
      setupReceiver: (connection, receiver, connectionId) =>
        this.attachReceiver(receiver, receiver.track ? receiver.track.kind : undefined, connectionId),
      onLocalDescription: (connection) => this.updateCodecs(connection.pc),
      close: () => this.destroy(),
    };
  }

  on(event, fn) {
    this.#listeners.on(event, fn);
    return this;
  }

  #emit(ev) {
    this.#listeners.emit(ev);
  }

  /** The application's metadata, unchanged: the MLS mode publishes nothing in signaling_notify_metadata. */
  notifyMetadata(metadata = null) {
    return metadata;
  }

  start(selfConnectionId) {
    if (this.#destroyed || this.selfConnectionId !== null) return;
    this.selfConnectionId = selfConnectionId;
    this.#session.start(selfConnectionId);
  }

  /** An `mls` or `mls_event` signaling message. */
  onSignaling(msg) {
    if (this.#destroyed || !msg) return;
    const now = this.#now();
    // an `mls` without `from` is a proposal the server made as external sender (§4.8)
    const p = msg.type === 'mls_event' ? this.#session.onEvent(msg, now) : this.#session.onMessage(msg.from, msg.payload, now);
    p.then(() => this.#drain());
  }

  #onNotify(msg) {
    const now = this.#now();
    let p = null;
    if (msg.event_type === 'connection.created') {
      if (msg.connection_id === this.selfConnectionId && Array.isArray(msg.data)) {
        for (const m of msg.data) {
          if (m.connection_id !== this.selfConnectionId) p = this.#session.memberJoined(m.connection_id, now);
        }
      } else if (msg.connection_id !== this.selfConnectionId) {
        p = this.#session.memberJoined(msg.connection_id, now);
      }
    } else if (msg.event_type === 'connection.destroyed' && msg.connection_id !== this.selfConnectionId) {
      p = this.#session.memberLeft(msg.connection_id, now);
    }
    if (p) p.then(() => this.#drain());
  }

  #drain() {
    if (this.#destroyed) return;
    for (const o of this.#session.drainOutputs()) {
      if (o.type === 'send') {
        if (this.sendSignaling) this.sendSignaling(o.message);
      } else if (o.type === 'epoch') {
        this.#installEpoch(o);
      } else if (o.type === 'stop-sending') {
        this.#resetWorker();
        this.#receiving.clear();
        this.#data.destroy();
        this.epoch = -1;
        this.roster = [];
        this.#keptKeys.dropSendKey();
        this.#dropCode();
      } else if (o.type === 'error') {
        if (o.reason === 'removed') {
          this.epoch = -1;
          this.roster = [];
          this.#dropCode();
        }
        this.#emit({ type: 'error', source: 'mls', reason: o.reason, from: o.from, detail: o.detail });
      }
    }
    this.#schedule();
  }

  /** One timer for the session's deadlines (fallback, withheld removal) and the data keys' grace. */
  #schedule() {
    if (this.#destroyed) return;
    const now = this.#now();
    const at = Math.min(this.#session.nextTimeout(now), this.#data.nextTimeout());
    if (at === this.#timerAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      const t = this.#now();
      this.#data.expire(t);
      this.#session.timeout(t).then(() => this.#drain());
    }, Math.max(0, Math.ceil(at - now)));
  }

  #installEpoch(o) {
    const fingerprints = {};
    for (const s of o.senders) if (s.deviceFingerprint) fingerprints[s.connectionId] = s.deviceFingerprint;
    this.remoteFingerprints = new Map(Object.entries(fingerprints));
    if (o.held) { // a removal is withheld: the epoch is shown, but nothing is sent or received under it
      this.#resetWorker();
      this.#receiving.clear();
      this.#data.destroy();
      this.#keptKeys.dropSendKey();
      this.epoch = Number(o.epoch);
      this.roster = o.roster;
      this.verificationCode = o.code;
      this.#emit({ type: 'mls-epoch', epoch: this.epoch, code: o.code, members: [...o.roster], fingerprints, held: true });
      return;
    }
    this.#data.install(o, this.#now());
    o.dataKey.fill(0);
    // when the epoch's low 8 bits wrap, a sender's new KID is below its old one: the worker's receiver (no ratchet)
    // keeps the old KIDs for their 2 s grace and orders the KIDs afresh (SFrameReceiver.addKey), so it is kept
    const now = new Set(o.senders.map((s) => s.connectionId));
    for (const id of this.#receiving) {
      if (!now.has(id)) this.#post({ type: 'removeSender', senderId: id });
    }
    this.#post({ type: 'setSendKey', kid: o.ownKid.toString(), key: o.baseKey });
    for (const s of o.senders) {
      this.#post({ type: 'setReceiveKey', senderId: s.connectionId, kid: s.kid.toString(), key: o.baseKey });
      this.#keptKeys.receiveKey(s.connectionId, s.kid, o.baseKey);
    }
    this.#keptKeys.sendKey(o.ownKid, o.baseKey);
    o.baseKey.fill(0);
    this.#receiving = now;
    this.epoch = Number(o.epoch);
    this.roster = o.roster;
    const codeChanged = o.code !== this.verificationCode;
    this.verificationCode = o.code;
    this.#emit({ type: 'send-key', kid: o.ownKid.toString() });
    for (const s of o.senders) this.#emit({ type: 'key-installed', senderId: s.connectionId, kid: s.kid.toString() });
    this.#emit({ type: 'mls-epoch', epoch: this.epoch, code: o.code, members: [...o.roster], fingerprints });
    if (codeChanged) {
      this.#emit({ type: 'verification-code', code: o.code });
      if (this.#verifiedCode !== null && this.#verifiedCode !== o.code) {
        this.#emit({ type: 'verification-lost', scope: 'room', reason: 'code-changed', verifiedCode: this.#verifiedCode,
          code: o.code });
        this.#verifiedCode = null;
      }
    }
  }

  /** Out of every epoch (alone, removed, refused or withheld): no code to compare, none shown from an old epoch. */
  #dropCode() {
    if (this.verificationCode === null) return;
    this.verificationCode = null;
    this.#emit({ type: 'verification-code', code: null });
  }

  #resetWorker() {
    this.#post({ type: 'setFormat', format: 'sframe', keyMode: KEY_MODE });
  }

  // ------------------------------------------------------------------ transforms (as VeilE2EE)

  attachSender(sender, kind) {
    return this.#port.attachSender(sender, kind);
  }

  attachReceiver(receiver, kind, senderId) {
    return this.#port.attachReceiver(receiver, kind, senderId);
  }

  bindReceiver(transformId, senderId) {
    this.#port.bindReceiver(transformId, senderId);
  }

  updateCodecs(pc) {
    this.#port.updateCodecs(pc);
  }

  #post(msg) {
    this.#port.post(msg);
  }

  // ------------------------------------------------------------------ verification, roster, data

  /** The other members of the MLS roster (the agreed membership, not the server's notify list). */
  peers() {
    return this.roster.filter((id) => id !== this.selfConnectionId).map((connectionId) => ({
      connectionId, name: null, fingerprint: null, deviceFingerprint: this.remoteFingerprints.get(connectionId) || null,
      verified: this.roomVerified,
      verifiedName: null, alarmed: false,
    }));
  }

  get roomVerified() {
    return this.#verifiedCode !== null && this.#verifiedCode === this.verificationCode;
  }

  /** markVerified(): the current epoch's code was compared out of band; a later epoch's code raises 'verification-lost'. */
  async markVerified(fingerprint) {
    await this.idle();
    if (fingerprint !== undefined) {
      throw new E2EEError('unsupported', 'the MLS key mode verifies the room code (markVerified()), not fingerprints');
    }
    if (this.verificationCode === null) throw new E2EEError('unsupported', 'not in the MLS group yet');
    this.#verifiedCode = this.verificationCode;
    this.#emit({ type: 'verified', scope: 'room', code: this.verificationCode });
  }

  /** Seals a data message under this member's KID of the newest epoch (§4.10); rejects 'no-key' without one. */
  async sealData(to, kind, body) {
    await this.#session.idle();
    if (this.#session.sendingHeld) {
      throw new E2EEError('no-key', 'sending is held (a commit was refused or a removal is withheld)');
    }
    return this.#data.seal(to, kind, body);
  }

  /** {kind, body}, or null when it does not open (dropped, reported as an 'error' event with source 'data'). */
  async openData(from, to, payload) {
    await this.#session.idle();
    this.#drain();
    try {
      return await this.#data.open(from, to, payload, this.#now());
    } catch (e) {
      this.#emit({ type: 'error', source: 'data', reason: e.reason || 'internal', from, detail: e.message });
      return null;
    }
  }

  /** Resolves once every input so far was processed and the worker applied every key sent to it. */
  async idle() {
    await this.#session.idle();
    this.#drain();
    await this.#port.ping();
  }

  /** For tests only (keepKeysForTesting): {send: {kid, key}, receive: {connectionId: [{kid, key}]}}, hex keys. */
  exportKeysForTesting() {
    return this.#keptKeys.export();
  }

  destroy() {
    if (this.#destroyed) return;
    this.#port.destroy();
    this.#destroyed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#session.destroy();
    this.#data.destroy();
    this.#keptKeys.clear();
    // with keepWorker, a reconnecting member's worker (src/reconnect.js KeptWorker): its keys only
    this.#port.release(this.#opts.keepWorker);
  }

  /** Proposals that passed the membership checks (§4.8) and were cached. */
  get proposalsCached() {
    return this.#session.proposalsCached;
  }

  get destroyed() {
    return this.#destroyed;
  }
}
