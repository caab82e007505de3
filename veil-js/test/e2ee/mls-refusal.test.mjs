// The browser MLS session's answer to a refused commit (src/e2ee/mls-session.js, docs/PROTOCOL.md §4.3), as
// veil-client's MlsSession (MlsSessionRefusalTest): a refusal for the current epoch drops the pending commit and
// backs off (retryDelay: bounded, jittered by an injected seeded random); the accepted commit, if one comes, is
// applied and ends the back-off; the work is retried only if still needed. Members behind the in-memory delivery
// service (test-support/mls/delivery.mjs) with a virtual clock: no timers, no sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Delivery } from '../../test-support/mls/delivery.mjs';
import { retryDelay, RETRY_MIN_MILLIS, RETRY_MAX_MILLIS } from '../../src/e2ee/mls-commit.js';
import { toHex } from '../../src/e2ee/bytes.js';

/** A seeded PRNG (mulberry32) in [0, 1) that records what it returned. */
function seeded(seed) {
  let s = seed >>> 0;
  const draws = [];
  const next = () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    draws.push(r);
    return r;
  };
  next.draws = draws;
  return next;
}

/**
 * No fork: every member in `ids` is at the same epoch with the same code (from the epoch authenticator), the same
 * exporter base key and the same roster, which is exactly `ids`.
 */
function assertNoFork(ds, ids) {
  const views = ids.map((id) => {
    const m = ds.members.get(id);
    const e = m.epochs[m.epochs.length - 1];
    assert.equal(e.epoch, m.session.epoch, id + ': its last epoch output is its current epoch');
    return { epoch: m.session.epoch, code: m.session.verificationCode, roster: [...m.session.roster].sort(),
      baseKey: toHex(e.baseKey) };
  });
  for (const v of views) assert.deepEqual(v, views[0]);
  assert.deepEqual(views[0].roster, [...ids].sort());
  assert.match(views[0].code, /^(\d{5} ){5}\d{5}$/);
  return views[0];
}

test('mls refusal: retryDelay stays within [RETRY_MIN, RETRY_MAX], grows with refusals and follows the random', () => {
  assert.equal(RETRY_MIN_MILLIS, 500);
  assert.equal(RETRY_MAX_MILLIS, 8000);
  for (let k = 0; k <= 40; k++) {
    for (const r of [0, 1e-9, 0.5, 0.999999, 1, -1, 7, NaN]) {
      const d = retryDelay(k, () => r);
      assert.ok(Number.isInteger(d) && d >= RETRY_MIN_MILLIS && d <= RETRY_MAX_MILLIS, `k ${k} r ${r}: ${d}`);
    }
  }
  assert.deepEqual([1, 2, 3, 4, 5, 30].map((k) => retryDelay(k, () => 0)), [500, 1000, 2000, 4000, 4000, 4000]);
  assert.deepEqual([1, 2, 3, 4, 5, 30].map((k) => retryDelay(k, () => 0.5)), [750, 1500, 3000, 6000, 6000, 6000]);
  const rng = seeded(7);
  const spread = new Set(Array.from({ length: 50 }, () => retryDelay(1, rng)));
  assert.ok(spread.size > 25, 'the jitter spreads members refused together: ' + spread.size);
});

