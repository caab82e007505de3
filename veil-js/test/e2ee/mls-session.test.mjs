// The browser MLS key mode's session (src/e2ee/mls-session.js) in memory: JS members on ts-mls behind an
// in-memory delivery service with the server's rules (test-support/mls/delivery.mjs). Deterministic: one delivery
// at a time, in order; no clock but a counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Delivery } from '../../test-support/mls/delivery.mjs';
import { MlsSession } from '../../src/e2ee/mls-session.js';
import { MAX_PENDING } from '../../src/e2ee/mls-commit.js';
import { SFrameSender, SFrameReceiver, DEFAULT_SUITE, decodeHeader } from '../../src/e2ee/sframe.js';
import { mlsKid, kidSenderIndex, kidEpochBits, GRACE_MILLIS } from '../../src/e2ee/mls-kid.js';
import { toBase64, utf8 } from '../../src/e2ee/bytes.js';
import { KEY_GRACE_MILLIS } from '../../src/e2ee/sframe.js';

const last = (m) => m.epochs[m.epochs.length - 1];

/** Every member: the same epoch, code and roster; the roster is exactly `ids`. */
function assertAgreed(ds, ids) {
  const views = ids.map((id) => {
    const m = ds.members.get(id);
    return { epoch: m.session.epoch, code: m.session.verificationCode, roster: [...m.session.roster].sort() };
  });
  for (const v of views) assert.deepEqual(v, views[0]);
  assert.deepEqual(views[0].roster, [...ids].sort());
  assert.match(views[0].code, /^(\d{5} ){5}\d{5}$/);
  return views[0];
}

/** Encrypts one frame as `from` in its last epoch; returns the frame bytes. */
async function frameFrom(ds, from, text) {
  const e = last(ds.members.get(from));
  const s = new SFrameSender(DEFAULT_SUITE);
  await s.setKey(e.ownKid, e.baseKey);
  return s.encrypt(new Uint8Array(0), utf8(text));
}

/** What `to` opens of `frame` from `from` with the keys of its epoch outputs (null: refused). */
async function openAt(ds, to, from, frame, epochs = null) {
  const r = new SFrameReceiver(DEFAULT_SUITE, 8, { ratchet: false });
  for (const e of epochs || ds.members.get(to).epochs) {
    for (const s of e.senders) if (s.connectionId === from) await r.addKey(s.kid, e.baseKey, 0);
  }
  try {
    return new TextDecoder().decode(await r.decrypt(new Uint8Array(0), frame, 0));
  } catch (err) {
    return null;
  }
}

test('mls: three JS members create, join, agree on epoch, code and roster, and decrypt each other', async () => {
  const ds = new Delivery();
  await ds.join('a');
  assert.equal(ds.members.get('a').session.epoch, 0n);
  await ds.join('b');
  await ds.join('c');
  const v = assertAgreed(ds, ['a', 'b', 'c']);
  assert.equal(v.epoch, 2n, 'one commit per join');
  assert.equal(ds.accepted, 2);
  for (const from of ['a', 'b', 'c']) {
    const f = await frameFrom(ds, from, 'hello from ' + from);
    const kid = decodeHeader(f).kid;
    assert.equal(kidEpochBits(kid), 2);
    assert.equal(kidSenderIndex(kid, last(ds.members.get(from)).indexBits), ds.members.get(from).session.ownLeaf);
    for (const to of ['a', 'b', 'c'].filter((x) => x !== from)) {
      assert.equal(await openAt(ds, to, from, f), 'hello from ' + from, `${to} opens ${from}'s frame`);
    }
  }
  for (const m of ds.members.values()) assert.deepEqual(m.errors, [], `no errors at ${m.id}`);
});

