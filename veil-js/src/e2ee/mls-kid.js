/**
 * The pure parts of the MLS key mode (docs/PROTOCOL.md §4.4 and §4.5), shared with veil-e2ee's MlsKid and
 * MlsVerificationCode (same vectors: test-vectors/mls-sframe.json):
 *
 *   KID = (context << (S + E)) + (sender_index << E) + (epoch mod 2^E)      RFC 9605 §5.2, E = 8, context 0
 *   S   = the smallest S with leaf_count < 2^S (leaf_count of the epoch's ratchet tree)
 *   verification code: 30 digits in 6 groups of 5; group i = big-endian integer of epoch-authenticator bytes
 *   [5i, 5i + 5) mod 100000, zero-padded
 *
 * No ts-mls here: the E2EE worker and the tests import this without the MLS library.
 */

/** E: the low bits of the epoch in every KID. */
export const EPOCH_BITS = 8;
/** The exporter label of RFC 9605 §5.2. */
export const EXPORTER_LABEL = 'SFrame 1.0 Base Key';
/** Nk of SFrame suite AES_128_GCM_SHA256_128 (the base key length). */
export const BASE_KEY_LENGTH = 16;
/** How long the previous epoch's keys stay usable after a switch (as veil-e2ee MlsFrameCrypto.DEFAULT_GRACE_MILLIS). */
export const GRACE_MILLIS = 2000;
export const CODE_GROUPS = 6;
export const CODE_GROUP_DIGITS = 5;

/** S for a group of `groupSize` (>= 1) leaves: the smallest S with groupSize < 2^S. */
export function indexBits(groupSize) {
  const n = BigInt(groupSize);
  if (n < 1n) throw new RangeError('groupSize < 1');
  return n.toString(2).length;
}

/** The KID (BigInt) of (context, senderIndex, epoch) with S = indexBits, E = epochBits. */
export function kidOf(context, senderIndex, epoch, s, e = EPOCH_BITS) {
  const ctx = BigInt(context);
  const idx = BigInt(senderIndex);
  const ep = BigInt(epoch);
  if (s < 1 || e < 1 || s + e > 63) throw new RangeError(`bad S/E: ${s}/${e}`);
  if (idx < 0n || idx >= 1n << BigInt(s)) throw new RangeError(`sender index ${idx} does not fit ${s} bits`);
  if (ctx < 0n || ctx >= 1n << BigInt(64 - s - e)) throw new RangeError('context does not fit');
  return (ctx << BigInt(s + e)) + (idx << BigInt(e)) + (ep & ((1n << BigInt(e)) - 1n));
}

/** Veil's KID: context 0, E = 8 (its value does not depend on S). */
export function mlsKid(senderIndex, epoch, s) {
  return kidOf(0, senderIndex, epoch, s, EPOCH_BITS);
}

/** The low E bits of the epoch in `kid`. */
export function kidEpochBits(kid) {
  return Number(BigInt(kid) & ((1n << BigInt(EPOCH_BITS)) - 1n));
}

/** The sender index in `kid` given the epoch's S. */
export function kidSenderIndex(kid, s) {
  return Number((BigInt(kid) >> BigInt(EPOCH_BITS)) & ((1n << BigInt(s)) - 1n));
}

/**
 * The displayable code of the first `length` bytes of `data` in groups of `groupSize` bytes, each shown as
 * `groupSize` decimal digits (value mod 10^groupSize), joined by `separator`.
 */
export function displayCode(data, length, groupSize, separator) {
  if (groupSize < 1 || groupSize > 7 || length % groupSize !== 0 || data.length < length) {
    throw new RangeError(`need ${length} bytes in groups of 1..7`);
  }
  const mod = 10n ** BigInt(groupSize);
  const out = [];
  for (let g = 0; g < length; g += groupSize) {
    let v = 0n;
    for (let i = 0; i < groupSize; i++) v = (v << 8n) | BigInt(data[g + i]);
    out.push((v % mod).toString().padStart(groupSize, '0'));
  }
  return out.join(separator);
}

/** The 30-digit verification code of an epoch authenticator (at least 30 bytes). */
export function verificationCodeOf(epochAuthenticator) {
  return displayCode(epochAuthenticator, CODE_GROUPS * CODE_GROUP_DIGITS, CODE_GROUP_DIGITS, ' ');
}
