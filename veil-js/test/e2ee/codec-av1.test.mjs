// Codec clear ranges shared with veil-e2ee through test-vectors/codec-clear-ranges.json (docs/PROTOCOL.md §2.9): the
// clear-prefix known answers (VP8, Opus, encrypted whole) and the AV1 frames (SFrame frames as sent, as the
// depacketizer gives them and as decrypted; the cases and JFrame's refusal: codec-ranged.test.mjs), tampering, the
// worker core, and a seeded property run: random OBU chains survive a simulated packetizer/depacketizer and decrypt
// to what the decoder needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as av1 from '../../src/e2ee/av1.js';
import { CODECS, codecFor } from '../../src/e2ee/codec.js';
import { SFrameSender, SFrameReceiver } from '../../src/e2ee/sframe.js';
import { toHex, fromHex } from '../../src/e2ee/bytes.js';
import { FrameCryptor } from '../../src/e2ee/framecryptor.js';
import { rng } from '../../test-support/e2ee/rng.mjs';

const V = JSON.parse(readFileSync(new URL('../../../test-vectors/codec-clear-ranges.json', import.meta.url)));

test('codec-clear-ranges.json prefix: the clear prefix of every prefix codec', () => {
  assert.ok(V.prefix.length >= 8);
  for (const c of V.prefix) {
    const n = CODECS[c.codec].clearPrefixLength(fromHex(c.frame), c.frame_type === null ? undefined : c.frame_type);
    assert.equal(n, c.clear_prefix, JSON.stringify(c));
  }
  assert.equal(codecFor('video/VP9', 'video'), CODECS.none);
  assert.equal(codecFor('video/AV1', 'video'), CODECS.av1);
  assert.equal(codecFor('video/H265', 'video'), null, 'a codec the worker cannot protect has no rule');
});

test('codec-clear-ranges.json av1 frames: encrypt gives the known bytes, the depacketized form decrypts', async () => {
  for (const f of V.av1.frames) {
    const s = new SFrameSender(f.cipher_suite, BigInt(f.ctr));
    await s.setKey(BigInt(f.kid), fromHex(f.base_key));
    const info = {};
    const out = await s.encryptFrame(CODECS.av1, undefined, fromHex(f.frame), info);
    assert.equal(toHex(out), f.encrypted, f.name);
    assert.equal(info.attempts, 1, 'no retry for AV1');
    for (const form of [f.received, f.encrypted]) {
      const r = new SFrameReceiver(f.cipher_suite);
      await r.addKey(BigInt(f.kid), fromHex(f.base_key), 0);
      assert.equal(toHex(await r.decryptFrame(CODECS.av1, undefined, fromHex(form), {}, 0)), f.decrypted, f.name);
    }
  }
});

test('av1: a changed clear byte, range, size or ciphertext byte fails', async () => {
  const f = V.av1.frames[0];
  const rx = fromHex(f.received);
  for (const at of [0, 1, 3, 13, 20, rx.length - 20, rx.length - 2, rx.length - 1]) {
    const r = new SFrameReceiver(4);
    await r.addKey(BigInt(f.kid), fromHex(f.base_key), 0);
    const bad = Uint8Array.from(rx);
    bad[at] ^= 0x01;
    await assert.rejects(r.decryptFrame(CODECS.av1, undefined, bad, {}, 0),
      (e) => ['bad-tag', 'bad-header', 'truncated'].includes(e.reason), 'byte ' + at);
  }
});

/** The packetizer's walk (drops types 2, 8) and the depacketizer's output (every OBU with a minimal size). */
function throughRtp(sent) {
  const parts = [];
  for (const o of av1.obus(sent)) {
    if ([2, 8].includes(av1.obuType(o.header))) continue;
    parts.push(o.header | 2);
    if (o.ext >= 0) parts.push(o.ext);
    let v = o.end - o.payload;
    do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; parts.push(b); } while (v);
    parts.push(...sent.subarray(o.payload, o.end));
  }
  return Uint8Array.from(parts);
}

test('property: random OBU chains survive the RTP round trip and decrypt to the depacketized plaintext', async () => {
  const rand = rng(20261204);
  const s = new SFrameSender(4);
  await s.setKey(9n, new Uint8Array(16).fill(3));
  const r = new SFrameReceiver(4);
  await r.addKey(9n, new Uint8Array(16).fill(3), 0);
  for (let n = 0; n < 300; n++) {
    const parts = [];
    const count = 1 + (rand() % 6);
    for (let k = 0; k < count; k++) {
      const type = [1, 2, 3, 4, 5, 6, 6, 6, 8, 15][rand() % 10];
      const ext = rand() & 1;
      const len = (rand() % 4 === 0) ? rand() % 3 : rand() % 3000;
      const lastNoSize = k === count - 1 && (rand() & 1);
      parts.push((type << 3) | (ext ? 4 : 0) | (lastNoSize ? 0 : 2));
      if (ext) parts.push(rand() & 0xff);
      if (!lastNoSize) {
        let v = len;
        do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; parts.push(b); } while (v);
      }
      for (let i = 0; i < len; i++) parts.push(rand() & 0xff);
    }
    const frame = Uint8Array.from(parts);
    const kept = av1.obus(frame).filter((o) => ![2, 8, 15].includes(av1.obuType(o.header)));
    if (kept.length === 0) {
      await assert.rejects(s.encryptFrame(CODECS.av1, undefined, frame), (e) => e.reason === 'unsupported-codec');
      continue;
    }
    const out = await s.encryptFrame(CODECS.av1, undefined, frame);
    const rx = throughRtp(out);
    const back = await r.decryptFrame(CODECS.av1, undefined, rx, {}, 0);
    // what a call without E2EE gives the decoder: the frame through the packetizer, padding left out too
    const plainRtp = throughRtp(Uint8Array.from(kept.flatMap((o) => [...frame.subarray(o.start, o.end)])));
    assert.equal(toHex(back), toHex(plainRtp), `frame ${n}`);
  }
});

test('worker core: an AV1 frame (mimeType video/AV1) round-trips through two FrameCryptors and the RTP form', async () => {
  const posted = [];
  const a = new FrameCryptor((m) => posted.push(m), () => 0);
  const b = new FrameCryptor((m) => posted.push(m), () => 0);
  const key = new Uint8Array(32).fill(5);
  await a.handleMessage({ type: 'setSendKey', kid: 0, key });
  await b.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key });
  const input = fromHex(V.av1.frames[0].frame);
  const f = { data: input.slice().buffer, type: 'key', getMetadata: () => ({ mimeType: 'video/AV1' }) };
  assert.equal(await a.processFrame(f, { operation: 'encrypt', kind: 'video' }), true);
  f.data = throughRtp(new Uint8Array(f.data)).buffer;
  assert.equal(await b.processFrame(f, { operation: 'decrypt', kind: 'video', senderId: 'A' }), true);
  assert.equal(toHex(new Uint8Array(f.data)), V.av1.frames[0].decrypted);
  assert.deepEqual(posted.filter((m) => m.type === 'e2ee-error'), []);
});
