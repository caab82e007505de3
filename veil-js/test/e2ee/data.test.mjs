// Data-message encryption (src/e2ee/data.js, docs/PROTOCOL.md §1.7) in memory: round trip, every flipped byte
// rejected, re-addressing and re-attribution rejected, replay rejected, the receiver follows the sender's ratchet, and
// data and media under the same KID and CTR use unrelated keys (veil-client's DataCryptoTest, in JS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataCrypto, KIND_BYTES, KIND_TEXT, dataMetadata } from '../../src/e2ee/data.js';
import { SFrameSender, CipherSuite } from '../../src/e2ee/sframe.js';
import { veilRatchet } from '../../src/e2ee/ratchet.js';
import { kidOf } from '../../src/e2ee/keyring.js';
import { utf8, fromUtf8 } from '../../src/e2ee/bytes.js';

const ALICE = 'AAAAAAAAAAAAAAAAAAAAAAAAAA';
const BOB = 'BBBBBBBBBBBBBBBBBBBBBBBBBB';
const CAROL = 'CCCCCCCCCCCCCCCCCCCCCCCCCC';
const base = seed => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff);

async function pair(kid, b) {
  const alice = new DataCrypto();
  const bob = new DataCrypto();
  await alice.setSendKey(kid, b);
  await bob.installKey(ALICE, kid, b, 0);
  return [alice, bob];
}

const reason = p => p.then(() => 'opened', e => e.reason);

test('data_roundTrip_broadcastAndDirect_textAndBytes', async () => {
  const [a, b] = await pair(kidOf(7, 0), base(1));
  const sealed = await a.seal(null, KIND_TEXT, utf8('hello'));
  const o = await b.open(ALICE, null, sealed, 10);
  assert.equal(o.kind, KIND_TEXT);
  assert.equal(fromUtf8(o.body), 'hello');
  assert.ok(!Buffer.from(sealed).includes(Buffer.from('hello')));
  const direct = await a.seal(BOB, KIND_BYTES, new Uint8Array([0, 1, 2]));
  assert.deepEqual(Array.from((await b.open(ALICE, BOB, direct, 11)).body), [0, 1, 2]);
});

test('data_flippedBytes_reAddressing_reAttribution_andReplay_areRejected', async () => {
  const [a, b] = await pair(kidOf(7, 0), base(2));
  const sealed = await a.seal(BOB, KIND_TEXT, utf8('secret plan'));
  for (let i = 0; i < sealed.length; i++) {
    const t = Uint8Array.from(sealed);
    t[i] ^= 1;
    assert.notEqual(await reason(b.open(ALICE, BOB, t, 10)), 'opened', `flipped byte ${i}`);
  }
  assert.equal(await reason(b.open(ALICE, CAROL, sealed, 10)), 'bad-tag', 're-addressed to carol');
  assert.equal(await reason(b.open(ALICE, null, sealed, 10)), 'bad-tag', 'turned into a broadcast');
  assert.equal(await reason(b.open(CAROL, BOB, sealed, 10)), 'no-key', 'attributed to another sender');
  assert.equal(await reason(b.open(ALICE, BOB, sealed, 10)), 'opened');
  assert.equal(await reason(b.open(ALICE, BOB, sealed, 11)), 'replay', 'replayed');
});

test('data_receiverFollowsTheSendersRatchet_noKeyNoSend_forgottenSenderOpensNothing', async () => {
  const b0 = base(4);
  const [a, b] = await pair(kidOf(9, 0), b0);
  await a.setSendKey(kidOf(9, 1), await veilRatchet(b0));
  assert.equal((await b.open(ALICE, null, await a.seal(null, KIND_TEXT, utf8('after a join')), 10)).kind, KIND_TEXT);
  await assert.rejects(new DataCrypto().seal(null, KIND_TEXT, new Uint8Array(1)), e => e.reason === 'no-key');
  await b.forget(ALICE, 20, 20);
  assert.equal(await reason(b.open(ALICE, null, await a.seal(null, KIND_TEXT, new Uint8Array(1)), 30)), 'no-key');
});

test('data_andMedia_underTheSameKidAndCounter_haveUnrelatedKeystreams', async () => {
  const kid = kidOf(3, 0);
  const media = new SFrameSender(CipherSuite.AES_128_GCM_SHA256_128);
  await media.setKey(kid, base(3));
  const data = new DataCrypto();
  await data.setSendKey(kid, base(3));
  const m = await media.encrypt(dataMetadata(null), new Uint8Array(64));
  const d = await data.seal(null, KIND_BYTES, new Uint8Array(63));
  assert.equal(m[0], d[0], 'same header: KID 3/0, CTR 0');
  let same = 0;
  for (let i = 3; i < 40; i++) same += m[i] === d[i] ? 1 : 0;
  assert.ok(same <= 8, `unrelated keystreams, ${same} equal bytes`);
});
