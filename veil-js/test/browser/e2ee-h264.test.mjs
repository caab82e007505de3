// H.264 with E2EE in Chromium against a real veil-server.jar (e2ee = true, TEST-ONLY forward tap): two pages join
// with {e2ee: true, codecs: ['H264']}; each sends H.264 (outbound codec) and shows the other's picture; what the SFU
// forwards is the ranged SFrame layout (docs/PROTOCOL.md §2.9): every NAL unit's start code and header in clear,
// ciphertext past the clear ranges, no emulated start code, and the keys of the receiver turn it back into the
// sender's plaintext, which a WebCodecs H.264 decoder shows as the sender's colour.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, waitFor } from '../../test-support/helpers/server.mjs';
import { launchChromium } from '../../test-support/helpers/browser.mjs';
import {
  openSmallStreamPage, joinE2eeInPage, e2eeStatsInPage, remoteColourInPage, closeColour, readTap,
} from '../../test-support/browser/e2ee-pages.mjs';
import { SFrameReceiver, tryDecodeHeader, DEFAULT_SUITE } from '../../src/e2ee/sframe.js';
import { CODECS } from '../../src/e2ee/codec.js';
import { disassemble, decodeRanges } from '../../src/e2ee/ranges.js';
import { fromHex } from '../../src/e2ee/bytes.js';

const PEERS = [
  { name: 'red', rgb: [220, 40, 40], hz: 440 },
  { name: 'green', rgb: [40, 200, 60], hz: 550 },
];
const tapFile = path.join(mkdtempSync(path.join(tmpdir(), 'veil-tap-')), 'forward-tap.jsonl');
let server;
let browser;
const pages = [];
const ids = [];

before(async () => {
  server = await startServer({ config: 'e2ee = true', args: ['--test-forward-tap', tapFile] });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    const code = await server.stop();
    assert.ok(code === 0 || code === 143, `veil-server must exit cleanly, got ${code}`);
  }
});

const newPage = () => openSmallStreamPage(browser, server.base);

/** In-page: the mime type of the codec the outbound video uses, or null. */
async function outboundVideoCodecInPage() {
  const report = await window.veil.conn.pc.getStats();
  let codecId = null;
  report.forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video' && s.codecId) codecId = s.codecId; });
  const c = codecId && report.get(codecId);
  return c ? c.mimeType : null;
}

/** H.264 frames (Annex B, 4-byte start codes) from tapped RTP payloads (single NAL, STAP-A, FU-A; RFC 6184). */
function h264Frames(packets) {
  const byTs = new Map();
  for (const p of packets) {
    if (!byTs.has(p.ts)) byTs.set(p.ts, new Map());
    byTs.get(p.ts).set(p.seq, p);
  }
  const frames = [];
  for (const [ts, m] of byTs) {
    const list = [...m.values()].sort((a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000);
    if (!list.length || !list[list.length - 1].marker) continue;
    let ok = true;
    for (let i = 1; i < list.length; i++) if (((list[i - 1].seq + 1) & 0xffff) !== list[i].seq) ok = false;
    const parts = [];
    let inFu = false;
    for (const { payload: p } of list) {
      const type = p[0] & 0x1f;
      if (type === 24) {
        for (let i = 1; i + 2 <= p.length;) {
          const n = p.readUInt16BE(i);
          parts.push(Buffer.from([0, 0, 0, 1]), p.subarray(i + 2, i + 2 + n));
          i += 2 + n;
        }
      } else if (type === 28) {
        const start = (p[1] & 0x80) !== 0;
        if (start) {
          parts.push(Buffer.from([0, 0, 0, 1, (p[0] & 0xe0) | (p[1] & 0x1f)]));
          inFu = true;
        } else if (!inFu) ok = false;
        parts.push(p.subarray(2));
        if (p[1] & 0x40) inFu = false;
      } else if (type >= 1 && type <= 23) {
        parts.push(Buffer.from([0, 0, 0, 1]), p);
      } else ok = false;
    }
    if (ok) frames.push({ ts, seq: list[0].seq, data: Buffer.concat(parts) });
  }
  return frames.sort((a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000);
}

/** In-page: decodes one H.264 key frame (Annex B) with WebCodecs; the mean colour of its top-left, or the error. */
async function decodeH264InPage(bytes) {
  return new Promise(resolve => {
    let done = false;
    const finish = v => { if (!done) { done = true; resolve(v); } };
    const dec = new VideoDecoder({
      output: frame => {
        const c = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
        const g = c.getContext('2d');
        g.drawImage(frame, 0, 0);
        const d = g.getImageData(4, 4, 16, 16).data;
        frame.close();
        const sum = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
        finish({ colour: sum.map(v => Math.round(v / (d.length / 4))) });
      },
      error: e => finish({ error: String(e && e.message) }),
    });
    try {
      dec.configure({ codec: 'avc1.42e01f', avc: { format: 'annexb' } });
      dec.decode(new EncodedVideoChunk({ type: 'key', timestamp: 0, data: new Uint8Array(bytes) }));
      dec.flush().then(() => finish({ nothing: true }), e => finish({ error: String(e && e.message) }));
    } catch (e) {
      finish({ error: String(e && e.message) });
    }
  });
}

test('e2ee_h264_twoPages_sendH264_decodeEachOthersPicture', async () => {
  for (let i = 0; i < 2; i++) pages.push(await newPage());
  for (let i = 0; i < 2; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel: 'h264-room', rgb: p.rgb, hz: p.hz,
      name: p.name, options: { codecs: ['H264'] } });
  }
  for (let i = 0; i < 2; i++) {
    const other = ids[1 - i];
    await waitFor(`${PEERS[i].name} decodes ${PEERS[1 - i].name}`, async () => {
      const s = await pages[i].evaluate(e2eeStatsInPage);
      return s[other] && s[other].video && s[other].video.framesDecoded > 20;
    }, 60000);
    let got = null;
    await waitFor(`${PEERS[i].name} shows ${PEERS[1 - i].name}'s colour`, async () => {
      got = await pages[i].evaluate(remoteColourInPage, other);
      return closeColour(got, PEERS[1 - i].rgb, 45);
    }, 30000).catch(e => { throw new Error(`${e.message}; got ${JSON.stringify(got)}`); });
    assert.equal(await pages[i].evaluate(outboundVideoCodecInPage), 'video/H264', `${PEERS[i].name} sends H.264`);
    const errors = await pages[i].evaluate(() => window.veil.events.filter(e => e.type === 'error' || e.reason));
    assert.ok(!errors.some(e => e.reason === 'unsupported-codec' || e.reason === 'emulated-start-code'),
      JSON.stringify(errors));
  }
});

