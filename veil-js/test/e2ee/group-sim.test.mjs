// Seeded random interleavings of joins, leaves, notifications, relay deliveries, clock ticks and media frames, a
// smaller JS port of veil-e2ee's GroupKeySimulationTest. The network is the server's: each sender→receiver relay
// link is FIFO and so is each member's notification stream, but links and notifications interleave arbitrarily.
// Frames are real SFrame frames through SFrameReceiver key rings fed only by the managers' outputs. Once quiet:
//   1. convergence: no pending key, every member sees the server's member set and the same verification code, and
//      decrypts a fresh frame of every other member;
//   2. forward secrecy: no departed member can derive (from every KEY ever sealed to it, delivered or not, ratcheted
//      forward) a key a member activated after processing its leave;
//   3. backward secrecy: no member can derive a key another member activated before processing its join;
//   4. no rejection other than 'unknown-sender' (late messages of departed members).
// A failure names its seed. VEIL_SIM_SEEDS=N runs more (default 200), VEIL_SIM_SEED=S one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity } from '../../src/e2ee/identity.js';
import { GroupKeyManager } from '../../src/e2ee/group.js';
import { PairwiseChannel } from '../../src/e2ee/pairwise.js';
import { decodeKeyMessage } from '../../src/e2ee/keymessages.js';
import { SFrameSender, SFrameReceiver } from '../../src/e2ee/sframe.js';
import { splitKid } from '../../src/e2ee/keyring.js';
import { veilRatchet } from '../../src/e2ee/ratchet.js';
import { toHex, utf8 } from '../../src/e2ee/bytes.js';

/** mulberry32: a small seeded PRNG. */
class Rng {
  #a;
  constructor(seed) {
    this.#a = seed >>> 0;
  }
  next() {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n) {
    return Math.floor(this.next() * n);
  }
  bytes(n) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const SUITE = 4;
const META = Uint8Array.of(9);

/** Identities shared across runs (never destroyed) to keep the test fast; deterministic private keys. */
const POOL = [];
async function pool() {
  if (POOL.length === 0) {
    const r = new Rng(0x5eed);
    for (let i = 0; i < 24; i++) POOL.push(await Identity.fromPrivateKeys(r.bytes(32), r.bytes(32)));
  }
  return POOL;
}

class Sim {
  constructor(seed) {
    this.seed = seed;
    this.rnd = new Rng(seed);
    this.all = new Map();
    this.live = [];
    this.links = new Map(); // "from\0to" -> [message]
    this.rejections = [];
    this.now = 0;
    this.order = 0;
    this.nextId = 0;
    this.stats = { joins: 0, leaves: 0, deliveries: 0, frames: 0, framesOk: 0, racy: 0, fs: 0, bs: 0 };
  }

  async run() {
    const identities = await pool();
    this.identities = identities;
    const maxMembers = 2 + this.rnd.int(5);
    let budget = 3 + this.rnd.int(2 * maxMembers + 4);
    const initial = 1 + this.rnd.int(maxMembers);
    for (let i = 0; i < initial; i++) await this.join();
    while (budget > 0 || this.rnd.int(4) !== 0) {
      const w = this.rnd.int(100);
      if (w < 8 && budget > 0 && this.live.length < maxMembers) {
        await this.join();
        budget--;
      } else if (w < 14 && budget > 0 && this.live.length > 0) {
        this.leave(this.live[this.rnd.int(this.live.length)]);
        budget--;
      } else if (w < 40) {
        await this.deliverNote();
      } else if (w < 85) {
        await this.deliverMessage();
      } else if (w < 92) {
        this.now += this.rnd.int(3000);
        if (this.live.length > 0) {
          const m = this.live[this.rnd.int(this.live.length)];
          await m.mgr.handleTimeout(this.now);
          await this.drain(m);
        }
      } else {
        await this.frame();
      }
    }
    // quiet: deliver everything in random order, then let every pending key time out
    for (;;) {
      const a = await this.deliverNote();
      const b = await this.deliverMessage();
      if (!a && !b) break;
    }
    this.now += 60000;
    for (const m of this.live) {
      await m.mgr.handleTimeout(this.now);
      await this.drain(m);
    }
    assert.ok([...this.links.values()].every((q) => q.length === 0), 'timeouts sent messages');
    await this.checkConvergence();
    await this.checkForwardSecrecy();
    await this.checkBackwardSecrecy();
    for (const r of this.rejections) assert.equal(r.reason, 'unknown-sender', 'unexpected rejection ' + JSON.stringify(r));
  }

