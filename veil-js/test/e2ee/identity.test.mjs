import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fromHex, toHex, toBase64Url, concat, utf8 } from '../../src/e2ee/bytes.js';
import {
  Identity, Bundle, fingerprint, fingerprintDisplay, fingerprintMatches, verificationCode, verificationCodeInput,
  compareConnectionIds, isValidConnectionId, lengthPrefixedId,
} from '../../src/e2ee/identity.js';

// RFC 8032 §7.1 TEST 1 and RFC 7748 §6.1.
const ED_SEED = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const ED_PUB = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const ALICE_PRIV = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUB = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_PRIV = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUB = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

test('fromPrivateKeys_rfcVectors_publicKeysAndAgreement', async () => {
  const alice = await Identity.fromPrivateKeys(ED_SEED, ALICE_PRIV);
  assert.equal(toHex(alice.identityKey), ED_PUB);
  assert.equal(toHex(alice.kxKey), ALICE_PUB);
  const bob = await Identity.fromPrivateKeys(new Uint8Array(32).fill(7), BOB_PRIV);
  assert.equal(toHex(bob.kxKey), BOB_PUB);
  assert.equal(toHex(await alice.agree(bob.kxKey)), SHARED);
  assert.equal(toHex(await bob.agree(alice.kxKey)), SHARED);
});

test('bundle_signature_verifiesWithNodeCrypto', async () => {
  const id = await Identity.fromPrivateKeys(ED_SEED, ALICE_PRIV);
  const b = id.bundle('conn-A');
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(b.identityKey)]);
  const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const input = concat(utf8('Veil 1.0 bundle'), b.identityKey, b.kxKey);
  assert.equal(nodeVerify(null, input, pub, b.signature), true);
  assert.equal(await b.verify(), true);
});

test('bundle_json_roundTripAndExactText', async () => {
  const id = await Identity.fromPrivateKeys(ED_SEED, ALICE_PRIV);
  const b = id.bundle('conn-A');
  const json = b.toJson();
  assert.equal(json, '{"version":1,"identity_key":"' + toBase64Url(b.identityKey) + '","kx_key":"'
    + toBase64Url(b.kxKey) + '","signature":"' + toBase64Url(b.signature) + '"}');
  const back = Bundle.fromJson('conn-A', json);
  assert.deepEqual(back.identityKey, b.identityKey);
  assert.deepEqual(back.signature, b.signature);
  const fromObject = Bundle.fromJson('conn-A', { ...b.toObject(), extra: [1, 2] });
  assert.equal(await fromObject.verify(), true);
});

test('bundle_fromJson_strict_rejectsBadBundles', async () => {
  const id = await Identity.generate();
  const o = id.bundle('c1').toObject();
  const bad = [
    { ...o, version: 2 }, { ...o, version: '1' }, { ...o, identity_key: o.identity_key + '=' },
    { ...o, kx_key: o.kx_key.slice(1) }, { ...o, signature: undefined }, { ...o, kx_key: o.kx_key.replace(/.$/, '+') },
    // Non-canonical: the last character of a 32-byte value carries 2 unused bits.
    { ...o, identity_key: o.identity_key.slice(0, -1) + (o.identity_key.endsWith('B') ? 'C' : 'B') },
    null, [], 'not json', '{"version":1}',
  ];
  for (const v of bad) assert.throws(() => Bundle.fromJson('c1', v), { reason: 'bad-bundle' }, JSON.stringify(v));
  assert.throws(() => Bundle.fromJson('', o), { reason: 'bad-bundle' });
});

test('bundle_tamperedSignature_doesNotVerify', async () => {
  const b = (await Identity.generate()).bundle('c1');
  const sig = Uint8Array.from(b.signature);
  sig[5] ^= 1;
  assert.equal(await new Bundle('c1', b.identityKey, b.kxKey, sig).verify(), false);
  const kx = Uint8Array.from(b.kxKey);
  kx[0] ^= 1;
  assert.equal(await new Bundle('c1', b.identityKey, kx, b.signature).verify(), false);
});

