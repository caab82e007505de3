/**
 * Per-connection E2EE identities, bundles, fingerprints and the room verification code, byte-compatible with
 * veil-e2ee's dev.veil.e2ee.identity (docs/PROTOCOL.md §3).
 *
 *   identity      an Ed25519 key pair and an X25519 key-agreement ("kx") key pair, made fresh per connection
 *   bundle sig    = Ed25519-Sign(identity key, "Veil 1.0 bundle" ‖ identity_key (32) ‖ kx_key (32))
 *   bundle JSON   = {"version":1,"identity_key":"<b64url>","kx_key":"<b64url>","signature":"<b64url>"}
 *                   (base64url without padding), published under "e2ee_bundle" in signaling_notify_metadata;
 *                   the connection id is not in it: a receiver labels a bundle with the id of the notification
 *   fingerprint   = SHA-256("Veil 1.0 fingerprint" ‖ identity_key), shown as 16 groups of 4 lower-case hex digits
 *   room code     members sorted by connection id (unsigned order of the UTF-8 bytes), n = 1..65535;
 *                 hash = SHA-256("Veil 1.0 room code" ‖ n (uint16) ‖ for each: len (uint8) ‖ cid ‖ identity_key)
 *                 group i (0..5) = uint40 of hash[5i, 5i+5) mod 100000, 5 digits; 6 groups joined by spaces
 *   connection id = 1..255 bytes of UTF-8, always written as len (uint8) ‖ bytes
 *
 * Private keys live in non-extractable WebCrypto CryptoKeys. destroy() drops them (JS cannot overwrite a
 * CryptoKey; once unreferenced it is gone with the identity), and every later private-key use throws.
 */

import { concat, utf8, fromUtf8, toBase64Url, fromBase64UrlStrict, toHex, constantTimeEqual } from './bytes.js';
import { E2EEError } from './errors.js';

const subtle = globalThis.crypto.subtle;

export const KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
export const BUNDLE_VERSION = 1;
/** The member of signaling_notify_metadata that holds the bundle object. */
export const METADATA_MEMBER = 'e2ee_bundle';
export const MAX_CONNECTION_ID_LENGTH = 255;

const BUNDLE_LABEL = utf8('Veil 1.0 bundle');
const FINGERPRINT_LABEL = utf8('Veil 1.0 fingerprint');
const ROOM_CODE_LABEL = utf8('Veil 1.0 room code');
const ROOM_CODE_CONTEXT_LABEL = utf8('Veil 1.1 room code');
const DEVICE_FINGERPRINT_LABEL = utf8('Veil 1.0 device fingerprint');
export const MLS_CREDENTIAL_LABEL = utf8('Veil 1.0 MLS credential');
const DEVICE_CERTIFICATE_LABEL = utf8('Veil 1.0 device certificate');
export const DEVICE_CERTIFICATE_VERSION = 1;
export const DEVICE_CERTIFICATE_LENGTH = 97;
/** Room code context values (docs/PROTOCOL.md §3.2). */
export const CODE_MODE = Object.freeze({ keys: 1, passphrase: 2 });
export const CODE_FORMAT = Object.freeze({ sframe: 1, jframe: 2 });

// DER PKCS#8 prefixes of RFC 8410 for a 32-byte private key.
const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
  0x04, 0x22, 0x04, 0x20]);
const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e,
  0x04, 0x22, 0x04, 0x20]);

function isWellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** True for a connection id Veil can carry: a well-formed string of 1..255 UTF-8 bytes. */
export function isValidConnectionId(id) {
  if (typeof id !== 'string' || id.length === 0 || !isWellFormed(id)) return false;
  return utf8(id).length <= MAX_CONNECTION_ID_LENGTH;
}

function requireConnectionId(id) {
  if (!isValidConnectionId(id)) throw new E2EEError('malformed', 'not a valid connection id (1..255 UTF-8 bytes)');
  return id;
}

/** len (uint8) ‖ UTF-8 bytes of the id. */
export function lengthPrefixedId(id) {
  const b = utf8(requireConnectionId(id));
  return concat(Uint8Array.of(b.length), b);
}

/** Decodes `len` bytes of strict UTF-8 at `off` as a connection id; null when malformed or empty. */
export function decodeConnectionId(buf, off, len) {
  if (len < 1 || len > MAX_CONNECTION_ID_LENGTH || off < 0 || off + len > buf.length) return null;
  try {
    return fromUtf8(buf.subarray(off, off + len));
  } catch {
    return null;
  }
}

