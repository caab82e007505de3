/**
 * The MLS key mode of one browser connection (docs/PROTOCOL.md §4.3): one MLS group (RFC 9420, cipher suite 1) per
 * channel, driven by the server's delivery service, on ts-mls (bundled as ./vendor/ts-mls.js). The browser's
 * counterpart of veil-client's MlsSession and veil-e2ee's MlsGroupSession, with the same rules, so Java and browser
 * members share one group:
 *
 * - credential: basic, identity = UTF-8 of the connection id; the roster (leaf index → connection id) is the MLS
 *   tree, not the server's notify list;
 * - handshake messages are PublicMessages; a commit that adds members comes with a Welcome (ratchet tree inline);
 * - commits are two-phase: a member builds a commit and applies it only when the delivery service hands it back as
 *   accepted; if another commit wins the epoch, that one is applied and the own ones dropped (at most MAX_PENDING
 *   own commits of one epoch wait); a message of an earlier epoch is ignored, of a later one reported (out-of-sync);
 * - who commits: the member with the lowest leaf index whose connection is still in the channel commits the adds of
 *   waiting key packages (at most MAX_ADDS_PER_COMMIT) and the removals of departed members; a key package is added
 *   only if its credential names the connection the server stamped as its sender and that connection was announced
 *   in a connection.created notify;
 * - alone: as the Java SDK (bcmls cannot commit a group of one), a member whose last peer left stops sending and
 *   removes that peer in the commit that adds the next member.
 *
 * Sans-IO: inputs (onEvent, onMessage, memberJoined, memberLeft) are queued and processed one at a time (ts-mls is
 * asynchronous); what to do comes out of drainOutputs():
 *   {type: 'send', message}            an `mls` signaling message to send ({type: 'mls', payload, welcome?, welcome_to?})
 *   {type: 'epoch', epoch, code, roster, ownLeaf, indexBits, baseKey, senders: [{connectionId, leaf, kid}], ownKid}
 *                                      a new epoch: send under ownKid, receive each sender under its kid, all from
 *                                      baseKey = MLS-Exporter("SFrame 1.0 Base Key", "", 16) (the consumer zeroes it)
 *   {type: 'stop-sending'}             every frame key must go (removed, alone, or a new group starts)
 *   {type: 'error', reason, from, detail}   reasons as the Java SDK's, in lower case: 'refused', 'malformed',
 *                                      'key-package-identity', 'rejected', 'removed', 'out-of-sync', 'commit-failed',
 *                                      'create-failed', 'unexpected' (at most one a second per reason and sender)
 * No output, event or error ever holds key material except the 'epoch' output's baseKey.
 */

import {
  createGroup, joinGroup, createCommit, processPublicMessage, generateKeyPackage, encodeMlsMessage, decodeMlsMessage,
  getCiphersuiteImpl, getCiphersuiteFromName, nobleCryptoProvider, defaultLifetime, emptyPskIndex, mlsExporter,
  zeroOutUint8Array, verifyKeyPackage,
} from './vendor/ts-mls.js';
import { toBase64, fromBase64, utf8, fromUtf8, constantTimeEqual } from './bytes.js';
import {
  EXPORTER_LABEL, BASE_KEY_LENGTH, indexBits, mlsKid, verificationCodeOf,
} from './mls-kid.js';

export const SUITE_NAME = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
/** Most members one commit adds. */
export const MAX_ADDS_PER_COMMIT = 16;
/** Own commits of one epoch that wait for the delivery service's verdict. */
export const MAX_PENDING = 4;
/** Longest `mls` payload or welcome taken, in base64 characters (as the server's codec). */
export const MAX_MLS_PAYLOAD_CHARS = 96 * 1024;
/** Key packages kept waiting to be added (one per connection; more are refused). */
export const MAX_WAITING = 256;
/** Inputs queued at most; more are refused (a hostile server could send any number). */
export const MAX_QUEUED_INPUTS = 1024;
const ERROR_INTERVAL_MS = 1000;