test('mls refusal: a refused commit is dropped; none during the back-off; retried at its end; no fork', async () => {
  const ds = new Delivery();
  const rng = seeded(1234);
  await ds.join('a', { random: rng });
  await ds.join('b');
  assert.equal(ds.accepted, 1);
  // the delivery service refuses a's first three commits (say, its rate limit), then accepts
  let refuse = 3;
  ds.refuse = (from, content) => (content.contentType === 'commit' && refuse-- > 0 ? 'too many commits' : null);
  const a = ds.members.get('a');
  await ds.join('c');
  for (let k = 1; k <= 3; k++) {
    assert.equal(ds.refusals, k);
    assert.equal(a.sent, 1 + k, 'one commit per try');
    // reported as 'refused' (at most one report a second per reason: the later ones may be folded into it)
    assert.deepEqual(a.errors[0], { type: 'error', reason: 'refused', from: null, detail: 'too many commits' });
    assert.equal(a.session.epoch, 1n, 'the refused commit was not applied');
    // the refusal was the last delivery: the back-off runs from now, by the seeded draw, growing with k
    const refusedAt = ds.now;
    const due = refusedAt + retryDelay(k, () => rng.draws[k - 1]);
    assert.ok(due - refusedAt >= RETRY_MIN_MILLIS * 2 ** (k - 1) && due - refusedAt <= RETRY_MAX_MILLIS);
    assert.ok(a.session.nextTimeout(refusedAt) <= due, 'a timeout is asked for by the end of the back-off');
    // an input during the back-off commits nothing, and neither does the clock short of the deadline
    ds.queue.push({ to: 'a', kind: 'joined', id: 'x' + k });
    await ds.settle();
    await ds.advanceTo(due - 1);
    assert.equal(a.sent, 1 + k, 'nothing committed during the back-off');
    assert.equal(a.session.nextTimeout(ds.now), due);
    await ds.advanceTo(due);
  }
  assert.equal(ds.refusals, 3);
  assert.equal(ds.accepted, 2);
  assert.equal(rng.draws.length, 3, 'one draw per refusal');
  const v = assertNoFork(ds, ['a', 'b', 'c']);
  assert.equal(v.epoch, 2n);
  assert.equal(a.session.nextTimeout(ds.now), Infinity, 'the new epoch ended the back-off');
  assert.deepEqual(ds.members.get('b').errors, []);
  assert.deepEqual(ds.members.get('c').errors, []);
});

test('mls refusal: refused before the winner arrives: the winner is applied at once, the rest retried; no fork',
  async () => {
    const ds = new Delivery();
    for (const id of ['a', 'b']) await ds.join(id, { random: seeded(99) });
    // b is told a left (a is still there): both commit for epoch 1 when c's key package comes; a's wins. The
    // refusal of b's overtakes a's commit on its way to b, so b is refused in the epoch it is still in.
    ds.queue.push({ to: 'b', kind: 'left', id: 'a' });
    ds.drop = (to, d) => {
      if (to === 'c' && d.kind === 'joined' && d.id === 'a') ds.queue.unshift({ to: 'c', kind: 'left', id: 'a' });
      return false;
    };
    ds.refusalsFirst = true;
    const b = ds.members.get('b');
    const tries = [];
    const onEvent = b.session.onEvent.bind(b.session);
    b.session.onEvent = (ev, now) => {
      if (ev.event === 'refused') tries.push({ epoch: b.session.epoch, refusedEpoch: ev.epoch });
      const p = onEvent(ev, now);
      p.then(() => {
        if (ev.event === 'refused') tries.at(-1).backOffUntil = b.session.nextTimeout(now);
      });
      return p;
    };
    await ds.join('c');
    ds.drop = null;
    assert.equal(ds.refusals, 1);
    assert.deepEqual(tries.map((t) => [t.epoch, t.refusedEpoch]), [[1n, 1]], 'refused in its current epoch');
    assert.ok(tries[0].backOffUntil > ds.now, 'b backed off');
    // no clock advance: a's commit (adding c) was applied, which ended the back-off, and b's remaining work (a's
    // removal) was committed from the new epoch at once
    assert.equal(ds.accepted, 3);
    assert.equal(ds.members.get('a').session.removed, true);
    const v = assertNoFork(ds, ['b', 'c']);
    assert.equal(v.epoch, 3n);
    assert.deepEqual(ds.members.get('c').errors, []);
  });

test('mls refusal: after the back-off nothing is retried when the work is gone (the member to add left)', async () => {
  const ds = new Delivery();
  await ds.join('a', { random: seeded(5) });
  await ds.join('b');
  ds.refuse = (from, content) => (content.contentType === 'commit' ? 'refused by the test' : null);
  await ds.join('c');
  const a = ds.members.get('a');
  assert.equal(ds.refusals, 1);
  const sent = a.sent;
  const due = a.session.nextTimeout(ds.now);
  assert.ok(Number.isFinite(due));
  ds.refuse = null;
  await ds.leave('c');
  await ds.advanceTo(due + 1);
  assert.equal(a.sent, sent, 'nothing left to commit');
  assert.equal(ds.refusals, 1);
  const v = assertNoFork(ds, ['a', 'b']);
  assert.equal(v.epoch, 1n);
});