/** Unsigned lexicographic order of the UTF-8 bytes (not JS's UTF-16 order). */
export function compareConnectionIds(a, b) {
  const x = utf8(a);
  const y = utf8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function checkKey(k, n, what) {
  if (!(k instanceof Uint8Array) || k.length !== n) throw new E2EEError('bad-key', what + ' must be ' + n + ' bytes');
}

/** "Veil 1.0 bundle" ‖ identityKey ‖ kxKey: the bytes the identity key signs. */
export function bundleSignatureInput(identityKey, kxKey) {
  return concat(BUNDLE_LABEL, identityKey, kxKey);
}

/** SHA-256("Veil 1.0 fingerprint" ‖ identity key): 32 bytes. */
export async function fingerprint(identityKey) {
  checkKey(identityKey, KEY_LENGTH, 'identity key');
  return new Uint8Array(await subtle.digest('SHA-256', concat(FINGERPRINT_LABEL, identityKey)));
}

/** "xxxx xxxx … xxxx": 16 groups of 4 lower-case hex digits. */
export function fingerprintDisplay(fp) {
  return toHex(fp).match(/.{4}/g).join(' ');
}

/** Constant-time check of fingerprint bytes against a displayed one (spaces, colons and case ignored). */
export function fingerprintMatches(fp, displayed) {
  if (typeof displayed !== 'string') return false;
  const hex = displayed.replace(/[ :]/g, '').toLowerCase();
  if (hex.length !== 64 || /[^0-9a-f]/.test(hex)) return false;
  const other = new Uint8Array(32);
  for (let i = 0; i < 32; i++) other[i] = parseInt(hex.substr(2 * i, 2), 16);
  return constantTimeEqual(fp, other);
}

/**
 * Checks what JSON.parse lets through but veil-e2ee's strict reader refuses: a member name used twice in the
 * top-level object, and nesting deeper than 16. `text` must already be valid JSON.
 */
function strictJsonShape(text) {
  const names = new Set();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (/\s/.test(text[k])) k++;
        if (text[k] === ':') {
          const name = JSON.parse(text.slice(i, j + 1));
          if (names.has(name)) return false;
          names.add(name);
        }
      }
      i = j;
    } else if (c === '{' || c === '[') {
      if (++depth > 17) return false;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return true;
}

/** The public half of an identity, labelled with the connection id it was published for. */
export class Bundle {
  constructor(connectionId, identityKey, kxKey, signature) {
    requireConnectionId(connectionId);
    checkKey(identityKey, KEY_LENGTH, 'identity key');
    checkKey(kxKey, KEY_LENGTH, 'kx key');
    checkKey(signature, SIGNATURE_LENGTH, 'signature');
    this.connectionId = connectionId;
    this.identityKey = Uint8Array.from(identityKey);
    this.kxKey = Uint8Array.from(kxKey);
    this.signature = Uint8Array.from(signature);
    Object.freeze(this);
  }

  /**
   * Parses a bundle (the object under "e2ee_bundle", or its JSON text) and labels it with the connection id of the
   * notification. Unknown members are ignored. Does not verify the signature. Throws E2EEError('bad-bundle').
   */
  static fromJson(connectionId, json) {
    if (!isValidConnectionId(connectionId)) throw new E2EEError('bad-bundle', 'invalid connection id');
    let obj = json;
    if (typeof json === 'string') {
      if (json.length > 16384) throw new E2EEError('bad-bundle', 'bundle JSON too long');
      try {
        obj = JSON.parse(json);
      } catch {
        throw new E2EEError('bad-bundle', 'not JSON');
      }
      if (!strictJsonShape(json)) throw new E2EEError('bad-bundle', 'duplicate member or nesting too deep');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new E2EEError('bad-bundle', 'not an object');
    if (obj.version !== BUNDLE_VERSION) throw new E2EEError('bad-bundle', 'unsupported or missing bundle version');
    const field = (name, n) => {
      const v = fromBase64UrlStrict(obj[name], n);
      if (!v) throw new E2EEError('bad-bundle', name + ' is not ' + n + ' bytes of canonical base64url');
      return v;
    };
    return new Bundle(connectionId, field('identity_key', KEY_LENGTH), field('kx_key', KEY_LENGTH),
      field('signature', SIGNATURE_LENGTH));
  }

  /** The object to publish under "e2ee_bundle" (members in veil-e2ee's order). */
  toObject() {
    return {
      version: BUNDLE_VERSION,
      identity_key: toBase64Url(this.identityKey),
      kx_key: toBase64Url(this.kxKey),
      signature: toBase64Url(this.signature),
    };
  }

  /** The JSON text, byte-identical to veil-e2ee's Bundle.toJson(). */
  toJson() {
    return JSON.stringify(this.toObject());
  }

  /** True when the signature is a valid Ed25519 signature of the identity key over the kx key. */
  async verify() {
    try {
      const pub = await subtle.importKey('raw', this.identityKey, 'Ed25519', false, ['verify']);
      return await subtle.verify('Ed25519', pub, this.signature, bundleSignatureInput(this.identityKey, this.kxKey));
    } catch {
      return false; // a malformed point is a failed verification, never an exception
    }
  }

  fingerprint() {
    return fingerprint(this.identityKey);
  }
}

async function publicOf(alg, pkcs8Prefix, priv) {
  const k = await subtle.importKey('pkcs8', concat(pkcs8Prefix, priv), alg, true,
    alg === 'Ed25519' ? ['sign'] : ['deriveBits']);
  const jwk = await subtle.exportKey('jwk', k);
  return fromBase64UrlStrict(jwk.x, KEY_LENGTH);
}

/** The E2EE identity of one connection. */
export class Identity {
  #signKey;
  #kxPrivate;
  #destroyed = false;

