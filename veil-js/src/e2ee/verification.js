/**
 * Verification people can use (docs/PROTOCOL.md §3.2, docs/SECURITY.md §1): the optional persistent device identity
 * of this member, the device certificates of the others (received over the device pairwise channel, kind 2), the
 * user's verified room code and verified peers, and the 'verification-lost' alarm.
 *
 * Peers are known by connection id; their *names* come from the server (signaling_notify_metadata.name) and are
 * never trusted: a name only says which earlier verification a member claims to continue. A member whose name was
 * verified with device fingerprint F but who shows another device fingerprint, or none within `graceMs` of its join,
 * raises 'verification-lost'. So does any change of the room code after markVerified().
 *
 * Events (through `emit`): {type: 'peers', peers: [...]}, {type: 'verified', scope: 'room'|'peer', ...},
 * {type: 'verification-lost', scope: 'room', verifiedCode, code} and
 * {type: 'verification-lost', scope: 'peer', connectionId, name, verifiedFingerprints, deviceFingerprint|null,
 * reason: 'device-changed'|'no-device-certificate'}, {type: 'error', source: 'device', reason, from, detail}.
 */

import { DeviceCertificate, fingerprintDisplay } from './identity.js';
import { PairwiseChannel, PURPOSE } from './pairwise.js';
import { E2EEError } from './errors.js';
import { toHex } from './bytes.js';

export const DEVICE_CERTIFICATE_GRACE_MS = 5000;
/** Early device messages kept: one per unknown sender, at most this many senders, each at most MAX_EARLY_BYTES. */
export const MAX_EARLY_SENDERS = 64;
export const MAX_EARLY_BYTES = 1024;
const MAX_NAME_LENGTH = 64;

function sameBundle(a, b) {
  return a === b || (a.connectionId === b.connectionId && toHex(a.identityKey) === toHex(b.identityKey)
    && toHex(a.kxKey) === toHex(b.kxKey));
}

function normFp(s) {
  return typeof s === 'string' ? s.replace(/[\s:]/g, '').toLowerCase() : '';
}

/** The display name a member's (server-relayed, unverified) signaling_notify_metadata claims, or null. */
export function claimedName(metadata) {
  const n = metadata && typeof metadata === 'object' ? metadata.name : undefined;
  return typeof n === 'string' && n.length > 0 ? n.slice(0, MAX_NAME_LENGTH) : null;
}

export class PeerVerification {
  #identity;
  #device;
  #store;
  #emit;
  #send;
  #graceMs;
  #setTimer;
  #clearTimer;
  #selfId = null;
  #channelId = null;
  #certificate = null; // Promise<Uint8Array> of the own encoded certificate
  #peers = new Map(); // cid -> {bundle, name, fingerprint, deviceFingerprint, channel (Promise), timer, alarmed}
  #names = new Map(); // cid -> claimed name (may arrive before the bundle is accepted)
  #early = new Map(); // cid -> bytes (device messages from connections not yet accepted)
  #verifiedDevices = new Map(); // normalized device fp -> {fingerprint (display), name}
  #verifiedConnections = new Set(); // normalized connection fp (this call only)
  #verifiedCode = null;
  #code = null;
  #destroyed = false;

  /**
   * @param {object} o {identity, device?: DeviceIdentity, store?: DeviceStore, verifiedPeers?: [{fingerprint, name}],
   *   emit(ev), send(to, bytes), graceMs?, setTimer?(fn, ms), clearTimer?(h)}
   */
  constructor(o) {
    this.#identity = o.identity;
    this.#device = o.device || null;
    this.#store = o.store || null;
    this.#emit = o.emit;
    this.#send = o.send;
    this.#graceMs = o.graceMs ?? DEVICE_CERTIFICATE_GRACE_MS;
    this.#setTimer = o.setTimer || ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = o.clearTimer || ((h) => clearTimeout(h));
    for (const v of o.verifiedPeers || []) {
      this.#verifiedDevices.set(normFp(v.fingerprint), { fingerprint: v.fingerprint, name: v.name ?? null });
    }
  }

