/**
 * The MLS key mode of one browser connection (docs/PROTOCOL.md §4.3): one MLS group (RFC 9420, cipher suite 1) per
 * channel, driven by the server's delivery service, on ts-mls (bundled as ./vendor/ts-mls.js). The browser's
 * counterpart of veil-client's MlsSession and veil-e2ee's MlsGroupSession, with the same rules, so Java and browser
 * members share one group:
 *
 * - credential: basic, identity = UTF-8 of the connection id, or with a device identity the form of §4.9
 *   (mls-credential.js); the roster (leaf index → connection id) is the MLS tree, not the server's notify list;
 * - handshake messages are PublicMessages; a commit that adds members comes with a Welcome (ratchet tree inline);
 * - commits are two-phase: a member builds a commit and applies it only when the delivery service hands it back as
 *   accepted; if another commit wins the epoch, that one is applied and the own ones dropped (at most MAX_PENDING
 *   own commits of one epoch wait); a message of an earlier epoch is ignored, of a later one reported (out-of-sync);
 *   a `refused` for the current epoch drops the own commits and backs off (retryDelay(), as the Java SDK, jittered),
 *   until the accepted commit is applied or the back-off ends; then the work is done again only if still needed;
 * - who commits: the member with the lowest leaf index whose connection is still in the channel commits the adds of
 *   waiting key packages (at most MAX_ADDS_PER_COMMIT) and the removals of departed members; a key package is added
 *   only if its credential names the connection the server stamped as its sender and that connection was announced
 *   in a connection.created notify;
 * - alone: as the Java SDK (bcmls cannot commit a group of one), a member whose last peer left stops sending and
 *   removes that peer in the commit that adds the next member;
 * - the server as external sender (§4.8): in a group whose context names it, the server's proposals (`mls` without
 *   `from`) are verified against its key and checked against the announced membership (mls-membership.js) before
 *   they are cached; the committer commits them by reference and adds/removes inline only what the server did not
 *   propose within PROPOSAL_WAIT_MILLIS. In every group, another member's commit whose roster change does not
 *   match the announced membership, or that commits a refused proposal, is not applied: this member stops sending
 *   ('commit-refused'). A departed member still in the roster REMOVAL_BOUND_MILLIS after its departure is reported
 *   ('removal-withheld') and nothing is sent until an epoch without it.
 *
 * Timers: nextTimeout() tells when timeout(now) must run next (fallback, withheld-removal and back-off deadlines).
 *
 * Sans-IO: inputs (onEvent, onMessage, memberJoined, memberLeft) are queued and processed one at a time (ts-mls is
 * asynchronous); what to do comes out of drainOutputs():
 *   {type: 'send', message}            an `mls` signaling message to send ({type: 'mls', payload, welcome?, welcome_to?})
 *   {type: 'epoch', epoch, code, roster, ownLeaf, indexBits, baseKey, dataKey, senders: [{connectionId, leaf, kid,
 *    deviceFingerprint}], ownKid, held}
 *                                      a new epoch: send under ownKid, receive each sender under its kid, all from
 *                                      baseKey = MLS-Exporter("SFrame 1.0 Base Key", "", 16); data messages from
 *                                      dataKey = MLS-Exporter("Veil 1.0 data", "", 16) (the consumer zeroes both);
 *                                      held: a removal is withheld, send nothing (baseKey/dataKey then null)
 *   {type: 'stop-sending'}             every frame key must go (removed, alone, or a new group starts)
 *   {type: 'error', reason, from, detail}   reasons as the Java SDK's, in lower case: 'refused', 'malformed',
 *                                      'key-package-identity', 'rejected', 'removed', 'out-of-sync', 'commit-failed',
 *                                      'create-failed', 'unexpected', 'proposal-refused', 'commit-refused',
 *                                      'removal-withheld' (at most one a second per reason and sender)
 * No output, event or error ever holds key material except the 'epoch' output's baseKey and dataKey.
 */

