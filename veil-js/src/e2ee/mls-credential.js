/**
 * Credentials and the server's external_senders entry in the MLS key mode (docs/PROTOCOL.md §4.8, §4.9), veil-e2ee's
 * MlsCredential byte for byte:
 *
 *   identity   = UTF-8(connection_id)                                            without a device identity
 *              | UTF-8(connection_id) ‖ 0x00 ‖ device_key (32) ‖ device_sig (64)  with one
 *   device_sig = Ed25519(device_key, "Veil 1.0 MLS credential" ‖ uint8 len ‖ UTF-8(connection_id)
 *                                    ‖ leaf signature_key (32))
 *
 *   external_senders extension data = ExternalSender external_senders<V>            (RFC 9420 §12.1.8.1)
 *   ExternalSender                  = signature_key<V> ‖ Credential (uint16 type ‖ identity<V> for basic)
 *
 * No ts-mls here (the signature check takes the suite's Signature, `{verify(publicKey, message, signature)}`).
 */

import { concat, utf8, fromUtf8 } from './bytes.js';
import { lengthPrefixedId, deviceFingerprint, fingerprintDisplay, MLS_CREDENTIAL_LABEL } from './identity.js';

const KEY = 32;
const SIG = 64;
const DEVICE_PART = 1 + KEY + SIG;

/** "Veil 1.0 MLS credential" ‖ uint8 len ‖ UTF-8(connection id) ‖ leaf signature key: what the device key signs. */
export function mlsLeafInput(connectionId, leafSignatureKey) {
  if (!(leafSignatureKey instanceof Uint8Array) || leafSignatureKey.length !== KEY) {
    throw new RangeError('leaf signature key must be 32 bytes');
  }
  return concat(MLS_CREDENTIAL_LABEL, lengthPrefixedId(connectionId), leafSignatureKey);
}

/** The credential identity of `connectionId`, vouched for by `device` (a DeviceIdentity) if not null. */
export async function credentialIdentity(connectionId, device, leafSignatureKey) {
  const cid = utf8(connectionId);
  if (cid.includes(0)) throw new RangeError('a connection id in an MLS credential holds no NUL');
  if (!device) return cid;
  const sig = await device.certifyMlsLeaf(connectionId, leafSignatureKey);
  return concat(cid, Uint8Array.of(0), device.publicKey, sig);
}

/** The connection id an identity names (the whole identity if it has no device part). */
export function connectionIdOf(identity) {
  const at = identity.indexOf(0);
  return fromUtf8(at < 0 ? identity : identity.subarray(0, at));
}

/** The device key of an identity with a well-formed device part, else null. */
export function deviceKeyOf(identity) {
  const at = identity.indexOf(0);
  return at <= 0 || identity.length !== at + DEVICE_PART ? null : identity.slice(at + 1, at + 1 + KEY);
}

/** The display form of the device fingerprint of an identity with a device part, else null. */
export async function deviceFingerprintOf(identity) {
  const key = deviceKeyOf(identity);
  return key ? fingerprintDisplay(await deviceFingerprint(key)) : null;
}

/**
 * Whether `identity` is well-formed for a leaf whose signature key is `leafSignatureKey`: no device part, or one whose
 * signature by its device key covers this connection id and this leaf key.
 */
export async function verifyCredential(identity, leafSignatureKey, signature) {
  const at = identity.indexOf(0);
  if (at < 0) return identity.length > 0;
  if (at === 0 || identity.length !== at + DEVICE_PART || !(leafSignatureKey instanceof Uint8Array)
    || leafSignatureKey.length !== KEY) return false;
  try {
    const input = mlsLeafInput(connectionIdOf(identity), leafSignatureKey);
    return await signature.verify(identity.subarray(at + 1, at + 1 + KEY), input, identity.subarray(at + 1 + KEY));
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ external_senders (RFC 9420 §12.1.8.1)

/** [length, bytes read] of an RFC 9420 §2.1.2 varint at `off`, or null. */
function varint(b, off) {
  if (off >= b.length) return null;
  const prefix = b[off] >> 6;
  if (prefix === 0) return [b[off], 1];
  if (prefix === 1) return off + 2 <= b.length ? [((b[off] & 0x3f) << 8) | b[off + 1], 2] : null;
  if (prefix === 2) {
    return off + 4 <= b.length
      ? [(((b[off] & 0x3f) << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0, 4] : null;
  }
  return null;
}

function vec(b, off) {
  const v = varint(b, off);
  if (!v || off + v[1] + v[0] > b.length) return null;
  return [b.subarray(off + v[1], off + v[1] + v[0]), off + v[1] + v[0]];
}

function varintOf(n) {
  if (n < 0x40) return Uint8Array.of(n);
  if (n < 0x4000) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** The external_senders extension data holding the one serialized ExternalSender `externalSender`. */
export function externalSendersExtensionData(externalSender) {
  if (!decodeExternalSender(externalSender, 0) || decodeExternalSender(externalSender, 0).end !== externalSender.length) {
    throw new RangeError('not one ExternalSender');
  }
  return concat(varintOf(externalSender.length), externalSender);
}

/** {signatureKey, credentialType, identity, end} of the ExternalSender at `off`, or null. */
export function decodeExternalSender(b, off) {
  const key = vec(b, off);
  if (!key || key[1] + 2 > b.length) return null;
  const type = (b[key[1]] << 8) | b[key[1] + 1];
  if (type !== 1) return null; // basic only
  const id = vec(b, key[1] + 2);
  if (!id) return null;
  return { signatureKey: key[0], credentialType: type, identity: id[0], end: id[1] };
}

/** The ExternalSenders of an external_senders extension's data (the RFC 9420 vector), or null when malformed. */
export function decodeExternalSenders(data) {
  const all = vec(data, 0);
  if (!all || all[1] !== data.length) return null;
  const out = [];
  for (let off = 0; off < all[0].length;) {
    const s = decodeExternalSender(all[0], off);
    if (!s) return null;
    out.push(s);
    off = s.end;
  }
  return out;
}

/** The signature key of external sender `index` of a group context's extensions (ts-mls form), or null. */
export function externalSenderKey(extensions, index = 0) {
  for (const e of extensions || []) {
    if (e.extensionType === 'external_senders' || e.extensionType === 5) {
      const senders = decodeExternalSenders(e.extensionData);
      return senders && senders[index] && senders[index].signatureKey.length === KEY ? senders[index].signatureKey : null;
    }
  }
  return null;
}
