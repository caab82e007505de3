/**
 * The MLS key mode of one browser connection (docs/PROTOCOL.md §4.3): one MLS group (RFC 9420, cipher suite 1) per
 * channel, driven by the server's delivery service, on ts-mls (bundled as ./vendor/ts-mls.js). The browser's
 * counterpart of veil-client's MlsSession and veil-e2ee's MlsGroupSession, with the same rules, so Java and browser
 * members share one group:
 *
 * - credential: basic, identity = UTF-8 of the connection id, or with a device identity the form of §4.9
 *   (mls-credential.js); the roster (leaf index → connection id) is the MLS tree, not the server's notify list;
 * - handshake messages are PublicMessages; a commit that adds members comes with a Welcome (ratchet tree inline);
 * - commits are two-phase (mls-commit.js): a member applies its commit only when the delivery service hands it back
 *   as accepted; if another commit wins the epoch, that one is applied and the own ones dropped; a message of an
 *   earlier epoch is ignored, of a later one reported (out-of-sync); a `refused` for the current epoch drops the own
 *   commits and backs off (as the Java SDK, jittered) until the accepted commit is applied or the back-off ends,
 *   then the work is done again only if still needed;
 * - who commits (mls-commit.js planCommit): the member with the lowest leaf whose connection is still in the channel
 *   adds waiting key packages whose credential names the connection the server stamped as sender and announced,
 *   and removes departed members; alone (bcmls cannot commit a group of one, as the Java SDK) it stops sending;
 * - the server as external sender (§4.8, mls-proposals.js): its proposals (`mls` without `from`) are verified and
 *   checked against the announced membership (mls-membership.js) before they are cached and committed by reference.
 *   In every group, another member's commit whose roster change does not match the announced membership, or that
 *   commits a refused proposal, is not applied: this member stops sending ('commit-refused'). A departed member
 *   still in the roster REMOVAL_BOUND_MILLIS after its departure is reported ('removal-withheld') and nothing is
 *   sent until an epoch without it.
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
 * Parts: mls-group.js (suite, key packages, roster, the epoch's exported keys), mls-commit.js, mls-proposals.js,
 * mls-membership.js, mls-inputs.js (input queue, error rate limit). This file: the inputs, the epochs, the outputs.
 */

import { joinGroup, processProposal, emptyPskIndex } from './vendor/ts-mls.js';
import { fromBase64, constantTimeEqual } from './bytes.js';
import { verificationCodeOf } from './mls-kid.js';
import { connectionIdOf } from './mls-credential.js';
import { MlsMembership } from './mls-membership.js';
import {
  mlsCipherSuite, newKeyPackage, keyPackageMessage, checkKeyPackage, parseCreate, foundGroup, epochVerdict,
  removedFrom, decodeWhole, rosterOf, hasExternalSender, epochOutput,
} from './mls-group.js';
import { CommitState, planCommit, buildCommit } from './mls-commit.js';
import { ProposalCache, decodeServerProposal, processCommit } from './mls-proposals.js';
import { InputQueue, ErrorReports } from './mls-inputs.js';

/** Longest `mls` payload or welcome taken, in base64 characters (as the server's codec). */
export const MAX_MLS_PAYLOAD_CHARS = 96 * 1024;
/** Key packages kept waiting to be added (one per connection; more are refused). */
export const MAX_WAITING = 256;
/** Inputs queued at most; more are refused (a hostile server could send any number). */
export const MAX_QUEUED_INPUTS = 1024;

export class MlsSession {
  #impl = null;
  #inputs = new InputQueue(MAX_QUEUED_INPUTS);
  #outputs = [];
  #self = null;
  #kp = null; // {publicPackage, privatePackage}
  #group = null; // ts-mls ClientState
  #commits; // CommitState: own commits waiting for the verdict, back-off after refusals
  #waiting = new Map(); // connection id -> key package bytes
  #members = null; // MlsMembership, made at start()
  #proposals = new ProposalCache(); // the current epoch's cached and refused proposals
  #refusedCommit = false; // a commit was refused: out of the group's path, nothing sent
  #withheld = false; // a departed member stayed past the bound: nothing sent until an epoch without it
  #device;
  #offerExternalSender;
  #removed = false;
  #destroyed = false;
  #errors = new ErrorReports();
  #sending = false;

