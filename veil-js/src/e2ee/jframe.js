/**
 * JFrame: the media frame format of Jitsi Meet (lib-jitsi-meet modules/e2ee, "Context.ts"), byte for byte.
 *
 *   +--------------------+--------------------------+---------+--------+------+-----------+
 *   | clear prefix (N B) | AES-128-GCM ciphertext   | tag 16B | IV 12B | 0x0C | key index |
 *   +--------------------+--------------------------+---------+--------+------+-----------+
 *     AAD = the clear prefix                          IV = SSRC (BE32) ‖ RTP timestamp (BE32)
 *                                                          ‖ (sendCount mod 0xFFFF) (BE32)
 *
 * N comes from the codec (see codec.js): 10 on a VP8 key frame, 3 on a VP8 delta frame, 1 for Opus; a frame
 * shorter than N keeps all of it in clear. The receiver computes N from its own view of the frame, capped at
 * the frame length minus the 30-byte overhead. sendCount is per SSRC, starts at a random value in [0, 0xFFFE]
 * and is never reset on a key change (as in Jitsi).
 *
 * Keys: the 32-byte key material gives the AES key
 *   aes = HKDF-SHA256(IKM = material, salt = "JFrameEncryptionKey", info = "", 16 bytes)
 * and the next material is ratchet.js's jframeRatchet. In passphrase (shared key) mode the 16-byte key is the AES
 * key itself and never ratchets.
 *
 * The receiver keeps 16 slots per sender, indexed by the key-index byte (key index k goes to slot k mod 16). When
 * a frame fails to authenticate under a ratchetable slot, it tries up to 8 successive ratchets of that slot and
 * commits the ratcheted key only when the frame then authenticates (and the slot was not replaced meanwhile).
 * A replay window per SSRC (the IV's first 4 bytes, 16 SSRCs remembered, forgotten ones retired: their frames are
 * refused) over the IV counter (wrap-aware modulo 0xFFFF, 128 frames) rejects replayed and too-old frames; the
 * windows belong to the receiver (one per remote participant, worker-wide), so they span all of its tracks and keys.
 * The IV's RTP timestamp bounds the age: a frame whose counter is ahead must carry a timestamp not below the highest
 * one's, whose media time since it is within MAX_FRAME_AGE_MILLIS of the time elapsed since it arrived (48 kHz for
 * Opus, 90 kHz otherwise); one whose counter is behind must not be older than MAX_FRAME_AGE_MILLIS. So a frame
 * recorded minutes earlier is a 'replay' even when the 16-bit counter wrapped into "ahead", and never moves the
 * window. Key expiry: a key set makes the slots set before it expire KEY_GRACE_MILLIS later; a frame authenticating
 * under a slot makes the slots set before it expire REORDER_MILLIS later. These are veil-e2ee's
 * JFrameSender/JFrameReceiver rules; all of them are fail-closed fixes over Jitsi's receiver that leave the wire
 * format unchanged.
 */

import { utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { jframeRatchet } from './ratchet.js';
import { WrappingReplayWindow } from './keyring.js';

const subtle = globalThis.crypto.subtle;
const EMPTY = new Uint8Array(0);
const ENCRYPTION_SALT = utf8('JFrameEncryptionKey');

export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
/** Bytes JFrame adds to every frame: tag, IV, IV-length byte, key-index byte. */
export const OVERHEAD = TAG_LENGTH + IV_LENGTH + 2;
export const KEYRING_SIZE = 16;
export const RATCHET_WINDOW = 8;
/** The IV counter is written modulo this (65535, as Jitsi does). */
export const COUNTER_MODULUS = 0xffff;
/** SSRCs whose replay windows a receiver remembers (least recently used forgotten). */
export const MAX_SSRCS = 16;
/** Forgotten SSRCs remembered as retired (their frames refused). */
export const MAX_RETIRED_SSRCS = 256;
/** No frame older than this (by arrival time and RTP timestamp) is accepted. */
export const MAX_FRAME_AGE_MILLIS = 2000;
/** Older slots expire this long after a newer key is set. */
export const KEY_GRACE_MILLIS = 2000;
/** Older slots expire this long after a frame authenticated under a newer slot. */
export const REORDER_MILLIS = 250;

/** One JFrame key: an AES-128-GCM CryptoKey, and the material it came from when it can ratchet. */
export class JFrameKey {
  #aes;
  #material;
  #next = null;

  constructor(aes, material) {
    this.#aes = aes;
    this.#material = material;
  }

  /** The key of some key material (Jitsi's managed keys are 32 random bytes; any non-empty length works). */
  static async fromMaterial(material) {
    if (!(material instanceof Uint8Array) || material.length === 0) {
      throw new E2EEError('bad-key', 'empty JFrame key material');
    }
    const ikm = await subtle.importKey('raw', material, 'HKDF', false, ['deriveKey']);
    const aes = await subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: ENCRYPTION_SALT, info: EMPTY }, ikm,
      { name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt']);
    return new JFrameKey(aes, Uint8Array.from(material));
  }

  /** A raw AES key (16 or 32 bytes) used as is (passphrase / shared-key mode); it cannot ratchet. */
  static async fromAesKey(key) {
    if (!(key instanceof Uint8Array) || (key.length !== 16 && key.length !== 24 && key.length !== 32)) {
      throw new E2EEError('bad-key', 'raw AES key must be 16, 24 or 32 bytes');
    }
    try {
      return new JFrameKey(await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']), null);
    } catch {
      throw new E2EEError('bad-key', 'AES key size not supported here');
    }
  }

  /** Whether this key came from material and can ratchet. */
  get ratchetable() {
    return this.#material !== null;
  }

  /** The key one ratchet step on (computed once, then cached). */
  next() {
    if (!this.#material) return Promise.reject(new E2EEError('unsupported', 'this JFrame key cannot ratchet'));
    if (!this.#next) this.#next = jframeRatchet(this.#material).then((m) => JFrameKey.fromMaterial(m));
    return this.#next;
  }

  /** Overwrites the material held by this key (the CryptoKey itself is not extractable). */
  destroy() {
    if (this.#material) this.#material.fill(0);
    this.#material = null;
    this.#next = null;
  }

  async seal(iv, aad, plaintext) {
    return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, this.#aes, plaintext));
  }

  async open(iv, aad, ciphertext) {
    try {
      return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, this.#aes, ciphertext));
    } catch {
      throw new E2EEError('bad-tag');
    }
  }
}

function slotOf(keyIndex) {
  if (!Number.isInteger(keyIndex) || keyIndex < 0) throw new RangeError('negative or non-integer key index');
  return keyIndex % KEYRING_SIZE;
}

function defaultCounterStart() {
  const b = new Uint32Array(1);
  globalThis.crypto.getRandomValues(b);
  return b[0] % COUNTER_MODULUS;
}

/**
 * The sending side of one local participant: 16 key slots, the current one, and the per-SSRC frame counters.
 * Share one sender across the participant's streams.
 */
export class JFrameSender {
  #ring = new Array(KEYRING_SIZE).fill(null);
  #current = -1;
  #sendCounts = new Map();
  #counterStart;
  #keyOps = Promise.resolve();

  /** @param {{counterStart?: () => number}} [options] where each SSRC's counter starts (random in [0, 0xFFFE]). */
  constructor(options = {}) {
    this.#counterStart = options.counterStart || defaultCounterStart;
  }

  #serial(op) {
    const p = this.#keyOps.then(op);
    this.#keyOps = p.catch(() => {});
    return p;
  }

  #install(keyIndex, key) {
    const slot = slotOf(keyIndex);
    if (this.#ring[slot] && this.#ring[slot] !== key) this.#ring[slot].destroy();
    this.#ring[slot] = key;
    this.#current = slot;
  }

  /** Installs key material (HKDF "JFrameEncryptionKey", ratchetable) in slot keyIndex % 16 and makes it current. */
  setKey(keyIndex, material) {
    slotOf(keyIndex);
    return this.#serial(async () => this.#install(keyIndex, await JFrameKey.fromMaterial(material)));
  }

  /** Installs a raw AES key (passphrase / shared-key mode, never ratcheted) in slot keyIndex % 16, current. */
  setRawKey(keyIndex, aesKey) {
    slotOf(keyIndex);
    return this.#serial(async () => this.#install(keyIndex, await JFrameKey.fromAesKey(aesKey)));
  }

  /** Empties slot keyIndex % 16; if it was current, encryption stops until a key is set. */
  removeKey(keyIndex) {
    const slot = slotOf(keyIndex);
    if (this.#ring[slot]) this.#ring[slot].destroy();
    this.#ring[slot] = null;
  }

  /** Ratchets the current key's material (Jitsi does this on a join), keeping its slot. */
  ratchet() {
    return this.#serial(async () => {
      const k = this.#current < 0 ? null : this.#ring[this.#current];
      if (!k) throw new E2EEError('no-key', 'no key set');
      if (!k.ratchetable) throw new E2EEError('unsupported', 'a raw key cannot be ratcheted');
      this.#install(this.#current, await k.next());
    });
  }

  /** The current key index (0..15), or -1. */
  get currentKeyIndex() {
    return this.#current;
  }

  get hasKey() {
    return this.#current >= 0 && this.#ring[this.#current] !== null;
  }

  /**
   * Encrypts one frame (the codec's clear prefix stays in front). `ssrc` and `timestamp` are the frame's RTP SSRC
   * and timestamp (uint32). Rejects with E2EEError('no-key') when the current slot is empty.
   */
  async encrypt(codec, type, ssrc, timestamp, data) {
    if (codec.layout) throw new E2EEError('unsupported-codec', codec.name + ' needs the SFrame format');
    const index = this.#current;
    const key = index < 0 ? null : this.#ring[index];
    if (!key) throw new E2EEError('no-key', 'no JFrame send key');
    const n = codec.clearPrefixLength(data, type);
    const s = ssrc >>> 0;
    let count = this.#sendCounts.get(s);
    if (count === undefined) count = this.#counterStart() % COUNTER_MODULUS;
    this.#sendCounts.set(s, (count + 1) % COUNTER_MODULUS);
    const iv = new Uint8Array(IV_LENGTH);
    const view = new DataView(iv.buffer);
    view.setUint32(0, s);
    view.setUint32(4, timestamp >>> 0);
    view.setUint32(8, count);
    const prefix = data.subarray(0, n);
    const ct = await key.seal(iv, prefix, data.subarray(n));
    const out = new Uint8Array(n + ct.length + IV_LENGTH + 2);
    out.set(prefix, 0);
    out.set(ct, n);
    out.set(iv, n + ct.length);
    out[out.length - 2] = IV_LENGTH;
    out[out.length - 1] = index;
    return out;
  }
}

/**
 * Reads a JFrame trailer: {keyIndex, iv, ssrc, counter, body} (body = frame length - 30). Throws E2EEError
 * 'truncated' (< 30 bytes), 'bad-header' (IV length byte not 12) or 'bad-key-index' (16 or more).
 */
export function parseTrailer(data) {
  if (data.length < OVERHEAD) throw new E2EEError('truncated', 'shorter than the JFrame overhead');
  if (data[data.length - 2] !== IV_LENGTH) throw new E2EEError('bad-header', 'JFrame IV length ' + data[data.length - 2]);
  const keyIndex = data[data.length - 1];
  if (keyIndex >= KEYRING_SIZE) throw new E2EEError('bad-key-index', 'JFrame key index ' + keyIndex);
  const ivOff = data.length - 2 - IV_LENGTH;
  const iv = data.subarray(ivOff, ivOff + IV_LENGTH);
  const view = new DataView(iv.buffer, iv.byteOffset, IV_LENGTH);
  return { keyIndex, iv, ssrc: view.getUint32(0), counter: view.getUint32(8), body: data.length - OVERHEAD };
}

/** The receiving side for one remote participant: 16 key slots, ratchet-on-failure, replay windows per SSRC. */
export class JFrameReceiver {
  #ring = new Array(KEYRING_SIZE).fill(null);
  #seq = new Array(KEYRING_SIZE).fill(0);
  #expiresAt = new Array(KEYRING_SIZE).fill(Infinity);
  #installs = 0;
  #now = 0;
  #windows = new Map(); // ssrc -> {window, ts, at}, in least-recently-used order
  #retired = []; // SSRCs whose window was forgotten (bounded)

  #put(slot, key) {
    if (this.#ring[slot] && this.#ring[slot] !== key) this.#ring[slot].destroy();
    this.#ring[slot] = key;
  }

  #tick(now) {
    if (now !== undefined && now > this.#now) this.#now = now;
    for (let i = 0; i < KEYRING_SIZE; i++) {
      if (this.#ring[i] && this.#now >= this.#expiresAt[i]) this.#put(i, null);
    }
  }

  #install(slot, key) {
    this.#put(slot, key);
    this.#seq[slot] = ++this.#installs;
    this.#expiresAt[slot] = Infinity;
    this.#expireBefore(slot, this.#now + KEY_GRACE_MILLIS);
  }

  #expireBefore(slot, deadline) {
    for (let i = 0; i < KEYRING_SIZE; i++) {
      if (i !== slot && this.#ring[i] && this.#seq[i] < this.#seq[slot]) {
        this.#expiresAt[i] = Math.min(this.#expiresAt[i], deadline);
      }
    }
  }

  /** Installs key material (ratchetable) in slot keyIndex % 16; slots set before it expire 2 s later. */
  async setKey(keyIndex, material, now) {
    const slot = slotOf(keyIndex);
    const key = await JFrameKey.fromMaterial(material);
    this.#tick(now);
    this.#install(slot, key);
  }

  /** Installs a raw AES key (never ratcheted) in slot keyIndex % 16. */
  async setRawKey(keyIndex, aesKey, now) {
    const slot = slotOf(keyIndex);
    const key = await JFrameKey.fromAesKey(aesKey);
    this.#tick(now);
    this.#install(slot, key);
  }

  /** Every key held now expires at `deadline` at the latest (for a leave). */
  expireInstalledKeys(now, deadline) {
    this.#tick(now);
    for (let i = 0; i < KEYRING_SIZE; i++) {
      if (this.#ring[i]) this.#expiresAt[i] = Math.min(this.#expiresAt[i], deadline);
    }
    this.#tick(now);
  }

  removeKey(keyIndex) {
    this.#put(slotOf(keyIndex), null);
  }

  /** Empties every slot (keys wiped). */
  clearKeys() {
    for (let i = 0; i < KEYRING_SIZE; i++) this.#put(i, null);
  }

  hasKey(keyIndex) {
    return this.#ring[slotOf(keyIndex)] !== null;
  }

  /** The key now in a slot (after any committed ratchet), or null. */
  keyAt(keyIndex) {
    return this.#ring[slotOf(keyIndex)];
  }

  /**
   * Decrypts one JFrame and returns clearPrefix ‖ plaintext (frame length - 30 bytes); the prefix length is the
   * codec's for the body, as the sender computed it. Rejects with E2EEError 'truncated', 'bad-header',
   * 'bad-key-index', 'no-key', 'replay' or 'bad-tag' (checked in that order, as veil-e2ee does); a rejected frame
   * changes no slot and no window.
   */
  async decrypt(codec, type, data, now) {
    if (codec && codec.layout) throw new E2EEError('unsupported-codec', codec.name + ' needs the SFrame format');
    const { keyIndex, iv, ssrc, counter, body } = parseTrailer(data);
    this.#tick(now);
    const initial = this.#ring[keyIndex];
    if (!initial) throw new E2EEError('no-key', 'no JFrame key at index ' + keyIndex);
    if (counter >= COUNTER_MODULUS) throw new E2EEError('bad-header', 'JFrame IV counter ' + counter);
    const ts = new DataView(iv.buffer, iv.byteOffset, IV_LENGTH).getUint32(4);
    const rate = codec && codec.name === 'opus' ? 48000 : 90000;
    if (!this.#fresh(ssrc, counter, ts, rate)) throw new E2EEError('replay', 'SSRC ' + ssrc + ' counter ' + counter);
    const n = codec.clearPrefixLength(data.subarray(0, body), type);
    const prefix = data.subarray(0, n);
    const ct = data.subarray(n, body + TAG_LENGTH);
    let key = initial;
    let pt = null;
    for (let step = 0; pt === null; step++) {
      try {
        pt = await key.open(iv, prefix, ct);
      } catch (e) {
        if (!(e instanceof E2EEError) || e.reason !== 'bad-tag') throw e;
        if (step >= RATCHET_WINDOW || !key.ratchetable) throw e;
        key = await key.next();
      }
    }
    if (!this.#fresh(ssrc, counter, ts, rate)) throw new E2EEError('replay', 'SSRC ' + ssrc + ' counter ' + counter);
    if (this.#ring[keyIndex] === null) throw new E2EEError('no-key', 'JFrame key at index ' + keyIndex + ' expired');
    if (key !== initial && this.#ring[keyIndex] === initial) this.#put(keyIndex, key);
    this.#accept(ssrc, counter, ts);
    this.#expireBefore(keyIndex, this.#now + REORDER_MILLIS);
    const out = new Uint8Array(body);
    out.set(prefix, 0);
    out.set(pt, n);
    return out;
  }

  #fresh(ssrc, counter, ts, rate) {
    const s = this.#windows.get(ssrc);
    if (!s) return !this.#retired.includes(ssrc);
    if (!s.window.isFresh(counter)) return false;
    const tsDelta = (ts - s.ts) | 0; // signed 32-bit
    const elapsed = Math.max(0, this.#now - s.at);
    if (s.window.isAhead(counter)) {
      const media = Math.trunc((tsDelta * 1000) / rate);
      return tsDelta >= 0 && media >= elapsed - MAX_FRAME_AGE_MILLIS && media <= elapsed + MAX_FRAME_AGE_MILLIS;
    }
    if (tsDelta > 0) return false; // an earlier counter cannot carry a later timestamp
    return elapsed + Math.trunc((-tsDelta * 1000) / rate) <= MAX_FRAME_AGE_MILLIS;
  }

  #accept(ssrc, counter, ts) {
    let s = this.#windows.get(ssrc);
    if (s) {
      this.#windows.delete(ssrc);
    } else {
      s = { window: new WrappingReplayWindow(COUNTER_MODULUS), ts, at: this.#now };
      if (this.#windows.size >= MAX_SSRCS) {
        const old = this.#windows.keys().next().value;
        this.#windows.delete(old);
        this.#retired.push(old);
        if (this.#retired.length > MAX_RETIRED_SSRCS) this.#retired.shift();
      }
    }
    this.#windows.set(ssrc, s);
    const ahead = s.window.isAhead(counter);
    s.window.accept(counter);
    if (ahead) {
      s.ts = ts;
      s.at = this.#now;
    }
  }
}
