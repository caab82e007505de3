import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadVectors, big, SHARED_VECTORS, PROJECT_VECTORS } from '../../test-support/e2ee/vectors.mjs';
import { fromHex, toHex } from '../../src/e2ee/bytes.js';
import { hkdfExtract } from '../../src/e2ee/hkdf.js';
import {
  encodeHeader, decodeHeader, deriveKeyAndSalt, keyLabel, saltLabel, makeNonce, suiteInfo, SFrameAead, SFrameKey,
  CipherSuite,
} from '../../src/e2ee/sframe.js';
import { E2EEError } from '../../src/e2ee/errors.js';

// RFC 9605 Appendix C: the project's copy (test-vectors/rfc9605-appendix-c.json) always runs; the shared copy
// beside the project (../shared/test-vectors/sframe-rfc9605.json) runs too when it is present, and is reported as
// skipped, with its path, when it is not.
const RFC_SOURCES = [
  { name: 'project copy', file: join(PROJECT_VECTORS, 'rfc9605-appendix-c.json'), required: true },
  { name: 'shared copy', file: join(SHARED_VECTORS, 'sframe-rfc9605.json'), required: false },
];

for (const { name, file, required } of RFC_SOURCES) {
const rfc = loadVectors(file);
if (required) assert.ok(rfc, 'the project copy of the RFC 9605 vectors is missing: ' + file);
const skip = rfc ? false : 'RFC 9605 vectors not found at ' + file;

test(`rfc9605_header_everyCase_encodesAndDecodes (${name})`, { skip }, () => {
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

test(`rfc9605_aesCtrHmac_everyCase_encryptsAndDecrypts (${name})`, { skip }, async () => {
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

test(`rfc9605_sframe_everyCase_keyScheduleAndFrames (${name})`, { skip }, async () => {
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

test(`rfc9605_sframe_tamperedMetadata_rejectedBadTag (${name})`, { skip }, async () => {
  for (const v of rfc.sframe) {
    const k = await SFrameKey.fromBaseKey(v.cipher_suite, big(v.kid), fromHex(v.base_key));
    const md = fromHex(v.metadata);
    md[0] ^= 0x80;
    await assert.rejects(k.decrypt(fromHex(v.ct), md), { reason: 'bad-tag' });
  }
});
}

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

// ---- SFrameSender / SFrameReceiver: Veil's media framing, key ring and replay windows ----

import { SFrameSender, SFrameReceiver } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { kidOf } from '../../src/e2ee/keyring.js';
import { veilRatchet } from '../../src/e2ee/ratchet.js';
import { hkdfSync } from 'node:crypto';

const BASE = fromHex('0f0e0d0c0b0a09080706050403020100' + '00112233445566778899aabbccddeeff');
const VP8_KEY = fromHex('b0be009d012a8002e001' + '55'.repeat(50));
const VP8_DELTA = fromHex('310200' + '66'.repeat(50));

async function pairAt(kid = 0n, suite = 4) {
  const s = new SFrameSender(suite);
  await s.setKey(kid, BASE);
  const r = new SFrameReceiver(suite);
  await r.addKey(kid, BASE);
  return { s, r };
}

test('veilRatchet_matchesIndependentHkdf', async () => {
  const ref = hkdfSync('sha256', BASE, Buffer.alloc(0), Buffer.from('Veil 1.0 ratchet'), 32);
  assert.equal(toHex(await veilRatchet(BASE)), Buffer.from(ref).toString('hex'));
});

test('encryptFrame_layout_prefixHeaderCiphertextTag', async () => {
  const { s } = await pairAt(kidOf(1, 2));
  const f = await s.encryptFrame(CODECS.vp8, 'key', VP8_KEY);
  assert.deepEqual(f.subarray(0, 10), VP8_KEY.subarray(0, 10));
  // header of KID 0x102, CTR 0: X=1 K=1 (2 KID bytes), Y=0 C=0 -> 0x90 01 02
  assert.equal(toHex(f.subarray(10, 13)), '900102');
  assert.equal(f.length, VP8_KEY.length + 3 + 16);
  // Equivalent to RFC 9605 encryption with the prefix as metadata.
  const k = await SFrameKey.fromBaseKey(4, kidOf(1, 2), BASE);
  assert.deepEqual(f.subarray(10), await k.encrypt(0n, VP8_KEY.subarray(10), VP8_KEY.subarray(0, 10)));
});

test('sender_counterSharedAcrossStreams_neverReset', async () => {
  const { s } = await pairAt();
  await s.encryptFrame(CODECS.vp8, 'key', VP8_KEY);
  await s.encryptFrame(CODECS.opus, undefined, fromHex('fc00'));
  assert.equal(s.nextCounter, 2n);
  await s.setKey(5n, BASE);
  const f = await s.encrypt(new Uint8Array(0), fromHex('00'));
  assert.deepEqual(decodeHeader(f), { kid: 5n, ctr: 2n, length: 1 });
});

test('sender_counterExhausted_refuses', async () => {
  const s = new SFrameSender(4, (1n << 64n) - 1n);
  await s.setKey(0n, BASE);
  await s.encrypt(new Uint8Array(0), fromHex('01'));
  await assert.rejects(s.encrypt(new Uint8Array(0), fromHex('01')), { reason: 'exhausted' });
  await assert.rejects(new SFrameSender().encryptFrame(CODECS.opus, undefined, fromHex('fc')), { reason: 'no-key' });
});

test('receiver_roundTrip_everyCodecAndShortFrames', async () => {
  for (const suite of [1, 4, 5]) {
    const { s, r } = await pairAt(7n, suite);
    const cases = [[CODECS.vp8, 'key', VP8_KEY], [CODECS.vp8, 'delta', VP8_DELTA], [CODECS.vp8, undefined, VP8_KEY],
      [CODECS.opus, undefined, fromHex('fc0102')], [CODECS.vp8, 'key', fromHex('b0be00')],
      [CODECS.vp8, 'key', fromHex('b0')], [CODECS.opus, undefined, fromHex('fc')], [CODECS.none, undefined, fromHex('0102')]];
    for (const [codec, type, frame] of cases) {
      const f = await s.encryptFrame(codec, type, frame);
      assert.deepEqual(await r.decryptFrame(codec, type, f), frame, `suite ${suite} ${codec.name} ${toHex(frame).slice(0, 8)}`);
    }
  }
});

test('receiver_replayedOrTooOld_rejectedReplay', async () => {
  const { s, r } = await pairAt();
  const frames = [];
  for (let i = 0; i < 1026; i++) frames.push(await s.encryptFrame(CODECS.opus, undefined, fromHex('fc' + (i & 0xff).toString(16).padStart(2, '0'))));
  await r.decryptFrame(CODECS.opus, undefined, frames[1]);
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, frames[1]), { reason: 'replay' });
  await r.decryptFrame(CODECS.opus, undefined, frames[1025]);
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, frames[1]), { reason: 'replay' });
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, frames[0]), { reason: 'replay' }); // 1025 behind
  await r.decryptFrame(CODECS.opus, undefined, frames[2]); // 1023 behind, unseen
});

