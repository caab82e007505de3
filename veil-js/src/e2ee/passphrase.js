/**
 * Passphrase mode (the seed's "#e2eekey=…"): every member derives every sender's key from a shared passphrase.
 *
 *   key = PBKDF2-HMAC-SHA256(P = UTF-8(passphrase), S = UTF-8(room) ‖ 0x00 ‖ UTF-8(participantId),
 *                            c = 100000, dkLen = 16)
 *
 * participantId is the sender's connection id, so each sender has its own key. The NUL separator keeps
 * ("room", "xid") and ("roomx", "id") apart. In JFrame mode the 16 bytes are the AES-128 key itself (Jitsi's
 * shared-key mode: no HKDF, no ratchet); in SFrame mode they are the base key of KID 0.
 */

import { concat, utf8 } from './bytes.js';
import { E2EEError } from './errors.js';

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