test('mls: a removed member decrypts nothing sent after its removal; the others switch epochs without a gap', async () => {
  const ds = new Delivery();
  for (const id of ['a', 'b', 'c']) await ds.join(id);
  const before = await frameFrom(ds, 'a', 'before');
  const cEpochs = [...ds.members.get('c').epochs];
  const c = ds.members.get('c');
  await ds.leave('c');
  const v = assertAgreed(ds, ['a', 'b']);
  assert.equal(v.epoch, 3n);
  const after = await frameFrom(ds, 'a', 'after');
  assert.equal(await openAt(ds, 'b', 'a', after), 'after');
  // c's keys (every epoch it was in) open the frame sent before, not the one after
  assert.equal(await openAt(ds, 'c', 'a', before, cEpochs), 'before');
  assert.equal(await openAt(ds, 'c', 'a', after, cEpochs), null);
  // not even its last base key under the new KID: the exporter secret is new
  const r = new SFrameReceiver(DEFAULT_SUITE, 8, { ratchet: false });
  await r.addKey(decodeHeader(after).kid, cEpochs[cEpochs.length - 1].baseKey, 0);
  await assert.rejects(r.decrypt(new Uint8Array(0), after, 0), /bad-tag/);
  assert.equal(c.session.roster.length, 0, 'the departed session was destroyed');

  // no gap: b still opens a's frame of the previous epoch within the grace, and not after it
  const rb = new SFrameReceiver(DEFAULT_SUITE, 8, { ratchet: false });
  const bEpochs = ds.members.get('b').epochs;
  const prev = bEpochs[bEpochs.length - 2];
  const cur = bEpochs[bEpochs.length - 1];
  await rb.addKey(prev.senders.find((s) => s.connectionId === 'a').kid, prev.baseKey, 0);
  await rb.addKey(cur.senders.find((s) => s.connectionId === 'a').kid, cur.baseKey, 1000);
  assert.equal(new TextDecoder().decode(await rb.decrypt(new Uint8Array(0), after, 1001)), 'after');
  assert.equal(new TextDecoder().decode(await rb.decrypt(new Uint8Array(0), before, 1002)), 'before');
  const late = await frameFrom(ds, 'a', 'x'); // (any frame of the new epoch)
  assert.ok(late);
  await assert.rejects(rb.decrypt(new Uint8Array(0), before, 1000 + KEY_GRACE_MILLIS + 1), /expired-key/);
  assert.equal(KEY_GRACE_MILLIS, GRACE_MILLIS, 'the worker keeps the previous epoch as long as Java does');
});

test('mls: a member removed by a commit sees it, reports removed and stops sending', async () => {
  const ds = new Delivery();
  for (const id of ['a', 'b', 'c']) await ds.join(id);
  // c is still connected but the others saw it leave (as a hostile server could claim): a removes it
  const c = ds.members.get('c');
  for (const id of ['a', 'b']) ds.queue.push({ to: id, kind: 'left', id: 'c' });
  await ds.settle();
  assertAgreed(ds, ['a', 'b']);
  assert.equal(c.session.removed, true);
  assert.equal(c.session.epoch, -1n);
  assert.ok(c.errors.some((e) => e.reason === 'removed'), JSON.stringify(c.errors));
  assert.equal(c.stops, 1, 'c deleted its frame keys');
  const f = await frameFrom(ds, 'b', 'secret');
  assert.equal(await openAt(ds, 'c', 'b', f), null);
});

test('mls: alone, a member stops sending and removes its departed peer in the commit that adds the next one', async () => {
  const ds = new Delivery();
  await ds.join('a');
  await ds.join('b');
  await ds.leave('b');
  const a = ds.members.get('a');
  assert.equal(a.stops, 1, 'a stopped sending');
  assert.equal(a.session.epoch, 1n, 'no commit yet');
  await ds.join('c');
  const v = assertAgreed(ds, ['a', 'c']);
  assert.equal(v.epoch, 2n);
  const f = await frameFrom(ds, 'a', 'to c');
  assert.equal(await openAt(ds, 'c', 'a', f), 'to c');
});

test('mls: the founder leaves: the rest found a new group (next generation) and agree again', async () => {
  const ds = new Delivery();
  for (const id of ['a', 'b', 'c']) await ds.join(id);
  const oldCode = ds.members.get('b').session.verificationCode;
  await ds.leave('a');
  // a was the lowest leaf: b (now lowest) commits its removal
  const v = assertAgreed(ds, ['b', 'c']);
  assert.notEqual(v.code, oldCode);
  await ds.leave('b');
  await ds.leave('c');
  assert.equal(ds.group, null);
  await ds.join('d');
  await ds.join('e');
  assertAgreed(ds, ['d', 'e']);
  assert.equal(ds.generation, 2);
});

test('mls: a key package whose credential is not its sender is refused; one never announced waits', async () => {
  const ds = new Delivery();
  await ds.join('a');
  const a = ds.members.get('a');
  // 'mallory' publishes a key package claiming to be 'b' (the server stamps the true sender)
  const fake = new MlsSession();
  fake.start('b');
  await fake.onEvent({ event: 'join', group_id: toBase64(utf8('x')) }, 0);
  const kp = fake.drainOutputs().find((o) => o.type === 'send').message.payload;
  a.session.memberJoined('mallory', 1);
  a.session.onMessage('mallory', kp, 2);
  await a.session.idle();
  assert.ok(a.session.drainOutputs().some((o) => o.type === 'error' && o.reason === 'key-package-identity'));
  // the true 'b' key package, before b was announced: not added
  a.session.onMessage('b', kp, 3);
  await a.session.idle();
  assert.deepEqual(a.session.drainOutputs().filter((o) => o.type === 'send'), []);
  a.session.memberJoined('b', 4);
  await a.session.idle();
  const sent = a.session.drainOutputs().filter((o) => o.type === 'send');
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].message.welcome_to, ['b']);
  assert.ok(MAX_PENDING >= 1);
});

