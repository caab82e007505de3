/**
 * The membership the server announced to one MLS member, and the checks every membership change must pass before
 * the member takes part in it (docs/PROTOCOL.md §4.8), as veil-client's MlsSession guard and veil-e2ee's
 * MlsMembershipGuard: an Add only of a connection that was announced (connection.created, at any time in this call,
 * never this member itself), a Remove only of a connection announced as gone (or of this member). Also the clocks of
 * the inline fallback (PROPOSAL_WAIT_MILLIS) and the withheld-removal bound (REMOVAL_BOUND_MILLIS). Pure, no I/O.
 */

import { connectionIdOf } from './mls-credential.js';

/** How long a committer waits for the server's proposal before it adds or removes inline. */
export const PROPOSAL_WAIT_MILLIS = 2000;
/** How long a departed member may stay in the roster before the removal counts as withheld. */
export const REMOVAL_BOUND_MILLIS = 10000;
/** Most connections remembered as announced or departed (a server cannot grow the state without bound). */
export const MAX_REMEMBERED = 4096;

export class MlsMembership {
  constructor(self) {
    this.self = self;
    /** Connections ever announced in this call. */
    this.announced = new Set();
    /** Connections announced as gone. */
    this.departed = new Set();
    /** Departed connections still in the roster -> when their departure was announced. */
    this.departedAt = new Map();
    /** Waiting key packages -> when they arrived. */
    this.waitingSince = new Map();
  }

  joined(id, roster) {
    if (this.announced.size >= MAX_REMEMBERED) {
      for (const a of this.announced) if (!roster.includes(a)) this.announced.delete(a);
    }
    this.announced.add(id);
  }

  left(id, roster, now) {
    if (this.departed.size >= MAX_REMEMBERED) {
      for (const d of this.departed) if (!roster.includes(d)) this.departed.delete(d);
    }
    this.departed.add(id);
    if (roster.includes(id) && !this.departedAt.has(id)) this.departedAt.set(id, now);
    this.waitingSince.delete(id);
  }

  /** A new epoch with `roster` (connection ids). */
  entered(roster, now) {
    for (const id of [...this.departedAt.keys()]) if (!roster.includes(id)) this.departedAt.delete(id);
    for (const id of roster) {
      this.waitingSince.delete(id);
      if (this.departed.has(id) && !this.departedAt.has(id)) this.departedAt.set(id, now); // left before its add
    }
  }

  /** Null if a member with credential identity `identity` may be added, else why not. */
  checkAdd(identity) {
    const cid = connectionIdOf(identity);
    if (!this.announced.has(cid) || cid === this.self) return `adds ${cid}, whose joining was never announced to this member`;
    return null;
  }

  /** Null if the member with credential identity `identity` may be removed, else why not. */
  checkRemove(identity) {
    const cid = connectionIdOf(identity);
    return this.departed.has(cid) ? null : `removes ${cid}, whose leaving was never announced`;
  }

  /**
   * Null if every member the step from `before` to `after` ([{leaf, identity}]) adds or removes passes the checks
   * (`verified(member)` tells whether an added member's device identity vouches for its leaf), else why not.
   */
  checkRoster(before, after, verified) {
    const same = (x, y) => x.leaf === y.leaf && x.identity.length === y.identity.length
      && x.identity.every((b, i) => b === y.identity[i]);
    for (const a of after) {
      if (!before.some((b) => same(a, b))) {
        const why = verified(a) ? this.checkAdd(a.identity) : "a member's device identity does not vouch for its signature key";
        if (why) return why;
      }
    }
    for (const b of before) {
      if (!after.some((a) => same(a, b))) {
        const why = this.checkRemove(b.identity);
        if (why) return why;
      }
    }
    return null;
  }

  /** A departed member still in `roster` REMOVAL_BOUND_MILLIS after its departure, or null. */
  withheld(roster, now) {
    const othersPresent = roster.some((id) => id !== this.self && !this.departed.has(id));
    if (!othersPresent) return null; // alone: nothing is sent anyway (no commit can leave a member alone)
    for (const [id, at] of this.departedAt) {
      if (roster.includes(id) && now >= at + REMOVAL_BOUND_MILLIS) return { id, since: now - at };
    }
    return null;
  }

  /** The earliest fallback or bound deadline after `now`, or Infinity. */
  nextDeadline(roster, waiting, now) {
    let t = Infinity;
    for (const [id, at] of this.departedAt) {
      if (!roster.includes(id)) continue;
      for (const d of [at + PROPOSAL_WAIT_MILLIS, at + REMOVAL_BOUND_MILLIS]) if (d > now) t = Math.min(t, d);
    }
    for (const [id, at] of this.waitingSince) {
      if (waiting.has(id) && at + PROPOSAL_WAIT_MILLIS > now) t = Math.min(t, at + PROPOSAL_WAIT_MILLIS);
    }
    return t;
  }
}
