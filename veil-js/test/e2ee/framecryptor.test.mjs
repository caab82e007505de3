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
  const timers = [];
  const c = new FrameCryptor((m) => posted.push(m), () => clock.t, (f, ms) => timers.push({ f, at: clock.t + ms }));
  return { c, posted, clock, timers };
}

/** A readable the test feeds frame by frame, and a writable collecting what comes out (hex). */
function openPipe(c, ctx) {
  let feed;
  const readable = new ReadableStream({ start(ctl) { feed = ctl; } });
  const out = [];
  const writable = new WritableStream({ write(f) { out.push(toHex(new Uint8Array(f.data))); } });
  const done = c.pipe(readable, writable, ctx);
  const settle = () => new Promise((r) => setImmediate(r));
  return { feed, out, done, settle };
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
  assert.equal(await a.c.processFrame(frame(VP8_KEY, { mimeType: 'video/H265' }), enc), false);
  assert.equal(a.posted[0].reason, 'unsupported-codec');
});

test('setCodecs_frameWithoutMimeType_ruleOfItsPayloadType_neverTheVp8Guess', async () => {
  const { sectionCodecs } = await import('../../src/e2ee/codec.js');
  const { tryDecodeHeader } = await import('../../src/e2ee/sframe.js');
  const sdp = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=rtpmap:111 opus/48000/2',
    'm=video 9 UDP/TLS/RTP/SAVPF 98 99 96 97', 'a=mid:1', 'a=rtpmap:98 VP9/90000', 'a=rtpmap:99 rtx/90000',
    'a=fmtp:99 apt=98', 'a=rtpmap:96 VP8/90000', 'a=rtpmap:97 rtx/90000', ''].join('\r\n');
  const codecs = sectionCodecs(sdp, '1');
  assert.deepEqual(codecs, [{ payloadType: 98, mimeType: 'video/VP9' }, { payloadType: 96, mimeType: 'video/VP8' }]);
  assert.equal(sectionCodecs(sdp, '7'), null);
  const a = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await a.c.handleMessage({ type: 'setCodecs', transformId: 's1', codecs });
  const ctx = { ...enc, transformId: 's1' };
  const bare = (bytes, payloadType) => ({ data: Uint8Array.from(bytes).buffer, type: 'key',
    getMetadata: () => (payloadType === undefined ? {} : { payloadType }) });
  // VP9 by payload type: encrypted whole (an SFrame header at byte 0), not with VP8's 10 clear bytes
  for (const pt of [98, undefined]) {
    const f = bare(VP8_KEY, pt);
    assert.equal(await a.c.processFrame(f, ctx), true);
    const out = new Uint8Array(f.data);
    assert.ok(tryDecodeHeader(out, 0) && out.length === VP8_KEY.length + 1 + 16, 'pt ' + pt + ': whole frame encrypted');
    assert.notEqual(toHex(out.subarray(0, 10)), toHex(VP8_KEY.subarray(0, 10)));
  }
  const f8 = bare(VP8_KEY, 96);
  assert.equal(await a.c.processFrame(f8, ctx), true);
  assert.equal(toHex(new Uint8Array(f8.data).subarray(0, 10)), toHex(VP8_KEY.subarray(0, 10)), 'VP8: its clear prefix');
  // a payload type that was not negotiated: refused, never guessed
  assert.equal(await a.c.processFrame(bare(VP8_KEY, 45), ctx), false);
  assert.equal(a.posted.at(-1).reason, 'unsupported-codec');
  await assert.rejects(a.c.handleMessage({ type: 'setCodecs', transformId: 's1', codecs: 'x' }));
});

test('noPassThrough_disableIsRefused_framesStillEncrypted', async () => {
  const a = cryptor();
  await assert.rejects(a.c.handleMessage({ type: 'disable' }), { reason: 'unsupported' });
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  const f = frame(VP8_KEY, { type: 'key' });
  assert.equal(await a.c.processFrame(f, enc), true);
  assert.notEqual(toHex(new Uint8Array(f.data)), toHex(VP8_KEY));
  const g = frame(VP8_KEY, { type: 'key', mimeType: 'video/H265' });
  assert.equal(await a.c.processFrame(g, enc), false, 'a codec it cannot protect is dropped, not sent in clear');
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

for (const format of ['sframe', 'jframe']) {
  test(`${format}_pipe_frameBeforeItsKey_heldThenDecryptedInOrder`, async () => {
    const a = cryptor();
    const b = cryptor();
    await a.c.handleMessage({ type: 'setFormat', format });
    await b.c.handleMessage({ type: 'setFormat', format });
    await a.c.handleMessage({ type: 'setSendKey', kid: String(kidOf(2, 0)), key: KEY });
    const sent = [];
    for (let i = 0; i < 3; i++) {
      const f = frame(fromHex('fc0' + i), { mimeType: 'audio/opus', ssrc: 5, ts: 960 * i });
      await a.c.processFrame(f, { ...enc, kind: 'audio' });
      sent.push(f);
    }
    const p = openPipe(b.c, { operation: 'decrypt', kind: 'audio', senderId: 'A' });
    p.feed.enqueue(sent[0]);
    p.feed.enqueue(sent[1]);
    await p.settle();
    assert.deepEqual(p.out, []);
    assert.equal(b.c.heldFrames, 2);
    b.clock.t = 300; // the KEY arrives 300 ms later
    await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: String(kidOf(2, 0)), key: KEY });
    await p.settle();
    p.feed.enqueue(sent[2]);
    p.feed.close();
    await p.done;
    assert.deepEqual(p.out, ['fc00', 'fc01', 'fc02']);
    assert.equal(b.c.heldFrames, 0);
    assert.ok(!b.posted.some((m) => m.type === 'e2ee-error'), JSON.stringify(b.posted));
  });
}

