/**
 * The commits of the browser MLS key mode (docs/PROTOCOL.md §4.3), for MlsSession (mls-session.js):
 *
 * - CommitState: the two-phase commit of one member. An own commit waits (at most MAX_PENDING of one epoch) until
 *   the delivery service hands it back as accepted; a `refused` for the current epoch drops them and starts a
 *   back-off (retryDelay, as veil-client's MlsSession) that a new epoch ends;
 * - planCommit: whether this member commits now (the lowest leaf whose connection is still in the channel) and what:
 *   the adds of waiting key packages (at most MAX_ADDS_PER_COMMIT), the removals of departed members, the cached
 *   proposals (§4.8: inline only what the server did not propose within PROPOSAL_WAIT_MILLIS), or 'alone';
 * - buildCommit: the commit as a PublicMessage with its Welcome (ratchet tree inline) and `leaves` hint.
 */

import { createCommit, encodeMlsMessage } from './vendor/ts-mls.js';
import { toBase64 } from './bytes.js';
import { connectionIdOf } from './mls-credential.js';
import { PROPOSAL_WAIT_MILLIS } from './mls-membership.js';
import { decodeWhole, rosterOf, hasExternalSender } from './mls-group.js';

/** Most members one commit adds. */
export const MAX_ADDS_PER_COMMIT = 16;
/** Own commits of one epoch that wait for the delivery service's verdict. */
export const MAX_PENDING = 4;
/** Most elements of a commit's `leaves` hint (as the server's codec, docs/PROTOCOL.md §4.8). */
export const MAX_LEAVES_HINT = 1000;
/** Shortest back-off after a refusal for the current epoch (as veil-client's MlsSession.RETRY_MIN_MILLIS). */
export const RETRY_MIN_MILLIS = 500;
/** Longest back-off after refusals (as veil-client's MlsSession.RETRY_MAX_MILLIS). */
export const RETRY_MAX_MILLIS = 8000;

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

/** Own commits waiting for the delivery service's verdict, and the back-off after refusals. */
export class CommitState {
  #pendings = []; // [{bytes, state, consumed}] own commits of the current epoch
  #retryAt = -Infinity; // no commit before this time (a refusal for the current epoch)
  #refusals = 0; // refusals for the current epoch in a row (the back-off's exponent)
  #random;

  /** @param {() => number} [random]  [0, 1) for the back-off's jitter (default: the CSPRNG) */
  constructor(random) {
    this.#random = typeof random === 'function' ? random : defaultRandom;
  }

  /** Whether a commit may be made at `now`: none is pending and no back-off runs. */
  mayCommit(now) {
    return this.#pendings.length === 0 && now >= this.#retryAt;
  }

  /** The end of the back-off if it is after `now`, else Infinity. */
  retryDeadline(now) {
    return this.#retryAt > now ? this.#retryAt : Infinity;
  }

