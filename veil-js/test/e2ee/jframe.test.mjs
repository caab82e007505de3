import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync } from 'node:crypto';
import { fromHex, toHex, concat } from '../../src/e2ee/bytes.js';
import { jframeRatchet } from '../../src/e2ee/ratchet.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { JFrameSender, JFrameReceiver, JFrameKey, parseTrailer, OVERHEAD } from '../../src/e2ee/jframe.js';

const MATERIAL = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const { vp8, opus } = CODECS;

/** JFrame computed independently with node:crypto (OpenSSL), from the format description alone. */
function referenceFrame(aesKey, data, n, ssrc, ts, count, index) {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc, 0);
  iv.writeUInt32BE(ts, 4);
  iv.writeUInt32BE(count % 0xffff, 8);
  const c = createCipheriv('aes-128-gcm', aesKey, iv);
  c.setAAD(data.subarray(0, n));
  const ct = Buffer.concat([c.update(data.subarray(n)), c.final(), c.getAuthTag()]);
  return concat(data.subarray(0, n), ct, iv, Uint8Array.of(12, index));
}
const aesOf = (material) => Buffer.from(hkdfSync('sha256', material, 'JFrameEncryptionKey', Buffer.alloc(0), 16));
const ratchetRef = (m) => new Uint8Array(hkdfSync('sha256', m, 'JFrameRatchetKey', Buffer.alloc(0), 32));
function ratchetN(m, n) {
  for (let i = 0; i < n; i++) m = ratchetRef(m);
  return m;
}

const vp8Key = fromHex('b0be009d012a8002e001' + '11'.repeat(40));
const vp8Delta = fromHex('310200' + 'ab'.repeat(100));

async function senderWith(material, index = 0, start = 0x1234) {
  const s = new JFrameSender({ counterStart: () => start });
  await s.setKey(index, material);
  return s;
}
async function receiverWith(material, index = 0) {
  const r = new JFrameReceiver();
  await r.setKey(index, material);
  return r;
}

test('encrypt_matchesIndependentImplementation', async () => {
  const s = await senderWith(MATERIAL, 3);
  const out = await s.encrypt(vp8, 'key', 0xdeadbeef, 0x01020304, vp8Key);
  assert.equal(toHex(out), toHex(referenceFrame(aesOf(MATERIAL), vp8Key, 10, 0xdeadbeef, 0x01020304, 0x1234, 3)));
  assert.equal(out.length, vp8Key.length + OVERHEAD);
  assert.equal(toHex(out.subarray(out.length - 14)), 'deadbeef01020304000012340c03');
});

test('ratchet_matchesIndependentImplementation', async () => {
  assert.equal(toHex(await jframeRatchet(MATERIAL)), toHex(ratchetRef(MATERIAL)));
  const s = await senderWith(MATERIAL, 19);
  assert.equal(s.currentKeyIndex, 3);
  await s.ratchet();
  const out = await s.encrypt(vp8, 'delta', 1, 2, vp8Delta);
  assert.equal(toHex(out), toHex(referenceFrame(aesOf(ratchetRef(MATERIAL)), vp8Delta, 3, 1, 2, 0x1234, 3)));
});

test('encrypt_counterPerSsrc_wrapsModulo0xFFFF', async () => {
  const s = await senderWith(MATERIAL, 0, 0xfffe);
  const counter = (f) => toHex(f.subarray(f.length - 6, f.length - 2));
  assert.equal(counter(await s.encrypt(vp8, 'key', 1, 0, vp8Key)), '0000fffe');
  assert.equal(counter(await s.encrypt(vp8, 'key', 1, 0, vp8Key)), '00000000');
  assert.equal(counter(await s.encrypt(vp8, 'key', 1, 0, vp8Key)), '00000001');
  assert.equal(counter(await s.encrypt(vp8, 'key', 2, 0, vp8Key)), '0000fffe');
});

