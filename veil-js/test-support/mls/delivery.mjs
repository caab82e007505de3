// An in-memory delivery service for MLS-mode tests of src/e2ee/mls-session.js: the rules of the server's
// MlsDeliveryService (docs/PROTOCOL.md §4.2) over MlsSession members, pumped deterministically (one delivery at a
// time, in order, each member idle before the next; no timers).
//   const ds = new Delivery();  await ds.join('a');  await ds.join('b');  await ds.settle();
//   ds.members.get('a').session / .epochs (every 'epoch' output) / .errors
//   ds.leave('b'); ds.drop = (to, msg) => true  (lose a delivery)
//   ds.refuse = (from, content) => reason | null  (refuse a handshake message of the current epoch, e.g. a commit)
//   ds.refusalsFirst = true  (a refusal overtakes what is queued for its member: it arrives before the winner)
//   ds.advanceTo(t)  (the clock jumps to t: every member's due timeout() runs, then the group settles)
//   ds.join(id, {random})  (MlsSession options)
import { MlsSession } from '../../src/e2ee/mls-session.js';
import { decodeWhole } from '../../src/e2ee/mls-group.js';
import { toBase64, fromBase64 } from '../../src/e2ee/bytes.js';

export class Delivery {
  constructor() {
    this.members = new Map(); // id -> {session, epochs, errors, sent}
    this.group = null; // {gid, generation, epoch, in: Set(ids)}
    this.generation = 0;
    this.waitingKeyPackages = new Map(); // id -> payload (base64)
    this.queue = []; // [{to, kind: 'event'|'message'|'joined'|'left', ...}]
    this.refusals = 0;
    this.accepted = 0;
    this.now = 0;
    this.drop = null;
    this.refuse = null;
    this.refusalsFirst = false;
  }

  async join(id, options = {}) {
    const m = { id, session: new MlsSession(options), epochs: [], errors: [], stops: 0, sent: 0 };
    m.session.start(id);
    const others = [...this.members.keys()];
    this.members.set(id, m);
    for (const o of others) {
      this.queue.push({ to: o, kind: 'joined', id });
      this.queue.push({ to: id, kind: 'joined', id: o });
    }
    if (this.group === null) this.#found(id);
    else this.queue.push({ to: id, kind: 'event', ev: { event: 'join', group_id: toBase64(this.group.gid) } });
    await this.settle();
  }

  #found(id) {
    this.generation++;
    const gid = new TextEncoder().encode('room#' + this.generation);
    this.group = { gid, epoch: 0n, in: new Set([id]) };
    this.queue.push({ to: id, kind: 'event', ev: { event: 'create', group_id: toBase64(gid) } });
  }

  async leave(id) {
    const m = this.members.get(id);
    this.members.delete(id);
    if (m) m.session.destroy();
    this.waitingKeyPackages.delete(id);
    if (this.group) this.group.in.delete(id);
    for (const o of this.members.keys()) this.queue.push({ to: o, kind: 'left', id });
    if (this.group && this.group.in.size === 0) {
      this.group = null;
      const rest = [...this.members.keys()];
      if (rest.length > 0) {
        this.#found(rest[0]);
        for (const o of rest.slice(1)) {
          this.queue.push({ to: o, kind: 'event', ev: { event: 'join', group_id: toBase64(this.group.gid) } });
        }
      }
    }
    await this.settle();
  }

  /** The clock jumps to `t` (never back): each member whose nextTimeout() falls by then runs timeout(t); settles. */
  async advanceTo(t) {
    const due = [...this.members.values()].filter((m) => m.session.nextTimeout(this.now) <= t);
    this.now = Math.max(this.now, t);
    for (const m of due) m.session.timeout(this.now);
    await this.settle();
  }

  /** Delivers until nothing is left to deliver or produce. */
  async settle(limit = 10000) {
    for (let i = 0; i < limit; i++) {
      await this.#collect();
      const d = this.queue.shift();
      if (!d) return;
      const m = this.members.get(d.to);
      if (!m) continue;
      if (this.drop && this.drop(d.to, d)) continue;
      this.now += 1;
      if (d.kind === 'event') m.session.onEvent(d.ev, this.now);
      else if (d.kind === 'message') m.session.onMessage(d.from, d.payload, this.now);
      else if (d.kind === 'joined') m.session.memberJoined(d.id, this.now);
      else m.session.memberLeft(d.id, this.now);
      await m.session.idle();
    }
    throw new Error('the group did not settle');
  }

  async #collect() {
    for (const m of this.members.values()) {
      await m.session.idle();
      for (const o of m.session.drainOutputs()) {
        if (o.type === 'epoch') m.epochs.push(o);
        else if (o.type === 'error') m.errors.push(o);
        else if (o.type === 'stop-sending') m.stops++;
        else if (o.type === 'send') {
          m.sent++;
          this.#fromClient(m.id, o.message);
        }
      }
    }
  }

  #fromClient(from, msg) {
    const g = this.group;
    const parsed = decodeWhole(fromBase64(msg.payload));
    if (parsed.wireformat === 'mls_key_package') {
      if (!g || g.in.has(from)) return;
      this.waitingKeyPackages.set(from, msg.payload);
      for (const o of g.in) this.queue.push({ to: o, kind: 'message', from, payload: msg.payload });
      return;
    }
    if (!g || !g.in.has(from) || parsed.wireformat !== 'mls_public_message') return;
    const content = parsed.publicMessage.content;
    const why = content.epoch !== g.epoch ? `stale epoch ${content.epoch}: the channel is at epoch ${g.epoch}`
      : this.refuse ? this.refuse(from, content) : null;
    if (why) {
      this.refusals++;
      const d = { to: from, kind: 'event', ev: { event: 'refused', epoch: Number(content.epoch), reason: why } };
      if (this.refusalsFirst) this.queue.unshift(d);
      else this.queue.push(d);
      return;
    }
    if (content.contentType === 'commit') {
      g.epoch++;
      this.accepted++;
      for (const o of g.in) this.queue.push({ to: o, kind: 'message', from, payload: msg.payload });
      if (msg.welcome) {
        for (const to of msg.welcome_to) {
          if (!this.members.has(to)) continue;
          g.in.add(to);
          this.waitingKeyPackages.delete(to);
          this.queue.push({ to, kind: 'message', from, payload: msg.welcome });
          for (const [k, p] of this.waitingKeyPackages) this.queue.push({ to, kind: 'message', from: k, payload: p });
        }
      }
    } else {
      for (const o of g.in) this.queue.push({ to: o, kind: 'message', from, payload: msg.payload });
    }
  }
}