  constructor(signKey, identityKey, kxPrivate, kxKey, signature) {
    this.#signKey = signKey;
    this.#kxPrivate = kxPrivate;
    /** The Ed25519 public identity key (32 bytes). */
    this.identityKey = identityKey;
    /** The X25519 public key-agreement key (32 bytes). */
    this.kxKey = kxKey;
    /** Ed25519 signature over "Veil 1.0 bundle" ‖ identityKey ‖ kxKey. */
    this.signature = signature;
  }

  static async #make(signKey, identityKey, kxPrivate, kxKey) {
    const signature = new Uint8Array(await subtle.sign('Ed25519', signKey, bundleSignatureInput(identityKey, kxKey)));
    return new Identity(signKey, identityKey, kxPrivate, kxKey, signature);
  }

  /** A fresh identity (private keys non-extractable). */
  static async generate() {
    const ed = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    const x = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
    const ik = new Uint8Array(await subtle.exportKey('raw', ed.publicKey));
    const kx = new Uint8Array(await subtle.exportKey('raw', x.publicKey));
    return Identity.#make(ed.privateKey, ik, x.privateKey, kx);
  }

  /** An identity from a 32-byte Ed25519 seed and a 32-byte X25519 private key (test vectors). */
  static async fromPrivateKeys(ed25519Seed, x25519PrivateKey) {
    checkKey(ed25519Seed, KEY_LENGTH, 'Ed25519 seed');
    checkKey(x25519PrivateKey, KEY_LENGTH, 'X25519 private key');
    const ik = await publicOf('Ed25519', PKCS8_ED25519, ed25519Seed);
    const kx = await publicOf('X25519', PKCS8_X25519, x25519PrivateKey);
    const sign = await subtle.importKey('pkcs8', concat(PKCS8_ED25519, ed25519Seed), 'Ed25519', false, ['sign']);
    const kxPriv = await subtle.importKey('pkcs8', concat(PKCS8_X25519, x25519PrivateKey), 'X25519', false,
      ['deriveBits']);
    return Identity.#make(sign, ik, kxPriv, kx);
  }

  #checkLive() {
    if (this.#destroyed) throw new E2EEError('destroyed', 'identity has been destroyed');
  }

  /**
   * The bundle object to publish under "e2ee_bundle" before the server assigned a connection id (the id is not
   * part of it): {version, identity_key, kx_key, signature}.
   */
  bundleObject() {
    this.#checkLive();
    return {
      version: BUNDLE_VERSION,
      identity_key: toBase64Url(this.identityKey),
      kx_key: toBase64Url(this.kxKey),
      signature: toBase64Url(this.signature),
    };
  }

  /** The bundle to publish, labelled with this connection's id. */
  bundle(connectionId) {
    this.#checkLive();
    return new Bundle(connectionId, this.identityKey, this.kxKey, this.signature);
  }

  fingerprint() {
    return fingerprint(this.identityKey);
  }