test('decrypt_roundTrip_keyDeltaAudioAndShortFrames', async () => {
  const s = await senderWith(MATERIAL, 5);
  const r = await receiverWith(MATERIAL, 5);
  const cases = [[vp8, 'key', vp8Key], [vp8, 'delta', vp8Delta], [vp8, undefined, vp8Key], [opus, undefined, fromHex('fc0102')],
    [vp8, 'key', fromHex('b0be00')], [opus, undefined, new Uint8Array(0)]];
  for (const [codec, type, data] of cases) {
    const f = await s.encrypt(codec, type, 7, 9, data);
    const n = codec.clearPrefixLength(data, type);
    assert.deepEqual(f.subarray(0, n), data.subarray(0, n));
    assert.deepEqual(await r.decrypt(codec, type, f), data);
  }
});

test('decrypt_senderEightStepsAhead_decryptsAndCommits', async () => {
  const s = await senderWith(ratchetN(MATERIAL, 8), 2);
  const r = await receiverWith(MATERIAL, 2);
  const initial = r.keyAt(2);
  assert.deepEqual(await r.decrypt(vp8, 'key', await s.encrypt(vp8, 'key', 1, 1, vp8Key)), vp8Key);
  assert.notEqual(r.keyAt(2), initial);
  assert.deepEqual(await r.decrypt(vp8, 'delta', await s.encrypt(vp8, 'delta', 1, 2, vp8Delta)), vp8Delta);
});

test('decrypt_senderNineStepsAhead_rejectedAndSlotUnchanged', async () => {
  const s = await senderWith(ratchetN(MATERIAL, 9), 0);
  const r = await receiverWith(MATERIAL, 0);
  const initial = r.keyAt(0);
  await assert.rejects(r.decrypt(vp8, 'key', await s.encrypt(vp8, 'key', 1, 1, vp8Key)), { reason: 'bad-tag' });
  assert.equal(r.keyAt(0), initial);
});

test('decrypt_ratchetOnNonCurrentSlot_usesThatSlot', async () => {
  const r = await receiverWith(MATERIAL, 1);
  await r.setKey(9, ratchetRef(MATERIAL));
  const s = await senderWith(ratchetN(MATERIAL, 2), 1);
  assert.deepEqual(await r.decrypt(vp8, 'key', await s.encrypt(vp8, 'key', 1, 1, vp8Key)), vp8Key);
});

test('decrypt_tamperedPrefix_rejectedBadTag', async () => {
  const s = await senderWith(MATERIAL);
  const r = await receiverWith(MATERIAL);
  const initial = r.keyAt(0);
  const f = await s.encrypt(vp8, 'key', 1, 1, vp8Key);
  f[4] ^= 1;
  await assert.rejects(r.decrypt(vp8, 'key', f), { reason: 'bad-tag' });
  assert.equal(r.keyAt(0), initial);
  f[4] ^= 1;
  assert.deepEqual(await r.decrypt(vp8, 'key', f), vp8Key);
});

test('decrypt_replayedAndTooOld_rejectedPerSsrc', async () => {
  const s = await senderWith(MATERIAL, 0, 100);
  const r = await receiverWith(MATERIAL, 0);
  const first = await s.encrypt(opus, undefined, 1, 0, fromHex('fc01'));
  const frames = [];
  for (let i = 0; i < 130; i++) frames.push(await s.encrypt(opus, undefined, 1, i, fromHex('fc02')));
  const other = await s.encrypt(opus, undefined, 2, 0, fromHex('fc03'));
  await r.decrypt(opus, undefined, frames[0]);
  await assert.rejects(r.decrypt(opus, undefined, frames[0]), { reason: 'replay' });
  await r.decrypt(opus, undefined, frames[129]);
  await assert.rejects(r.decrypt(opus, undefined, first), { reason: 'replay' }); // 130 behind
  await r.decrypt(opus, undefined, frames[100]); // within the window, not seen yet
  await r.decrypt(opus, undefined, other); // another SSRC has its own window
});

test('decrypt_counterWrap_acceptedAcrossZero', async () => {
  const s = await senderWith(MATERIAL, 0, 0xfffd);
  const r = await receiverWith(MATERIAL, 0);
  for (let i = 0; i < 5; i++) assert.deepEqual(await r.decrypt(opus, undefined, await s.encrypt(opus, undefined, 9, i, fromHex('fc'))), fromHex('fc'));
});

