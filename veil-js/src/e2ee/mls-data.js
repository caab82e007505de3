/**
 * Data messages in the MLS key mode (docs/PROTOCOL.md §4.10), veil-client's MlsData: the format of §1.7 (data.js,
 * suite AES_128_CTR_HMAC_SHA256_80), keyed per epoch from MLS-Exporter("Veil 1.0 data", "", 16) — a label of its own,
 * so the data base key is independent of the frames' "SFrame 1.0 Base Key" — under each sender's frame KID of that
 * epoch (so every sender has its own key and salt). Per epoch one DataCrypto holding, per sender connection, only
 * that sender's KID (no ratchet): a message the server re-attributes to another connection finds no key. The
 * previous epoch stays usable for GRACE_MILLIS after a switch, then is deleted; a member that was removed, refused a
 * commit or is alone holds none. Sans-IO: the caller passes the clock and calls expire(now).
 */

import { DataCrypto } from './data.js';
import { E2EEError } from './errors.js';
import { decodeHeader } from './sframe.js';
import { EPOCH_BITS, GRACE_MILLIS } from './mls-kid.js';

const EPOCH_MASK = (1n << BigInt(EPOCH_BITS)) - 1n;

export class MlsData {
  #current = null; // {epoch (BigInt), crypto}
  #previous = null;
  #previousExpiresAt = Infinity;

  /**
   * A new epoch (mls-session.js 'epoch' output): its data keys are installed and used for sending from now on.
   * `dataKey` is copied; the caller wipes it.
   */
  install(o, now) {
    const c = new DataCrypto({ ratchet: false });
    c.setSendKey(o.ownKid, o.dataKey);
    for (const s of o.senders) c.installKey(s.connectionId, s.kid, o.dataKey, now);
    if (this.#previous) this.#previous.crypto.destroy();
    this.#previous = this.#current;
    this.#previousExpiresAt = this.#previous ? now + GRACE_MILLIS : Infinity;
    this.#current = { epoch: BigInt(o.epoch), crypto: c };
  }

  /** Seals one message for `to` (null: everyone) under this member's KID of the newest epoch. */
  seal(to, kind, body) {
    if (!this.#current) {
      return Promise.reject(new E2EEError('no-key', 'no MLS epoch yet: data cannot be encrypted'));
    }
    return this.#current.crypto.seal(to, kind, body);
  }

  /** {kind, body}; rejects with E2EEError ('no-key' when no held epoch or sender matches, 'bad-tag', ...). */
  async open(from, to, payload, now) {
    this.expire(now);
    const kid = decodeHeader(payload, 0).kid; // throws 'truncated' / 'bad-header'
    const bits = kid & EPOCH_MASK;
    for (const s of [this.#current, this.#previous]) {
      if (s && (s.epoch & EPOCH_MASK) === bits) return s.crypto.open(from, to, payload, now);
    }
    throw new E2EEError('no-key', 'no data key of that epoch');
  }

  /** When expire() should run next, or Infinity. */
  nextTimeout() {
    return this.#previous ? this.#previousExpiresAt : Infinity;
  }

  expire(now) {
    if (this.#previous && now >= this.#previousExpiresAt) {
      this.#previous.crypto.destroy();
      this.#previous = null;
      this.#previousExpiresAt = Infinity;
    }
  }

  /** Deletes every data key (removed, refused a commit, withheld, alone, or closed). */
  destroy() {
    for (const s of [this.#current, this.#previous]) if (s) s.crypto.destroy();
    this.#current = null;
    this.#previous = null;
    this.#previousExpiresAt = Infinity;
  }
}
