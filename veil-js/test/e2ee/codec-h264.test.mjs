// H.264 per-NAL clear ranges (docs/PROTOCOL.md §2.9): the known answers of test-vectors/codec-h264.json (SFrame
// frames with the retry on an emulated start code; the cases and JFrame's refusal: codec-ranged.test.mjs), tampering, and a seeded
// property run: random Annex B frames round-trip, the output never holds 00 00 0x outside the clear ranges, and the
// start codes a packetizer finds in the output are exactly those of the layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { layout, nalUnits } from '../../src/e2ee/h264.js';
import { CODECS, codecFor } from '../../src/e2ee/codec.js';
import { SFrameSender, SFrameReceiver } from '../../src/e2ee/sframe.js';
import { rng } from '../../test-support/e2ee/rng.mjs';
import { toHex, fromHex } from '../../src/e2ee/bytes.js';
import { disassemble } from '../../src/e2ee/ranges.js';

const V = JSON.parse(readFileSync(new URL('../../../test-vectors/codec-h264.json', import.meta.url)));

test('codec-h264.json frames: encrypt gives the known bytes, decrypt gives the layout', async () => {
  assert.equal(codecFor('video/H264', 'video'), CODECS.h264);
  for (const f of V.frames) {
    const s = new SFrameSender(f.cipher_suite, BigInt(f.first_ctr));
    await s.setKey(BigInt(f.kid), fromHex(f.base_key));
    const info = {};
    const out = await s.encryptFrame(CODECS.h264, undefined, fromHex(f.frame), info);
    assert.equal(toHex(out), f.encrypted, f.name);
    assert.equal(String(info.ctr), f.ctr, f.name);
    assert.equal(info.attempts, f.attempts, f.name);
    const r = new SFrameReceiver(f.cipher_suite);
    await r.addKey(BigInt(f.kid), fromHex(f.base_key), 0);
    const back = await r.decryptFrame(CODECS.h264, undefined, fromHex(f.encrypted), {}, 0);
    assert.equal(toHex(back), toHex(layout(fromHex(f.frame)).frame), f.name);
  }
  assert.ok(V.frames.some((f) => f.attempts > 1), 'a vector shows the retry');
});

test('a changed clear byte, range or ciphertext byte fails authentication', async () => {
  const f = V.frames[0];
  const enc = fromHex(f.encrypted);
  const { interleaved } = disassemble(enc, 16);
  for (const at of [4, 5, 20, interleaved.length - 1, interleaved.length + 2]) {
    const r = new SFrameReceiver(4);
    await r.addKey(BigInt(f.kid), fromHex(f.base_key), 0);
    const bad = Uint8Array.from(enc);
    bad[at] ^= 0x01;
    await assert.rejects(r.decryptFrame(CODECS.h264, undefined, bad, {}, 0),
      (e) => ['bad-tag', 'bad-header'].includes(e.reason), 'byte ' + at);
  }
});

test('property: random Annex B frames round-trip, no emulated start code, the packetizer finds the layout', async () => {
  const rand = rng(20261203);
  const s = new SFrameSender(4);
  await s.setKey(9n, new Uint8Array(16).fill(3));
  const r = new SFrameReceiver(4);
  await r.addKey(9n, new Uint8Array(16).fill(3), 0);
  let retried = 0;
  for (let n = 0; n < 300; n++) {
    const parts = [];
    const units = 1 + (rand() % 5);
    for (let u = 0; u < units; u++) {
      parts.push(...(rand() & 1 ? [0, 0, 0, 1] : [0, 0, 1]));
      const type = [1, 5, 6, 7, 8, 9, 1, 1][rand() % 8];
      parts.push(0x60 | type);
      const len = 1 + (rand() % 2000);
      for (let i = 0; i < len; i++) {
        // valid NAL payloads hold no 00 00 0x: use few zeros and break runs
        let b = rand() & 0xff;
        if (b === 0 && parts[parts.length - 1] === 0) b = 0x80;
        parts.push(b);
      }
      if (parts[parts.length - 1] === 0) parts[parts.length - 1] = 0x80;
    }
    const frame = Uint8Array.from(parts);
    const l = layout(frame);
    const info = {};
    const out = await s.encryptFrame(CODECS.h264, undefined, frame, info);
    if (info.attempts > 1) retried++;
    const clear = new Uint8Array(out.length);
    for (const [o, len] of l.ranges) clear.fill(1, o, o + len);
    for (let j = 0; j + 2 < out.length; j++) {
      if (out[j] === 0 && out[j + 1] === 0 && out[j + 2] <= 3) {
        assert.ok(clear[j] && clear[j + 1] && clear[j + 2], `frame ${n}: 00 00 ${out[j + 2]} at ${j} outside ranges`);
      }
    }
    const found = nalUnits(out).map((x) => x.start);
    const expected = nalUnits(l.frame).map((x) => x.start);
    assert.deepEqual(found, expected, `frame ${n}: start codes`);
    const back = await r.decryptFrame(CODECS.h264, undefined, out, {}, 0);
    assert.equal(toHex(back), toHex(l.frame), `frame ${n}`);
  }
  console.log('# h264 property: 300 frames, ' + retried + ' encrypted again');
});

test('worker core: an H.264 frame (mimeType video/H264) round-trips through two FrameCryptors', async () => {
  const { FrameCryptor } = await import('../../src/e2ee/framecryptor.js');
  const posted = [];
  const a = new FrameCryptor((m) => posted.push(m), () => 0);
  const b = new FrameCryptor((m) => posted.push(m), () => 0);
  const key = new Uint8Array(32).fill(5);
  await a.handleMessage({ type: 'setSendKey', kid: 0, key });
  await b.handleMessage({ type: 'setReceiveKey', senderId: 'A', kid: 0, key });
  const input = fromHex(V.frames[0].frame);
  const f = { data: input.slice().buffer, type: 'key', getMetadata: () => ({ mimeType: 'video/H264' }) };
  assert.equal(await a.processFrame(f, { operation: 'encrypt', kind: 'video' }), true);
  assert.notEqual(toHex(new Uint8Array(f.data)), toHex(layout(input).frame));
  assert.equal(await b.processFrame(f, { operation: 'decrypt', kind: 'video', senderId: 'A' }), true);
  assert.equal(toHex(new Uint8Array(f.data)), toHex(layout(input).frame));
  assert.deepEqual(posted.filter((m) => m.type === 'e2ee-error'), []);
});
