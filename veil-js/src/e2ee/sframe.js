/**
 * SFrame, RFC 9605: the header codec, the key schedule and the five registered cipher suites, over WebCrypto.
 *
 * Header (RFC 9605 §4.3), KID first, then CTR, both unsigned big-endian in the fewest bytes:
 *
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
 *   |X|  K  |Y|  C  |   KID... (length=K+1 if X) |   CTR... (length=C+1 if Y) |
 *   +-+-+-+-+-+-+-+-+---------------------------+---------------------------+
 *
 *   X = 0: K is the KID (0..7); X = 1: K + 1 KID bytes follow.  Y likewise for C and the CTR.
 *
 * Key schedule (§4.4), with the suite's hash H:
 *   sframe_secret = HKDF-Extract(H, salt = "", base_key)
 *   sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  ‖ KID (8 B) ‖ suite (2 B), Nk)
 *   sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " ‖ KID (8 B) ‖ suite (2 B), Nn)
 * Encryption (§4.4.3): nonce = sframe_salt XOR CTR (right-aligned in Nn bytes); aad = header ‖ metadata;
 *   frame = header ‖ AEAD.Encrypt(sframe_key, nonce, aad, plaintext)   (the tag is the last Nt bytes).
 * AES-CTR-HMAC suites (§4.5.1): enc_key = key[0, Nka), auth_key = key[Nka, Nk);
 *   ct = AES-CTR(enc_key, nonce ‖ 00000000, pt);
 *   tag = HMAC(auth_key, u64(len aad) ‖ u64(len ct) ‖ u64(Nt) ‖ nonce ‖ aad ‖ ct)[0, Nt).
 *
 * Callers never pass a nonce: a {@link SFrameKey} builds it from its own salt and the CTR, and the
 * {@link SFrameSender} owns the CTR. The receiving side (key ring, ratchet, expiry, replay window) is
 * {@link SFrameReceiver} in sframe-receiver.js, re-exported here.
 */

