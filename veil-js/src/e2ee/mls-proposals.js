/**
 * The membership checks of the browser MLS key mode on what other parties put into the group (docs/PROTOCOL.md
 * §4.8), for MlsSession (mls-session.js), with the rules of MlsMembership (mls-membership.js):
 *
 * - ProposalCache: one epoch's proposals (the server's as external sender, or a member's). Each is verified (the
 *   server's against the key the group context names, a member's by ts-mls with its membership tag) and checked
 *   against the announced membership before it is cached (at most MAX_PROPOSALS); the references of the refused
 *   ones are remembered (at most MAX_REFUSED) so a commit that includes one is refused too;
 * - decodeServerProposal: an `mls` without `from` is only ever the server's own proposal;
 * - processCommit: another member's commit is applied only if it commits no refused proposal and changes the
 *   roster only as the announced membership allows (checkCommittedRoster).
 */

import {
  unprotectPublicMessage, makeProposalRef, processPublicMessage, emptyPskIndex, zeroOutUint8Array,
} from './vendor/ts-mls.js';
import { constantTimeEqual, fromBase64 } from './bytes.js';
import { verifyCredential, externalSenderKey } from './mls-credential.js';
import { rosterOf, decodeWhole, removedFrom } from './mls-group.js';

/** Proposals cached per epoch at most; more are refused (a server cannot grow the state). */
export const MAX_PROPOSALS = 256;
/** References of refused proposals remembered per epoch. */
export const MAX_REFUSED = 64;

export class ProposalCache {
  /** [{add, identity, leaf, ref}] proposals of the current epoch that passed the checks (cached). */
  proposed = [];
  #refusedRefs = []; // references of the current epoch's refused proposals

  /** A new epoch (or group): nothing cached, nothing refused. */
  clear() {
    this.proposed = [];
    this.#refusedRefs = [];
  }

  /** Remembers the reference of a refused proposal (a commit that includes it is refused). */
  refuse(ref) {
    if (this.#refusedRefs.length < MAX_REFUSED) this.#refusedRefs.push(ref);
  }

  /** Whether `commit` (a Commit's content) includes by reference a proposal refused in this epoch. */
  includesRefused(commit) {
    return commit.proposals.some((p) => p.proposalOrRefType === 'reference'
      && this.#refusedRefs.some((r) => constantTimeEqual(r, p.reference)));
  }

  /**
   * The verdict on proposal `pm` (a PublicMessage of the current epoch of group state `g`) from `from` (null: the
   * server): {error, detail} (not this mode's proposal: report it), {refuse, ref} (refused: remember `ref` and
   * report why), {replay: true} (already cached: ignore), or {content, proposal, made} (cache `made` once ts-mls
   * processed `proposal`). Throws when the signature or the membership tag does not verify.
   */
  async check(g, from, pm, members, impl) {
    const sender = pm.content.sender;
    let key;
    if (sender.senderType === 'external') {
      key = externalSenderKey(g.groupContext.extensions, sender.senderIndex);
      if (!key) return { error: 'rejected', detail: `the group names no external sender ${sender.senderIndex}` };
    } else if (sender.senderType !== 'member' || from === null) {
      return { error: 'rejected', detail: 'proposal from sender type ' + sender.senderType };
    }
    const content = await unprotectPublicMessage(g.keySchedule.membershipKey, g.groupContext, g.ratchetTree, pm,
      impl, key);
    const proposal = content.content.proposal;
    const ref = await makeProposalRef(content, impl.hash);
    const ownLeaf = Number(g.privatePath.leafIndex);
    let made;
    let why;
    if (proposal.proposalType === 'add') {
      const leaf = proposal.add.keyPackage.leafNode;
      made = { add: true, identity: leaf.credential.identity, leaf: -1, ref };
      why = leaf.credential.credentialType !== 'basic' ? 'the added member has no basic credential'
        : !(await verifyCredential(leaf.credential.identity, leaf.signaturePublicKey, impl.signature))
          ? "the added member's device identity does not vouch for its signature key"
          : members.checkAdd(leaf.credential.identity);
    } else if (proposal.proposalType === 'remove') {
      const leaf = Number(proposal.remove.removed);
      const node = g.ratchetTree[2 * leaf];
      if (!node || node.nodeType !== 'leaf') return { refuse: 'removes blank leaf ' + leaf, ref };
      made = { add: false, identity: node.leaf.credential.identity, leaf, ref };
      why = leaf === ownLeaf ? null : members.checkRemove(node.leaf.credential.identity);
    } else {
      return { refuse: 'of type ' + proposal.proposalType + ' is not used in this mode', ref };
    }
    if (why) return { refuse: why, ref };
    if (this.proposed.some((q) => q.add === made.add && q.leaf === made.leaf
      && constantTimeEqual(q.identity, made.identity))) return { replay: true }; // a replay within the epoch
    if (this.proposed.length >= MAX_PROPOSALS) return { refuse: `past the ${MAX_PROPOSALS}th of one epoch`, ref };
    return { content, proposal, made };
  }
}

/**
 * Null if the roster step from group state `before` to `after` (another member's commit applied) adds and removes
 * only what `members` (MlsMembership) allows, each added member's device identity vouching for its leaf; else why.
 */
export async function checkCommittedRoster(before, after, members, impl) {
  const next = rosterOf(after);
  const verified = new Map();
  for (const m of next) verified.set(m.leaf, await verifyCredential(m.identity, m.signatureKey, impl.signature));
  return members.checkRoster(rosterOf(before), next, (m) => verified.get(m.leaf));
}

/**
 * The commit `pm` the delivery service handed back (accepted) in group state `g`: {state} of the epoch it makes
 * (the secrets it consumed wiped), or {refuse: why}. `own`: this member's pending commit with the same bytes
 * (CommitState.find), whose state is taken as built. Another member's commit is refused when it commits a proposal
 * refused in this epoch or changes the roster as the announced membership does not allow (its epoch's secrets are
 * then never used). Throws when ts-mls does not accept it.
 */
export async function processCommit(g, pm, own, proposals, members, impl) {
  if (own) {
    for (const c of own.consumed) zeroOutUint8Array(c);
    return { state: own.state };
  }
  if (proposals.includesRefused(pm.content.commit)) return { refuse: 'includes a proposal this member refused' };
  const r = await processPublicMessage(g, pm, emptyPskIndex, impl);
  const next = r.newState;
  if (!removedFrom(next)) {
    const why = await checkCommittedRoster(g, next, members, impl);
    if (why) return { refuse: why };
  }
  for (const c of r.consumed || []) zeroOutUint8Array(c);
  return { state: next };
}

/** The server's proposal in an `mls` without `from` ({pm}: a PublicMessage), or {reason, detail} to report. */
export function decodeServerProposal(payload) {
  let msg;
  try {
    msg = decodeWhole(fromBase64(payload));
  } catch (e) {
    return { reason: 'malformed', detail: 'server proposal: ' + e.message };
  }
  if (msg.wireformat !== 'mls_public_message' || msg.publicMessage.content.contentType !== 'proposal'
    || msg.publicMessage.content.sender.senderType !== 'external') {
    return { reason: 'rejected', detail: 'the server sends only its own proposals without from' };
  }
  return { pm: msg.publicMessage };
}
