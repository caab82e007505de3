import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sframePassphraseBaseKey } from '../../src/e2ee/passphrase.js';
import { FrameCryptor } from '../../src/e2ee/framecryptor.js';
import { fromHex, toHex } from '../../src/e2ee/bytes.js';
import { kidOf } from '../../src/e2ee/keyring.js';

const KEY = new Uint8Array(32).fill(7);
const VP8_KEY = fromHex('b0be009d012a8002e001' + '42'.repeat(60));
const OPUS = fromHex('fc' + '17'.repeat(40));

function frame(bytes, { type, mimeType = 'video/VP8', ssrc = 1234, ts = 90000 } = {}) {
  return {
    data: Uint8Array.from(bytes).buffer, type, timestamp: ts,
    getMetadata: () => ({ mimeType, synchronizationSource: ssrc, rtpTimestamp: ts }),
  };
}

function cryptor(clock = { t: 0 }) {
  const posted = [];
  const c = new FrameCryptor((m) => posted.push(m), () => clock.t);
  return { c, posted, clock };
}

const enc = { operation: 'encrypt', kind: 'video' };
const dec = (senderId) => ({ operation: 'decrypt', kind: 'video', senderId });

for (const format of ['sframe', 'jframe']) {
  test(`${format}_groupKeys_roundTripAndKeyUsedReported`, async () => {
    const a = cryptor();
    const b = cryptor();
    await a.c.handleMessage({ type: 'setFormat', format });
    await b.c.handleMessage({ type: 'setFormat', format });
    await a.c.handleMessage({ type: 'setSendKey', kid: String(kidOf(3, 1)), key: KEY });
    await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: kidOf(3, 1), key: KEY });
    for (const [bytes, opts, ctx] of [[VP8_KEY, { type: 'key' }, 'video'], [OPUS, { mimeType: 'audio/opus' }, 'audio']]) {
      const f = frame(bytes, opts);
      assert.equal(await a.c.processFrame(f, { ...enc, kind: ctx }), true);
      const wire = new Uint8Array(f.data);
      assert.notEqual(toHex(wire), toHex(bytes));
      assert.equal(await b.c.processFrame(f, { ...dec('A'), kind: ctx }), true);
      assert.equal(toHex(new Uint8Array(f.data)), toHex(bytes));
    }
    assert.deepEqual(a.posted.map((m) => [m.type, m.operation]), [['e2ee-key-used', 'encrypt']]);
    assert.equal(b.posted.length, 1);
    assert.equal(b.posted[0].senderId, 'A');
    assert.equal(b.posted[0].kid, format === 'sframe' ? String(kidOf(3, 1)) : 'index 3');
  });

  test(`${format}_passphraseKeys_roundTrip`, async () => {
    const a = cryptor();
    const b = cryptor();
    await a.c.handleMessage({ type: 'setFormat', format });
    await b.c.handleMessage({ type: 'setFormat', format });
    const k = fromHex('00112233445566778899aabbccddeeff');
    if (format === 'sframe') {
      // the sender's own random KID; the receiver derives its key from P and the KID on the wire
      const kid = 0x1234567890abcdefn;
      await a.c.handleMessage({ type: 'setSendKey', kid, key: await sframePassphraseBaseKey(k, kid) });
      await assert.rejects(a.c.handleMessage({ type: 'setPassphraseKey', senderId: null, key: k }));
    } else {
      await a.c.handleMessage({ type: 'setPassphraseKey', senderId: null, key: k });
    }
    await b.c.handleMessage({ type: 'setPassphraseKey', senderId: 'A', key: k });
    const f = frame(VP8_KEY, { type: 'key' });
    assert.equal(await a.c.processFrame(f, enc), true);
    assert.equal(await b.c.processFrame(f, dec('A')), true);
    assert.equal(toHex(new Uint8Array(f.data)), toHex(VP8_KEY));
  });

  test(`${format}_wrongKey_droppedWithBadTag`, async () => {
    const a = cryptor();
    const b = cryptor();
    await a.c.handleMessage({ type: 'setFormat', format });
    await b.c.handleMessage({ type: 'setFormat', format });
    await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
    await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: new Uint8Array(32).fill(8) });
    const f = frame(VP8_KEY, { type: 'key' });
    await a.c.processFrame(f, enc);
    const sent = new Uint8Array(f.data).slice();
    assert.equal(await b.c.processFrame(f, dec('A')), false);
    assert.deepEqual(new Uint8Array(f.data), sent); // untouched, and the caller drops it
    assert.equal(b.posted[0].type, 'e2ee-error');
    assert.equal(b.posted[0].reason, 'bad-tag');
    assert.equal(b.posted[0].senderId, 'A');
  });
}

test('encrypt_withoutKey_droppedNoKey', async () => {
  const a = cryptor();
  const f = frame(VP8_KEY, { type: 'key' });
  assert.equal(await a.c.processFrame(f, enc), false);
  assert.deepEqual(new Uint8Array(f.data), VP8_KEY);
  assert.equal(a.posted[0].reason, 'no-key');
  assert.equal(a.posted[0].operation, 'encrypt');
});

