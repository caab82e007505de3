/**
 * Key messages, the plaintext of a sealed pairwise message (veil-e2ee's dev.veil.e2ee.group.KeyMessage,
 * docs/PROTOCOL.md §3.4).
 *
 *    0          1          2                                  10                         42
 *   +----------+----------+----------------------------------+--------------------------+
 *   | type = 1 | flags    | KID (uint64, big-endian)         | base key (32 bytes)      |   KEY
 *   +----------+----------+----------------------------------+--------------------------+
 *   | type = 2 | flags = 0| KID (uint64, big-endian)         |                                KEY_ACK (10 bytes)
 *   +----------+----------+----------------------------------+
 *
 *   flags (KEY): 0x01 = ACTIVE (the sender already encrypts with this key); clear = PENDING (it switches once every
 *   member acknowledged it). Every other bit is zero. KID = generation << 8 | step.
 *
 * A KEY always carries the sender's own media base key. Any other length, type or flag bit is malformed.
 */

import { uintBE, readUintBE } from './bytes.js';
import { E2EEError } from './errors.js';

export const TYPE_KEY = 1;
export const TYPE_KEY_ACK = 2;
export const FLAG_ACTIVE = 0x01;
export const KEY_LENGTH = 42;
export const KEY_ACK_LENGTH = 10;

/** The bytes of a KEY message: {kid (BigInt), baseKey (32 bytes), active}. */
export function encodeKey(kid, baseKey, active) {
  if (!(baseKey instanceof Uint8Array) || baseKey.length !== 32) throw new E2EEError('bad-key', 'base key must be 32 bytes');
  const out = new Uint8Array(KEY_LENGTH);
  out[0] = TYPE_KEY;
  out[1] = active ? FLAG_ACTIVE : 0;
  out.set(uintBE(kid, 8), 2);
  out.set(baseKey, 10);
  return out;
}

/** The bytes of a KEY_ACK of `kid`. */
export function encodeKeyAck(kid) {
  const out = new Uint8Array(KEY_ACK_LENGTH);
  out[0] = TYPE_KEY_ACK;
  out.set(uintBE(kid, 8), 2);
  return out;
}

/**
 * Parses a key message: {type: 'key', kid, baseKey, active} or {type: 'key-ack', kid} (kid a BigInt, baseKey a
 * copy). Throws E2EEError('malformed-key-message').
 */
export function decodeKeyMessage(b) {
  if (!(b instanceof Uint8Array) || b.length < 2) throw new E2EEError('malformed-key-message', 'shorter than type and flags');
  const type = b[0];
  const flags = b[1];
  if (type === TYPE_KEY) {
    if (b.length !== KEY_LENGTH) throw new E2EEError('malformed-key-message', 'KEY must be 42 bytes, got ' + b.length);
    if ((flags & ~FLAG_ACTIVE) !== 0) throw new E2EEError('malformed-key-message', 'reserved flag bits set in KEY');
    return { type: 'key', kid: readUintBE(b, 2, 8), baseKey: b.slice(10, 42), active: (flags & FLAG_ACTIVE) !== 0 };
  }
  if (type === TYPE_KEY_ACK) {
    if (b.length !== KEY_ACK_LENGTH) throw new E2EEError('malformed-key-message', 'KEY_ACK must be 10 bytes, got ' + b.length);
    if (flags !== 0) throw new E2EEError('malformed-key-message', 'reserved flag bits set in KEY_ACK');
    return { type: 'key-ack', kid: readUintBE(b, 2, 8) };
  }
  throw new E2EEError('malformed-key-message', 'unknown key message type ' + type);
}