import {
  createGroup, joinGroup, createCommit, processPublicMessage, encodeMlsMessage, decodeMlsMessage,
  getCiphersuiteImpl, getCiphersuiteFromName, nobleCryptoProvider, defaultLifetime, emptyPskIndex, mlsExporter,
  zeroOutUint8Array, verifyKeyPackage, generateKeyPackageWithKey, unprotectPublicMessage, processProposal,
  makeProposalRef,
} from './vendor/ts-mls.js';
import { toBase64, fromBase64, constantTimeEqual } from './bytes.js';
import {
  EXPORTER_LABEL, BASE_KEY_LENGTH, indexBits, mlsKid, verificationCodeOf,
} from './mls-kid.js';
import {
  credentialIdentity, connectionIdOf, deviceFingerprintOf, verifyCredential, externalSenderKey,
  externalSendersExtensionData,
} from './mls-credential.js';
import { MlsMembership, PROPOSAL_WAIT_MILLIS } from './mls-membership.js';

export const SUITE_NAME = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
/** Most members one commit adds. */
export const MAX_ADDS_PER_COMMIT = 16;
/** Own commits of one epoch that wait for the delivery service's verdict. */
export const MAX_PENDING = 4;
/** Longest `mls` payload or welcome taken, in base64 characters (as the server's codec). */
export const MAX_MLS_PAYLOAD_CHARS = 96 * 1024;
/** Most elements of a commit's `leaves` hint (as the server's codec, docs/PROTOCOL.md §4.8). */
export const MAX_LEAVES_HINT = 1000;
/** Key packages kept waiting to be added (one per connection; more are refused). */
export const MAX_WAITING = 256;
/** Inputs queued at most; more are refused (a hostile server could send any number). */
export const MAX_QUEUED_INPUTS = 1024;
/** The exporter label of the data messages' base key (docs/PROTOCOL.md §4.10). */
export const DATA_EXPORTER_LABEL = 'Veil 1.0 data';
/** Proposals cached per epoch at most; more are refused (a server cannot grow the state). */
export const MAX_PROPOSALS = 256;
/** References of refused proposals remembered per epoch. */
export const MAX_REFUSED = 64;
/** Shortest back-off after a refusal for the current epoch (as veil-client's MlsSession.RETRY_MIN_MILLIS). */
export const RETRY_MIN_MILLIS = 500;
/** Longest back-off after refusals (as veil-client's MlsSession.RETRY_MAX_MILLIS). */
export const RETRY_MAX_MILLIS = 8000;
const ERROR_INTERVAL_MS = 1000;

let suitePromise = null;

/**
 * The back-off after the `refusals`-th refusal in a row for one epoch: uniform in [base / 2, base] with base =
 * 2 × RETRY_MIN_MILLIS doubling per further refusal up to RETRY_MAX_MILLIS, so always within [RETRY_MIN_MILLIS,
 * RETRY_MAX_MILLIS] (Java backs off base / 2 exactly; the jitter keeps members refused together apart).
 * `random()` returns a number in [0, 1).
 */
export function retryDelay(refusals, random) {
  const base = Math.min(RETRY_MAX_MILLIS, RETRY_MIN_MILLIS * 2 ** Math.min(Math.max(refusals, 1), 20));
  const r = random();
  const jitter = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.max(RETRY_MIN_MILLIS, Math.floor(base / 2 + jitter * (base / 2)));
}

/** A uniform number in [0, 1) from the platform's CSPRNG. */
function defaultRandom() {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}

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

/** [{leaf, identity (Uint8Array), signatureKey}] of the group's ratchet tree, by leaf index. */
export function rosterOf(state) {
  const out = [];
  const tree = state.ratchetTree;
  for (let n = 0; n < tree.length; n += 2) {
    const node = tree[n];
    if (node && node.nodeType === 'leaf') {
      out.push({ leaf: n / 2, identity: node.leaf.credential.identity, signatureKey: node.leaf.signaturePublicKey });
    }
  }
  return out;
}