let suitePromise = null;

/** The ts-mls implementation of cipher suite 1 (pure JavaScript: @noble and @hpke/core), made once. */
export function mlsCipherSuite() {
  if (!suitePromise) suitePromise = getCiphersuiteImpl(getCiphersuiteFromName(SUITE_NAME), nobleCryptoProvider);
  return suitePromise;
}

/** Capabilities without GREASE values: what both ts-mls and bcmls members understand. */
function capabilities() {
  return { versions: ['mls10'], ciphersuites: [SUITE_NAME], extensions: [], proposals: [], credentials: ['basic'] };
}

/** Decodes one whole MLSMessage, or throws. */
export function decodeWhole(bytes) {
  const r = decodeMlsMessage(bytes, 0);
  if (!r || r[1] !== bytes.length) throw new Error('not one well-formed MLSMessage');
  return r[0];
}

/** [{leaf, identity (Uint8Array)}] of the group's ratchet tree, by leaf index. */
export function rosterOf(state) {
  const out = [];
  const tree = state.ratchetTree;
  for (let n = 0; n < tree.length; n += 2) {
    const node = tree[n];
    if (node && node.nodeType === 'leaf') out.push({ leaf: n / 2, identity: node.leaf.credential.identity });
  }
  return out;
}

/** Leaf count of the ratchet tree (blank leaves included). */
export function leafCountOf(state) {
  return (state.ratchetTree.length + 1) / 2;
}

export class MlsSession {
  #impl = null;
  #queue = Promise.resolve();
  #queued = 0;
  #outputs = [];
  #self = null;
  #kp = null; // {publicPackage, privatePackage}
  #group = null; // ts-mls ClientState
  #pendings = []; // [{bytes, state}] own commits of the current epoch
  #waiting = new Map(); // connection id -> key package bytes
  #departed = new Set();
  #announced = new Set();
  #removed = false;
  #destroyed = false;
  #lastError = new Map();
  #sending = false;

  constructor() {
    /** The current epoch (BigInt), or -1n before this member is in a group. */
    this.epoch = -1n;
    /** The code of the current epoch ("12345 67890 …", 30 digits), or null. */
    this.verificationCode = null;
    /** The connection ids of the MLS roster (leaf order), self included. */
    this.roster = [];
    /** Commits this member sent. */
    this.commitsSent = 0;
  }

