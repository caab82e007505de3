/**
 * The receiving side of SFrame (RFC 9605; sframe.js has the header codec, the key schedule and the sender): one
 * remote sender's key ring, with the ratchet, key expiry and the replay window. Re-exported by sframe.js.
 */

import { concat } from './bytes.js';
import { E2EEError } from './errors.js';
import { KeyRing, ReplayWindow, splitKid } from './keyring.js';
import { veilRatchet } from './ratchet.js';
import { sframePassphraseBaseKey } from './passphrase.js';
import { decodeRanges, split as splitRanges, fill as fillRanges, disassemble } from './ranges.js';
import { DEFAULT_SUITE, SFrameKey, suiteInfo, toU64, tryDecodeHeader } from './sframe.js';

/** How far ahead (ratchet steps within one generation) a KID may be and still be ratcheted to. */
export const MAX_RATCHET_STEPS = 16;
/** Keys kept per remote sender. */
export const DEFAULT_KEY_RING_CAPACITY = 8;
/** Counters each KID's replay window remembers (all of the sender's streams share it). */
export const REPLAY_WINDOW_SIZE = 1024;
/** A frame older than this (relative to one already accepted, see ReplayWindow) is never accepted. */
export const MAX_FRAME_AGE_MILLIS = 2000;
/** Lower KIDs expire at most this long after a higher KID is installed. */
export const KEY_GRACE_MILLIS = 2000;
/** Lower KIDs expire at most this long after a frame authenticated under a higher KID. */
export const REORDER_MILLIS = 250;

/**
 * Decrypts one remote sender's SFrame frames, with that sender's key ring (veil-e2ee's SFrameReceiver rules):
 * - a KID not installed but in the generation of an installed key and at most 16 steps above it is tried with
 *   that key ratcheted forward; the ratcheted key is installed only once a frame authenticated under it;
 * - expiry: installing a higher KID makes every lower KID expire at most KEY_GRACE_MILLIS later; a frame
 *   authenticating under a KID makes every lower KID expire at most REORDER_MILLIS later; expireInstalledKeys (on
 *   a leave) makes every key held now, and any key of those generations installed or ratcheted to later, expire at
 *   a deadline; a ratcheted key inherits its base's expiry; a KID at or below an expired one is refused for good
 *   ('expired-key') and never installed again;
 * - without the ratchet (MLS key mode), a KID below a held KID of the same sender index is an epoch wrap: the held
 *   keys expire at most KEY_GRACE_MILLIS later (or REORDER_MILLIS after a frame under a new KID; a frame under
 *   an old one never shortens the new KIDs' life), and they count as below every later KID;
 * - one replay window per KID (REPLAY_WINDOW_SIZE counters, 2 s age floor) for all of the sender's streams (they
 *   share one CTR sequence), kept when the same KID is installed again: a CTR already accepted, 1024 or more below
 *   the highest, or older than the age floor is a 'replay';
 * - rejections are E2EEError 'truncated', 'bad-header', 'no-key', 'expired-key', 'replay' or 'bad-tag'.
 * `now` arguments are the caller's monotonic milliseconds (default: the latest time given). Safe for overlapping
 * calls: the window is checked again after decryption.
 */
export class SFrameReceiver {
  #suite;
  #nt;
  #ring;
  #passphraseKey = null; // passphrase mode: the sender's P; unknown KIDs are derived from it
  #now = 0;
  #expiredUpTo = null; // BigInt KID: every KID at or below it has expired
  #staleGeneration = -1n;
  #staleDeadline = Infinity;
  #ratchet;

  /**
   * `options.ratchet` false: a KID not installed is never tried with a ratcheted key ('no-key' at once); the MLS
   * key mode (docs/PROTOCOL.md §4.4), whose KIDs are sender index ‖ epoch rather than generation ‖ step.
   */
  constructor(suite = DEFAULT_SUITE, capacity = DEFAULT_KEY_RING_CAPACITY, options = {}) {
    const s = suiteInfo(suite);
    this.#ratchet = options.ratchet !== false;
    this.#suite = s.id;
    this.#nt = s.nt;
    this.#ring = new KeyRing(capacity, (e) => e.baseKey.fill(0));
  }