test('receiver_concurrentDuplicate_onlyOneAccepted', async () => {
  const { s, r } = await pairAt();
  const f = await s.encryptFrame(CODECS.opus, undefined, fromHex('fc01'));
  const results = await Promise.allSettled([r.decryptFrame(CODECS.opus, undefined, f), r.decryptFrame(CODECS.opus, undefined, f)]);
  assert.deepEqual(results.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
  assert.equal(results.find((x) => x.status === 'rejected').reason.reason, 'replay');
});

test('receiver_tampered_rejectedBadTagWindowUnmoved', async () => {
  const { s, r } = await pairAt();
  const f = await s.encryptFrame(CODECS.vp8, 'key', VP8_KEY);
  const t = Uint8Array.from(f);
  t[3] ^= 1; // inside the clear prefix: authenticated as metadata
  await assert.rejects(r.decryptFrame(CODECS.vp8, 'key', t), { reason: 'bad-tag' });
  const u = Uint8Array.from(f);
  u[u.length - 1] ^= 1;
  await assert.rejects(r.decryptFrame(CODECS.vp8, 'key', u), { reason: 'bad-tag' });
  assert.deepEqual(await r.decryptFrame(CODECS.vp8, 'key', f), VP8_KEY);
});

test('receiver_senderRatchetedAhead_derivedAndInstalledOnSuccess', async () => {
  const { s, r } = await pairAt(kidOf(2, 0));
  for (let i = 0; i < 3; i++) await s.ratchet();
  assert.equal(s.keyId, kidOf(2, 3));
  const f = await s.encryptFrame(CODECS.vp8, 'delta', VP8_DELTA);
  assert.equal(r.hasKey(kidOf(2, 3)), false);
  assert.deepEqual(await r.decryptFrame(CODECS.vp8, 'delta', f), VP8_DELTA);
  assert.equal(r.hasKey(kidOf(2, 3)), true);
  await assert.rejects(r.decryptFrame(CODECS.vp8, 'delta', f), { reason: 'replay' });
});

test('receiver_tooFarAheadOrOtherGeneration_rejectedNoKey', async () => {
  const { s, r } = await pairAt(kidOf(2, 0));
  for (let i = 0; i < 17; i++) await s.ratchet();
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, await s.encryptFrame(CODECS.opus, undefined, fromHex('fc'))), { reason: 'no-key' });
  await s.setKey(kidOf(3, 0), BASE);
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, await s.encryptFrame(CODECS.opus, undefined, fromHex('fc'))), { reason: 'no-key' });
});