  /** Starts once the server told the connection id (the offer). */
  start(connectionId) {
    if (this.#self === null) this.#self = connectionId;
  }

  get started() {
    return this.#self !== null;
  }

  /** Whether a commit removed this member. */
  get removed() {
    return this.#removed;
  }

  /** This member's leaf index, or -1. */
  get ownLeaf() {
    return this.#group && !this.#removed ? Number(this.#group.privatePath.leafIndex) : -1;
  }

  /** Everything the inputs so far asked for. */
  drainOutputs() {
    const out = this.#outputs;
    this.#outputs = [];
    return out;
  }

  /** Resolves once every input so far was processed. */
  async idle() {
    for (let p = null; p !== this.#queue;) {
      p = this.#queue;
      await p;
    }
  }

  /** `mls_event` {event: create | join | refused, group_id?, epoch?, reason?}. */
  onEvent(ev, now) {
    return this.#input(() => this.#onEvent(ev, now), now);
  }

  /** `mls` {from, payload}: one MLSMessage the delivery service relayed, `from` as the server stamped it. */
  onMessage(from, payload, now) {
    if (typeof payload !== 'string' || payload.length === 0 || payload.length > MAX_MLS_PAYLOAD_CHARS) {
      this.#error('malformed', from, 'mls payload missing or too long', now);
      return Promise.resolve();
    }
    return this.#input(() => this.#onMessage(from, payload, now), now);
  }

  /** The server announced `connectionId` (connection.created): its key package may now be added. */
  memberJoined(connectionId, now) {
    return this.#input(async () => {
      this.#announced.add(connectionId);
      await this.#maybeCommit(now);
    }, now);
  }

  /** `connectionId` left the channel: its leaf is removed by the next commit. */
  memberLeft(connectionId, now) {
    return this.#input(async () => {
      this.#announced.delete(connectionId);
      this.#departed.add(connectionId);
      this.#waiting.delete(connectionId);
      await this.#maybeCommit(now);
    }, now);
  }

  /** Forgets the group and every secret. */
  destroy() {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#reset();
    this.#outputs = [];
  }

  // ------------------------------------------------------------------ inputs

  #input(op, now) {
    if (this.#destroyed) return Promise.resolve();
    if (this.#queued >= MAX_QUEUED_INPUTS) {
      this.#error('buffer-full', null, 'too many MLS inputs queued', now);
      return Promise.resolve();
    }
    this.#queued++;
    const p = this.#queue.then(async () => {
      if (this.#destroyed || this.#self === null) return;
      if (!this.#impl) this.#impl = await mlsCipherSuite();
      await op();
    }).catch((e) => this.#error('internal', null, e && e.message, now)).finally(() => { this.#queued--; });
    this.#queue = p;
    return p;
  }

  #reset() {
    if (this.#sending) this.#outputs.push({ type: 'stop-sending' });
    this.#sending = false;
    this.#group = null;
    this.#kp = null;
    this.#pendings = [];
    this.#waiting.clear();
    this.#removed = false;
    this.roster = [];
    this.verificationCode = null;
    this.epoch = -1n;
  }

  async #newKeyPackage() {
    return generateKeyPackage({ credentialType: 'basic', identity: utf8(this.#self) }, capabilities(),
      defaultLifetime, [], this.#impl);
  }

  async #onEvent(ev, now) {
    const event = ev && ev.event;
    if (event === 'create') {
      this.#reset();
      let gid;
      try {
        gid = fromBase64(String(ev.group_id));
        if (gid.length === 0 || gid.length > 255) throw new Error('group id must be 1..255 bytes');
      } catch (e) {
        this.#error('create-failed', null, e.message, now);
        return;
      }
      this.#kp = await this.#newKeyPackage();
      this.#group = await createGroup(gid, this.#kp.publicPackage, this.#kp.privatePackage, [], this.#impl);
      await this.#entered();
    } else if (event === 'join') {
      this.#reset();
      this.#kp = await this.#newKeyPackage();
      const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: this.#kp.publicPackage });
      this.#outputs.push({ type: 'send', message: { type: 'mls', payload: toBase64(bytes) } });
    } else if (event === 'refused') {
      // The delivery service hands out the accepted commit of an epoch before it refuses the others, so a refusal
      // for an epoch this member already left concerns nothing pending now (its own commits of the current epoch
      // stay pending: dropping them would make it fail on its own accepted commit and commit again, forever). A
      // refusal for the current epoch drops the own commits; the work is retried on the next input, not at once.
      const refusedEpoch = Number.isSafeInteger(ev.epoch) && ev.epoch >= 0 ? BigInt(ev.epoch) : null;
      if (this.#group && (refusedEpoch === null || refusedEpoch === this.#group.groupContext.epoch)) {
        this.#pendings = [];
      }
      this.#error('refused', null, typeof ev.reason === 'string' ? ev.reason.slice(0, 300) : '', now);
    } else {
      this.#error('unexpected', null, 'unknown mls_event', now);
    }
  }

  async #onMessage(from, payload, now) {
    if (typeof from !== 'string' || from.length === 0) return;
    let bytes;
    let msg;
    try {
      bytes = fromBase64(payload);
      msg = decodeWhole(bytes);
    } catch (e) {
      this.#error('malformed', from, e.message, now);
      return;
    }
    try {
      switch (msg.wireformat) {
        case 'mls_key_package': await this.#onKeyPackage(from, msg.keyPackage, bytes, now); break;
        case 'mls_welcome': await this.#onWelcome(msg.welcome, now); break;
        case 'mls_public_message': await this.#onHandshake(from, msg.publicMessage, bytes, now); break;
        default: this.#error('unexpected', from, 'wire format ' + msg.wireformat, now);
      }
    } catch (e) {
      this.#error('rejected', from, e && e.message ? e.message : String(e), now);
    }
  }

  async #onKeyPackage(from, kp, bytes, now) {
    const cred = kp.leafNode.credential;
    if (kp.cipherSuite !== SUITE_NAME) {
      this.#error('rejected', from, 'key package for another cipher suite', now);
      return;
    }
    if (cred.credentialType !== 'basic' || !constantTimeEqual(cred.identity, utf8(from))) {
      this.#error('key-package-identity', from, "the key package's credential is not the connection that published it", now);
      return;
    }
    if (!(await verifyKeyPackage(kp, this.#impl.signature))) {
      this.#error('rejected', from, 'key package signature does not verify', now);
      return;
    }
    if (!this.#waiting.has(from) && this.#waiting.size >= MAX_WAITING) {
      this.#error('buffer-full', from, 'too many key packages waiting', now);
      return;
    }
    this.#waiting.set(from, bytes);
    await this.#maybeCommit(now);
  }

  async #onWelcome(welcome, now) {
    if (this.#group !== null || this.#kp === null) return; // not waiting for one
    this.#group = await joinGroup(welcome, this.#kp.publicPackage, this.#kp.privatePackage, emptyPskIndex, this.#impl);
    await this.#entered();
    await this.#maybeCommit(now);
  }

  async #onHandshake(from, pm, bytes, now) {
    const g = this.#group;
    if (g === null || this.#removed) return;
    const content = pm.content;
    if (!constantTimeEqual(content.groupId, g.groupContext.groupId)) {
      this.#error('rejected', from, 'handshake message for another group', now);
      return;
    }
    const epoch = g.groupContext.epoch;
    if (content.epoch < epoch) return; // stale: an epoch already decided
    if (content.epoch > epoch) {
      this.#error('out-of-sync', from, `message for epoch ${content.epoch} while at ${epoch}`, now);
      return;
    }
    if (content.contentType === 'proposal') {
      const r = await processPublicMessage(g, pm, emptyPskIndex, this.#impl);
      this.#group = r.newState;
      return;
    }
    if (content.contentType !== 'commit') {
      this.#error('unexpected', from, 'content type ' + content.contentType + ' on the handshake channel', now);
      return;
    }
    const own = this.#pendings.find((p) => p.bytes.length === bytes.length && constantTimeEqual(p.bytes, bytes));
    let next;
    if (own) {
      next = own.state;
      for (const c of own.consumed) zeroOutUint8Array(c);
    } else {
      const r = await processPublicMessage(g, pm, emptyPskIndex, this.#impl);
      for (const c of r.consumed || []) zeroOutUint8Array(c);
      next = r.newState;
    }
    this.#pendings = [];
    if (next.groupActiveState && next.groupActiveState.kind === 'removedFromGroup') {
      this.#removed = true;
      this.#group = null;
      if (this.#sending) this.#outputs.push({ type: 'stop-sending' });
      this.#sending = false;
      this.roster = [];
      this.verificationCode = null;
      this.epoch = -1n;
      this.#error('removed', from, 'this member was removed from the group', now);
      return;
    }
    this.#group = next;
    await this.#entered();
    await this.#maybeCommit(now);
  }

  // ------------------------------------------------------------------ epochs and commits

  async #entered() {
    const g = this.#group;
    const members = rosterOf(g);
    const ids = members.map((m) => fromUtf8(m.identity));
    const ownLeaf = Number(g.privatePath.leafIndex);
    const s = indexBits(leafCountOf(g));
    const baseKey = await mlsExporter(g.keySchedule.exporterSecret, EXPORTER_LABEL, new Uint8Array(0),
      BASE_KEY_LENGTH, this.#impl);
    this.epoch = g.groupContext.epoch;
    this.roster = ids;
    this.verificationCode = verificationCodeOf(g.keySchedule.epochAuthenticator);
    for (const id of ids) this.#waiting.delete(id);
    // a departed connection out of the roster needs nothing more (connection ids are never reused): bounded sets
    for (const id of this.#departed) if (!ids.includes(id)) this.#departed.delete(id);
    this.#sending = true;
    this.#outputs.push({
      type: 'epoch', epoch: this.epoch, code: this.verificationCode, roster: [...ids], ownLeaf, indexBits: s,
      ownKid: mlsKid(ownLeaf, this.epoch, s), baseKey,
      senders: members.filter((m) => m.leaf !== ownLeaf)
        .map((m) => ({ connectionId: fromUtf8(m.identity), leaf: m.leaf, kid: mlsKid(m.leaf, this.epoch, s) })),
    });
  }

  async #maybeCommit(now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#pendings.length > 0) return;
    let committer = null;
    const removes = [];
    const inGroup = new Set();
    for (const m of rosterOf(g)) {
      const id = fromUtf8(m.identity);
      inGroup.add(id);
      if (this.#departed.has(id)) removes.push(m.leaf);
      else if (committer === null) committer = m.leaf;
    }
    if (committer === null || committer !== Number(g.privatePath.leafIndex)) return;
    const adds = [];
    const addIds = [];
    for (const [id, bytes] of this.#waiting) {
      if (adds.length >= MAX_ADDS_PER_COMMIT) break;
      if (!inGroup.has(id) && !this.#departed.has(id) && this.#announced.has(id)) {
        adds.push(bytes);
        addIds.push(id);
      }
    }
    if (adds.length === 0 && removes.length === 0) return;
    if (removes.length > 0 && inGroup.size - removes.length + adds.length <= 1) {
      // alone: stop sending, remove with the next add (as the Java SDK, docs/PROTOCOL.md §4.3)
      if (this.#sending) this.#outputs.push({ type: 'stop-sending' });
      this.#sending = false;
      return;
    }
    try {
      const proposals = [
        ...adds.map((b) => ({ proposalType: 'add', add: { keyPackage: decodeWhole(b).keyPackage } })),
        ...removes.map((leaf) => ({ proposalType: 'remove', remove: { removed: leaf } })),
      ];
      const r = await createCommit({ state: g, cipherSuite: this.#impl },
        { wireAsPublicMessage: true, ratchetTreeExtension: true, extraProposals: proposals });
      // r.consumed (the current epoch's init secret among them) is wiped only if this commit is accepted: until
      // then the current epoch must still be able to apply another member's commit
      const bytes = encodeMlsMessage(r.commit);
      if (this.#pendings.length >= MAX_PENDING) this.#pendings.shift();
      this.#pendings.push({ bytes, state: r.newState, consumed: r.consumed || [] });
      const message = { type: 'mls', payload: toBase64(bytes) };
      if (r.welcome && addIds.length > 0) {
        message.welcome = toBase64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }));
        message.welcome_to = addIds;
      }
      this.commitsSent++;
      this.#outputs.push({ type: 'send', message });
    } catch (e) {
      // a bad key package: forget it, so one broken client cannot stall the group
      for (const id of addIds) this.#waiting.delete(id);
      this.#error('commit-failed', null, e && e.message ? e.message : String(e), now);
    }
  }

  #error(reason, from, detail, now) {
    const key = reason + '|' + from;
    const last = this.#lastError.get(key);
    if (last !== undefined && now - last < ERROR_INTERVAL_MS) return;
    if (this.#lastError.size >= 1024) this.#lastError.clear();
    this.#lastError.set(key, now);
    this.#outputs.push({ type: 'error', reason, from: from || null, detail: detail ? String(detail).slice(0, 300) : '' });
  }
}
