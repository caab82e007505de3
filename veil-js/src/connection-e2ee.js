// E2EE wiring of a VeilConnection (installed on its prototype by veil.js): key modes, the E2EE getters,
// setting up the E2EE state and handler, and Veil.initE2EE().

import { createE2EE, isE2EESupported } from './e2ee/index.js';
import { passphraseFromHash } from './e2ee/passphrase.js';
import { createMlsE2EE } from './e2ee/mls-e2ee.js';
import { VeilError } from './errors.js';

/** E2EE key modes (connect's e2ee_key_mode, docs/PROTOCOL.md §1.2). */
export const KEY_MODES = Object.freeze(['sender-keys', 'mls']);

/**
 * Refuses an unknown E2EE key mode (never silently replaced by another) and the combinations the MLS mode excludes.
 */
export function checkKeyMode(o) {
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

/**
 * The key mode an E2EE connection runs in (null without E2EE), after checkKeyMode: the given keyMode, else 'mls'
 * (the default) unless the options ask for what only sender keys do — a passphrase (`passphrase`, or "#e2eekey=…"
 * in the page URL), an `e2eeMode`, or `e2eeFormat: 'jframe'` — then 'sender-keys'.
 */
export function resolveKeyMode(o) {
  if (!o.e2ee) return null;
  if (o.keyMode !== undefined && o.keyMode !== null) return o.keyMode;
  const hashKey = globalThis.location ? passphraseFromHash(globalThis.location.hash) : null;
  const senderKeysOnly = o.passphrase !== undefined || hashKey !== null
    || (o.e2eeMode !== undefined && o.e2eeMode !== null) || (!!o.e2eeFormat && o.e2eeFormat !== 'sframe');
  return senderKeysOnly ? 'sender-keys' : 'mls';
}

/** VeilConnection methods: E2EE state and wiring. */
export const e2eeMethods = {
  /** This connection's E2EE identity fingerprint ("xxxx xxxx …"), or null without E2EE. */
  get e2eeSelfFingerprint() {
    return this.e2ee ? this.e2ee.selfFingerprint : null;
  },

  /** connection_id → fingerprint of every other member whose key bundle verified ({} without E2EE). */
  get e2eeRemoteFingerprints() {
    return this.e2ee ? Object.fromEntries(this.e2ee.remoteFingerprints) : {};
  },

  /** The room verification code every member shows alike (compare it out of band), or null. */
  get e2eeVerificationCode() {
    return this.e2ee ? this.e2ee.verificationCode : null;
  },

  /** The persistent device fingerprint (same from call to call) with {e2eePersistentIdentity: true}, else null. */
  get e2eeDeviceFingerprint() {
    return this.e2ee ? this.e2ee.deviceFingerprint : null;
  },

  /**
   * The other members as the E2EE layer sees them: [{connectionId, name (claimed in their server-relayed
   * signaling_notify_metadata: unverified), fingerprint, deviceFingerprint, verified, verifiedName, alarmed}].
   */
  get e2eePeers() {
    return this.e2ee ? this.e2ee.peers() : [];
  },

  /** True while the room code is the one marked verified with markVerified(). */
  get e2eeRoomVerified() {
    return this.e2ee ? this.e2ee.roomVerified : false;
  },

  /**
   * markVerified(): the room verification code was compared out of band; markVerified(fingerprint): one peer's
   * device (or connection) fingerprint was. A later change raises an 'e2ee' event {type: 'verification-lost'}.
   */
  async markVerified(fingerprint) {
    if (!this.e2ee) throw new VeilError('not an E2EE connection (or not connected yet)', 'bad-state');
    return this.e2ee.markVerified(fingerprint);
  },

  /** The E2EE key mode ('mls' or 'sender-keys', see resolveKeyMode), null without E2EE (never replaced by another). */
  get e2eeKeyMode() {
    return this.options.e2ee ? this.options.keyMode : null;
  },

  /** MLS key mode: the current MLS epoch, -1 before this member is in the group; null in other modes. */
  get e2eeEpoch() {
    return this.e2eeKeyMode === 'mls' ? (this.e2ee ? this.e2ee.epoch : -1) : null;
  },

  /** MLS key mode: the connection ids of the MLS roster (agreed by every member, self included); else null. */
  get e2eeRoster() {
    return this.e2eeKeyMode === 'mls' ? (this.e2ee ? [...this.e2ee.roster] : []) : null;
  },

  /** 'keys' | 'passphrase' | 'mls' for an E2EE connection, else null. */
  get e2eeMode() {
    return this.e2ee ? this.e2ee.mode : null;
  },

  /** Makes the E2EE state (identity, worker) and plugs it into the hook; the bundle goes into the notify metadata. */
  async _setupE2ee() {
    const o = this.options;
    if (o.keyMode === 'mls') {
      const e2ee = await createMlsE2EE({ workerUrl: o.e2eeWorkerUrl, worker: o.e2eeWorker, keepWorker: !!o.e2eeWorker,
        keepKeysForTesting: !!o.keepKeysForTesting, persistentIdentity: o.e2eePersistentIdentity,
        externalSender: !!o.mlsExternalSender,
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
  },

  /** Installs the E2EE handler (used by the E2EE layer; see the comment in the constructor). */
  setE2eeHandler(handler) {
    this._e2ee = handler;
  },

  /** Sends an opaque E2EE message (base64) to one connection of the channel through the server's relay. */
  sendE2ee(to, payloadBase64) {
    this._send({ type: 'e2ee', to, payload: payloadBase64 });
  },
};

/**
 * Checks that this browser can do Veil's E2EE: encoded transforms (RTCRtpScriptTransform or createEncodedStreams)
 * and WebCrypto. Resolves when it can; rejects with a VeilError (reason 'e2ee-unsupported') saying what is missing.
 */
export async function initE2EE() {
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
