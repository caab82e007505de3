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
 * The receiver keeps 16 slots per sender, indexed by the key-index byte. When a frame fails to authenticate
 * under a ratchetable slot, it tries up to 8 successive ratchets of that slot and commits the ratcheted key only
 * when the frame then authenticates (and the slot was not replaced meanwhile).
 */

import { utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { jframeRatchet } from './ratchet.js';

const subtle = globalThis.crypto.subtle;
const EMPTY = new Uint8Array(0);
const ENCRYPTION_SALT = utf8('JFrameEncryptionKey');

export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
/** Bytes JFrame adds to every frame: tag, IV, IV-length byte, key-index byte. */
export const OVERHEAD = TAG_LENGTH + IV_LENGTH + 2;
export const KEYRING_SIZE = 16;
export const RATCHET_WINDOW = 8;

/** One JFrame key: an AES-128-GCM CryptoKey, and the material it came from when it can ratchet. */
export class JFrameKey {
  #aes;
  #material;
  #next = null;

  constructor(aes, material) {
    this.#aes = aes;
    this.#material = material;
  }

  /** The key of 32 bytes of key material (Jitsi's managed keys). */
  static async fromMaterial(material) {
    if (!(material instanceof Uint8Array) || material.length !== 32) {
      throw new E2EEError('bad-key', 'JFrame key material must be 32 bytes');
    }
    const ikm = await subtle.importKey('raw', material, 'HKDF', false, ['deriveKey']);
    const aes = await subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: ENCRYPTION_SALT, info: EMPTY }, ikm,
      { name: 'AES-GCM', length: 128 }, false, ['encrypt', 'decrypt']);
    return new JFrameKey(aes, Uint8Array.from(material));
  }

  /** A raw 16-byte AES key used as is (passphrase / shared-key mode); it cannot ratchet. */
  static async fromAesKey(key) {
    if (!(key instanceof Uint8Array) || key.length !== 16) throw new E2EEError('bad-key', 'AES-128 key must be 16 bytes');
    return new JFrameKey(await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']), null);
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

function checkIndex(index) {
  if (!Number.isInteger(index) || index < 0 || index >= KEYRING_SIZE) {
    throw new RangeError('JFrame key index must be 0..15');
  }
}

function defaultCounterStart() {
  const b = new Uint32Array(1);
  globalThis.crypto.getRandomValues(b);
  return b[0] % 0xffff;
}

/** The sending side of one local participant: the current key and index, and the per-SSRC frame counters. */
export class JFrameEncryptor {
  #key = null;
  #index = 0;
  #sendCounts = new Map();
  #counterStart;

  /** @param {{counterStart?: () => number}} [options] where each SSRC's counter starts (random by default). */
  constructor(options = {}) {
    this.#counterStart = options.counterStart || defaultCounterStart;
  }

  /** Sends with `key` under key index 0..15 from now on. */
  setKey(index, key) {
    checkIndex(index);
    this.#key = key;
    this.#index = index;
  }

  /** Stops sending: encrypt then refuses every frame. */
  clearKey() {
    this.#key = null;
  }

  get hasKey() {
    return this.#key !== null;
  }

  /**
   * Encrypts one frame whose first `prefixLength` bytes stay in clear. `ssrc` and `timestamp` are the frame's
   * RTP SSRC and timestamp (uint32). Throws E2EEError('no-key') when no key is set.
   */
  async encrypt(data, prefixLength, ssrc, timestamp) {
    const key = this.#key;
    if (!key) throw new E2EEError('no-key', 'no JFrame send key');
    const index = this.#index;
    const n = Math.min(prefixLength, data.length);
    let count = this.#sendCounts.get(ssrc);
    if (count === undefined) count = this.#counterStart();
    this.#sendCounts.set(ssrc, count + 1);
    const iv = new Uint8Array(IV_LENGTH);
    const view = new DataView(iv.buffer);
    view.setUint32(0, ssrc >>> 0);
    view.setUint32(4, timestamp >>> 0);
    view.setUint32(8, count % 0xffff);
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
 * Reads a JFrame trailer: {keyIndex, iv, counter, ciphertextEnd}. Throws E2EEError 'truncated', 'bad-header' (an
 * IV length other than 12, or an IV counter of 0xFFFF or more, which no sender writes) or 'bad-key-index' (16+).
 */
export function parseTrailer(data) {
  if (data.length < OVERHEAD) throw new E2EEError('truncated', 'shorter than the JFrame overhead');
  const keyIndex = data[data.length - 1];
  const ivLength = data[data.length - 2];
  if (ivLength !== IV_LENGTH) throw new E2EEError('bad-header', 'JFrame IV length ' + ivLength);
  const ciphertextEnd = data.length - 2 - IV_LENGTH;
  const iv = data.subarray(ciphertextEnd, ciphertextEnd + IV_LENGTH);
  const counter = new DataView(iv.buffer, iv.byteOffset, IV_LENGTH).getUint32(8);
  if (counter >= 0xffff) throw new E2EEError('bad-header', 'JFrame IV counter ' + counter);
  if (keyIndex >= KEYRING_SIZE) throw new E2EEError('bad-key-index', 'JFrame key index ' + keyIndex);
  return { keyIndex, iv, counter, ciphertextEnd };
}

/** The receiving side for one remote sender: 16 key slots and the ratchet-on-failure of Jitsi. */
export class JFrameDecryptor {
  #ring = new Array(KEYRING_SIZE).fill(null);
  #window;

  /** @param {{ratchetWindow?: number}} [options] ratchet attempts on a failed frame (8, as Jitsi; 0 = none). */
  constructor(options = {}) {
    this.#window = options.ratchetWindow ?? RATCHET_WINDOW;
  }

  setKey(index, key) {
    checkIndex(index);
    this.#ring[index] = key;
  }

  removeKey(index) {
    checkIndex(index);
    this.#ring[index] = null;
  }

  /** The key now in a slot (after any committed ratchet), or null. */
  keyAt(index) {
    checkIndex(index);
    return this.#ring[index];
  }

  /**
   * Decrypts one JFrame. `prefixLength` is what the codec says for this frame; it is capped at the frame length
   * minus the overhead. Returns {data: prefix ‖ plaintext, keyIndex, iv, ratchetSteps}. Throws E2EEError
   * 'truncated', 'bad-header', 'no-key' or 'bad-tag'; a failed frame changes no slot.
   */
  async decrypt(data, prefixLength) {
    const { keyIndex, iv, ciphertextEnd } = parseTrailer(data);
    const initial = this.#ring[keyIndex];
    if (!initial) throw new E2EEError('no-key', 'no JFrame key at index ' + keyIndex);
    const n = Math.min(prefixLength, ciphertextEnd - TAG_LENGTH);
    const prefix = data.subarray(0, n);
    const ct = data.subarray(n, ciphertextEnd);
    let key = initial;
    for (let step = 0; ; step++) {
      try {
        const pt = await key.open(iv, prefix, ct);
        if (step > 0 && this.#ring[keyIndex] === initial) this.#ring[keyIndex] = key;
        const out = new Uint8Array(n + pt.length);
        out.set(prefix, 0);
        out.set(pt, n);
        return { data: out, keyIndex, iv: Uint8Array.from(iv), ratchetSteps: step };
      } catch (e) {
        if (!(e instanceof E2EEError) || e.reason !== 'bad-tag') throw e;
        if (step >= this.#window || !key.ratchetable) throw e;
        key = await key.next();
      }
    }
  }
}
