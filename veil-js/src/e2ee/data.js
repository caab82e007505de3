/**
 * End-to-end encryption of data messages (docs/PROTOCOL.md §1.7), veil-client's DataCrypto byte for byte.
 *
 * Each message is one RFC 9605 SFrame ciphertext under the sender's current media base key and KID, with the data
 * cipher suite AES_128_CTR_HMAC_SHA256_80 (0x0001). The suite id is part of SFrame's key and salt labels, so the data
 * key and salt are independent of the media ones (suite 0x0004): a (key, nonce) pair never repeats between media and
 * data although both count from 0 under the same KID (docs/SECURITY.md "Data messages"). Data has its own sender
 * (its own counter) and one receiver per sender (its own replay window and ratchet), fed the same base keys.
 *
 *   plaintext = kind (0 bytes, 1 UTF-8 text) ‖ body
 *   metadata  = "Veil data 1" ‖ 0x00 ‖ UTF-8 addressee id (empty for everyone)   (AAD with the header)
 */

import { concat, utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { CipherSuite, SFrameReceiver, SFrameSender } from './sframe.js';

export const DATA_SUITE = CipherSuite.AES_128_CTR_HMAC_SHA256_80;
export const KIND_BYTES = 0;
export const KIND_TEXT = 1;
const LABEL = utf8('Veil data 1\0');

/** The AAD metadata of a message for `to` (null: everyone). */
export function dataMetadata(to) {
  return concat(LABEL, to ? utf8(to) : new Uint8Array(0));
}

/** kind ‖ body. */
export function dataFrame(kind, body) {
  const p = new Uint8Array(body.length + 1);
  p[0] = kind;
  p.set(body, 1);
  return p;
}

export class DataCrypto {
  #sender = new SFrameSender(DATA_SUITE);
  #receivers = new Map();
  #hasKey = false;
  #ops = Promise.resolve();
  #ratchet;

  /** @param {{ratchet?: boolean}} [options]  ratchet false: a KID not installed is 'no-key' (the MLS key mode) */
  constructor(options = {}) {
    this.#ratchet = options.ratchet !== false;
  }

  #serial(op) {
    const p = this.#ops.then(op);
    this.#ops = p.catch(() => {});
    return p;
  }

  #receiver(id) {
    if (!this.#receivers.has(id)) {
      this.#receivers.set(id, new SFrameReceiver(DATA_SUITE, undefined, { ratchet: this.#ratchet }));
    }
    return this.#receivers.get(id);
  }

  /** Each method copies its key bytes at once: the caller may wipe them right after the call. */
  setSendKey(kid, baseKey) {
    const b = Uint8Array.from(baseKey);
    return this.#serial(async () => {
      await this.#sender.setKey(kid, b);
      b.fill(0);
      this.#hasKey = true;
    });
  }

  installKey(from, kid, baseKey, now) {
    const b = Uint8Array.from(baseKey);
    return this.#serial(async () => {
      await this.#receiver(from).addKey(kid, b, now);
      b.fill(0);
    });
  }

  setPassphraseKey(from, p) {
    const b = Uint8Array.from(p);
    return this.#serial(async () => {
      this.#receiver(from).setPassphraseKey(b);
    });
  }

  /** A member left: its keys go; with a deadline, every other key expires then. */
  forget(from, now, deadline = null) {
    return this.#serial(async () => {
      const r = this.#receivers.get(from);
      this.#receivers.delete(from);
      if (r) r.clearKeys();
      if (deadline !== null) for (const o of this.#receivers.values()) o.expireInstalledKeys(now, deadline);
    });
  }

  /** Encrypts kind ‖ body for `to` (null: everyone). Rejects with E2EEError 'no-key' before the first send key. */
  seal(to, kind, body) {
    return this.#serial(async () => {
      if (!this.#hasKey) throw new E2EEError('no-key', 'no E2EE send key yet: data cannot be encrypted');
      const p = dataFrame(kind, body);
      try {
        return await this.#sender.encrypt(dataMetadata(to), p);
      } finally {
        p.fill(0);
      }
    });
  }

  /** {kind, body}; rejects with E2EEError ('no-key', 'bad-tag', 'replay', 'malformed', ...). */
  open(from, to, payload, now) {
    return this.#serial(async () => {
      const r = this.#receivers.get(from);
      if (!r) throw new E2EEError('no-key', 'no key of ' + from);
      const p = await r.decrypt(dataMetadata(to), payload, now);
      if (p.length < 1 || (p[0] !== KIND_BYTES && p[0] !== KIND_TEXT)) {
        throw new E2EEError('malformed', 'unknown data message kind');
      }
      return { kind: p[0], body: p.slice(1) };
    });
  }

  destroy() {
    for (const r of this.#receivers.values()) r.clearKeys();
    this.#receivers.clear();
  }
}
