/**
 * The group key manager of one member, speaking veil-e2ee's dev.veil.e2ee.group protocol (docs/PROTOCOL.md §3.5):
 * a sans-IO state machine that decides which media key this member encrypts with and which keys it gives to whom.
 *
 * Inputs (each with the caller's monotonic clock in ms): membersJoined / memberJoined (connection.created, and the
 * list of members already present that a newcomer receives), memberLeft (connection.destroyed), messageReceived (an
 * E2EE relay message, with the sender the server stamped), handleTimeout. Outputs: drainOutputs() after every
 * input; pollTimeout() says when to call handleTimeout next.
 *
 * WebCrypto is asynchronous, so every input returns a promise; inputs are queued and run one at a time, in call
 * order, so the state machine never interleaves with itself.
 *
 * Rules (own send key active = (g, s), at most one pending key):
 *   start  a random key (0, 0), activated at once
 *   J1     join of X, no pending key, s < 255: ratchet active to (g, s+1) and activate it; send X a KEY (ACTIVE) with
 *          it; also send it to any member whose last KEY from us is of another generation or > refreshSteps behind
 *   J2     join of X while a key is pending: send X the pending key (PENDING) and wait for X's ack too
 *   J3     join of X, no pending key, s == 255: as a leave
 *   L      leave of Y: forget Y's keys; draw a fresh random pending key of generation max(g, pending g) + 1,
 *          replacing any pending key, send it (PENDING) to every remaining member; activate it once every member it
 *          was sent to acked it, or at its deadline, or at once if nobody is left. The deadline is
 *          activationTimeoutMillis after the leave that started the pending rotation and never moves later (a key
 *          replacing a pending one keeps the earlier deadline)
 *   KEY    install it for its sender if its KID is above the last KEY from that sender and ack it (ACTIVE and
 *          PENDING alike); the same KID again (a retransmission) is acked again, not installed; lower: 'stale-key'
 *   R      a KEY stays unacknowledged until the peer's KEY_ACK of its KID; the newest key owed to the peer (the
 *          pending key it was sent, else the active key) is sent again after retransmitInitialMillis, doubling up to
 *          retransmitMaxMillis, at most maxRetransmits times
 *   early  a message from a connection not yet announced is kept (bounded in count and bytes, checked before the
 *          copy) and processed right after its join; departed ids are remembered up to maxDeparted (oldest first)
 *
 * Outputs (plain objects; key bytes are fresh copies owned by the caller):
 *   {type: 'send', to, message}                       seal done: hand `message` to the E2EE relay for `to`
 *   {type: 'install-key', sender, kid, baseKey}       add to `sender`'s receive ring (keep the older keys)
 *   {type: 'activate-send-key', kid, baseKey}         encrypt every frame from now on under kid
 *   {type: 'forget-sender', connectionId}             drop every key of that member
 *   {type: 'rejected', from, reason, detail}          an input was refused and changed nothing
 * Reject reasons: 'malformed', 'unsupported-version', 'wrong-recipient', 'wrong-sender', 'replay', 'bad-tag',
 * 'bad-bundle', 'malformed-key-message', 'stale-key', 'unknown-sender', 'buffer-full', 'duplicate-member', 'self'.
 */

import { E2EEError } from './errors.js';
import { isValidConnectionId, verificationCode } from './identity.js';
import { PairwiseChannel } from './pairwise.js';
import { encodeKey, encodeKeyAck, decodeKeyMessage } from './keymessages.js';
import { kidOf, splitKid, MAX_STEP, MAX_GENERATION } from './keyring.js';
import { veilRatchet, BASE_KEY_LENGTH } from './ratchet.js';

/**
 * veil-e2ee's GroupKeyManager.Config.DEFAULT: 1.5 s activation deadline after a leave (never moved later), refresh
 * after 8 steps, 16 early messages per sender x 64 senders (1 KiB each, 64 KiB in all), KEY retransmission after
 * 250 ms doubling to 2 s, at most 10 times, 4096 departed ids remembered.
 */
