/**
 * Passphrase mode (the seed's "#e2eekey=…"): every member derives every sender's key from a shared passphrase.
 *
 *   P = PBKDF2-HMAC-SHA256(P = UTF-8(passphrase), S = UTF-8(room) ‖ 0x00 ‖ UTF-8(participantId),
 *                          c = 100000, dkLen = 16)                                        (the seed's first step)
 *
 * participantId is the sender's connection id, which the server hands out: it may give two members (or one member
 * across a reconnect) the same id, hence the same P. So P is never a frame key itself; each sender draws its own
 * random value per connection and derives its frame key from P and that value (docs/PROTOCOL.md §2.5):
 *
 *   SFrame  KID = 64 random bits;  base_key = HKDF-SHA256("", P, "Veil 1.0 passphrase sframe" ‖ KID (8 B BE), 32),
 *           then RFC 9605 under that KID. The KID is on the wire: a receiver derives the key of a new KID from P.
 *   JFrame  salt = 16 random bytes, published in signaling_notify_metadata as "e2ee_passphrase_salt" (base64url);
 *           aes_key = HKDF-SHA256("", P, "Veil 1.0 passphrase jframe" ‖ salt, 16), in key index 0.
 *
 * The NUL separator keeps ("room", "xid") and ("roomx", "id") apart.
 */

import { concat, utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { hkdf } from './hkdf.js';

export const SALT_LENGTH = 16;
/** The member of signaling_notify_metadata that carries a JFrame sender's salt. */
export const SALT_METADATA_MEMBER = 'e2ee_passphrase_salt';
const SFRAME_LABEL = utf8('Veil 1.0 passphrase sframe');
const JFRAME_LABEL = utf8('Veil 1.0 passphrase jframe');
const EMPTY = new Uint8Array(0);

/** A sender's random per-connection SFrame KID (a BigInt, 64 bits from the platform CSPRNG). */
export function randomPassphraseKid() {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(8));
  return new DataView(b.buffer).getBigUint64(0);
}

/** A sender's random per-connection JFrame salt (16 bytes). */
export function randomPassphraseSalt() {
  return globalThis.crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
}

/** The 32-byte SFrame base key of KID `kid` (BigInt) of a sender whose passphrase key is `p`. */
export function sframePassphraseBaseKey(p, kid) {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(kid)));
  return hkdf('SHA-256', EMPTY, p, concat(SFRAME_LABEL, k), 32);
}

/** The 16-byte JFrame AES key of a sender whose passphrase key is `p` and whose salt is `salt`. */
export function jframePassphraseKey(p, salt) {
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_LENGTH) {
    throw new E2EEError('bad-key', 'salt must be ' + SALT_LENGTH + ' bytes');
  }
  return hkdf('SHA-256', EMPTY, p, concat(JFRAME_LABEL, salt), 16);
}

export const PBKDF2_ITERATIONS = 100000;
export const PASSPHRASE_KEY_LENGTH = 16;

/** The PBKDF2 salt: UTF-8(room) ‖ 0x00 ‖ UTF-8(participantId). */
export function passphraseSalt(room, participantId) {
  return concat(utf8(room), Uint8Array.of(0), utf8(participantId));
}

/** Derives the 16-byte key of one participant. */
export async function passphraseKey(passphrase, room, participantId, iterations = PBKDF2_ITERATIONS) {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new E2EEError('bad-key', 'empty passphrase');
  }
  if (typeof room !== 'string' || typeof participantId !== 'string' || participantId.length === 0) {
    throw new E2EEError('bad-key', 'room and participant id are required');
  }
  const subtle = globalThis.crypto.subtle;
  const p = await subtle.importKey('raw', utf8(passphrase), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: passphraseSalt(room, participantId),
    iterations }, p, PASSPHRASE_KEY_LENGTH * 8);
  return new Uint8Array(bits);
}

/** The passphrase in a URL hash such as "#e2eekey=secret" (URL-decoded), or null when there is none. */
export function passphraseFromHash(hash) {
  if (typeof hash !== 'string') return null;
  const h = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const part of h.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq) === 'e2eekey') {
      let v;
      try {
        v = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
      } catch {
        return null;
      }
      return v.length > 0 ? v : null;
    }
  }
  return null;
}
