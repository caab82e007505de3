import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync, createDecipheriv } from 'node:crypto';
import { fromHex, toHex, concat, utf8 } from '../../src/e2ee/bytes.js';
import { Identity, Bundle } from '../../src/e2ee/identity.js';
import { PairwiseChannel, decodeMessage, party, messageHeader } from '../../src/e2ee/pairwise.js';

async function pair(aId = 'conn-A', bId = 'conn-B') {
  const a = await Identity.generate();
  const b = await Identity.generate();
  return {
    a, b,
    ab: await PairwiseChannel.create(a, aId, b.bundle(bId)),
    ba: await PairwiseChannel.create(b, bId, a.bundle(aId)),
  };
}

test('seal_open_roundTripBothDirections', async () => {
  const { ab, ba } = await pair();
  for (let i = 0; i < 3; i++) {
    assert.equal(new TextDecoder().decode(await ba.open(await ab.seal(utf8('hello ' + i)))), 'hello ' + i);
    assert.equal(new TextDecoder().decode(await ab.open(await ba.seal(utf8('back ' + i)))), 'back ' + i);
  }
});

test('seal_matchesIndependentDerivation', async () => {
  const aSeed = fromHex('11'.repeat(32));
  const bSeed = fromHex('22'.repeat(32));
  const a = await Identity.fromPrivateKeys(aSeed, fromHex('33'.repeat(32)));
  const b = await Identity.fromPrivateKeys(bSeed, fromHex('44'.repeat(32)));
  const ab = await PairwiseChannel.create(a, 'A', b.bundle('B'));
  await ab.seal(utf8('zero'));
  const msg = await ab.seal(utf8('key message'));
  const shared = await b.agree(a.kxKey);
  const info = concat(utf8('Veil 1.0 pairwise key'), party('A', a.identityKey, a.kxKey), party('B', b.identityKey, b.kxKey));
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), info, 32));
  const header = messageHeader('A', 'B', 1);
  assert.equal(toHex(msg.subarray(0, header.length)), toHex(header));
  assert.equal(toHex(header), '0101' + '0141' + '0142' + '00000001');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from('000000000000000000000001', 'hex'));
  d.setAAD(header);
  d.setAuthTag(msg.subarray(msg.length - 16));
  const pt = Buffer.concat([d.update(msg.subarray(header.length, msg.length - 16)), d.final()]);
  assert.equal(pt.toString(), 'key message');
});

test('open_replayAndReorder_rejectedGapsAllowed', async () => {
  const { ab, ba } = await pair();
  const m0 = await ab.seal(utf8('0'));
  const m1 = await ab.seal(utf8('1'));
  const m2 = await ab.seal(utf8('2'));
  await ba.open(m0);
  await ba.open(m2);
  await assert.rejects(ba.open(m1), { reason: 'replay' });
  await assert.rejects(ba.open(m2), { reason: 'replay' });
  assert.equal(new TextDecoder().decode(await ba.open(await ab.seal(utf8('3')))), '3');
});

test('open_tampered_rejectedBadTagStateUnchanged', async () => {
  const { ab, ba } = await pair();
  const m = await ab.seal(utf8('secret'));
  const t = Uint8Array.from(m);
  t[t.length - 3] ^= 1;
  await assert.rejects(ba.open(t), { reason: 'bad-tag' });
  assert.equal(new TextDecoder().decode(await ba.open(m)), 'secret');
});

test('open_wrongRecipientOrSender_rejected', async () => {
  const a = await Identity.generate();
  const b = await Identity.generate();
  const c = await Identity.generate();
  const ac = await PairwiseChannel.create(a, 'A', c.bundle('C'));
  const ba = await PairwiseChannel.create(b, 'B', a.bundle('A'));
  const cb = await PairwiseChannel.create(c, 'C', b.bundle('B'));
  const bc = await PairwiseChannel.create(b, 'B', c.bundle('C'));
  await assert.rejects(ba.open(await ac.seal(utf8('x'))), { reason: 'wrong-recipient' });
  await assert.rejects(ba.open(await cb.seal(utf8('x'))), { reason: 'wrong-sender' });
  // The right channel opens it.
  assert.equal(new TextDecoder().decode(await bc.open(await cb.seal(utf8('y')))), 'y');
});

test('open_relabelledConnection_notOpenedByRealOwner', async () => {
  // The server relabels B's bundle as "B2": a channel A built for B2 does not open what B sends as B.
  const a = await Identity.generate();
  const b = await Identity.generate();
  const ab2 = await PairwiseChannel.create(a, 'A', b.bundle('B2'));
  const m = await ab2.seal(utf8('x'));
  const fake = Bundle.fromJson('B2', b.bundle('B').toObject());
  const b2a = await PairwiseChannel.create(b, 'B2', a.bundle('A'));
  assert.equal(await fake.verify(), true);
  assert.equal(new TextDecoder().decode(await b2a.open(m)), 'x');
  const ba = await PairwiseChannel.create(b, 'B', a.bundle('A'));
  await assert.rejects(ba.open(m), { reason: 'wrong-recipient' });
});

test('decode_malformed_typedReasons', () => {
  assert.throws(() => decodeMessage(new Uint8Array(1)), { reason: 'malformed' });
  assert.throws(() => decodeMessage(fromHex('0201')), { reason: 'unsupported-version' });
  assert.throws(() => decodeMessage(fromHex('0102')), { reason: 'malformed' });
  assert.throws(() => decodeMessage(fromHex('0101')), { reason: 'malformed' });
  assert.throws(() => decodeMessage(fromHex('010100')), { reason: 'malformed' });
  assert.throws(() => decodeMessage(fromHex('010101ff01410000')), { reason: 'malformed' });
  assert.throws(() => decodeMessage(concat(fromHex('01010141014200000001'), new Uint8Array(15))), { reason: 'malformed' });
  assert.throws(() => decodeMessage(new Uint8Array(4097).fill(1)), { reason: 'malformed' });
  const ok = decodeMessage(concat(fromHex('010101410142000000ff'), new Uint8Array(16)));
  assert.deepEqual([ok.sender, ok.recipient, ok.seq, ok.ciphertext.length], ['A', 'B', 255, 16]);
});

test('create_badBundles_rejected', async () => {
  const a = await Identity.generate();
  const b = await Identity.generate();
  const good = b.bundle('B');
  const sig = Uint8Array.from(good.signature);
  sig[0] ^= 1;
  await assert.rejects(PairwiseChannel.create(a, 'A', new Bundle('B', good.identityKey, good.kxKey, sig)), { reason: 'bad-bundle' });
  await assert.rejects(PairwiseChannel.create(a, 'B', good), { reason: 'bad-bundle' });
});

test('destroy_refusesUse', async () => {
  const { ab, ba } = await pair();
  const m = await ab.seal(utf8('x'));
  ba.destroy();
  await assert.rejects(ba.open(m), { reason: 'destroyed' });
  ab.destroy();
  await assert.rejects(ab.seal(utf8('y')), { reason: 'destroyed' });
});