export const DEFAULT_CONFIG = Object.freeze({
  activationTimeoutMillis: 1500,
  refreshSteps: 8,
  maxEarlyMessagesPerSender: 16,
  maxEarlySenders: 64,
  retransmitInitialMillis: 250,
  retransmitMaxMillis: 2000,
  maxRetransmits: 10,
  maxMessageBytes: 1024,
  maxEarlyBytes: 65536,
  maxDeparted: 4096,
});

/** Members kept at most (veil-e2ee's GroupKeyManager.MAX_MEMBERS): a join beyond is refused ('buffer-full'). */
export const MAX_MEMBERS = 1000;

const PAIRWISE_REJECTS = new Set(['malformed', 'unsupported-version', 'wrong-recipient', 'wrong-sender', 'replay',
  'bad-tag']);

function defaultRandom(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

export class GroupKeyManager {
  #identity;
  #self;
  #random;
  #config;
  #peers = new Map(); // id -> {bundle, channel, lastSent, lastReceived, unacked: kid|null, retransmitAt, delay, count}
  #gone = new Set(); // insertion order = departure order (bounded)
  #early = new Map(); // id -> [message]
  #earlyBytes = 0;
  #outputs = [];
  #activeId = 0n;
  #activeKey;
  #pending = null; // {id, key, awaiting: Set, deadline}
  #destroyed = false;
  #queue = Promise.resolve();
  #ratchet;

  /**
   * @param identity the Identity whose bundle this connection published
   * @param selfConnectionId this connection's id
   * @param {{random?: (n: number) => Uint8Array, config?: object, ratchet?: (key: Uint8Array) => Promise<Uint8Array>}}
   *   [options] random bytes (seed it in tests), config overrides of DEFAULT_CONFIG, and the join ratchet:
   *   veilRatchet (default, SFrame; §3.5 rule 2) or jframeRatchet for JFrame calls, whose receivers catch up with
   *   Jitsi's ratchet-on-failure (8 steps, the refresh bound)
   */
  constructor(identity, selfConnectionId, options = {}) {
    if (!isValidConnectionId(selfConnectionId)) throw new E2EEError('malformed', 'invalid own connection id');
    this.#identity = identity;
    this.#self = selfConnectionId;
    this.#random = options.random || defaultRandom;
    this.#ratchet = options.ratchet || veilRatchet;
    this.#config = { ...DEFAULT_CONFIG, ...(options.config || {}) };
    const c = this.#config;
    if (c.activationTimeoutMillis < 0 || c.refreshSteps < 1 || c.refreshSteps > MAX_STEP
      || c.maxEarlyMessagesPerSender < 0 || c.maxEarlySenders < 0 || c.retransmitInitialMillis < 1
      || c.retransmitMaxMillis < c.retransmitInitialMillis || c.maxRetransmits < 0 || c.maxMessageBytes < 1
      || c.maxEarlyBytes < 0 || c.maxDeparted < 1) {
      throw new RangeError('invalid group key manager config');
    }
    this.#activeKey = this.#randomKey();
    this.#outputs.push({ type: 'activate-send-key', kid: this.#activeId, baseKey: Uint8Array.from(this.#activeKey) });
  }

  #run(op) {
    const p = this.#queue.then(() => {
      if (this.#destroyed) throw new E2EEError('destroyed', 'group key manager has been destroyed');
      return op();
    });
    this.#queue = p.catch(() => {});
    return p;
  }

  // ------------------------------------------------------------------ inputs

  /** One member joined. */
  memberJoined(now, bundle) {
    return this.membersJoined(now, [bundle]);
  }

  /**
   * Members joined: one connection.created notification, or the list a newcomer receives (one ratchet step for the
   * whole list). Each Bundle carries the connection id of the notification; bad bundles are rejected one by one.
   */
  membersJoined(now, bundles) {
    const list = [...bundles];
    return this.#run(() => this.#membersJoined(now, list));
  }

  /** A member left. Unknown ids are remembered so their late messages are refused. */
  memberLeft(now, connectionId) {
    return this.#run(() => this.#memberLeft(now, connectionId));
  }

  /** An E2EE relay message (bytes); `from` is the sender the server stamped on it. */
  messageReceived(now, from, message) {
    if (message.length > this.#config.maxMessageBytes) {
      // refused before the copy: the server chooses the size
      return this.#run(() => this.#reject(from, 'malformed', 'longer than ' + this.#config.maxMessageBytes + ' bytes'));
    }
    const m = Uint8Array.from(message);
    return this.#run(() => this.#messageReceived(now, from, m));
  }

  /** The clock reached `now`: activates a pending key past its deadline, resends every overdue KEY (rule R). */
  handleTimeout(now) {
    return this.#run(async () => {
      if (this.#pending && now >= this.#pending.deadline) this.#activatePending();
      for (const p of [...this.#peers.values()]) {
        if (p.unacked !== null && now >= p.retransmitAt) await this.#retransmit(p, now);
      }
    });
  }

  /** Resolves once every input queued so far has been processed. */
  idle() {
    return this.#queue;
  }

  // ------------------------------------------------------------------ outputs and queries

  /** All queued outputs, in order. */
  drainOutputs() {
    const out = this.#outputs;
    this.#outputs = [];
    return out;
  }

  /** The next output, or null. */
  pollOutput() {
    return this.#outputs.shift() || null;
  }

  /** When handleTimeout must be called next (a pending key's deadline, a retransmission), or null. */
  pollTimeout() {
    let t = this.#pending ? this.#pending.deadline : null;
    for (const p of this.#peers.values()) {
      if (p.unacked !== null && (t === null || p.retransmitAt < t)) t = p.retransmitAt;
    }
    return t;
  }

  /** The pending key's deadline (it never moves later), or null. */
  get pendingDeadline() {
    return this.#pending ? this.#pending.deadline : null;
  }

  get selfConnectionId() {
    return this.#self;
  }

  /** The KID (BigInt) this member encrypts with now. */
  get activeKeyId() {
    return this.#activeId;
  }

  /** The KID of the key waiting for acks, or null. */
  get pendingKeyId() {
    return this.#pending ? this.#pending.id : null;
  }

  /** The members this manager knows (their Bundles), in join order. */
  members() {
    return [...this.#peers.values()].map((p) => p.bundle);
  }

  /** The room verification code of this member's view (itself and every member it knows): {hash, display}. */
  verificationCode() {
    const ms = [{ connectionId: this.#self, identityKey: this.#identity.identityKey }];
    for (const p of this.#peers.values()) ms.push({ connectionId: p.bundle.connectionId, identityKey: p.bundle.identityKey });
    return verificationCode(ms);
  }

  /** Wipes the own keys, every pairwise channel and the identity; later inputs reject with 'destroyed'. */
  destroy() {
    this.#destroyed = true;
    this.#activeKey.fill(0);
    if (this.#pending) this.#pending.key.fill(0);
    this.#pending = null;
    for (const p of this.#peers.values()) p.channel.destroy();
    this.#peers.clear();
    this.#early.clear();
    this.#earlyBytes = 0;
    this.#outputs = [];
    this.#identity.destroy();
  }

  get destroyed() {
    return this.#destroyed;
  }

  // ------------------------------------------------------------------ internals

  async #membersJoined(now, bundles) {
    const added = [];
    for (const b of bundles) {
      const id = b.connectionId;
      if (id === this.#self) {
        this.#reject(id, 'self', 'join names this connection');
      } else if (this.#peers.has(id)) {
        this.#reject(id, 'duplicate-member', 'already a member');
      } else if (this.#gone.has(id)) {
        this.#reject(id, 'unknown-sender', 'join of a connection that already left');
      } else if (this.#peers.size >= MAX_MEMBERS) {
        this.#reject(id, 'buffer-full', 'more than ' + MAX_MEMBERS + ' members');
      } else {
        try {
          const p = { bundle: b, channel: await PairwiseChannel.create(this.#identity, this.#self, b),
            lastSent: null, lastReceived: null, unacked: null, retransmitAt: 0, delay: 0, count: 0 };
          this.#peers.set(id, p);
          added.push(p);
        } catch (e) {
          if (!(e instanceof E2EEError)) throw e;
          this.#markGone(id);
          this.#dropEarly(id);
          this.#reject(id, 'bad-bundle', e.message);
        }
      }
    }
    if (added.length === 0) return;
    const pending = this.#pending;
    if (pending) { // J2
      for (const p of added) {
        await this.#sendKey(p, pending.id, pending.key, false, now);
        pending.awaiting.add(p.bundle.connectionId);
      }
    } else if (splitKid(this.#activeId).step < MAX_STEP) { // J1
      const next = await this.#ratchet(this.#activeKey);
      this.#activeKey.fill(0);
      this.#activeKey = next;
      const { generation, step } = splitKid(this.#activeId);
      this.#activeId = kidOf(generation, step + 1);
      this.#outputs.push({ type: 'activate-send-key', kid: this.#activeId, baseKey: Uint8Array.from(next) });
      for (const p of added) await this.#sendKey(p, this.#activeId, this.#activeKey, true, now);
      const active = splitKid(this.#activeId);
      for (const p of this.#peers.values()) {
        if (added.includes(p)) continue;
        const last = p.lastSent === null ? null : splitKid(p.lastSent);
        if (last === null || last.generation !== active.generation || active.step - last.step > this.#config.refreshSteps) {
          await this.#sendKey(p, this.#activeId, this.#activeKey, true, now);
        }
      }
    } else { // J3
      await this.#startPending(now);
    }
    for (const p of added) {
      const id = p.bundle.connectionId;
      const q = this.#dropEarly(id);
      if (q) {
        for (const m of q) if (this.#peers.get(id) === p) await this.#receive(p, m, now);
      }
    }
  }

  async #memberLeft(now, connectionId) {
    if (connectionId === this.#self) {
      this.#reject(connectionId, 'self', 'leave names this connection');
      return;
    }
    this.#markGone(connectionId);
    this.#dropEarly(connectionId);
    const p = this.#peers.get(connectionId);
    if (!p) return; // never a member here: it has none of this member's keys
    this.#peers.delete(connectionId);
    p.channel.destroy();
    this.#outputs.push({ type: 'forget-sender', connectionId });
    await this.#startPending(now);
  }

  async #messageReceived(now, from, message) {
    if (from === this.#self) {
      this.#reject(from, 'self', 'message from this connection');
      return;
    }
    const p = this.#peers.get(from);
    if (p) {
      await this.#receive(p, message, now);
      return;
    }
    if (from == null || this.#gone.has(from) || !isValidConnectionId(from)) {
      this.#reject(from, 'unknown-sender', 'not a member');
      return;
    }
    let q = this.#early.get(from);
    if (!q) {
      if (this.#early.size >= this.#config.maxEarlySenders) {
        this.#reject(from, 'buffer-full', 'too many unannounced senders');
        return;
      }
      q = [];
      this.#early.set(from, q);
    }
    if (q.length >= this.#config.maxEarlyMessagesPerSender
      || this.#earlyBytes + message.length > this.#config.maxEarlyBytes) {
      if (q.length === 0) this.#early.delete(from);
      this.#reject(from, 'buffer-full', 'too many messages (or bytes) before the join');
      return;
    }
    this.#earlyBytes += message.length;
    q.push(message);
  }

  async #receive(p, message, now) {
    const from = p.bundle.connectionId;
    let plain;
    try {
      plain = await p.channel.open(message);
    } catch (e) {
      if (!(e instanceof E2EEError) || !PAIRWISE_REJECTS.has(e.reason)) throw e;
      this.#reject(from, e.reason, e.message);
      return;
    }
    let m;
    try {
      m = decodeKeyMessage(plain);
    } catch (e) {
      this.#reject(from, 'malformed-key-message', e.message);
      return;
    } finally {
      plain.fill(0);
    }
    if (m.type === 'key') {
      if (p.lastReceived !== null && m.kid < p.lastReceived) {
        m.baseKey.fill(0);
        this.#reject(from, 'stale-key', 'KEY ' + m.kid + ' below ' + p.lastReceived);
        return;
      }
      if (p.lastReceived !== null && m.kid === p.lastReceived) {
        m.baseKey.fill(0); // a retransmission: our ack was lost, ack again
      } else {
        p.lastReceived = m.kid;
        this.#outputs.push({ type: 'install-key', sender: from, kid: m.kid, baseKey: m.baseKey });
      }
      this.#outputs.push({ type: 'send', to: from, message: await p.channel.seal(encodeKeyAck(m.kid)) });
    } else {
      if (p.unacked !== null && m.kid === p.unacked) p.unacked = null;
      // an ack of a pending key that was replaced meanwhile is normal and ignored
      const pending = this.#pending;
      if (pending && m.kid === pending.id && pending.awaiting.delete(from) && pending.awaiting.size === 0) {
        this.#activatePending();
      }
    }
  }

  async #startPending(now) {
    const active = splitKid(this.#activeId).generation;
    const pendingGen = this.#pending ? splitKid(this.#pending.id).generation : 0n;
    const gen = (active > pendingGen ? active : pendingGen) + 1n;
    if (gen > MAX_GENERATION) throw new E2EEError('exhausted', 'key generations exhausted');
    // the deadline never moves later: a key replacing a pending one keeps the earlier deadline
    const deadline = this.#pending ? this.#pending.deadline : now + this.#config.activationTimeoutMillis;
    if (this.#pending) this.#pending.key.fill(0);
    const pending = { id: kidOf(gen, 0), key: this.#randomKey(), awaiting: new Set(this.#peers.keys()), deadline };
    this.#pending = pending;
    for (const p of this.#peers.values()) await this.#sendKey(p, pending.id, pending.key, false, now);
    if (pending.awaiting.size === 0) this.#activatePending();
  }

  #activatePending() {
    this.#activeKey.fill(0);
    this.#activeId = this.#pending.id;
    this.#activeKey = this.#pending.key;
    this.#pending = null;
    this.#outputs.push({ type: 'activate-send-key', kid: this.#activeId, baseKey: Uint8Array.from(this.#activeKey) });
  }

  async #sendKey(p, kid, key, active, now) {
    const plain = encodeKey(kid, key, active);
    try {
      this.#outputs.push({ type: 'send', to: p.bundle.connectionId, message: await p.channel.seal(plain) });
    } finally {
      plain.fill(0);
    }
    p.lastSent = kid;
    p.unacked = kid;
    p.count = 0;
    p.delay = this.#config.retransmitInitialMillis;
    p.retransmitAt = now + this.#config.retransmitInitialMillis;
  }

  /** Rule R: sends p the newest key owed to it again (the pending key it was sent, else the active key). */
  async #retransmit(p, now) {
    if (p.count >= this.#config.maxRetransmits) {
      p.unacked = null; // give up; the next key change starts over
      return;
    }
    const delay = Math.min(p.delay * 2, this.#config.retransmitMaxMillis);
    const count = p.count + 1;
    const pending = this.#pending;
    if (pending && pending.awaiting.has(p.bundle.connectionId)) {
      await this.#sendKey(p, pending.id, pending.key, false, now);
    } else {
      await this.#sendKey(p, this.#activeId, this.#activeKey, true, now);
    }
    p.count = count;
    p.delay = delay;
    p.retransmitAt = now + delay;
  }

  #markGone(id) {
    this.#gone.delete(id);
    this.#gone.add(id);
    while (this.#gone.size > this.#config.maxDeparted) this.#gone.delete(this.#gone.values().next().value);
  }

  #dropEarly(id) {
    const q = this.#early.get(id);
    this.#early.delete(id);
    if (q) for (const m of q) this.#earlyBytes -= m.length;
    return q;
  }

  #reject(from, reason, detail) {
    this.#outputs.push({ type: 'rejected', from, reason, detail });
  }

  #randomKey() {
    const k = this.#random(BASE_KEY_LENGTH);
    if (!(k instanceof Uint8Array) || k.length !== BASE_KEY_LENGTH) throw new TypeError('random must give 32 bytes');
    return k;
  }
}