test('mls: a commit that loses the epoch is dropped and the winner applied; nothing forks', async () => {
  const ds = new Delivery();
  for (const id of ['a', 'b']) await ds.join(id);
  // b is told a left (a is still there): b and a both commit for epoch 1 when c's key package comes
  ds.queue.push({ to: 'b', kind: 'left', id: 'a' });
  // c is told so too, right after it hears of a (every member checks a removal against the departures announced to
  // it, docs/PROTOCOL.md §4.8: a member never told would refuse b's commit)
  ds.drop = (to, d) => {
    if (to === 'c' && d.kind === 'joined' && d.id === 'a') ds.queue.unshift({ to: 'c', kind: 'left', id: 'a' });
    return false;
  };
  await ds.join('c');
  ds.drop = null;
  // a's commit (adding c) arrived first and won epoch 1; b's was refused; b applied a's, then removed a
  assert.equal(ds.refusals, 1);
  assert.equal(ds.accepted, 3);
  assert.ok(ds.members.get('b').errors.some((e) => e.reason === 'refused'));
  assert.equal(ds.members.get('a').session.removed, true);
  const v = assertAgreed(ds, ['b', 'c']);
  assert.equal(v.epoch, 3n);
  assert.deepEqual(ds.members.get('c').errors, []);
});

test('mls: a member that missed a commit reports the next one out-of-sync and applies nothing', async () => {
  const ds = new Delivery();
  for (const id of ['a', 'b', 'c']) await ds.join(id);
  const c = ds.members.get('c');
  const before = { epoch: c.session.epoch, code: c.session.verificationCode };
  let lost = 0;
  // c misses a's commit that adds d
  ds.drop = (to, d) => to === 'c' && d.kind === 'message' && d.from === 'a' && lost++ === 0;
  await ds.join('d');
  ds.drop = null;
  await ds.leave('d');
  const [a, b] = [ds.members.get('a').session, ds.members.get('b').session];
  assert.deepEqual([a.epoch, a.verificationCode], [b.epoch, b.verificationCode]);
  assert.equal(a.epoch, before.epoch + 2n);
  assert.equal(lost, 1);
  assert.ok(c.errors.some((e) => e.reason === 'out-of-sync'), JSON.stringify(c.errors));
  assert.deepEqual({ epoch: c.session.epoch, code: c.session.verificationCode }, before);
  // and a truncated message is malformed, never applied
  c.session.onMessage('a', 'AAEAAQ==', 10_000);
  await c.session.idle();
  assert.ok(c.session.drainOutputs().some((o) => o.type === 'error' && o.reason === 'malformed'));
});

test('mls: KIDs follow RFC 9605 §5.2 with E = 8 (sender index above the epoch bits)', () => {
  assert.equal(mlsKid(5, 300, 3), (5n << 8n) | 44n);
  assert.equal(mlsKid(0, 0, 1), 0n);
  assert.throws(() => mlsKid(8, 1, 3), /does not fit/);
});

test('ts-mls 1.6.4 shortfall, documented: an add-only commit carries no update path (no option forces one); '
  + 'a commit that removes carries one', async () => {
  const { decodeWhole } = await import('../../src/e2ee/mls-group.js');
  const { fromBase64 } = await import('../../src/e2ee/bytes.js');
  const ds = new Delivery();
  const commits = [];
  const orig = ds.drop;
  ds.drop = (to, d) => {
    if (d.kind === 'message' && to === d.from) commits.push(decodeWhole(fromBase64(d.payload)));
    return orig ? orig(to, d) : false;
  };
  for (const id of ['a', 'b', 'c']) await ds.join(id);
  await ds.leave('c');
  const paths = commits.filter((m) => m.wireformat === 'mls_public_message')
    .map((m) => m.publicMessage.content.commit.path !== undefined);
  // two adds (no path: RFC 9420 §12.4 allows it; the Java SDK's bcmls commits always carry one), one removal (path)
  assert.deepEqual(paths, [false, false, true]);
});
