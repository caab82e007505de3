/**
 * The two base-key ratchets of veil-e2ee's KeyRatchet, byte for byte. Base keys are 32 bytes.
 *
 *   VEIL   (SFrame keys): next = HKDF-SHA256(salt = "", IKM = base, info = "Veil 1.0 ratchet", 32)
 *   JFRAME (Jitsi)      : next = HKDF-SHA256(salt = "JFrameRatchetKey", IKM = base, info = "", 32)
 *
 * Frame keys come from the same base through a different HKDF input, so neither can be computed from the other.
 */

import { hkdf } from './hkdf.js';
import { utf8 } from './bytes.js';

export const BASE_KEY_LENGTH = 32;
const EMPTY = new Uint8Array(0);
const VEIL_INFO = utf8('Veil 1.0 ratchet');
const JFRAME_SALT = utf8('JFrameRatchetKey');

/** Veil's ratchet for SFrame base keys. */
export function veilRatchet(base) {
  return hkdf('SHA-256', EMPTY, base, VEIL_INFO, BASE_KEY_LENGTH);
}

/** Jitsi's ratchet for JFrame key material. */
export function jframeRatchet(base) {
  return hkdf('SHA-256', JFRAME_SALT, base, EMPTY, BASE_KEY_LENGTH);
}
