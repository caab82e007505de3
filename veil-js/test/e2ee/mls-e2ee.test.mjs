// The SDK side of the browser MLS key mode (src/e2ee/mls-e2ee.js) with a recording fake worker: what the worker is
// told per epoch (MLS receivers, own KID, each member's KID under the exporter's base key, departed members
// dropped, everything reset when alone), the events and views the SDK exposes, and the SDK's keyMode checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMlsE2EE } from '../../src/e2ee/mls-e2ee.js';
import { VeilConnection } from '../../src/veil.js';
import { toBase64, utf8, toHex } from '../../src/e2ee/bytes.js';

function fakeWorker() {
  const w = {
    posted: [],
    onmessage: null,
    postMessage(m) {
      w.posted.push({ ...m, key: m.key ? toHex(m.key) : undefined });
      if (m.type === 'ping') queueMicrotask(() => w.onmessage({ data: { type: 'ack', id: m.id } }));
    },
    terminate() { w.terminated = true; },
  };
  return w;
}

async function member(id) {
  const worker = fakeWorker();
  const events = [];
  const e = await createMlsE2EE({ worker, onEvent: (ev) => events.push(ev), now: () => 0 });
  const sent = [];
  e.sendSignaling = (m) => sent.push(m);
  e.start(id);
  return { e, worker, events, sent, id };
}

test('mls-e2ee: two members; the worker gets MLS receivers, the own KID and the other member\'s KID; one code', async () => {
  const gid = toBase64(utf8('room#1'));
  const a = await member('a');
  const b = await member('b');
  assert.equal(a.worker.posted[0].type, 'ping', 'createMlsE2EE waits for the worker to answer');
  assert.deepEqual(a.worker.posted[1], { type: 'setFormat', format: 'sframe', keyMode: 'mls', key: undefined });
  a.e.onSignaling({ type: 'mls_event', event: 'create', group_id: gid });
  await a.e.idle();
  assert.equal(a.e.epoch, 0);
  assert.deepEqual(a.e.roster, ['a']);
  b.e.onSignaling({ type: 'mls_event', event: 'join', group_id: gid });
  await b.e.idle();
  const kp = b.sent.shift();
  assert.equal(kp.type, 'mls');
  a.e.handler.onNotify(null, { event_type: 'connection.created', connection_id: 'b' });
  a.e.onSignaling({ type: 'mls', from: 'b', payload: kp.payload });
  await a.e.idle();
  const commit = a.sent.shift();
  assert.deepEqual(commit.welcome_to, ['b']);
  a.e.onSignaling({ type: 'mls', from: 'a', payload: commit.payload });
  b.e.onSignaling({ type: 'mls', from: 'a', payload: commit.welcome });
  await a.e.idle();
  await b.e.idle();
  for (const m of [a, b]) {
    assert.equal(m.e.epoch, 1);
    assert.deepEqual(m.e.roster, ['a', 'b']);
    assert.deepEqual(m.e.peers().map((p) => p.connectionId), [m.id === 'a' ? 'b' : 'a']);
  }
  assert.equal(a.e.verificationCode, b.e.verificationCode);
  // KIDs: a is leaf 0, b leaf 1; epoch 1 → a sends under 1, b under 257, both from one base key
  const sendA = a.worker.posted.filter((m) => m.type === 'setSendKey').pop();
  const recvA = a.worker.posted.filter((m) => m.type === 'setReceiveKey').pop();
  const sendB = b.worker.posted.filter((m) => m.type === 'setSendKey').pop();
  const recvB = b.worker.posted.filter((m) => m.type === 'setReceiveKey').pop();
  assert.deepEqual([sendA.kid, recvA.senderId, recvA.kid], ['1', 'b', '257']);
  assert.deepEqual([sendB.kid, recvB.senderId, recvB.kid], ['257', 'a', '1']);
  assert.equal(sendA.key, recvB.key);
  assert.equal(sendB.key, recvA.key);
  assert.equal(sendA.key.length, 32, '16-byte base key');
  const ev = a.events.filter((x) => x.type === 'mls-epoch').pop();
  assert.deepEqual(ev, { type: 'mls-epoch', epoch: 1, code: a.e.verificationCode, members: ['a', 'b'], fingerprints: {} });
  assert.ok(a.events.some((x) => x.type === 'verification-code' && x.code === a.e.verificationCode));
  for (const x of [...a.events, ...b.events]) assert.ok(!JSON.stringify(x).includes(sendA.key), 'no key in events');

  // data messages (§4.10): sealed under a's KID with the epoch's data key; the server cannot re-attribute them
  const sealed = await a.e.sealData(null, 1, utf8('hello b'));
  assert.equal(sealed[0] & 0x80, 0x00, 'an SFrame header, never clear text');
  const opened = await b.e.openData('a', null, sealed);
  assert.deepEqual([opened.kind, new TextDecoder().decode(opened.body)], [1, 'hello b']);
  assert.equal(await b.e.openData('c', null, sealed), null, 'another sender: no key');
  const direct = await a.e.sealData('b', 1, utf8('for b only'));
  assert.equal(await b.e.openData('a', null, direct), null, 'another addressee: the AAD differs');
  assert.deepEqual(b.events.filter((x) => x.type === 'error' && x.source === 'data').map((x) => x.reason),
    ['no-key', 'bad-tag']);
  // markVerified, then b leaves: a is alone: every key goes (setFormat again), nothing is committed
  await a.e.markVerified();
  assert.equal(a.e.roomVerified, true);
  await assert.rejects(a.e.markVerified('abcd'), /room code/);
  const before = a.worker.posted.length;
  a.e.handler.onNotify(null, { event_type: 'connection.destroyed', connection_id: 'b' });
  await a.e.idle();
  assert.deepEqual(a.worker.posted.slice(before).map((m) => m.type), ['setFormat', 'ping']);
  assert.equal(a.e.epoch, -1);
  assert.equal(a.e.verificationCode, null, 'no code of an epoch this member left');
  assert.ok(a.events.some((x) => x.type === 'verification-code' && x.code === null));
  assert.deepEqual(a.sent, []);
  // alone: no data key either (never sent in clear)
  await assert.rejects(a.e.sealData(null, 1, utf8('x')), /no MLS epoch/);
  a.e.destroy();
  b.e.destroy();
  assert.ok(a.worker.terminated && b.worker.terminated);
});

