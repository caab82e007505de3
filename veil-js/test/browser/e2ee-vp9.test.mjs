// VP9 with E2EE in Chromium against a real veil-server.jar (e2ee = true, TEST-ONLY forward tap): two pages join
// with {e2ee: true, codecs: ['VP9']}; each sends VP9 (outbound codec) and shows the other's picture; what the SFU
// forwards (after the RTP VP9 payload descriptor, RFC 9628, which the server reads for key frames) is the whole frame
// as SFrame ciphertext (VP9 has no clear prefix, docs/PROTOCOL.md §2.1), which the receiver's keys turn back into a
// frame that a WebCodecs VP9 decoder shows as the sender's colour, while the forwarded bytes do not decode.
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

/** Length of the VP9 payload descriptor (RFC 9628 §4.2) at the start of `p`, and its B/E/P bits. */
function vp9Descriptor(p) {
  const b0 = p[0];
  const I = b0 & 0x80; const P = b0 & 0x40; const L = b0 & 0x20; const F = b0 & 0x10;
  const B = b0 & 0x08; const E = b0 & 0x04; const V = b0 & 0x02;
  let n = 1;
  if (I) n += (p[n] & 0x80) ? 2 : 1;
  if (L) n += F ? 1 : 2;
  if (F && P) { let more = true; while (more) { more = (p[n] & 0x01) !== 0; n++; } }
  if (V) {
    const ss = p[n++];
    const ns = (ss >> 5) + 1;
    if (ss & 0x10) n += 4 * ns;
    if (ss & 0x08) {
      const ng = p[n++];
      for (let g = 0; g < ng; g++) { const r = (p[n] >> 2) & 0x03; n += 1 + r; }
    }
  }
  return { length: n, begin: !!B, end: !!E, inter: !!P };
}

/** VP9 frames from tapped RTP payloads: one RTP timestamp, contiguous, from a B packet to an E packet. */
function vp9Frames(packets) {
  const byTs = new Map();
  for (const p of packets) {
    if (!byTs.has(p.ts)) byTs.set(p.ts, new Map());
    byTs.get(p.ts).set(p.seq, p);
  }
  const frames = [];
  for (const [ts, m] of byTs) {
    const list = [...m.values()].sort((a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000);
    if (!list.length) continue;
    let ok = true;
    for (let i = 1; i < list.length; i++) if (((list[i - 1].seq + 1) & 0xffff) !== list[i].seq) ok = false;
    const ds = list.map(p => vp9Descriptor(p.payload));
    if (!ok || !ds[0].begin || !ds[ds.length - 1].end || ds.filter(d => d.begin).length !== 1) continue;
    frames.push({ ts, seq: list[0].seq, key: !ds[0].inter,
      data: Buffer.concat(list.map((p, i) => p.payload.subarray(ds[i].length))) });
  }
  return frames.sort((a, b) => ((a.seq - b.seq + 0x8000) & 0xffff) - 0x8000);
}

/** In-page: decodes one VP9 key frame with WebCodecs; the mean colour of its top-left, or the error. */
async function decodeVp9InPage(bytes) {
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
      dec.configure({ codec: 'vp09.00.10.08' });
      dec.decode(new EncodedVideoChunk({ type: 'key', timestamp: 0, data: new Uint8Array(bytes) }));
      dec.flush().then(() => finish({ nothing: true }), e => finish({ error: String(e && e.message) }));
    } catch (e) {
      finish({ error: String(e && e.message) });
    }
  });
}

test('e2ee_vp9_twoPages_sendVp9_decodeEachOthersPicture', async () => {
  for (let i = 0; i < 2; i++) pages.push(await newPage());
  for (let i = 0; i < 2; i++) {
    const p = PEERS[i];
    ids[i] = await pages[i].evaluate(joinE2eeInPage, { ws: server.ws, channel: 'vp9-room', rgb: p.rgb, hz: p.hz,
      name: p.name, options: { codecs: ['VP9'] } });
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
    assert.equal(await pages[i].evaluate(outboundVideoCodecInPage), 'video/VP9', `${PEERS[i].name} sends VP9`);
    const errors = await pages[i].evaluate(() => window.veil.events.filter(e => e.type === 'error' || e.reason));
    assert.ok(!errors.some(e => e.reason === 'unsupported-codec'),
      JSON.stringify(errors));
  }
});

test('e2ee_vp9_forwarded_isSFrameCiphertext_wholeFrame', async t => {
  assert.equal(ids.length, 2, 'needs the call of the first test');
  const keysAtGreen = (await pages[1].evaluate(() => window.veil.conn.e2ee.exportKeysForTesting())).receive[ids[0]];
  assert.ok(keysAtGreen && keysAtGreen.length > 0);
  const frames = await waitFor('tapped VP9 frames of red', () => {
    const f = vp9Frames(readTap(tapFile).filter(p => p.publisher === ids[0] && p.codec === 'VP9'));
    return f.length >= 40 ? f : null;
  }, 30000);
  const receiver = new SFrameReceiver(DEFAULT_SUITE);
  for (const k of keysAtGreen) await receiver.addKey(BigInt(k.kid), fromHex(k.key));
  let checked = 0;
  let keyPair = null;
  for (const f of frames.slice(0, 200)) {
    const data = new Uint8Array(f.data);
    assert.ok(tryDecodeHeader(data, 0), 'every forwarded frame starts with an SFrame header');
    let plain;
    try {
      plain = await receiver.decryptFrame(CODECS.none, undefined, data);
    } catch {
      continue; // a frame under a key green never held
    }
    checked++;
    assert.equal(data.length, plain.length + tryDecodeHeader(data, 0).length + 16, 'SFrame header and tag');
    assert.equal(Buffer.from(data).includes(Buffer.from(plain.subarray(0, Math.min(16, plain.length)))), false,
      'no plaintext run in what was forwarded');
    if (f.key && !keyPair) keyPair = { forwarded: [...data], plain: [...plain] };
  }
  assert.ok(checked >= 20, `frames checked against the plaintext: ${checked}`);
  assert.ok(keyPair, 'a key frame was checked');
  const plainPic = await pages[1].evaluate(decodeVp9InPage, keyPair.plain);
  const fwdPic = await pages[1].evaluate(decodeVp9InPage, keyPair.forwarded);
  assert.ok(plainPic.colour && closeColour(plainPic.colour, PEERS[0].rgb, 45), `plaintext decodes: ${JSON.stringify(plainPic)}`);
  assert.ok(!(fwdPic.colour && closeColour(fwdPic.colour, PEERS[0].rgb, 60)), `forwarded bytes do not decode to the picture: ${JSON.stringify(fwdPic)}`);
  t.diagnostic(`checked ${checked} forwarded VP9 frames; forwarded key frame through a VP9 decoder: ${JSON.stringify(fwdPic)}`);
});