  /** Ed25519 signature of `data` by the identity key. */
  async sign(data) {
    this.#checkLive();
    return new Uint8Array(await subtle.sign('Ed25519', this.#signKey, data));
  }

  /**
   * X25519 of the own kx private key and a peer's kx public key: 32 bytes, for the pairwise key derivation only
   * (the caller wipes them). Throws E2EEError('bad-key') for an all-zero result (a small-order peer key).
   */
  async agree(peerKxKey) {
    this.#checkLive();
    checkKey(peerKxKey, KEY_LENGTH, 'X25519 public key');
    let bits;
    try {
      const pub = await subtle.importKey('raw', peerKxKey, 'X25519', false, []);
      bits = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub }, this.#kxPrivate, 256));
    } catch {
      throw new E2EEError('bad-key', 'X25519 agreement failed (small-order or malformed peer key)');
    }
    if (bits.every((b) => b === 0)) throw new E2EEError('bad-key', 'X25519 shared secret is all zeros');
    return bits;
  }

  /** Drops both private keys; every later use throws E2EEError('destroyed'). */
  destroy() {
    this.#destroyed = true;
    this.#signKey = null;
    this.#kxPrivate = null;
  }

  get destroyed() {
    return this.#destroyed;
  }
}

/**
 * The exact bytes the room code hashes. `members` is an iterable of {connectionId, identityKey}. Throws
 * E2EEError('malformed') for an empty set, more than 65535 members or a connection id listed twice.
 */
export function verificationCodeInput(members) {
  const list = [...members];
  if (list.length === 0 || list.length > 0xffff) throw new E2EEError('malformed', 'a room has 1..65535 members');
  const sorted = list.map((m) => ({ id: requireConnectionId(m.connectionId), key: m.identityKey }))
    .sort((a, b) => compareConnectionIds(a.id, b.id));
  const parts = [ROOM_CODE_LABEL, Uint8Array.of(sorted.length >> 8, sorted.length & 0xff)];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i].id === sorted[i - 1].id) throw new E2EEError('malformed', 'connection id listed twice');
    checkKey(sorted[i].key, KEY_LENGTH, 'identity key');
    parts.push(lengthPrefixedId(sorted[i].id), sorted[i].key);
  }
  return concat(...parts);
}

/** The room verification code of a member set: {hash (32 bytes), display ("01234 56789 … 67890")}. */
export async function verificationCode(members) {
  const hash = new Uint8Array(await subtle.digest('SHA-256', verificationCodeInput(members)));
  return { hash, display: codeDisplay(hash) };
}