test('e2ee_h264_forwarded_isCiphertext_pastTheClearRanges', async t => {
  assert.equal(ids.length, 2, 'needs the call of the first test');
  const keysAtGreen = (await pages[1].evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[ids[0]];
  assert.ok(keysAtGreen && keysAtGreen.length > 0);
  const frames = await waitFor('tapped H.264 frames of red', () => {
    const f = h264Frames(readTap(tapFile).filter(p => p.publisher === ids[0] && p.codec === 'H264'));
    return f.length >= 40 ? f : null;
  }, 30000);
  const receiver = new SFrameReceiver(DEFAULT_SUITE);
  for (const k of keysAtGreen) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
  let checked = 0;
  let keyPair = null;
  for (const f of frames.slice(0, 200)) {
    const data = new Uint8Array(f.data);
    const { interleaved, meta } = disassemble(data, 16);
    const h = tryDecodeHeader(meta, 0);
    assert.ok(h, 'an SFrame header in the trailer');
    const ranges = decodeRanges(meta.subarray(h.length), interleaved.length);
    const clear = new Uint8Array(data.length);
    for (const [o, l] of ranges) clear.fill(1, o, o + l);
    // every start code the packetizer saw is in a clear range, followed by its clear NAL header
    for (let j = 0; j + 3 < interleaved.length; j++) {
      if (data[j] === 0 && data[j + 1] === 0 && data[j + 2] === 0 && data[j + 3] === 1) {
        assert.ok(clear[j] && clear[j + 4], `start code at ${j} and its NAL header are clear`);
      }
    }
    for (let j = 0; j + 2 < data.length; j++) {
      if (data[j] === 0 && data[j + 1] === 0 && data[j + 2] <= 3) {
        assert.ok(clear[j] && clear[j + 1] && clear[j + 2], `no emulated start code outside the ranges (at ${j})`);
      }
    }
    let plain;
    try {
      plain = await receiver.decryptFrame(CODECS.h264, undefined, data);
    } catch {
      continue; // a frame under a key green never held
    }
    checked++;
    assert.equal(plain.length, interleaved.length);
    let outside = 0;
    let same = 0;
    for (let j = 0; j < plain.length; j++) {
      if (clear[j]) assert.equal(plain[j], data[j], 'clear bytes are the plaintext');
      else { outside++; if (plain[j] === data[j]) same++; }
    }
    assert.ok(outside > 0 && same < outside / 8 + 2, `ciphertext past the clear ranges (${same}/${outside} equal)`);
    const isKey = [...plain.subarray(0, Math.min(plain.length, 64))].some((b, j) => j > 3 && plain[j - 1] === 1
      && plain[j - 2] === 0 && (b & 0x1f) === 7);
    if (isKey && !keyPair) keyPair = { forwarded: [...data], plain: [...plain] };
  }
  assert.ok(checked >= 20, `frames checked against the plaintext: ${checked}`);
  assert.ok(keyPair, 'a key frame (with an SPS) was checked');
  const plainPic = await pages[1].evaluate(decodeH264InPage, keyPair.plain);
  const fwdPic = await pages[1].evaluate(decodeH264InPage, keyPair.forwarded);
  assert.ok(plainPic.colour && closeColour(plainPic.colour, PEERS[0].rgb, 45), `plaintext decodes: ${JSON.stringify(plainPic)}`);
  assert.ok(!(fwdPic.colour && closeColour(fwdPic.colour, PEERS[0].rgb, 60)), `forwarded bytes do not decode to the picture: ${JSON.stringify(fwdPic)}`);
  t.diagnostic(`checked ${checked} forwarded H.264 frames; forwarded key frame through an H.264 decoder: ${JSON.stringify(fwdPic)}`);
});