  /**
   * @param {{device?: object, externalSender?: boolean, random?: () => number}} [options]  device: a DeviceIdentity
   *   whose key vouches for this member's leaves (§4.9); externalSender: a group this member founds names the server
   *   (§4.8); random: [0, 1) for the back-off's jitter after a refusal (tests pass a seeded one; default CSPRNG)
   */
  constructor(options = {}) {
    this.#commits = new CommitState(options.random);
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
    return Math.min(this.#members.nextDeadline(this.roster, this.#waiting, now), this.#commits.retryDeadline(now));
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
  idle() {
    return this.#inputs.idle();
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
    if (this.#inputs.full) {
      this.#error('buffer-full', null, 'too many MLS inputs queued', now);
      return Promise.resolve();
    }
    return this.#inputs.run(async () => {
      if (this.#destroyed || this.#self === null) return;
      if (!this.#impl) this.#impl = await mlsCipherSuite();
      await op();
    }, (e) => this.#error('internal', null, e && e.message, now));
  }

  #reset() {
    this.#stopSending();
    this.#group = null;
    this.#kp = null;
    this.#commits.reset();
    this.#waiting.clear();
    this.#proposals.clear();
    this.#refusedCommit = false;
    this.#withheld = false;
    this.#removed = false;
    this.roster = [];
    this.verificationCode = null;
    this.epoch = -1n;
  }

  async #onEvent(ev, now) {
    const event = ev && ev.event;
    if (event === 'create') {
      this.#reset();
      const c = parseCreate(ev, this.#offerExternalSender);
      if (c.error) {
        this.#error('create-failed', null, c.error, now);
        return;
      }
      this.#kp = await newKeyPackage(this.#impl, this.#self, this.#device);
      this.#group = await foundGroup(c.gid, c.extensions, this.#kp, this.#impl);
      await this.#entered(now);
    } else if (event === 'join') {
      this.#reset();
      this.#kp = await newKeyPackage(this.#impl, this.#self, this.#device);
      this.#outputs.push({ type: 'send', message: keyPackageMessage(this.#kp) });
    } else if (event === 'refused') {
      // The delivery service hands out the accepted commit of an epoch before it refuses the others: a refusal for
      // an epoch this member already left concerns nothing pending now (dropping its commits of the current epoch
      // would make it fail on its own accepted commit and commit again, forever). See CommitState.refused().
      this.#error('refused', null, typeof ev.reason === 'string' ? ev.reason.slice(0, 300) : '', now);
      const refusedEpoch = Number.isSafeInteger(ev.epoch) && ev.epoch >= 0 ? BigInt(ev.epoch) : null;
      if (this.#group && !this.#removed
        && (refusedEpoch === null || refusedEpoch === this.#group.groupContext.epoch)) {
        this.#commits.refused(now);
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
    const bad = await checkKeyPackage(from, kp, this.#impl);
    if (bad) {
      this.#error(bad.reason, from, bad.detail, now);
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
    const v = epochVerdict(this.#group, pm);
    if (v === null || v === 'stale') return v;
    this.#error(v.reason, from, v.detail, now);
    return 'bad';
  }

  /** A proposal the server made as external sender (an `mls` without `from`). */
  async #onServerProposal(payload, now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || !hasExternalSender(g)) return; // not naming the server
    const msg = decodeServerProposal(payload);
    if (!msg.pm) {
      this.#error(msg.reason, null, msg.detail, now);
      return;
    }
    try {
      await this.#onProposal(null, msg.pm, now);
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
    // throws (reported 'rejected') when the signature or membership tag does not verify
    const v = await this.#proposals.check(this.#group, from, pm, this.#members, this.#impl);
    if (v.error) {
      this.#error(v.error, from, v.detail, now);
      return;
    }
    if (v.refuse) {
      this.#refuseProposal(from, v.ref, v.refuse, now);
      return;
    }
    if (v.replay) return;
    this.#group = await processProposal(this.#group, v.content, v.proposal, this.#impl.hash);
    this.#proposals.proposed.push(v.made);
    this.proposalsCached++;
    await this.#maybeCommit(now);
  }

  #refuseProposal(from, ref, why, now) {
    this.#proposals.refuse(ref);
    this.#error('proposal-refused', from, 'a proposal ' + why, now);
  }

  /** Refuses a commit: this member stays out of the epoch the others enter, deletes its keys and sends nothing. */
  #refuseCommit(from, why, now) {
    this.#refusedCommit = true;
    this.#commits.drop();
    this.#stopSending();
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
    const r = await processCommit(g, pm, this.#commits.find(bytes, constantTimeEqual), this.#proposals,
      this.#members, this.#impl);
    if (r.refuse) {
      this.#refuseCommit(from, r.refuse, now); // the new epoch's secrets are never used; the old state stays
      return;
    }
    const next = r.state;
    this.#commits.drop();
    this.#proposals.clear();
    if (removedFrom(next)) {
      this.#removed = true;
      this.#group = null;
      this.#stopSending();
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
    const ids = rosterOf(g).map((m) => connectionIdOf(m.identity));
    this.#commits.newEpoch();
    this.epoch = g.groupContext.epoch;
    this.roster = ids;
    this.verificationCode = verificationCodeOf(g.keySchedule.epochAuthenticator);
    for (const id of ids) this.#waiting.delete(id);
    this.#members.entered(ids, now);
    if (this.#withheld && !this.#members.withheld(ids, Infinity)) this.#withheld = false;
    const held = this.#withheld;
    const out = await epochOutput(g, this.#impl, held);
    this.#sending = !held;
    this.#outputs.push(out);
  }

  #checkWithheld(now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || this.#withheld) return;
    const w = this.#members.withheld(this.roster, now);
    if (!w) return;
    this.#withheld = true;
    this.#stopSending();
    this.#error('removal-withheld', w.id, `left ${w.since} ms ago and is still in the group: nothing is sent until `
      + 'it is removed', now);
  }

  async #maybeCommit(now) {
    const g = this.#group;
    if (g === null || this.#removed || this.#refusedCommit || !this.#commits.mayCommit(now)) return;
    const plan = planCommit({ g, members: this.#members, waiting: this.#waiting, proposed: this.#proposals.proposed,
      now });
    if (plan === null) return;
    if (plan.alone) {
      // alone: stop sending, remove with the next add (as the Java SDK, docs/PROTOCOL.md §4.3)
      this.#stopSending();
      return;
    }
    try {
      const c = await buildCommit(g, this.#impl, plan);
      // c.consumed (the current epoch's init secret among them) is wiped only if this commit is accepted: until
      // then the current epoch must still be able to apply another member's commit
      this.#commits.sent(c.bytes, c.state, c.consumed);
      this.commitsSent++;
      this.#outputs.push({ type: 'send', message: c.message });
    } catch (e) {
      // a bad key package: forget it, so one broken client cannot stall the group
      for (const id of plan.addIds) this.#waiting.delete(id);
      this.#error('commit-failed', null, e && e.message ? e.message : String(e), now);
    }
  }

  #error(reason, from, detail, now) {
    const e = this.#errors.make(reason, from, detail, now);
    if (e) this.#outputs.push(e);
  }

  /** Every frame key must go. */
  #stopSending() {
    if (this.#sending) this.#outputs.push({ type: 'stop-sending' });
    this.#sending = false;
  }
}