test('fingerprint_sha256OfLabelAndKey_displayGrouped', async () => {
  const key = fromHex(ED_PUB);
  const fp = await fingerprint(key);
  const ref = createHash('sha256').update('Veil 1.0 fingerprint').update(key).digest('hex');
  assert.equal(toHex(fp), ref);
  const d = fingerprintDisplay(fp);
  assert.equal(d.length, 79);
  assert.equal(d.replace(/ /g, ''), ref);
  assert.match(d, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  assert.equal(fingerprintMatches(fp, d.toUpperCase().replace(/ /g, ':')), true);
  assert.equal(fingerprintMatches(fp, d.replace(/^./, d[0] === '0' ? '1' : '0')), false);
  assert.equal(fingerprintMatches(fp, 'zz'), false);
});

test('verificationCode_inputLayoutAndUtf8Order', async () => {
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  // '\uff5e' (UTF-8 ef bd 9e) sorts before '\u{1f600}' (f0 9f 98 80), unlike UTF-16 order.
  const input = verificationCodeInput([{ connectionId: '\u{1f600}', identityKey: k2 }, { connectionId: '\uff5e', identityKey: k1 }]);
  assert.equal(toHex(input), toHex(concat(utf8('Veil 1.0 room code'), fromHex('0002'), fromHex('03efbd9e'), k1,
    fromHex('04f09f9880'), k2)));
  assert.ok(compareConnectionIds('\uff5e', '\u{1f600}') < 0);
  const code = await verificationCode([{ connectionId: 'b', identityKey: k2 }, { connectionId: 'a', identityKey: k1 }]);
  const h = createHash('sha256').update(verificationCodeInput([{ connectionId: 'a', identityKey: k1 },
    { connectionId: 'b', identityKey: k2 }])).digest();
  const groups = [0, 1, 2, 3, 4, 5].map((g) => String(Number(h.readUIntBE(5 * g, 5) % 100000)).padStart(5, '0'));
  assert.equal(code.display, groups.join(' '));
  assert.match(code.display, /^(\d{5} ){5}\d{5}$/);
});

test('verificationCode_changesOnJoinLeaveAndKeyChange', async () => {
  const a = { connectionId: 'a', identityKey: new Uint8Array(32).fill(1) };
  const b = { connectionId: 'b', identityKey: new Uint8Array(32).fill(2) };
  const c = { connectionId: 'c', identityKey: new Uint8Array(32).fill(3) };
  const ab = (await verificationCode([a, b])).display;
  assert.equal((await verificationCode([b, a])).display, ab);
  assert.notEqual((await verificationCode([a, b, c])).display, ab);
  assert.notEqual((await verificationCode([a])).display, ab);
  assert.notEqual((await verificationCode([a, { ...b, identityKey: new Uint8Array(32).fill(4) }])).display, ab);
});

test('verificationCode_badSets_rejected', () => {
  const a = { connectionId: 'a', identityKey: new Uint8Array(32) };
  assert.throws(() => verificationCodeInput([]), { reason: 'malformed' });
  assert.throws(() => verificationCodeInput([a, a]), { reason: 'malformed' });
  assert.throws(() => verificationCodeInput([{ connectionId: '', identityKey: new Uint8Array(32) }]), { reason: 'malformed' });
});

test('connectionIds_validity', () => {
  assert.equal(isValidConnectionId('x'.repeat(255)), true);
  assert.equal(isValidConnectionId('x'.repeat(256)), false);
  assert.equal(isValidConnectionId('é'.repeat(128)), false);
  assert.equal(isValidConnectionId('\ud800'), false);
  assert.equal(isValidConnectionId(''), false);
  assert.equal(toHex(lengthPrefixedId('ab')), '026162');
});

test('identity_destroy_refusesPrivateKeyUse', async () => {
  const id = await Identity.generate();
  const other = await Identity.generate();
  id.destroy();
  assert.equal(id.destroyed, true);
  await assert.rejects(id.agree(other.kxKey), { reason: 'destroyed' });
  await assert.rejects(id.sign(new Uint8Array(1)), { reason: 'destroyed' });
  assert.throws(() => id.bundle('c'), { reason: 'destroyed' });
});

test('agree_smallOrderPoint_rejectedBadKey', async () => {
  const id = await Identity.generate();
  await assert.rejects(id.agree(new Uint8Array(32)), { reason: 'bad-key' });
  await assert.rejects(id.agree(fromHex('0100000000000000000000000000000000000000000000000000000000000000')), { reason: 'bad-key' });
  await assert.rejects(id.agree(new Uint8Array(31)), { reason: 'bad-key' });
});
