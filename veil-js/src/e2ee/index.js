/**
 * Veil's browser E2EE, the part the SDK (veil.js) calls. Everything else in src/e2ee is its machinery.
 *
 *   import { createE2EE, isE2EESupported } from './e2ee/index.js';
 *
 *   const e2ee = await createE2EE({ format: 'sframe' });      // identity made here, worker started
 *   connect.signaling_notify_metadata = e2ee.notifyMetadata(appMetadata);   // publishes the bundle
 *   connection.setE2eeHandler(e2ee.handler);                   // the SDK hook: offer, notify, relay, tracks, close
 *   e2ee.on('e2ee', ev => ...);   // {type: 'error' | 'key-used' | 'send-key' | 'key-installed' | 'fingerprints'
 *                                 //        | 'verification-code' | 'peers' | 'verified' | 'verification-lost', ...}
 *   e2ee.selfFingerprint; e2ee.remoteFingerprints; e2ee.verificationCode;
 *   e2ee.deviceFingerprint; e2ee.peers(); await e2ee.markVerified(); await e2ee.markVerified(fingerprint);
 *   e2ee.destroy();                                            // identity, keys and worker gone
 *
 * Without the hook, the same can be driven by hand: start(selfConnectionId, room), attachSender(sender, kind),
 * attachReceiver(receiver, kind, senderId), onMembersJoined([{connectionId, metadata}]), onMemberJoined(id,
 * metadata), onMemberLeft(id), onRelayMessage(from, payloadBase64), and the `sendRelay(to, payloadBase64)` callback.
 *
 * Two key modes:
 *   'keys' (default)  the group key manager of docs/PROTOCOL.md §3.5: per-connection identities, the bundle in
 *                     signaling_notify_metadata, key messages through the server's E2EE relay, ratchet on join,
 *                     fresh key on leave activated once delivered
 *   'passphrase'      P = PBKDF2(passphrase, room ‖ 0x00 ‖ sender's connection id), then each sender's frame key from P
 *                     and its own random per-connection KID (SFrame) or salt (JFrame, published in
 *                     signaling_notify_metadata) (§2.5); no key messages; the passphrase comes from options.passphrase
 *                     or, with passphraseFromHash, from location.hash "#e2eekey=…" and follows 'hashchange'
 * Frames: 'sframe' (RFC 9605, suite 4, the default) or 'jframe' (Jitsi's format; the join ratchet is then Jitsi's,
 * and a KID (g, s) uses key index g mod 16).
 */

import { E2EEError } from './errors.js';
import { Bundle, METADATA_MEMBER, fingerprintDisplay, fingerprint, verificationCodeWithContext } from './identity.js';
import { GroupKeyManager } from './group.js';
import {
  passphraseKey, passphraseFromHash, randomPassphraseKid, randomPassphraseSalt, sframePassphraseBaseKey,
  jframePassphraseKey, SALT_METADATA_MEMBER, SALT_LENGTH,
} from './passphrase.js';
import { toBase64, fromBase64, toBase64Url, fromBase64UrlStrict } from './bytes.js';
import { PeerVerification, claimedName } from './verification.js';
import { prepareE2EE } from './setup.js';
import { KIND_DEVICE, kindOf } from './pairwise.js';
import { jframeRatchet, veilRatchet } from './ratchet.js';
import { DataCrypto } from './data.js';
import { supportsScriptTransform, E2EEListeners, WorkerPort, KeptKeysForTesting } from './worker-port.js';

export {
  supportsScriptTransform, isE2EESupported, DEFAULT_WORKER_URL, WORKER_NAME, startE2EEWorker, workerReady,
} from './worker-port.js';

// as the worker's LEAVE_EXPIRY_MILLIS: after a leave, every data key of every other sender expires this much later
const DATA_LEAVE_EXPIRY_MILLIS = 2000;

