// Byte helpers shared by the E2EE modules. Plain Uint8Array in, Uint8Array out.

const textEncoder = new TextEncoder();
// fatal: malformed UTF-8 throws; ignoreBOM: a leading EF BB BF is kept as U+FEFF, as Java's decoder does.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 encoding of a string. */
export function utf8(s) {
  return textEncoder.encode(s);
}

/** UTF-8 decoding; throws a TypeError on malformed input. */
export function fromUtf8(b) {
  return textDecoder.decode(b);
}

/** Lower-case hex of the bytes. */
export function toHex(b) {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

/** Bytes of a hex string (upper or lower case, even length). */
export function fromHex(h) {
  if (typeof h !== 'string' || h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) {
    throw new TypeError('not a hex string');
  }
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}

/** Concatenation of byte arrays. */
export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A Uint8Array view of an ArrayBuffer, a typed array or a DataView (no copy). */
export function asBytes(x) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError('expected bytes');
}

/** Equality of two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Unsigned big-endian encoding of a BigInt in exactly `len` bytes. */
export function uintBE(value, len) {
  const out = new Uint8Array(len);
  let v = BigInt(value);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError('value does not fit in ' + len + ' bytes');
  return out;
}

/** Unsigned big-endian value of bytes [off, off+len) as a BigInt. */
export function readUintBE(b, off, len) {
  let v = 0n;
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

/** Standard base64 (with padding) of bytes. */
export function toBase64(b) {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
}

/** Bytes of standard base64 (with or without padding); throws a TypeError on bad input. */
export function fromBase64(s) {
  if (typeof s !== 'string' || /[^A-Za-z0-9+/=]/.test(s)) throw new TypeError('not base64');
  let bin;
  try {
    bin = atob(s);
  } catch {
    throw new TypeError('not base64');
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** base64url (RFC 4648 §5) without padding. */
export function toBase64Url(b) {
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Strict base64url without padding of exactly `length` bytes: only the url alphabet, no padding, the exact
 * character count and canonical trailing bits (so every value has one encoding). Returns null otherwise.
 */
export function fromBase64UrlStrict(s, length) {
  if (typeof s !== 'string' || s.length !== Math.floor((length * 4 + 2) / 3) || /[^A-Za-z0-9_-]/.test(s)) {
    return null;
  }
  let out;
  try {
    out = fromBase64(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  } catch {
    return null;
  }
  if (out.length !== length || toBase64Url(out) !== s) return null;
  return out;
}
