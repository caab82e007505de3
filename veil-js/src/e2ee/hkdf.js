// HKDF (RFC 5869) over WebCrypto. `hash` is a WebCrypto hash name: 'SHA-256' or 'SHA-512'.

const subtle = globalThis.crypto.subtle;
const HASH_LEN = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
const EMPTY = new Uint8Array(0);

/** HKDF-Extract-then-Expand in one WebCrypto call. An empty salt means HashLen zero bytes, as in the RFC. */
export async function hkdf(hash, salt, ikm, info, length) {
  const key = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash, salt: salt || EMPTY, info: info || EMPTY }, key, length * 8);
  return new Uint8Array(bits);
}

/** HMAC of `data` under `key`. */
export async function hmac(hash, key, data) {
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, data));
}

/** HKDF-Extract: PRK = HMAC(salt, IKM); an empty salt is HashLen zeros (WebCrypto refuses an empty HMAC key). */
export async function hkdfExtract(hash, salt, ikm) {
  const s = salt && salt.length > 0 ? salt : new Uint8Array(HASH_LEN[hash]);
  return hmac(hash, s, ikm);
}