/** The longest relay payload taken (base64 characters), checked before decoding: a sealed key message is < 600 B. */
export const MAX_RELAY_PAYLOAD_CHARS = 1400;
/** Membership inputs kept before start() (the offer); more are refused. */
export const MAX_EARLY_INPUTS = 256;

/**
 * Creates the E2EE state of one connection: a fresh identity and the E2EE Worker.
 * @param {object} [options]
 * @param {'sframe'|'jframe'} [options.format='sframe']
 * @param {'keys'|'passphrase'} [options.mode='keys']
 * @param {string} [options.passphrase]              passphrase mode: the passphrase
 * @param {boolean} [options.passphraseFromHash]     passphrase mode: read "#e2eekey=…" and follow hashchange
 * @param {string|URL} [options.workerUrl]           defaults to ./worker.js beside this module
 * @param {object} [options.worker]                  a Worker (or, in tests, a Worker-like object) to use instead
 * @param {boolean} [options.keepWorker]            destroy() leaves options.worker running (every key in it dropped),
 *                                                   for the next connection of a reconnecting member
 * @param {(ev: object) => void} [options.onEvent]   receives every 'e2ee' event
 * @param {boolean} [options.keepKeysForTesting]     keep copies of received keys for exportKeysForTesting()
 * @param {(n: number) => Uint8Array} [options.random]   random bytes for the key manager (tests)
 * @param {() => number} [options.now]               monotonic milliseconds (tests)
 * @param {boolean|{dbName?: string}} [options.persistentIdentity]  a device identity kept in IndexedDB (its
 *                                                   private key non-extractable) certifies this connection, and
 *                                                   peer verifications are remembered there
 * @param {object} [options.deviceIdentity]          a DeviceIdentity to use instead (tests, Node)
 * @param {number} [options.deviceCertificateGraceMs] how long a member claiming a verified name may take to show
 *                                                   its device certificate (default 5000)
 * @returns {Promise<VeilE2EE>} rejects with an Error saying why where the browser lacks encoded transforms
 */
export async function createE2EE(options = {}) {
  const { opts, worker, identity, fp, dev } = await prepareE2EE(options);
  return new VeilE2EE(opts, worker, identity, fp, dev);
}

/** The E2EE state of one connection (made by createE2EE). */
export class VeilE2EE {
  #opts;
  #port;
  #identity;
  #mgr = null;
  #listeners;
  #members = new Map(); // connection id -> Bundle (verified)
  #pendingMembers = []; // member inputs that arrived before start()
  #timer = null;
  #now;
  #room = null;
  #passphrase = null;
  #derived = new Map(); // passphrase mode: sender id (or '' for self) -> true
  #passphraseSenders = new Set(); // every remote sender whose passphrase key this member needs
  #keptKeys;
  #hashListener = null;
  #inputs = Promise.resolve();
  #destroyed = false;
  #data = new DataCrypto();
  #verification;
  #passphraseKid = null; // passphrase mode, SFrame: this connection's random KID
  #passphraseSalt = null; // passphrase mode, JFrame: this connection's random salt
  #passphraseSalts = new Map(); // passphrase mode, JFrame: sender id -> its salt (from its notify metadata)