test('receiver_forgedRatchetFrame_notInstalled', async () => {
  const { r } = await pairAt(kidOf(2, 0));
  const other = new SFrameSender(4);
  await other.setKey(kidOf(2, 1), new Uint8Array(32).fill(9));
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, await other.encryptFrame(CODECS.opus, undefined, fromHex('fc'))), { reason: 'bad-tag' });
  assert.equal(r.hasKey(kidOf(2, 1)), false);
});

test('receiver_ringCapacity_oldestKeyRetired', async () => {
  const r = new SFrameReceiver(4, 2);
  const s = new SFrameSender(4);
  for (const g of [1, 2, 3]) await r.addKey(kidOf(g, 0), BASE);
  await s.setKey(kidOf(1, 0), BASE);
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, await s.encryptFrame(CODECS.opus, undefined, fromHex('fc'))), { reason: 'no-key' });
  await s.setKey(kidOf(3, 0), BASE);
  assert.deepEqual(await r.decryptFrame(CODECS.opus, undefined, await s.encryptFrame(CODECS.opus, undefined, fromHex('fc'))), fromHex('fc'));
  assert.equal(r.removeKey(kidOf(3, 0)), true);
  assert.equal(r.hasKey(kidOf(3, 0)), false);
});

test('receiver_malformed_typedErrors', async () => {
  const { r } = await pairAt();
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, new Uint8Array(0)), { reason: 'truncated' });
  await assert.rejects(r.decrypt(new Uint8Array(0), new Uint8Array(0)), { reason: 'truncated' });
  await assert.rejects(r.decrypt(new Uint8Array(0), fromHex('ff01')), { reason: 'bad-header' });
  await assert.rejects(r.decrypt(new Uint8Array(0), fromHex('00' + '00'.repeat(15))), { reason: 'truncated' });
  // opus prefix 1, then a header claiming 8 KID bytes that do not fit, no shorter prefix works either
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, fromHex('fcff01')), { reason: 'bad-header' });
});

test('receiver_oneWindowPerKid_lateVideoAccepted_replayIntoAnotherStreamRejected', async () => {
  const { s, r } = await pairAt();
  const video = await s.encryptFrame(CODECS.vp8, 'key', VP8_KEY); // CTR 0
  const audio = [];
  for (let i = 0; i < 200; i++) audio.push(await s.encryptFrame(CODECS.opus, undefined, fromHex('fc01')));
  for (const [i, f] of audio.entries()) await r.decryptFrame(CODECS.opus, undefined, f, null, 1000 + i);
  // 200 CTRs behind the newest (audio) but inside the 1024-frame window and younger than 2 s: accepted
  assert.deepEqual(await r.decryptFrame(CODECS.vp8, 'key', video, null, 1200), VP8_KEY);
  // the same frames again, as if the server re-offered them on a new track: one window per KID, all replays
  await assert.rejects(r.decryptFrame(CODECS.vp8, 'key', video, null, 1201), { reason: 'replay' });
  for (const f of audio.slice(0, 5)) await assert.rejects(r.decryptFrame(CODECS.opus, undefined, f, null, 1202), { reason: 'replay' });
  // and the live frames go on
  const live = await s.encryptFrame(CODECS.opus, undefined, fromHex('fc02'));
  assert.deepEqual(await r.decryptFrame(CODECS.opus, undefined, live, null, 1203), fromHex('fc02'));
  // a frame withheld for more than 2 s after a later one arrived is refused although its bit is clear
  const { s: s2, r: r2 } = await pairAt();
  const held = await s2.encryptFrame(CODECS.opus, undefined, fromHex('fc03'));
  const next = await s2.encryptFrame(CODECS.opus, undefined, fromHex('fc04'));
  await r2.decryptFrame(CODECS.opus, undefined, next, null, 5000);
  await assert.rejects(r2.decryptFrame(CODECS.opus, undefined, held, null, 7001), { reason: 'replay' });
});