  /** An own commit sent: `state` is the epoch it makes, `consumed` the secrets to wipe once it is accepted. */
  sent(bytes, state, consumed) {
    if (this.#pendings.length >= MAX_PENDING) this.#pendings.shift();
    this.#pendings.push({ bytes, state, consumed });
  }

  /** The pending own commit whose encoding is `bytes` (handed back: accepted), or undefined. */
  find(bytes, equal) {
    return this.#pendings.find((p) => p.bytes.length === bytes.length && equal(p.bytes, bytes));
  }

  /** The own commits are void (another commit decided the epoch, or this member left the group's path). */
  drop() {
    this.#pendings = [];
  }

  /**
   * The delivery service refused a message of the current epoch (another's commit still on its way, or the server
   * refused this one): the own commits go and a back-off starts. The accepted commit, if any, is applied when it
   * comes (newEpoch() ends the back-off); the work is redone only if still needed.
   */
  refused(now) {
    this.#pendings = [];
    this.#refusals = Math.min(this.#refusals + 1, 30);
    this.#retryAt = now + retryDelay(this.#refusals, this.#random);
  }

  /** A new epoch: no back-off. */
  newEpoch() {
    this.#retryAt = -Infinity;
    this.#refusals = 0;
  }

  /** A new group, or none: nothing pending, no back-off. */
  reset() {
    this.drop();
    this.newEpoch();
  }
}

/**
 * What this member commits in group state `g` now, or null (not the committer, or nothing to do):
 * {alone: true} (a commit would leave it alone: stop sending, remove with the next add), or {adds (key package
 * bytes), addIds, removes (leaves), proposedAddIds (ids the cached proposals add)}.
 * @param {{g: object, members: import('./mls-membership.js').MlsMembership, waiting: Map<string, Uint8Array>,
 *   proposed: Array<{add: boolean, identity: Uint8Array, leaf: number}>, now: number}} s
 */
export function planCommit({ g, members, waiting, proposed, now }) {
  const viaServer = hasExternalSender(g);
  const ownLeaf = Number(g.privatePath.leafIndex);
  const proposedRemovals = proposed.filter((p) => !p.add && p.leaf !== ownLeaf).map((p) => p.leaf);
  const proposedAddIds = proposed.filter((p) => p.add).map((p) => connectionIdOf(p.identity));
  const m = members;
  let committer = null;
  const removes = [];
  const inGroup = new Set();
  for (const r of rosterOf(g)) {
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
  if (committer === null || committer !== ownLeaf) return null;
  const adds = [];
  const addIds = [];
  for (const [id, bytes] of waiting) {
    if (adds.length + proposedAddIds.length >= MAX_ADDS_PER_COMMIT) break;
    if (!inGroup.has(id) && !m.departed.has(id) && m.announced.has(id) && !proposedAddIds.includes(id)
      && (!viaServer || now >= (m.waitingSince.has(id) ? m.waitingSince.get(id) : now) + PROPOSAL_WAIT_MILLIS)) {
      adds.push(bytes);
      addIds.push(id);
    }
  }
  if (adds.length === 0 && removes.length === 0 && proposedAddIds.length === 0 && proposedRemovals.length === 0) {
    return null;
  }
  const removing = removes.length + proposedRemovals.length;
  if (removing > 0 && inGroup.size - removing + adds.length + proposedAddIds.length <= 1) return { alone: true };
  return { adds, addIds, removes, proposedAddIds };
}

/**
 * Builds the commit of `plan` (planCommit) in group state `g`: {message (the `mls` signaling message: payload,
 * welcome and welcome_to when it adds, leaves), bytes, state (the epoch it makes), consumed}. Throws on a bad key
 * package. The cached proposals go by reference, except one that removes this member (left to another member).
 */
export async function buildCommit(g, impl, plan) {
  const ownLeaf = Number(g.privatePath.leafIndex);
  const proposals = [
    ...plan.adds.map((b) => ({ proposalType: 'add', add: { keyPackage: decodeWhole(b).keyPackage } })),
    ...plan.removes.map((leaf) => ({ proposalType: 'remove', remove: { removed: leaf } })),
  ];
  const unapplied = {};
  for (const [ref, p] of Object.entries(g.unappliedProposals || {})) {
    if (!(p.proposal.proposalType === 'remove' && Number(p.proposal.remove.removed) === ownLeaf)) unapplied[ref] = p;
  }
  const r = await createCommit({ state: { ...g, unappliedProposals: unapplied }, cipherSuite: impl },
    { wireAsPublicMessage: true, ratchetTreeExtension: true, extraProposals: proposals });
  const bytes = encodeMlsMessage(r.commit);
  const message = { type: 'mls', payload: toBase64(bytes) };
  const welcomeTo = [...plan.proposedAddIds, ...plan.addIds];
  if (r.welcome && welcomeTo.length > 0) {
    message.welcome = toBase64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }));
    message.welcome_to = welcomeTo;
  }
  const next = rosterOf(r.newState); // `leaves`: up to the last occupied leaf, as the Java SDK
  const leaves = new Array(next.length ? next[next.length - 1].leaf + 1 : 0).fill('');
  for (const x of next) leaves[x.leaf] = connectionIdOf(x.identity);
  if (leaves.length <= MAX_LEAVES_HINT) message.leaves = leaves;
  return { message, bytes, state: r.newState, consumed: r.consumed || [] };
}