  constructor(opts, worker, identity, selfFingerprint, dev = {}) {
    this.#opts = opts;
    this.#listeners = new E2EEListeners(opts.onEvent);
    this.#keptKeys = new KeptKeysForTesting(opts.keepKeysForTesting);
    this.#identity = identity;
    this.#now = opts.now || (() => globalThis.performance.now());
    /** 'sframe' | 'jframe' */
    this.format = opts.format;
    /** 'keys' | 'passphrase' */
    this.mode = opts.mode;
    /** The object published under "e2ee_bundle" in signaling_notify_metadata. */
    this.bundle = identity.bundleObject();
    /** The own identity's fingerprint, "xxxx xxxx … xxxx" (this connection only). */
    this.selfFingerprint = selfFingerprint;
    /** The persistent device fingerprint (the same from call to call), or null without a device identity. */
    this.deviceFingerprint = dev.deviceFp || null;
    this.#verification = new PeerVerification({
      identity, device: dev.device, store: dev.store, verifiedPeers: dev.verifiedPeers,
      graceMs: opts.deviceCertificateGraceMs,
      emit: (ev) => this.#emit(ev),
      send: (to, bytes) => {
        if (this.sendRelay) this.sendRelay(to, toBase64(bytes));
      },
    });
    if (this.mode === 'passphrase') {
      if (this.format === 'sframe') this.#passphraseKid = randomPassphraseKid();
      else this.#passphraseSalt = randomPassphraseSalt();
    }
    /** connection id → fingerprint display of every member whose bundle verified. */
    this.remoteFingerprints = new Map();
    /** The room verification code ("01234 56789 …"), or null before start(). */
    this.verificationCode = null;
    /** The own connection id, once started. */
    this.selfConnectionId = null;
    /** true when RTCRtpScriptTransform is missing and the PeerConnection needs encodedInsertableStreams: true. */
    this.needsEncodedInsertableStreams = !supportsScriptTransform();
    /** Set by the SDK: sends an E2EE relay message {to, payload (standard base64)}. */
    this.sendRelay = null;
    this.#port = new WorkerPort(worker, 't', (ev) => this.#emit(ev));
    this.#post({ type: 'setFormat', format: this.format });
    if (this.mode === 'passphrase') {
      if (opts.passphrase !== undefined) this.#passphrase = opts.passphrase || null;
      if (opts.passphraseFromHash && globalThis.location) {
        this.#passphrase = passphraseFromHash(globalThis.location.hash) ?? this.#passphrase;
        this.#hashListener = () => this.setPassphrase(passphraseFromHash(globalThis.location.hash));
        if (globalThis.addEventListener) globalThis.addEventListener('hashchange', this.#hashListener);
      }
    }
    /** The hook object for VeilConnection.setE2eeHandler(). */
    this.handler = {
      onOffer: (connection, msg) => {
        if (!this.sendRelay) this.sendRelay = (to, payload) => connection.sendE2ee(to, payload);
        this.start(msg.connection_id, connection.channelId);
      },
      onNotify: (connection, msg) => this.#onNotify(msg),
      onMessage: (connection, from, payload) => this.onRelayMessage(from, payload),
      setupSender: (connection, sender) => this.attachSender(sender, sender.track ? sender.track.kind : undefined),
      setupReceiver: (connection, receiver, connectionId) =>
        this.attachReceiver(receiver, receiver.track ? receiver.track.kind : undefined, connectionId),
      onLocalDescription: (connection) => this.updateCodecs(connection.pc),
      close: () => this.destroy(),
    };
  }

  // ------------------------------------------------------------------ events

  /** Adds a listener; the only event is 'e2ee' (see the module comment for its types). */
  on(event, fn) {
    this.#listeners.on(event, fn);
    return this;
  }

  off(event, fn) {
    this.#listeners.off(fn);
    return this;
  }

  #emit(ev) {
    this.#listeners.emit(ev);
  }

  // ------------------------------------------------------------------ setup

  /** `metadata` with the bundle added under "e2ee_bundle" (for connect's signaling_notify_metadata). */
  notifyMetadata(metadata = null) {
    const base = metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? metadata : {};
    const out = { ...base, [METADATA_MEMBER]: this.bundle };
    if (this.#passphraseSalt) out[SALT_METADATA_MEMBER] = toBase64Url(this.#passphraseSalt);
    return out;
  }

  /** Starts once the server told the connection id (the offer); `room` is the channel id (passphrase salt). */
  start(selfConnectionId, room) {
    if (this.#destroyed || this.selfConnectionId !== null) return;
    this.selfConnectionId = selfConnectionId;
    this.#room = room;
    this.#verification.start(selfConnectionId, room);
    if (this.mode === 'keys') {
      this.#mgr = new GroupKeyManager(this.#identity, selfConnectionId, {
        random: this.#opts.random, ratchet: this.format === 'jframe' ? jframeRatchet : veilRatchet,
      });
      this.#drain();
    } else {
      this.#derivePassphraseKeys();
    }
    this.#refreshMembership();
    const early = this.#pendingMembers;
    this.#pendingMembers = [];
    for (const f of early) f();
  }

  /** Encrypts what this RTCRtpSender sends. */
  attachSender(sender, kind) {
    return this.#port.attachSender(sender, kind);
  }

  /** Decrypts what this RTCRtpReceiver receives from `senderId` (the publisher's connection id). */
  attachReceiver(receiver, kind, senderId) {
    const transformId = this.#port.attachReceiver(receiver, kind, senderId);
    if (senderId && this.mode === 'passphrase') this.#derivePassphraseKey(senderId);
    return transformId;
  }

  /** Tells the worker the codecs negotiated for each transform of `pc` (call after every setLocalDescription). */
  updateCodecs(pc) {
    this.#port.updateCodecs(pc);
  }

  /** Names the sender of a receiver attached without one. */
  bindReceiver(transformId, senderId) {
    this.#port.bindReceiver(transformId, senderId);
    if (this.mode === 'passphrase') this.#derivePassphraseKey(senderId);
  }

  // ------------------------------------------------------------------ signaling inputs

  #onNotify(msg) {
    if (msg.event_type === 'connection.created') {
      if (msg.connection_id === this.selfConnectionId && Array.isArray(msg.data)) {
        this.onMembersJoined(msg.data.filter((m) => m.connection_id !== this.selfConnectionId)
          .map((m) => ({ connectionId: m.connection_id, metadata: m.signaling_notify_metadata })));
      } else if (msg.connection_id !== this.selfConnectionId) {
        this.onMemberJoined(msg.connection_id, msg.signaling_notify_metadata);
      }
    } else if (msg.event_type === 'connection.destroyed' && msg.connection_id !== this.selfConnectionId) {
      this.onMemberLeft(msg.connection_id);
    }
  }

  /** One member joined; `metadata` is its signaling_notify_metadata (holding "e2ee_bundle"). */
  onMemberJoined(connectionId, metadata) {
    this.onMembersJoined([{ connectionId, metadata }]);
  }

  /** The members already present (the newcomer's list), or one join: [{connectionId, metadata}]. */
  onMembersJoined(list) {
    if (this.selfConnectionId === null) {
      this.#early(() => this.onMembersJoined(list));
      return;
    }
    const bundles = [];
    for (const { connectionId, metadata } of list) {
      this.#verification.setName(connectionId, claimedName(metadata));
      if (this.#passphraseSalt) {
        const salt = metadata && typeof metadata === 'object'
          ? fromBase64UrlStrict(metadata[SALT_METADATA_MEMBER], SALT_LENGTH) : null;
        if (salt) this.#passphraseSalts.set(connectionId, salt);
        else this.#emit({ type: 'error', source: 'keys', reason: 'no-salt', from: connectionId,
          detail: 'no valid e2ee_passphrase_salt in its signaling_notify_metadata: its frames cannot be decrypted' });
      }
      try {
        const obj = metadata && typeof metadata === 'object' ? metadata[METADATA_MEMBER] : undefined;
        if (obj === undefined) throw new E2EEError('bad-bundle', 'no e2ee_bundle in its signaling_notify_metadata');
        bundles.push(Bundle.fromJson(connectionId, obj));
      } catch (e) {
        this.#emit({ type: 'error', source: 'keys', reason: e.reason || 'bad-bundle', from: connectionId,
          detail: e.message });
      }
    }
    if (bundles.length === 0) return;
    this.#input(async () => {
      if (this.#mgr) {
        await this.#mgr.membersJoined(this.#now(), bundles);
        this.#drain();
      } else {
        for (const b of bundles) {
          if (await b.verify()) this.#members.set(b.connectionId, b);
          else this.#emit({ type: 'error', source: 'keys', reason: 'bad-bundle', from: b.connectionId });
          this.#derivePassphraseKey(b.connectionId);
        }
      }
      await this.#refreshMembership();
    });
  }

  /** A member left. */
  onMemberLeft(connectionId) {
    if (this.selfConnectionId === null) {
      this.#early(() => this.onMemberLeft(connectionId));
      return;
    }
    this.#input(async () => {
      if (this.#mgr) {
        await this.#mgr.memberLeft(this.#now(), connectionId);
        this.#drain();
      } else {
        this.#members.delete(connectionId);
        this.#derived.delete(connectionId);
        this.#passphraseSalts.delete(connectionId);
        this.#passphraseSenders.delete(connectionId);
        this.#post({ type: 'removeSender', senderId: connectionId });
        this.#data.forget(connectionId, this.#now());
      }
      this.#keptKeys.forget(connectionId);
      await this.#refreshMembership();
    });
  }

  /** An E2EE relay message: `from` as the server stamped it, `payload` standard base64. */
  onRelayMessage(from, payload) {
    if (typeof payload !== 'string' || payload.length > MAX_RELAY_PAYLOAD_CHARS) {
      // refused before decoding or copying: the server chooses the size
      this.#emit({ type: 'error', source: 'keys', reason: 'malformed', from, detail: 'relay payload too long' });
      return;
    }
    let bytes;
    try {
      bytes = fromBase64(payload);
    } catch {
      this.#emit({ type: 'error', source: 'keys', reason: 'malformed', from, detail: 'payload is not base64' });
      return;
    }
    if (kindOf(bytes) === KIND_DEVICE) {
      this.#input(() => this.#verification.onDeviceMessage(from, bytes));
      return;
    }
    if (!this.#mgr) return; // passphrase mode sends and takes no key messages
    this.#input(async () => {
      await this.#mgr.messageReceived(this.#now(), from, bytes);
      this.#drain();
    });
  }

  /** Passphrase mode: a new passphrase (null or '' = none: every frame is dropped until one is set). */
  setPassphrase(passphrase) {
    if (this.mode !== 'passphrase') throw new E2EEError('unsupported', 'not in passphrase mode');
    this.#passphrase = passphrase || null;
    this.#derived.clear();
    if (this.selfConnectionId !== null) this.#derivePassphraseKeys();
  }

  /** Keeps a membership input that came before start(), bounded (a hostile server could send any number). */
  #early(f) {
    if (this.#pendingMembers.length >= MAX_EARLY_INPUTS) {
      this.#emit({ type: 'error', source: 'keys', reason: 'buffer-full', detail: 'too many notifications before the offer' });
      return;
    }
    this.#pendingMembers.push(f);
  }

  #input(op) {
    const p = this.#inputs.then(() => (this.#destroyed ? undefined : op()));
    this.#inputs = p.catch((e) => this.#emit({ type: 'error', source: 'keys', reason: e.reason || 'internal',
      detail: e.message }));
    return p;
  }

  // ------------------------------------------------------------------ key manager outputs

  #drain() {
    if (!this.#mgr || this.#destroyed) return;
    for (const o of this.#mgr.drainOutputs()) {
      if (o.type === 'send') {
        if (this.sendRelay) this.sendRelay(o.to, toBase64(o.message));
        else this.#emit({ type: 'error', source: 'keys', reason: 'no-relay', from: o.to });
      } else if (o.type === 'install-key') {
        this.#post({ type: 'setReceiveKey', senderId: o.sender, kid: o.kid.toString(), key: o.baseKey });
        this.#data.installKey(o.sender, o.kid, o.baseKey, this.#now());
        this.#keptKeys.receiveKey(o.sender, o.kid, o.baseKey);
        o.baseKey.fill(0);
        this.#emit({ type: 'key-installed', senderId: o.sender, kid: o.kid.toString() });
      } else if (o.type === 'activate-send-key') {
        this.#post({ type: 'setSendKey', kid: o.kid.toString(), key: o.baseKey });
        this.#data.setSendKey(o.kid, o.baseKey);
        this.#keptKeys.sendKey(o.kid, o.baseKey);
        o.baseKey.fill(0);
        this.#emit({ type: 'send-key', kid: o.kid.toString() });
      } else if (o.type === 'forget-sender') {
        this.#post({ type: 'removeSender', senderId: o.connectionId, expireOthers: true });
        this.#data.forget(o.connectionId, this.#now(), this.#now() + DATA_LEAVE_EXPIRY_MILLIS);
      } else if (o.type === 'rejected') {
        this.#emit({ type: 'error', source: 'keys', reason: o.reason, from: o.from, detail: o.detail });
      }
    }
    this.#schedule();
  }

  #schedule() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const at = this.#mgr ? this.#mgr.pollTimeout() : null;
    if (at === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#input(async () => {
        await this.#mgr.handleTimeout(this.#now());
        this.#drain();
      });
    }, Math.max(0, at - this.#now()));
  }

  // ------------------------------------------------------------------ passphrase mode

  #derivePassphraseKeys() {
    this.#derivePassphraseKey(null);
    for (const id of this.#passphraseSenders) this.#derivePassphraseKey(id);
  }

  #derivePassphraseKey(senderId) {
    if (this.mode !== 'passphrase') return;
    if (senderId !== null) this.#passphraseSenders.add(senderId);
    if (this.selfConnectionId === null) return;
    const slot = senderId === null ? '' : senderId;
    const pass = this.#passphrase;
    if (!pass || this.#derived.has(slot)) return;
    const participant = senderId === null ? this.selfConnectionId : senderId;
    const salt = this.format === 'jframe' ? (senderId === null ? this.#passphraseSalt
      : this.#passphraseSalts.get(senderId)) : null;
    if (this.format === 'jframe' && !salt) return; // derived once its salt is known (its notify)
    this.#derived.set(slot, true);
    this.#input(async () => {
      const p = await passphraseKey(pass, this.#room, participant);
      if (this.#destroyed || this.#passphrase !== pass) return;
      // P is never a frame key itself: the server chooses the participant id (docs/PROTOCOL.md §2.5)
      if (senderId === null && this.format === 'sframe') {
        const base = await sframePassphraseBaseKey(p, this.#passphraseKid);
        this.#post({ type: 'setSendKey', kid: this.#passphraseKid.toString(), key: base });
        await this.#data.setSendKey(this.#passphraseKid, base);
        base.fill(0);
      } else if (this.format === 'sframe') {
        this.#post({ type: 'setPassphraseKey', senderId, key: p });
        await this.#data.setPassphraseKey(senderId, p);
      } else {
        const key = await jframePassphraseKey(p, salt);
        this.#post({ type: 'setPassphraseKey', senderId, key });
        key.fill(0);
      }
      p.fill(0);
      if (senderId === null) {
        this.#emit({ type: 'send-key', kid: this.format === 'sframe' ? this.#passphraseKid.toString() : 'index 0' });
      }
    });
  }

  // ------------------------------------------------------------------ membership, fingerprints, code

  async #refreshMembership() {
    if (this.#mgr) {
      this.#members = new Map(this.#mgr.members().map((b) => [b.connectionId, b]));
    }
    const fps = new Map();
    for (const [id, b] of this.#members) fps.set(id, fingerprintDisplay(await fingerprint(b.identityKey)));
    const changed = fps.size !== this.remoteFingerprints.size
      || [...fps].some(([id, f]) => this.remoteFingerprints.get(id) !== f);
    this.remoteFingerprints = fps;
    if (changed) this.#emit({ type: 'fingerprints', self: this.selfFingerprint, remote: new Map(fps) });
    const members = [{ connectionId: this.selfConnectionId, identityKey: this.#identity.identityKey },
      ...[...this.#members.values()].map((b) => ({ connectionId: b.connectionId, identityKey: b.identityKey }))];
    // the code also covers the channel, the mode and the frame format (suite 4 for SFrame: the worker's default)
    const code = (await verificationCodeWithContext({ channelId: this.#room, mode: this.mode, format: this.format,
      cipherSuite: this.format === 'sframe' ? 4 : 0 }, members)).display;
    if (code !== this.verificationCode) {
      this.verificationCode = code;
      this.#emit({ type: 'verification-code', code });
      this.#verification.codeChanged(code);
    }
    await this.#verification.membersChanged(new Map(this.#members), fps);
  }

  // ------------------------------------------------------------------ verification

  /**
   * markVerified(): the current room code was compared out of band and matches; any later change of it raises a
   * 'verification-lost' event. markVerified(fingerprint): one peer's device fingerprint (remembered across calls
   * with persistentIdentity, under the name the peer shows now) or, for a peer without a device identity, its
   * connection fingerprint (this call only). Rejects with E2EEError('unknown-fingerprint') if no peer has it.
   */
  async markVerified(fp) {
    await this.#inputs;
    return this.#verification.markVerified(fp);
  }

  /** True while the current room code is the one marked verified. */
  get roomVerified() {
    return this.#verification.roomVerified;
  }

  /**
   * Every other member: [{connectionId, name (claimed by the server-relayed metadata: unverified), fingerprint,
   * deviceFingerprint (null without a device certificate), verified, verifiedName (the name it was verified
   * under), alarmed (a verification-lost was raised for it)}].
   */
  peers() {
    return this.#verification.peers();
  }

  // ------------------------------------------------------------------ worker

  #post(msg) {
    this.#port.post(msg);
  }

  // ------------------------------------------------------------------ data messages (docs/PROTOCOL.md §1.7)

  /**
   * Encrypts a data message (kind 0 bytes / 1 text, body bytes) for `to` (null: everyone) under this member's current
   * send key. Rejects with E2EEError 'no-key' before there is one, 'unsupported' in JFrame passphrase mode.
   */
  sealData(to, kind, body) {
    if (this.mode === 'passphrase' && this.format === 'jframe') {
      return Promise.reject(new E2EEError('unsupported', 'data messages need SFrame keys (not JFrame passphrase mode)'));
    }
    return this.#inputs.then(() => this.#data.seal(to, kind, body));
  }

  /**
   * Decrypts a data message from `from`: {kind, body}, or null when it does not decrypt (dropped, and reported as
   * an 'error' event with source 'data').
   */
  async openData(from, to, payload) {
    await this.#inputs;
    try {
      return await this.#data.open(from, to, payload, this.#now());
    } catch (e) {
      this.#emit({ type: 'error', source: 'data', reason: e.reason || 'internal', from, detail: e.message });
      return null;
    }
  }

  /** Resolves once every input so far was processed and the worker applied every key sent to it. */
  async idle() {
    for (let p = null; p !== this.#inputs;) {
      p = this.#inputs;
      await p; // inputs may queue more inputs (passphrase derivations)
    }
    await this.#port.ping();
  }

  /**
   * For tests only (option keepKeysForTesting): {send: {kid, key}, receive: {connectionId: [{kid, key}]}} with hex
   * keys, the base keys this connection holds. Lets a test show a departed member's keys open nothing new.
   */
  exportKeysForTesting() {
    return this.#keptKeys.export();
  }

  /** Destroys the identity, the key manager and every key, and stops the worker (with keepWorker: its keys only). */
  destroy() {
    if (this.#destroyed) return;
    this.#port.destroy();
    this.#destroyed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#mgr) this.#mgr.destroy();
    else this.#identity.destroy();
    if (this.#hashListener && globalThis.removeEventListener) {
      globalThis.removeEventListener('hashchange', this.#hashListener);
    }
    this.#keptKeys.clear();
    this.#data.destroy();
    this.#verification.destroy();
    this.#port.release(this.#opts.keepWorker);
  }

  get destroyed() {
    return this.#destroyed;
  }
}