  /** The own connection is known: certify its identity (if there is a device identity). */
  start(selfConnectionId, channelId) {
    this.#selfId = selfConnectionId;
    this.#channelId = channelId;
    if (this.#device) {
      this.#certificate = this.#device.certify(this.#identity.identityKey, selfConnectionId, channelId)
        .then((c) => c.encode());
    }
  }

  /** A member's claimed name (from its signaling_notify_metadata). */
  setName(connectionId, name) {
    this.#names.set(connectionId, name);
    const p = this.#peers.get(connectionId);
    if (p) p.name = name;
  }

  /**
   * The accepted members changed: `bundles` is the Map cid → Bundle of every accepted member now. Opens device
   * channels to newcomers (sending the own certificate), closes those of members gone.
   */
  async membersChanged(bundles, fingerprints) {
    if (this.#destroyed || this.#selfId === null) return;
    for (const [id, p] of [...this.#peers]) {
      if (!bundles.has(id) || !sameBundle(bundles.get(id), p.bundle)) {
        if (p.timer !== null) this.#clearTimer(p.timer);
        p.channel.then((c) => c && c.destroy(), () => {});
        this.#peers.delete(id);
        if (!bundles.has(id)) this.#names.delete(id);
      }
    }
    const fresh = [];
    for (const [id, bundle] of bundles) {
      if (this.#peers.has(id)) continue;
      const p = {
        bundle, name: this.#names.get(id) ?? null, fingerprint: fingerprints.get(id) || null, deviceFingerprint: null,
        timer: null, alarmed: false,
        channel: PairwiseChannel.create(this.#identity, this.#selfId, bundle, PURPOSE.device).catch(() => null),
      };
      this.#peers.set(id, p);
      if (this.#expectedDevices(p.name).length > 0) {
        p.timer = this.#setTimer(() => this.#certificateMissing(id, p), this.#graceMs);
      }
      fresh.push([id, p]);
    }
    for (const [id, p] of fresh) {
      const channel = await p.channel;
      if (this.#destroyed || this.#peers.get(id) !== p) continue;
      if (channel && this.#certificate) {
        try {
          this.#send(id, await channel.seal(await this.#certificate));
        } catch (e) {
          this.#emit({ type: 'error', source: 'device', reason: e.reason || 'internal', from: id, detail: e.message });
        }
      }
      const early = this.#early.get(id);
      if (early) {
        this.#early.delete(id);
        await this.onDeviceMessage(id, early);
      }
    }
    this.#emitPeers();
  }

  /** A relay message of kind 2 (device channel) from `from`. */
  async onDeviceMessage(from, bytes) {
    if (this.#destroyed) return;
    const p = this.#peers.get(from);
    if (!p) {
      // it may overtake the notification of its sender: keep one, bounded
      if (bytes.length <= MAX_EARLY_BYTES && (this.#early.has(from) || this.#early.size < MAX_EARLY_SENDERS)) {
        this.#early.set(from, bytes);
      } else {
        this.#emit({ type: 'error', source: 'device', reason: 'buffer-full', from });
      }
      return;
    }
    const channel = await p.channel;
    if (!channel || this.#peers.get(from) !== p) return;
    let cert;
    try {
      cert = DeviceCertificate.decode(await channel.open(bytes));
      if (!cert) throw new E2EEError('malformed', 'not a device certificate');
      if (!(await cert.verify(p.bundle.identityKey, from, this.#channelId))) {
        throw new E2EEError('bad-signature', 'device certificate does not verify for this connection and channel');
      }
    } catch (e) {
      this.#emit({ type: 'error', source: 'device', reason: e.reason || 'internal', from, detail: e.message });
      return;
    }
    const fp = fingerprintDisplay(await cert.fingerprint());
    if (this.#peers.get(from) !== p) return;
    if (p.deviceFingerprint !== null) {
      if (p.deviceFingerprint !== fp) {
        this.#emit({ type: 'error', source: 'device', reason: 'device-changed', from,
          detail: 'a second, different device certificate for one connection (ignored)' });
      }
      return;
    }
    p.deviceFingerprint = fp;
    if (p.timer !== null) {
      this.#clearTimer(p.timer);
      p.timer = null;
    }
    const expected = this.#expectedDevices(p.name);
    if (expected.length > 0 && !this.#verifiedDevices.has(normFp(fp))) this.#lost(from, p, 'device-changed');
    this.#emitPeers();
  }

  #expectedDevices(name) {
    if (name === null) return [];
    return [...this.#verifiedDevices.values()].filter((v) => v.name === name).map((v) => v.fingerprint);
  }

  #certificateMissing(id, p) {
    p.timer = null;
    if (this.#destroyed || this.#peers.get(id) !== p || p.deviceFingerprint !== null) return;
    this.#lost(id, p, 'no-device-certificate');
    this.#emitPeers();
  }

  #lost(id, p, reason) {
    if (p.alarmed) return;
    p.alarmed = true;
    this.#emit({ type: 'verification-lost', scope: 'peer', reason, connectionId: id, name: p.name,
      verifiedFingerprints: this.#expectedDevices(p.name), deviceFingerprint: p.deviceFingerprint });
  }

  /** The room code changed. */
  codeChanged(code) {
    const previous = this.#verifiedCode;
    this.#code = code;
    if (previous !== null && code !== previous) {
      this.#verifiedCode = null;
      this.#emit({ type: 'verification-lost', scope: 'room', verifiedCode: previous, code });
    }
  }

  get roomVerified() {
    return this.#verifiedCode !== null && this.#verifiedCode === this.#code;
  }

  /**
   * markVerified(): the current room code (compared out of band) is verified; any change raises
   * 'verification-lost'. markVerified(fingerprint): a peer's device fingerprint (remembered, persistently with a
   * device store, under the peer's current claimed name) or, for a peer without a device identity, its connection
   * fingerprint (this call only). Throws E2EEError('unknown-fingerprint') if no current peer has it.
   */
  async markVerified(fingerprint) {
    if (fingerprint === undefined || fingerprint === null) {
      if (this.#code === null) throw new E2EEError('not-started', 'no room code yet');
      this.#verifiedCode = this.#code;
      this.#emit({ type: 'verified', scope: 'room', code: this.#code });
      this.#emitPeers();
      return;
    }
    const want = normFp(fingerprint);
    for (const [id, p] of this.#peers) {
      if (p.deviceFingerprint !== null && normFp(p.deviceFingerprint) === want) {
        this.#verifiedDevices.set(want, { fingerprint: p.deviceFingerprint, name: p.name });
        if (this.#store) await this.#store.putVerifiedPeer(p.deviceFingerprint, p.name);
        this.#emit({ type: 'verified', scope: 'peer', connectionId: id, name: p.name,
          deviceFingerprint: p.deviceFingerprint });
        this.#emitPeers();
        return;
      }
    }
    for (const [id, p] of this.#peers) {
      if (p.fingerprint !== null && normFp(p.fingerprint) === want) {
        this.#verifiedConnections.add(want);
        this.#emit({ type: 'verified', scope: 'peer', connectionId: id, name: p.name, fingerprint: p.fingerprint });
        this.#emitPeers();
        return;
      }
    }
    throw new E2EEError('unknown-fingerprint', 'no member of this call has that fingerprint');
  }

  /** [{connectionId, name (claimed, unverified), fingerprint, deviceFingerprint, verified, verifiedName}]. */
  peers() {
    return [...this.#peers].map(([id, p]) => {
      const dev = p.deviceFingerprint !== null ? this.#verifiedDevices.get(normFp(p.deviceFingerprint)) : undefined;
      const conn = p.fingerprint !== null && this.#verifiedConnections.has(normFp(p.fingerprint));
      return { connectionId: id, name: p.name, fingerprint: p.fingerprint, deviceFingerprint: p.deviceFingerprint,
        verified: !!dev || conn, verifiedName: dev ? dev.name : null, alarmed: p.alarmed };
    });
  }

  #emitPeers() {
    this.#emit({ type: 'peers', peers: this.peers() });
  }

  destroy() {
    this.#destroyed = true;
    for (const p of this.#peers.values()) {
      if (p.timer !== null) this.#clearTimer(p.timer);
      p.channel.then((c) => c && c.destroy(), () => {});
    }
    this.#peers.clear();
    this.#early.clear();
    if (this.#store) this.#store.close();
  }
}