import { concat, constantTimeEqual, uintBE, readUintBE, utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { nextStep } from './keyring.js';
import { veilRatchet } from './ratchet.js';
import { MAX_ATTEMPTS, encodeRanges, split as splitRanges, assemble, hasEmulatedStartCode } from './ranges.js';

export {
  SFrameReceiver, MAX_RATCHET_STEPS, DEFAULT_KEY_RING_CAPACITY, REPLAY_WINDOW_SIZE, MAX_FRAME_AGE_MILLIS,
  KEY_GRACE_MILLIS, REORDER_MILLIS,
} from './sframe-receiver.js';

const subtle = globalThis.crypto.subtle;
const EMPTY = new Uint8Array(0);
const U64_MAX = (1n << 64n) - 1n;

/** The registered SFrame cipher suites (RFC 9605 §8.1). */
export const CipherSuite = Object.freeze({
  AES_128_CTR_HMAC_SHA256_80: 0x0001,
  AES_128_CTR_HMAC_SHA256_64: 0x0002,
  AES_128_CTR_HMAC_SHA256_32: 0x0003,
  AES_128_GCM_SHA256_128: 0x0004,
  AES_256_GCM_SHA512_128: 0x0005,
});

/** Veil's default suite. */
export const DEFAULT_SUITE = CipherSuite.AES_128_GCM_SHA256_128;

const SUITES = new Map([
  [1, { id: 1, hash: 'SHA-256', nh: 32, nka: 16, nk: 48, nn: 12, nt: 10, gcm: false }],
  [2, { id: 2, hash: 'SHA-256', nh: 32, nka: 16, nk: 48, nn: 12, nt: 8, gcm: false }],
  [3, { id: 3, hash: 'SHA-256', nh: 32, nka: 16, nk: 48, nn: 12, nt: 4, gcm: false }],
  [4, { id: 4, hash: 'SHA-256', nh: 32, nka: 0, nk: 16, nn: 12, nt: 16, gcm: true }],
  [5, { id: 5, hash: 'SHA-512', nh: 64, nka: 0, nk: 32, nn: 12, nt: 16, gcm: true }],
]);

/** The parameters of a suite: {id, hash, nh, nka, nk, nn, nt, gcm}; throws E2EEError('unsupported'). */
export function suiteInfo(suite) {
  const s = SUITES.get(Number(suite));
  if (!s) throw new E2EEError('unsupported', 'SFrame cipher suite ' + suite);
  return s;
}

export function toU64(v, what) {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  if (b < 0n || b > U64_MAX) throw new RangeError(what + ' out of range 0..2^64-1');
  return b;
}

function byteLength(v) {
  let n = 1;
  while (v > 0xffn) {
    v >>= 8n;
    n++;
  }
  return n;
}

/** Encodes the SFrame header of (kid, ctr); both are numbers or BigInts in 0..2^64-1. */
export function encodeHeader(kid, ctr) {
  const k = toU64(kid, 'KID');
  const c = toU64(ctr, 'CTR');
  let config = 0;
  let kidBytes = EMPTY;
  let ctrBytes = EMPTY;
  if (k < 8n) {
    config |= Number(k) << 4;
  } else {
    const n = byteLength(k);
    config |= 0x80 | ((n - 1) << 4);
    kidBytes = uintBE(k, n);
  }
  if (c < 8n) {
    config |= Number(c);
  } else {
    const n = byteLength(c);
    config |= 0x08 | (n - 1);
    ctrBytes = uintBE(c, n);
  }
  const out = new Uint8Array(1 + kidBytes.length + ctrBytes.length);
  out[0] = config;
  out.set(kidBytes, 1);
  out.set(ctrBytes, 1 + kidBytes.length);
  return out;
}

/** The header at `offset`: {kid, ctr, length}, or null when it does not fit (or there is no byte at all). */
function parseHeader(bytes, offset) {
  if (offset >= bytes.length) return null;
  const config = bytes[offset];
  const kl = (config & 0x80) === 0 ? 0 : ((config >> 4) & 7) + 1;
  const cl = (config & 0x08) === 0 ? 0 : (config & 7) + 1;
  const length = 1 + kl + cl;
  if (offset + length > bytes.length) return null;
  const kid = kl === 0 ? BigInt((config >> 4) & 7) : readUintBE(bytes, offset + 1, kl);
  const ctr = cl === 0 ? BigInt(config & 7) : readUintBE(bytes, offset + 1 + kl, cl);
  return { kid, ctr, length };
}

/**
 * Decodes the SFrame header at `offset` of `bytes`: {kid, ctr, length} (kid and ctr are BigInts, length the
 * header's size in bytes). Throws E2EEError 'truncated' when there is no byte at all, 'bad-header' when the KID or
 * CTR bytes do not fit. Like veil-e2ee, it accepts non-minimal encodings: the header is authenticated as AAD, so
 * this creates no malleability, and encoders always write the minimal form.
 */
export function decodeHeader(bytes, offset = 0) {
  if (offset >= bytes.length) throw new E2EEError('truncated', 'no SFrame header');
  const h = parseHeader(bytes, offset);
  if (!h) throw new E2EEError('bad-header', 'SFrame header does not fit');
  return h;
}

/** As decodeHeader, but null when the header does not fit (or there is no byte at all). */
export function tryDecodeHeader(bytes, offset = 0) {
  return parseHeader(bytes, offset);
}

/** The label input of §4.4: prefix ‖ KID (8 bytes) ‖ suite (2 bytes). */
function label(prefix, kid, suite) {
  return concat(utf8(prefix), uintBE(kid, 8), uintBE(suite, 2));
}

/** The key-derivation labels, exported for the test vectors. */
export function keyLabel(kid, suite) {
  return label('SFrame 1.0 Secret key ', toU64(kid, 'KID'), suite);
}
export function saltLabel(kid, suite) {
  return label('SFrame 1.0 Secret salt ', toU64(kid, 'KID'), suite);
}

/** Derives {key, salt} (raw bytes) of §4.4 from a base key. */
export async function deriveKeyAndSalt(suite, baseKey, kid) {
  const s = suiteInfo(suite);
  const k = toU64(kid, 'KID');
  const ikm = await subtle.importKey('raw', baseKey, 'HKDF', false, ['deriveBits']);
  const derive = async (info, n) =>
    new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: s.hash, salt: EMPTY, info }, ikm, n * 8));
  return { key: await derive(keyLabel(k, s.id), s.nk), salt: await derive(saltLabel(k, s.id), s.nn) };
}