  async join() {
    const id = 'c' + this.nextId++ + '-' + this.seed.toString(16);
    const identity = this.identities[(this.seed * 7 + this.nextId) % this.identities.length];
    const seedRng = new Rng(this.seed * 1000 + this.nextId);
    const n = {
      id, identity, bundle: identity.bundle(id), live: true, notes: [], rings: new Map(), sender: new SFrameSender(SUITE),
      activations: [], joinSeen: new Map(), leaveSeen: new Map(), sealedToMe: new Map(), spies: new Map(),
      mgr: new GroupKeyManager(identity, id, { random: (k) => seedRng.bytes(k),
        config: { activationTimeoutMillis: 5000, refreshSteps: 8, maxEarlyMessagesPerSender: 64, maxEarlySenders: 64 } }),
    };
    this.all.set(id, n);
    const present = [];
    for (const m of this.live) {
      present.push(m.bundle);
      m.notes.push({ joined: [n.bundle] });
    }
    this.live.push(n);
    n.notes.push({ joined: present });
    await this.drain(n);
    this.stats.joins++;
  }

  leave(l) {
    l.live = false;
    this.live.splice(this.live.indexOf(l), 1);
    l.notes = [];
    for (const k of [...this.links.keys()]) if (k.endsWith('\0' + l.id)) this.links.delete(k);
    for (const m of this.live) m.notes.push({ left: l.id });
    this.stats.leaves++;
  }

  async deliverNote() {
    const ready = this.live.filter((m) => m.notes.length > 0);
    if (ready.length === 0) return false;
    const m = ready[this.rnd.int(ready.length)];
    const n = m.notes.shift();
    this.order++;
    if (n.joined) {
      for (const b of n.joined) m.joinSeen.set(b.connectionId, this.order);
      await m.mgr.membersJoined(this.now, n.joined);
    } else {
      m.leaveSeen.set(n.left, this.order);
      await m.mgr.memberLeft(this.now, n.left);
    }
    await this.drain(m);
    return true;
  }

  async deliverMessage() {
    const ready = [...this.links.entries()].filter(([, q]) => q.length > 0).map(([k]) => k);
    if (ready.length === 0) return false;
    const link = ready[this.rnd.int(ready.length)];
    const msg = this.links.get(link).shift();
    const [from, toId] = link.split('\0');
    const to = this.all.get(toId);
    if (!to.joinSeen.has(from)) this.stats.racy++;
    this.order++;
    await to.mgr.messageReceived(this.now, from, msg);
    await this.drain(to);
    this.stats.deliveries++;
    return true;
  }

  /** A random live member sends a real SFrame frame; everybody who knows it tries to decrypt it. */
  async frame() {
    if (this.live.length === 0) return;
    const s = this.live[this.rnd.int(this.live.length)];
    const payload = utf8('frame from ' + s.id);
    const f = await s.sender.encrypt(META, payload);
    for (const r of this.live) {
      const ring = r.rings.get(s.id);
      if (r === s || !ring) continue;
      this.stats.frames++;
      try {
        assert.deepEqual(await ring.decrypt(META, f, this.now), payload);
        this.stats.framesOk++;
      } catch (e) {
        if (!e.reason) throw e;
      }
    }
  }

  async drain(m) {
    for (const o of m.mgr.drainOutputs()) {
      if (o.type === 'send') {
        const to = this.all.get(o.to);
        await this.spy(m, to, o.message);
        if (to.live) {
          const k = m.id + '\0' + to.id;
          if (!this.links.has(k)) this.links.set(k, []);
          this.links.get(k).push(o.message);
        }
      } else if (o.type === 'install-key') {
        if (!m.rings.has(o.sender)) m.rings.set(o.sender, new SFrameReceiver(SUITE));
        await m.rings.get(o.sender).addKey(o.kid, o.baseKey, this.now); // older keys expire (§2.3)
      } else if (o.type === 'activate-send-key') {
        m.activations.push({ kid: o.kid, key: Uint8Array.from(o.baseKey), order: ++this.order });
        await m.sender.setKey(o.kid, o.baseKey);
      } else if (o.type === 'forget-sender') {
        const ring = m.rings.get(o.connectionId);
        if (ring) ring.clearKeys();
        m.rings.delete(o.connectionId);
      } else if (o.type === 'rejected') {
        this.rejections.push({ at: m.id, from: o.from, reason: o.reason });
      }
    }
  }

