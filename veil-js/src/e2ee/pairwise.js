/**
 * The pairwise channel between two members, byte-compatible with veil-e2ee's dev.veil.e2ee.pairwise.
 *
 *   shared     = X25519(own kx private key, peer kx_key)                      (all-zero result: rejected)
 *   party(P)   = len(cid_P) (uint8) ‖ cid_P (UTF-8) ‖ identity_key_P (32) ‖ kx_key_P (32)
 *   key(X → Y) = HKDF-SHA256(salt = "", IKM = shared, info = "Veil 1.0 pairwise key" ‖ party(X) ‖ party(Y), 32)
 *
 * Sealed message (the payload handed to the server's E2EE relay):
 *
 *   +-------------+----------+--------------+-----------------+--------------+--------------------+
 *   | version = 1 | kind = 1 | slen (uint8) | sender id       | rlen (uint8) | recipient id       |
 *   +-------------+----------+--------------+-----------------+--------------+--------------------+
 *   | seq (uint32 BE) | AES-256-GCM ciphertext ‖ tag (16)                                        |
 *   +-----------------+--------------------------------------------------------------------------+
 *   AAD = every byte before the ciphertext; nonce = 0x00 × 8 ‖ seq (uint32 BE); at most 4096 bytes in all.
 *
 * Each direction has its own key and sequence numbers (0, 1, 2, …); a message is accepted only when its sequence
 * number is above the last accepted one (gaps allowed, replays and reorderings rejected), and only a message
 * whose tag verified consumes one.
 */

import { concat, utf8 } from './bytes.js';
import { E2EEError } from './errors.js';
import { hkdf } from './hkdf.js';
import { lengthPrefixedId, decodeConnectionId, isValidConnectionId } from './identity.js';

const subtle = globalThis.crypto.subtle;
const LABEL = utf8('Veil 1.0 pairwise key');
const EMPTY = new Uint8Array(0);

export const VERSION = 1;
export const KIND_SEALED = 1;
export const KIND_DEVICE = 2;

/**
 * What a channel carries: each purpose has its own key label and envelope kind, so two channels of different
 * purposes between the same pair never share a key and a message of one never opens in the other.
 */
export const PURPOSE = Object.freeze({
  keys: Object.freeze({ label: LABEL, kind: KIND_SEALED }),
  device: Object.freeze({ label: utf8('Veil 1.0 pairwise device'), kind: KIND_DEVICE }),
});

/** The kind byte of a relay payload (its second byte), or -1: which channel it is for. */
export function kindOf(payload) {
  return payload instanceof Uint8Array && payload.length >= 2 ? payload[1] : -1;
}
export const TAG_LENGTH = 16;
export const MAX_LENGTH = 4096;
export const MAX_SEQ = 0xffffffff;

/** party(P) = len ‖ cid ‖ identity key ‖ kx key. */
export function party(connectionId, identityKey, kxKey) {
  return concat(lengthPrefixedId(connectionId), identityKey, kxKey);
}

/** key(X → Y) from the shared secret and party(X), party(Y). */
export function directionKey(shared, senderParty, receiverParty, label = LABEL) {
  return hkdf('SHA-256', EMPTY, shared, concat(label, senderParty, receiverParty), 32);
}

/** The header (= AAD) of a message. */
export function messageHeader(sender, recipient, seq, kind = KIND_SEALED) {
  const h = concat(Uint8Array.of(VERSION, kind), lengthPrefixedId(sender), lengthPrefixedId(recipient),
    new Uint8Array(4));
  new DataView(h.buffer).setUint32(h.length - 4, seq);
  return h;
}

function nonce(seq) {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(8, seq);
  return n;
}

/**
 * Decodes a sealed message: {sender, recipient, seq, header, ciphertext}. Throws E2EEError 'malformed' or
 * 'unsupported-version' (checks in veil-e2ee's order).
 */
export function decodeMessage(m, kind = KIND_SEALED) {
  if (!(m instanceof Uint8Array) || m.length < 2) throw new E2EEError('malformed', 'shorter than the version and kind bytes');
  if (m[0] !== VERSION) throw new E2EEError('unsupported-version', 'version ' + m[0]);
  if (m.length > MAX_LENGTH) throw new E2EEError('malformed', 'longer than ' + MAX_LENGTH + ' bytes');
  if (m[1] !== kind) throw new E2EEError('malformed', 'unknown kind ' + m[1]);
  let p = 2;
  if (p >= m.length) throw new E2EEError('malformed', 'truncated before the sender id');
  const slen = m[p++];
  const sender = decodeConnectionId(m, p, slen);
  if (sender === null) throw new E2EEError('malformed', 'bad sender id');
  p += slen;
  if (p >= m.length) throw new E2EEError('malformed', 'truncated before the recipient id');
  const rlen = m[p++];
  const recipient = decodeConnectionId(m, p, rlen);
  if (recipient === null) throw new E2EEError('malformed', 'bad recipient id');
  p += rlen;
  if (m.length - p < 4 + TAG_LENGTH) throw new E2EEError('malformed', 'truncated sequence number or tag');
  const seq = new DataView(m.buffer, m.byteOffset, m.length).getUint32(p);
  p += 4;
  return { sender, recipient, seq, header: m.subarray(0, p), ciphertext: m.subarray(p) };
}