test('decrypt_passphraseKey_rawAesNeverRatchets', async () => {
  const raw = fromHex('00112233445566778899aabbccddeeff');
  const s = new JFrameSender({ counterStart: () => 0 });
  await s.setRawKey(0, raw);
  const f = await s.encrypt(vp8, 'key', 5, 6, vp8Key);
  assert.equal(toHex(f), toHex(referenceFrame(raw, vp8Key, 10, 5, 6, 0, 0)));
  await assert.rejects(s.ratchet(), { reason: 'unsupported' });
  const wrong = new JFrameReceiver();
  await wrong.setRawKey(0, fromHex('ffeeddccbbaa99887766554433221100'));
  await assert.rejects(wrong.decrypt(vp8, 'key', f), { reason: 'bad-tag' });
  const right = new JFrameReceiver();
  await right.setRawKey(0, raw);
  assert.deepEqual(await right.decrypt(vp8, 'key', f), vp8Key);
});

test('parseTrailer_andDecrypt_malformed_typedErrorsInOrder', async () => {
  const r = await receiverWith(MATERIAL, 15);
  await assert.rejects(r.decrypt(vp8, 'key', new Uint8Array(29)), { reason: 'truncated' });
  const f = new Uint8Array(40);
  f[38] = 13;
  await assert.rejects(r.decrypt(vp8, 'key', f), { reason: 'bad-header' });
  f[38] = 12;
  f[39] = 16;
  await assert.rejects(r.decrypt(vp8, 'key', f), { reason: 'bad-key-index' });
  f[39] = 14;
  await assert.rejects(r.decrypt(vp8, 'key', f), { reason: 'no-key' });
  f[39] = 15;
  f.set([0, 0, 0xff, 0xff], 34);
  await assert.rejects(r.decrypt(vp8, 'key', f), { reason: 'bad-header' });
  f.set([0, 0, 0xff, 0xfe], 34);
  assert.equal(parseTrailer(f).counter, 0xfffe);
  await assert.rejects(r.decrypt(vp8, 'key', f), { reason: 'bad-tag' });
});

test('encrypt_withoutKey_rejectedNoKey', async () => {
  await assert.rejects(new JFrameSender().encrypt(vp8, 'key', 1, 1, vp8Key), { reason: 'no-key' });
  const s = await senderWith(MATERIAL, 4);
  s.removeKey(4);
  await assert.rejects(s.encrypt(vp8, 'key', 1, 1, vp8Key), { reason: 'no-key' });
  await assert.rejects(JFrameKey.fromMaterial(new Uint8Array(0)), { reason: 'bad-key' });
  await assert.rejects(JFrameKey.fromAesKey(new Uint8Array(15)), { reason: 'bad-key' });
});

test('decrypt_forgottenSsrc_isRetired_itsRecordedFramesStayRefused', async () => {
  const s = await senderWith(MATERIAL, 0, 100);
  const r = await receiverWith(MATERIAL, 0);
  const recorded = await s.encrypt(opus, undefined, 1, 0, fromHex('fc01'));
  const again = await s.encrypt(opus, undefined, 1, 960, fromHex('fc02'));
  await r.decrypt(opus, undefined, recorded, 0);
  for (let ssrc = 2; ssrc <= 17; ssrc++) {
    await r.decrypt(opus, undefined, await s.encrypt(opus, undefined, ssrc, 0, fromHex('fc03')), 10); // SSRC 1 forgotten
  }
  await assert.rejects(r.decrypt(opus, undefined, recorded, 20), { reason: 'replay' });
  await assert.rejects(r.decrypt(opus, undefined, again, 20), { reason: 'replay' }, 'a retired SSRC is refused');
});

test('decrypt_keySet_olderSlotsExpire', async () => {
  const s = await senderWith(MATERIAL, 0, 100);
  const old = await s.encrypt(opus, undefined, 1, 0, fromHex('fc01'));
  const r = await receiverWith(MATERIAL, 0);
  await r.setKey(1, new Uint8Array(32).fill(5), 1000); // a newer key: slot 0 expires 2 s later
  assert.deepEqual(await r.decrypt(opus, undefined, old, 2999), fromHex('fc01'));
  const late = await s.encrypt(opus, undefined, 1, 960, fromHex('fc02'));
  await assert.rejects(r.decrypt(opus, undefined, late, 3000), { reason: 'no-key' });
});
