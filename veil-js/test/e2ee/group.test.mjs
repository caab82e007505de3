import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Identity, Bundle } from '../../src/e2ee/identity.js';
import { GroupKeyManager } from '../../src/e2ee/group.js';
import { PairwiseChannel } from '../../src/e2ee/pairwise.js';
import { decodeKeyMessage, encodeKey } from '../../src/e2ee/keymessages.js';
import { kidOf } from '../../src/e2ee/keyring.js';
import { veilRatchet } from '../../src/e2ee/ratchet.js';
import { toHex } from '../../src/e2ee/bytes.js';

/** Deterministic bytes: a counter-based stream, so tests never depend on real randomness. */
function counterRandom(seed) {
  let n = seed;
  return (len) => {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = (n * 31 + i * 7) & 0xff;
    n++;
    return b;
  };
}

async function member(id, seed = 1) {
  const identity = await Identity.generate();
  const mgr = new GroupKeyManager(identity, id, { random: counterRandom(seed) });
  return { id, identity, mgr, bundle: identity.bundle(id) };
}

const types = (outs) => outs.map((o) => o.type + (o.to ? ':' + o.to : '') + (o.reason ? ':' + o.reason : ''));

/** What `to` reads in a 'send' output from `from` (opened with a channel of its own). */
async function peek(from, to, message, cache = new Map()) {
  const k = from.id + '>' + to.id;
  if (!cache.has(k)) cache.set(k, await PairwiseChannel.create(to.identity, to.id, from.bundle));
  return decodeKeyMessage(await cache.get(k).open(message));
}

test('start_randomKeyZeroActivated', async () => {
  const a = await member('A');
  const outs = a.mgr.drainOutputs();
  assert.deepEqual(types(outs), ['activate-send-key']);
  assert.equal(outs[0].kid, 0n);
  assert.equal(outs[0].baseKey.length, 32);
  assert.equal(a.mgr.activeKeyId, 0n);
  assert.equal(a.mgr.pollTimeout(), null);
});

test('join_ratchetsActivatesAndSendsActiveKeyToNewcomer', async () => {
  const a = await member('A');
  const b = await member('B', 2);
  const first = a.mgr.drainOutputs()[0].baseKey;
  await a.mgr.memberJoined(0, b.bundle);
  const outs = a.mgr.drainOutputs();
  assert.deepEqual(types(outs), ['activate-send-key', 'send:B']);
  assert.equal(outs[0].kid, kidOf(0, 1));
  assert.equal(toHex(outs[0].baseKey), toHex(await veilRatchet(first)));
  const m = await peek(a, b, outs[1].message);
  assert.deepEqual([m.type, m.kid, m.active, toHex(m.baseKey)], ['key', kidOf(0, 1), true, toHex(outs[0].baseKey)]);
  // B installs it and acks it (every KEY is acked, rule R).
  b.mgr.drainOutputs();
  await b.mgr.memberJoined(0, a.bundle);
  b.mgr.drainOutputs();
  await b.mgr.messageReceived(0, 'A', outs[1].message);
  const bo = b.mgr.drainOutputs();
  assert.deepEqual(types(bo), ['install-key', 'send:A']);
  assert.equal((await peek(b, a, bo[1].message)).type, 'key-ack');
  assert.equal(bo[0].sender, 'A');
  assert.equal(bo[0].kid, kidOf(0, 1));
});

test('leave_freshPendingKeyActivatedOnceAllAcked', async () => {
  const [a, b, c] = [await member('A', 1), await member('B', 2), await member('C', 3)];
  for (const m of [a, b, c]) m.mgr.drainOutputs();
  await a.mgr.membersJoined(0, [b.bundle, c.bundle]);
  await b.mgr.membersJoined(0, [a.bundle, c.bundle]);
  await c.mgr.membersJoined(0, [a.bundle, b.bundle]);
  for (const m of [a, b, c]) m.mgr.drainOutputs();
  const d = await member('D', 4);
  await a.mgr.memberJoined(0, d.bundle);
  a.mgr.drainOutputs();
  await a.mgr.memberLeft(1000, 'D');
  const outs = a.mgr.drainOutputs();
  assert.deepEqual(types(outs), ['forget-sender', 'send:B', 'send:C']);
  assert.equal(a.mgr.pendingKeyId, kidOf(1, 0));
  assert.equal(a.mgr.activeKeyId, kidOf(0, 2)); // (0, 1) on B and C's join, (0, 2) on D's
  assert.equal(a.mgr.pendingDeadline, 2500);
  // B and C install the pending key and ack it.
  const acks = [];
  for (const [m, msg] of [[b, outs[1].message], [c, outs[2].message]]) {
    await m.mgr.messageReceived(1000, 'A', msg);
    const o = m.mgr.drainOutputs();
    assert.deepEqual(types(o), ['install-key', 'send:A']);
    acks.push([m.id, o[1].message]);
  }
  await a.mgr.messageReceived(1000, acks[0][0], acks[0][1]);
  assert.deepEqual(a.mgr.drainOutputs(), []);
  assert.equal(a.mgr.pendingKeyId, kidOf(1, 0), 'one ack is not enough');
  await a.mgr.messageReceived(1000, acks[1][0], acks[1][1]);
  const act = a.mgr.drainOutputs();
  assert.deepEqual(types(act), ['activate-send-key']);
  assert.equal(act[0].kid, kidOf(1, 0));
  assert.equal(a.mgr.pendingKeyId, null);
});