  get suite() {
    return this.#suite;
  }

  #tick(now) {
    if (now !== undefined && now > this.#now) this.#now = now;
    for (const kid of this.#ring.kids()) {
      const e = this.#ring.get(kid);
      if (e && this.#now >= e.expiresAt) {
        this.#ring.remove(kid);
        if (e.preWrap) continue; // from before an MLS epoch wrap: it says nothing about the KIDs after it
        const g = kid >> 8n;
        const newerStep = this.#ring.kids().some((o) => o >> 8n === g && o > kid);
        const upTo = newerStep ? kid : kid | 0xffn;
        if (this.#expiredUpTo === null || upTo > this.#expiredUpTo) this.#expiredUpTo = upTo;
      }
    }
  }

  #isExpired(kid) {
    return this.#expiredUpTo !== null && kid <= this.#expiredUpTo;
  }

  #expireBelow(kid, deadline) {
    for (const k of this.#ring.kids()) {
      if (k < kid || this.#ring.get(k).preWrap) { // a KID from before an MLS epoch wrap is below every later one
        const e = this.#ring.get(k);
        e.expiresAt = Math.min(e.expiresAt, deadline);
      }
    }
  }

  #applyStale(kid, entry) {
    if ((kid >> 8n) <= this.#staleGeneration) entry.expiresAt = Math.min(entry.expiresAt, this.#staleDeadline);
  }

  /**
   * Installs (or replaces) the base key of `kid` (copied); a KID already held keeps its replay window and expiry.
   * Every lower KID expires at most KEY_GRACE_MILLIS later. Resolves false (nothing installed) for an expired KID.
   */
  async addKey(kid, baseKey, now) {
    const k = toU64(kid, 'KID');
    const base = Uint8Array.from(baseKey);
    const key = await SFrameKey.fromBaseKey(this.#suite, k, base);
    this.#tick(now);
    if (!this.#ratchet && this.#ring.kids().some((o) => o >> 8n === k >> 8n && o > k)) {
      // MLS key mode: the epoch's low 8 bits wrapped (every 256 epochs), so the new KID is below the held ones. They
      // keep their KEY_GRACE_MILLIS (as the Java SDK's MlsFrameCrypto) and the KID order starts afresh.
      for (const o of this.#ring.kids()) {
        const e = this.#ring.get(o);
        e.preWrap = true;
        e.expiresAt = Math.min(e.expiresAt, this.#now + KEY_GRACE_MILLIS);
      }
      this.#expiredUpTo = null;
    }
    if (this.#isExpired(k)) {
      base.fill(0);
      return false;
    }
    const entry = newEntry(base, key);
    const old = this.#ring.get(k);
    if (old) {
      entry.window = old.window;
      entry.expiresAt = old.expiresAt;
    }
    this.#applyStale(k, entry);
    this.#ring.put(k, entry);
    this.#expireBelow(k, this.#now + KEY_GRACE_MILLIS);
    return true;
  }

  /** Every key held now (and any key of those generations added or ratcheted to later) expires at `deadline`. */
  expireInstalledKeys(now, deadline) {
    this.#tick(now);
    const kids = this.#ring.kids();
    if (kids.length === 0) return;
    let maxGen = -1n;
    for (const k of kids) if (k >> 8n > maxGen) maxGen = k >> 8n;
    if (maxGen > this.#staleGeneration) this.#staleGeneration = maxGen;
    this.#staleDeadline = deadline;
    for (const k of kids) {
      const e = this.#ring.get(k);
      e.expiresAt = Math.min(e.expiresAt, deadline);
    }
    this.#tick(now);
  }

  /** Whether frames under `kid` are refused because it (or a higher KID) expired. */
  isExpired(kid) {
    return this.#isExpired(toU64(kid, 'KID'));
  }

  removeKey(kid) {
    return this.#ring.remove(toU64(kid, 'KID'));
  }

  clearKeys() {
    this.#ring.clear();
    if (this.#passphraseKey) this.#passphraseKey.fill(0);
    this.#passphraseKey = null;
  }

  /**
   * Passphrase mode (docs/PROTOCOL.md §2.5): the sender's passphrase key P (copied). From now on a frame under a
   * KID that is not installed is tried with sframeBaseKey(P, KID) (one HKDF and the key schedule, never a ratchet);
   * the key is installed only once that frame authenticated, so forged fresh KIDs cost CPU but never grow or change
   * state. Every key installed so far is removed (they came from the previous passphrase).
   */
  setPassphraseKey(p) {
    this.clearKeys();
    this.#passphraseKey = Uint8Array.from(p);
  }

  hasKey(kid) {
    return this.#ring.get(toU64(kid, 'KID')) !== null;
  }

  /** Installed KIDs (BigInts). */
  keyIds() {
    return this.#ring.kids();
  }

  /** RFC 9605 decryption of header ‖ ct ‖ tag with AAD = header ‖ metadata; returns the plaintext. */
  async decrypt(metadata, data, now) {
    if (data.length === 0) throw new E2EEError('truncated', 'empty frame');
    const h = tryDecodeHeader(data, 0);
    if (!h) throw new E2EEError('bad-header', 'SFrame header does not fit');
    if (data.length - h.length < this.#nt) throw new E2EEError('truncated', 'shorter than the tag');
    this.#tick(now);
    return this.#open(data, 0, h, metadata);
  }

  /**
   * Decrypts a media frame clearPrefix ‖ header ‖ ct ‖ tag and returns clearPrefix ‖ plaintext. The prefix length
   * n is the codec's for the received frame. A frame that was shorter than its codec prefix was sent as all prefix
   * with an empty ciphertext, so after its prefix k < n come a header and exactly Nt bytes: if the reading at n
   * does not fit or does not authenticate, every such k is tried, largest first, until one authenticates (none
   * changes any state unless it does). The error is that of the reading at n if it fits, else that of the largest
   * k (docs/PROTOCOL.md §2.2). `info`, when given, receives {kid, ctr} of a frame that decrypted.
   */
  async decryptFrame(codec, type, frame, info = null, now = undefined) {
    const len = frame.length;
    if (len === 0) throw new E2EEError('truncated', 'empty frame');
    this.#tick(now);
    if (codec.layout) {
      const out = await this.#decryptRanged(codec.received ? codec.received(frame) : frame, info);
      return codec.restore ? codec.restore(out) : out;
    }
    const nt = this.#nt;
    const n = codec.clearPrefixLength(frame, type);
    const h = tryDecodeHeader(frame, n);
    const primaryFits = h !== null && len - n - h.length >= nt;
    let first;
    if (!h) {
      first = new E2EEError('bad-header', 'SFrame header does not fit after the clear prefix');
    } else if (!primaryFits) {
      first = new E2EEError('truncated', 'no room for the tag');
    } else {
      try {
        return await this.#openFrame(frame, n, h, info);
      } catch (e) {
        if (!(e instanceof E2EEError)) throw e;
        first = e;
      }
    }
    let fallback = null;
    for (let k = n - 1; k >= 0; k--) {
      const hk = tryDecodeHeader(frame, k);
      if (hk && k + hk.length + nt === len) {
        try {
          return await this.#openFrame(frame, k, hk, info);
        } catch (e) {
          if (!(e instanceof E2EEError)) throw e;
          if (!fallback) fallback = e;
        }
      }
    }
    throw primaryFits || !fallback ? first : fallback;
  }

  /** I ‖ H ‖ R ‖ T ‖ r (ranges.js) → I with the plaintext back in place. */
  async #decryptRanged(data, info) {
    const { interleaved, meta, tag } = disassemble(data, this.#nt);
    const h = tryDecodeHeader(meta, 0);
    if (!h) throw new E2EEError('bad-header', 'SFrame header does not fit in the ranged trailer');
    const rangeBytes = meta.subarray(h.length);
    const ranges = decodeRanges(rangeBytes, interleaved.length);
    const { clear, other } = splitRanges(interleaved, ranges);
    const sealed = concat(meta.subarray(0, h.length), other, tag);
    const pt = await this.#open(sealed, 0, h, concat(rangeBytes, clear));
    const out = Uint8Array.from(interleaved);
    fillRanges(out, ranges, pt);
    if (info) {
      info.kid = h.kid;
      info.ctr = h.ctr;
    }
    return out;
  }

  async #openFrame(frame, n, h, info) {
    const prefix = frame.subarray(0, n);
    const pt = await this.#open(frame, n, h, prefix);
    if (info) {
      info.kid = h.kid;
      info.ctr = h.ctr;
    }
    const out = new Uint8Array(n + pt.length);
    out.set(prefix, 0);
    out.set(pt, n);
    return out;
  }

  async #open(frame, offset, h, metadata) {
    const { kid, ctr } = h;
    const now = this.#now;
    if (this.#isExpired(kid)) throw new E2EEError('expired-key', 'KID ' + kid + ' expired');
    const e = this.#ring.get(kid);
    if (e) {
      if (!e.window.isFresh(ctr, now)) throw new E2EEError('replay', 'CTR ' + ctr);
      const pt = await e.key.openAt(frame, offset, h, metadata);
      if (this.#ring.get(kid) === null) throw new E2EEError('expired-key', 'KID ' + kid + ' expired meanwhile');
      if (!e.window.isFresh(ctr, now)) throw new E2EEError('replay', 'CTR ' + ctr);
      e.window.accept(ctr, now);
      if (!e.preWrap) this.#expireBelow(kid, now + REORDER_MILLIS); // a pre-wrap KID is above the newer ones
      return pt;
    }
    let base;
    let inherited = Infinity;
    if (this.#passphraseKey) {
      // passphrase mode: the key of any KID is derived from P; never ratcheted
      base = await sframePassphraseBaseKey(this.#passphraseKey, kid);
    } else {
      const baseKid = this.#ratchet ? this.#ring.ratchetBase(kid, MAX_RATCHET_STEPS) : null;
      if (baseKid === null) throw new E2EEError('no-key', 'no key for KID ' + kid);
      const baseEntry = this.#ring.get(baseKid);
      inherited = baseEntry.expiresAt;
      base = Uint8Array.from(baseEntry.baseKey);
      for (let s = splitKid(baseKid).step; s < splitKid(kid).step; s++) {
        const next = await veilRatchet(base);
        base.fill(0);
        base = next;
      }
    }
    const key = await SFrameKey.fromBaseKey(this.#suite, kid, base);
    let pt;
    try {
      pt = await key.openAt(frame, offset, h, metadata);
    } catch (err) {
      base.fill(0);
      throw err;
    }
    if (this.#isExpired(kid)) {
      base.fill(0);
      throw new E2EEError('expired-key', 'KID ' + kid + ' expired');
    }
    const installed = this.#ring.get(kid); // a concurrent frame may have installed it meanwhile
    if (installed) {
      base.fill(0);
      if (!installed.window.isFresh(ctr, now)) throw new E2EEError('replay', 'CTR ' + ctr);
      installed.window.accept(ctr, now);
      this.#expireBelow(kid, now + REORDER_MILLIS);
      return pt;
    }
    const entry = newEntry(base, key);
    entry.expiresAt = inherited;
    this.#applyStale(kid, entry);
    entry.window.accept(ctr, now);
    this.#ring.put(kid, entry);
    this.#expireBelow(kid, now + REORDER_MILLIS);
    return pt;
  }
}

function newEntry(baseKey, key) {
  return { baseKey, key, window: new ReplayWindow(REPLAY_WINDOW_SIZE, MAX_FRAME_AGE_MILLIS), expiresAt: Infinity };
}