test('decrypt_unknownSenderOrUnbound_droppedNoKey', async () => {
  const b = cryptor();
  assert.equal(await b.c.processFrame(frame(VP8_KEY), dec('X')), false);
  assert.equal(await b.c.processFrame(frame(VP8_KEY), { operation: 'decrypt', kind: 'video' }), false);
  assert.deepEqual(b.posted.map((m) => m.reason), ['no-key', 'no-key']);
});

test('decrypt_replayedFrame_droppedReplay', async () => {
  const a = cryptor();
  const b = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: KEY });
  const f = frame(OPUS, { mimeType: 'audio/opus' });
  await a.c.processFrame(f, enc);
  const copy = { ...f, data: f.data.slice(0) };
  assert.equal(await b.c.processFrame(f, dec('A')), true);
  assert.equal(await b.c.processFrame(copy, dec('A')), false);
  assert.equal(b.posted.at(-1).reason, 'replay');
});

test('unsupportedCodec_droppedEitherWay', async () => {
  const a = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  assert.equal(await a.c.processFrame(frame(VP8_KEY, { mimeType: 'video/H264' }), enc), false);
  assert.equal(a.posted[0].reason, 'unsupported-codec');
});

test('disabled_framesPassThroughUntouched', async () => {
  const a = cryptor();
  await a.c.handleMessage({ type: 'disable' });
  const f = frame(VP8_KEY, { type: 'key' });
  assert.equal(await a.c.processFrame(f, enc), true);
  assert.deepEqual(new Uint8Array(f.data), VP8_KEY);
  await a.c.handleMessage({ type: 'enable' });
  assert.equal(await a.c.processFrame(f, enc), false);
});

test('errors_rateLimitedPerSenderKindReasonAndOperation', async () => {
  const a = cryptor();
  for (let i = 0; i < 5; i++) await a.c.processFrame(frame(VP8_KEY), enc);
  assert.equal(a.posted.length, 1);
  a.clock.t = 999;
  await a.c.processFrame(frame(VP8_KEY), enc);
  assert.equal(a.posted.length, 1);
  a.clock.t = 1000;
  await a.c.processFrame(frame(VP8_KEY), enc);
  assert.equal(a.posted.length, 2);
  assert.equal(a.posted[1].suppressed, 5);
  await a.c.processFrame(frame(VP8_KEY), dec('Z'));
  assert.equal(a.posted.length, 3);
});

test('errors_rateLimitedPerKind_audioFailuresDoNotHideVideoFailures', async () => {
  const a = cryptor();
  // no receive key for Z: every frame fails; 50 audio failures a second must not hide the video ones
  for (let i = 0; i < 10; i++) {
    await a.c.processFrame(frame(OPUS, { mimeType: 'audio/opus' }), { ...dec('Z'), kind: 'audio' });
  }
  await a.c.processFrame(frame(VP8_KEY, { type: 'key' }), dec('Z'));
  assert.deepEqual(a.posted.map((m) => [m.type, m.kind, m.senderId]),
    [['e2ee-error', 'audio', 'Z'], ['e2ee-error', 'video', 'Z']]);
});

test('bindReceiver_namesTheSenderOfATransform', async () => {
  const a = cryptor();
  const b = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: KEY });
  const f = frame(VP8_KEY, { type: 'key' });
  await a.c.processFrame(f, enc);
  await b.c.handleMessage({ type: 'bindReceiver', transformId: 't7', senderId: 'A' });
  assert.equal(await b.c.processFrame(f, { operation: 'decrypt', kind: 'video', transformId: 't7' }), true);
});

test('removeSender_forgetsItsKeys', async () => {
  const a = cryptor();
  const b = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'removeSender', senderId: 'A' });
  const f = frame(VP8_KEY, { type: 'key' });
  await a.c.processFrame(f, enc);
  assert.equal(await b.c.processFrame(f, dec('A')), false);
  assert.equal(b.posted[0].reason, 'no-key');
});

test('badMessages_rejected', async () => {
  const a = cryptor();
  await assert.rejects(a.c.handleMessage({ type: 'setFormat', format: 'xframe' }), { reason: 'unsupported' });
  await assert.rejects(a.c.handleMessage({ type: 'nope' }), { reason: 'unsupported' });
  await assert.rejects(a.c.handleMessage({ type: 'setReceiveKey', kid: 0, key: KEY }), TypeError);
});

test('pipe_onlyGoodFramesOut_recoveryReported', async () => {
  const a = cryptor();
  const b = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: KEY });
  const good = [];
  for (let i = 0; i < 3; i++) {
    const f = frame(fromHex('fc0' + i), { mimeType: 'audio/opus' });
    await a.c.processFrame(f, { ...enc, kind: 'audio' });
    good.push(f);
  }
  const forged = frame(fromHex('fc00' + '00'.repeat(20)), { mimeType: 'audio/opus' });
  const input = [good[0], forged, good[1], good[2]];
  const readable = new ReadableStream({ start(c) { for (const f of input) c.enqueue(f); c.close(); } });
  const out = [];
  const writable = new WritableStream({ write(f) { out.push(toHex(new Uint8Array(f.data))); } });
  let recovered = 0;
  await b.c.pipe(readable, writable, { operation: 'decrypt', kind: 'audio', senderId: 'A' }, { onRecovered: () => recovered++ });
  assert.deepEqual(out, ['fc00', 'fc01', 'fc02']);
  assert.equal(recovered, 1);
});