test('leave_unackedPendingKey_activatedAtTimeout', async () => {
  const [a, b, c] = [await member('A', 1), await member('B', 2), await member('C', 3)];
  await a.mgr.membersJoined(0, [b.bundle, c.bundle]);
  await a.mgr.memberLeft(100, 'C');
  a.mgr.drainOutputs();
  await a.mgr.handleTimeout(1599);
  assert.ok(!types(a.mgr.drainOutputs()).includes('activate-send-key'));
  await a.mgr.handleTimeout(1600);
  assert.deepEqual(types(a.mgr.drainOutputs()).filter((t) => t === 'activate-send-key'), ['activate-send-key']);
});

test('leave_lastPeer_activatesAtOnce', async () => {
  const [a, b] = [await member('A', 1), await member('B', 2)];
  await a.mgr.memberJoined(0, b.bundle);
  a.mgr.drainOutputs();
  await a.mgr.memberLeft(10, 'B');
  assert.deepEqual(types(a.mgr.drainOutputs()), ['forget-sender', 'activate-send-key']);
  assert.equal(a.mgr.activeKeyId, kidOf(1, 0));
});

test('joinWhilePending_newcomerGetsPendingKeyAndActiveNotRatcheted', async () => {
  const [a, b, c, d] = [await member('A', 1), await member('B', 2), await member('C', 3), await member('D', 4)];
  await a.mgr.membersJoined(0, [b.bundle, c.bundle]);
  await a.mgr.memberLeft(0, 'C');
  a.mgr.drainOutputs();
  const active = a.mgr.activeKeyId;
  await a.mgr.memberJoined(0, d.bundle);
  const outs = a.mgr.drainOutputs();
  assert.deepEqual(types(outs), ['send:D']);
  assert.equal(a.mgr.activeKeyId, active);
  const m = await peek(a, d, outs[0].message);
  assert.deepEqual([m.kid, m.active], [kidOf(1, 0), false]);
});

test('staleKey_rejected', async () => {
  const [a, b] = [await member('A', 1), await member('B', 2)];
  await b.mgr.memberJoined(0, a.bundle);
  b.mgr.drainOutputs();
  const ch = await PairwiseChannel.create(a.identity, 'A', b.bundle);
  await b.mgr.messageReceived(0, 'A', await ch.seal(encodeKey(kidOf(2, 0), new Uint8Array(32).fill(1), true)));
  await b.mgr.messageReceived(0, 'A', await ch.seal(encodeKey(kidOf(1, 9), new Uint8Array(32).fill(2), true)));
  await b.mgr.messageReceived(0, 'A', await ch.seal(encodeKey(kidOf(2, 0), new Uint8Array(32).fill(3), true)));
  // the same KID again is a retransmission: acked again, not installed twice
  assert.deepEqual(types(b.mgr.drainOutputs()), ['install-key', 'send:A', 'rejected:stale-key', 'send:A']);
});

test('earlyMessage_keptAndProcessedAfterJoin', async () => {
  const [a, b] = [await member('A', 1), await member('B', 2)];
  const ch = await PairwiseChannel.create(a.identity, 'A', b.bundle);
  await b.mgr.messageReceived(0, 'A', await ch.seal(encodeKey(kidOf(0, 1), new Uint8Array(32).fill(1), true)));
  b.mgr.drainOutputs();
  await b.mgr.memberJoined(0, a.bundle);
  const outs = b.mgr.drainOutputs();
  assert.deepEqual(types(outs), ['activate-send-key', 'send:A', 'install-key', 'send:A']);
  assert.equal(outs[2].kid, kidOf(0, 1));
});