/** Whether the group's context names an external sender (the server). */
export function hasExternalSender(state) {
  return externalSenderKey(state.groupContext.extensions, 0) !== null;
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
  #members = null; // MlsMembership, made at start()
  #proposed = []; // [{add, identity, leaf, ref}] proposals of the current epoch that passed the checks (cached)
  #refusedRefs = []; // references of the current epoch's refused proposals
  #refusedCommit = false; // a commit was refused: out of the group's path, nothing sent
  #withheld = false; // a departed member stayed past the bound: nothing sent until an epoch without it
  #device;
  #offerExternalSender;
  #removed = false;
  #destroyed = false;
  #lastError = new Map();
  #sending = false;
  #random;
  #retryAt = -Infinity; // no commit before this time (a refusal for the current epoch)
  #refusals = 0; // refusals for the current epoch in a row (the back-off's exponent)

  /**
   * @param {{device?: object, externalSender?: boolean, random?: () => number}} [options]  device: a DeviceIdentity
   *   whose key vouches for this member's leaves (§4.9); externalSender: a group this member founds names the server
   *   (§4.8); random: [0, 1) for the back-off's jitter after a refusal (tests pass a seeded one; default CSPRNG)
   */
  constructor(options = {}) {
    this.#random = typeof options.random === 'function' ? options.random : defaultRandom;
    this.#device = options.device || null;
    this.#offerExternalSender = !!options.externalSender;
    /** The current epoch (BigInt), or -1n before this member is in a group. */
    this.epoch = -1n;
    /** The code of the current epoch ("12345 67890 …", 30 digits), or null. */
    this.verificationCode = null;
    /** The connection ids of the MLS roster (leaf order), self included. */
    this.roster = [];
    /** Commits this member sent. */
    this.commitsSent = 0;
    /** Proposals (the server's or a member's) that passed the membership checks and were cached. */
    this.proposalsCached = 0;
  }

  /** Starts once the server told the connection id (the offer). */
  start(connectionId) {
    if (this.#self === null) {
      this.#self = connectionId;
      this.#members = new MlsMembership(connectionId);
    }
  }

  /** Whether this member sends nothing because it refused a commit or a removal is withheld. */
  get sendingHeld() {
    return this.#refusedCommit || this.#withheld;
  }

  /** When timeout(now) should run next (fallback, withheld-removal and back-off deadlines), or Infinity. */
  nextTimeout(now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || this.#members === null) return Infinity;
    const t = this.#members.nextDeadline(this.roster, this.#waiting, now);
    return this.#retryAt > now ? Math.min(t, this.#retryAt) : t;
  }

  /** The clock reached nextTimeout(): inline fallback, withheld-removal bound, end of a back-off. */
  timeout(now) {
    return this.#input(async () => {
      this.#checkWithheld(now);
      await this.#maybeCommit(now);
    }, now);
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

  /**
   * `mls` {from, payload}: one MLSMessage the delivery service relayed, `from` as the server stamped it; `from`
   * null or undefined: a proposal the server made as external sender.
   */
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
      this.#members.joined(connectionId, this.roster);
      await this.#maybeCommit(now);
    }, now);
  }

  /** `connectionId` left the channel: its leaf is removed by the next commit. */
  memberLeft(connectionId, now) {
    return this.#input(async () => {
      this.#members.left(connectionId, this.roster, now);
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
    this.#proposed = [];
    this.#refusedRefs = [];
    this.#refusedCommit = false;
    this.#withheld = false;
    this.#removed = false;
    this.#retryAt = -Infinity;
    this.#refusals = 0;
    this.roster = [];
    this.verificationCode = null;
    this.epoch = -1n;
  }

  async #newKeyPackage() {
    const keys = await this.#impl.signature.keygen();
    const identity = await credentialIdentity(this.#self, this.#device, keys.publicKey);
    return generateKeyPackageWithKey({ credentialType: 'basic', identity }, capabilities(), defaultLifetime, [], keys,
      this.#impl);
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
      let extensions = [];
      if (this.#offerExternalSender && typeof ev.external_sender === 'string') {
        try {
          extensions = [{ extensionType: 'external_senders',
            extensionData: externalSendersExtensionData(fromBase64(ev.external_sender)) }];
        } catch (e) {
          this.#error('create-failed', null, 'external_sender: ' + e.message, now);
          return;
        }
      }
      this.#kp = await this.#newKeyPackage();
      this.#group = await createGroup(gid, this.#kp.publicPackage, this.#kp.privatePackage, [], this.#impl);
      if (extensions.length > 0) {
        // ts-mls 1.6.4's createGroup reads external_senders as one ExternalSender, not the RFC 9420 §12.1.8.1
        // vector, and refuses the standard form (test/e2ee/mls-external-sender.test.mjs shows it): the extension
        // goes into the epoch-0 context afterwards. Nothing of epoch 0 depends on the context's extensions (its
        // epoch secret is random, its transcript empty); the next commit's context carries it, as bcmls expects.
        this.#group = { ...this.#group, groupContext: { ...this.#group.groupContext, extensions } };
      }
      await this.#entered(now);
    } else if (event === 'join') {
      this.#reset();
      this.#kp = await this.#newKeyPackage();
      const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: this.#kp.publicPackage });
      this.#outputs.push({ type: 'send', message: { type: 'mls', payload: toBase64(bytes) } });
    } else if (event === 'refused') {
      // The delivery service hands out the accepted commit of an epoch before it refuses the others, so a refusal
      // for an epoch this member already left concerns nothing pending now (its own commits of the current epoch
      // stay pending: dropping them would make it fail on its own accepted commit and commit again, forever). A
      // refusal for the current epoch (another's commit still on its way, or the server refused this one) drops
      // the own commits and backs off (retryDelay, as veil-client's MlsSession): the accepted commit, if any, is
      // applied when it comes (a new epoch ends the back-off), and the work is retried only if still needed.
      this.#error('refused', null, typeof ev.reason === 'string' ? ev.reason.slice(0, 300) : '', now);
      const refusedEpoch = Number.isSafeInteger(ev.epoch) && ev.epoch >= 0 ? BigInt(ev.epoch) : null;
      if (this.#group && !this.#removed
        && (refusedEpoch === null || refusedEpoch === this.#group.groupContext.epoch)) {
        this.#pendings = [];
        this.#refusals = Math.min(this.#refusals + 1, 30);
        this.#retryAt = now + retryDelay(this.#refusals, this.#random);
      }
    } else {
      this.#error('unexpected', null, 'unknown mls_event', now);
    }
  }

  async #onMessage(from, payload, now) {
    if (from === null || from === undefined) {
      await this.#onServerProposal(payload, now);
      return;
    }
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
    if (cred.credentialType !== 'basic' || connectionIdOf(cred.identity) !== from) {
      this.#error('key-package-identity', from, "the key package's credential is not the connection that published it", now);
      return;
    }
    if (!(await verifyCredential(cred.identity, kp.leafNode.signaturePublicKey, this.#impl.signature))) {
      this.#error('key-package-identity', from, "the key package's device identity does not vouch for its leaf", now);
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
    if (!this.#members.waitingSince.has(from)) this.#members.waitingSince.set(from, now);
    await this.#maybeCommit(now);
  }

  async #onWelcome(welcome, now) {
    if (this.#group !== null || this.#kp === null) return; // not waiting for one
    this.#group = await joinGroup(welcome, this.#kp.publicPackage, this.#kp.privatePackage, emptyPskIndex, this.#impl);
    await this.#entered(now);
    await this.#maybeCommit(now);
  }

  /** Null when `pm` is for this group and epoch; else 'stale' (ignore) or reports and returns 'bad'. */
  #epochCheck(from, pm, now) {
    const g = this.#group;
    const content = pm.content;
    if (!constantTimeEqual(content.groupId, g.groupContext.groupId)) {
      this.#error('rejected', from, 'handshake message for another group', now);
      return 'bad';
    }
    const epoch = g.groupContext.epoch;
    if (content.epoch < epoch) return 'stale'; // an epoch already decided
    if (content.epoch > epoch) {
      this.#error('out-of-sync', from, `message for epoch ${content.epoch} while at ${epoch}`, now);
      return 'bad';
    }
    return null;
  }

  /** A proposal the server made as external sender (an `mls` without `from`). */
  async #onServerProposal(payload, now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || !hasExternalSender(g)) return; // not naming the server
    let msg;
    try {
      msg = decodeWhole(fromBase64(payload));
    } catch (e) {
      this.#error('malformed', null, 'server proposal: ' + e.message, now);
      return;
    }
    if (msg.wireformat !== 'mls_public_message' || msg.publicMessage.content.contentType !== 'proposal'
      || msg.publicMessage.content.sender.senderType !== 'external') {
      this.#error('rejected', null, 'the server sends only its own proposals without from', now);
      return;
    }
    try {
      await this.#onProposal(null, msg.publicMessage, now);
    } catch (e) {
      this.#error('rejected', null, 'server proposal: ' + (e && e.message ? e.message : String(e)), now);
    }
  }

  /**
   * One proposal (the server's, or a member's): verified (the server's against the key the group context names, a
   * member's by ts-mls with its membership tag), checked against the announced membership, then cached.
   */
  async #onProposal(from, pm, now) {
    if (this.#epochCheck(from, pm, now) !== null) return;
    const g = this.#group;
    const sender = pm.content.sender;
    let key;
    if (sender.senderType === 'external') {
      key = externalSenderKey(g.groupContext.extensions, sender.senderIndex);
      if (!key) {
        this.#error('rejected', from, `the group names no external sender ${sender.senderIndex}`, now);
        return;
      }
    } else if (sender.senderType !== 'member' || from === null) {
      this.#error('rejected', from, 'proposal from sender type ' + sender.senderType, now);
      return;
    }
    // throws (reported 'rejected') when the signature or membership tag does not verify
    const content = await unprotectPublicMessage(g.keySchedule.membershipKey, g.groupContext, g.ratchetTree, pm,
      this.#impl, key);
    const proposal = content.content.proposal;
    const ref = await makeProposalRef(content, this.#impl.hash);
    const ownLeaf = Number(g.privatePath.leafIndex);
    let made;
    let why;
    if (proposal.proposalType === 'add') {
      const leaf = proposal.add.keyPackage.leafNode;
      made = { add: true, identity: leaf.credential.identity, leaf: -1, ref };
      why = leaf.credential.credentialType !== 'basic' ? 'the added member has no basic credential'
        : !(await verifyCredential(leaf.credential.identity, leaf.signaturePublicKey, this.#impl.signature))
          ? "the added member's device identity does not vouch for its signature key"
          : this.#members.checkAdd(leaf.credential.identity);
    } else if (proposal.proposalType === 'remove') {
      const leaf = Number(proposal.remove.removed);
      const node = g.ratchetTree[2 * leaf];
      if (!node || node.nodeType !== 'leaf') {
        this.#refuseProposal(from, ref, 'removes blank leaf ' + leaf, now);
        return;
      }
      made = { add: false, identity: node.leaf.credential.identity, leaf, ref };
      why = leaf === ownLeaf ? null : this.#members.checkRemove(node.leaf.credential.identity);
    } else {
      this.#refuseProposal(from, ref, 'of type ' + proposal.proposalType + ' is not used in this mode', now);
      return;
    }
    if (why) {
      this.#refuseProposal(from, ref, why, now);
      return;
    }
    if (this.#proposed.some((q) => q.add === made.add && q.leaf === made.leaf
      && constantTimeEqual(q.identity, made.identity))) return; // a replay within the epoch
    if (this.#proposed.length >= MAX_PROPOSALS) {
      this.#refuseProposal(from, ref, `past the ${MAX_PROPOSALS}th of one epoch`, now);
      return;
    }
    this.#group = await processProposal(g, content, proposal, this.#impl.hash);
    this.#proposed.push(made);
    this.proposalsCached++;
    await this.#maybeCommit(now);
  }

  #refuseProposal(from, ref, why, now) {
    if (this.#refusedRefs.length < MAX_REFUSED) this.#refusedRefs.push(ref);
    this.#error('proposal-refused', from, 'a proposal ' + why, now);
  }

  /** Refuses a commit: this member stays out of the epoch the others enter, deletes its keys and sends nothing. */
  #refuseCommit(from, why, now) {
    this.#refusedCommit = true;
    this.#pendings = [];
    if (this.#sending) this.#outputs.push({ type: 'stop-sending' });
    this.#sending = false;
    this.#error('commit-refused', from, 'a commit ' + why + '; this member left the group\'s path', now);
  }

  async #onHandshake(from, pm, bytes, now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit) return;
    const content = pm.content;
    if (content.contentType === 'proposal') {
      await this.#onProposal(from, pm, now);
      return;
    }
    if (this.#epochCheck(from, pm, now) !== null) return;
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
      for (const p of content.commit.proposals) {
        if (p.proposalOrRefType === 'reference'
          && this.#refusedRefs.some((r) => constantTimeEqual(r, p.reference))) {
          this.#refuseCommit(from, 'includes a proposal this member refused', now);
          return;
        }
      }
      const r = await processPublicMessage(g, pm, emptyPskIndex, this.#impl);
      next = r.newState;
      if (!(next.groupActiveState && next.groupActiveState.kind === 'removedFromGroup')) {
        const after = rosterOf(next);
        const verified = new Map();
        for (const m of after) verified.set(m.leaf, await verifyCredential(m.identity, m.signatureKey, this.#impl.signature));
        const why = this.#members.checkRoster(rosterOf(g), after, (m) => verified.get(m.leaf));
        if (why) {
          this.#refuseCommit(from, why, now); // the new epoch's secrets are never used; the old state stays
          return;
        }
      }
      for (const c of r.consumed || []) zeroOutUint8Array(c);
    }
    this.#pendings = [];
    this.#proposed = [];
    this.#refusedRefs = [];
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
    await this.#entered(now);
    await this.#maybeCommit(now);
  }

  // ------------------------------------------------------------------ epochs and commits

  async #entered(now) {
    const g = this.#group;
    const members = rosterOf(g);
    const ids = members.map((m) => connectionIdOf(m.identity));
    const ownLeaf = Number(g.privatePath.leafIndex);
    const s = indexBits(leafCountOf(g));
    this.#retryAt = -Infinity;
    this.#refusals = 0;
    this.epoch = g.groupContext.epoch;
    this.roster = ids;
    this.verificationCode = verificationCodeOf(g.keySchedule.epochAuthenticator);
    for (const id of ids) this.#waiting.delete(id);
    this.#members.entered(ids, now);
    if (this.#withheld && !this.#members.withheld(ids, Infinity)) this.#withheld = false;
    const senders = [];
    for (const m of members) {
      if (m.leaf === ownLeaf) continue;
      const ok = await verifyCredential(m.identity, m.signatureKey, this.#impl.signature);
      senders.push({ connectionId: connectionIdOf(m.identity), leaf: m.leaf, kid: mlsKid(m.leaf, this.epoch, s),
        deviceFingerprint: ok ? await deviceFingerprintOf(m.identity) : null });
    }
    const held = this.#withheld;
    const baseKey = held ? null : await mlsExporter(g.keySchedule.exporterSecret, EXPORTER_LABEL, new Uint8Array(0),
      BASE_KEY_LENGTH, this.#impl);
    const dataKey = held ? null : await mlsExporter(g.keySchedule.exporterSecret, DATA_EXPORTER_LABEL,
      new Uint8Array(0), BASE_KEY_LENGTH, this.#impl);
    this.#sending = !held;
    this.#outputs.push({
      type: 'epoch', epoch: this.epoch, code: this.verificationCode, roster: [...ids], ownLeaf, indexBits: s,
      ownKid: mlsKid(ownLeaf, this.epoch, s), baseKey, dataKey, held, senders,
    });
  }

  #checkWithheld(now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || this.#withheld) return;
    const w = this.#members.withheld(this.roster, now);
    if (!w) return;
    this.#withheld = true;
    if (this.#sending) this.#outputs.push({ type: 'stop-sending' });
    this.#sending = false;
    this.#error('removal-withheld', w.id, `left ${w.since} ms ago and is still in the group: nothing is sent until `
      + 'it is removed', now);
  }

  async #maybeCommit(now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || this.#pendings.length > 0 || now < this.#retryAt) return;
    const viaServer = hasExternalSender(g);
    const ownLeaf = Number(g.privatePath.leafIndex);
    const proposedRemovals = this.#proposed.filter((p) => !p.add && p.leaf !== ownLeaf).map((p) => p.leaf);
    const proposedAddIds = this.#proposed.filter((p) => p.add).map((p) => connectionIdOf(p.identity));
    const m = this.#members;
    let committer = null;
    const removes = [];
    const inGroup = new Set();
    const roster = rosterOf(g);
    for (const r of roster) {
      const id = connectionIdOf(r.identity);
      inGroup.add(id);
      if (m.departed.has(id)) {
        if (!proposedRemovals.includes(r.leaf)
          && (!viaServer || now >= (m.departedAt.has(id) ? m.departedAt.get(id) : now) + PROPOSAL_WAIT_MILLIS)) {
          removes.push(r.leaf);
        }
      } else if (committer === null) {
        committer = r.leaf;
      }
    }
    if (committer === null || committer !== ownLeaf) return;
    const adds = [];
    const addIds = [];
    for (const [id, bytes] of this.#waiting) {
      if (adds.length + proposedAddIds.length >= MAX_ADDS_PER_COMMIT) break;
      if (!inGroup.has(id) && !m.departed.has(id) && m.announced.has(id) && !proposedAddIds.includes(id)
        && (!viaServer || now >= (m.waitingSince.has(id) ? m.waitingSince.get(id) : now) + PROPOSAL_WAIT_MILLIS)) {
        adds.push(bytes);
        addIds.push(id);
      }
    }
    if (adds.length === 0 && removes.length === 0 && proposedAddIds.length === 0 && proposedRemovals.length === 0) return;
    const removing = removes.length + proposedRemovals.length;
    if (removing > 0 && inGroup.size - removing + adds.length + proposedAddIds.length <= 1) {
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
      // a cached proposal that removes this member is left for another member to commit
      const unapplied = {};
      for (const [ref, p] of Object.entries(g.unappliedProposals || {})) {
        if (!(p.proposal.proposalType === 'remove' && Number(p.proposal.remove.removed) === ownLeaf)) unapplied[ref] = p;
      }
      const r = await createCommit({ state: { ...g, unappliedProposals: unapplied }, cipherSuite: this.#impl },
        { wireAsPublicMessage: true, ratchetTreeExtension: true, extraProposals: proposals });
      // r.consumed (the current epoch's init secret among them) is wiped only if this commit is accepted: until
      // then the current epoch must still be able to apply another member's commit
      const bytes = encodeMlsMessage(r.commit);
      if (this.#pendings.length >= MAX_PENDING) this.#pendings.shift();
      this.#pendings.push({ bytes, state: r.newState, consumed: r.consumed || [] });
      const message = { type: 'mls', payload: toBase64(bytes) };
      const welcomeTo = [...proposedAddIds, ...addIds];
      if (r.welcome && welcomeTo.length > 0) {
        message.welcome = toBase64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }));
        message.welcome_to = welcomeTo;
      }
      const next = rosterOf(r.newState); // `leaves`: up to the last occupied leaf, as the Java SDK
      const leaves = new Array(next.length ? next[next.length - 1].leaf + 1 : 0).fill('');
      for (const x of next) leaves[x.leaf] = connectionIdOf(x.identity);
      if (leaves.length <= MAX_LEAVES_HINT) message.leaves = leaves;
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