test('receiver_olderGenerationExpires_afterNewerAuthenticated_orGrace', async () => {
  const s = new SFrameSender(4);
  await s.setKey(kidOf(1, 0), BASE);
  const old = [];
  for (let i = 0; i < 3; i++) old.push(await s.encryptFrame(CODECS.opus, undefined, fromHex('fc0' + i)));
  const next = new Uint8Array(32).fill(9);
  await s.setKey(kidOf(2, 0), next);
  const fresh = await s.encryptFrame(CODECS.opus, undefined, fromHex('fc10'));
  const r = new SFrameReceiver(4);
  await r.addKey(kidOf(1, 0), BASE, 0);
  await r.decryptFrame(CODECS.opus, undefined, old[0], null, 0);
  assert.equal(await r.addKey(kidOf(2, 0), next, 100), true);
  await r.decryptFrame(CODECS.opus, undefined, fresh, null, 300);
  await r.decryptFrame(CODECS.opus, undefined, old[1], null, 549); // in flight, within 250 ms
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, old[2], null, 550), { reason: 'expired-key' });
  assert.equal(await r.addKey(kidOf(1, 0), BASE, 600), false, 'an expired KID is never installed again');
  // grace: no frame under the newer key, the older one still goes 2 s after the newer was installed
  const r2 = new SFrameReceiver(4);
  await r2.addKey(kidOf(1, 0), BASE, 0);
  await r2.addKey(kidOf(2, 0), next, 1000);
  await r2.decryptFrame(CODECS.opus, undefined, old[0], null, 2999);
  await assert.rejects(r2.decryptFrame(CODECS.opus, undefined, old[1], null, 3000), { reason: 'expired-key' });
  // a leave: every key held expires at the deadline even if no newer key ever arrives
  const r3 = new SFrameReceiver(4);
  await r3.addKey(kidOf(1, 0), BASE, 0);
  r3.expireInstalledKeys(10, 2010);
  await r3.decryptFrame(CODECS.opus, undefined, old[0], null, 2009);
  await assert.rejects(r3.decryptFrame(CODECS.opus, undefined, old[1], null, 2010), { reason: 'expired-key' });
});

test('receiver_shortFrameBehindLongHeader_triesEveryExactFitPrefix', async () => {
  // A 3-byte VP8 key frame (all prefix) under a KID and CTR whose header is long: the reading at n = 10 fits
  // (header + 16 bytes) but does not authenticate; the exact-fit reading at k = 3 does.
  const kid = kidOf(0x123456, 7);
  const s = new SFrameSender(4, 0x1234567n);
  await s.setKey(kid, BASE);
  const r = new SFrameReceiver(4);
  await r.addKey(kid, BASE);
  const short = fromHex('b0be00');
  const f = await s.encryptFrame(CODECS.vp8, 'key', short);
  assert.equal(f.length, 3 + encodeHeader(kid, 0x1234567n).length + 16);
  assert.deepEqual(await r.decryptFrame(CODECS.vp8, 'key', f), short);
  // Again: the exact-fit reading is now a replay, and the reason reported is the one of the reading at n = 10
  // (it fits), whatever its garbage header names.
  await assert.rejects(r.decryptFrame(CODECS.vp8, 'key', f), (e) => e instanceof E2EEError && e.reason !== undefined);
  assert.deepEqual(await r.decryptFrame(CODECS.vp8, 'key', await s.encryptFrame(CODECS.vp8, 'key', short)), short);
});

test('receiver_keyForAKidReachedByRatcheting_keepsItsWindow', async () => {
  const s = new SFrameSender(4);
  await s.setKey(kidOf(4, 0), BASE);
  await s.ratchet();
  await s.ratchet();
  const f = await s.encryptFrame(CODECS.opus, undefined, fromHex('fc0102'));
  const r = new SFrameReceiver(4);
  await r.addKey(kidOf(4, 0), BASE, 0);
  assert.deepEqual(await r.decryptFrame(CODECS.opus, undefined, f, null, 100), fromHex('fc0102')); // ratcheted
  // the KEY for (4, 2) arrives afterwards: the window is kept, the frame is still a replay
  assert.equal(await r.addKey(kidOf(4, 2), await veilRatchet(await veilRatchet(BASE)), 110), true);
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, f, null, 120), { reason: 'replay' });
  await assert.rejects(r.decryptFrame(CODECS.opus, undefined, f, null, 400), { reason: 'replay' });
  assert.equal(r.isExpired(kidOf(4, 0)), true, '(4, 0) expired 250 ms after (4, 2) authenticated');
});
