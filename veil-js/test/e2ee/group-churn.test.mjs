// A malicious server against the removal bound, the JS port of veil-e2ee's HostileChurnSimulationTest: honest
// members under a discrete-event scheduler; the server delays every relay message (10-400 ms), drops 20% of them
// and churns ghost members (valid bundles, never acknowledging) joining every 300 ms and leaving 100-700 ms later.
// For every leave a member processes: the time until it sends under a generation above every key it could have
// given the leaver (the highest generation it held, active or pending, at the leave). Bound: 1.5 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity } from '../../src/e2ee/identity.js';
import { GroupKeyManager, DEFAULT_CONFIG } from '../../src/e2ee/group.js';
import { splitKid } from '../../src/e2ee/keyring.js';

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

const HONEST = 4;
const GHOSTS = 15;
const POOL = [];
async function pool() {
  if (POOL.length === 0) {
    const r = new Rng(0xc4a5);
    for (let i = 0; i < HONEST + GHOSTS; i++) POOL.push(await Identity.fromPrivateKeys(r.bytes(32), r.bytes(32)));
  }
  return POOL;
}

async function runSim(seed, { loss, churn }) {
  const ids = await pool();
  const rnd = new Rng(seed);
  const events = [];
  let seq = 0;
  let now = 0;
  const at = (t, f) => {
    events.push({ t, s: seq++, f });
  };
  const managers = new Map();
  const timerAt = new Map();
  const linkTail = new Map();
  let open = [];
  const latencies = [];
  let leaves = 0;

  async function drain(m) {
    const g = managers.get(m);
    if (!g) return;
    for (const o of g.drainOutputs()) {
      if (o.type === 'send' && managers.has(o.to)) {
        if (rnd.next() < loss) continue;
        let t = now + 10 + rnd.int(390);
        if (!churn) {
          t = Math.max(t, (linkTail.get(m + '>' + o.to) || 0) + 1);
          linkTail.set(m + '>' + o.to, t);
        }
        const to = o.to;
        const msg = o.message;
        at(t, async () => {
          const r = managers.get(to);
          if (r) {
            await r.messageReceived(now, m, msg);
            await drain(to);
          }
        });
      } else if (o.type === 'activate-send-key') {
        const gen = splitKid(o.kid).generation;
        open = open.filter((rm) => {
          if (rm.member === m && gen > rm.gMax) {
            latencies.push(now - rm.since);
            return false;
          }
          return true;
        });
      }
    }
    const t = g.pollTimeout();
    if (t !== null && timerAt.get(m) !== t) {
      timerAt.set(m, t);
      at(Math.max(t, now), async () => {
        const r = managers.get(m);
        if (r && timerAt.get(m) === t) {
          timerAt.delete(m);
          await r.handleTimeout(now);
          await drain(m);
        }
      });
    }
  }

  async function leave(m, x) {
    const g = managers.get(m);
    const active = splitKid(g.activeKeyId).generation;
    const pending = g.pendingKeyId === null ? 0n : splitKid(g.pendingKeyId).generation;
    const gMax = active > pending ? active : pending;
    const wasMember = g.members().some((b) => b.connectionId === x);
    await g.memberLeft(now, x);
    if (wasMember) {
      open.push({ member: m, since: now, gMax });
      leaves++;
    }
    await drain(m);
  }

  const honest = [];
  for (let i = 0; i < HONEST; i++) {
    const id = 'member-' + i;
    honest.push(id);
    managers.set(id, new GroupKeyManager(ids[i], id, { random: (n) => rnd.bytes(n) }));
  }
  for (const m of honest) {
    await managers.get(m).membersJoined(0, honest.filter((x) => x !== m).map((x) => ids[honest.indexOf(x)].bundle(x)));
    await drain(m);
  }
  for (let k = 0; k < 2; k++) {
    const x = honest[HONEST - 1 - k];
    at(2000 + 4000 * k, async () => {
      managers.delete(x);
      open = open.filter((r) => r.member !== x);
      for (const m of [...managers.keys()]) {
        at(now + rnd.int(100), async () => {
          if (managers.has(m)) await leave(m, x);
        });
      }
    });
  }
  if (churn) {
    for (let i = 0; i < GHOSTS; i++) {
      const gid = 'ghost-' + i;
      const bundle = ids[HONEST + i].bundle(gid);
      const t = 1000 + 300 * i;
      at(t, async () => {
        for (const m of [...managers.keys()]) {
          await managers.get(m).memberJoined(now, bundle);
          await drain(m);
        }
      });
      at(t + 100 + rnd.int(600), async () => {
        for (const m of [...managers.keys()]) await leave(m, gid);
      });
    }
  }
  while (events.length > 0) {
    events.sort((a, b) => a.t - b.t || a.s - b.s);
    const e = events.shift();
    if (e.t > 30000) break;
    now = e.t;
    await e.f();
  }
  assert.deepEqual(open, [], 'every removal completed (seed ' + seed + ')');
  return { latencies, leaves };
}

function summary(latencies) {
  const s = [...latencies].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], worst: s[s.length - 1] };
}

test('hostileChurn_ghostJoinsLeavesDelaysLosses_removalWithinTheBound', async () => {
  const all = [];
  let leaves = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const r = await runSim(seed, { loss: 0.2, churn: true });
    all.push(...r.latencies);
    leaves += r.leaves;
  }
  const { median, worst } = summary(all);
  console.log(`hostile churn (JS): ${leaves} leaves; leave -> key the leaver cannot derive: median ${median} ms, worst ${worst} ms`);
  assert.ok(leaves > 5 * GHOSTS, 'the churn produced leaves');
  assert.ok(worst <= DEFAULT_CONFIG.activationTimeoutMillis, 'worst ' + worst);
});

test('honestRelay_allAcks_removalWithinOneRoundTrip', async () => {
  const all = [];
  for (let seed = 1; seed <= 5; seed++) all.push(...(await runSim(seed, { loss: 0, churn: false })).latencies);
  const { median, worst } = summary(all);
  console.log(`no loss, no churn (JS): median ${median} ms, worst ${worst} ms`);
  assert.ok(worst <= 800, 'worst ' + worst);
});
