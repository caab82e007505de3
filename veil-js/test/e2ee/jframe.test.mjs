import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync } from 'node:crypto';
import { fromHex, toHex, concat } from '../../src/e2ee/bytes.js';
import { jframeRatchet } from '../../src/e2ee/ratchet.js';
import {
  JFrameKey, JFrameEncryptor, JFrameDecryptor, parseTrailer, OVERHEAD,
} from '../../src/e2ee/jframe.js';

const MATERIAL = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');

/** JFrame computed independently with node:crypto (OpenSSL), from the format description alone. */
function referenceFrame(material, data, n, ssrc, ts, count, index) {
  const aes = Buffer.from(hkdfSync('sha256', material, 'JFrameEncryptionKey', Buffer.alloc(0), 16));
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc, 0);
  iv.writeUInt32BE(ts, 4);
  iv.writeUInt32BE(count % 0xffff, 8);
  const c = createCipheriv('aes-128-gcm', aes, iv);
  c.setAAD(data.subarray(0, n));
  const ct = Buffer.concat([c.update(data.subarray(n)), c.final(), c.getAuthTag()]);
  return concat(data.subarray(0, n), ct, iv, Uint8Array.of(12, index));
}

function referenceRatchet(material) {
  return new Uint8Array(hkdfSync('sha256', material, 'JFrameRatchetKey', Buffer.alloc(0), 32));
}

const vp8Key = fromHex('b0be009d012a8002e001' + '11'.repeat(40));

test('encrypt_matchesIndependentImplementation', async () => {
  const enc = new JFrameEncryptor({ counterStart: () => 0x1234 });
  enc.setKey(3, await JFrameKey.fromMaterial(MATERIAL));
  const out = await enc.encrypt(vp8Key, 10, 0xdeadbeef, 0x01020304);
  assert.equal(toHex(out), toHex(referenceFrame(MATERIAL, vp8Key, 10, 0xdeadbeef, 0x01020304, 0x1234, 3)));
  assert.equal(out.length, vp8Key.length + OVERHEAD);
  assert.equal(toHex(out.subarray(out.length - 14)), 'deadbeef01020304000012340c03');
});

test('ratchet_matchesIndependentImplementation', async () => {
  assert.equal(toHex(await jframeRatchet(MATERIAL)), toHex(referenceRatchet(MATERIAL)));
});

test('encrypt_counterPerSsrc_wrapsModulo0xFFFF', async () => {
  const enc = new JFrameEncryptor({ counterStart: () => 0xfffe });
  enc.setKey(0, await JFrameKey.fromMaterial(MATERIAL));
  const counter = (f) => toHex(f.subarray(f.length - 6, f.length - 2));
  assert.equal(counter(await enc.encrypt(vp8Key, 10, 1, 0)), '0000fffe');
  assert.equal(counter(await enc.encrypt(vp8Key, 10, 1, 0)), '00000000');
  assert.equal(counter(await enc.encrypt(vp8Key, 10, 1, 0)), '00000001');
  assert.equal(counter(await enc.encrypt(vp8Key, 10, 2, 0)), '0000fffe');
});

test('decrypt_roundTrip_keyDeltaAudioAndShortFrames', async () => {
  const key = await JFrameKey.fromMaterial(MATERIAL);
  const enc = new JFrameEncryptor();
  enc.setKey(5, key);
  const dec = new JFrameDecryptor();
  dec.setKey(5, key);
  for (const [data, n] of [[vp8Key, 10], [fromHex('310200' + 'ab'.repeat(100)), 3], [fromHex('fc0102'), 1],
    [fromHex('b0be00'), 10], [new Uint8Array(0), 1]]) {
    const f = await enc.encrypt(data, n, 7, 9);
    assert.deepEqual(f.subarray(0, Math.min(n, data.length)), data.subarray(0, n));
    const r = await dec.decrypt(f, n);
    assert.deepEqual(r.data, data);
    assert.equal(r.keyIndex, 5);
    assert.equal(r.ratchetSteps, 0);
  }
});

test('decrypt_senderEightStepsAhead_decryptsAndCommits', async () => {
  let m = MATERIAL;
  for (let i = 0; i < 8; i++) m = referenceRatchet(m);
  const enc = new JFrameEncryptor();
  enc.setKey(2, await JFrameKey.fromMaterial(m));
  const dec = new JFrameDecryptor();
  const initial = await JFrameKey.fromMaterial(MATERIAL);
  dec.setKey(2, initial);
  const f = await enc.encrypt(vp8Key, 10, 1, 1);
  const r = await dec.decrypt(f, 10);
  assert.deepEqual(r.data, vp8Key);
  assert.equal(r.ratchetSteps, 8);
  assert.notEqual(dec.keyAt(2), initial);
  // The committed key now decrypts directly.
  assert.equal((await dec.decrypt(await enc.encrypt(vp8Key, 10, 1, 2), 10)).ratchetSteps, 0);
});