/** The channel between the own connection and one peer. Not safe for overlapping calls (await each). */
export class PairwiseChannel {
  #sendKey;
  #receiveKey;
  #nextSendSeq = 0;
  #lastReceivedSeq = -1;
  #destroyed = false;
  #purpose;

  constructor(self, peer, sendKey, receiveKey, purpose = PURPOSE.keys) {
    this.#purpose = purpose;
    this.selfConnectionId = self;
    this.peerConnectionId = peer;
    this.#sendKey = sendKey;
    this.#receiveKey = receiveKey;
  }

  /**
   * Sets up the channel from the own Identity and connection id and the peer's Bundle. Throws E2EEError
   * 'bad-bundle' (signature does not verify, or the peer has the own connection id) or 'bad-key' (all-zero X25519).
   */
  static async create(identity, selfConnectionId, peerBundle, purpose = PURPOSE.keys) {
    if (!isValidConnectionId(selfConnectionId)) throw new E2EEError('malformed', 'invalid own connection id');
    if (peerBundle.connectionId === selfConnectionId) throw new E2EEError('bad-bundle', 'peer has the own connection id');
    if (!(await peerBundle.verify())) throw new E2EEError('bad-bundle', 'bundle signature does not verify');
    const shared = await identity.agree(peerBundle.kxKey);
    try {
      const own = party(selfConnectionId, identity.identityKey, identity.kxKey);
      const other = party(peerBundle.connectionId, peerBundle.identityKey, peerBundle.kxKey);
      const sendRaw = await directionKey(shared, own, other, purpose.label);
      const recvRaw = await directionKey(shared, other, own, purpose.label);
      const imp = (k) => subtle.importKey('raw', k, 'AES-GCM', false, ['encrypt', 'decrypt']);
      const channel = new PairwiseChannel(selfConnectionId, peerBundle.connectionId, await imp(sendRaw),
        await imp(recvRaw), purpose);
      sendRaw.fill(0);
      recvRaw.fill(0);
      return channel;
    } finally {
      shared.fill(0);
    }
  }

  #checkLive() {
    if (this.#destroyed) throw new E2EEError('destroyed', 'pairwise channel has been destroyed');
  }

  /** Seals `plaintext` as the next message to the peer. Throws 'exhausted' after 2^32 messages, 'malformed' if too long. */
  async seal(plaintext) {
    this.#checkLive();
    if (this.#nextSendSeq > MAX_SEQ) throw new E2EEError('exhausted', 'pairwise sequence numbers exhausted');
    const header = messageHeader(this.selfConnectionId, this.peerConnectionId, this.#nextSendSeq,
      this.#purpose.kind);
    if (header.length + plaintext.length + TAG_LENGTH > MAX_LENGTH) {
      throw new E2EEError('malformed', 'plaintext too long for a pairwise message');
    }
    const seq = this.#nextSendSeq++;
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce(seq), additionalData: header },
      this.#sendKey, plaintext));
    return concat(header, ct);
  }

  /**
   * Opens a message from the peer. Throws E2EEError 'malformed', 'unsupported-version', 'wrong-recipient',
   * 'wrong-sender', 'replay' or 'bad-tag'; the channel's state is then unchanged.
   */
  async open(message) {
    this.#checkLive();
    const m = decodeMessage(message, this.#purpose.kind);
    if (m.recipient !== this.selfConnectionId) throw new E2EEError('wrong-recipient', 'addressed to another connection');
    if (m.sender !== this.peerConnectionId) throw new E2EEError('wrong-sender', "not from this channel's peer");
    if (m.seq <= this.#lastReceivedSeq) {
      throw new E2EEError('replay', 'sequence number ' + m.seq + ' not above ' + this.#lastReceivedSeq);
    }
    let pt;
    try {
      pt = await subtle.decrypt({ name: 'AES-GCM', iv: nonce(m.seq), additionalData: m.header }, this.#receiveKey,
        m.ciphertext);
    } catch {
      throw new E2EEError('bad-tag', 'authentication failed');
    }
    this.#checkLive();
    if (m.seq <= this.#lastReceivedSeq) throw new E2EEError('replay', 'sequence number ' + m.seq + ' already used');
    this.#lastReceivedSeq = m.seq;
    return new Uint8Array(pt);
  }

  /** Drops both direction keys; later seal/open throw E2EEError('destroyed'). */
  destroy() {
    this.#destroyed = true;
    this.#sendKey = null;
    this.#receiveKey = null;
  }

  get destroyed() {
    return this.#destroyed;
  }
}