test('pipe_heldFrames_droppedAfterOneSecond_andBoundedBeforeQueueing', async () => {
  const b = cryptor();
  const p = openPipe(b.c, { operation: 'decrypt', kind: 'audio', senderId: 'A' });
  p.feed.enqueue(frame(fromHex('fc00' + '00'.repeat(30)), { mimeType: 'audio/opus' }));
  await p.settle();
  assert.equal(b.c.heldFrames, 1);
  assert.equal(b.timers.length, 1);
  b.clock.t = b.timers[0].at;
  await b.timers[0].f();
  assert.equal(b.c.heldFrames, 0);
  assert.deepEqual(b.posted.filter((m) => m.type === 'e2ee-error').map((m) => m.reason), ['no-key']);
  // a frame larger than the whole hold budget is refused before it is queued
  const huge = frame(new Uint8Array(3 * 1024 * 1024).fill(0xfc), { mimeType: 'audio/opus' });
  b.clock.t += 5000;
  p.feed.enqueue(huge);
  await p.settle();
  assert.equal(b.c.heldFrames, 0);
  // many frames: at most HOLD_MAX_FRAMES held
  for (let i = 0; i < 200; i++) p.feed.enqueue(frame(fromHex('fc01' + '00'.repeat(30)), { mimeType: 'audio/opus' }));
  await p.settle();
  await p.settle();
  assert.ok(b.c.heldFrames <= 128, String(b.c.heldFrames));
  p.feed.close();
  await p.done;
  assert.equal(b.c.heldFrames, 0);
});

test('replayIntoANewTransform_rejected_liveFramesContinue', async () => {
  const a = cryptor();
  const b = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: KEY });
  const recorded = [];
  for (let i = 0; i < 5; i++) {
    const f = frame(fromHex('fc0' + i), { mimeType: 'audio/opus' });
    await a.c.processFrame(f, { ...enc, kind: 'audio' });
    recorded.push(new Uint8Array(f.data).slice());
    b.clock.t = 20 * i;
    assert.equal(await b.c.processFrame(f, { operation: 'decrypt', kind: 'audio', transformId: 't1', senderId: 'A' }), true);
  }
  // the server re-offers the recorded frames on a new m-line labelled as A: another transform, same sender
  await b.c.handleMessage({ type: 'bindReceiver', transformId: 't2', senderId: 'A' });
  for (const bytes of recorded) {
    const f = frame(bytes, { mimeType: 'audio/opus' });
    assert.equal(await b.c.processFrame(f, { operation: 'decrypt', kind: 'audio', transformId: 't2' }), false);
  }
  assert.ok(b.posted.some((m) => m.type === 'e2ee-error' && m.reason === 'replay'));
  const live = frame(fromHex('fc09'), { mimeType: 'audio/opus' });
  await a.c.processFrame(live, { ...enc, kind: 'audio' });
  assert.equal(await b.c.processFrame(live, { operation: 'decrypt', kind: 'audio', transformId: 't1', senderId: 'A' }), true);
  assert.equal(toHex(new Uint8Array(live.data)), 'fc09');
});

test('removeSender_expiresEveryOtherSendersKeysTwoSecondsLater', async () => {
  const a = cryptor();
  const b = cryptor();
  await a.c.handleMessage({ type: 'setSendKey', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key: KEY });
  await b.c.handleMessage({ type: 'setReceiveKey', senderId: 'L', kid: 0, key: new Uint8Array(32).fill(3) });
  b.clock.t = 1000;
  await b.c.handleMessage({ type: 'removeSender', senderId: 'L', expireOthers: true }); // L knew A's key (0, 0)
  const ok = frame(fromHex('fc01'), { mimeType: 'audio/opus' });
  await a.c.processFrame(ok, { ...enc, kind: 'audio' });
  b.clock.t = 2999;
  assert.equal(await b.c.processFrame(ok, { ...dec('A'), kind: 'audio' }), true);
  const late = frame(fromHex('fc02'), { mimeType: 'audio/opus' });
  await a.c.processFrame(late, { ...enc, kind: 'audio' });
  b.clock.t = 3000; // A's next key never arrived (withheld): its old key is gone anyway
  assert.equal(await b.c.processFrame(late, { ...dec('A'), kind: 'audio' }), false);
  assert.equal(b.posted.filter((m) => m.type === 'e2ee-error').pop().reason, 'expired-key');
});