test('earlyMessages_bounded_bufferFull', async () => {
  const mgr = new GroupKeyManager(await Identity.generate(), 'B', { random: counterRandom(2),
    config: { maxEarlyMessagesPerSender: 2, maxEarlySenders: 1 } });
  for (let i = 0; i < 3; i++) await mgr.messageReceived(0, 'A', new Uint8Array(40));
  await mgr.messageReceived(0, 'C', new Uint8Array(40));
  assert.deepEqual(types(mgr.drainOutputs()).slice(1), ['rejected:buffer-full', 'rejected:buffer-full']);
});

test('badInputs_rejectedWithReasons', async () => {
  const [a, b, c] = [await member('A', 1), await member('B', 2), await member('C', 3)];
  a.mgr.drainOutputs();
  await a.mgr.memberJoined(0, a.identity.bundle('A'));
  await a.mgr.memberJoined(0, b.bundle);
  a.mgr.drainOutputs();
  await a.mgr.memberJoined(0, b.bundle);
  const sig = Uint8Array.from(c.bundle.signature);
  sig[0] ^= 1;
  await a.mgr.memberJoined(0, new Bundle('C', c.bundle.identityKey, c.bundle.kxKey, sig));
  await a.mgr.messageReceived(0, 'C', new Uint8Array(40));
  await a.mgr.messageReceived(0, 'A', new Uint8Array(40));
  await a.mgr.messageReceived(0, 'B', Uint8Array.of(1, 1, 1));
  await a.mgr.memberLeft(0, 'A');
  assert.deepEqual(types(a.mgr.drainOutputs()), ['rejected:duplicate-member', 'rejected:bad-bundle',
    'rejected:unknown-sender', 'rejected:self', 'rejected:malformed', 'rejected:self']);
});

test('joinSelf_rejected', async () => {
  const a = await member('A', 1);
  a.mgr.drainOutputs();
  await a.mgr.memberJoined(0, a.bundle);
  assert.deepEqual(types(a.mgr.drainOutputs()), ['rejected:self']);
});

test('verificationCode_sameForBothViews', async () => {
  const [a, b] = [await member('A', 1), await member('B', 2)];
  await a.mgr.memberJoined(0, b.bundle);
  await b.mgr.memberJoined(0, a.bundle);
  assert.equal((await a.mgr.verificationCode()).display, (await b.mgr.verificationCode()).display);
});

test('destroy_refusesLaterInputsAndDestroysIdentity', async () => {
  const [a, b] = [await member('A', 1), await member('B', 2)];
  a.mgr.destroy();
  assert.equal(a.identity.destroyed, true);
  await assert.rejects(a.mgr.memberJoined(0, b.bundle), { reason: 'destroyed' });
  assert.deepEqual(a.mgr.drainOutputs(), []);
});

test('lostKey_retransmittedWithBackoff_untilAcked_andDeadlineNeverMovesLater', async () => {
  const [a, b, c, d] = [await member('A', 1), await member('B', 2), await member('C', 3), await member('D', 4)];
  for (const m of [a, b]) m.mgr.drainOutputs();
  await a.mgr.membersJoined(0, [b.bundle, c.bundle]);
  await b.mgr.memberJoined(0, a.bundle);
  a.mgr.drainOutputs(); // the KEYs are lost
  b.mgr.drainOutputs();
  await a.mgr.memberLeft(1000, 'C');
  a.mgr.drainOutputs(); // the pending KEY to B is lost too
  assert.equal(a.mgr.pendingDeadline, 2500);
  await a.mgr.memberJoined(1100, d.bundle); // a ghost joins the pending rotation ...
  await a.mgr.memberLeft(1200, 'D'); // ... and leaves: a fresh pending key, same deadline
  assert.equal(a.mgr.pendingDeadline, 2500);
  a.mgr.drainOutputs();
  assert.equal(a.mgr.pollTimeout(), 1450, 'the KEY to B is due again 250 ms after the last one');
  await a.mgr.handleTimeout(1450);
  const resent = a.mgr.drainOutputs();
  assert.deepEqual(types(resent), ['send:B']);
  const m = await peek(a, b, resent[0].message);
  assert.deepEqual([m.type, m.kid, m.active], ['key', kidOf(2, 0), false]);
  assert.equal(a.mgr.pollTimeout(), 1950, 'then 500 ms later');
  await b.mgr.messageReceived(1460, 'A', resent[0].message);
  const ack = b.mgr.drainOutputs().find((o) => o.type === 'send');
  await a.mgr.messageReceived(1470, 'B', ack.message);
  const act = a.mgr.drainOutputs();
  assert.deepEqual(types(act), ['activate-send-key'], 'B was the only member left: its ack activates');
  assert.equal(a.mgr.pollTimeout(), null, 'acked: nothing more to resend');
});