function codeDisplay(hash) {
  const groups = [];
  for (let g = 0; g < 6; g++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + hash[5 * g + i];
    groups.push(String(v % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}

/**
 * The bytes the room code *with context* hashes (the code the SDKs show): "Veil 1.1 room code" ‖ len ‖ channel id
 * ‖ mode (uint8: 1 keys, 2 passphrase) ‖ format (uint8: 1 SFrame, 2 JFrame) ‖ cipher suite (uint16, 0 for JFrame)
 * ‖ n ‖ members as in verificationCodeInput. `context` = {channelId, mode: 'keys'|'passphrase'|1|2,
 * format: 'sframe'|'jframe'|1|2, cipherSuite}.
 */
export function verificationCodeInputWithContext(context, members) {
  const mode = typeof context.mode === 'number' ? context.mode : CODE_MODE[context.mode];
  const format = typeof context.format === 'number' ? context.format : CODE_FORMAT[context.format];
  const suite = context.cipherSuite ?? (format === 2 ? 0 : 4);
  if (mode !== 1 && mode !== 2) throw new E2EEError('malformed', 'mode must be keys or passphrase');
  if (format !== 1 && format !== 2) throw new E2EEError('malformed', 'format must be sframe or jframe');
  if (!Number.isInteger(suite) || suite < 0 || suite > 0xffff || (format === 2) !== (suite === 0)) {
    throw new E2EEError('malformed', 'cipher suite must be an SFrame suite id, or 0 for JFrame');
  }
  const v1 = verificationCodeInput(members);
  return concat(ROOM_CODE_CONTEXT_LABEL, lengthPrefixedId(context.channelId),
    Uint8Array.of(mode, format, suite >> 8, suite & 0xff), v1.subarray(ROOM_CODE_LABEL.length));
}

/** The room code with context: {hash, display}. */
export async function verificationCodeWithContext(context, members) {
  const hash = new Uint8Array(await subtle.digest('SHA-256', verificationCodeInputWithContext(context, members)));
  return { hash, display: codeDisplay(hash) };
}

/** SHA-256("Veil 1.0 device fingerprint" ‖ device key): the fingerprint of a persistent device key. */
export async function deviceFingerprint(deviceKey) {
  checkKey(deviceKey, KEY_LENGTH, 'device key');
  return new Uint8Array(await subtle.digest('SHA-256', concat(DEVICE_FINGERPRINT_LABEL, deviceKey)));
}

/** "Veil 1.0 device certificate" ‖ device key ‖ identity key ‖ len ‖ connection id ‖ len ‖ channel id. */
export function deviceCertificateInput(deviceKey, identityKey, connectionId, channelId) {
  checkKey(deviceKey, KEY_LENGTH, 'device key');
  checkKey(identityKey, KEY_LENGTH, 'identity key');
  return concat(DEVICE_CERTIFICATE_LABEL, deviceKey, identityKey, lengthPrefixedId(connectionId),
    lengthPrefixedId(channelId));
}

/** A device key's signature certifying one connection's identity key in one channel (97 bytes encoded). */
export class DeviceCertificate {
  constructor(deviceKey, signature) {
    checkKey(deviceKey, KEY_LENGTH, 'device key');
    checkKey(signature, SIGNATURE_LENGTH, 'signature');
    this.deviceKey = Uint8Array.from(deviceKey);
    this.signature = Uint8Array.from(signature);
    Object.freeze(this);
  }

  /** version (1) ‖ device key (32) ‖ signature (64). */
  encode() {
    return concat(Uint8Array.of(DEVICE_CERTIFICATE_VERSION), this.deviceKey, this.signature);
  }

  /** The certificate in `bytes`, or null when the length or version is wrong. Does not verify. */
  static decode(bytes) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== DEVICE_CERTIFICATE_LENGTH
      || bytes[0] !== DEVICE_CERTIFICATE_VERSION) return null;
    return new DeviceCertificate(bytes.subarray(1, 33), bytes.subarray(33));
  }

  /** True when the signature verifies for this identity key, connection id and channel id. */
  async verify(identityKey, connectionId, channelId) {
    if (!isValidConnectionId(connectionId) || !isValidConnectionId(channelId)) return false;
    try {
      const pub = await subtle.importKey('raw', this.deviceKey, 'Ed25519', false, ['verify']);
      return await subtle.verify('Ed25519', pub, this.signature,
        deviceCertificateInput(this.deviceKey, identityKey, connectionId, channelId));
    } catch {
      return false;
    }
  }

  fingerprint() {
    return deviceFingerprint(this.deviceKey);
  }
}

/**
 * A persistent device identity: an Ed25519 key whose private half is a non-extractable CryptoKey (kept in IndexedDB
 * by device-store.js), certifying each connection's fresh identity so that its fingerprint stays the same from
 * call to call.
 */
export class DeviceIdentity {
  #privateKey;

  constructor(privateKey, publicKey) {
    this.#privateKey = privateKey;
    /** The Ed25519 public device key (32 bytes). */
    this.publicKey = Uint8Array.from(publicKey);
  }

  /** A fresh device identity; the private key is non-extractable. */
  static async generate() {
    const k = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    return new DeviceIdentity(k.privateKey, new Uint8Array(await subtle.exportKey('raw', k.publicKey)));
  }

  /** From a 32-byte Ed25519 seed (test vectors). */
  static async fromSeed(seed) {
    checkKey(seed, KEY_LENGTH, 'Ed25519 seed');
    const pub = await publicOf('Ed25519', PKCS8_ED25519, seed);
    const priv = await subtle.importKey('pkcs8', concat(PKCS8_ED25519, seed), 'Ed25519', false, ['sign']);
    return new DeviceIdentity(priv, pub);
  }

  /** The stored form {privateKey (CryptoKey), publicKey} for IndexedDB (the CryptoKey stays non-extractable). */
  toStored() {
    return { privateKey: this.#privateKey, publicKey: Uint8Array.from(this.publicKey) };
  }

  static fromStored(rec) {
    if (!rec || !rec.privateKey || !(rec.publicKey instanceof Uint8Array) || rec.publicKey.length !== KEY_LENGTH) {
      throw new E2EEError('bad-key', 'stored device identity is malformed');
    }
    return new DeviceIdentity(rec.privateKey, rec.publicKey);
  }

  fingerprint() {
    return deviceFingerprint(this.publicKey);
  }

  /**
   * Vouches for one MLS leaf's signature key in one connection (docs/PROTOCOL.md §4.9): Ed25519 over
   * "Veil 1.0 MLS credential" ‖ uint8 len ‖ UTF-8(connection id) ‖ leaf signature key (32).
   */
  async certifyMlsLeaf(connectionId, leafSignatureKey) {
    checkKey(leafSignatureKey, KEY_LENGTH, 'leaf signature key');
    const input = concat(MLS_CREDENTIAL_LABEL, lengthPrefixedId(connectionId), leafSignatureKey);
    return new Uint8Array(await subtle.sign('Ed25519', this.#privateKey, input));
  }

  /** Certifies one connection's identity key in one channel. */
  async certify(identityKey, connectionId, channelId) {
    const sig = new Uint8Array(await subtle.sign('Ed25519', this.#privateKey,
      deviceCertificateInput(this.publicKey, identityKey, connectionId, channelId)));
    return new DeviceCertificate(this.publicKey, sig);
  }
}