  /** Records the keys the recipient learns from a message, whether or not it is ever delivered. */
  async spy(from, to, message) {
    let ch = to.spies.get(from.id);
    if (!ch) {
      ch = await PairwiseChannel.create(to.identity, to.id, from.bundle);
      to.spies.set(from.id, ch);
    }
    const km = decodeKeyMessage(await ch.open(message));
    if (km.type === 'key') {
      if (!to.sealedToMe.has(from.id)) to.sealedToMe.set(from.id, []);
      to.sealedToMe.get(from.id).push({ kid: km.kid, key: km.baseKey });
    }
  }

  async checkConvergence() {
    const truth = this.live.map((m) => m.id).sort();
    let code = null;
    for (const m of this.live) {
      assert.equal(m.mgr.pendingKeyId, null, m.id + ' still has a pending key when quiet');
      const view = [m.id, ...m.mgr.members().map((b) => b.connectionId)].sort();
      assert.deepEqual(view, truth, m.id + "'s member view");
      const c = (await m.mgr.verificationCode()).display;
      if (code !== null) assert.equal(c, code, 'verification codes differ');
      code = c;
    }
    for (const s of this.live) {
      for (const r of this.live) {
        if (r === s) continue;
        const ring = r.rings.get(s.id);
        assert.ok(ring, r.id + ' has no key of ' + s.id);
        const f = await s.sender.encrypt(META, Uint8Array.of(42));
        assert.deepEqual(await ring.decrypt(META, f, this.now), Uint8Array.of(42), r.id + ' decrypts ' + s.id);
      }
    }
  }

  /** Can some key in `known` (each {kid, key}) be ratcheted forward to `target` ({kid, key})? */
  async derivable(known, target) {
    const t = splitKid(target.kid);
    for (const k of known) {
      const s = splitKid(k.kid);
      if (s.generation !== t.generation || s.step > t.step) continue;
      let key = k.key;
      for (let i = s.step; i < t.step; i++) key = await veilRatchet(key);
      if (toHex(key) === toHex(target.key)) return true;
    }
    return false;
  }

  async checkForwardSecrecy() {
    for (const d of this.all.values()) {
      if (d.live) continue;
      for (const m of this.all.values()) {
        if (m === d || !m.leaveSeen.has(d.id)) continue;
        const after = m.activations.filter((a) => a.order > m.leaveSeen.get(d.id));
        for (const a of after) {
          this.stats.fs++;
          assert.equal(await this.derivable(d.sealedToMe.get(m.id) || [], a), false,
            d.id + ' can derive ' + m.id + "'s key " + a.kid + ' activated after its leave');
        }
      }
    }
  }

  async checkBackwardSecrecy() {
    for (const n of this.all.values()) {
      for (const m of this.all.values()) {
        if (m === n || !m.joinSeen.has(n.id)) continue;
        const before = m.activations.filter((a) => a.order < m.joinSeen.get(n.id));
        for (const a of before) {
          this.stats.bs++;
          assert.equal(await this.derivable(n.sealedToMe.get(m.id) || [], a), false,
            n.id + ' can derive ' + m.id + "'s key " + a.kid + ' activated before its join');
        }
      }
    }
  }
}

test('randomInterleavings_convergeAndKeepForwardAndBackwardSecrecy', async (t) => {
  const one = process.env.VEIL_SIM_SEED;
  const seeds = one ? [Number(one)] : Array.from({ length: Number(process.env.VEIL_SIM_SEEDS || 200) }, (_, i) => i + 1);
  const total = { joins: 0, leaves: 0, deliveries: 0, frames: 0, framesOk: 0, racy: 0, fs: 0, bs: 0 };
  for (const seed of seeds) {
    const sim = new Sim(seed);
    try {
      await sim.run();
    } catch (e) {
      e.message = 'simulation seed ' + seed + ' (rerun with VEIL_SIM_SEED=' + seed + '): ' + e.message;
      throw e;
    }
    for (const k of Object.keys(total)) total[k] += sim.stats[k];
  }
  t.diagnostic(seeds.length + ' seeds: ' + JSON.stringify(total));
  if (!one) {
    assert.ok(total.leaves > seeds.length / 2, 'the runs must include leaves');
    assert.ok(total.racy > 0, 'some key messages must overtake their join notification');
    assert.ok(total.fs > 0 && total.bs > 0, 'secrecy checks must run');
    assert.ok(total.framesOk > 0);
  }
});