test('mls-e2ee: a member gone from the roster loses its receiver; the others get the new epoch\'s KIDs', async () => {
  const gid = toBase64(utf8('room#2'));
  const ms = [await member('a'), await member('b'), await member('c')];
  const [a] = ms;
  a.e.onSignaling({ type: 'mls_event', event: 'create', group_id: gid });
  await a.e.idle();
  const inGroup = [a];
  for (const m of ms.slice(1)) {
    m.e.onSignaling({ type: 'mls_event', event: 'join', group_id: gid });
    await m.e.idle();
    // every member is told of the join (each checks the commit that adds m against it, §4.8)
    for (const x of inGroup) x.e.handler.onNotify(null, { event_type: 'connection.created', connection_id: m.id });
    a.e.onSignaling({ type: 'mls', from: m.id, payload: m.sent.shift().payload });
    await a.e.idle();
    const c = a.sent.shift();
    for (const x of inGroup) x.e.onSignaling({ type: 'mls', from: 'a', payload: c.payload });
    m.e.onSignaling({ type: 'mls', from: 'a', payload: c.welcome });
    inGroup.push(m);
    for (const x of inGroup) await x.e.idle();
  }
  assert.deepEqual(ms.map((m) => m.e.epoch), [2, 2, 2]);
  const b = ms[1];
  const mark = b.worker.posted.length;
  a.e.handler.onNotify(null, { event_type: 'connection.destroyed', connection_id: 'c' });
  b.e.handler.onNotify(null, { event_type: 'connection.destroyed', connection_id: 'c' });
  await a.e.idle();
  const rm = a.sent.shift();
  for (const x of [a, b]) x.e.onSignaling({ type: 'mls', from: 'a', payload: rm.payload });
  await a.e.idle();
  await b.e.idle();
  const after = b.worker.posted.slice(mark).filter((m) => m.type !== 'ping');
  assert.deepEqual(after.map((m) => [m.type, m.senderId, m.kid]), [
    ['removeSender', 'c', undefined], ['setSendKey', undefined, String((1 << 8) + 3)], ['setReceiveKey', 'a', '3'],
  ]);
  assert.deepEqual(b.e.roster, ['a', 'b']);
  // data after the removal: a opens it; c, which still holds epoch 2's keys (it never applied its removal), and a
  // server re-attributing it to c cannot (the epoch-3 data key comes from an exporter secret c cannot compute)
  const c = ms[2];
  const msg = await b.e.sealData(null, 1, utf8('after c left'));
  assert.equal(new TextDecoder().decode((await a.e.openData('b', null, msg)).body), 'after c left');
  assert.equal(c.e.epoch, 2);
  assert.equal(await c.e.openData('b', null, msg), null);
  assert.deepEqual(c.events.filter((x) => x.type === 'error' && x.source === 'data').map((x) => x.reason), ['no-key']);
  for (const m of ms) m.e.destroy();
});

test('sdk: keyMode is checked (unknown refused, needs e2ee, mls excludes passphrase and JFrame); e2eeKeyMode/e2eeEpoch', () => {
  const mk = (o) => new VeilConnection('ws://127.0.0.1:1/signaling', 'sendrecv', 'room', null, o);
  assert.throws(() => mk({ e2ee: true, keyMode: 'MLS' }), /unknown keyMode 'MLS' \(expected 'sender-keys' or 'mls'\)/);
  assert.throws(() => mk({ keyMode: 'mls' }), /needs e2ee: true/);
  assert.throws(() => mk({ e2ee: true, keyMode: 'mls', passphrase: 'x' }), /no passphrase/);
  assert.throws(() => mk({ e2ee: true, keyMode: 'mls', e2eeFormat: 'jframe' }), /JFrame/);
  const m = mk({ e2ee: true, keyMode: 'mls' });
  assert.deepEqual([m.e2eeKeyMode, m.e2eeEpoch, m.e2eeRoster], ['mls', -1, []]);
  const s = mk({ e2ee: true, keyMode: 'sender-keys' }); // {e2ee: true} alone is 'mls': test/sdk/key-mode-default
  assert.deepEqual([s.e2eeKeyMode, s.e2eeEpoch, s.e2eeRoster], ['sender-keys', null, null]);
  const p = mk({});
  assert.deepEqual([p.e2eeKeyMode, p.e2eeEpoch], [null, null]);
});