test('decrypt_senderNineStepsAhead_rejectedAndSlotUnchanged', async () => {
  let m = MATERIAL;
  for (let i = 0; i < 9; i++) m = referenceRatchet(m);
  const enc = new JFrameEncryptor();
  enc.setKey(0, await JFrameKey.fromMaterial(m));
  const dec = new JFrameDecryptor();
  const initial = await JFrameKey.fromMaterial(MATERIAL);
  dec.setKey(0, initial);
  await assert.rejects(dec.decrypt(await enc.encrypt(vp8Key, 10, 1, 1), 10), { reason: 'bad-tag' });
  assert.equal(dec.keyAt(0), initial);
});

test('decrypt_ratchetOnNonCurrentSlot_usesThatSlot', async () => {
  const dec = new JFrameDecryptor();
  dec.setKey(1, await JFrameKey.fromMaterial(MATERIAL));
  dec.setKey(9, await JFrameKey.fromMaterial(referenceRatchet(MATERIAL)));
  const enc = new JFrameEncryptor();
  enc.setKey(1, await JFrameKey.fromMaterial(referenceRatchet(referenceRatchet(MATERIAL))));
  const r = await dec.decrypt(await enc.encrypt(vp8Key, 10, 1, 1), 10);
  assert.equal(r.ratchetSteps, 2);
});

test('decrypt_tamperedPrefix_rejectedBadTag', async () => {
  const key = await JFrameKey.fromMaterial(MATERIAL);
  const enc = new JFrameEncryptor();
  enc.setKey(0, key);
  const dec = new JFrameDecryptor();
  dec.setKey(0, key);
  const f = await enc.encrypt(vp8Key, 10, 1, 1);
  f[4] ^= 1;
  await assert.rejects(dec.decrypt(f, 10), { reason: 'bad-tag' });
  assert.equal(dec.keyAt(0), key);
});

test('decrypt_passphraseKey_neverRatchets', async () => {
  const raw = fromHex('00112233445566778899aabbccddeeff');
  const enc = new JFrameEncryptor();
  enc.setKey(0, await JFrameKey.fromAesKey(fromHex('ffeeddccbbaa99887766554433221100')));
  const dec = new JFrameDecryptor();
  dec.setKey(0, await JFrameKey.fromAesKey(raw));
  await assert.rejects(dec.decrypt(await enc.encrypt(vp8Key, 10, 1, 1), 10), { reason: 'bad-tag' });
  // And the raw key is the AES key itself (no HKDF): check against node:crypto.
  const enc2 = new JFrameEncryptor({ counterStart: () => 0 });
  enc2.setKey(0, await JFrameKey.fromAesKey(raw));
  const f = await enc2.encrypt(vp8Key, 10, 5, 6);
  const iv = f.subarray(f.length - 14, f.length - 2);
  const c = createCipheriv('aes-128-gcm', raw, iv);
  c.setAAD(vp8Key.subarray(0, 10));
  assert.equal(toHex(f.subarray(10, f.length - 14)),
    toHex(Buffer.concat([c.update(vp8Key.subarray(10)), c.final(), c.getAuthTag()])));
});

test('parseTrailer_malformed_typedErrors', () => {
  assert.throws(() => parseTrailer(new Uint8Array(29)), { reason: 'truncated' });
  const f = new Uint8Array(40);
  f[38] = 13;
  assert.throws(() => parseTrailer(f), { reason: 'bad-header' });
  f[38] = 12;
  f[39] = 16;
  assert.throws(() => parseTrailer(f), { reason: 'bad-key-index' });
  f[39] = 15;
  assert.equal(parseTrailer(f).keyIndex, 15);
  f.set([0, 0, 0xff, 0xff], 34);
  assert.throws(() => parseTrailer(f), { reason: 'bad-header' });
  f.set([0, 0, 0xff, 0xfe], 34);
  assert.equal(parseTrailer(f).counter, 0xfffe);
});

test('decrypt_emptySlot_rejectedNoKey', async () => {
  const enc = new JFrameEncryptor();
  enc.setKey(4, await JFrameKey.fromMaterial(MATERIAL));
  const dec = new JFrameDecryptor();
  await assert.rejects(dec.decrypt(await enc.encrypt(vp8Key, 10, 1, 1), 10), { reason: 'no-key' });
});

test('encrypt_withoutKey_rejectedNoKey', async () => {
  await assert.rejects(new JFrameEncryptor().encrypt(vp8Key, 10, 1, 1), { reason: 'no-key' });
  await assert.rejects(JFrameKey.fromMaterial(new Uint8Array(16)), { reason: 'bad-key' });
});