/** nonce = salt XOR CTR, the CTR big-endian and right-aligned. */
export function makeNonce(salt, ctr) {
  const nonce = Uint8Array.from(salt);
  let c = toU64(ctr, 'CTR');
  for (let i = nonce.length - 1; i >= 0 && c > 0n; i--) {
    nonce[i] ^= Number(c & 0xffn);
    c >>= 8n;
  }
  return nonce;
}

function u64(n) {
  return uintBE(BigInt(n), 8);
}

/**
 * The AEAD of one suite under one raw key (§4.5). Low level: it takes the nonce, so only {@link SFrameKey} and
 * the test vectors use it.
 */
export class SFrameAead {
  #s;
  #gcmKey;
  #ctrKey;
  #macKey;

  constructor(s, gcmKey, ctrKey, macKey) {
    this.#s = s;
    this.#gcmKey = gcmKey;
    this.#ctrKey = ctrKey;
    this.#macKey = macKey;
  }

  /** Imports the raw key (Nk bytes) once; every frame then reuses the CryptoKeys. */
  static async create(suite, key) {
    const s = suiteInfo(suite);
    if (key.length !== s.nk) throw new E2EEError('bad-key', 'suite ' + s.id + ' needs a ' + s.nk + '-byte key');
    if (s.gcm) {
      return new SFrameAead(s, await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']));
    }
    const ctrKey = await subtle.importKey('raw', key.subarray(0, s.nka), 'AES-CTR', false, ['encrypt', 'decrypt']);
    const macKey = await subtle.importKey('raw', key.subarray(s.nka), { name: 'HMAC', hash: s.hash }, false, ['sign']);
    return new SFrameAead(s, null, ctrKey, macKey);
  }

  get tagLength() {
    return this.#s.nt;
  }

  async #tag(nonce, aad, ct) {
    const data = concat(u64(aad.length), u64(ct.length), u64(this.#s.nt), nonce, aad, ct);
    return new Uint8Array(await subtle.sign('HMAC', this.#macKey, data), 0, this.#s.nt);
  }

  /** ciphertext ‖ tag of the plaintext. */
  async encrypt(nonce, aad, plaintext) {
    if (this.#s.gcm) {
      const ct = await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 },
        this.#gcmKey, plaintext);
      return new Uint8Array(ct);
    }
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: concat(nonce, new Uint8Array(4)),
      length: 32 }, this.#ctrKey, plaintext));
    return concat(ct, await this.#tag(nonce, aad, ct));
  }

  /** The plaintext of ciphertext ‖ tag; throws E2EEError 'bad-tag' or 'truncated'. */
  async decrypt(nonce, aad, ctAndTag) {
    const nt = this.#s.nt;
    if (ctAndTag.length < nt) throw new E2EEError('truncated', 'shorter than the tag');
    if (this.#s.gcm) {
      try {
        return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad,
          tagLength: 128 }, this.#gcmKey, ctAndTag));
      } catch {
        throw new E2EEError('bad-tag');
      }
    }
    const ct = ctAndTag.subarray(0, ctAndTag.length - nt);
    const tag = await this.#tag(nonce, aad, ct);
    if (!constantTimeEqual(tag, ctAndTag.subarray(ctAndTag.length - nt))) throw new E2EEError('bad-tag');
    return new Uint8Array(await subtle.decrypt({ name: 'AES-CTR', counter: concat(nonce, new Uint8Array(4)),
      length: 32 }, this.#ctrKey, ct));
  }
}

/**
 * One SFrame key: a (suite, KID) and the key and salt derived from its base key. Encrypts and decrypts whole
 * SFrame ciphertexts; the CTR comes from the caller (the sender's counter, or the received header).
 */
export class SFrameKey {
  #aead;
  #salt;

  constructor(suite, kid, aead, salt) {
    /** The cipher suite id. */
    this.suite = suite;
    /** The KID, a BigInt. */
    this.kid = kid;
    this.#aead = aead;
    this.#salt = salt;
  }

  /** Derives the frame key of `kid` from a base key (bytes) under `suite`. */
  static async fromBaseKey(suite, kid, baseKey) {
    const s = suiteInfo(suite);
    const k = toU64(kid, 'KID');
    const { key, salt } = await deriveKeyAndSalt(s.id, baseKey, k);
    const aead = await SFrameAead.create(s.id, key);
    key.fill(0);
    return new SFrameKey(s.id, k, aead, salt);
  }

  /** The tag length of this key's suite. */
  get tagLength() {
    return this.#aead.tagLength;
  }

  /**
   * Encrypts one frame: header(kid, ctr) ‖ ct ‖ tag, authenticating header ‖ metadata. `prefix` (optional) is
   * written in front of the header in the same output buffer, without being part of the AAD unless it is also
   * passed as `metadata`.
   */
  async encrypt(ctr, plaintext, metadata = EMPTY, prefix = EMPTY) {
    const header = encodeHeader(this.kid, ctr);
    const ct = await this.#aead.encrypt(makeNonce(this.#salt, ctr), concat(header, metadata), plaintext);
    const out = new Uint8Array(prefix.length + header.length + ct.length);
    out.set(prefix, 0);
    out.set(header, prefix.length);
    out.set(ct, prefix.length + header.length);
    return out;
  }

  /**
   * Decrypts the SFrame ciphertext in `frame` starting at `offset` (the header there must carry this key's
   * KID). Returns {ctr, plaintext}. Throws E2EEError 'truncated', 'bad-header', 'no-key' or 'bad-tag'.
   */
  async decrypt(frame, metadata = EMPTY, offset = 0) {
    const h = decodeHeader(frame, offset);
    if (h.kid !== this.kid) throw new E2EEError('no-key', 'frame KID ' + h.kid + ' is not ' + this.kid);
    return { ctr: h.ctr, plaintext: await this.openAt(frame, offset, h, metadata) };
  }

  /** Decrypts given an already decoded header `h` at `offset` (used by the key ring to avoid a second parse). */
  async openAt(frame, offset, h, metadata = EMPTY) {
    const header = frame.subarray(offset, offset + h.length);
    const body = frame.subarray(offset + h.length);
    return this.#aead.decrypt(makeNonce(this.#salt, h.ctr), concat(header, metadata), body);
  }
}

/**
 * Encrypts the frames of one local participant with SFrame. Share ONE sender across all of the participant's
 * streams (audio and video): the 64-bit counter starts at 0, grows by one per frame across every stream, is never
 * reset (not even by setKey), and encryption stops once all 2^64 values are used, so no (key, CTR) ever repeats.
 *
 *   encrypt(metadata, plaintext)        RFC 9605: header ‖ ct ‖ tag, AAD = header ‖ metadata
 *   encryptFrame(codec, type, frame)    Veil media framing: clearPrefix ‖ header ‖ ct ‖ tag, AAD = header ‖ clearPrefix
 */
export class SFrameSender {
  #suite;
  #key = null;
  #base = null;
  #counter;
  #exhausted = false;
  #keyOps = Promise.resolve();

  constructor(suite = DEFAULT_SUITE, firstCounter = 0n) {
    this.#suite = suiteInfo(suite).id;
    this.#counter = toU64(firstCounter, 'CTR');
  }

  get suite() {
    return this.#suite;
  }

  /** The KID frames are encrypted under now (BigInt), or null. */
  get keyId() {
    return this.#key ? this.#key.kid : null;
  }

  /** The CTR the next frame will carry. */
  get nextCounter() {
    return this.#counter;
  }

  #serial(op) {
    const p = this.#keyOps.then(op);
    this.#keyOps = p.catch(() => {});
    return p;
  }

  async #install(kid, base) {
    const key = await SFrameKey.fromBaseKey(this.#suite, kid, base);
    if (this.#base) this.#base.fill(0);
    this.#key = key;
    this.#base = base;
  }

  /** Starts encrypting under `kid` with `baseKey` (copied). */
  setKey(kid, baseKey) {
    const base = Uint8Array.from(baseKey);
    return this.#serial(() => this.#install(toU64(kid, 'KID'), base));
  }

  /**
   * Ratchets the current key one step (Veil ratchet; what a sender does on a join) and returns the new KID.
   * Rejects with E2EEError 'no-key' or 'exhausted'.
   */
  ratchet() {
    return this.#serial(async () => {
      if (!this.#key) throw new E2EEError('no-key', 'no key set');
      const kid = nextStep(this.#key.kid);
      await this.#install(kid, await veilRatchet(this.#base));
      return kid;
    });
  }

  #take() {
    if (!this.#key) throw new E2EEError('no-key', 'no SFrame send key');
    if (this.#exhausted) throw new E2EEError('exhausted', 'SFrame counter exhausted');
    const ctr = this.#counter;
    if (ctr === U64_MAX) this.#exhausted = true;
    else this.#counter = ctr + 1n;
    return { key: this.#key, ctr };
  }

  /** RFC 9605 encryption; rejects with E2EEError 'no-key' or 'exhausted'. */
  async encrypt(metadata, plaintext) {
    const { key, ctr } = this.#take();
    return key.encrypt(ctr, plaintext, metadata);
  }

  /**
   * Encrypts a media frame: the codec's clear prefix (see codec.js) stays in front and is the metadata; a frame
   * shorter than its prefix is all prefix, with an empty ciphertext. `info`, when given, receives {kid, ctr}.
   */
  async encryptFrame(codec, type, frame, info = null) {
    if (codec.layout) return this.#encryptRanged(codec, frame, info);
    const n = codec.clearPrefixLength(frame, type);
    const { key, ctr } = this.#take();
    if (info) {
      info.kid = key.kid;
      info.ctr = ctr;
    }
    const prefix = frame.subarray(0, n);
    return key.encrypt(ctr, frame.subarray(n), prefix, prefix);
  }

  /**
   * Per-unit clear ranges (ranges.js): I ‖ H ‖ R ‖ T ‖ r, encrypted again under the next CTR while the output holds
   * an emulated start code outside the clear ranges.
   */
  async #encryptRanged(codec, data, info) {
    const { frame, ranges } = codec.layout(data);
    const rangeBytes = encodeRanges(ranges);
    const { clear, other } = splitRanges(frame, ranges);
    const metadata = concat(rangeBytes, clear);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { key, ctr } = this.#take();
      const sf = await key.encrypt(ctr, other, metadata);
      const hLen = encodeHeader(key.kid, ctr).length;
      const out = assemble(frame, ranges, rangeBytes, sf, hLen, key.tagLength);
      if (codec.startCodes && hasEmulatedStartCode(out, ranges, frame.length)) continue;
      if (info) {
        info.kid = key.kid;
        info.ctr = ctr;
        info.attempts = attempt + 1;
      }
      return out;
    }
    throw new E2EEError('emulated-start-code', 'no CTR among ' + MAX_ATTEMPTS + ' gave a frame without one');
  }
}
