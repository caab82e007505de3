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
 * {@link SFrameSender} owns the CTR.
 */

import { concat, constantTimeEqual, uintBE, readUintBE, utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { KeyRing, ReplayWindow, splitKid, nextStep } from './keyring.js';
import { veilRatchet } from './ratchet.js';
import { sframePassphraseBaseKey } from './passphrase.js';
import {
  MAX_ATTEMPTS, encodeRanges, decodeRanges, split as splitRanges, fill as fillRanges, assemble, disassemble,
  hasEmulatedStartCode,
} from './ranges.js';

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

function toU64(v, what) {
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

/** How far ahead (ratchet steps within one generation) a KID may be and still be ratcheted to. */
export const MAX_RATCHET_STEPS = 16;
/** Keys kept per remote sender. */
export const DEFAULT_KEY_RING_CAPACITY = 8;
/** Counters each KID's replay window remembers (all of the sender's streams share it). */
export const REPLAY_WINDOW_SIZE = 1024;
/** A frame older than this (relative to one already accepted, see ReplayWindow) is never accepted. */
export const MAX_FRAME_AGE_MILLIS = 2000;
/** Lower KIDs expire at most this long after a higher KID is installed. */
export const KEY_GRACE_MILLIS = 2000;
/** Lower KIDs expire at most this long after a frame authenticated under a higher KID. */
export const REORDER_MILLIS = 250;

/**
 * Decrypts one remote sender's SFrame frames, with that sender's key ring (veil-e2ee's SFrameReceiver rules):
 * - a KID not installed but in the generation of an installed key and at most 16 steps above it is tried with
 *   that key ratcheted forward; the ratcheted key is installed only once a frame authenticated under it;
 * - expiry: installing a higher KID makes every lower KID expire at most KEY_GRACE_MILLIS later; a frame
 *   authenticating under a KID makes every lower KID expire at most REORDER_MILLIS later; expireInstalledKeys (on
 *   a leave) makes every key held now, and any key of those generations installed or ratcheted to later, expire at
 *   a deadline; a ratcheted key inherits its base's expiry; a KID at or below an expired one is refused for good
 *   ('expired-key') and never installed again;
 * - without the ratchet (MLS key mode), a KID below a held KID of the same sender index is an epoch wrap: the held
 *   keys expire at most KEY_GRACE_MILLIS later (or REORDER_MILLIS after a frame under a new KID; a frame under
 *   an old one never shortens the new KIDs' life), and they count as below every later KID;
 * - one replay window per KID (REPLAY_WINDOW_SIZE counters, 2 s age floor) for all of the sender's streams (they
 *   share one CTR sequence), kept when the same KID is installed again: a CTR already accepted, 1024 or more below
 *   the highest, or older than the age floor is a 'replay';
 * - rejections are E2EEError 'truncated', 'bad-header', 'no-key', 'expired-key', 'replay' or 'bad-tag'.
 * `now` arguments are the caller's monotonic milliseconds (default: the latest time given). Safe for overlapping
 * calls: the window is checked again after decryption.
 */
export class SFrameReceiver {
  #suite;
  #nt;
  #ring;
  #passphraseKey = null; // passphrase mode: the sender's P; unknown KIDs are derived from it
  #now = 0;
  #expiredUpTo = null; // BigInt KID: every KID at or below it has expired
  #staleGeneration = -1n;
  #staleDeadline = Infinity;
  #ratchet;

  /**
   * `options.ratchet` false: a KID not installed is never tried with a ratcheted key ('no-key' at once); the MLS
   * key mode (docs/PROTOCOL.md §4.4), whose KIDs are sender index ‖ epoch rather than generation ‖ step.
   */
  constructor(suite = DEFAULT_SUITE, capacity = DEFAULT_KEY_RING_CAPACITY, options = {}) {
    const s = suiteInfo(suite);
    this.#ratchet = options.ratchet !== false;
    this.#suite = s.id;
    this.#nt = s.nt;
    this.#ring = new KeyRing(capacity, (e) => e.baseKey.fill(0));
  }

  get suite() {
    return this.#suite;
  }

  #tick(now) {
    if (now !== undefined && now > this.#now) this.#now = now;
    for (const kid of this.#ring.kids()) {
      const e = this.#ring.get(kid);
      if (e && this.#now >= e.expiresAt) {
        this.#ring.remove(kid);
        if (e.preWrap) continue; // from before an MLS epoch wrap: it says nothing about the KIDs after it
        const g = kid >> 8n;
        const newerStep = this.#ring.kids().some((o) => o >> 8n === g && o > kid);
        const upTo = newerStep ? kid : kid | 0xffn;
        if (this.#expiredUpTo === null || upTo > this.#expiredUpTo) this.#expiredUpTo = upTo;
      }
    }
  }

  #isExpired(kid) {
    return this.#expiredUpTo !== null && kid <= this.#expiredUpTo;
  }

  #expireBelow(kid, deadline) {
    for (const k of this.#ring.kids()) {
      if (k < kid || this.#ring.get(k).preWrap) { // a KID from before an MLS epoch wrap is below every later one
        const e = this.#ring.get(k);
        e.expiresAt = Math.min(e.expiresAt, deadline);
      }
    }
  }

  #applyStale(kid, entry) {
    if ((kid >> 8n) <= this.#staleGeneration) entry.expiresAt = Math.min(entry.expiresAt, this.#staleDeadline);
  }

  /**
   * Installs (or replaces) the base key of `kid` (copied); a KID already held keeps its replay window and expiry.
   * Every lower KID expires at most KEY_GRACE_MILLIS later. Resolves false (nothing installed) for an expired KID.
   */
  async addKey(kid, baseKey, now) {
    const k = toU64(kid, 'KID');
    const base = Uint8Array.from(baseKey);
    const key = await SFrameKey.fromBaseKey(this.#suite, k, base);
    this.#tick(now);
    if (!this.#ratchet && this.#ring.kids().some((o) => o >> 8n === k >> 8n && o > k)) {
      // MLS key mode: the epoch's low 8 bits wrapped (every 256 epochs), so the new KID is below the held ones. They
      // keep their KEY_GRACE_MILLIS (as the Java SDK's MlsFrameCrypto) and the KID order starts afresh.
      for (const o of this.#ring.kids()) {
        const e = this.#ring.get(o);
        e.preWrap = true;
        e.expiresAt = Math.min(e.expiresAt, this.#now + KEY_GRACE_MILLIS);
      }
      this.#expiredUpTo = null;
    }
    if (this.#isExpired(k)) {
      base.fill(0);
      return false;
    }
    const entry = newEntry(base, key);
    const old = this.#ring.get(k);
    if (old) {
      entry.window = old.window;
      entry.expiresAt = old.expiresAt;
    }
    this.#applyStale(k, entry);
    this.#ring.put(k, entry);
    this.#expireBelow(k, this.#now + KEY_GRACE_MILLIS);
    return true;
  }

  /** Every key held now (and any key of those generations added or ratcheted to later) expires at `deadline`. */
  expireInstalledKeys(now, deadline) {
    this.#tick(now);
    const kids = this.#ring.kids();
    if (kids.length === 0) return;
    let maxGen = -1n;
    for (const k of kids) if (k >> 8n > maxGen) maxGen = k >> 8n;
    if (maxGen > this.#staleGeneration) this.#staleGeneration = maxGen;
    this.#staleDeadline = deadline;
    for (const k of kids) {
      const e = this.#ring.get(k);
      e.expiresAt = Math.min(e.expiresAt, deadline);
    }
    this.#tick(now);
  }

  /** Whether frames under `kid` are refused because it (or a higher KID) expired. */
  isExpired(kid) {
    return this.#isExpired(toU64(kid, 'KID'));
  }

  removeKey(kid) {
    return this.#ring.remove(toU64(kid, 'KID'));
  }

  clearKeys() {
    this.#ring.clear();
    if (this.#passphraseKey) this.#passphraseKey.fill(0);
    this.#passphraseKey = null;
  }

  /**
   * Passphrase mode (docs/PROTOCOL.md §2.5): the sender's passphrase key P (copied). From now on a frame under a
   * KID that is not installed is tried with sframeBaseKey(P, KID) (one HKDF and the key schedule, never a ratchet);
   * the key is installed only once that frame authenticated, so forged fresh KIDs cost CPU but never grow or change
   * state. Every key installed so far is removed (they came from the previous passphrase).
   */
  setPassphraseKey(p) {
    this.clearKeys();
    this.#passphraseKey = Uint8Array.from(p);
  }

  hasKey(kid) {
    return this.#ring.get(toU64(kid, 'KID')) !== null;
  }

  /** Installed KIDs (BigInts). */
  keyIds() {
    return this.#ring.kids();
  }

  /** RFC 9605 decryption of header ‖ ct ‖ tag with AAD = header ‖ metadata; returns the plaintext. */
  async decrypt(metadata, data, now) {
    if (data.length === 0) throw new E2EEError('truncated', 'empty frame');
    const h = tryDecodeHeader(data, 0);
    if (!h) throw new E2EEError('bad-header', 'SFrame header does not fit');
    if (data.length - h.length < this.#nt) throw new E2EEError('truncated', 'shorter than the tag');
    this.#tick(now);
    return this.#open(data, 0, h, metadata);
  }

  /**
   * Decrypts a media frame clearPrefix ‖ header ‖ ct ‖ tag and returns clearPrefix ‖ plaintext. The prefix length
   * n is the codec's for the received frame. A frame that was shorter than its codec prefix was sent as all prefix
   * with an empty ciphertext, so after its prefix k < n come a header and exactly Nt bytes: if the reading at n
   * does not fit or does not authenticate, every such k is tried, largest first, until one authenticates (none
   * changes any state unless it does). The error is that of the reading at n if it fits, else that of the largest
   * k (docs/PROTOCOL.md §2.2). `info`, when given, receives {kid, ctr} of a frame that decrypted.
   */
  async decryptFrame(codec, type, frame, info = null, now = undefined) {
    const len = frame.length;
    if (len === 0) throw new E2EEError('truncated', 'empty frame');
    this.#tick(now);
    if (codec.layout) {
      const out = await this.#decryptRanged(codec.received ? codec.received(frame) : frame, info);
      return codec.restore ? codec.restore(out) : out;
    }
    const nt = this.#nt;
    const n = codec.clearPrefixLength(frame, type);
    const h = tryDecodeHeader(frame, n);
    const primaryFits = h !== null && len - n - h.length >= nt;
    let first;
    if (!h) {
      first = new E2EEError('bad-header', 'SFrame header does not fit after the clear prefix');
    } else if (!primaryFits) {
      first = new E2EEError('truncated', 'no room for the tag');
    } else {
      try {
        return await this.#openFrame(frame, n, h, info);
      } catch (e) {
        if (!(e instanceof E2EEError)) throw e;
        first = e;
      }
    }
    let fallback = null;
    for (let k = n - 1; k >= 0; k--) {
      const hk = tryDecodeHeader(frame, k);
      if (hk && k + hk.length + nt === len) {
        try {
          return await this.#openFrame(frame, k, hk, info);
        } catch (e) {
          if (!(e instanceof E2EEError)) throw e;
          if (!fallback) fallback = e;
        }
      }
    }
    throw primaryFits || !fallback ? first : fallback;
  }

  /** I ‖ H ‖ R ‖ T ‖ r (ranges.js) → I with the plaintext back in place. */
  async #decryptRanged(data, info) {
    const { interleaved, meta, tag } = disassemble(data, this.#nt);
    const h = tryDecodeHeader(meta, 0);
    if (!h) throw new E2EEError('bad-header', 'SFrame header does not fit in the ranged trailer');
    const rangeBytes = meta.subarray(h.length);
    const ranges = decodeRanges(rangeBytes, interleaved.length);
    const { clear, other } = splitRanges(interleaved, ranges);
    const sealed = concat(meta.subarray(0, h.length), other, tag);
    const pt = await this.#open(sealed, 0, h, concat(rangeBytes, clear));
    const out = Uint8Array.from(interleaved);
    fillRanges(out, ranges, pt);
    if (info) {
      info.kid = h.kid;
      info.ctr = h.ctr;
    }
    return out;
  }

  async #openFrame(frame, n, h, info) {
    const prefix = frame.subarray(0, n);
    const pt = await this.#open(frame, n, h, prefix);
    if (info) {
      info.kid = h.kid;
      info.ctr = h.ctr;
    }
    const out = new Uint8Array(n + pt.length);
    out.set(prefix, 0);
    out.set(pt, n);
    return out;
  }

  async #open(frame, offset, h, metadata) {
    const { kid, ctr } = h;
    const now = this.#now;
    if (this.#isExpired(kid)) throw new E2EEError('expired-key', 'KID ' + kid + ' expired');
    const e = this.#ring.get(kid);
    if (e) {
      if (!e.window.isFresh(ctr, now)) throw new E2EEError('replay', 'CTR ' + ctr);
      const pt = await e.key.openAt(frame, offset, h, metadata);
      if (this.#ring.get(kid) === null) throw new E2EEError('expired-key', 'KID ' + kid + ' expired meanwhile');
      if (!e.window.isFresh(ctr, now)) throw new E2EEError('replay', 'CTR ' + ctr);
      e.window.accept(ctr, now);
      if (!e.preWrap) this.#expireBelow(kid, now + REORDER_MILLIS); // a pre-wrap KID is above the newer ones
      return pt;
    }
    let base;
    let inherited = Infinity;
    if (this.#passphraseKey) {
      // passphrase mode: the key of any KID is derived from P; never ratcheted
      base = await sframePassphraseBaseKey(this.#passphraseKey, kid);
    } else {
      const baseKid = this.#ratchet ? this.#ring.ratchetBase(kid, MAX_RATCHET_STEPS) : null;
      if (baseKid === null) throw new E2EEError('no-key', 'no key for KID ' + kid);
      const baseEntry = this.#ring.get(baseKid);
      inherited = baseEntry.expiresAt;
      base = Uint8Array.from(baseEntry.baseKey);
      for (let s = splitKid(baseKid).step; s < splitKid(kid).step; s++) {
        const next = await veilRatchet(base);
        base.fill(0);
        base = next;
      }
    }
    const key = await SFrameKey.fromBaseKey(this.#suite, kid, base);
    let pt;
    try {
      pt = await key.openAt(frame, offset, h, metadata);
    } catch (err) {
      base.fill(0);
      throw err;
    }
    if (this.#isExpired(kid)) {
      base.fill(0);
      throw new E2EEError('expired-key', 'KID ' + kid + ' expired');
    }
    const installed = this.#ring.get(kid); // a concurrent frame may have installed it meanwhile
    if (installed) {
      base.fill(0);
      if (!installed.window.isFresh(ctr, now)) throw new E2EEError('replay', 'CTR ' + ctr);
      installed.window.accept(ctr, now);
      this.#expireBelow(kid, now + REORDER_MILLIS);
      return pt;
    }
    const entry = newEntry(base, key);
    entry.expiresAt = inherited;
    this.#applyStale(kid, entry);
    entry.window.accept(ctr, now);
    this.#ring.put(kid, entry);
    this.#expireBelow(kid, now + REORDER_MILLIS);
    return pt;
  }
}

function newEntry(baseKey, key) {
  return { baseKey, key, window: new ReplayWindow(REPLAY_WINDOW_SIZE, MAX_FRAME_AGE_MILLIS), expiresAt: Infinity };
}
