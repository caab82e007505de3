import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadVectors, big, SHARED_VECTORS } from './vectors.mjs';
import { fromHex, toHex } from '../../src/e2ee/bytes.js';
import { hkdfExtract } from '../../src/e2ee/hkdf.js';
import {
  encodeHeader, decodeHeader, deriveKeyAndSalt, keyLabel, saltLabel, makeNonce, suiteInfo, SFrameAead, SFrameKey,
  CipherSuite,
} from '../../src/e2ee/sframe.js';
import { E2EEError } from '../../src/e2ee/errors.js';

const RFC_FILE = join(SHARED_VECTORS, 'sframe-rfc9605.json');
const rfc = loadVectors(RFC_FILE);
const skip = rfc ? false : 'RFC 9605 vectors not found at ' + RFC_FILE;

test('rfc9605_header_everyCase_encodesAndDecodes', { skip }, () => {
  assert.equal(rfc.header.length, 289);
  for (const v of rfc.header) {
    const enc = encodeHeader(big(v.kid), big(v.ctr));
    assert.equal(toHex(enc), v.encoded, `kid=${v.kid} ctr=${v.ctr}`);
    const dec = decodeHeader(fromHex(v.encoded + 'abcd'));
    assert.equal(dec.kid, big(v.kid));
    assert.equal(dec.ctr, big(v.ctr));
    assert.equal(dec.length, v.encoded.length / 2);
  }
});

test('rfc9605_aesCtrHmac_everyCase_encryptsAndDecrypts', { skip }, async () => {
  assert.equal(rfc.aes_ctr_hmac.length, 3);
  for (const v of rfc.aes_ctr_hmac) {
    const aead = await SFrameAead.create(v.cipher_suite, fromHex(v.key));
    const ct = await aead.encrypt(fromHex(v.nonce), fromHex(v.aad), fromHex(v.pt));
    assert.equal(toHex(ct), v.ct, 'suite ' + v.cipher_suite);
    const pt = await aead.decrypt(fromHex(v.nonce), fromHex(v.aad), fromHex(v.ct));
    assert.equal(toHex(pt), v.pt);
    const bad = fromHex(v.ct);
    bad[bad.length - 1] ^= 1;
    await assert.rejects(aead.decrypt(fromHex(v.nonce), fromHex(v.aad), bad), { reason: 'bad-tag' });
  }
});

test('rfc9605_sframe_everyCase_keyScheduleAndFrames', { skip }, async () => {
  assert.equal(rfc.sframe.length, 5);
  for (const v of rfc.sframe) {
    const s = suiteInfo(v.cipher_suite);
    const kid = big(v.kid);
    const ctr = big(v.ctr);
    assert.equal(toHex(keyLabel(kid, s.id)), v.sframe_key_label);
    assert.equal(toHex(saltLabel(kid, s.id)), v.sframe_salt_label);
    assert.equal(toHex(await hkdfExtract(s.hash, new Uint8Array(0), fromHex(v.base_key))), v.sframe_secret);
    const { key, salt } = await deriveKeyAndSalt(s.id, fromHex(v.base_key), kid);
    assert.equal(toHex(key), v.sframe_key, 'suite ' + s.id);
    assert.equal(toHex(salt), v.sframe_salt);
    assert.equal(toHex(makeNonce(salt, ctr)), v.nonce);
    const k = await SFrameKey.fromBaseKey(s.id, kid, fromHex(v.base_key));
    const frame = await k.encrypt(ctr, fromHex(v.pt), fromHex(v.metadata));
    assert.equal(toHex(frame), v.ct, 'suite ' + s.id);
    assert.equal(toHex(encodeHeader(kid, ctr)) + v.metadata, v.aad);
    const dec = await k.decrypt(fromHex(v.ct), fromHex(v.metadata));
    assert.equal(dec.ctr, ctr);
    assert.equal(toHex(dec.plaintext), v.pt);
  }
});

test('rfc9605_sframe_tamperedMetadata_rejectedBadTag', { skip }, async () => {
  for (const v of rfc.sframe) {
    const k = await SFrameKey.fromBaseKey(v.cipher_suite, big(v.kid), fromHex(v.base_key));
    const md = fromHex(v.metadata);
    md[0] ^= 0x80;
    await assert.rejects(k.decrypt(fromHex(v.ct), md), { reason: 'bad-tag' });
  }
});

test('decodeHeader_doesNotFit_throwsBadHeader', () => {
  assert.throws(() => decodeHeader(fromHex('99012345')), (e) => e instanceof E2EEError && e.reason === 'bad-header');
  assert.throws(() => decodeHeader(fromHex('ff' + 'ff'.repeat(15))), { reason: 'bad-header' });
});

test('decodeHeader_empty_throwsTruncated', () => {
  assert.throws(() => decodeHeader(new Uint8Array(0)), { reason: 'truncated' });
  assert.throws(() => decodeHeader(fromHex('00'), 1), { reason: 'truncated' });
});

test('decodeHeader_nonMinimal_acceptedAsVeilE2ee', () => {
  // KID 5 written in an extension byte, and CTR 1 written in two bytes.
  assert.deepEqual(decodeHeader(fromHex('8005')), { kid: 5n, ctr: 0n, length: 2 });
  assert.deepEqual(decodeHeader(fromHex('090001')), { kid: 0n, ctr: 1n, length: 3 });
});

test('encodeHeader_outOfRange_throws', () => {
  assert.throws(() => encodeHeader(1n << 64n, 0), RangeError);
  assert.throws(() => encodeHeader(0, -1), RangeError);
});

test('sframeKey_roundTrip_everySuite', async () => {
  const base = fromHex('00112233445566778899aabbccddeeff');
  for (const id of Object.values(CipherSuite)) {
    const k = await SFrameKey.fromBaseKey(id, 0x1234n, base);
    const pt = new Uint8Array(1200).map((_, i) => i & 0xff);
    const md = fromHex('9d012a');
    const frame = await k.encrypt(99n, pt, md);
    assert.equal(frame.length, encodeHeader(0x1234n, 99n).length + pt.length + suiteInfo(id).nt);
    const dec = await k.decrypt(frame, md);
    assert.deepEqual(dec.plaintext, pt);
  }
});

test('sframeKey_wrongKid_throwsNoKey', async () => {
  const base = new Uint8Array(16);
  const a = await SFrameKey.fromBaseKey(4, 1n, base);
  const b = await SFrameKey.fromBaseKey(4, 2n, base);
  await assert.rejects(b.decrypt(await a.encrypt(0n, new Uint8Array(4))), { reason: 'no-key' });
});

test('sframeAead_wrongKeyLength_throwsBadKey', async () => {
  await assert.rejects(SFrameAead.create(4, new Uint8Array(32)), { reason: 'bad-key' });
  await assert.rejects(SFrameAead.create(9, new Uint8Array(16)), { reason: 'unsupported' });
});
